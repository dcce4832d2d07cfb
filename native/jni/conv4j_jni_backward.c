/*
 * JNI entry points of the backward pass (io.conv4j.internal.NativeBackward). Same steps as the
 * forward entry points in conv4j_jni.c: copy the descriptor, resolve each direct buffer to a
 * pointer plus the floats available behind it, run the core's bounds check (c4j_conv2d_check with
 * the gradient buffers in the roles described in conv4j.h), then call the core; any failure
 * becomes a Java exception and nothing is written.
 */
#include <jni.h>
#include <stdint.h>
#include <stdio.h>

#include "conv4j.h"
#include "io_conv4j_internal_NativeBackward.h"
#include "jni_util.h"

/* Reads and checks a descriptor on its own (sizes only, no buffers); 0 with an exception pending. */
static int read_checked(JNIEnv *env, jlongArray desc, c4j_conv2d_desc *d) {
    char err[ERR_LEN] = "";
    if (!c4j_jni_read_desc(env, desc, d)) return 0;
    c4j_status st = c4j_conv2d_check(d, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, err, sizeof err);
    if (st != C4J_OK) {
        c4j_jni_throw_status(env, st, err);
        return 0;
    }
    return 1;
}

/* The prepared filter of `route` fits in `avail` floats (a route that cannot run d fails later). */
static c4j_status check_prepared(const c4j_conv2d_desc *d, jint route, int64_t avail, char *err) {
    const int64_t need = c4j_conv2d_backward_input_prepared_floats(d, route);
    if (need > avail) {
        snprintf(err, ERR_LEN, "prepared filter needs %lld floats but %lld are available", (long long)need,
                 (long long)avail);
        return C4J_ERR_BOUNDS;
    }
    return C4J_OK;
}

JNIEXPORT jint JNICALL Java_io_conv4j_internal_NativeBackward_inputRoute(JNIEnv *env, jclass cls, jlongArray desc) {
    (void)cls;
    c4j_conv2d_desc d;
    return read_checked(env, desc, &d) ? c4j_conv2d_backward_input_route(&d) : -1;
}

JNIEXPORT jint JNICALL Java_io_conv4j_internal_NativeBackward_filterRoute(JNIEnv *env, jclass cls, jlongArray desc) {
    (void)cls;
    c4j_conv2d_desc d;
    return read_checked(env, desc, &d) ? c4j_conv2d_backward_filter_route(&d) : -1;
}

JNIEXPORT jdouble JNICALL Java_io_conv4j_internal_NativeBackward_inputEstimateSeconds(JNIEnv *env, jclass cls,
                                                                                    jlongArray desc, jint route) {
    (void)cls;
    c4j_conv2d_desc d;
    return read_checked(env, desc, &d) ? c4j_conv2d_backward_input_estimate_seconds(&d, route) : -1;
}

JNIEXPORT jdouble JNICALL Java_io_conv4j_internal_NativeBackward_filterEstimateSeconds(JNIEnv *env, jclass cls,
                                                                                     jlongArray desc, jint route) {
    (void)cls;
    c4j_conv2d_desc d;
    return read_checked(env, desc, &d) ? c4j_conv2d_backward_filter_estimate_seconds(&d, route) : -1;
}

JNIEXPORT jlong JNICALL Java_io_conv4j_internal_NativeBackward_inputUnits(JNIEnv *env, jclass cls, jlongArray desc, jint route) {
    (void)cls;
    c4j_conv2d_desc d;
    return read_checked(env, desc, &d) ? c4j_conv2d_backward_input_units(&d, route) : -1;
}

JNIEXPORT jlong JNICALL Java_io_conv4j_internal_NativeBackward_inputWorkspaceBytes(JNIEnv *env, jclass cls,
                                                                                 jlongArray desc, jint route) {
    (void)cls;
    c4j_conv2d_desc d;
    return read_checked(env, desc, &d) ? c4j_conv2d_backward_input_workspace_bytes(&d, route) : -1;
}

JNIEXPORT jlong JNICALL Java_io_conv4j_internal_NativeBackward_inputPreparedFloats(JNIEnv *env, jclass cls,
                                                                                 jlongArray desc, jint route) {
    (void)cls;
    c4j_conv2d_desc d;
    return read_checked(env, desc, &d) ? c4j_conv2d_backward_input_prepared_floats(&d, route) : -1;
}

JNIEXPORT jlong JNICALL Java_io_conv4j_internal_NativeBackward_inputPrepareUnits(JNIEnv *env, jclass cls,
                                                                                jlongArray desc, jint route) {
    (void)cls;
    c4j_conv2d_desc d;
    return read_checked(env, desc, &d) ? c4j_conv2d_backward_input_prepare_units(&d, route) : 0;
}

