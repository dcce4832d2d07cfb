/*
 * Filter and bias gradients by sgemm, the C4J_BWD_GEMM route of c4j_conv2d_backward_filter.
 *
 * Filter gradient: dW_g[K, cout_g] = sum over output pixels of patch^T x dY, accumulated by sgemm
 * (beta = 1) over patch tiles in a fixed order. Units are blocks of dW (groups x chunks of filter
 * taps x chunks of output channels) small enough to stay in cache, times ranges of output pixels:
 * blocks alone are often too few for the threads (a 3x3x64x64 filter is one block), so the pixels
 * are split into a number of ranges fixed by the descriptor; range 0 sums into dW, range r > 0
 * into its own partial copy, and a reduction adds the copies in order r = 1, 2, ... So no two
 * units write the same element, sgemm gets large blocks (the patch tile is gathered once per
 * block, the dY rows packed once per block), and the order of every sum is fixed.
 *
 * Bias gradient: db[o] = sum of dY[., ., ., o], computed as ones[1, m] x dY rows by sgemm (blocks
 * of a fixed number of rows, so the order of the sum depends only on dY's layout) in the units
 * that own the first tap chunk, each pixel range into its part of the partial copy like dW.
 *
 * The patch tiles come from the 2-D im2col (c4j_im2col, gemm_tiled.c). Every unit sums in a fixed
 * order that depends only on the descriptor, so results are bit-identical for any thread count.
 * Workspaces are one tile, independent of the batch size; the partial copies of dW are at most
 * BW_MIN_UNITS of them and BW_MAX_PARTIAL_FLOATS in all.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* Same L2-sized tiles as the forward pass (gemm_tiled.c). */
#define BW_TILE_TARGET_FLOATS (96 * 1024)
#define BW_TILE_MIN_ROWS 32
#define BW_TILE_MAX_ROWS 1024
/* Filter gradient: the dW block of one unit (taps x output channels) stays within this many
   floats, so its sgemm accumulation runs in cache; not fewer channels than BW_MIN_COLS */
#define BW_C_BLOCK_FLOATS (64 * 1024)
#define BW_MIN_COLS 64
/* fewer units than this and the output pixels are split into ranges of at least BW_MIN_SPLIT_ROWS,
   each with its own partial dW (at most BW_MAX_PARTIAL_FLOATS floats of them in all) */
#define BW_MIN_UNITS 16
#define BW_MIN_SPLIT_ROWS 256
#define BW_MAX_PARTIAL_FLOATS (16 * 1024 * 1024)
/* The gather (c4j_im2col) per float copied and per contiguous run it copies (a kernel row of taps
   in the common NHWC case, else one tap): a per-float price alone put small-channel layers, whose
   runs are a few floats, at half their gather time. Fitted on the gather timed alone on 3x3 and 5x5
   layers of 4-256 channels and a 1x1 stride-2 one. */
#define GATHER_NS 0.055
#define GATHER_RUN_NS 1.3

static inline int64_t align_bytes(int64_t bytes) { return (bytes + 63) / 64 * 64; }

typedef struct {
    int64_t rows, cg, cout_g, taps;
    int64_t taps_per_chunk, t_chunks; /* filter taps (kh, kw) per unit */
    int64_t n_chunk, n_chunks;        /* output channels per unit */
    int64_t r_chunks;                 /* output-pixel ranges summed separately, then reduced */
    int64_t kc_max;                   /* patch columns per unit: taps_per_chunk * cg */
    int64_t tile_rows;
    int64_t filter_floats;            /* |dW| */
} bw_tiling;

