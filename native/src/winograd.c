/*
 * Winograd minimal filtering F(2x2,3x3) and F(4x4,3x3) for 3x3 kernels, and F(4x4,2x2) for 2x2
 * ones (what space to depth makes of 3x3 and 4x4 kernels at stride 2, see s2d.c), stride 1,
 * dilation 1.
 *
 * The output is cut into tiles of m x m pixels (m = 2 or 4); each reads an alpha x alpha input
 * window (alpha = m + r - 1 for r x r taps). With the transform matrices BT (alpha x alpha), G (alpha x r) and
 * AT (m x alpha), a tile is  Y = AT [ sum_c (G g_c G^T) .* (BT d_c B) ] A : per transform point
 * xi = (i, j) the sum over input channels is a matrix product, so a block of T tiles runs as one
 * sgemm per point:  M_xi[T x Cout_g] = V_xi[T x Cin_g] * U_xi[Cin_g x Cout_g].
 *
 *  - U (the prepared filter, [group][panel][xi][Cin_g][panel width], panels of 64 output channels,
 *    see c4j_winograd_panel_width) is computed once, in double, from the HWIO filter by
 *    winograd_filter.c (c4j_conv2d_prepare); it depends on the filter, groups, channels and flip only.
 *  - Per block: the input transform writes V, tile-major ([t][xi][c]: a tile's points are one
 *    contiguous run, V_xi is rows of stride alpha^2*Cin_g); interior windows are read in place,
 *    border windows through a table of pixel pointers with a zero pixel for the padding (and a
 *    copy when channels are strided). Then, per panel, the sgemm calls into M and the output
 *    transform of the panel's channels, with bias and activation fused, straight into the output
 *    view; pixels past out_h/out_w are skipped. The transforms are vector loops over channels,
 *    cloned for AVX-512 / AVX2+FMA / baseline.
 *
 * Numerics. F(2,3) uses points {0, 1, -1, inf}. F(4,3) uses {0, 1, -1, 1/2, -2, inf}: over random
 * data in float32 its error is about 2.5x smaller than with {0, 1, -1, 2, -2, inf} (Lavin's) or
 * {0, 1, -1, 1/2, -1/2, inf} (see native/tools/winograd_points.py), for a few more additions in
 * the input transform. F(4,2) (winograd_k2.h) uses {0, 1, -1, 1/2, inf}. The rows of BT are scaled to small integers and the scale moved into G,
 * which is applied in double. An output's rounding error follows the magnitude of its whole tile
 * window, not just of its own 3x3 window, so outputs whose window is padding only are written
 * exactly (the epilogue of 0). Likewise an Inf or NaN input reaches every output of its tile(s).
 *
 * Work units are (block of T tiles, group, panel), so a deep layer with few tiles still has
 * several units (7x7x512->512: 1 block, 8 units), and blocks are made smaller when there are
 * still too few and that costs little (see make_plan). T and the panels depend only on the
 * descriptor, and a unit's sgemm calls only on the unit, so any split of units over threads gives
 * bit-identical results. The workspace holds V for one block and M for one panel of it.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* Channels per call of the transform kernels: their temporaries (alpha^2 x CB floats) stay in L1. */
#define CB 64

/*
 * Block size. OpenBLAS's SkylakeX sgemm (the one conv4j binds on AVX-512 CPUs) runs products with
 * M*N*K <= 1e6 through an unpacked "small matrix" kernel that reaches ~190-220 GFLOP/s on these
 * shapes even for M of 8..64, while its packed path needs M in the hundreds to approach that (its
 * packing of U is paid per call). So T tiles x n_slice output channels x Cin_g stays within
 * SMALL_MNK when that leaves T >= MIN_T; otherwise the panel is sliced further so it does.
 */
#define SMALL_MNK 1000000
#define MIN_T 8
#define MAX_T 1024
/* V + M of one block kept around this (L2) when U is small enough to stay in cache between blocks */
#define WS_SOFT_BYTES (1 << 20)
#define U_CACHED_BYTES (8 << 20)
#define WS_MAX_BYTES (16 << 20)
/*
 * Units: (block, group, panel of output channels). When that still leaves fewer than
 * UNITS_TARGET units, blocks are made smaller while the estimated single-thread time grows by at
 * most SPLIT_BUDGET (each block streams all of U and pays its fixed work again). The target is
 * lowered to one unit per UNIT_MIN_FLOPS of the direct convolution's work, what io.conv4j's
 * executor wakes a thread for.
 */
