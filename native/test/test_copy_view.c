/*
 * c4j_copy_view between channels-first and channels-last views, both directions: every element
 * lands where the index arithmetic says, for sizes that are and are not multiples of the 16x16
 * register blocks (and smaller than one), in crops whose pixel rows are not one run, and nothing
 * is written before or after the destination (canaries).
 */
#include <string.h>

#include "testlib.h"

#define GUARD 40
static const float CANARY = -12345.0f;

/* copies src (view strides ss) into a fresh destination (strides ds) of `len` floats and checks
   element (n, h, w, c) against the source's, and the canaries on both sides */
static void check_copy(const float *src, int64_t src_len, const int64_t ss[4], const int64_t ds[4], int64_t len,
                       const int64_t dim[4], const char *what) {
    float *mem = malloc((size_t)(len + 2 * GUARD) * sizeof(float));
    T_CHECK(mem != NULL, "out of memory");
    if (mem == NULL) return;
    for (int64_t i = 0; i < len + 2 * GUARD; i++) mem[i] = CANARY;
    float *dst = mem + GUARD;
    char err[256] = "";
    c4j_status st = c4j_copy_view(src, src_len, ss, dst, len, ds, dim, err, sizeof err);
    T_CHECK(st == C4J_OK, "%s: refused: %s", what, err);
    int wrong = 0;
    for (int64_t n = 0; n < dim[0]; n++)
        for (int64_t h = 0; h < dim[1]; h++)
            for (int64_t w = 0; w < dim[2]; w++)
                for (int64_t c = 0; c < dim[3]; c++) {
                    const float want = src[n * ss[0] + h * ss[1] + w * ss[2] + c * ss[3]];
                    if (dst[n * ds[0] + h * ds[1] + w * ds[2] + c * ds[3]] != want && wrong++ == 0)
                        T_CHECK(0, "%s: element (%lld,%lld,%lld,%lld) of %lldx%lldx%lldx%lld", what, (long long)n,
                                (long long)h, (long long)w, (long long)c, (long long)dim[0], (long long)dim[1],
                                (long long)dim[2], (long long)dim[3]);
                }
    for (int64_t i = 0; i < GUARD; i++) {
        T_CHECK(mem[i] == CANARY, "%s: wrote before the destination", what);
        T_CHECK(mem[GUARD + len + i] == CANARY, "%s: wrote after the destination", what);
    }
    free(mem);
}

int main(void) {
    uint64_t rng = 11;
    for (int trial = 0; trial < 300; trial++) {
        const int64_t n = t_rand_range(&rng, 1, 2), c = t_rand_range(&rng, 1, 70);
        const int64_t h = t_rand_range(&rng, 1, 19), w = t_rand_range(&rng, 1, 41);
        const int64_t len = n * c * h * w;
        float *first = malloc((size_t)len * sizeof(float)), *last = malloc((size_t)len * sizeof(float));
        T_CHECK(first != NULL && last != NULL, "out of memory");
        if (first == NULL || last == NULL) return 1;
        for (int64_t i = 0; i < len; i++) first[i] = (float)i;
        const int64_t dim[4] = {n, h, w, c};
        const int64_t sf[4] = {c * h * w, w, 1, h * w}, sl[4] = {h * w * c, w * c, c, 1};
        check_copy(first, len, sf, sl, len, dim, "channels first to last");
        for (int64_t i = 0; i < len; i++) last[i] = (float)i;
        check_copy(last, len, sl, sf, len, dim, "channels last to first");
        if (w > 2) { /* a crop of columns 1 .. w-2: pixel rows no longer one run on the source side */
            const int64_t cw = w - 2, cdim[4] = {n, h, cw, c};
            const int64_t cl[4] = {h * cw * c, cw * c, c, 1}, cf[4] = {c * h * cw, cw, 1, h * cw};
            check_copy(first + 1, len - 1, sf, cl, n * h * cw * c, cdim, "crop, first to last");
            check_copy(last + c, len - c, sl, cf, n * h * cw * c, cdim, "crop, last to first");
        }
        free(first);
        free(last);
    }
    if (t_failures) return 1;
    printf("copy_view: ok\n");
    return 0;
}
