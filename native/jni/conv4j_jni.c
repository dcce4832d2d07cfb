/*
 * Thin JNI layer over the conv4j core (io.conv4j.internal.NativeCore). Every entry point that
 * touches memory follows the same steps: copy the descriptor, resolve each direct buffer and its
 * byte offset to a pointer plus the number of floats available behind it, run the core's own
 * bounds check, then call the core; any failure becomes a Java exception and nothing is written.
 * The Java side has validated everything already; this is the second, independent check.
 */
#include <jni.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "conv4j.h"
#include "io_conv4j_internal_NativeCore.h"
#include "jni_util.h"

/* The BLAS binding is process-wide by nature (one OpenBLAS per process); set once by open(). */
static c4j_blas g_blas;
static int g_blas_ready;
static pthread_mutex_t g_open_lock = PTHREAD_MUTEX_INITIALIZER;

JNIEXPORT jstring JNICALL Java_io_conv4j_internal_NativeCore_open(JNIEnv *env, jclass cls, jstring path,
                                                                 jstring coretype, jint blas_threads) {
    (void)cls;
    if (path == NULL) {
        c4j_jni_throw(env, "java/lang/NullPointerException", "BLAS path");
        return NULL;
    }
    pthread_mutex_lock(&g_open_lock);
    if (g_blas_ready) {
        pthread_mutex_unlock(&g_open_lock);
        return (*env)->NewStringUTF(env, "already open");
    }
    const char *p = (*env)->GetStringUTFChars(env, path, NULL);
    const char *ct = coretype != NULL ? (*env)->GetStringUTFChars(env, coretype, NULL) : NULL;
    char err[ERR_LEN] = "";
    c4j_status st = C4J_ERR_NOMEM;
    if (p != NULL && (coretype == NULL || ct != NULL)) st = c4j_blas_open(p, ct, &g_blas, err, sizeof err);
    if (p != NULL) (*env)->ReleaseStringUTFChars(env, path, p);
    if (ct != NULL) (*env)->ReleaseStringUTFChars(env, coretype, ct);
    if (st == C4J_OK) {
        if (g_blas.set_num_threads != NULL && blas_threads > 0) g_blas.set_num_threads(blas_threads);
        g_blas_ready = 1;
    }
    pthread_mutex_unlock(&g_open_lock);
    if (st != C4J_OK) {
        c4j_jni_throw_status(env, st, err[0] ? err : "cannot load BLAS");
        return NULL;
    }
    return (*env)->NewStringUTF(env, "opened");
}

const c4j_blas *c4j_jni_blas(JNIEnv *env) {
    if (!g_blas_ready) {
        c4j_jni_throw(env, "java/lang/IllegalStateException", "conv4j: BLAS not loaded");
        return NULL;
    }
    return &g_blas;
}

static int require_blas(JNIEnv *env) { return c4j_jni_blas(env) != NULL; }

JNIEXPORT jobjectArray JNICALL Java_io_conv4j_internal_NativeCore_blasInfo(JNIEnv *env, jclass cls) {
    (void)cls;
    if (!require_blas(env)) return NULL;
    jclass str = (*env)->FindClass(env, "java/lang/String");
    if (str == NULL) return NULL;
    jobjectArray arr = (*env)->NewObjectArray(env, 5, str, NULL);
    if (arr == NULL) return NULL;
    char threads[32];
    snprintf(threads, sizeof threads, "%d", g_blas.get_num_threads ? g_blas.get_num_threads() : -1);
    const char *vals[5] = {g_blas.get_config ? g_blas.get_config() : "unknown (not OpenBLAS)",
                           g_blas.get_corename ? g_blas.get_corename() : "unknown", threads,
                           g_blas.forced_coretype, c4j_cpu_has_avx512() ? "yes" : "no"};
    for (int i = 0; i < 5; i++) {
        jstring s = (*env)->NewStringUTF(env, vals[i] ? vals[i] : "");
        if (s == NULL) return NULL;
        (*env)->SetObjectArrayElement(env, arr, i, s);
        (*env)->DeleteLocalRef(env, s);
    }
    return arr;
}

