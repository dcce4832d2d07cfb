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

/* End of the sgemm call that starts at row r of a unit ending at r_end: the longest run from r that
   stays evenly spaced in memory, at most `piece` rows */
static int64_t call_end(const c4j_conv2d_desc *d, int uniform_h, int uniform_n, int64_t r, int64_t r_end,
                        int64_t piece) {
    const int64_t hw = d->out_h * d->out_w;
    int64_t end;
    if (uniform_n) end = r_end;
    else if (uniform_h) end = C4J_MIN(r_end, (r / hw + 1) * hw);
    else end = C4J_MIN(r_end, r - r % d->out_w + d->out_w);
    return C4J_MIN(end, r + piece);
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
            const int64_t run_end = call_end(d, uniform_h, uniform_n, r, r_end, piece);
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

/* Adds the sgemm calls of the unit of rows [r0, r_end) to calls[length]. */
static void count_calls(const c4j_conv2d_desc *d, int uniform_h, int uniform_n, int64_t r0, int64_t r_end,
                        int64_t piece, int64_t *calls) {
    for (int64_t r = r0, e; r < r_end; r = e) {
        e = call_end(d, uniform_h, uniform_n, r, r_end, piece);
        calls[e - r]++;
    }
}

/* Units counted call by call for the estimate; a layer with more full units is charged the
   average of these (the cost of an estimate stays bounded whatever the descriptor). */
#define ESTIMATE_UNITS 256

/* Estimated single-thread seconds: the sgemm calls the run issues, counted by length (the last
   unit and runs cut at image or row ends are shorter than the others). */
double c4j_gemm_direct_estimate(const c4j_conv2d_desc *d) {
    const int64_t rows = total_rows(d);
    if (rows == 0) return 0;
    const int uniform_h = rows_uniform_across_h(d);
    const int uniform_n = uniform_h && rows_uniform_across_n(d);
    const int64_t cin_g = c4j_cin_g(d), cout_g = c4j_cout_g(d);
    const int64_t piece = c4j_sgemm_piece_rows(NULL, DIRECT_ROWS_PER_UNIT, cin_g, cout_g);
    const int64_t full = (rows - 1) / DIRECT_ROWS_PER_UNIT; /* units before the last */
    const int64_t counted = C4J_MIN(full, ESTIMATE_UNITS);
    int64_t calls[DIRECT_ROWS_PER_UNIT + 1] = {0}, last[DIRECT_ROWS_PER_UNIT + 1] = {0};
    for (int64_t u = 0; u < counted; u++)
        count_calls(d, uniform_h, uniform_n, u * DIRECT_ROWS_PER_UNIT, (u + 1) * DIRECT_ROWS_PER_UNIT, piece, calls);
    count_calls(d, uniform_h, uniform_n, full * DIRECT_ROWS_PER_UNIT, rows, piece, last);
    double s_full = 0, s_last = 0;
    for (int64_t m = 1; m <= DIRECT_ROWS_PER_UNIT; m++) {
        if (calls[m] > 0) s_full += (double)calls[m] * c4j_cost_sgemm(m, cin_g, cout_g);
        if (last[m] > 0) s_last += (double)last[m] * c4j_cost_sgemm(m, cin_g, cout_g);
    }
    const double per_unit = counted > 0 ? s_full / (double)counted : 0;
    return (double)d->groups * (per_unit * (double)full + s_last);
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