static bw_tiling make_bw_tiling(const c4j_conv2d_desc *d) {
    bw_tiling t;
    t.rows = d->batch * d->out_h * d->out_w;
    t.cg = c4j_cin_g(d);
    t.cout_g = c4j_cout_g(d);
    t.taps = d->kernel_h * d->kernel_w;
    t.filter_floats = t.taps * t.cg * d->out_c;
    /* the dW block a unit accumulates stays in cache: as many taps as fit, then fewer channels */
    t.taps_per_chunk = C4J_MAX(1, C4J_MIN(t.taps, BW_C_BLOCK_FLOATS / C4J_MAX(1, t.cg * t.cout_g)));
    t.t_chunks = c4j_ceil_div(t.taps, t.taps_per_chunk);
    t.taps_per_chunk = c4j_ceil_div(t.taps, t.t_chunks); /* even chunks */
    t.kc_max = t.taps_per_chunk * t.cg;
    t.tile_rows = C4J_MAX(BW_TILE_MIN_ROWS, C4J_MIN(BW_TILE_MAX_ROWS, BW_TILE_TARGET_FLOATS / t.kc_max));
    t.n_chunk = t.cout_g;
    /* all output pixels in one patch tile (a deep layer at batch 1): each dW element is written by
       one sgemm call, never accumulated, so there is nothing to keep in cache, and one call over
       every output channel packs the patch tile once instead of once per chunk */
    const int one_tile = t.rows <= t.tile_rows;
    if (!one_tile && t.taps_per_chunk * t.cg * t.cout_g > BW_C_BLOCK_FLOATS) {
        int64_t cols = c4j_ceil_div(BW_C_BLOCK_FLOATS / (t.taps_per_chunk * t.cg), 16) * 16;
        t.n_chunk = C4J_MIN(t.cout_g, C4J_MAX(BW_MIN_COLS, cols));
    }
    t.n_chunks = c4j_ceil_div(t.cout_g, t.n_chunk);
    /* too few units for the threads: split the output pixels too, each range summing into its own
       copy of dW (the first into dW itself), added up afterwards in a fixed order */
    const int64_t base = d->groups * t.t_chunks * t.n_chunks;
    int64_t r = C4J_MIN(c4j_ceil_div(BW_MIN_UNITS, base), t.rows / BW_MIN_SPLIT_ROWS);
    r = C4J_MIN(r, 1 + BW_MAX_PARTIAL_FLOATS / (t.filter_floats + d->out_c));
    t.r_chunks = C4J_MAX(1, r);
    return t;
}

int64_t c4j_bwg_ranges(const c4j_conv2d_desc *d) { return make_bw_tiling(d).r_chunks; }

int64_t c4j_bwg_units(const c4j_conv2d_desc *d) {
    bw_tiling t = make_bw_tiling(d);
    return d->groups * t.t_chunks * t.n_chunks * t.r_chunks;
}

/* a 1x1 kernel at stride 1 without padding over evenly spaced input pixels: the patch rows are the
   input's own rows, read in place */
static int reads_in_place(const c4j_conv2d_desc *d, const bw_tiling *t) {
    const int64_t sw_in = d->in_stride[2];
    return t->taps == 1 && d->pad_top == 0 && d->pad_left == 0 && d->stride_h == 1 && d->stride_w == 1 &&
           d->in_h == d->out_h && d->in_w == d->out_w && (d->in_stride[3] == 1 || t->cg == 1) &&
           d->in_stride[1] == d->in_w * sw_in && d->in_stride[0] == d->in_h * d->in_stride[1] && sw_in >= t->cg &&
           sw_in <= INT_MAX;
}

static int64_t bw_tile_bytes(const bw_tiling *t) { return align_bytes(t->tile_rows * t->kc_max * 4); }

int64_t c4j_bwg_workspace(const c4j_conv2d_desc *d) {
    bw_tiling t = make_bw_tiling(d);
    return bw_tile_bytes(&t) + align_bytes(C4J_BIAS_ROWS * 4);
}


