/*
 * Gradients of the filter and the bias by im2col + GEMM: dW_g += patches^T x dY_g, accumulated by
 * sgemm/dgemm with beta = 1 over every tile of every image in a fixed order. Units are groups x
 * chunks of filter taps (each writes its own block of dW), so the split is fixed by the
 * descriptor; the first chunk of a group also sums its bias gradient.
 */
#include "nd_internal.h"

#include <limits.h>

#define CHUNKS_PER_GROUP 4

static int64_t taps_per_chunk(const c4j_nd_desc *d) { return c4j_ceil_div(c4j_nd_taps(d), CHUNKS_PER_GROUP); }
static int64_t chunks(const c4j_nd_desc *d) { return c4j_ceil_div(c4j_nd_taps(d), taps_per_chunk(d)); }

static int applies(const c4j_nd_desc *d) {
    return c4j_nd_patch_cols(d) <= INT_MAX / 1024 && d->out_c <= INT_MAX / 1024;
}

static int64_t units(const c4j_nd_desc *d) { return d->groups * chunks(d); }

static int64_t workspace(const c4j_nd_desc *d) {
    return c4j_nd_tile_rows(d) * (taps_per_chunk(d) * c4j_nd_cin_g(d) + d->out_c) * c4j_nd_elem_bytes(d);
}

static double estimate(const c4j_nd_desc *d) {
    int64_t r = c4j_nd_tile_rows(d), cols = c4j_nd_patch_cols(d);
    double per_tile = (double)d->groups * c4j_nd_cost_gemm(d, cols, r, c4j_nd_cout_g(d)) +
                      (double)r * (cols + d->out_c * d->groups) * c4j_nd_elem_bytes(d) / 8e9;
    return (double)d->batch * c4j_nd_tiles(d) * per_tile;
}

#define ZERO_BLOCK(T)                                                                             \
    do {                                                                                          \
        if (dw != NULL)                                                                           \
            for (int64_t r = t0 * cg; r < t1 * cg; r++)                                           \
                for (int64_t c = 0; c < cog; c++) ((T *)dw)[r * d->out_c + g * cog + c] = 0;      \
        if (bias_sums)                                                                            \
            for (int64_t c = 0; c < cog; c++) ((T *)db)[g * cog + c] = 0;                         \
    } while (0)

#define SUM_BIAS(T)                                                                               \
    do {                                                                                          \
        for (int64_t r = 0; r < rows; r++) {                                                      \
            const T *src = (const T *)tile + r * d->out_c + g * cog;                              \
            for (int64_t c = 0; c < cog; c++) ((T *)db)[g * cog + c] += src[c];                   \
        }                                                                                         \
    } while (0)

/* a = input view, b = grad_out view, bias = grad_bias, c = grad_filter (may be NULL) */
static void run(const c4j_blas *blas, const c4j_nd_desc *d, const void *in, const void *dy, void *db, void *dw,
                void *ws, int64_t u0, int64_t u1) {
    const int64_t eb = c4j_nd_elem_bytes(d), cg = c4j_nd_cin_g(d), cog = c4j_nd_cout_g(d), tpc = taps_per_chunk(d);
    const int64_t rows_per_tile = c4j_nd_tile_rows(d), tiles = c4j_nd_tiles(d), pixels = c4j_nd_out_pixels(d);
    const int64_t nchunks = chunks(d), taps = c4j_nd_taps(d);
    char *col = ws, *tile = col + rows_per_tile * tpc * cg * eb;
    for (int64_t u = u0; u < u1; u++) {
        int64_t g = u / nchunks, chunk = u % nchunks, t0 = chunk * tpc, t1 = C4J_MIN(taps, t0 + tpc);
        int bias_sums = chunk == 0 && d->has_bias && db != NULL;
        if (dw == NULL && !bias_sums) continue;
        if (d->dtype == C4J_F64) ZERO_BLOCK(double);
        else ZERO_BLOCK(float);
        int64_t cols = (t1 - t0) * cg;
        for (int64_t n = 0; n < d->batch; n++)
            for (int64_t t = 0; t < tiles; t++) {
                int64_t p0 = t * rows_per_tile, rows = C4J_MIN(rows_per_tile, pixels - p0);
                c4j_nd_load_rows(d, dy, n, p0, rows, tile);
                if (dw != NULL) {
                    c4j_nd_gather(d, in, n, g, p0, rows, t0, t1, col, cols);
                    c4j_nd_gemm(blas, d, 1, 0, cols, cog, rows, col, cols, tile + g * cog * eb, d->out_c, 1.0,
                                (char *)dw + (t0 * cg * d->out_c + g * cog) * eb, d->out_c);
                }
                if (bias_sums) {
                    if (d->dtype == C4J_F64) SUM_BIAS(double);
                    else SUM_BIAS(float);
                }
            }
    }
}

const c4j_nd_algorithm c4j_nd_gemm_backward_filter = {"GEMM", applies, units, workspace, NULL, estimate, run};
