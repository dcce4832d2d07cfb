/*
 * 1x1 convolution without padding as sgemm straight on the input: output pixel rows are input pixel
 * rows (every stride_w-th pixel, lda = stride_w * w_stride), so no patch is ever copied.
 * Rows are cut into runs that are uniformly spaced in both input and output memory; each run
 * is issued in row pieces (c4j_sgemm_piece_rows: the fastest call size on this machine, which
 * can be one OpenBLAS runs straight from the input without packing), one sgemm per piece and
 * group, with bias and activation applied while the piece's output is in cache.
 */
#include <limits.h>

#include "internal.h"

/* Rows per unit: large enough for an efficient sgemm, small enough to spread over threads. */
#define DIRECT_ROWS_PER_UNIT 256

static int64_t total_rows(const c4j_conv2d_desc *d) { return d->batch * d->out_h * d->out_w; }

int64_t c4j_gemm_direct_units(const c4j_conv2d_desc *d) {
    return d->groups * c4j_ceil_div(total_rows(d), DIRECT_ROWS_PER_UNIT);
}

/* input rows (n, oh, ow) and output rows are evenly spaced across an output row boundary */
static int rows_uniform_across_h(const c4j_conv2d_desc *d) {
    return d->in_stride[1] * d->stride_h == d->out_w * d->stride_w * d->in_stride[2] &&
           d->out_stride[1] == d->out_w * d->out_stride[2];
}
static int rows_uniform_across_n(const c4j_conv2d_desc *d) {
    return d->in_stride[0] == d->out_h * d->in_stride[1] * d->stride_h &&
           d->out_stride[0] == d->out_h * d->out_stride[1];
}

void c4j_gemm_direct_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in,
                         const float *filter, const float *bias, float *out, int64_t u0, int64_t u1) {
    const int64_t rows = total_rows(d);
    const int64_t blocks = c4j_ceil_div(rows, DIRECT_ROWS_PER_UNIT);
    const int64_t cin_g = c4j_cin_g(d), cout_g = c4j_cout_g(d);
    const int64_t lda = d->stride_w * d->in_stride[2];
    const int64_t ldc = d->out_stride[2];
    const int uniform_h = rows_uniform_across_h(d);
    const int uniform_n = uniform_h && rows_uniform_across_n(d);
    const int64_t hw = d->out_h * d->out_w;
    const int64_t piece = c4j_sgemm_piece_rows(blas, DIRECT_ROWS_PER_UNIT, cin_g, cout_g);

    for (int64_t u = u0; u < u1; u++) {
        const int64_t g = u / blocks;
        int64_t r = (u % blocks) * DIRECT_ROWS_PER_UNIT;
        const int64_t r_end = C4J_MIN(rows, r + DIRECT_ROWS_PER_UNIT);
        while (r < r_end) {
            const int64_t n = r / hw, oh = (r % hw) / d->out_w, ow = r % d->out_w;
            /* longest run from r that stays evenly spaced in memory */
            int64_t run_end;
            if (uniform_n) run_end = r_end;
            else if (uniform_h) run_end = C4J_MIN(r_end, (n + 1) * hw);
            else run_end = C4J_MIN(r_end, r - ow + d->out_w);
            run_end = C4J_MIN(run_end, r + piece);
            const float *a = in + n * d->in_stride[0] + oh * d->stride_h * d->in_stride[1] +
                             ow * d->stride_w * d->in_stride[2] + g * cin_g * d->in_stride[3];
            float *c = out + n * d->out_stride[0] + oh * d->out_stride[1] + ow * ldc + g * cout_g;
            const int64_t m = run_end - r;
            blas->sgemm(C4J_ROW_MAJOR, C4J_NO_TRANS, C4J_NO_TRANS, (int)m, (int)cout_g, (int)cin_g, 1.0f, a,
                        (int)lda, filter + g * cout_g, (int)d->out_c, 0.0f, c, (int)ldc);
            c4j_epilogue_rows(d, bias, c, m, ldc, g * cout_g, cout_g);
            r = run_end;
        }
    }
}

/* Estimated single-thread seconds: one sgemm per run piece of each unit, per group. */
double c4j_gemm_direct_estimate(const c4j_conv2d_desc *d) {
    const int64_t rows = total_rows(d);
    if (rows == 0) return 0;
    int64_t run = DIRECT_ROWS_PER_UNIT;
    if (!rows_uniform_across_h(d)) run = C4J_MIN(run, d->out_w);
    else if (!rows_uniform_across_n(d)) run = C4J_MIN(run, d->out_h * d->out_w);
    const int64_t piece = c4j_sgemm_piece_rows(NULL, DIRECT_ROWS_PER_UNIT, c4j_cin_g(d), c4j_cout_g(d));
    const double runs = (double)d->groups * (double)c4j_ceil_div(rows, run);
    return runs * c4j_cost_sgemm_pieces(run, c4j_cin_g(d), c4j_cout_g(d), piece);
}

/* ------------------------------------------------------------------ forward table row */

/* each output pixel is one input pixel row read in place: no padding, no virtual zeros, channels
   contiguous, and a row step BLAS accepts as lda (>= K) */
static int direct_applies(const c4j_conv2d_desc *d) {
    const int64_t lda = d->stride_w * d->in_stride[2];
    return d->kernel_h == 1 && d->kernel_w == 1 && d->pad_top == 0 && d->pad_left == 0 &&
           (d->in_stride[3] == 1 || c4j_cin_g(d) == 1) && lda >= c4j_cin_g(d) && lda <= INT_MAX &&
           (d->out_h - 1) * d->stride_h < d->in_h && (d->out_w - 1) * d->stride_w < d->in_w;
}

static int64_t direct_workspace(const c4j_conv2d_desc *d) {
    (void)d;
    return 0;
}

static double direct_estimate(const c4j_conv2d_desc *d, int include_prepare) {
    (void)include_prepare;
    return c4j_small_groups_adjusted(d, c4j_gemm_direct_estimate(d));
}

static void direct_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *filter,
                       const float *prepared, const float *bias, float *out, void *workspace, int64_t u0, int64_t u1) {
    (void)prepared;
    (void)workspace;
    c4j_gemm_direct_run(blas, d, in, filter, bias, out, u0, u1);
}

const c4j_conv2d_algorithm c4j_conv2d_gemm_direct = {
    "gemm_direct", C4J_ALGO_GEMM_DIRECT, 1, direct_applies, c4j_gemm_direct_units, direct_workspace, NULL, NULL,
    direct_estimate, direct_run};
