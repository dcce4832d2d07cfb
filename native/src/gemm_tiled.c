/*
 * General convolution as tiles of the patch matrix: for a block of output pixels the patch rows
 * (im2col restricted to the block, padding as zeros, dilation, groups and the flipped kernel all
 * handled while gathering) are written to a workspace sized for L2 and contracted with the filter
 * by one sgemm while hot. The workspace is one tile, whatever the batch size.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Tile target: the patch tile plus OpenBLAS's own packed copy should stay within L2. */
#define TILE_TARGET_FLOATS (96 * 1024)
#define TILE_MIN_ROWS 32
#define TILE_MAX_ROWS 1024
/* Fewer units than this and the output channels are split too, so two or more threads have work. */
#define TILE_MIN_UNITS 4
#define TILE_MIN_COLS 64

typedef struct {
    int64_t rows, k, cout_g;
    int64_t tile_rows, m_tiles;   /* output pixels per tile, tiles per group */
    int64_t n_chunk, n_chunks;    /* output channels per unit, chunks per tile */
} tiling;

static tiling make_tiling(const c4j_conv2d_desc *d) {
    tiling t;
    t.rows = d->batch * d->out_h * d->out_w;
    t.k = d->kernel_h * d->kernel_w * c4j_cin_g(d);
    t.cout_g = c4j_cout_g(d);
    t.n_chunk = t.cout_g;
    t.n_chunks = 1;
    if (t.rows == 0) { /* empty batch: no tiles, no workspace (and no division by a zero tile size) */
        t.tile_rows = t.m_tiles = 0;
        return t;
    }
    int64_t target = C4J_MAX(TILE_MIN_ROWS, C4J_MIN(TILE_MAX_ROWS, TILE_TARGET_FLOATS / t.k));
    t.m_tiles = c4j_ceil_div(t.rows, target);
    /* even tiles, rounded to 16 rows (the sgemm kernel's row block) */
    t.tile_rows = C4J_MIN(t.rows, c4j_ceil_div(c4j_ceil_div(t.rows, t.m_tiles), 16) * 16);
    t.m_tiles = c4j_ceil_div(t.rows, t.tile_rows);
    t.n_chunk = t.cout_g;
    int64_t units = d->groups * t.m_tiles;
    if (units < TILE_MIN_UNITS && t.cout_g >= 2 * TILE_MIN_COLS) {
        int64_t want = c4j_ceil_div(TILE_MIN_UNITS, units);
        int64_t chunk = c4j_ceil_div(c4j_ceil_div(t.cout_g, want), 16) * 16;
        t.n_chunk = C4J_MAX(TILE_MIN_COLS, chunk);
    }
    t.n_chunks = c4j_ceil_div(t.cout_g, t.n_chunk);
    return t;
}

int64_t c4j_gemm_tiled_units(const c4j_conv2d_desc *d) {
    tiling t = make_tiling(d);
    return d->groups * t.m_tiles * t.n_chunks;
}

int64_t c4j_gemm_tiled_workspace(const c4j_conv2d_desc *d) {
    tiling t = make_tiling(d);
    return t.tile_rows * t.k * (int64_t)sizeof(float);
}

static inline void copy_floats(float *restrict dst, const float *restrict src, int64_t n) {
    if (n >= 32) {
        memcpy(dst, src, (size_t)n * sizeof(float));
    } else {
        for (int64_t i = 0; i < n; i++) dst[i] = src[i];
    }
}

/*
 * Writes patch rows [r0, r0 + m) of group g into tile (row length k). Tap (kh, kw) goes to column
 * block (kh, kw), or (KH-1-kh, KW-1-kw) for the flipped kernel, matching filter row order.
 */
