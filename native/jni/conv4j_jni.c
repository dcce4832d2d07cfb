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

/* The BLAS binding is process-wide by nature (one OpenBLAS per process); set once by open(). */
static c4j_blas g_blas;
static int g_blas_ready;
static pthread_mutex_t g_open_lock = PTHREAD_MUTEX_INITIALIZER;

#define ERR_LEN 512

static void throw_new(JNIEnv *env, const char *cls, const char *msg) {
    if ((*env)->ExceptionCheck(env)) return;
    jclass c = (*env)->FindClass(env, cls);
    if (c != NULL) (*env)->ThrowNew(env, c, msg);
}

static void throw_status(JNIEnv *env, c4j_status st, const char *msg) {
    switch (st) {
    case C4J_ERR_NOMEM: throw_new(env, "java/lang/OutOfMemoryError", msg); break;
    case C4J_ERR_BOUNDS: throw_new(env, "java/lang/IndexOutOfBoundsException", msg); break;
    case C4J_ERR_BLAS: throw_new(env, "java/lang/IllegalStateException", msg); break;
    default: throw_new(env, "java/lang/IllegalArgumentException", msg); break;
    }
}

static int read_desc(JNIEnv *env, jlongArray arr, c4j_conv2d_desc *d) {
    if (arr == NULL) {
        throw_new(env, "java/lang/NullPointerException", "descriptor");
        return 0;
    }
    if ((*env)->GetArrayLength(env, arr) != C4J_DESC_FIELDS) {
        throw_new(env, "java/lang/IllegalArgumentException", "descriptor has the wrong number of fields");
        return 0;
    }
    (*env)->GetLongArrayRegion(env, arr, 0, C4J_DESC_FIELDS, (jlong *)d);
    return !(*env)->ExceptionCheck(env);
}

/* A direct buffer at a byte offset: pointer and floats available from it. */
typedef struct {
    float *ptr;
    int64_t avail;
} region;

static int resolve(JNIEnv *env, jobject buf, jlong off, const char *what, int required, region *r) {
    r->ptr = NULL;
    r->avail = 0;
    if (buf == NULL) {
        if (!required) return 1;
        char msg[128];
        snprintf(msg, sizeof msg, "%s buffer is null", what);
        throw_new(env, "java/lang/NullPointerException", msg);
        return 0;
    }
    char *base = (*env)->GetDirectBufferAddress(env, buf);
    jlong cap = (*env)->GetDirectBufferCapacity(env, buf);
    char msg[200];
    if (base == NULL || cap < 0) {
        snprintf(msg, sizeof msg, "%s buffer is not a direct buffer", what);
        throw_new(env, "java/lang/IllegalArgumentException", msg);
        return 0;
    }
    if (off < 0 || off > cap || (((uintptr_t)base + (uintptr_t)off) & 3u) != 0) {
        snprintf(msg, sizeof msg, "%s byte offset %lld invalid for a buffer of %lld bytes", what,
                 (long long)off, (long long)cap);
        throw_new(env, "java/lang/IndexOutOfBoundsException", msg);
        return 0;
    }
    r->ptr = (float *)(base + off);
    r->avail = (int64_t)((cap - off) / 4);
    return 1;
}

JNIEXPORT jstring JNICALL Java_io_conv4j_internal_NativeCore_open(JNIEnv *env, jclass cls, jstring path,
                                                                 jstring coretype, jint blas_threads) {
    (void)cls;
    if (path == NULL) {
        throw_new(env, "java/lang/NullPointerException", "BLAS path");
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
        throw_status(env, st, err[0] ? err : "cannot load BLAS");
        return NULL;
    }
    return (*env)->NewStringUTF(env, "opened");
}

static int require_blas(JNIEnv *env) {
    if (!g_blas_ready) throw_new(env, "java/lang/IllegalStateException", "conv4j: BLAS not loaded");
    return g_blas_ready;
}

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
        throw_new(env, "java/lang/IllegalArgumentException", "BLAS thread count must be >= 1");
        return;
    }
    if (g_blas.set_num_threads != NULL) g_blas.set_num_threads(n);
}

JNIEXPORT jlong JNICALL Java_io_conv4j_internal_NativeCore_units(JNIEnv *env, jclass cls, jlongArray desc,
                                                                jint algo) {
    (void)cls;
    c4j_conv2d_desc d;
    char err[ERR_LEN];
    if (!read_desc(env, desc, &d)) return -1;
    c4j_status st = c4j_conv2d_check(&d, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, err, sizeof err);
    if (st != C4J_OK) {
        throw_status(env, st, err);
        return -1;
    }
    return c4j_conv2d_units(&d, (c4j_algo)algo);
}

