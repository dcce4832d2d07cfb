/*
 * Filter and bias gradients of grouped layers with few input channels per group, depthwise ones
 * above all (filter-gradient route C4J_ALGO_GROUPED_DIRECT). As in the forward kernel
 * (grouped_direct.c), vectors hold neighbouring output channels, so each tap's gradient is a sum
 * over the output pixels of vector products:
 *   dW[kh][kw][c][o..o+V) = sum over (n, oh, ow) of x'[ih][iw][c][o..o+V) * dY[n][oh][ow][o..o+V)
 * with x' the input rows staged as for the forward kernel (lane o holds the input channel output
 * channel o reads). Through sgemm each group would be a product of a few rows and columns.
 *
 * Units: blocks of BLOCK output channels x ranges of output rows (images x rows), both fixed by
 * the descriptor; range 0 sums into dW / db and every other range into its own copy in the
 * partial sums, added up in order by c4j_conv2d_backward_filter_reduce, so any thread count gives
 * the same bits. Portable 4-lane vectors: the backward pass only has to be far from the per-group
 * sgemm's speed, not at the forward kernel's.
 */
#include <stdint.h>

#include "internal.h"

enum {
    BLOCK = 64,         /* output channels per unit (the staging's limit) */
    TARGET_UNITS = 16,  /* blocks x ranges aimed at, for threads to share */
    MAX_RANGES = 16     /* bounds the partial sums */
};

typedef float v4 __attribute__((vector_size(16)));

static int64_t round16(int64_t x) { return (x + 15) & ~(int64_t)15; }
static int64_t blocks(const c4j_conv2d_desc *d) { return c4j_ceil_div(d->out_c, BLOCK); }
static int64_t out_rows(const c4j_conv2d_desc *d) { return d->batch * d->out_h; }

int64_t c4j_gdw_ranges(const c4j_conv2d_desc *d) {
    const int64_t want = C4J_MIN(MAX_RANGES, c4j_ceil_div(TARGET_UNITS, blocks(d)));
    return C4J_MAX(1, C4J_MIN(want, out_rows(d)));
}

int64_t c4j_gdw_units(const c4j_conv2d_desc *d) { return blocks(d) * c4j_gdw_ranges(d); }

/* tap sums [taps][cg][BLOCK], bias sums [BLOCK], one dY row [out_w][BLOCK], one staged input row
   [in_w][cg][BLOCK] */
static int64_t taps_floats(const c4j_conv2d_desc *d) { return d->kernel_h * d->kernel_w * c4j_cin_g(d) * BLOCK; }

int64_t c4j_gdw_workspace(const c4j_conv2d_desc *d) {
    return (taps_floats(d) + BLOCK + d->out_w * BLOCK + d->in_w * c4j_cin_g(d) * BLOCK) * (int64_t)sizeof(float);
}

/* sum over n of a[i * sa] * b[i * sb] (4 lanes), in four interleaved partial sums added pairwise */
static v4 dot(const float *a, int64_t sa, const float *b, int64_t sb, int64_t n) {
    v4 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += *(const v4 *)(const void *)(a + i * sa) * *(const v4 *)(const void *)(b + i * sb);
        s1 += *(const v4 *)(const void *)(a + (i + 1) * sa) * *(const v4 *)(const void *)(b + (i + 1) * sb);
        s2 += *(const v4 *)(const void *)(a + (i + 2) * sa) * *(const v4 *)(const void *)(b + (i + 2) * sb);
        s3 += *(const v4 *)(const void *)(a + (i + 3) * sa) * *(const v4 *)(const void *)(b + (i + 3) * sb);
    }
    for (; i < n; i++) s0 += *(const v4 *)(const void *)(a + i * sa) * *(const v4 *)(const void *)(b + i * sb);
    return (s0 + s1) + (s2 + s3);
}

/* one output row (n, oh) of one channel block into the sums */
static void add_row(const c4j_conv2d_desc *d, const float *in, const float *dy, int64_t n, int64_t oh, int64_t o0,
                    int64_t cw, float *taps, float *bsum, float *dyrow, float *xrow, int filter) {
    const int64_t cg = c4j_cin_g(d), cwp = round16(cw);
    const float *src = dy + n * d->out_stride[0] + oh * d->out_stride[1] + o0;
    for (int64_t ow = 0; ow < d->out_w; ow++) {
        memcpy(dyrow + ow * BLOCK, src + ow * d->out_stride[2], sizeof(float) * (size_t)cw);
        memset(dyrow + ow * BLOCK + cw, 0, sizeof(float) * (size_t)(cwp - cw));
    }
    if (d->has_bias) {
        static const v4 ones = {1, 1, 1, 1}; /* a v4, so that it has a vector's alignment */
        for (int64_t v = 0; v < cwp; v += 4)
            *(v4 *)(void *)(bsum + v) += dot(dyrow + v, BLOCK, (const float *)&ones, 0, d->out_w);
    }
    if (!filter) return;
    const int64_t ih0 = oh * d->stride_h - d->pad_top;
    for (int64_t kh = 0; kh < d->kernel_h; kh++) {
        const int64_t ih = ih0 + kh * d->dilation_h;
        if (ih < 0 || ih >= d->in_h) continue;
        c4j_gd_stage_rows(d, in + n * d->in_stride[0], ih, ih + 1, o0, cw, BLOCK, xrow);
        for (int64_t kw = 0; kw < d->kernel_w; kw++) {
            /* output columns whose tap kw lies inside the input row */
            const int64_t off = kw * d->dilation_w - d->pad_left;
            const int64_t ow0 = off >= 0 ? 0 : c4j_ceil_div(-off, d->stride_w);
            const int64_t lim = d->in_w - 1 - off, ow1 = lim < 0 ? 0 : C4J_MIN(d->out_w, lim / d->stride_w + 1);
            if (ow1 <= ow0) continue;
            for (int64_t c = 0; c < cg; c++) {
                float *t = taps + ((kh * d->kernel_w + kw) * cg + c) * BLOCK;
                const float *x = xrow + ((ow0 * d->stride_w + off) * cg + c) * BLOCK;
                for (int64_t v = 0; v < cwp; v += 4)
                    *(v4 *)(void *)(t + v) += dot(x + v, d->stride_w * cg * BLOCK, dyrow + ow0 * BLOCK + v, BLOCK, ow1 - ow0);
            }
        }
    }
}