void c4j_bwg_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *dy, float *dw,
                   float *db, float *partials, void *workspace, int64_t u0, int64_t u1) {
    const bw_tiling t = make_bw_tiling(d);
    float *tile = (float *)workspace;
    float *ones = (float *)((char *)workspace + bw_tile_bytes(&t));
    const int avx512 = c4j_cpu_has_avx512();
    for (int64_t i = 0; db != NULL && i < C4J_BIAS_ROWS; i++) ones[i] = 1.0f;
    const int64_t hw = d->out_h * d->out_w;
    const int64_t ldb = d->out_stride[2];
    const int dy_uniform = d->out_stride[1] == d->out_w * ldb && d->out_stride[0] == d->out_h * d->out_stride[1];
    const int64_t sw_in = d->in_stride[2];
    const int x_in_place = reads_in_place(d, &t);
    /* unit order: group, tap chunk, row range, channel chunk (fastest: units that share a gather) */
    const int64_t per_t = t.r_chunks * t.n_chunks, per_group = t.t_chunks * per_t;

    int64_t u = u0;
    while (u < u1) {
        /* units u .. ue differ only in their output-channel chunk: one gather serves them all */
        const int64_t g = u / per_group, tc = (u % per_group) / per_t, rc = (u % per_t) / t.n_chunks;
        const int64_t nc0 = u % t.n_chunks;
        const int64_t ue = C4J_MIN(u1, u - nc0 + t.n_chunks), nc1 = nc0 + (ue - u);
        const int64_t t0 = tc * t.taps_per_chunk, t1 = C4J_MIN(t.taps, t0 + t.taps_per_chunk);
        const int64_t kc = (t1 - t0) * t.cg;
        const int64_t row_begin = t.rows * rc / t.r_chunks, row_end = t.rows * (rc + 1) / t.r_chunks;
        /* row range 0 sums into the outputs, the others into their own partial copies */
        float *part = rc == 0 ? NULL : partials + (rc - 1) * (t.filter_floats + d->out_c);
        float *w_out = dw == NULL ? NULL : rc == 0 ? dw : part;
        float *b_out = db == NULL || tc != 0 ? NULL : rc == 0 ? db : part + t.filter_floats;
        float *dw_rows = w_out == NULL ? NULL : w_out + t0 * t.cg * d->out_c;
        /* the range's first product overwrites its dW block (beta 0), so the block is zeroed here only
           when the range has no pixel (zeroing it row by row first was a visible share of a small layer) */
        for (int64_t nc = nc0; nc < nc1; nc++) {
            const int64_t c0 = g * t.cout_g + nc * t.n_chunk, cols = C4J_MIN(t.n_chunk, t.cout_g - nc * t.n_chunk);
            if (dw_rows != NULL && row_end == row_begin)
                for (int64_t k = 0; k < kc; k++) memset(dw_rows + k * d->out_c + c0, 0, (size_t)cols * sizeof(float));
            if (b_out != NULL) memset(b_out + c0, 0, (size_t)cols * sizeof(float));
        }
        for (int64_t r0 = row_begin; dw_rows != NULL && r0 < row_end; r0 += t.tile_rows) {
            const int64_t m = C4J_MIN(t.tile_rows, row_end - r0);
            const float *a = x_in_place ? in + r0 * sw_in + g * t.cg * d->in_stride[3] : tile;
            const int64_t lda = x_in_place ? sw_in : kc;
            if (!x_in_place) c4j_im2col(d, in, g, r0, m, t0, t1, kc, tile, avx512);
            for (int64_t nc = nc0; nc < nc1; nc++) {
                const int64_t c0 = g * t.cout_g + nc * t.n_chunk;
                const int64_t cols = C4J_MIN(t.n_chunk, t.cout_g - nc * t.n_chunk);
                /* one sgemm per tile when dY rows are evenly spaced, else one per output row */
                int64_t r = r0;
                while (r < r0 + m) {
                    const int64_t n = r / hw, oh = (r % hw) / d->out_w, ow = r % d->out_w;
                    const int64_t end = dy_uniform ? r0 + m : C4J_MIN(r0 + m, r - ow + d->out_w);
                    const float *b = dy + n * d->out_stride[0] + oh * d->out_stride[1] + ow * ldb + c0;
                    blas->sgemm(C4J_ROW_MAJOR, C4J_TRANS, C4J_NO_TRANS, (int)kc, (int)cols, (int)(end - r), 1.0f,
                                a + (r - r0) * lda, (int)lda, b, (int)ldb, r == row_begin ? 0.0f : 1.0f, dw_rows + c0,
                                (int)d->out_c);
                    r = end;
                }
            }
        }
        /* bias: a pass over this chunk of dY */
        for (int64_t nc = nc0; b_out != NULL && nc < nc1; nc++) {
            const int64_t c0 = g * t.cout_g + nc * t.n_chunk;
            const int64_t cols = C4J_MIN(t.n_chunk, t.cout_g - nc * t.n_chunk);
            c4j_bw_bias_rows(blas, d, dy, c0, cols, row_begin, row_end, ones, b_out + c0);
        }
        u = ue;
    }
}

