/*
 * Counted, 64-byte aligned allocation for every buffer the core (and the JNI layer, for tensors)
 * allocates. The counters are process-wide on purpose: they are how tests and the stress command
 * prove that native memory stays flat. The failure hook exists so tests can prove that an
 * allocation failure becomes a clean OutOfMemoryError and leaves the library usable.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "internal.h"

#define C4J_ALIGN 64
#define C4J_HUGE_PAGE ((size_t)2 << 20)

static _Atomic int64_t allocated_bytes;
static _Atomic int64_t peak_bytes;
static _Atomic int fail_next;
static _Atomic int huge_pages = 1;

void c4j_set_huge_pages(int on) { atomic_store(&huge_pages, on != 0); }

/*
 * Buffers of 2 MiB or more (tensors, workspaces, prepared filters) are mapped on their own, from a
 * 2 MiB boundary, and advised for transparent huge pages (Linux, MADV_HUGEPAGE), so that each
 * whole 2 MiB of them can take one TLB entry instead of 512. Where the kernel's setting
 * (/sys/kernel/mm/transparent_hugepage/enabled) is "madvise", the default of many distributions,
 * only advised memory gets huge pages; under "always" any aligned memory may; under "never" the
 * advice is ignored and the buffer is as before. Mapped on their own rather than taken from
 * malloc, whose heap hands back freed memory already faulted in with small pages (whether a buffer
 * got huge pages then depended on what the process had freed before), and fresh mappings come
 * zeroed. NULL (then malloc) where mapping fails or elsewhere than Linux.
 */
static char *map_huge(size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes < C4J_HUGE_PAGE || !atomic_load(&huge_pages) || bytes > SIZE_MAX - 2 * C4J_HUGE_PAGE) return NULL;
    const size_t len = (bytes + C4J_HUGE_PAGE - 1) & ~(C4J_HUGE_PAGE - 1);
    char *m = mmap(NULL, len + C4J_HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    char *start = (char *)(((uintptr_t)m + C4J_HUGE_PAGE - 1) & ~(uintptr_t)(C4J_HUGE_PAGE - 1));
    if (start > m) munmap(m, (size_t)(start - m));
    if (m + len + C4J_HUGE_PAGE > start + len) munmap(start + len, (size_t)(m + len + C4J_HUGE_PAGE - (start + len)));
    (void)madvise(start, len, MADV_HUGEPAGE); /* advice: refused or ignored, the buffer is the same */
    return start;
#else
    (void)bytes;
    return NULL;
#endif
}

static void unmap_huge(char *raw, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    munmap(raw, (bytes + C4J_HUGE_PAGE - 1) & ~(C4J_HUGE_PAGE - 1));
#else
    (void)raw, (void)bytes;
#endif
}

/* A block as c4j_alloc hands it out (huge-page mapping or posix_memalign, a header in front),
   neither counted nor subject to the failure hook. */
static void *obtain(size_t bytes, int zero) {
    if (bytes == 0 || bytes > (size_t)INT64_MAX - 2 * C4J_ALIGN) return NULL;
    void *raw = map_huge(bytes + C4J_ALIGN);
    const size_t mapped = raw != NULL;
    /* one aligned header block in front of the data records the size for the counters, and how
       the block was obtained */
    if (raw == NULL && posix_memalign(&raw, C4J_ALIGN, bytes + C4J_ALIGN) != 0) return NULL;
    ((size_t *)raw)[0] = bytes, ((size_t *)raw)[1] = mapped;
    char *p = (char *)raw + C4J_ALIGN;
    if (zero && !mapped) memset(p, 0, bytes); /* a fresh mapping reads as zeros */
    return p;
}

/* Returns a block of obtain; its size. */
static size_t release(void *p) {
    char *raw = (char *)p - C4J_ALIGN;
    const size_t bytes = ((size_t *)raw)[0];
    if (((size_t *)raw)[1]) unmap_huge(raw, bytes + C4J_ALIGN);
    else free(raw);
    return bytes;
}

void *c4j_alloc(size_t bytes, int zero) {
    if (bytes == 0 || bytes > (size_t)INT64_MAX - 2 * C4J_ALIGN) return NULL;
    int pending = atomic_load(&fail_next);
    while (pending > 0) {
        if (atomic_compare_exchange_weak(&fail_next, &pending, pending - 1)) return NULL;
    }
    char *p = obtain(bytes, zero);
    if (p == NULL) return NULL;
    int64_t now = atomic_fetch_add(&allocated_bytes, (int64_t)bytes) + (int64_t)bytes;
    int64_t peak = atomic_load(&peak_bytes);
    while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now)) {
    }
    return p;
}

void c4j_free(void *p) {
    if (p == NULL) return;
    atomic_fetch_sub(&allocated_bytes, (int64_t)release(p));
}

/* Zeroed by writing, also where obtain maps: untouched pages of a fresh mapping all read the
   kernel's one shared zero page, and the trial, which reads such buffers (prepared filters left as
   zeros), would time a route streaming them from cache. */
void *c4j_alloc_uncounted(size_t bytes) {
    char *p = obtain(bytes, 0);
    if (p != NULL) memset(p, 0, bytes);
    return p;
}

void c4j_free_uncounted(void *p) {
    if (p != NULL) release(p);
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
