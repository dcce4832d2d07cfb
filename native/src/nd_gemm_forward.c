/*
 * Forward N-d convolution by im2col + GEMM: each unit is a tile of output pixels of one image;
 * for each group it gathers the tile's patch rows (nd_im2col.c) and multiplies them by the
 * group's filter block in one sgemm/dgemm, then adds the bias and activation while storing.
 */
#include "nd_internal.h"

#include <limits.h>

static int applies(const c4j_nd_desc *d) {
    /* the BLAS takes int sizes: the patch tile and the filter must fit them */
    int64_t cols = c4j_nd_patch_cols(d);
    return cols <= INT_MAX / 1024 && d->out_c <= INT_MAX / 1024;
}

static int64_t units(const c4j_nd_desc *d) { return d->batch * c4j_nd_tiles(d); }

static int64_t workspace(const c4j_nd_desc *d) {
    return c4j_nd_tile_rows(d) * (c4j_nd_patch_cols(d) + d->out_c) * c4j_nd_elem_bytes(d);
}

static double estimate(const c4j_nd_desc *d) {
    int64_t r = c4j_nd_tile_rows(d), cols = c4j_nd_patch_cols(d);
    double per_tile = (double)d->groups * c4j_nd_cost_gemm(d, r, cols, c4j_nd_cout_g(d)) +
                      (double)r * (cols + d->out_c) * c4j_nd_elem_bytes(d) / 8e9; /* gather and store */
    return (double)units(d) * per_tile;
}

static void run(const c4j_blas *blas, const c4j_nd_desc *d, const void *in, const void *filter, void *bias, void *out,
                void *ws, int64_t u0, int64_t u1) {
    const int64_t eb = c4j_nd_elem_bytes(d), cols = c4j_nd_patch_cols(d), cog = c4j_nd_cout_g(d);
    const int64_t rows_per_tile = c4j_nd_tile_rows(d), tiles = c4j_nd_tiles(d), pixels = c4j_nd_out_pixels(d);
    char *col = ws, *tile = col + rows_per_tile * cols * eb;
    for (int64_t u = u0; u < u1; u++) {
        int64_t n = u / tiles, p0 = (u % tiles) * rows_per_tile, rows = C4J_MIN(rows_per_tile, pixels - p0);
        for (int64_t g = 0; g < d->groups; g++) {
            c4j_nd_gather(d, in, n, g, p0, rows, 0, c4j_nd_taps(d), col, cols);
            c4j_nd_gemm(blas, d, 0, 0, rows, cog, cols, col, cols, (const char *)filter + g * cog * eb, d->out_c, 0.0,
                        tile + g * cog * eb, d->out_c);
        }
        c4j_nd_store_rows(d, tile, bias, 1, n, p0, rows, out);
    }
}

const c4j_nd_algorithm c4j_nd_gemm_forward = {"GEMM", applies, units, workspace, NULL, estimate, run};
