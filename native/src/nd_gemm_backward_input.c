/*
 * Gradient of the input (the transposed convolution) by GEMM + col2im: each unit is one image;
 * for each tile of output pixels the patch gradients dY x W^T come from one sgemm/dgemm per group
 * and are added into the image's input gradient tap by tap (the inverse of the forward im2col),
 * always in the same order, so the sums do not depend on the thread count.
 */
#include "nd_internal.h"

#include <limits.h>

static int applies(const c4j_nd_desc *d) {
    return c4j_nd_patch_cols(d) <= INT_MAX / 1024 && d->out_c <= INT_MAX / 1024;
}

static int64_t units(const c4j_nd_desc *d) { return d->batch; }

static int64_t workspace(const c4j_nd_desc *d) {
    return c4j_nd_tile_rows(d) * (c4j_nd_patch_cols(d) + d->out_c) * c4j_nd_elem_bytes(d);
}

static double estimate(const c4j_nd_desc *d) {
    int64_t r = c4j_nd_tile_rows(d), cols = c4j_nd_patch_cols(d);
    double per_tile = (double)d->groups * c4j_nd_cost_gemm(d, r, c4j_nd_cout_g(d), cols) +
                      (double)r * (cols + d->out_c) * c4j_nd_elem_bytes(d) / 4e9; /* scatter-add and load */
    return (double)d->batch * c4j_nd_tiles(d) * per_tile;
}

/* a = grad_out view, b = filter, c = grad_in view */
static void run(const c4j_blas *blas, const c4j_nd_desc *d, const void *dy, const void *filter, void *bias, void *dx,
                void *ws, int64_t u0, int64_t u1) {
    (void)bias;
    const int64_t eb = c4j_nd_elem_bytes(d), cols = c4j_nd_patch_cols(d), cog = c4j_nd_cout_g(d);
    const int64_t rows_per_tile = c4j_nd_tile_rows(d), tiles = c4j_nd_tiles(d), pixels = c4j_nd_out_pixels(d);
    char *col = ws, *tile = col + rows_per_tile * cols * eb;
    for (int64_t n = u0; n < u1; n++) {
        c4j_nd_zero_image(d, dx, n);
        for (int64_t t = 0; t < tiles; t++) {
            int64_t p0 = t * rows_per_tile, rows = C4J_MIN(rows_per_tile, pixels - p0);
            c4j_nd_load_rows(d, dy, n, p0, rows, tile);
            for (int64_t g = 0; g < d->groups; g++) {
                c4j_nd_gemm(blas, d, 0, 1, rows, cols, cog, tile + g * cog * eb, d->out_c,
                            (const char *)filter + g * cog * eb, d->out_c, 0.0, col, cols);
                c4j_nd_scatter_add(d, col, cols, n, g, p0, rows, dx);
            }
        }
    }
}

const c4j_nd_algorithm c4j_nd_gemm_backward_input = {"GEMM", applies, units, workspace, NULL, estimate, run};
