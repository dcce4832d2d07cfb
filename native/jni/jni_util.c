/* Helpers every JNI entry point uses: exceptions, descriptors, direct buffers (see jni_util.h). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jni_util.h"

void c4j_jni_throw(JNIEnv *env, const char *cls, const char *msg) {
    if ((*env)->ExceptionCheck(env)) return;
    jclass c = (*env)->FindClass(env, cls);
    if (c != NULL) (*env)->ThrowNew(env, c, msg);
}

void c4j_jni_throw_status(JNIEnv *env, c4j_status st, const char *msg) {
    switch (st) {
    case C4J_ERR_NOMEM: c4j_jni_throw(env, "java/lang/OutOfMemoryError", msg); break;
    case C4J_ERR_BOUNDS: c4j_jni_throw(env, "java/lang/IndexOutOfBoundsException", msg); break;
    case C4J_ERR_BLAS: c4j_jni_throw(env, "java/lang/IllegalStateException", msg); break;
    default: c4j_jni_throw(env, "java/lang/IllegalArgumentException", msg); break;
    }
}

int c4j_jni_read_desc(JNIEnv *env, jlongArray arr, c4j_conv2d_desc *d) {
    if (arr == NULL) {
        c4j_jni_throw(env, "java/lang/NullPointerException", "descriptor");
        return 0;
    }
    if ((*env)->GetArrayLength(env, arr) != C4J_DESC_FIELDS) {
        c4j_jni_throw(env, "java/lang/IllegalArgumentException", "descriptor has the wrong number of fields");
        return 0;
    }
    (*env)->GetLongArrayRegion(env, arr, 0, C4J_DESC_FIELDS, (jlong *)d);
    return !(*env)->ExceptionCheck(env);
}

int c4j_jni_read_checked_desc(JNIEnv *env, jlongArray arr, c4j_conv2d_desc *d) {
    char err[ERR_LEN];
    if (!c4j_jni_read_desc(env, arr, d)) return 0;
    c4j_status st = c4j_conv2d_check(d, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, err, sizeof err);
    if (st != C4J_OK) {
        c4j_jni_throw_status(env, st, err);
        return 0;
    }
    return 1;
}

int c4j_jni_resolve_elems(JNIEnv *env, jobject buf, jlong off, const char *what, int required, int64_t elem_bytes,
                          void **ptr, int64_t *avail) {
    *ptr = NULL;
    *avail = 0;
    if (buf == NULL) {
        if (!required) return 1;
        char msg[128];
        snprintf(msg, sizeof msg, "%s buffer is null", what);
        c4j_jni_throw(env, "java/lang/NullPointerException", msg);
        return 0;
    }
    char *base = (*env)->GetDirectBufferAddress(env, buf);
    jlong cap = (*env)->GetDirectBufferCapacity(env, buf);
    char msg[200];
    if (base == NULL || cap < 0) {
        snprintf(msg, sizeof msg, "%s buffer is not a direct buffer", what);
        c4j_jni_throw(env, "java/lang/IllegalArgumentException", msg);
        return 0;
    }
    if (off < 0 || off > cap || (((uintptr_t)base + (uintptr_t)off) % (uintptr_t)elem_bytes) != 0) {
        snprintf(msg, sizeof msg, "%s byte offset %lld invalid for a buffer of %lld bytes of %lld-byte elements", what,
                 (long long)off, (long long)cap, (long long)elem_bytes);
        c4j_jni_throw(env, "java/lang/IndexOutOfBoundsException", msg);
        return 0;
    }
    *ptr = base + off;
    *avail = (int64_t)((cap - off) / elem_bytes);
    return 1;
}

int c4j_jni_resolve(JNIEnv *env, jobject buf, jlong off, const char *what, int required, c4j_region *r) {
    void *ptr;
    int ok = c4j_jni_resolve_elems(env, buf, off, what, required, 4, &ptr, &r->avail);
    r->ptr = (float *)ptr;
    return ok;
}


int c4j_jni_region_at(JNIEnv *env, jlong address, jlong floats, const char *what, int required, c4j_region *r) {
    char msg[160];
    r->ptr = NULL;
    r->avail = 0;
    if (address == 0) {
        if (!required) return 1;
        snprintf(msg, sizeof msg, "%s buffer is null", what);
        c4j_jni_throw(env, "java/lang/NullPointerException", msg);
        return 0;
    }
    if (floats < 0 || ((uintptr_t)address % sizeof(float)) != 0) {
        snprintf(msg, sizeof msg, "%s region of %lld floats at a misaligned or invalid address", what, (long long)floats);
        c4j_jni_throw(env, "java/lang/IndexOutOfBoundsException", msg);
        return 0;
    }
    r->ptr = (float *)(uintptr_t)address;
    r->avail = floats;
    return 1;
}
