/*
 * Input gradient tap by tap, straight from the HWIO filter (route C4J_BWD_TAPS, stride 1).
 *
 * The other input-gradient routes read a rearranged filter: the gather route the filter transposed
 * to [tap, o] x [c], the forward routes that transposed filter again transformed (Winograd, FFT).
 * Training changes the filter every step, so that rearrangement is paid on every call, serially,
 * before any unit runs; on deep layers with small images (3x3, 512 -> 512 channels on 7 x 7) it
 * is a pass over megabytes of filter that costs as much as the products themselves.
 *
 * Here the filter is read as it is: for stride 1, tap (kh, kw) takes every input pixel to the
 * output pixel (ih + pad_top - kh*dil_h, iw + pad_left - kw*dil_w), so
 *
 *   dX[pixels, g*cg + c0 .. c0 + cb) = sum over taps t of  dY_t[pixels, o] x W[t', c0 .. c0 + cb, o]^T
 *
 * where dY_t holds, for each input pixel of the tile, the dY row that tap t reaches (zeros where
 * it falls outside the output) and t' is the tap of the (possibly flipped) filter. W[t'] is a
 * [cin_g x cout] row-major block of the filter, so each product is one sgemm with B transposed on
 * the filter in place (K = cout_g), and the taps accumulate with beta = 1 after the first one.
 *
 * Units are (group, tile of input pixels, block of input channels): no two write the same element,
 * every element sums its taps in the same order whatever the thread count, and deep layers whose
 * image is a single tile still give the threads several units (channel blocks). The "prepared"
 * filter is the filter itself (c4j_conv2d_backward_input_prepare copies it; the Java side hands
 * the filter over directly).
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* floats of the gathered dY rows plus the dX tile one unit keeps hot (about L2) */
#define BXT_TILE_TARGET_FLOATS (96 * 1024)
#define BXT_TILE_MIN_ROWS 32
#define BXT_TILE_MAX_ROWS 1024
/* input channels per unit at most (multiples of 16), so deep layers split into several units */
#define BXT_MAX_CBLOCK 128
/* per float: gathering a dY row, storing a dX row */
#define BXT_GATHER_NS 0.08
#define BXT_STORE_NS 0.1

typedef struct {
    int64_t cg, og, taps;
    int64_t cb, cblocks;  /* input channels per unit, blocks per group */
    int64_t rows, tile_rows, tiles;
} bxt_plan;

static bxt_plan make_plan(const c4j_conv2d_desc *d) {
    bxt_plan p;
    p.cg = c4j_cin_g(d);
    p.og = c4j_cout_g(d);
    p.taps = d->kernel_h * d->kernel_w;
    p.cblocks = c4j_ceil_div(p.cg, BXT_MAX_CBLOCK);
    p.cb = p.cblocks == 1 ? p.cg : c4j_ceil_div(c4j_ceil_div(p.cg, p.cblocks), 16) * 16;
    p.cblocks = c4j_ceil_div(p.cg, p.cb);
    p.rows = d->batch * d->in_h * d->in_w;
    p.tile_rows = C4J_MAX(BXT_TILE_MIN_ROWS, C4J_MIN(BXT_TILE_MAX_ROWS, BXT_TILE_TARGET_FLOATS / (p.og + p.cb)));
    p.tiles = c4j_ceil_div(p.rows, p.tile_rows);
    return p;
}

int c4j_bxt_applicable(const c4j_conv2d_desc *d) {
    if (d->stride_h != 1 || d->stride_w != 1) return 0;
    const int64_t og = c4j_cout_g(d), cg = c4j_cin_g(d);
    /* the sgemm arguments are ints: K = cout_g, ldb = out_c, N = a channel block */
    return og >= 1 && cg >= 1 && d->out_c <= INT_MAX && d->in_c <= INT_MAX;
}

int64_t c4j_bxt_units(const c4j_conv2d_desc *d) {
    if (!c4j_bxt_applicable(d) || d->batch == 0) return 0;
    const bxt_plan p = make_plan(d);
    return d->groups * p.tiles * p.cblocks;
}

