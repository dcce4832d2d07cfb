/*
 * Filter gradient of 3x3, stride-1, dilation-1 convolutions by Winograd F(3x3, m x m), m = 4 or 2.
 *
 * dW[kh, kw, c, o] = sum over output pixels (n, oh, ow) of X[n, oh + kh - pad_top, ow + kw - pad_left, c]
 * * dY[n, oh, ow, o]. Cut dY into tiles of m x m pixels (zeros past out_h/out_w); a tile's share
 * is a correlation of its alpha x alpha input window D (alpha = m + 2) with the m x m dY tile E,
 * giving 3 x 3 values: the forward minimal filtering F(m, 3) transposed (dY plays the filter, the
 * taps the outputs). With the forward transform matrices BT (alpha x alpha), G (alpha x 3) and
 * AT (m x alpha) of the same points (winograd.c), y = AT [(G g) .* (BT d)] gives, by transposition,
 *
 *     dW_tile = G^T [ (A E A^T) .* (BT D B) ] G       (A = AT^T)
 *
 * so per transform point xi the sum over tiles and channels is a matrix product:
 *     M_xi[c, o] = sum over tiles t of V_xi[t, c] * E_xi[t, o],   V = BT D B, E' = A E A^T,
 * one sgemm per point and block of T tiles (M_xi += V_xi^T E'_xi, reduction over tiles: K = T),
 * and at the end of a unit dW = G^T M G per (c, o) into the 3x3 taps (rotated when the
 * descriptor's flip is set).
 *
 *  - F(3x3, 4x4): points 0, 1, -1, 1/2, -2, inf (36 products per 16 pixels, 4x fewer multiply-adds
 *    than direct); F(3x3, 2x2): 0, 1, -1, inf (16 per 4, 2.25x fewer). The input transform is the
 *    forward one (integer BT); dY's transform A E A^T only scales by powers of two; G holds the
 *    rest and is applied to the float sums. Accuracy, metric max |dW - ref| / (1 + sum |x*dy|),
 *    data in [-1, 1), measured by test_backward on its layer cases: F(3x3, 4x4) 1.9e-7 .. 3.9e-7,
 *    F(3x3, 2x2) 2.7e-8 .. 9.8e-8, the direct sgemm route 1.9e-8 .. 1.8e-7; golden tolerance 1e-5.
 *    Of the point sets native/tools/winograd_dw_points.py simulates, the forward F(4x4,3x3)'s is
 *    also the best here (2.6x smaller errors than {0, 1, -1, 2, -2}); F(3x3, 3x3) would sit between.
 *  - Units: groups x output-channel slices x ranges of tile rows. A slice keeps the accumulators M
 *    (alpha^2 x cin_g x slice floats) within BWW_M_BYTES; tile-row ranges give threads work when
 *    the slices are few, each summing into its own partial copy of dW (range 0 into dW itself),
 *    added afterwards by backward.c's reduction in a fixed order. Whole tile rows are whole output
 *    rows, so a range is also a contiguous range of dY pixels: its bias gradient is summed exactly
 *    as on the GEMM route (c4j_bw_bias_rows), by the units of the range.
 *  - Workspace: M, one block's V [T][npts][cin_g] and E' [T][npts][slice] (tile-major, so a tile's
 *    transform writes contiguous rows), a window copy for strided channels, zeros and ones. Bounded
 *    by BWW_WS_MAX_BYTES, independent of the batch.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* channels per call of the transform kernels: their temporaries (alpha^2 x CB floats) stay in L1 */
#define CB 64
/* OpenBLAS's small-matrix sgemm kernels take products with M*N*K <= 1e6 (see winograd.c): the
   tiles per block T keep cin_g x slice x T within that when T stays >= BWW_MIN_T */
#define BWW_SMALL_MNK 1000000
#define BWW_MIN_T 16
#define BWW_MAX_T 256
/* accumulators of one unit, and the whole workspace */
#define BWW_M_BYTES (4 << 20)
#define BWW_WS_MAX_BYTES (16 << 20)
/* fewer units than this: split the tile rows into ranges of at least BWW_MIN_RANGE_TILES tiles,
   the partial copies at most BWW_MAX_PARTIAL_FLOATS floats in all */