JNIEXPORT void JNICALL Java_io_conv4j_internal_NativeCore_setBlasThreads(JNIEnv *env, jclass cls, jint n) {
    (void)cls;
    if (!require_blas(env)) return;
    if (n < 1) {
        c4j_jni_throw(env, "java/lang/IllegalArgumentException", "BLAS thread count must be >= 1");
        return;
    }
    if (g_blas.set_num_threads != NULL) g_blas.set_num_threads(n);
}

JNIEXPORT jlong JNICALL Java_io_conv4j_internal_NativeCore_units(JNIEnv *env, jclass cls, jlongArray desc,
                                                                jint algo) {
    (void)cls;
    c4j_conv2d_desc d;
    if (!c4j_jni_read_checked_desc(env, desc, &d)) return -1;
    return c4j_conv2d_units(&d, (c4j_algo)algo);
}

JNIEXPORT jlong JNICALL Java_io_conv4j_internal_NativeCore_workspaceBytes(JNIEnv *env, jclass cls,
                                                                         jlongArray desc, jint algo) {
    (void)cls;
    c4j_conv2d_desc d;
    if (!c4j_jni_read_checked_desc(env, desc, &d)) return -1;
    return c4j_conv2d_workspace_bytes(&d, (c4j_algo)algo);
}

JNIEXPORT jdouble JNICALL Java_io_conv4j_internal_NativeCore_estimateSeconds(JNIEnv *env, jclass cls,
                                                                            jlongArray desc, jint algo,
                                                                            jboolean include_prepare) {
    (void)cls;
    c4j_conv2d_desc d;
    if (!c4j_jni_read_checked_desc(env, desc, &d)) return -1;
    return c4j_conv2d_estimate_seconds(&d, (c4j_algo)algo, include_prepare ? 1 : 0);
}

JNIEXPORT jdouble JNICALL Java_io_conv4j_internal_NativeCore_rooflineSeconds(JNIEnv *env, jclass cls,
                                                                            jlongArray desc) {
    (void)cls;
    c4j_conv2d_desc d;
    if (!c4j_jni_read_checked_desc(env, desc, &d)) return -1;
    return c4j_conv2d_roofline_seconds(&d);
}

JNIEXPORT jint JNICALL Java_io_conv4j_internal_NativeCore_plan(JNIEnv *env, jclass cls, jlongArray desc,
                                                               jint direction, jboolean exact_only, jobjectArray why) {
    (void)cls;
    c4j_conv2d_desc d;
    if (!c4j_jni_read_checked_desc(env, desc, &d)) return -1;
    char text[4096];
    const int route = c4j_conv2d_plan(&d, direction, exact_only ? 1 : 0, text, sizeof text);
    if (why != NULL && (*env)->GetArrayLength(env, why) > 0) {
        jstring s = (*env)->NewStringUTF(env, text);
        if (s == NULL) return -1; /* OutOfMemoryError pending */
        (*env)->SetObjectArrayElement(env, why, 0, s);
    }
    return route;
}

JNIEXPORT jobjectArray JNICALL Java_io_conv4j_internal_NativeCore_routes(JNIEnv *env, jclass cls, jint direction) {
    (void)cls;
    const int n = c4j_conv2d_routes(direction);
    jclass str = (*env)->FindClass(env, "java/lang/String");
    if (str == NULL) return NULL;
    jobjectArray out = (*env)->NewObjectArray(env, n, str, NULL);
    for (int i = 0; out != NULL && i < n; i++) {
        int id, exact;
        const char *name;
        char row[96];
        c4j_conv2d_route_info(direction, i, &id, &exact, &name);
        snprintf(row, sizeof row, "%s:%d:%d", name, id, exact);
        jstring s = (*env)->NewStringUTF(env, row);
        if (s == NULL) return NULL;
        (*env)->SetObjectArrayElement(env, out, i, s);
        (*env)->DeleteLocalRef(env, s);
    }
    return out;
}

