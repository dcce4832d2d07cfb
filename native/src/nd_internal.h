/* The N-d engine's shared pieces (not public): the algorithm row, geometry and im2col helpers. */
#ifndef CONV4J_ND_INTERNAL_H
#define CONV4J_ND_INTERNAL_H

#include "conv4j_nd.h"
#include "internal.h"

/*
 * One algorithm of one direction: a row of that direction's table (nd_table.c). Adding an
 * algorithm is one new file defining such a row and one line in the table.
 *   applies:   1 when it can run the (already checked) descriptor, dtype included;
 *   units:     independent pieces of work, fixed by the descriptor alone;
 *   workspace: bytes one call of run needs, for any unit range;
 *   prepare:   NULL when the algorithm reads the filter as it is;
 *   estimate:  single-thread seconds, to rank the algorithms that apply;
 *   run:       units [u0, u1) (buffers as in c4j_nd_run).
 */
typedef struct {
    const char *name;
    int (*applies)(const c4j_nd_desc *d);
    int64_t (*units)(const c4j_nd_desc *d);
    int64_t (*workspace)(const c4j_nd_desc *d);
    void (*prepare)(const c4j_nd_desc *d, const void *filter, void *prepared);
    double (*estimate)(const c4j_nd_desc *d);
    void (*run)(const c4j_blas *blas, const c4j_nd_desc *d, const void *a, const void *b, void *bias, void *c,
                void *workspace, int64_t u0, int64_t u1);
} c4j_nd_algorithm;

extern const c4j_nd_algorithm c4j_nd_gemm_forward;
extern const c4j_nd_algorithm c4j_nd_gemm_backward_input;
extern const c4j_nd_algorithm c4j_nd_gemm_backward_filter;

/* ---- geometry */

static inline int64_t c4j_nd_cin_g(const c4j_nd_desc *d) { return d->in_c / d->groups; }
static inline int64_t c4j_nd_cout_g(const c4j_nd_desc *d) { return d->out_c / d->groups; }
static inline int64_t c4j_nd_taps(const c4j_nd_desc *d) { return d->kernel[0] * d->kernel[1] * d->kernel[2]; }
static inline int64_t c4j_nd_out_pixels(const c4j_nd_desc *d) {
    return d->out_size[0] * d->out_size[1] * d->out_size[2];
}
/* Columns of one group's patch matrix: taps x channels per group. */
static inline int64_t c4j_nd_patch_cols(const c4j_nd_desc *d) { return c4j_nd_taps(d) * c4j_nd_cin_g(d); }

/* Output pixels per tile: a patch tile of about 1 MiB (L2), between 64 and 1024 rows (sgemm is slow on fewer). */
int64_t c4j_nd_tile_rows(const c4j_nd_desc *d);
static inline int64_t c4j_nd_tiles(const c4j_nd_desc *d) {
    return c4j_ceil_div(c4j_nd_out_pixels(d), c4j_nd_tile_rows(d));
}

/* Single-thread seconds of one GEMM of this shape in the descriptor's dtype (cost model). */
double c4j_nd_cost_gemm(const c4j_nd_desc *d, int64_t m, int64_t k, int64_t n);

/* ---- im2col and friends (nd_im2col.c), element type from d->dtype */

/*
 * Patch rows of output pixels [p0, p0 + rows) of image n, group g, taps [t0, t1): row r holds,
 * tap by tap, the cin/groups input channels that tap reads (zeros where it reads padding);
 * row stride ld elements.
 */
void c4j_nd_gather(const c4j_nd_desc *d, const void *in, int64_t n, int64_t g, int64_t p0, int64_t rows, int64_t t0,
                   int64_t t1, void *col, int64_t ld);
/* The inverse: adds each patch element of rows [p0, p0 + rows) of image n, group g (all taps)
   into the input-shaped view `dx` (in_stride), skipping padding. */
void c4j_nd_scatter_add(const c4j_nd_desc *d, const void *col, int64_t ld, int64_t n, int64_t g, int64_t p0,
                        int64_t rows, void *dx);
/* Copies rows [p0, p0 + rows) of image n of an output-shaped view (out_stride) to a dense
   [rows, out_c] tile, or back (with bias and activation when `epilogue`). */
void c4j_nd_load_rows(const c4j_nd_desc *d, const void *view, int64_t n, int64_t p0, int64_t rows, void *tile);
void c4j_nd_store_rows(const c4j_nd_desc *d, const void *tile, const void *bias, int epilogue, int64_t n, int64_t p0,
                       int64_t rows, void *view);
/* Zeroes image n of an input-shaped view. */
void c4j_nd_zero_image(const c4j_nd_desc *d, void *view, int64_t n);

/* C = alpha op(A) op(B) + beta C, row-major, in the descriptor's dtype (sgemm or dgemm). */
void c4j_nd_gemm(const c4j_blas *blas, const c4j_nd_desc *d, int trans_a, int trans_b, int64_t m, int64_t n,
                 int64_t k, const void *a, int64_t lda, const void *b, int64_t ldb, double beta, void *c,
                 int64_t ldc);

#endif
