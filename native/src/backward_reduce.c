/*
 * Reduction of a filter-gradient route's pixel ranges: range 0 summed into dW (and db), range r > 0
 * into its own partial copy; the copies are added to dW in the order r = 1, 2, ..., in units of
 * C4J_BW_REDUCE_FLOATS elements, so every element's sum has a fixed order whatever the threads.
 */
#include "internal.h"

int64_t c4j_bw_reduce_units(const c4j_conv2d_desc *d, int64_t r_chunks) {
    if (r_chunks <= 1) return 0;
    return c4j_ceil_div(c4j_filter_floats(d) + d->out_c, C4J_BW_REDUCE_FLOATS);
}

/* dW[i] += partial_1[i] + ... + partial_{R-1}[i], in that order, for elements of units [u0, u1);
   partial r sits at partials + (r - 1) * (|dW| + out_c), the bias gradient after dW. The loop over
   r is the outer one (vector adds over i); each element still sums in the order r = 1, 2, ... */
static void add_partials(float *restrict acc, const float *partials, int64_t len, int64_t r_chunks, int64_t i0,
                         int64_t i1) {
    for (int64_t r = 1; r < r_chunks; r++) {
        const float *restrict p = partials + (r - 1) * len;
        for (int64_t i = i0; i < i1; i++) acc[i - i0] += p[i];
    }
}

void c4j_bw_reduce_ranges(const c4j_conv2d_desc *d, int64_t r_chunks, float *dw, float *db, const float *partials,
                          int64_t u0, int64_t u1) {
    const int64_t ff = c4j_filter_floats(d), len = ff + d->out_c;
    const int64_t i0 = u0 * C4J_BW_REDUCE_FLOATS, i1 = C4J_MIN(len, u1 * C4J_BW_REDUCE_FLOATS);
    if (dw != NULL && i0 < ff) add_partials(dw + i0, partials, len, r_chunks, i0, C4J_MIN(i1, ff));
    if (db != NULL && i1 > ff) add_partials(db + C4J_MAX(i0, ff) - ff, partials, len, r_chunks, C4J_MAX(i0, ff), i1);
}