static int64_t align_bytes(int64_t bytes) { return (bytes + 63) / 64 * 64; }

int64_t c4j_bxt_workspace(const c4j_conv2d_desc *d) {
    if (!c4j_bxt_applicable(d)) return -1;
    const bxt_plan p = make_plan(d);
    return align_bytes(p.tile_rows * p.og * 4) + align_bytes(p.tile_rows * p.cb * 4);
}

double c4j_bxt_estimate(const c4j_conv2d_desc *d) {
    if (!c4j_bxt_applicable(d)) return -1;
    const bxt_plan p = make_plan(d);
    const int64_t full = p.rows / p.tile_rows, last = p.rows % p.tile_rows;
    double s = 0;
    for (int64_t b = 0; b < p.cblocks; b++) {
        const int64_t cols = C4J_MIN(p.cb, p.cg - b * p.cb);
        s += (double)p.taps * ((double)full * c4j_cost_sgemm(p.tile_rows, p.og, cols) + c4j_cost_sgemm(last, p.og, cols));
        s += (double)p.rows * ((double)p.taps * (double)p.og * BXT_GATHER_NS + (double)cols * BXT_STORE_NS) * 1e-9;
    }
    return (double)d->groups * s;
}

/* dY rows of tap (kh, kw) for input pixels [r0, r0 + m) of group g: tile[r][0, og) */
static void gather_tap(const c4j_conv2d_desc *d, const bxt_plan *p, const float *dy, int64_t g, int64_t kh, int64_t kw,
                       int64_t r0, int64_t m, float *restrict tile) {
    const int64_t og = p->og, plane = d->in_h * d->in_w;
    const int64_t s0 = d->out_stride[0], s1 = d->out_stride[1], s2 = d->out_stride[2], sc = d->out_stride[3];
    const int64_t dh = d->pad_top - kh * d->dilation_h, dw = d->pad_left - kw * d->dilation_w;
    int64_t n = r0 / plane, ih = (r0 % plane) / d->in_w, iw = r0 % d->in_w;
    int64_t r = 0;
    while (r < m) {
        /* the rest of this image row, at most */
        const int64_t run = C4J_MIN(m - r, d->in_w - iw);
        float *dst = tile + r * og;
        const int64_t oh = ih + dh;
        if (oh < 0 || oh >= d->out_h) {
            memset(dst, 0, (size_t)(run * og) * sizeof(float));
        } else {
            /* ow = iw + dw inside [0, out_w) for iw in [lo, hi) */
            const int64_t lo = C4J_MIN(iw + run, C4J_MAX(iw, -dw)), hi = C4J_MAX(lo, C4J_MIN(iw + run, d->out_w - dw));
            const float *src = dy + n * s0 + oh * s1 + g * og * sc;
            if (lo > iw) memset(dst, 0, (size_t)((lo - iw) * og) * sizeof(float));
            if (sc == 1 && s2 == og) {
                memcpy(dst + (lo - iw) * og, src + (lo + dw) * s2, (size_t)((hi - lo) * og) * sizeof(float));
            } else {
                for (int64_t x = lo; x < hi; x++) {
                    const float *s = src + (x + dw) * s2;
                    float *t = dst + (x - iw) * og;
                    if (sc == 1) memcpy(t, s, (size_t)og * sizeof(float));
                    else for (int64_t o = 0; o < og; o++) t[o] = s[o * sc];
                }
            }
            if (hi < iw + run) memset(dst + (hi - iw) * og, 0, (size_t)((iw + run - hi) * og) * sizeof(float));
        }
        r += run;
        iw += run;
        if (iw == d->in_w) {
            iw = 0;
            if (++ih == d->in_h) {
                ih = 0;
                n++;
            }
        }
    }
}

