/*
 * Bias gradient: db[o] = sum of dY[., ., ., o], computed as ones[1, m] x dY rows by sgemm (blocks of
 * a fixed number of rows, so the order of the sum depends only on dY's layout) by the filter-gradient
 * routes' units that own the bias (backward_filter_gemm.c, backward_winograd.c).
 */
#include "internal.h"

/* Bias gradient of channels [c0, c0 + cols) over output pixels [row_begin, row_end), added to
   b_out[0, cols): ones[1, m] x dY rows, one sgemm per block of C4J_BIAS_ROWS pixels (cut at
   multiples of C4J_BIAS_ROWS, and at output rows when dY's pixels are not evenly spaced), so the
   order of the sum depends only on dY's layout and the range. `ones`: C4J_BIAS_ROWS ones. */
void c4j_bw_bias_rows(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *dy, int64_t c0, int64_t cols,
                      int64_t row_begin, int64_t row_end, const float *ones, float *b_out) {
    const int64_t hw = d->out_h * d->out_w, ldb = d->out_stride[2];
    const int dy_uniform = d->out_stride[1] == d->out_w * ldb && d->out_stride[0] == d->out_h * d->out_stride[1];
    int64_t r = row_begin;
    while (r < row_end) {
        const int64_t n = r / hw, oh = (r % hw) / d->out_w, ow = r % d->out_w;
        const int64_t block_end = C4J_MIN(row_end, (r / C4J_BIAS_ROWS + 1) * C4J_BIAS_ROWS);
        const int64_t end = dy_uniform ? block_end : C4J_MIN(block_end, r - ow + d->out_w);
        const float *b = dy + n * d->out_stride[0] + oh * d->out_stride[1] + ow * ldb + c0;
        blas->sgemm(C4J_ROW_MAJOR, C4J_NO_TRANS, C4J_NO_TRANS, 1, (int)cols, (int)(end - r), 1.0f, ones, C4J_BIAS_ROWS, b,
                    (int)ldb, 1.0f, b_out, (int)cols);
        r = end;
    }
}