JNIEXPORT void JNICALL Java_io_conv4j_internal_NativeBackward_prepareInput(JNIEnv *env, jclass cls, jlongArray desc,
                                                                         jint route, jobject filter, jlong f_off,
                                                                         jobject prepared, jlong p_off,
                                                                         jlong unit_begin, jlong unit_end) {
    (void)cls;
    c4j_conv2d_desc d;
    c4j_region f, p;
    char err[ERR_LEN] = "";
    if (!c4j_jni_read_desc(env, desc, &d) || !c4j_jni_resolve(env, filter, f_off, "filter", 1, &f) ||
        !c4j_jni_resolve(env, prepared, p_off, "prepared filter", 1, &p))
        return;
    c4j_status st = c4j_conv2d_check(&d, INT64_MAX, f.avail, INT64_MAX, INT64_MAX, err, sizeof err);
    if (st == C4J_OK) st = check_prepared(&d, route, p.avail, err);
    if (st == C4J_OK)
        st = c4j_conv2d_backward_input_prepare_units_run(&d, route, f.ptr, p.ptr, unit_begin, unit_end, err, sizeof err);
    if (st != C4J_OK) c4j_jni_throw_status(env, st, err);
}

JNIEXPORT void JNICALL Java_io_conv4j_internal_NativeBackward_backwardInput(
    JNIEnv *env, jclass cls, jlongArray desc, jint route, jobject grad_out, jlong go_off, jobject prepared, jlong p_off,
    jobject grad_in, jlong gi_off, jobject workspace, jlong unit_begin, jlong unit_end) {
    (void)cls;
    c4j_conv2d_desc d;
    c4j_region dy, p, dx, w;
    char err[ERR_LEN] = "";
    const c4j_blas *blas = c4j_jni_blas(env);
    if (blas == NULL || !c4j_jni_read_desc(env, desc, &d) ||
        !c4j_jni_resolve(env, grad_out, go_off, "output gradient", 1, &dy) ||
        !c4j_jni_resolve(env, prepared, p_off, "prepared filter", 1, &p) ||
        !c4j_jni_resolve(env, grad_in, gi_off, "input gradient", 1, &dx) ||
        !c4j_jni_resolve(env, workspace, 0, "workspace", 0, &w))
        return;
    /* roles: the input gradient is written through the input view, the prepared filter has the
       filter's size, the output gradient is read through the output view; no bias is involved */
    c4j_conv2d_desc checked = d;
    checked.has_bias = 0;
    c4j_status st = c4j_conv2d_check(&checked, dx.avail, p.avail, 0, dy.avail, err, sizeof err);
    if (st == C4J_OK) st = check_prepared(&d, route, p.avail, err);
    if (st == C4J_OK)
        st = c4j_conv2d_backward_input(blas, &d, route, dy.ptr, p.ptr, dx.ptr, w.ptr, w.avail * 4, unit_begin, unit_end,
                                       err, sizeof err);
    if (st != C4J_OK) c4j_jni_throw_status(env, st, err);
}

JNIEXPORT jlong JNICALL Java_io_conv4j_internal_NativeBackward_filterUnits(JNIEnv *env, jclass cls, jlongArray desc, jint route) {
    (void)cls;
    c4j_conv2d_desc d;
    return read_checked(env, desc, &d) ? c4j_conv2d_backward_filter_units(&d, route) : -1;
}

JNIEXPORT jlong JNICALL Java_io_conv4j_internal_NativeBackward_filterWorkspaceBytes(JNIEnv *env, jclass cls,
                                                                                  jlongArray desc, jint route) {
    (void)cls;
    c4j_conv2d_desc d;
    return read_checked(env, desc, &d) ? c4j_conv2d_backward_filter_workspace_bytes(&d, route) : -1;
}

JNIEXPORT jlong JNICALL Java_io_conv4j_internal_NativeBackward_filterPartialFloats(JNIEnv *env, jclass cls,
                                                                                 jlongArray desc, jint route) {
    (void)cls;
    c4j_conv2d_desc d;
    return read_checked(env, desc, &d) ? c4j_conv2d_backward_filter_partial_floats(&d, route) : -1;
}

JNIEXPORT jlong JNICALL Java_io_conv4j_internal_NativeBackward_filterReduceUnits(JNIEnv *env, jclass cls,
                                                                               jlongArray desc, jint route) {
    (void)cls;
    c4j_conv2d_desc d;
    return read_checked(env, desc, &d) ? c4j_conv2d_backward_filter_reduce_units(&d, route) : -1;
}