JNIEXPORT jlong JNICALL Java_io_conv4j_internal_NativeCore_workspaceBytes(JNIEnv *env, jclass cls,
                                                                         jlongArray desc, jint algo) {
    (void)cls;
    c4j_conv2d_desc d;
    char err[ERR_LEN];
    if (!read_desc(env, desc, &d)) return -1;
    c4j_status st = c4j_conv2d_check(&d, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, err, sizeof err);
    if (st != C4J_OK) {
        throw_status(env, st, err);
        return -1;
    }
    return c4j_conv2d_workspace_bytes(&d, (c4j_algo)algo);
}

JNIEXPORT jlong JNICALL Java_io_conv4j_internal_NativeCore_preparedFloats(JNIEnv *env, jclass cls,
                                                                         jlongArray desc, jint algo) {
    (void)cls;
    c4j_conv2d_desc d;
    char err[ERR_LEN];
    if (!read_desc(env, desc, &d)) return -1;
    c4j_status st = c4j_conv2d_check(&d, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, err, sizeof err);
    if (st != C4J_OK) {
        throw_status(env, st, err);
        return -1;
    }
    return c4j_conv2d_prepared_floats(&d, (c4j_algo)algo);
}

JNIEXPORT void JNICALL Java_io_conv4j_internal_NativeCore_prepare(JNIEnv *env, jclass cls, jlongArray desc,
                                                                 jint algo, jobject filter, jlong f_off,
                                                                 jobject prepared, jlong p_off) {
    (void)cls;
    c4j_conv2d_desc d;
    region f, p;
    char err[ERR_LEN] = "";
    if (!read_desc(env, desc, &d) || !resolve(env, filter, f_off, "filter", 1, &f) ||
        !resolve(env, prepared, p_off, "prepared filter", 1, &p))
        return;
    c4j_status st = c4j_conv2d_check(&d, INT64_MAX, f.avail, INT64_MAX, INT64_MAX, err, sizeof err);
    if (st == C4J_OK && c4j_conv2d_prepared_floats(&d, (c4j_algo)algo) > p.avail) {
        st = C4J_ERR_BOUNDS;
        snprintf(err, sizeof err, "prepared filter buffer too small");
    }
    if (st == C4J_OK) st = c4j_conv2d_prepare(&d, (c4j_algo)algo, f.ptr, p.ptr, err, sizeof err);
    if (st != C4J_OK) throw_status(env, st, err);
}

JNIEXPORT void JNICALL Java_io_conv4j_internal_NativeCore_forward(
    JNIEnv *env, jclass cls, jlongArray desc, jint algo, jobject in, jlong in_off, jobject filter,
    jlong f_off, jobject prepared, jlong p_off, jobject bias, jlong b_off, jobject out, jlong o_off,
    jobject workspace, jlong unit_begin, jlong unit_end) {
    (void)cls;
    c4j_conv2d_desc d;
    region x, f, p, b, y, w;
    char err[ERR_LEN] = "";
    if (!require_blas(env) || !read_desc(env, desc, &d) || !resolve(env, in, in_off, "input", 1, &x) ||
        !resolve(env, filter, f_off, "filter", 1, &f) ||
        !resolve(env, prepared, p_off, "prepared filter", 0, &p) ||
        !resolve(env, bias, b_off, "bias", d.has_bias != 0, &b) || !resolve(env, out, o_off, "output", 1, &y) ||
        !resolve(env, workspace, 0, "workspace", 0, &w))
        return;
    c4j_status st = c4j_conv2d_check(&d, x.avail, f.avail, b.avail, y.avail, err, sizeof err);
    if (st == C4J_OK && p.ptr != NULL && c4j_conv2d_prepared_floats(&d, (c4j_algo)algo) > p.avail) {
        st = C4J_ERR_BOUNDS;
        snprintf(err, sizeof err, "prepared filter buffer too small");
    }
    if (st == C4J_OK)
        st = c4j_conv2d_forward(&g_blas, &d, (c4j_algo)algo, x.ptr, f.ptr, p.ptr, b.ptr, y.ptr, w.ptr,
                                w.avail * 4, unit_begin, unit_end, err, sizeof err);
    if (st != C4J_OK) throw_status(env, st, err);
}

JNIEXPORT jobject JNICALL Java_io_conv4j_internal_NativeCore_allocate(JNIEnv *env, jclass cls, jlong bytes) {
    (void)cls;
    if (bytes <= 0 || bytes > INT32_MAX) {
        throw_new(env, "java/lang/IllegalArgumentException", "allocation size must be in [1, 2^31-1] bytes");
        return NULL;
    }
    void *p = c4j_alloc((size_t)bytes, 1);
    if (p == NULL) {
        char msg[128];
        snprintf(msg, sizeof msg, "conv4j: cannot allocate %lld bytes of native memory", (long long)bytes);
        throw_new(env, "java/lang/OutOfMemoryError", msg);
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
        throw_new(env, "java/lang/NullPointerException", "buffer");
        return 0;
    }
    void *p = (*env)->GetDirectBufferAddress(env, buf);
    if (p == NULL) throw_new(env, "java/lang/IllegalArgumentException", "not a direct buffer");
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