#define UNITS_TARGET 16
#define UNIT_MIN_FLOPS 4e6
#define SPLIT_BUDGET 1.05
/* cost model (see plan_seconds): transforms per tile, channel and point; fixed work per block */
#define TRANSFORM_NS 0.05
#define BLOCK_SECONDS 1e-6

typedef struct {
    int m, r, alpha, npts;         /* outputs per tile side, taps per kernel side, input window side, alpha^2 */
    int64_t cin_g, cout_g;
    int64_t tiles_h, tiles_w, tiles_img, tiles;
    int64_t T, blocks;             /* tiles per block, blocks */
    int64_t panel, panels;         /* output channels per panel of U (and per unit), panels per group */
    int64_t n_slice;               /* output channels per sgemm call (<= panel) */
    int64_t ws_floats;             /* V, M, gather buffer, zeros, scratch for clipped outputs */
} wplan;

static int64_t round_up(int64_t a, int64_t b) { return c4j_ceil_div(a, b) * b; }

/*
 * Output channels per panel of the prepared filter, [group][panel][xi][Cin_g][panel width]: a
 * unit's products read one contiguous panel, each sgemm's B a contiguous Cin_g x 64 matrix,
 * which OpenBLAS's small kernel streams from L3 up to 1.5x faster than 64 columns of a wider row
 * (7x7x512->512 F(4,3): 1.5 -> 1.0 ms). A function of the channel counts only, like U itself.
 * Only when Cin_g is so large that every product takes the packed path (which packs V once per
 * call) does one panel hold all output channels.
 */
int64_t c4j_winograd_panel_width(int64_t cin_g, int64_t cout_g) {
    if (SMALL_MNK / (cin_g * 16) < 4) return cout_g;
    return C4J_MIN(cout_g, 64);
}

/* V [T][npts][K] and M [T][npts][panel] (a tile's transformed points contiguous), gather buffer
   [npts][CB], a zero pixel [CB], scratch for clipped outputs [16][CB] */
static int64_t ws_floats_for(const wplan *p, int64_t T) {
    return round_up(T * p->npts * p->cin_g, 16) + round_up(T * p->npts * p->panel, 16) +
           (int64_t)(p->npts + 1 + 16) * CB;
}

/*
 * Estimated single-thread seconds of a plan: the input and output transforms (TRANSFORM_NS per
 * tile, channel and transform point each), one sgemm per point and n_slice of every panel of
 * every block (the measured sgemm table, the last block with its own tile count), U read once
 * per block from wherever it lives (the table is measured with B hot in L1; per byte ~250 GB/s
 * from L2, ~100 from L3, ~50 beyond, measured on the benchmark layers with the panel layout)
 * and BLOCK_SECONDS of fixed work per block (window tables, sgemm calls' set-up).
 */
static double u_seconds(const wplan *p) {
    const double u_bytes = 4.0 * (double)p->npts * (double)p->cin_g * (double)p->cout_g;
    const double ns_per_byte = u_bytes <= 32.0 * 1024          ? 0.0
                               : u_bytes <= 1024.0 * 1024      ? 0.004
                               : u_bytes <= 24.0 * 1024 * 1024 ? 0.01
                                                               : 0.02;
    return u_bytes * ns_per_byte * 1e-9;
}

static double transform_seconds(const wplan *p) {
    return (double)p->tiles * (double)p->npts * (double)(p->cin_g + p->cout_g) * TRANSFORM_NS * 1e-9;
}

static double block_products(const wplan *p, int64_t nt) {
    const int64_t full = p->cout_g / p->panel, last_panel = p->cout_g - full * p->panel;
    double per_point = 0;
    for (int k = 0; k < 2; k++) {
        const int64_t pw = k == 0 ? p->panel : last_panel, n = k == 0 ? full : last_panel > 0;
        if (n == 0) continue;
        const int64_t calls = pw / p->n_slice, rest = pw - calls * p->n_slice;
        per_point += (double)n * ((double)calls * c4j_cost_sgemm(nt, p->cin_g, p->n_slice) +
                                  c4j_cost_sgemm(nt, p->cin_g, rest));
    }
    return (double)p->npts * per_point;
}

static double plan_seconds(const c4j_conv2d_desc *d, const wplan *p) {
    if (p->tiles == 0) return 0;
    const int64_t last_t = p->tiles - (p->blocks - 1) * p->T;
    const double products = (double)(p->blocks - 1) * block_products(p, p->T) + block_products(p, last_t);
    return (double)d->groups *
           (transform_seconds(p) + products + (double)p->blocks * (u_seconds(p) + BLOCK_SECONDS));
}