/* writes acc[r][0, cols) to dX pixels [r0, r0 + m), channels g*cg + c0 .. */
static void store_tile(const c4j_conv2d_desc *d, const float *acc, int64_t ld, int64_t cols, int64_t g, int64_t cg,
                       int64_t c0, int64_t r0, int64_t m, float *dx) {
    const int64_t plane = d->in_h * d->in_w, sc = d->in_stride[3];
    int64_t n = r0 / plane, ih = (r0 % plane) / d->in_w, iw = r0 % d->in_w;
    for (int64_t r = 0; r < m; r++) {
        float *dst = dx + n * d->in_stride[0] + ih * d->in_stride[1] + iw * d->in_stride[2] + (g * cg + c0) * sc;
        const float *s = acc + r * ld;
        if (sc == 1) memcpy(dst, s, (size_t)cols * sizeof(float));
        else for (int64_t c = 0; c < cols; c++) dst[c * sc] = s[c];
        if (++iw == d->in_w) {
            iw = 0;
            if (++ih == d->in_h) {
                ih = 0;
                n++;
            }
        }
    }
}

void c4j_bxt_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *dy, const float *filter, float *dx,
                 void *workspace, int64_t u0, int64_t u1) {
    const bxt_plan p = make_plan(d);
    float *tile = (float *)workspace;
    float *acc = (float *)((char *)workspace + align_bytes(p.tile_rows * p.og * 4));
    const int64_t KH = d->kernel_h, KW = d->kernel_w, oc = d->out_c;
    /* unit order: group, tile, channel block (fastest) */
    for (int64_t u = u0; u < u1; u++) {
        const int64_t b = u % p.cblocks, tl = (u / p.cblocks) % p.tiles, g = u / (p.cblocks * p.tiles);
        const int64_t c0 = b * p.cb, cols = C4J_MIN(p.cb, p.cg - c0);
        const int64_t r0 = tl * p.tile_rows, m = C4J_MIN(p.tile_rows, p.rows - r0);
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++) {
                const int64_t fkh = d->flip ? KH - 1 - kh : kh, fkw = d->flip ? KW - 1 - kw : kw;
                const float *w = filter + ((fkh * KW + fkw) * p.cg + c0) * oc + g * p.og;
                gather_tap(d, &p, dy, g, kh, kw, r0, m, tile);
                blas->sgemm(C4J_ROW_MAJOR, C4J_NO_TRANS, C4J_TRANS, (int)m, (int)cols, (int)p.og, 1.0f, tile, (int)p.og,
                            w, (int)oc, kh == 0 && kw == 0 ? 0.0f : 1.0f, acc, (int)p.cb);
            }
        store_tile(d, acc, p.cb, cols, g, p.cg, c0, r0, m, dx);
    }
}

/* ------------------------------------------------------------------ input-gradient table row */

static int64_t bxt_prepared_floats(const c4j_conv2d_desc *d) { return c4j_filter_floats(d); }

/* the filter as it is */
static c4j_status bxt_prepare_row(const c4j_conv2d_desc *d, const float *filter, float *prepared, char *err,
                                  size_t err_len) {
    (void)err;
    (void)err_len;
    memcpy(prepared, filter, (size_t)c4j_filter_floats(d) * sizeof(float));
    return C4J_OK;
}

static double bxt_estimate_row(const c4j_conv2d_desc *d, int include_prepare) {
    (void)include_prepare; /* it reads the filter as it is */
    return c4j_bw_small_groups_factor(d, C4J_BWD_GEMM) * c4j_bxt_estimate(d);
}

static c4j_status bxt_run_row(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *dy, const float *prepared,
                              float *dx, void *workspace, int64_t workspace_bytes, int64_t u0, int64_t u1, char *err,
                              size_t err_len) {
    (void)workspace_bytes;
    (void)err;
    (void)err_len;
    c4j_bxt_run(blas, d, dy, prepared, dx, workspace, u0, u1);
    return C4J_OK;
}

const c4j_input_gradient_route c4j_bx_taps = {"taps",           C4J_BWD_TAPS,        1,
                                              c4j_bxt_applicable, c4j_bxt_units,     c4j_bxt_workspace,
                                              bxt_prepared_floats, bxt_prepare_row, bxt_estimate_row,
                                              bxt_run_row, NULL, NULL};