void c4j_gdw_run(const c4j_conv2d_desc *d, const float *in, const float *dy, float *dw, float *db, float *partials,
                 float *workspace, int64_t u0, int64_t u1) {
    const int64_t nblk = blocks(d), ranges = c4j_gdw_ranges(d), rows = out_rows(d), cg = c4j_cin_g(d);
    const int64_t ff = c4j_filter_floats(d);
    float *taps = workspace, *bsum = taps + taps_floats(d), *dyrow = bsum + BLOCK, *xrow = dyrow + d->out_w * BLOCK;
    for (int64_t unit = u0; unit < u1; unit++) {
        const int64_t blk = unit % nblk, r = unit / nblk, o0 = blk * BLOCK, cw = C4J_MIN(BLOCK, d->out_c - o0);
        const int64_t row0 = r * rows / ranges, row1 = (r + 1) * rows / ranges;
        memset(taps, 0, sizeof(float) * (size_t)(taps_floats(d) + BLOCK));
        for (int64_t row = row0; row < row1; row++)
            add_row(d, in, dy, row / d->out_h, row % d->out_h, o0, cw, taps, bsum, dyrow, xrow, dw != NULL);
        float *fdst = r == 0 ? dw : partials + (r - 1) * (ff + d->out_c);
        float *bdst = r == 0 ? db : partials + (r - 1) * (ff + d->out_c) + ff;
        if (dw != NULL)
            for (int64_t kh = 0; kh < d->kernel_h; kh++)
                for (int64_t kw = 0; kw < d->kernel_w; kw++) {
                    const int64_t fh = d->flip ? d->kernel_h - 1 - kh : kh, fw = d->flip ? d->kernel_w - 1 - kw : kw;
                    for (int64_t c = 0; c < cg; c++)
                        memcpy(fdst + ((fh * d->kernel_w + fw) * cg + c) * d->out_c + o0,
                               taps + ((kh * d->kernel_w + kw) * cg + c) * BLOCK, sizeof(float) * (size_t)cw);
                }
        if (db != NULL) memcpy(bdst + o0, bsum, sizeof(float) * (size_t)cw);
    }
}

/* Estimated single-thread seconds, in the cost table's large-sgemm time per multiply-add: 4-lane
   products (about 6 of those), the staged input rows (once per tap row) and the dY rows. */
double c4j_gdw_estimate(const c4j_conv2d_desc *d) {
    const double mac = c4j_cost_sgemm(1024, 1024, 1024) / (1024.0 * 1024.0 * 1024.0);
    const double lanes = (double)(blocks(d) * BLOCK), rows = (double)out_rows(d);
    const double macs = rows * (double)d->out_w * lanes * (double)(d->kernel_h * d->kernel_w * c4j_cin_g(d));
    const double staged = rows * (double)d->kernel_h * (double)d->in_w * (double)c4j_cin_g(d) * lanes;
    return mac * (6.0 * macs + 10.0 * staged + 10.0 * rows * (double)d->out_w * lanes);
}

/* ------------------------------------------------------------------ filter-gradient table row */

static double gdw_estimate_row(const c4j_conv2d_desc *d) {
    return c4j_gdw_estimate(d) +
           (double)(c4j_gdw_ranges(d) - 1) * (double)(c4j_filter_floats(d) + d->out_c) * C4J_BW_REDUCE_NS * 1e-9;
}

static void gdw_run_row(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *dy, float *dw,
                        float *db, float *partials, void *workspace, int64_t u0, int64_t u1) {
    (void)blas;
    c4j_gdw_run(d, in, dy, dw, db, partials, (float *)workspace, u0, u1);
}

const c4j_filter_gradient_route c4j_bw_grouped_direct = {"grouped_direct",  C4J_ALGO_GROUPED_DIRECT, 1,
                                                         c4j_gd_applicable, c4j_gdw_units,           c4j_gdw_workspace,
                                                         c4j_gdw_ranges,    gdw_estimate_row,        gdw_run_row};