JNIEXPORT void JNICALL Java_io_conv4j_internal_NativeCore_copyView(JNIEnv *env, jclass cls, jobject src, jlong src_off,
                                                                  jlongArray src_stride, jobject dst, jlong dst_off,
                                                                  jlongArray dst_stride, jlongArray dim) {
    (void)cls;
    c4j_region s, o;
    jlong ss[4], ds[4], dm[4];
    if (src_stride == NULL || dst_stride == NULL || dim == NULL || (*env)->GetArrayLength(env, src_stride) != 4 ||
        (*env)->GetArrayLength(env, dst_stride) != 4 || (*env)->GetArrayLength(env, dim) != 4) {
        c4j_jni_throw(env, "java/lang/IllegalArgumentException", "copyView needs 4 strides and 4 dimensions");
        return;
    }
    (*env)->GetLongArrayRegion(env, src_stride, 0, 4, ss);
    (*env)->GetLongArrayRegion(env, dst_stride, 0, 4, ds);
    (*env)->GetLongArrayRegion(env, dim, 0, 4, dm);
    if (!c4j_jni_resolve(env, src, src_off, "source", 1, &s) || !c4j_jni_resolve(env, dst, dst_off, "destination", 1, &o)) return;
    int64_t s64[4], d64[4], m64[4];
    for (int i = 0; i < 4; i++) {
        s64[i] = ss[i];
        d64[i] = ds[i];
        m64[i] = dm[i];
    }
    char err[ERR_LEN] = "";
    c4j_status st = c4j_copy_view(s.ptr, s.avail, s64, o.ptr, o.avail, d64, m64, err, sizeof err);
    if (st != C4J_OK) c4j_jni_throw_status(env, st, err);
}

JNIEXPORT void JNICALL Java_io_conv4j_internal_NativeCore_measureCost(JNIEnv *env, jclass cls, jboolean on) {
    (void)cls;
    if (!require_blas(env)) return;
    c4j_cost_measure_with(on ? &g_blas : NULL);
}

JNIEXPORT jlong JNICALL Java_io_conv4j_internal_NativeCore_preparedFloats(JNIEnv *env, jclass cls,
                                                                         jlongArray desc, jint algo) {
    (void)cls;
    c4j_conv2d_desc d;
    if (!c4j_jni_read_checked_desc(env, desc, &d)) return -1;
    return c4j_conv2d_prepared_floats(&d, (c4j_algo)algo);
}

JNIEXPORT void JNICALL Java_io_conv4j_internal_NativeCore_prepare(JNIEnv *env, jclass cls, jlongArray desc,
                                                                 jint algo, jobject filter, jlong f_off,
                                                                 jobject prepared, jlong p_off) {
    (void)cls;
    c4j_conv2d_desc d;
    c4j_region f, p;
    char err[ERR_LEN] = "";
    if (!c4j_jni_read_desc(env, desc, &d) || !c4j_jni_resolve(env, filter, f_off, "filter", 1, &f) ||
        !c4j_jni_resolve(env, prepared, p_off, "prepared filter", 1, &p))
        return;
    c4j_status st = c4j_conv2d_check(&d, INT64_MAX, f.avail, INT64_MAX, INT64_MAX, err, sizeof err);
    if (st == C4J_OK && c4j_conv2d_prepared_floats(&d, (c4j_algo)algo) > p.avail) {
        st = C4J_ERR_BOUNDS;
        snprintf(err, sizeof err, "prepared filter buffer too small");
    }
    if (st == C4J_OK) st = c4j_conv2d_prepare(&d, (c4j_algo)algo, f.ptr, p.ptr, err, sizeof err);
    if (st != C4J_OK) c4j_jni_throw_status(env, st, err);
}