/* plan_seconds of one group with the products at a flat 200 GFLOP/s (the table is about flat in T
   down to MIN_T): cheap enough for make_plan, which runs several times per call */
static double seconds_flat(const wplan *p) {
    return transform_seconds(p) + (double)p->tiles * (double)p->npts * 2.0 * (double)p->cin_g * (double)p->cout_g / 200e9 +
           (double)p->blocks * (u_seconds(p) + BLOCK_SECONDS);
}

/* T and the blocks for at most t tiles per block, the blocks evened out */
static void set_blocks(wplan *p, int64_t t) {
    if (p->tiles == 0) {
        p->T = t;
        p->blocks = 0;
        return;
    }
    const int64_t blocks = c4j_ceil_div(p->tiles, t);
    p->T = C4J_MIN(t, C4J_MIN(round_up(c4j_ceil_div(p->tiles, blocks), 4), p->tiles));
    p->blocks = c4j_ceil_div(p->tiles, p->T);
}

/* Kernel taps per side of each algorithm (F(2x2,3x3), F(4x4,3x3), F(4x4,2x2)). */
int c4j_winograd_taps(c4j_algo algo) { return algo == C4J_ALGO_WINOGRAD_K2 ? 2 : 3; }

int c4j_winograd_tile(c4j_algo algo) { return algo == C4J_ALGO_WINOGRAD_2X2 ? 2 : 4; }

int c4j_winograd_window(c4j_algo algo) { return c4j_winograd_tile(algo) + c4j_winograd_taps(algo) - 1; }

/* 0 when the workspace would exceed WS_MAX_BYTES even for one tile per block. */
static int make_plan(const c4j_conv2d_desc *d, c4j_algo algo, wplan *p) {
    memset(p, 0, sizeof *p);
    const int m = c4j_winograd_tile(algo);
    p->m = m;
    p->r = c4j_winograd_taps(algo);
    p->alpha = m + p->r - 1;
    p->npts = p->alpha * p->alpha;
    p->cin_g = c4j_cin_g(d);
    p->cout_g = c4j_cout_g(d);
    p->tiles_h = c4j_ceil_div(d->out_h, m);
    p->tiles_w = c4j_ceil_div(d->out_w, m);
    p->tiles_img = p->tiles_h * p->tiles_w;
    p->tiles = d->batch * p->tiles_img;

    const int64_t K = p->cin_g, N = p->cout_g, P = c4j_winograd_panel_width(K, N);
    p->panel = P;
    p->panels = c4j_ceil_div(N, P);
    if (ws_floats_for(p, 1) * (int64_t)sizeof(float) > WS_MAX_BYTES) return 0;

    int64_t T, slice = P;
    if (SMALL_MNK / (K * P) >= MIN_T) {
        T = SMALL_MNK / (K * P);
    } else {
        /* slice the panel so the products stay small with T >= MIN_T */
        slice = C4J_MIN(P, 32);
        T = SMALL_MNK / (K * slice);
        if (T < MIN_T) {
            slice = C4J_MIN(P, 16);
            T = SMALL_MNK / (K * slice);
        }
        if (T < 4) {
            /* K alone is too large for the small kernel: packed sgemm on as many tiles as fit */
            slice = P;
            T = MAX_T;
        }
    }
    p->n_slice = slice;
    const int64_t per_tile_bytes = (int64_t)p->npts * (K + P) * (int64_t)sizeof(float);
    const int64_t u_bytes = (int64_t)p->npts * K * N * (int64_t)sizeof(float);
    if (u_bytes <= U_CACHED_BYTES) T = C4J_MIN(T, WS_SOFT_BYTES / per_tile_bytes);
    T = C4J_MAX(C4J_MIN(T, MAX_T), 1);
    if (T >= 8) T = T / 4 * 4;
    while (T > 1 && ws_floats_for(p, T) * (int64_t)sizeof(float) > WS_MAX_BYTES) T = T > 8 ? T - 4 : T - 1;
    /* the workspace is sized for T_cap (constant once the batch has T tiles), blocks made even */
    const int64_t t_cap = C4J_MIN(T, round_up(C4J_MAX(p->tiles, p->tiles_img), 4));
    p->ws_floats = ws_floats_for(p, t_cap);
    set_blocks(p, t_cap);

    /* too few units for the threads the work could keep busy: smaller blocks while they cost little.
       In the model only the per-block term grows with the blocks, so the budget is a block count. */
    const double flops = 2.0 * (double)d->batch * (double)d->out_h * (double)d->out_w * (double)d->out_c * (double)(p->r * p->r) * (double)K;
    const double target = C4J_MIN((double)UNITS_TARGET, flops / UNIT_MIN_FLOPS);
    const int64_t per_block_units = p->panels * d->groups;
    if ((double)(p->blocks * per_block_units) < target && p->T > MIN_T) {
        const int64_t want = (int64_t)(target + (double)per_block_units - 1) / per_block_units;
        const int64_t most = p->blocks + (int64_t)(seconds_flat(p) * (SPLIT_BUDGET - 1.0) / (u_seconds(p) + BLOCK_SECONDS));
        const int64_t nb = C4J_MIN(want, most);
        wplan q = *p;
        set_blocks(&q, C4J_MAX(MIN_T, round_up(c4j_ceil_div(p->tiles, nb), 4)));
        if (q.blocks < nb && q.T - 4 >= MIN_T) { /* T rounded up to a multiple of 4: one step smaller */
            wplan r = q;
            set_blocks(&r, q.T - 4);
            if (r.blocks <= most) q = r;
        }
        if (q.blocks > p->blocks) *p = q;
    }
    return 1;
}