JNIEXPORT void JNICALL Java_io_conv4j_internal_NativeBackward_backwardFilter(
    JNIEnv *env, jclass cls, jlongArray desc, jint route, jobject in, jlong in_off, jobject grad_out, jlong go_off,
    jobject grad_filter, jlong gf_off, jobject grad_bias, jlong gb_off, jobject partials, jlong p_off,
    jobject workspace, jlong unit_begin, jlong unit_end) {
    (void)cls;
    c4j_conv2d_desc d;
    c4j_region x, dy, dw, db, p, w;
    char err[ERR_LEN] = "";
    const c4j_blas *blas = c4j_jni_blas(env);
    if (blas == NULL || !c4j_jni_read_desc(env, desc, &d)) return;
    const int with_filter = grad_filter != NULL;
    if (!c4j_jni_resolve(env, in, in_off, "input", with_filter, &x) ||
        !c4j_jni_resolve(env, grad_out, go_off, "output gradient", 1, &dy) ||
        !c4j_jni_resolve(env, grad_filter, gf_off, "filter gradient", 0, &dw) ||
        !c4j_jni_resolve(env, grad_bias, gb_off, "bias gradient", d.has_bias != 0, &db) ||
        !c4j_jni_resolve(env, partials, p_off, "partial sums", 0, &p) ||
        !c4j_jni_resolve(env, workspace, 0, "workspace", 0, &w))
        return;
    /* without a filter gradient neither the input nor the filter gradient is touched */
    c4j_status st = c4j_conv2d_check(&d, with_filter ? x.avail : INT64_MAX, with_filter ? dw.avail : INT64_MAX,
                                     db.avail, dy.avail, err, sizeof err);
    if (st == C4J_OK && !d.has_bias && !with_filter) {
        st = C4J_ERR_ARG;
        snprintf(err, sizeof err, "nothing to compute: neither a filter nor a bias gradient");
    }
    if (st == C4J_OK)
        st = c4j_conv2d_backward_filter(blas, &d, route, x.ptr, dy.ptr, dw.ptr, db.ptr, p.ptr, p.avail, w.ptr, w.avail * 4,
                                        unit_begin, unit_end, err, sizeof err);
    if (st != C4J_OK) c4j_jni_throw_status(env, st, err);
}

JNIEXPORT void JNICALL Java_io_conv4j_internal_NativeBackward_backwardFilterReduce(
    JNIEnv *env, jclass cls, jlongArray desc, jint route, jobject grad_filter, jlong gf_off, jobject grad_bias, jlong gb_off,
    jobject partials, jlong p_off, jlong unit_begin, jlong unit_end) {
    (void)cls;
    c4j_conv2d_desc d;
    c4j_region dw, db, p;
    char err[ERR_LEN] = "";
    if (!c4j_jni_read_desc(env, desc, &d) ||
        !c4j_jni_resolve(env, grad_filter, gf_off, "filter gradient", 0, &dw) ||
        !c4j_jni_resolve(env, grad_bias, gb_off, "bias gradient", d.has_bias != 0, &db) ||
        !c4j_jni_resolve(env, partials, p_off, "partial sums", 1, &p))
        return;
    c4j_status st = c4j_conv2d_check(&d, INT64_MAX, grad_filter != NULL ? dw.avail : INT64_MAX, db.avail, INT64_MAX, err,
                                     sizeof err);
    if (st == C4J_OK)
        st = c4j_conv2d_backward_filter_reduce(&d, route, dw.ptr, db.ptr, p.ptr, p.avail, unit_begin, unit_end, err, sizeof err);
    if (st != C4J_OK) c4j_jni_throw_status(env, st, err);
}

/* Reads and checks both descriptors of a gradient pair; 0 with an exception pending. */
static int read_pair(JNIEnv *env, jlongArray desc_f, jlongArray desc_i, c4j_conv2d_desc *df, c4j_conv2d_desc *di) {
    return read_checked(env, desc_f, df) && read_checked(env, desc_i, di);
}

JNIEXPORT jlong JNICALL Java_io_conv4j_internal_NativeBackward_bothUnits(JNIEnv *env, jclass cls, jlongArray desc_f,
                                                                       jint route_f, jlongArray desc_i, jint route_i) {
    (void)cls;
    c4j_conv2d_desc df, di;
    return read_pair(env, desc_f, desc_i, &df, &di) ? c4j_conv2d_backward_both_units(&df, route_f, &di, route_i) : 0;
}

JNIEXPORT jlong JNICALL Java_io_conv4j_internal_NativeBackward_bothWorkspaceBytes(JNIEnv *env, jclass cls,
                                                                                jlongArray desc_f, jint route_f,
                                                                                jlongArray desc_i, jint route_i) {
    (void)cls;
    c4j_conv2d_desc df, di;
    return read_pair(env, desc_f, desc_i, &df, &di) ? c4j_conv2d_backward_both_workspace_bytes(&df, route_f, &di, route_i)
                                                    : -1;
}