/* The forward call on resolved regions: the core's bounds check, then the core. */
static void forward_regions(JNIEnv *env, const c4j_conv2d_desc *dp, jint algo, const c4j_region *x,
                            const c4j_region *f, const c4j_region *p, const c4j_region *b, const c4j_region *y,
                            jobject workspace, jlong unit_begin, jlong unit_end) {
    const c4j_conv2d_desc d = *dp;
    c4j_region w;
    char err[ERR_LEN] = "";
    if (!c4j_jni_resolve(env, workspace, 0, "workspace", 0, &w)) return;
    c4j_status st = c4j_conv2d_check(&d, x->avail, f->avail, b->avail, y->avail, err, sizeof err);
    if (st == C4J_OK && p->ptr != NULL && c4j_conv2d_prepared_floats(&d, (c4j_algo)algo) > p->avail) {
        st = C4J_ERR_BOUNDS;
        snprintf(err, sizeof err, "prepared filter buffer too small");
    }
    if (st == C4J_OK)
        st = c4j_conv2d_forward(&g_blas, &d, (c4j_algo)algo, x->ptr, f->ptr, p->ptr, b->ptr, y->ptr, w.ptr, w.avail * 4,
                                unit_begin, unit_end, err, sizeof err);
    if (st != C4J_OK) c4j_jni_throw_status(env, st, err);
}

JNIEXPORT void JNICALL Java_io_conv4j_internal_NativeCore_forward(
    JNIEnv *env, jclass cls, jlongArray desc, jint algo, jobject in, jlong in_off, jobject filter,
    jlong f_off, jobject prepared, jlong p_off, jobject bias, jlong b_off, jobject out, jlong o_off,
    jobject workspace, jlong unit_begin, jlong unit_end) {
    (void)cls;
    c4j_conv2d_desc d;
    c4j_region x, f, p, b, y;
    if (!require_blas(env) || !c4j_jni_read_desc(env, desc, &d) || !c4j_jni_resolve(env, in, in_off, "input", 1, &x) ||
        !c4j_jni_resolve(env, filter, f_off, "filter", 1, &f) ||
        !c4j_jni_resolve(env, prepared, p_off, "prepared filter", 0, &p) ||
        !c4j_jni_resolve(env, bias, b_off, "bias", d.has_bias != 0, &b) || !c4j_jni_resolve(env, out, o_off, "output", 1, &y))
        return;
    forward_regions(env, &d, algo, &x, &f, &p, &b, &y, workspace, unit_begin, unit_end);
}

JNIEXPORT void JNICALL Java_io_conv4j_internal_NativeCore_forwardAt(
    JNIEnv *env, jclass cls, jlongArray desc, jint algo, jlong in, jlong in_floats, jlong filter, jlong f_floats,
    jlong prepared, jlong p_floats, jlong bias, jlong b_floats, jlong out, jlong o_floats, jobject workspace,
    jlong unit_begin, jlong unit_end) {
    (void)cls;
    c4j_conv2d_desc d;
    c4j_region x, f, p, b, y;
    if (!require_blas(env) || !c4j_jni_read_desc(env, desc, &d) || !c4j_jni_region_at(env, in, in_floats, "input", 1, &x) ||
        !c4j_jni_region_at(env, filter, f_floats, "filter", 1, &f) ||
        !c4j_jni_region_at(env, prepared, p_floats, "prepared filter", 0, &p) ||
        !c4j_jni_region_at(env, bias, b_floats, "bias", d.has_bias != 0, &b) ||
        !c4j_jni_region_at(env, out, o_floats, "output", 1, &y))
        return;
    forward_regions(env, &d, algo, &x, &f, &p, &b, &y, workspace, unit_begin, unit_end);
}