int c4j_winograd_applicable(const c4j_conv2d_desc *d, c4j_algo algo) {
    wplan p;
    return d->kernel_h == c4j_winograd_taps(algo) && d->kernel_w == c4j_winograd_taps(algo) && d->stride_h == 1 && d->stride_w == 1 &&
           d->dilation_h == 1 && d->dilation_w == 1 && make_plan(d, algo, &p);
}

int64_t c4j_winograd_units(const c4j_conv2d_desc *d, c4j_algo algo) {
    wplan p;
    if (!make_plan(d, algo, &p)) return 0;
    return p.blocks * d->groups * p.panels;
}

int64_t c4j_winograd_workspace(const c4j_conv2d_desc *d, c4j_algo algo) {
    wplan p;
    if (!make_plan(d, algo, &p)) return -1;
    return p.ws_floats * (int64_t)sizeof(float);
}

/* ------------------------------------------------------------------ transform kernels */

/* the input transforms (shared with the filter gradient); output transforms follow */
#include "winograd_input.h"

/* Epilogue modes: bit 0 bias, then activation (c4j_epilogue_rows semantics, NaN included). */
enum { EPI_BIAS = 1, EPI_RELU = 2, EPI_RELU6 = 4 };

static inline __attribute__((always_inline)) float epi(float v, const float *restrict b, int64_t c, int mode) {
    if (mode & EPI_BIAS) v += b[c];
    if (mode & EPI_RELU) v = c4j_relu(v);
    if (mode & EPI_RELU6) v = c4j_relu6(v);
    return v;
}

/* ROW(args..., mode) with the epilogue mode as a constant, so each mode compiles to its own loop */
#define EPI_DISPATCH(mode, ROW, ...)                                            \
    do {                                                                        \
        switch (mode) {                                                         \
        case 0: ROW(__VA_ARGS__, 0); break;                                     \
        case EPI_BIAS: ROW(__VA_ARGS__, EPI_BIAS); break;                       \
        case EPI_RELU: ROW(__VA_ARGS__, EPI_RELU); break;                       \
        case EPI_BIAS | EPI_RELU: ROW(__VA_ARGS__, EPI_BIAS | EPI_RELU); break; \
        case EPI_RELU6: ROW(__VA_ARGS__, EPI_RELU6); break;                     \
        default: ROW(__VA_ARGS__, EPI_BIAS | EPI_RELU6); break;                 \
        }                                                                       \
    } while (0)

/* AT for F(2,3): y0 = m0 + m1 + m2, y1 = m1 - m2 - m3 */
static inline __attribute__((always_inline)) void out_f2_row(const float (*restrict t)[CB], float *restrict o0,
                                                             float *restrict o1, const float *restrict b,
                                                             int64_t nc, int mode) {
    C4J_IVDEP
    for (int64_t c = 0; c < nc; c++) {
        const float x0 = t[0][c], x1 = t[1][c], x2 = t[2][c], x3 = t[3][c];
        o0[c] = epi(x0 + x1 + x2, b, c, mode);
        o1[c] = epi(x1 - x2 - x3, b, c, mode);
    }
}

