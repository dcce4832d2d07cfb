/*
 * Helpers shared by conv4j's JNI sources. Each entry point: copy the descriptor
 * (c4j_jni_read_desc), turn each direct buffer plus byte offset into a pointer and the number of
 * floats behind it (c4j_jni_resolve), run the core's bounds check, call the core, and turn a
 * failure into a Java exception (c4j_jni_throw_status). Nothing is written before the checks pass.
 */
#ifndef CONV4J_JNI_UTIL_H
#define CONV4J_JNI_UTIL_H

#include <jni.h>
#include <stdint.h>

#include "conv4j.h"

#define ERR_LEN 512

/* A direct buffer at a byte offset: pointer and floats available from it. */
typedef struct {
    float *ptr;
    int64_t avail;
} c4j_region;

/* Throws a new exception of class `cls` unless one is already pending. */
void c4j_jni_throw(JNIEnv *env, const char *cls, const char *msg);
/* C4J_ERR_NOMEM -> OutOfMemoryError, BOUNDS -> IndexOutOfBoundsException, BLAS -> IllegalStateException,
   anything else -> IllegalArgumentException */
void c4j_jni_throw_status(JNIEnv *env, c4j_status st, const char *msg);
/* Copies a long[C4J_DESC_FIELDS] descriptor; 0 (with an exception pending) on failure. */
int c4j_jni_read_desc(JNIEnv *env, jlongArray arr, c4j_conv2d_desc *d);
/* Copies a descriptor and runs the core's field checks (no buffers involved: queries such as units
   or workspace sizes); 0 with an exception pending when it is refused. */
int c4j_jni_read_checked_desc(JNIEnv *env, jlongArray arr, c4j_conv2d_desc *d);
/* Resolves a direct buffer at a byte offset; a null buffer is allowed unless `required`. */
int c4j_jni_resolve(JNIEnv *env, jobject buf, jlong off, const char *what, int required, c4j_region *r);

/* A region given as a native address and the floats behind it (0, 0: no buffer), as the Java side
 * passes a tensor's memory on the hot paths (NativeCall): the storage was resolved to its address
 * once, when it was made, and is acquired around the call, so the address is live and the count
 * exact. Refuses a missing required region and a misaligned or negative one; 0 with an exception
 * pending. */
int c4j_jni_region_at(JNIEnv *env, jlong address, jlong floats, const char *what, int required, c4j_region *r);

/* The same for elements of elem_bytes bytes (float64 data, or 1 for a byte workspace): the pointer at the
 * offset, aligned to the element size, and how many whole elements lie behind it. */
int c4j_jni_resolve_elems(JNIEnv *env, jobject buf, jlong off, const char *what, int required, int64_t elem_bytes,
                          void **ptr, int64_t *avail);
/* The BLAS bound by NativeCore.open, or NULL with IllegalStateException pending. */
const c4j_blas *c4j_jni_blas(JNIEnv *env);

#endif