JNIEXPORT jlong JNICALL Java_io_conv4j_internal_NativeCore_scanRange(JNIEnv *env, jclass cls, jobject buf, jlong off,
                                                                     jlongArray shape, jlongArray strides) {
    (void)cls;
    c4j_region x;
    int64_t sh[4], st[4];
    if (!c4j_jni_resolve(env, buf, off, "tensor", 1, &x)) return -1;
    if (shape == NULL || strides == NULL || (*env)->GetArrayLength(env, shape) != 4 ||
        (*env)->GetArrayLength(env, strides) != 4) {
        c4j_jni_throw(env, "java/lang/IllegalArgumentException", "shape and strides must have 4 entries");
        return -1;
    }
    jlong a[4], b[4];
    (*env)->GetLongArrayRegion(env, shape, 0, 4, a);
    (*env)->GetLongArrayRegion(env, strides, 0, 4, b);
    int64_t last = 0, empty = 0;
    for (int i = 0; i < 4; i++) {
        sh[i] = a[i];
        st[i] = b[i];
        int64_t span;
        if (sh[i] < 0 || st[i] < 0 || (sh[i] > 0 && (__builtin_mul_overflow(sh[i] - 1, st[i], &span) ||
                                                     __builtin_add_overflow(last, span, &last)))) {
            c4j_jni_throw(env, "java/lang/IllegalArgumentException", "bad shape or strides");
            return -1;
        }
        empty |= sh[i] == 0;
    }
    if (!empty && last >= x.avail) {
        c4j_jni_throw(env, "java/lang/IndexOutOfBoundsException", "view reaches outside its buffer");
        return -1;
    }
    c4j_range r;
    if (c4j_scan_range(x.ptr, sh, st, &r) != C4J_OK) {
        c4j_jni_throw(env, "java/lang/IllegalArgumentException", "bad view");
        return -1;
    }
    /* bits 0-7: biased exponent of max |x| (255: infinity or NaN); bits 8-19: 16 x the mean biased
       exponent of the normal nonzero values (0 when there are none) */
    const int64_t mean16 = r.nonzero > 0 ? r.exp_sum * 16 / r.nonzero : 0;
    return (jlong)((r.max_bits >> 23) | (uint32_t)(mean16 << 8));
}

JNIEXPORT jobject JNICALL Java_io_conv4j_internal_NativeCore_allocate(JNIEnv *env, jclass cls, jlong bytes) {
    (void)cls;
    if (bytes <= 0 || bytes > INT32_MAX) {
        c4j_jni_throw(env, "java/lang/IllegalArgumentException", "allocation size must be in [1, 2^31-1] bytes");
        return NULL;
    }
    void *p = c4j_alloc((size_t)bytes, 1);
    if (p == NULL) {
        char msg[128];
        snprintf(msg, sizeof msg, "conv4j: cannot allocate %lld bytes of native memory", (long long)bytes);
        c4j_jni_throw(env, "java/lang/OutOfMemoryError", msg);
        return NULL;
    }
    jobject buf = (*env)->NewDirectByteBuffer(env, p, bytes);
    if (buf == NULL) c4j_free(p);
    return buf;
}

JNIEXPORT void JNICALL Java_io_conv4j_internal_NativeCore_free(JNIEnv *env, jclass cls, jlong address) {
    (void)env;
    (void)cls;
    c4j_free((void *)(uintptr_t)address);
}

JNIEXPORT jlong JNICALL Java_io_conv4j_internal_NativeCore_address(JNIEnv *env, jclass cls, jobject buf) {
    (void)cls;
    if (buf == NULL) {
        c4j_jni_throw(env, "java/lang/NullPointerException", "buffer");
        return 0;
    }
    void *p = (*env)->GetDirectBufferAddress(env, buf);
    if (p == NULL) c4j_jni_throw(env, "java/lang/IllegalArgumentException", "not a direct buffer");
    return (jlong)(uintptr_t)p;
}

JNIEXPORT jlong JNICALL Java_io_conv4j_internal_NativeCore_allocatedBytes(JNIEnv *env, jclass cls) {
    (void)env;
    (void)cls;
    return c4j_allocated_bytes();
}

JNIEXPORT jlong JNICALL Java_io_conv4j_internal_NativeCore_peakAllocatedBytes(JNIEnv *env, jclass cls) {
    (void)env;
    (void)cls;
    return c4j_peak_allocated_bytes();
}

JNIEXPORT void JNICALL Java_io_conv4j_internal_NativeCore_resetPeakAllocatedBytes(JNIEnv *env, jclass cls) {
    (void)env;
    (void)cls;
    c4j_reset_peak_allocated_bytes();
}

JNIEXPORT void JNICALL Java_io_conv4j_internal_NativeCore_failNextAllocations(JNIEnv *env, jclass cls,
                                                                             jint count) {
    (void)env;
    (void)cls;
    c4j_fail_next_allocations(count);
}