/* Contiguous runs the gather copies per patch row for taps [t0, t1), as gather_impl splits them. */
static double gather_runs(const c4j_conv2d_desc *d, int64_t t0, int64_t t1) {
    const int runs = !d->flip && d->dilation_w == 1 && d->in_stride[3] == 1 && d->in_stride[2] == c4j_cin_g(d);
    if (!runs) return (double)(t1 - t0);
    return (double)((t1 - 1) / d->kernel_w - t0 / d->kernel_w + 1); /* kernel rows the taps touch */
}

/* The sgemm in the form the route calls it (patches transposed: c4j_cost_sgemm_at), the gather per
   float and per run, none where the input is read in place (as c4j_bwg_run decides it). */
double c4j_bwg_estimate(const c4j_conv2d_desc *d) {
    const bw_tiling t = make_bw_tiling(d);
    const int x_in_place = reads_in_place(d, &t);
    double s = 0;
    for (int64_t tc = 0; tc < t.t_chunks; tc++) {
        const int64_t t0 = tc * t.taps_per_chunk, t1 = C4J_MIN(t.taps, t0 + t.taps_per_chunk), kc = (t1 - t0) * t.cg;
        if (!x_in_place)
            s += (double)t.rows * ((double)kc * GATHER_NS + gather_runs(d, t0, t1) * GATHER_RUN_NS) * 1e-9;
        /* the sgemm calls of each pixel range: its whole tiles, then the rest */
        for (int64_t rc = 0; rc < t.r_chunks; rc++) {
            const int64_t len = t.rows * (rc + 1) / t.r_chunks - t.rows * rc / t.r_chunks;
            const int64_t full = len / t.tile_rows, last = len % t.tile_rows;
            for (int64_t nc = 0; nc < t.n_chunks; nc++) {
                const int64_t cols = C4J_MIN(t.n_chunk, t.cout_g - nc * t.n_chunk);
                s += (double)full * c4j_cost_sgemm_at(kc, t.tile_rows, cols) + c4j_cost_sgemm_at(kc, last, cols);
            }
        }
    }
    const double reduce = (double)(t.r_chunks - 1) * (double)(t.filter_floats + d->out_c) * C4J_BW_REDUCE_NS * 1e-9;
    return (double)d->groups * s + reduce;
}

/* ------------------------------------------------------------------ filter-gradient table row */

static int bwg_applies(const c4j_conv2d_desc *d) {
    (void)d;
    return 1; /* any convolution */
}

static double bwg_estimate_row(const c4j_conv2d_desc *d) {
    return c4j_bw_small_groups_factor(d, C4J_BWD_GEMM) * c4j_bwg_estimate(d);
}

const c4j_filter_gradient_route c4j_bw_gemm = {"gemm",         C4J_BWD_GEMM,   1,
                                               bwg_applies,    c4j_bwg_units,  c4j_bwg_workspace,
                                               c4j_bwg_ranges, bwg_estimate_row, c4j_bwg_run};
