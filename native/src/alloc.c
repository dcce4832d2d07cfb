/*
 * Counted, 64-byte aligned allocation for every buffer the core (and the JNI layer, for tensors)
 * allocates. The counters are process-wide on purpose: they are how tests and the stress command
 * prove that native memory stays flat. The failure hook exists so tests can prove that an
 * allocation failure becomes a clean OutOfMemoryError and leaves the library usable.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define C4J_ALIGN 64

static _Atomic int64_t allocated_bytes;
static _Atomic int64_t peak_bytes;
static _Atomic int fail_next;

void *c4j_alloc(size_t bytes, int zero) {
    if (bytes == 0 || bytes > (size_t)INT64_MAX - 2 * C4J_ALIGN) return NULL;
    int pending = atomic_load(&fail_next);
    while (pending > 0) {
        if (atomic_compare_exchange_weak(&fail_next, &pending, pending - 1)) return NULL;
    }
    void *raw = NULL;
    /* one aligned header block in front of the data records the size for the counters */
    if (posix_memalign(&raw, C4J_ALIGN, bytes + C4J_ALIGN) != 0) return NULL;
    *(size_t *)raw = bytes;
    char *p = (char *)raw + C4J_ALIGN;
    if (zero) memset(p, 0, bytes);
    int64_t now = atomic_fetch_add(&allocated_bytes, (int64_t)bytes) + (int64_t)bytes;
    int64_t peak = atomic_load(&peak_bytes);
    while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now)) {
    }
    return p;
}

void c4j_free(void *p) {
    if (p == NULL) return;
    char *raw = (char *)p - C4J_ALIGN;
    atomic_fetch_sub(&allocated_bytes, (int64_t)(*(size_t *)raw));
    free(raw);
}

int64_t c4j_allocated_bytes(void) { return atomic_load(&allocated_bytes); }
int64_t c4j_peak_allocated_bytes(void) { return atomic_load(&peak_bytes); }
void c4j_reset_peak_allocated_bytes(void) { atomic_store(&peak_bytes, atomic_load(&allocated_bytes)); }
void c4j_fail_next_allocations(int count) { atomic_store(&fail_next, count < 0 ? 0 : count); }

c4j_status c4j_fail(c4j_status status, char *err, size_t err_len, const char *fmt, ...) {
    if (err != NULL && err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return status;
}
