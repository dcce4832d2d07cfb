/*
 * JNI layer of the N-d engine (io.conv4j.internal.NativeNd): copy the long[37] descriptor (the
 * fields of c4j_nd_desc in order), resolve each direct buffer and byte offset to a pointer and the
 * number of elements of the descriptor's dtype behind it, run c4j_nd_check with those extents for
 * the direction's buffers, then the core. Nothing is written before the checks pass.
 */
#include <jni.h>
#include <stdint.h>
#include <stdio.h>

#include "conv4j_nd.h"
#include "io_conv4j_internal_NativeNd.h"
#include "jni_util.h"

static int read_desc(JNIEnv *env, jlongArray arr, c4j_nd_desc *d, int check) {
    if (arr == NULL) {
        c4j_jni_throw(env, "java/lang/NullPointerException", "descriptor");
        return 0;
    }
    if ((*env)->GetArrayLength(env, arr) != C4J_ND_DESC_FIELDS) {
        c4j_jni_throw(env, "java/lang/IllegalArgumentException", "N-d descriptor has the wrong number of fields");
        return 0;
    }
    (*env)->GetLongArrayRegion(env, arr, 0, C4J_ND_DESC_FIELDS, (jlong *)d);
    if ((*env)->ExceptionCheck(env)) return 0;
    if (!check) return 1;
    char err[ERR_LEN];
    c4j_status st = c4j_nd_check(d, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, err, sizeof err);
    if (st != C4J_OK) {
        c4j_jni_throw_status(env, st, err);
        return 0;
    }
    return 1;
}

JNIEXPORT jint JNICALL Java_io_conv4j_internal_NativeNd_choose(JNIEnv *env, jclass cls, jlongArray desc, jint dir) {
    (void)cls;
    c4j_nd_desc d;
    if (!read_desc(env, desc, &d, 1)) return -1;
    return c4j_nd_choose(&d, dir);
}

JNIEXPORT jstring JNICALL Java_io_conv4j_internal_NativeNd_algorithmName(JNIEnv *env, jclass cls, jint dir, jint algo) {
    (void)cls;
    const char *name = c4j_nd_algo_name(dir, algo);
    return name == NULL ? NULL : (*env)->NewStringUTF(env, name);
}

JNIEXPORT jlong JNICALL Java_io_conv4j_internal_NativeNd_units(JNIEnv *env, jclass cls, jlongArray desc, jint dir,
                                                               jint algo) {
    (void)cls;
    c4j_nd_desc d;
    if (!read_desc(env, desc, &d, 1)) return 0;
    return c4j_nd_units(&d, dir, algo);
}

JNIEXPORT jlong JNICALL Java_io_conv4j_internal_NativeNd_workspaceBytes(JNIEnv *env, jclass cls, jlongArray desc,
                                                                        jint dir, jint algo) {
    (void)cls;
    c4j_nd_desc d;
    if (!read_desc(env, desc, &d, 1)) return -1;
    return c4j_nd_workspace_bytes(&d, dir, algo);
}

JNIEXPORT jdouble JNICALL Java_io_conv4j_internal_NativeNd_estimateSeconds(JNIEnv *env, jclass cls, jlongArray desc,
                                                                           jint dir, jint algo) {
    (void)cls;
    c4j_nd_desc d;
    if (!read_desc(env, desc, &d, 1)) return -1;
    return c4j_nd_estimate_seconds(&d, dir, algo);
}

JNIEXPORT void JNICALL Java_io_conv4j_internal_NativeNd_run(JNIEnv *env, jclass cls, jlongArray desc, jint dir,
                                                            jint algo, jobject a, jlong a_off, jobject b, jlong b_off,
                                                            jobject bias, jlong bias_off, jobject c, jlong c_off,
                                                            jobject workspace, jlong u0, jlong u1) {
    (void)cls;
    c4j_nd_desc d;
    const c4j_blas *blas = c4j_jni_blas(env);
    if (blas == NULL || !read_desc(env, desc, &d, 0)) return;
    int64_t eb = c4j_nd_elem_bytes(&d);
    if (eb == 0) {
        c4j_jni_throw(env, "java/lang/IllegalArgumentException", "unknown dtype");
        return;
    }
    static const char *const NAMES[3][4] = {{"input", "filter", "bias", "output"},
                                            {"grad output", "filter", "unused", "grad input"},
                                            {"input", "grad output", "grad bias", "grad filter"}};
    if (dir < 0 || dir > 2) {
        c4j_jni_throw(env, "java/lang/IllegalArgumentException", "unknown direction");
        return;
    }
    int filter_grad = dir == C4J_ND_BACKWARD_FILTER;
    void *pa, *pb, *pbias, *pc, *pw;
    int64_t na, nb, nbias, nc, nw;
    if (!c4j_jni_resolve_elems(env, a, a_off, NAMES[dir][0], !(filter_grad && c == NULL), eb, &pa, &na) ||
        !c4j_jni_resolve_elems(env, b, b_off, NAMES[dir][1], 1, eb, &pb, &nb) ||
        !c4j_jni_resolve_elems(env, bias, bias_off, NAMES[dir][2], d.has_bias && dir != C4J_ND_BACKWARD_INPUT, eb,
                               &pbias, &nbias) ||
        !c4j_jni_resolve_elems(env, c, c_off, NAMES[dir][3], !filter_grad, eb, &pc, &nc) ||
        !c4j_jni_resolve_elems(env, workspace, 0, "workspace", 0, 1, &pw, &nw))
        return;
    char err[ERR_LEN] = "";
    c4j_status st;
    if (dir == C4J_ND_FORWARD) st = c4j_nd_check(&d, na, nb, nbias, nc, err, sizeof err);
    else if (dir == C4J_ND_BACKWARD_INPUT) st = c4j_nd_check(&d, nc, nb, INT64_MAX, na, err, sizeof err);
    else st = c4j_nd_check(&d, pa == NULL ? INT64_MAX : na, pc == NULL ? INT64_MAX : nc, nbias, nb, err, sizeof err);
    if (st == C4J_OK)
        st = c4j_nd_run(blas, &d, dir, algo, pa, pb, pbias, pc, pw, nw, u0, u1, err, sizeof err);
    if (st != C4J_OK) c4j_jni_throw_status(env, st, err);
}

JNIEXPORT void JNICALL Java_io_conv4j_internal_NativeNd_activationBackward(JNIEnv *env, jclass cls, jint dtype,
                                                                           jint activation, jobject y, jlong y_off,
                                                                           jobject g, jlong g_off, jobject p,
                                                                           jlong p_off, jlong count) {
    (void)cls;
    int64_t eb = dtype == C4J_F64 ? 8 : 4;
    void *py, *pg, *pp;
    int64_t ny, ng, np;
    if (!c4j_jni_resolve_elems(env, y, y_off, "output", activation != C4J_ACT_NONE, eb, &py, &ny) ||
        !c4j_jni_resolve_elems(env, g, g_off, "grad output", 1, eb, &pg, &ng) ||
        !c4j_jni_resolve_elems(env, p, p_off, "grad pre", 1, eb, &pp, &np))
        return;
    if (count < 0 || count > ng || count > np || (py != NULL && count > ny)) {
        c4j_jni_throw(env, "java/lang/IndexOutOfBoundsException", "activation gradient count exceeds a buffer");
        return;
    }
    char err[ERR_LEN] = "";
    c4j_status st = c4j_nd_activation_backward(dtype, activation, py, pg, pp, count, err, sizeof err);
    if (st != C4J_OK) c4j_jni_throw_status(env, st, err);
}