/* src point (i, j) at src[(4i+j)*ss + c]; output (i, j) to out[2i+j][c] */
HOT static void out_f2(const float *restrict src, int64_t ss, float *const *out, const float *restrict b,
                       int mode, int64_t nc) {
    float t[2][4][CB];
    for (int j = 0; j < 4; j++) {
        const float *restrict m0 = src + j * ss, *restrict m1 = m0 + 4 * ss, *restrict m2 = m1 + 4 * ss,
                              *restrict m3 = m2 + 4 * ss;
        C4J_IVDEP
        for (int64_t c = 0; c < nc; c++) {
            t[0][j][c] = m0[c] + m1[c] + m2[c];
            t[1][j][c] = m1[c] - m2[c] - m3[c];
        }
    }
    for (int i = 0; i < 2; i++) {
        float *o0 = out[2 * i], *o1 = out[2 * i + 1];
        EPI_DISPATCH(mode, out_f2_row, t[i], o0, o1, b, nc);
    }
}

/*
 * AT for points 0, 1, -1, 1/2, -2, inf, with s = m1 + m2 and d = m1 - m2:
 *   y0 = m0 + s + m3 + m4,  y1 = d + m3/2 - 2 m4,  y2 = s + m3/4 + 4 m4,  y3 = d + m3/8 - 8 m4 + m5
 */
#define AT4(x0, x1, x2, x3, x4, x5, y0, y1, y2, y3)   \
    do {                                              \
        const float s_ = (x1) + (x2), d_ = (x1) - (x2); \
        y0 = (x0) + s_ + ((x3) + (x4));               \
        y1 = d_ + 0.5f * (x3) - 2.0f * (x4);          \
        y2 = s_ + 0.25f * (x3) + 4.0f * (x4);         \
        y3 = d_ + 0.125f * (x3) - 8.0f * (x4) + (x5); \
    } while (0)

static inline __attribute__((always_inline)) void out_f4_row(const float (*restrict t)[CB], float *restrict o0,
                                                             float *restrict o1, float *restrict o2,
                                                             float *restrict o3, const float *restrict b,
                                                             int64_t nc, int mode) {
    C4J_IVDEP
    for (int64_t c = 0; c < nc; c++) {
        float y0, y1, y2, y3;
        AT4(t[0][c], t[1][c], t[2][c], t[3][c], t[4][c], t[5][c], y0, y1, y2, y3);
        o0[c] = epi(y0, b, c, mode);
        o1[c] = epi(y1, b, c, mode);
        o2[c] = epi(y2, b, c, mode);
        o3[c] = epi(y3, b, c, mode);
    }
}

/* src point (i, j) at src[(6i+j)*ss + c]; output (i, j) to out[4i+j][c] */
HOT static void out_f4(const float *restrict src, int64_t ss, float *const *out, const float *restrict b,
                       int mode, int64_t nc) {
    float t[4][6][CB];
    for (int j = 0; j < 6; j++) {
        const float *restrict m0 = src + j * ss, *restrict m1 = m0 + 6 * ss, *restrict m2 = m1 + 6 * ss,
                              *restrict m3 = m2 + 6 * ss, *restrict m4 = m3 + 6 * ss, *restrict m5 = m4 + 6 * ss;
        C4J_IVDEP
        for (int64_t c = 0; c < nc; c++) {
            float y0, y1, y2, y3;
            AT4(m0[c], m1[c], m2[c], m3[c], m4[c], m5[c], y0, y1, y2, y3);
            t[0][j][c] = y0;
            t[1][j][c] = y1;
            t[2][j][c] = y2;
            t[3][j][c] = y3;
        }
    }
    for (int i = 0; i < 4; i++) {
        float *o0 = out[4 * i], *o1 = out[4 * i + 1], *o2 = out[4 * i + 2], *o3 = out[4 * i + 3];
        EPI_DISPATCH(mode, out_f4_row, t[i], o0, o1, o2, o3, b, nc);
    }
}

/* F(4x4,2x2): its input and output transforms */
#include "winograd_k2.h"

/* ------------------------------------------------------------------ forward */

/* an output whose window lies in the padding: the epilogue applied to 0 */
static void padding_only(float *restrict o, const float *restrict b, int mode, int64_t nc) {
    for (int64_t c = 0; c < nc; c++) o[c] = epi(0.0f, b, c, mode);
}

/*
 * Pixel table of the alpha x alpha window at (ih0, iw0) for channels [c0, c0 + nc): px[r*alpha+s]
 * points at the pixel's channel c0 in `img` (image n, group applied) when channels are contiguous,
 * else at a copy in buf; pixels outside the image point at `zeros`.
 */