static void gather_tile(const c4j_conv2d_desc *d, const float *in, int64_t g, int64_t r0, int64_t m,
                        int64_t k, float *restrict tile) {
    const int64_t cg = c4j_cin_g(d);
    const int64_t KH = d->kernel_h, KW = d->kernel_w;
    const int64_t sn = d->in_stride[0], sh = d->in_stride[1], sw = d->in_stride[2], sc = d->in_stride[3];
    const int64_t hw = d->out_h * d->out_w;
    /* a whole kernel row of taps is one contiguous input run (and one contiguous tile run) */
    const int row_runs = !d->flip && d->groups == 1 && d->dilation_w == 1 && sc == 1 && sw == cg;
    int64_t n = r0 / hw, oh = (r0 % hw) / d->out_w, ow = r0 % d->out_w;
    for (int64_t i = 0; i < m; i++) {
        float *row = tile + i * k;
        const float *img = in + n * sn + g * cg * sc;
        const int64_t ih0 = oh * d->stride_h - d->pad_top;
        const int64_t iw0 = ow * d->stride_w - d->pad_left;
        for (int64_t kh = 0; kh < KH; kh++) {
            const int64_t ih = ih0 + kh * d->dilation_h;
            const int64_t bh = d->flip ? KH - 1 - kh : kh;
            float *dst_row = row + bh * KW * cg;
            if (ih < 0 || ih >= d->in_h) {
                memset(dst_row, 0, (size_t)(KW * cg) * sizeof(float));
                continue;
            }
            const float *src_row = img + ih * sh;
            if (row_runs) {
                /* taps kw in [lo, hi) are inside the image: one copy, zeros around it */
                int64_t lo = iw0 < 0 ? C4J_MIN(KW, -iw0) : 0;
                int64_t hi = C4J_MIN(KW, d->in_w - iw0);
                if (hi < lo) hi = lo;
                if (lo > 0) memset(dst_row, 0, (size_t)(lo * cg) * sizeof(float));
                if (hi > lo) copy_floats(dst_row + lo * cg, src_row + (iw0 + lo) * sw, (hi - lo) * cg);
                if (hi < KW) memset(dst_row + hi * cg, 0, (size_t)((KW - hi) * cg) * sizeof(float));
                continue;
            }
            for (int64_t kw = 0; kw < KW; kw++) {
                const int64_t iw = iw0 + kw * d->dilation_w;
                const int64_t bw = d->flip ? KW - 1 - kw : kw;
                float *dst = dst_row + bw * cg;
                if (iw < 0 || iw >= d->in_w) {
                    memset(dst, 0, (size_t)cg * sizeof(float));
                } else if (sc == 1) {
                    copy_floats(dst, src_row + iw * sw, cg);
                } else {
                    const float *src = src_row + iw * sw;
                    for (int64_t c = 0; c < cg; c++) dst[c] = src[c * sc];
                }
            }
        }
        if (++ow == d->out_w) {
            ow = 0;
            if (++oh == d->out_h) {
                oh = 0;
                n++;
            }
        }
    }
}

void c4j_gemm_tiled_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in,
                        const float *filter, const float *bias, float *out, float *tile, int64_t u0,
                        int64_t u1) {
    const tiling t = make_tiling(d);
    const int64_t hw = d->out_h * d->out_w;
    const int64_t ldc = d->out_stride[2];
    const int out_uniform = d->out_stride[1] == d->out_w * ldc && d->out_stride[0] == d->out_h * d->out_stride[1];
    int64_t built = -1; /* (group, tile) whose patches are in `tile` */

    for (int64_t u = u0; u < u1; u++) {
        const int64_t gt = u / t.n_chunks, nc = u % t.n_chunks;
        const int64_t g = gt / t.m_tiles, mt = gt % t.m_tiles;
        const int64_t r0 = mt * t.tile_rows;
        const int64_t m = C4J_MIN(t.tile_rows, t.rows - r0);
        const int64_t c0 = g * t.cout_g + nc * t.n_chunk;
        const int64_t cols = C4J_MIN(t.n_chunk, t.cout_g - nc * t.n_chunk);
        if (built != gt) {
            gather_tile(d, in, g, r0, m, t.k, tile);
            built = gt;
        }
        /* one sgemm for the tile when output rows are evenly spaced, else one per output row */
        int64_t r = r0;
        while (r < r0 + m) {
            const int64_t n = r / hw, oh = (r % hw) / d->out_w, ow = r % d->out_w;
            const int64_t seg_end = out_uniform ? r0 + m : C4J_MIN(r0 + m, r - ow + d->out_w);
            float *c = out + n * d->out_stride[0] + oh * d->out_stride[1] + ow * ldc + c0;
            blas->sgemm(C4J_ROW_MAJOR, C4J_NO_TRANS, C4J_NO_TRANS, (int)(seg_end - r), (int)cols, (int)t.k,
                        1.0f, tile + (r - r0) * t.k, (int)t.k, filter + c0, (int)d->out_c, 0.0f, c,
                        (int)ldc);
            c4j_epilogue_rows(d, bias, c, seg_end - r, ldc, c0, cols);
            r = seg_end;
        }
    }
}