#define BWW_MIN_UNITS 16
#define BWW_MIN_RANGE_TILES 96
#define BWW_MAX_PARTIAL_FLOATS (16 * 1024 * 1024)
#define BWW_MIN_SLICED_UNITS 2

typedef struct {
    int m, alpha, npts;
    int64_t K, N;                    /* cin_g, cout_g */
    int64_t tiles_h, tiles_w, tile_rows, tiles;
    int64_t ns, slices;              /* output channels per slice */
    int64_t T;                       /* tiles per block */
    int64_t ranges;                  /* tile-row ranges */
    int64_t m_floats, v_floats, e_floats, ws_floats;
} bwplan;

static int64_t round_up(int64_t a, int64_t b) { return c4j_ceil_div(a, b) * b; }

static void layout(bwplan *p, int64_t T) {
    p->m_floats = round_up((int64_t)p->npts * p->K * p->ns, 16);
    p->v_floats = round_up(T * p->npts * p->K, 16);
    p->e_floats = round_up(T * p->npts * p->ns, 16);
    p->ws_floats = p->m_floats + p->v_floats + p->e_floats + (int64_t)(p->npts + 1) * CB + C4J_BIAS_ROWS;
}

static int make_plan(const c4j_conv2d_desc *d, c4j_algo algo, bwplan *p) {
    memset(p, 0, sizeof *p);
    if (algo != C4J_ALGO_WINOGRAD_4X4 && algo != C4J_ALGO_WINOGRAD_2X2) return 0;
    if (d->kernel_h != 3 || d->kernel_w != 3 || d->stride_h != 1 || d->stride_w != 1 || d->dilation_h != 1 ||
        d->dilation_w != 1)
        return 0;
    p->m = c4j_winograd_tile(algo);
    p->alpha = p->m + 2;
    p->npts = p->alpha * p->alpha;
    p->K = c4j_cin_g(d);
    p->N = c4j_cout_g(d);
    p->tiles_h = c4j_ceil_div(d->out_h, p->m);
    p->tiles_w = c4j_ceil_div(d->out_w, p->m);
    p->tile_rows = d->batch * p->tiles_h;
    p->tiles = p->tile_rows * p->tiles_w;
    /* output-channel slices: the accumulators within BWW_M_BYTES, slices of >= 16 channels */
    const int64_t per_col = (int64_t)p->npts * p->K * (int64_t)sizeof(float);
    int64_t ns = C4J_MIN(p->N, C4J_MAX(16, BWW_M_BYTES / per_col / 16 * 16));
    p->slices = c4j_ceil_div(p->N, ns);
    p->ns = C4J_MIN(p->N, round_up(c4j_ceil_div(p->N, p->slices), 16));
    p->slices = c4j_ceil_div(p->N, p->ns);
    /* tiles per block: products in the small-matrix kernel's range, V and E' within the workspace */
    int64_t T = BWW_SMALL_MNK / (p->K * p->ns);
    T = C4J_MAX(BWW_MIN_T, C4J_MIN(BWW_MAX_T, T)) / 4 * 4;
    if (p->tiles > 0) T = C4J_MIN(T, round_up(p->tiles, 4));
    layout(p, T);
    while (T > 4 && p->ws_floats * (int64_t)sizeof(float) > BWW_WS_MAX_BYTES) layout(p, T -= 4);
    if (p->ws_floats * (int64_t)sizeof(float) > BWW_WS_MAX_BYTES) return 0;
    p->T = T;
    /* the ints of sgemm: leading dimensions npts*K and npts*ns */
    if ((int64_t)p->npts * p->K > INT_MAX || (int64_t)p->npts * p->ns > INT_MAX) return 0;
    /* tile-row ranges */
    const int64_t base = d->groups * p->slices;
    int64_t r = C4J_MIN(c4j_ceil_div(BWW_MIN_UNITS, base), p->tiles / BWW_MIN_RANGE_TILES);
    r = C4J_MIN(r, p->tile_rows);
    r = C4J_MIN(r, 1 + BWW_MAX_PARTIAL_FLOATS / (c4j_filter_floats(d) + d->out_c));
    p->ranges = C4J_MAX(1, r);
    /* an odd number of units below BWW_MIN_UNITS (3 slices of a 14x14 256-channel layer) leaves
       one of two threads idle for a third of the call: one more slice evens it out */
    const int64_t units = d->groups * p->slices * p->ranges;
    if (units > 1 && units < BWW_MIN_UNITS && units % 2 == 1 && p->N >= 16 * (p->slices + 1)) {
        p->ns = round_up(c4j_ceil_div(p->N, p->slices + 1), 16);
        p->slices = c4j_ceil_div(p->N, p->ns);
        layout(p, p->T);
    }
    /* still a single unit (few tiles, one slice): two slices, so two threads share the work (the
       input transform runs twice, a few percent) */
    if (d->groups * p->slices * p->ranges < BWW_MIN_SLICED_UNITS && p->N >= 32) {
        p->ns = round_up(c4j_ceil_div(p->N, BWW_MIN_SLICED_UNITS), 16);
        p->slices = c4j_ceil_div(p->N, p->ns);
        layout(p, p->T);
    }
    return 1;
}