static void window_table(const c4j_conv2d_desc *d, const float *img, int64_t ih0, int64_t iw0, int alpha,
                         int64_t c0, int64_t nc, float *restrict buf, const float *zeros, const float **px) {
    const int64_t sh = d->in_stride[1], sw = d->in_stride[2], sc = d->in_stride[3];
    for (int r = 0; r < alpha; r++) {
        const int64_t ih = ih0 + r;
        for (int s = 0; s < alpha; s++) {
            const int64_t iw = iw0 + s;
            const int k = r * alpha + s;
            if (ih < 0 || ih >= d->in_h || iw < 0 || iw >= d->in_w) {
                px[k] = zeros;
            } else if (sc == 1) {
                px[k] = img + ih * sh + iw * sw + c0;
            } else {
                const float *src = img + ih * sh + iw * sw + c0 * sc;
                float *dst = buf + k * CB;
                for (int64_t c = 0; c < nc; c++) dst[c] = src[c * sc];
                px[k] = dst;
            }
        }
    }
}

/* Per-call state shared by the three stages of a block. */
typedef struct {
    const c4j_conv2d_desc *d;
    wplan p;
    float *V, *M;            /* V[t][xi][c] (row of npts*K per tile), M[t][xi][o] (npts*N per tile) */
    float *buf;              /* window copy when channels are strided: [npts][CB] */
    const float *zeros;      /* CB zeros: pixels outside the image */
    float *scratch;          /* [16][CB]: outputs past the border */
    int mode;                /* epilogue */
} wrun;

/* Input transform of tiles [t0, t0 + nt) of group g into V (all Cin_g channels). */
static void input_stage(const wrun *w, const float *in, int64_t g, int64_t t0, int64_t nt) {
    const c4j_conv2d_desc *d = w->d;
    const int m = w->p.m, alpha = w->p.alpha, npts = w->p.npts;
    const int64_t K = w->p.cin_g, vrow = npts * K;
    const int64_t sn = d->in_stride[0], sh = d->in_stride[1], sw = d->in_stride[2], sc = d->in_stride[3];
    const float *in_g = in + g * K * sc;
    for (int64_t t = 0; t < nt; t++) {
        const int64_t tg = t0 + t, n = tg / w->p.tiles_img, r = tg % w->p.tiles_img;
        const int64_t ih0 = (r / w->p.tiles_w) * m - d->pad_top, iw0 = (r % w->p.tiles_w) * m - d->pad_left;
        const float *img = in_g + n * sn;
        /* contiguous channels and the whole window inside the image: read in place */
        const int inside = sc == 1 && ih0 >= 0 && iw0 >= 0 && ih0 + alpha <= d->in_h && iw0 + alpha <= d->in_w;
        const float *px[36];
        if (inside)
            for (int i = 0; i < alpha; i++)
                for (int j = 0; j < alpha; j++) px[i * alpha + j] = img + (ih0 + i) * sh + (iw0 + j) * sw;
        for (int64_t c0 = 0; c0 < K; c0 += CB) {
            const int64_t nc = C4J_MIN(CB, K - c0);
            const float *pc[36];
            if (inside)
                for (int k = 0; k < npts; k++) pc[k] = px[k] + c0;
            else
                window_table(d, img, ih0, iw0, alpha, c0, nc, w->buf, w->zeros, pc);
            if (alpha == 6) in_f4(pc, w->V + t * vrow + c0, K, nc);
            else if (alpha == 5) in_k2(pc, w->V + t * vrow + c0, K, nc);
            else in_f2(pc, w->V + t * vrow + c0, K, nc);
        }
    }
}

/* M_xi = V_xi U_xi for every transform point, output channels [o0, o0 + nw) (panel o0 / panel) of
   group g: the only multiply-adds over channels. M holds the panel: [t][xi][nw]. */
static void multiply_stage(const wrun *w, const c4j_blas *blas, const float *prepared, int64_t g, int64_t nt,
                           int64_t o0, int64_t nw) {
    const int npts = w->p.npts;
    const int64_t K = w->p.cin_g, N = w->p.cout_g, slice = w->p.n_slice;
    const float *U = prepared + g * npts * K * N + o0 * npts * K; /* the panel: [xi][K][nw] */
    for (int xi = 0; xi < npts; xi++)
        for (int64_t n0 = 0; n0 < nw; n0 += slice)
            blas->sgemm(C4J_ROW_MAJOR, C4J_NO_TRANS, C4J_NO_TRANS, (int)nt, (int)C4J_MIN(slice, nw - n0), (int)K,
                        1.0f, w->V + xi * K, (int)(npts * K), U + xi * K * nw + n0, (int)nw, 0.0f,
                        w->M + xi * nw + n0, (int)(npts * nw));
}

