/*
 * The data check in front of the transform algorithms: one read-only pass over a strided 4-D view
 * that finds the largest magnitude (non-finite values included) and the mean binary exponent of
 * the nonzero values. Winograd and the FFT mix every value of a tile into every output of it, so
 * the caller keeps them for data whose values are finite and whose largest magnitude is within a
 * few powers of two of the typical one (see TransformGuard.java).
 */
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* Elements per inner pass: keeps the 32-bit exponent sum (at most 255 per element) exact. */
#define SCAN_CHUNK 65536

/* |x| bits: max, count of normal nonzero values and sum of their biased exponents, for n floats at p */
static inline __attribute__((always_inline)) void scan_body(const float *restrict p, int64_t n, c4j_range *r) {
    for (int64_t i0 = 0; i0 < n; i0 += SCAN_CHUNK) {
        const int64_t len = C4J_MIN(SCAN_CHUNK, n - i0);
        uint32_t mx = 0, cnt = 0, es = 0;
        for (int64_t i = 0; i < len; i++) { /* integer ops only: vectorised, NaN-safe */
            uint32_t b;
            memcpy(&b, p + i0 + i, sizeof b);
            b &= 0x7fffffffu;
            const uint32_t e = b >> 23;
            mx = b > mx ? b : mx;
            cnt += e != 0;
            es += e;
        }
        if (mx > r->max_bits) r->max_bits = mx;
        r->nonzero += cnt;
        r->exp_sum += es;
    }
}

static void scan_portable(const float *restrict p, int64_t n, c4j_range *r) { scan_body(p, n, r); }

#if defined(__x86_64__) && defined(__GNUC__)
/* AVX2 has the unsigned 32-bit max (vpmaxud) SSE2 lacks: the pass then runs at cache speed */
__attribute__((target("avx2"))) static void scan_avx2(const float *restrict p, int64_t n, c4j_range *r) {
    scan_body(p, n, r);
}
#endif

static void scan_contiguous(const float *restrict p, int64_t n, c4j_range *r) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) {
        scan_avx2(p, n, r);
        return;
    }
#endif
    scan_portable(p, n, r);
}

static void scan_strided(const float *p, int64_t n, int64_t step, c4j_range *r) {
    for (int64_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, p + i * step, sizeof b);
        b &= 0x7fffffffu;
        const uint32_t e = b >> 23;
        if (b > r->max_bits) r->max_bits = b;
        r->nonzero += e != 0;
        r->exp_sum += e;
    }
}

c4j_status c4j_scan_range(const float *base, const int64_t shape[4], const int64_t stride[4], c4j_range *r) {
    if (r == NULL) return C4J_ERR_ARG;
    memset(r, 0, sizeof *r);
    for (int i = 0; i < 4; i++)
        if (shape[i] < 0 || stride[i] < 0) return C4J_ERR_ARG;
    if (shape[0] == 0 || shape[1] == 0 || shape[2] == 0 || shape[3] == 0) return C4J_OK;
    if (base == NULL) return C4J_ERR_ARG;
    /* a dense tensor is one run; otherwise runs along the channel axis */
    const int dense = stride[3] == 1 && stride[2] == shape[3] && stride[1] == shape[2] * shape[3] &&
                      stride[0] == shape[1] * shape[2] * shape[3];
    if (dense) {
        scan_contiguous(base, shape[0] * shape[1] * shape[2] * shape[3], r);
        return C4J_OK;
    }
    for (int64_t a = 0; a < shape[0]; a++)
        for (int64_t b = 0; b < shape[1]; b++)
            for (int64_t c = 0; c < shape[2]; c++) {
                const float *p = base + a * stride[0] + b * stride[1] + c * stride[2];
                if (stride[3] == 1) scan_contiguous(p, shape[3], r);
                else scan_strided(p, shape[3], stride[3], r);
            }
    return C4J_OK;
}