int c4j_bwino_applicable(const c4j_conv2d_desc *d, c4j_algo algo) {
    bwplan p;
    return make_plan(d, algo, &p);
}

int64_t c4j_bwino_units(const c4j_conv2d_desc *d, c4j_algo algo) {
    bwplan p;
    return make_plan(d, algo, &p) ? d->groups * p.slices * p.ranges : 0;
}

int64_t c4j_bwino_ranges(const c4j_conv2d_desc *d, c4j_algo algo) {
    bwplan p;
    return make_plan(d, algo, &p) ? p.ranges : 0;
}

int64_t c4j_bwino_workspace(const c4j_conv2d_desc *d, c4j_algo algo) {
    bwplan p;
    return make_plan(d, algo, &p) ? p.ws_floats * (int64_t)sizeof(float) : -1;
}

/* ------------------------------------------------------------------ transform kernels */

/* input transforms V = BT D B: the forward ones (winograd_input.h) */
#include "winograd_input.h"

#include "backward_winograd.h"

/*
 * dW taps of input channel c, output channels [0, no) of the slice, from the accumulators
 * M[xi][c][o] (row length cols): w = G^T M G per (c, o). Tap (k, l) is written to
 * dst + (tap * cin_g + c) * out_c, tap = 3k + l, rotated by 180 degrees when flip.
 */
HOT static void out_taps(int alpha, const float *restrict M, int64_t K, int64_t cols, int64_t c, int64_t no,
                         float *restrict dst, int64_t cin_g, int64_t out_c, int flip) {
    float t[6][3][CB];
    const int64_t pt = K * cols; /* floats per point */
    const float *m = M + c * cols;
    float *out[9];
    for (int k = 0; k < 9; k++) out[k] = dst + ((flip ? 8 - k : k) * cin_g + c) * out_c;
    if (alpha == 6) {
        for (int i = 0; i < 6; i++) {
            const float *restrict r0 = m + (6 * i) * pt, *restrict r1 = r0 + pt, *restrict r2 = r1 + pt,
                                  *restrict r3 = r2 + pt, *restrict r4 = r3 + pt, *restrict r5 = r4 + pt;
            C4J_IVDEP
            for (int64_t o = 0; o < no; o++) {
                float t0, t1, t2;
                GT4(r0[o], r1[o], r2[o], r3[o], r4[o], r5[o], t0, t1, t2);
                t[i][0][o] = t0;
                t[i][1][o] = t1;
                t[i][2][o] = t2;
            }
        }
        for (int l = 0; l < 3; l++) {
            float *restrict o0 = out[l], *restrict o1 = out[3 + l], *restrict o2 = out[6 + l];
            C4J_IVDEP
            for (int64_t o = 0; o < no; o++) {
                float w0, w1, w2;
                GT4(t[0][l][o], t[1][l][o], t[2][l][o], t[3][l][o], t[4][l][o], t[5][l][o], w0, w1, w2);
                o0[o] = w0;
                o1[o] = w1;
                o2[o] = w2;
            }
        }
    } else {
        for (int i = 0; i < 4; i++) {
            const float *restrict r0 = m + (4 * i) * pt, *restrict r1 = r0 + pt, *restrict r2 = r1 + pt,
                                  *restrict r3 = r2 + pt;
            C4J_IVDEP
            for (int64_t o = 0; o < no; o++) {
                float t0, t1, t2;
                GT2(r0[o], r1[o], r2[o], r3[o], t0, t1, t2);
                t[i][0][o] = t0;
                t[i][1][o] = t1;
                t[i][2][o] = t2;
            }
        }
        for (int l = 0; l < 3; l++) {
            float *restrict o0 = out[l], *restrict o1 = out[3 + l], *restrict o2 = out[6 + l];
            C4J_IVDEP
            for (int64_t o = 0; o < no; o++) {
                float w0, w1, w2;
                GT2(t[0][l][o], t[1][l][o], t[2][l][o], t[3][l][o], w0, w1, w2);
                o0[o] = w0;
                o1[o] = w1;
                o2[o] = w2;
            }
        }
    }
}