/* Output transform of tiles [t0, t0 + nt) of group g, channels [o0, o0 + nw) (M holds just these), with
   the epilogue, clipped at the border. */
static void output_stage(const wrun *w, const float *bias, float *out, int64_t g, int64_t t0, int64_t nt,
                         int64_t o0, int64_t nw) {
    const c4j_conv2d_desc *d = w->d;
    const int m = w->p.m, alpha = w->p.alpha, reach = w->p.r - 1;
    const int64_t N = w->p.cout_g, mrow = w->p.npts * nw;
    const int64_t on = d->out_stride[0], oh_s = d->out_stride[1], ow_s = d->out_stride[2];
    for (int64_t t = 0; t < nt; t++) {
        const int64_t tg = t0 + t, n = tg / w->p.tiles_img, r = tg % w->p.tiles_img;
        const int64_t oh0 = (r / w->p.tiles_w) * m, ow0 = (r % w->p.tiles_w) * m;
        /* per row/column of the tile: 0 outside the output, 1 written from the transform, 2 an
           output whose r x r window holds padding only: set to exactly the epilogue of 0 (the
           transform would leave rounding noise from the tile's other inputs there) */
        int live_r[4], live_c[4], dead = 0;
        for (int i = 0; i < m; i++) {
            const int64_t oh = oh0 + i, ow = ow0 + i;
            live_r[i] = oh >= d->out_h ? 0 : (oh + reach < d->pad_top || oh - d->pad_top >= d->in_h) ? 2 : 1;
            live_c[i] = ow >= d->out_w ? 0 : (ow + reach < d->pad_left || ow - d->pad_left >= d->in_w) ? 2 : 1;
            dead |= live_r[i] == 2 || live_c[i] == 2;
        }
        float *o = out + n * on + oh0 * oh_s + ow0 * ow_s + g * N + o0;
        for (int64_t c0 = 0; c0 < nw; c0 += CB) {
            const int64_t nc = C4J_MIN(CB, nw - c0);
            float *dst[16];
            for (int i = 0; i < m; i++)
                for (int j = 0; j < m; j++)
                    dst[i * m + j] = live_r[i] == 1 && live_c[j] == 1 ? o + i * oh_s + j * ow_s + c0
                                                                      : w->scratch + (i * m + j) * CB;
            const float *bb = d->has_bias ? bias + g * N + o0 + c0 : NULL;
            if (alpha == 6) out_f4(w->M + t * mrow + c0, nw, dst, bb, w->mode, nc);
            else if (alpha == 5) out_k2(w->M + t * mrow + c0, nw, dst, bb, w->mode, nc);
            else out_f2(w->M + t * mrow + c0, nw, dst, bb, w->mode, nc);
            if (dead)
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < m; j++)
                        if (live_r[i] && live_c[j] && (live_r[i] == 2 || live_c[j] == 2))
                            padding_only(o + i * oh_s + j * ow_s + c0, bb, w->mode, nc);
        }
    }
}

void c4j_winograd_run(const c4j_blas *blas, const c4j_conv2d_desc *d, c4j_algo algo, const float *in,
                      const float *prepared, const float *bias, float *out, float *ws, int64_t u0, int64_t u1) {
    wrun w;
    w.d = d;
    if (!make_plan(d, algo, &w.p)) return; /* unreachable: supports() checked it */
    w.V = ws;
    w.M = w.V + round_up(w.p.T * w.p.npts * w.p.cin_g, 16);
    w.buf = w.M + round_up(w.p.T * w.p.npts * w.p.panel, 16);
    float *zeros = w.buf + w.p.npts * CB;
    memset(zeros, 0, CB * sizeof(float));
    w.zeros = zeros;
    w.scratch = zeros + CB;
    w.mode = (d->has_bias ? EPI_BIAS : 0) | (d->activation == C4J_ACT_RELU ? EPI_RELU : 0) |
             (d->activation == C4J_ACT_RELU6 ? EPI_RELU6 : 0);
    /* unit = (block, group, panel), panels innermost; blocks of T tiles in (n, tile row, tile
       column) order. Consecutive units of one block and group share its input transform: a range
       of units redoes it only where it starts inside a block (the values are the same either way) */
    int64_t have = -1; /* the (block, group) whose transformed input V holds */
    for (int64_t u = u0; u < u1; u++) {
        const int64_t s = u % w.p.panels, bg = u / w.p.panels, b = bg / d->groups, g = bg % d->groups;
        const int64_t t0 = b * w.p.T, nt = C4J_MIN(w.p.T, w.p.tiles - t0);
        const int64_t o0 = s * w.p.panel, nw = C4J_MIN(w.p.panel, w.p.cout_g - o0);
        if (bg != have) input_stage(&w, in, g, t0, nt);
        have = bg;
        multiply_stage(&w, blas, prepared, g, nt, o0, nw);
        output_stage(&w, bias, out, g, t0, nt, o0, nw);
    }
}