/* Both gradients on resolved regions: each gradient's buffers checked in their roles, as the two
   single calls check them, then the core. The only caller passes addresses (NativeCall holds the
   storages acquired across the call), so no direct buffer is looked up per call. */
static void both_regions(JNIEnv *env, const c4j_blas *blas, const c4j_conv2d_desc *df, jint route_f, const c4j_conv2d_desc *di,
                         jint route_i, const c4j_region *x, const c4j_region *dy, const c4j_region *dw, const c4j_region *db,
                         const c4j_region *p, const c4j_region *dx, jobject workspace, jlong unit_begin, jlong unit_end) {
    c4j_region w;
    char err[ERR_LEN] = "";
    if (!c4j_jni_resolve(env, workspace, 0, "workspace", 0, &w)) return;
    c4j_status st = c4j_conv2d_check(df, x->avail, dw->avail, db->avail, dy->avail, err, sizeof err);
    c4j_conv2d_desc checked = *di;
    checked.has_bias = 0;
    if (st == C4J_OK) st = c4j_conv2d_check(&checked, dx->avail, p->avail, 0, dy->avail, err, sizeof err);
    if (st == C4J_OK) st = check_prepared(di, route_i, p->avail, err);
    if (st == C4J_OK)
        st = c4j_conv2d_backward_both(blas, df, route_f, di, route_i, x->ptr, dy->ptr, dw->ptr, db->ptr, p->ptr, dx->ptr, w.ptr,
                                      w.avail * 4, unit_begin, unit_end, err, sizeof err);
    if (st != C4J_OK) c4j_jni_throw_status(env, st, err);
}

JNIEXPORT void JNICALL Java_io_conv4j_internal_NativeBackward_backwardBothAt(
    JNIEnv *env, jclass cls, jlongArray desc_f, jint route_f, jlongArray desc_i, jint route_i, jlong in, jlong in_floats,
    jlong grad_out, jlong go_floats, jlong grad_filter, jlong gf_floats, jlong grad_bias, jlong gb_floats, jlong prepared,
    jlong p_floats, jlong grad_in, jlong gi_floats, jobject workspace, jlong unit_begin, jlong unit_end) {
    (void)cls;
    c4j_conv2d_desc df, di;
    c4j_region x, dy, dw, db, p, dx;
    const c4j_blas *blas = c4j_jni_blas(env);
    if (blas == NULL || !c4j_jni_read_desc(env, desc_f, &df) || !c4j_jni_read_desc(env, desc_i, &di)) return;
    if (!c4j_jni_region_at(env, in, in_floats, "input", 1, &x) ||
        !c4j_jni_region_at(env, grad_out, go_floats, "output gradient", 1, &dy) ||
        !c4j_jni_region_at(env, grad_filter, gf_floats, "filter gradient", 1, &dw) ||
        !c4j_jni_region_at(env, grad_bias, gb_floats, "bias gradient", df.has_bias != 0, &db) ||
        !c4j_jni_region_at(env, prepared, p_floats, "prepared filter", 1, &p) ||
        !c4j_jni_region_at(env, grad_in, gi_floats, "input gradient", 1, &dx))
        return;
    both_regions(env, blas, &df, route_f, &di, route_i, &x, &dy, &dw, &db, &p, &dx, workspace, unit_begin, unit_end);
}

JNIEXPORT void JNICALL Java_io_conv4j_internal_NativeBackward_activationBackward(
    JNIEnv *env, jclass cls, jint activation, jobject out, jlong o_off, jobject grad_out, jlong go_off, jobject grad_pre,
    jlong gp_off, jlong count) {
    (void)cls;
    c4j_region y, dy, dz;
    char err[ERR_LEN] = "";
    if (!c4j_jni_resolve(env, out, o_off, "output", activation != C4J_ACT_NONE, &y) ||
        !c4j_jni_resolve(env, grad_out, go_off, "output gradient", 1, &dy) ||
        !c4j_jni_resolve(env, grad_pre, gp_off, "pre-activation gradient", 1, &dz))
        return;
    if (count < 0 || count > dy.avail || count > dz.avail || (activation != C4J_ACT_NONE && count > y.avail)) {
        snprintf(err, sizeof err, "%lld floats do not fit the buffers given", (long long)count);
        c4j_jni_throw_status(env, C4J_ERR_BOUNDS, err);
        return;
    }
    c4j_status st = c4j_activation_backward(activation, y.ptr, dy.ptr, dz.ptr, count, err, sizeof err);
    if (st != C4J_OK) c4j_jni_throw_status(env, st, err);
}