/* ------------------------------------------------------------------ stages */

typedef struct {
    const c4j_conv2d_desc *d;
    bwplan p;
    float *M, *V, *E, *buf, *zeros, *ones;
} bwrun;

/* Input transform of tiles [t0, t0 + nt) of group g into V (row of npts*K floats per tile). */
static void input_stage(const bwrun *w, const float *in, int64_t g, int64_t t0, int64_t nt) {
    const c4j_conv2d_desc *d = w->d;
    const int m = w->p.m, alpha = w->p.alpha, npts = w->p.npts;
    const int64_t K = w->p.K, vrow = npts * K, tiles_img = w->p.tiles_h * w->p.tiles_w;
    const int64_t sn = d->in_stride[0], sh = d->in_stride[1], sw = d->in_stride[2], sc = d->in_stride[3];
    const float *in_g = in + g * K * sc;
    for (int64_t t = 0; t < nt; t++) {
        const int64_t tg = t0 + t, n = tg / tiles_img, r = tg % tiles_img;
        const int64_t ih0 = (r / w->p.tiles_w) * m - d->pad_top, iw0 = (r % w->p.tiles_w) * m - d->pad_left;
        const float *img = in_g + n * sn;
        const int inside = sc == 1 && ih0 >= 0 && iw0 >= 0 && ih0 + alpha <= d->in_h && iw0 + alpha <= d->in_w;
        for (int64_t c0 = 0; c0 < K; c0 += CB) {
            const int64_t nc = C4J_MIN(CB, K - c0);
            const float *pc[36];
            for (int i = 0; i < alpha; i++) {
                const int64_t ih = ih0 + i;
                for (int j = 0; j < alpha; j++) {
                    const int64_t iw = iw0 + j;
                    const int k = i * alpha + j;
                    if (inside) {
                        pc[k] = img + ih * sh + iw * sw + c0;
                    } else if (ih < 0 || ih >= d->in_h || iw < 0 || iw >= d->in_w) {
                        pc[k] = w->zeros;
                    } else if (sc == 1) {
                        pc[k] = img + ih * sh + iw * sw + c0;
                    } else {
                        const float *src = img + ih * sh + iw * sw + c0 * sc;
                        float *dst = w->buf + k * CB;
                        for (int64_t c = 0; c < nc; c++) dst[c] = src[c * sc];
                        pc[k] = dst;
                    }
                }
            }
            if (alpha == 6) in_f4(pc, w->V + t * vrow + c0, K, nc);
            else in_f2(pc, w->V + t * vrow + c0, K, nc);
        }
    }
}

/* dY transform of tiles [t0, t0 + nt), output channels [o0, o0 + cols) (absolute), into E. */
static void dy_stage(const bwrun *w, const float *dy, int64_t o0, int64_t cols, int64_t t0, int64_t nt) {
    const c4j_conv2d_desc *d = w->d;
    const int m = w->p.m, alpha = w->p.alpha, npts = w->p.npts;
    const int64_t erow = npts * cols, tiles_img = w->p.tiles_h * w->p.tiles_w;
    const int64_t s0 = d->out_stride[0], s1 = d->out_stride[1], s2 = d->out_stride[2];
    for (int64_t t = 0; t < nt; t++) {
        const int64_t tg = t0 + t, n = tg / tiles_img, r = tg % tiles_img;
        const int64_t oh0 = (r / w->p.tiles_w) * m, ow0 = (r % w->p.tiles_w) * m;
        const float *img = dy + n * s0 + o0;
        for (int64_t c0 = 0; c0 < cols; c0 += CB) {
            const int64_t nc = C4J_MIN(CB, cols - c0);
            const float *pc[16];
            for (int i = 0; i < m; i++)
                for (int j = 0; j < m; j++) {
                    const int64_t oh = oh0 + i, ow = ow0 + j;
                    pc[i * m + j] = oh < d->out_h && ow < d->out_w ? img + oh * s1 + ow * s2 + c0 : w->zeros;
                }
            if (alpha == 6) dy_f4(pc, w->E + t * erow + c0, cols, nc);
            else dy_f2(pc, w->E + t * erow + c0, cols, nc);
        }
    }
}