double c4j_winograd_estimate(const c4j_conv2d_desc *d, c4j_algo algo) {
    wplan p;
    if (!make_plan(d, algo, &p)) return -1;
    return plan_seconds(d, &p);
}

/* ------------------------------------------------------------------ forward table rows */

/* Strided layers whose kernel becomes 3x3 (2x2 for winograd_k2) run through s2d.c (space to depth) as stride-1 ones. */
#define WINOGRAD_ROW(M, ALGO, NAME)                                                                                   \
    static int applies_##M(const c4j_conv2d_desc *d) {                                                                \
        return c4j_winograd_applicable(d, ALGO) || c4j_s2d_applicable(d, ALGO);                                       \
    }                                                                                                                 \
    static int64_t units_##M(const c4j_conv2d_desc *d) {                                                              \
        return c4j_via_s2d(d, ALGO) ? c4j_s2d_units(d, ALGO) : c4j_winograd_units(d, ALGO);                           \
    }                                                                                                                 \
    static int64_t workspace_##M(const c4j_conv2d_desc *d) {                                                          \
        return c4j_via_s2d(d, ALGO) ? c4j_s2d_workspace(d, ALGO) : c4j_winograd_workspace(d, ALGO);                   \
    }                                                                                                                 \
    /* U = G g G^T per transform point: depends on the filter, groups, channels and flip only */                     \
    static int64_t prepared_##M(const c4j_conv2d_desc *d) {                                                           \
        return c4j_via_s2d(d, ALGO) ? c4j_s2d_prepared_floats(d, ALGO) : c4j_winograd_prepared_floats(d, ALGO);       \
    }                                                                                                                 \
    static void prepare_##M(const c4j_conv2d_desc *d, const float *filter, float *prepared) {                         \
        if (c4j_via_s2d(d, ALGO)) c4j_s2d_prepare(d, ALGO, filter, prepared);                                         \
        else c4j_winograd_prepare(d, ALGO, filter, prepared);                                                         \
    }                                                                                                                 \
    static double estimate_##M(const c4j_conv2d_desc *d, int include_prepare) {                                       \
        const double s = c4j_via_s2d(d, ALGO) ? c4j_s2d_estimate(d, ALGO, include_prepare)                            \
                                              : c4j_winograd_estimate(d, ALGO) +                                      \
                                                    (include_prepare ? c4j_winograd_prepare_estimate(d, ALGO) : 0);   \
        return c4j_small_groups_adjusted(d, s);                                                                       \
    }                                                                                                                 \
    static void run_##M(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *filter,         \
                        const float *prepared, const float *bias, float *out, void *workspace, int64_t u0,            \
                        int64_t u1) {                                                                                 \
        (void)filter;                                                                                                 \
        if (c4j_via_s2d(d, ALGO)) c4j_s2d_run(blas, d, ALGO, in, prepared, bias, out, (float *)workspace, u0, u1);    \
        else c4j_winograd_run(blas, d, ALGO, in, prepared, bias, out, (float *)workspace, u0, u1);                    \
    }                                                                                                                 \
    const c4j_conv2d_algorithm c4j_conv2d_winograd_##M = {NAME,          ALGO,         0,         applies_##M,        \
                                                          units_##M,     workspace_##M, prepared_##M, prepare_##M,    \
                                                          estimate_##M, run_##M};

WINOGRAD_ROW(2x2, C4J_ALGO_WINOGRAD_2X2, "winograd_2x2")
WINOGRAD_ROW(4x4, C4J_ALGO_WINOGRAD_4X4, "winograd_4x4")
WINOGRAD_ROW(k2, C4J_ALGO_WINOGRAD_K2, "winograd_k2")