/* M_xi (+)= V_xi^T E'_xi for every point: the only multiply-adds over tiles and channels. */
static void multiply_stage(const bwrun *w, const c4j_blas *blas, int64_t cols, int64_t nt, float beta) {
    const int npts = w->p.npts;
    const int64_t K = w->p.K;
    for (int xi = 0; xi < npts; xi++)
        blas->sgemm(C4J_ROW_MAJOR, C4J_TRANS, C4J_NO_TRANS, (int)K, (int)cols, (int)nt, 1.0f, w->V + xi * K,
                    (int)(npts * K), w->E + xi * cols, (int)(npts * cols), beta, w->M + xi * K * cols, (int)cols);
}

/* first pixel (n, oh, ow order) of tile row tr */
static int64_t tile_row_pixel(const c4j_conv2d_desc *d, const bwplan *p, int64_t tr) {
    const int64_t n = tr / p->tiles_h, th = tr % p->tiles_h;
    return (n * d->out_h + th * p->m) * d->out_w;
}

void c4j_bwino_run(const c4j_blas *blas, const c4j_conv2d_desc *d, c4j_algo algo, const float *in, const float *dy,
                   float *dw, float *db, float *partials, void *workspace, int64_t u0, int64_t u1) {
    bwrun w;
    w.d = d;
    if (!make_plan(d, algo, &w.p)) return; /* unreachable: the entry point checked the route */
    const bwplan *p = &w.p;
    w.M = (float *)workspace;
    w.V = w.M + p->m_floats;
    w.E = w.V + p->v_floats;
    w.buf = w.E + p->e_floats;
    w.zeros = w.buf + p->npts * CB;
    w.ones = w.zeros + CB;
    memset(w.zeros, 0, CB * sizeof(float));
    for (int i = 0; db != NULL && i < C4J_BIAS_ROWS; i++) w.ones[i] = 1.0f;
    const int64_t ff = c4j_filter_floats(d), og = p->N, cg = p->K;

    /* unit = (group, range, slice), slices fastest */
    for (int64_t u = u0; u < u1; u++) {
        const int64_t s = u % p->slices, rc = (u / p->slices) % p->ranges, g = u / (p->slices * p->ranges);
        const int64_t o0 = g * og + s * p->ns, cols = C4J_MIN(p->ns, og - s * p->ns);
        const int64_t tr0 = p->tile_rows * rc / p->ranges, tr1 = p->tile_rows * (rc + 1) / p->ranges;
        float *part = rc == 0 ? NULL : partials + (rc - 1) * (ff + d->out_c);
        float *w_out = dw == NULL ? NULL : rc == 0 ? dw : part;
        float *b_out = db == NULL ? NULL : rc == 0 ? db : part + ff;
        if (w_out != NULL) {
            const int64_t t_begin = tr0 * p->tiles_w, t_end = tr1 * p->tiles_w;
            int first = 1;
            for (int64_t t0 = t_begin; t0 < t_end; t0 += p->T) {
                const int64_t nt = C4J_MIN(p->T, t_end - t0);
                input_stage(&w, in, g, t0, nt);
                dy_stage(&w, dy, o0, cols, t0, nt);
                multiply_stage(&w, blas, cols, nt, first ? 0.0f : 1.0f);
                first = 0;
            }
            if (first) memset(w.M, 0, sizeof(float) * (size_t)(p->npts * cg * cols));
            for (int64_t c = 0; c < cg; c++)
                for (int64_t oc = 0; oc < cols; oc += CB)
                    out_taps(p->alpha, w.M + oc, cg, cols, c, C4J_MIN(CB, cols - oc), w_out + o0 + oc, cg,
                             d->out_c, (int)d->flip);
        }
        if (b_out != NULL) {
            memset(b_out + o0, 0, (size_t)cols * sizeof(float));
            c4j_bw_bias_rows(blas, d, dy, o0, cols, tile_row_pixel(d, p, tr0), tile_row_pixel(d, p, tr1), w.ones,
                             b_out + o0);
        }
    }
}

/*
 * Estimated single-thread seconds: the input transform once per slice and the dY transform once
 * (about 0.05 ns per tile, channel and point, as winograd.c's), one sgemm per point and block of
 * every slice and range (the measured table, which is for untransposed products: these run about
 * 15% slower), the accumulators written once and then read and written per further block at
 * about 60 GB/s when they do not stay in L2, about 1 us of fixed work per block, and G^T M G per
 * (c, o) pair and range (0.06 ns per accumulator). Checked against the measured times of the
 * benchmark layers (native/bench/backward_bench.c).
 */
double c4j_bwino_estimate(const c4j_conv2d_desc *d, c4j_algo algo) {
    bwplan p;
    if (!make_plan(d, algo, &p)) return -1;
    if (d->batch == 0) return 0;
    const double transforms =
        (double)p.tiles * (double)p.npts * ((double)p.K * (double)p.slices + (double)p.N) * 0.05e-9;
    const double m_bytes = 4.0 * (double)p.npts * (double)p.K * (double)p.ns;
    const double m_s_per_byte = m_bytes <= 1024.0 * 1024 ? 0.0 : 1.0 / 60e9;
    double products = 0, blocks = 0, streams = 0;
    for (int64_t rc = 0; rc < p.ranges; rc++) {
        const int64_t tiles = (p.tile_rows * (rc + 1) / p.ranges - p.tile_rows * rc / p.ranges) * p.tiles_w;
        const int64_t full = tiles / p.T, last = tiles % p.T, nb = full + (last > 0);
        blocks += (double)nb;
        for (int64_t s = 0; s < p.slices; s++) {
            const int64_t cols = C4J_MIN(p.ns, p.N - s * p.ns);
            products += (double)p.npts * ((double)full * c4j_cost_sgemm(p.K, p.T, cols) + c4j_cost_sgemm(p.K, last, cols));
            streams += (double)(2 * nb - 1) * m_bytes * m_s_per_byte;
        }
    }
    const double out = (double)p.ranges * (double)p.K * (double)p.N * (double)p.npts * 0.06e-9;
    return (double)d->groups * (transforms + 1.15 * products + streams + blocks * (double)p.slices * 1e-6 + out);
}

/* ------------------------------------------------------------------ filter-gradient table rows */

#define BWINO_ROW(M, ALGO, NAME)                                                                                      \
    static int applies_##M(const c4j_conv2d_desc *d) { return c4j_bwino_applicable(d, ALGO); }                        \
    static int64_t units_##M(const c4j_conv2d_desc *d) { return c4j_bwino_units(d, ALGO); }                           \
    static int64_t workspace_##M(const c4j_conv2d_desc *d) { return c4j_bwino_workspace(d, ALGO); }                   \
    static int64_t ranges_##M(const c4j_conv2d_desc *d) { return c4j_bwino_ranges(d, ALGO); }                         \
    static double estimate_##M(const c4j_conv2d_desc *d) {                                                            \
        const double run = c4j_bw_small_groups_factor(d, ALGO) * c4j_bwino_estimate(d, ALGO);                         \
        return run + (double)(ranges_##M(d) - 1) * (double)(c4j_filter_floats(d) + d->out_c) * C4J_BW_REDUCE_NS *     \
                         1e-9;                                                                                        \
    }                                                                                                                 \
    static void run_##M(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *dy, float *dw,  \
                        float *db, float *partials, void *workspace, int64_t u0, int64_t u1) {                        \
        c4j_bwino_run(blas, d, ALGO, in, dy, dw, db, partials, workspace, u0, u1);                                    \
    }                                                                                                                 \
    const c4j_filter_gradient_route c4j_bw_winograd_##M = {NAME,       ALGO,          0,          applies_##M,        \
                                                           units_##M,  workspace_##M, ranges_##M, estimate_##M,       \
                                                           run_##M};

BWINO_ROW(4x4, C4J_ALGO_WINOGRAD_4X4, "winograd_4x4")
BWINO_ROW(2x2, C4J_ALGO_WINOGRAD_2X2, "winograd_2x2")
