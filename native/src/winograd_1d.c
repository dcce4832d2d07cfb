/*
 * One-dimensional Winograd (Toom-Cook) F(m, r) along one axis of the kernel (C4J_ALGO_WINOGRAD_1D):
 * first of all for the asymmetric kernels 1xK and Kx1 (Inception's 1x7/7x1 and 1x3/3x1), which
 * the 2-D Winograd rows cannot run and which GEMM runs with all K taps of multiplies.
 *
 * The transform runs along the "b" axis: W when the kernel is wider than 1 there at stride 1 and
 * dilation 1 (and at least as wide as it is tall, or H does not qualify), else H; a Kx1 kernel is
 * the same code with the axes swapped (strides, padding, sizes and filter taps read crosswise).
 * The other axis ("a") keeps any kernel size, stride and dilation: its kb taps join the channels
 * in the contraction. A stride s along b is taken apart into its s phases (polyphase): output ob
 * reads x[(ob + k) s + ph] with tap k s + ph, so each phase is a stride-1 correlation of
 * ceil(r / s) taps over every s-th pixel, and the phases join the contraction too (a 3x3 stride-2
 * kernel along W: taps {0, 2} on even pixels, {1, 0} on odd ones, F(m, 2) on each). A tile is m output pixels along b at one output position along a and reads
 * kb windows of alpha = m + r - 1 input pixels. With AT (m x alpha), G (alpha x r), BT (alpha x alpha)
 *     y = AT [ sum over (ka, c) of (G g_(ka, c)) .* (BT d_(ka, c)) ],
 * so per transform point xi a block of T tiles is one sgemm
 *     M_xi [T x Cout_g] = V_xi [T x kb*Cin_g] * U_xi [kb*Cin_g x Cout_g]
 * and a tile costs alpha products per channel pair instead of m * r: 7 taps over 4 outputs with
 * alpha 10 is 2.8x fewer, 3 taps over 6 outputs with alpha 8 is 2.25x fewer.
 *
 * The matrices are the textbook construction for the points p_0..p_(alpha-2) and infinity
 * (Lavin and Gray; Barabasz et al. on the choice of points): AT[i][j] = p_j^i,
 * G[j][k] = p_j^k / prod_(l != j)(p_j - p_l), row j of BT the coefficients of
 * prod_(l != j)(x - p_l), and the infinity point's row/column picks the last term. The points
 * are 0, +-1, 1/2, -2 (alpha 6, those of winograd.c's F(4x4)), then +-2, +-1/2 (alpha 8), then
 * 4, -1/4 (alpha 10): every entry of AT and BT is then a binary fraction, exact in float32, and G
 * is applied to the filter in double and rounded once. Which alpha a layer gets is decided by a
 * flat model (tiles x points: the padding a tile size wastes at the end of a short row counts) of
 * the descriptor alone, never by a timing, so every process runs the same tiles.
 *
 * Units are (block of T tiles, group, panel of output channels), fixed by the descriptor, so
 * every split over threads gives the same bits. Outputs whose window along b is padding only are
 * written as exactly the epilogue of 0 (the transform would leave other inputs' rounding there).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* channels per transform call (temporaries in L1) */
#define CB 64
#define MAX_ALPHA 10
/* see winograd.c: OpenBLAS's small-matrix kernel takes products with M*N*K <= 1e6 unpacked */
#define SMALL_MNK 1000000
#define MIN_T 8
#define MAX_T 512
#define PANEL 64
#define WS_MAX_BYTES (16 << 20)
/* units wanted, lowered to one per UNIT_MIN_FLOPS of direct work (as winograd.c) */
#define UNITS_TARGET 16
#define UNIT_MIN_FLOPS 4e6
/* cost model: fixed work per block (window pointers, sgemm calls' set-up) */
#define BLOCK_SECONDS 1e-6

static const double POINTS[MAX_ALPHA - 1] = {0, 1, -1, 0.5, -2, 2, -0.5, 4, -0.25};
static const int ALPHAS[] = {6, 8, 10};

typedef struct {
    int along_w;                    /* 1: transform along W, 0: along H */
    int r, sb, rp, m, alpha;        /* taps and stride along b, taps per stride phase, outputs per tile, window */
    int64_t kb;                     /* taps along a */
    int64_t in_a, in_b, out_a, out_b, stride_a, dil_a, pad_a, pad_b;
    int64_t is_a, is_b, os_a, os_b; /* element strides of input and output along a and b */
    int64_t cin_g, cout_g, kt;      /* kt = kb * sb * cin_g, the contraction */
    int64_t tiles_b, tiles_img, tiles;
    int64_t T, blocks, panel, panels;
    int64_t ws_floats;
} w1plan;

/* An axis that can carry the transform: dilation 1 and 2 to 9 taps per stride phase. */
static int axis_ok(int64_t k, int64_t s, int64_t dil) {
    return dil == 1 && s >= 1 && s <= 4 && c4j_ceil_div(k, s) >= 2 && c4j_ceil_div(k, s) <= MAX_ALPHA - 1;
}

static int64_t round_up(int64_t a, int64_t b) { return c4j_ceil_div(a, b) * b; }

/*
 * Seconds of the transforms of one tile: per matrix row a fixed cost, per nonzero coefficient a
 * vector multiply-add per 16 channels and a scalar one per channel left over (measured on the
 * benchmark layers: about 2 ns, 0.25 ns and 1.2 ns; with 1 to 7 input channels the transforms
 * dominate and the route loses to GEMM, 5-10x). nnz_in, nnz_out: nonzeros of BT and AT.
 */
#define ROW_NS 2.0
#define VEC_NS 0.25
#define SCALAR_NS 1.2
static double rows_seconds(double rows, double nnz_per_row, int64_t channels) {
    const double per = ROW_NS + nnz_per_row * ((double)(channels / 16) * VEC_NS + (double)(channels % 16) * SCALAR_NS);
    return rows * per * 1e-9;
}

static void toom_cook(int m, int r, double AT[][MAX_ALPHA], double G[][MAX_ALPHA], double BT[][MAX_ALPHA]);

/*
 * Nonzeros of BT (in) and AT (out) of F(m, r), packed as in * 1024 + out + 1 (0: not yet counted).
 * make_plan runs on every native call (the entry point's checks and the run each make one), and
 * building the three matrices for each candidate window there cost several microseconds a call,
 * paid again by every chunk a thread split runs. The counts are a function of (m, r) alone, so each
 * is counted once per process; threads that race count the same value.
 */
static _Atomic int transform_nonzeros[MAX_ALPHA + 1][MAX_ALPHA + 1];

static void count_nonzeros(int m, int r, int *nnz_in, int *nnz_out) {
    int packed = atomic_load_explicit(&transform_nonzeros[m][r], memory_order_relaxed);
    if (packed == 0) {
        const int alpha = m + r - 1;
        double AT[MAX_ALPHA][MAX_ALPHA], G[MAX_ALPHA][MAX_ALPHA], BT[MAX_ALPHA][MAX_ALPHA];
        toom_cook(m, r, AT, G, BT);
        int in = 0, out = 0;
        for (int i = 0; i < alpha; i++)
            for (int j = 0; j < alpha; j++) in += BT[i][j] != 0, out += i < m && AT[i][j] != 0;
        packed = in * 1024 + out + 1;
        atomic_store_explicit(&transform_nonzeros[m][r], packed, memory_order_relaxed);
    }
    *nnz_in = (packed - 1) / 1024;
    *nnz_out = (packed - 1) % 1024;
}

static double tile_transform_seconds(int m, int r, int64_t kb, int64_t cin_g, int64_t panel, int64_t cout_g) {
    const int alpha = m + r - 1;
    int nnz_in, nnz_out;
    count_nonzeros(m, r, &nnz_in, &nnz_out);
    /* the kernels run at most CB channels per call: chunks of the input, of each panel of the output */
    double s = 0;
    for (int64_t c0 = 0; c0 < cin_g; c0 += CB)
        s += rows_seconds((double)kb * alpha, (double)nnz_in / alpha, C4J_MIN(CB, cin_g - c0));
    for (int64_t p0 = 0; p0 < cout_g; p0 += panel)
        for (int64_t o0 = p0; o0 < C4J_MIN(cout_g, p0 + panel); o0 += CB)
            s += rows_seconds(m, (double)nnz_out / m, C4J_MIN(CB, C4J_MIN(cout_g, p0 + panel) - o0));
    return s;
}

static int64_t ws_floats_for(const w1plan *p, int64_t T) {
    return round_up(T * p->alpha * p->kt, 16) + round_up(T * p->alpha * p->panel, 16) + (int64_t)(p->alpha + 1 + p->m) * CB;
}

static void set_blocks(w1plan *p, int64_t t) {
    if (p->tiles == 0) {
        p->T = t, p->blocks = 0;
        return;
    }
    const int64_t blocks = c4j_ceil_div(p->tiles, t);
    p->T = C4J_MIN(t, C4J_MIN(round_up(c4j_ceil_div(p->tiles, blocks), 4), p->tiles));
    p->blocks = c4j_ceil_div(p->tiles, p->T);
}

/* 0 when the layer does not qualify or the workspace would exceed WS_MAX_BYTES. */
static int make_plan(const c4j_conv2d_desc *d, w1plan *p) {
    memset(p, 0, sizeof *p);
    const int w_ok = axis_ok(d->kernel_w, d->stride_w, d->dilation_w), h_ok = axis_ok(d->kernel_h, d->stride_h, d->dilation_h);
    if (!w_ok && !h_ok) return 0;
    p->along_w = w_ok && (!h_ok || d->kernel_w >= d->kernel_h);
    if (p->along_w) {
        p->r = (int)d->kernel_w, p->sb = (int)d->stride_w, p->kb = d->kernel_h;
        p->in_a = d->in_h, p->in_b = d->in_w, p->out_a = d->out_h, p->out_b = d->out_w;
        p->stride_a = d->stride_h, p->dil_a = d->dilation_h, p->pad_a = d->pad_top, p->pad_b = d->pad_left;
        p->is_a = d->in_stride[1], p->is_b = d->in_stride[2], p->os_a = d->out_stride[1], p->os_b = d->out_stride[2];
    } else {
        p->r = (int)d->kernel_h, p->sb = (int)d->stride_h, p->kb = d->kernel_w;
        p->in_a = d->in_w, p->in_b = d->in_h, p->out_a = d->out_w, p->out_b = d->out_h;
        p->stride_a = d->stride_w, p->dil_a = d->dilation_w, p->pad_a = d->pad_left, p->pad_b = d->pad_top;
        p->is_a = d->in_stride[2], p->is_b = d->in_stride[1], p->os_a = d->out_stride[2], p->os_b = d->out_stride[1];
    }
    p->rp = (int)c4j_ceil_div(p->r, p->sb);
    p->cin_g = c4j_cin_g(d), p->cout_g = c4j_cout_g(d), p->kt = p->kb * p->sb * p->cin_g;
    p->panel = C4J_MIN(p->cout_g, PANEL), p->panels = c4j_ceil_div(p->cout_g, p->panel);

    /* the window: fewest products plus transforms per output row, by the flat model */
    double best = -1;
    for (size_t i = 0; i < sizeof ALPHAS / sizeof *ALPHAS; i++) {
        const int alpha = ALPHAS[i], m = alpha - p->rp + 1;
        /* 10 points round worst where few terms are summed (1 input channel: 5.6e-6 of the error
           metric over 3000 random cases, twice alpha 8's); such layers hardly gain from it anyway */
        if (m < 2 || (alpha == 10 && p->kt < 16)) continue;
        const double tiles = (double)c4j_ceil_div(p->out_b, m);
        const double cost = tiles * (alpha * 2.0 * (double)p->kt * (double)p->cout_g / 200e9 +
                                     tile_transform_seconds(m, p->rp, p->kb * p->sb, p->cin_g, p->panel, p->cout_g));
        if (best < 0 || cost < best) best = cost, p->alpha = alpha, p->m = m;
    }
    if (best < 0) return 0;
    p->tiles_b = c4j_ceil_div(p->out_b, p->m);
    p->tiles_img = p->out_a * p->tiles_b;
    p->tiles = d->batch * p->tiles_img;
    if (ws_floats_for(p, 1) * (int64_t)sizeof(float) > WS_MAX_BYTES) return 0;

    /* small-kernel products, then enough units for the threads the work could keep busy */
    int64_t T = C4J_MAX(MIN_T, C4J_MIN(MAX_T, SMALL_MNK / (p->kt * p->panel)));
    const double flops = 2.0 * (double)d->batch * (double)d->out_h * (double)d->out_w * (double)d->out_c *
                         (double)(d->kernel_h * d->kernel_w) * (double)p->cin_g;
    const double target = C4J_MIN((double)UNITS_TARGET, flops / UNIT_MIN_FLOPS);
    const int64_t per_block = p->panels * d->groups;
    if ((double)(c4j_ceil_div(p->tiles, T) * per_block) < target) {
        const int64_t want = (int64_t)((target + (double)per_block - 1) / (double)per_block);
        T = C4J_MIN(T, C4J_MAX(MIN_T, round_up(c4j_ceil_div(p->tiles, want), 4)));
    }
    while (T > 1 && ws_floats_for(p, T) * (int64_t)sizeof(float) > WS_MAX_BYTES) T = T > 8 ? T - 4 : T - 1;
    set_blocks(p, C4J_MIN(T, C4J_MAX(p->tiles, 1)));
    p->ws_floats = ws_floats_for(p, p->T);
    return 1;
}

/* The three matrices of F(m, r) for POINTS[0..alpha-2] and infinity, in double (see the top). */
static void toom_cook(int m, int r, double AT[][MAX_ALPHA], double G[][MAX_ALPHA], double BT[][MAX_ALPHA]) {
    const int alpha = m + r - 1, n = alpha - 1;
    memset(AT, 0, sizeof(double) * MAX_ALPHA * (size_t)m);
    memset(G, 0, sizeof(double) * MAX_ALPHA * (size_t)alpha);
    memset(BT, 0, sizeof(double) * MAX_ALPHA * (size_t)alpha);
    for (int j = 0; j < n; j++) {
        const double pj = POINTS[j];
        double pw = 1, f = 1, c[MAX_ALPHA] = {1}; /* c: coefficients of prod_(l != j)(x - p_l), low first */
        for (int i = 0; i < m; i++, pw *= pj) AT[i][j] = pw;
        int deg = 0;
        for (int l = 0; l < n; l++) {
            if (l == j) continue;
            f *= pj - POINTS[l];
            for (int e = ++deg; e >= 0; e--) c[e] = (e > 0 ? c[e - 1] : 0) - POINTS[l] * c[e];
        }
        pw = 1;
        for (int k = 0; k < r; k++, pw *= pj) G[j][k] = pw / f;
        for (int e = 0; e < n; e++) BT[j][e] = c[e];
    }
    double c[MAX_ALPHA + 1] = {1};
    for (int l = 0; l < n; l++)
        for (int e = l + 1; e >= 0; e--) c[e] = (e > 0 ? c[e - 1] : 0) - POINTS[l] * c[e];
    for (int e = 0; e < alpha; e++) BT[n][e] = c[e];
    AT[m - 1][n] = 1;
    G[n][r - 1] = 1;
}

int c4j_winograd_1d_applicable(const c4j_conv2d_desc *d) {
    w1plan p;
    return make_plan(d, &p);
}

/* U[g][panel][xi][(ka * sb + phase) * cin_g + c][o - panel start] = (G g)[xi] of the taps of one stride phase
   of the kernel row of (ka, c, o) along b */
static void prepare_1d(const c4j_conv2d_desc *d, const float *filter, float *prepared) {
    w1plan p;
    if (!make_plan(d, &p)) return;
    double AT[MAX_ALPHA][MAX_ALPHA], G[MAX_ALPHA][MAX_ALPHA], BT[MAX_ALPHA][MAX_ALPHA];
    toom_cook(p.m, p.rp, AT, G, BT);
    const int64_t kh = d->kernel_h, kw = d->kernel_w, oc = d->out_c, K = p.kt, N = p.cout_g;
    for (int64_t g = 0; g < d->groups; g++)
        for (int64_t p0 = 0; p0 < N; p0 += p.panel) {
            const int64_t pw = C4J_MIN(p.panel, N - p0);
            float *panel = prepared + g * p.alpha * K * N + p0 * p.alpha * K;
            for (int64_t ka = 0; ka < p.kb; ka++)
                for (int ph = 0; ph < p.sb; ph++)
                    for (int64_t c = 0; c < p.cin_g; c++)
                        for (int64_t o = 0; o < pw; o++) {
                            double w[MAX_ALPHA]; /* the taps of stride phase ph: k * sb + ph, zero past the kernel */
                            for (int k = 0; k < p.rp; k++) {
                                const int tap = k * p.sb + ph;
                                int64_t fh = p.along_w ? ka : tap, fw = p.along_w ? tap : ka;
                                if (d->flip) fh = kh - 1 - fh, fw = kw - 1 - fw;
                                w[k] = tap < p.r ? filter[((fh * kw + fw) * p.cin_g + c) * oc + g * N + p0 + o] : 0.0;
                            }
                            for (int xi = 0; xi < p.alpha; xi++) {
                                double s = 0;
                                for (int k = 0; k < p.rp; k++) s += G[xi][k] * w[k];
                                panel[(xi * K + (ka * p.sb + ph) * p.cin_g + c) * pw + o] = (float)s;
                            }
                        }
        }
}

/* ------------------------------------------------------------------ transform kernel */

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(CONV4J_NO_CLONES)
#define HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define HOT
#endif

/* A transform matrix as lists of its nonzero coefficients per row (the matrices are about half
   zeros). */
typedef struct {
    int rows, nnz[MAX_ALPHA], col[MAX_ALPHA][MAX_ALPHA];
    float val[MAX_ALPHA][MAX_ALPHA];
} sparse_rows;

static void sparse_of(const double a[][MAX_ALPHA], int rows, int cols, sparse_rows *s) {
    s->rows = rows;
    for (int i = 0; i < rows; i++) {
        s->nnz[i] = 0;
        for (int j = 0; j < cols; j++)
            if (a[i][j] != 0) s->col[i][s->nnz[i]] = j, s->val[i][s->nnz[i]++] = (float)a[i][j];
    }
}

/* 16 floats, loaded and stored unaligned; split into narrower registers by the AVX2 and default clones */
typedef float v16f __attribute__((vector_size(64), aligned(4)));

/* dst[i][c] = sum_j coef[i][j] src[j][c] for c < nc: 16 channels at a time with the sum in a vector
   register (an accumulator array in memory chains every multiply-add through a store), the rest
   channel by channel. Few channels leave the per-row work exposed; the cost model counts it. */
HOT static void apply(const sparse_rows *a, const float *const *src, float *const *dst, int64_t nc) {
    const int64_t vec_end = nc / 16 * 16;
    for (int i = 0; i < a->rows; i++) {
        const int nnz = a->nnz[i];
        const int *col = a->col[i];
        const float *val = a->val[i];
        float *restrict d = dst[i];
        for (int64_t c = 0; c < vec_end; c += 16) {
            v16f acc = val[0] * *(const v16f *)(src[col[0]] + c);
            for (int k = 1; k < nnz; k++) acc += val[k] * *(const v16f *)(src[col[k]] + c);
            *(v16f *)(d + c) = acc;
        }
        for (int64_t c = vec_end; c < nc; c++) {
            float acc = val[0] * src[col[0]][c];
            for (int k = 1; k < nnz; k++) acc += val[k] * src[col[k]][c];
            d[c] = acc;
        }
    }
}

/* ------------------------------------------------------------------ run */

typedef struct {
    const c4j_conv2d_desc *d;
    w1plan p;
    sparse_rows bt, at;
    float *V, *M, *buf, *scratch;
    const float *zeros;
} w1run;

/* V[t][xi][(ka * sb + phase) * cin_g + c] for tiles [t0, t0 + nt) of group g */
static void input_stage(const w1run *w, const float *in, int64_t g, int64_t t0, int64_t nt) {
    const c4j_conv2d_desc *d = w->d;
    const w1plan *p = &w->p;
    const int64_t sc = d->in_stride[3], K = p->kt, vrow = p->alpha * K;
    for (int64_t t = 0; t < nt; t++) {
        const int64_t tg = t0 + t, n = tg / p->tiles_img, rest = tg % p->tiles_img;
        const int64_t oa = rest / p->tiles_b, ob0 = (rest % p->tiles_b) * p->m;
        for (int64_t kp = 0; kp < p->kb * p->sb; kp++) {
            const int64_t ka = kp / p->sb, ph = kp % p->sb;
            const int64_t ia = oa * p->stride_a + ka * p->dil_a - p->pad_a;
            const int row_in = ia >= 0 && ia < p->in_a;
            for (int64_t c0 = 0; c0 < p->cin_g; c0 += CB) {
                const int64_t nc = C4J_MIN(CB, p->cin_g - c0);
                const float *src[MAX_ALPHA];
                float *dst[MAX_ALPHA];
                for (int j = 0; j < p->alpha; j++) {
                    const int64_t ib = (ob0 + j) * p->sb + ph - p->pad_b; /* pixel j of stride phase ph */
                    dst[j] = w->V + t * vrow + j * K + kp * p->cin_g + c0;
                    if (!row_in || ib < 0 || ib >= p->in_b) {
                        src[j] = w->zeros;
                    } else {
                        const float *px = in + n * d->in_stride[0] + ia * p->is_a + ib * p->is_b + (g * p->cin_g + c0) * sc;
                        if (sc == 1) {
                            src[j] = px;
                        } else {
                            float *b = w->buf + j * CB;
                            for (int64_t c = 0; c < nc; c++) b[c] = px[c * sc];
                            src[j] = b;
                        }
                    }
                }
                apply(&w->bt, src, dst, nc);
            }
        }
    }
}

static void multiply_stage(const w1run *w, const c4j_blas *blas, const float *prepared, int64_t g, int64_t nt,
                           int64_t o0, int64_t nw) {
    const w1plan *p = &w->p;
    const int64_t K = p->kt, N = p->cout_g;
    const float *U = prepared + g * p->alpha * K * N + o0 * p->alpha * K; /* the panel: [xi][K][nw] */
    for (int xi = 0; xi < p->alpha; xi++)
        blas->sgemm(C4J_ROW_MAJOR, C4J_NO_TRANS, C4J_NO_TRANS, (int)nt, (int)nw, (int)K, 1.0f, w->V + xi * K,
                    (int)(p->alpha * K), U + xi * K * nw, (int)nw, 0.0f, w->M + xi * nw, (int)(p->alpha * nw));
}

static void output_stage(const w1run *w, const float *bias, float *out, int64_t g, int64_t t0, int64_t nt, int64_t o0,
                         int64_t nw) {
    const c4j_conv2d_desc *d = w->d;
    const w1plan *p = &w->p;
    const int64_t mrow = p->alpha * nw, ch = g * p->cout_g + o0;
    for (int64_t t = 0; t < nt; t++) {
        const int64_t tg = t0 + t, n = tg / p->tiles_img, rest = tg % p->tiles_img;
        const int64_t oa = rest / p->tiles_b, ob0 = (rest % p->tiles_b) * p->m;
        float *o = out + n * d->out_stride[0] + oa * p->os_a + ob0 * p->os_b + ch;
        for (int64_t c0 = 0; c0 < nw; c0 += CB) {
            const int64_t nc = C4J_MIN(CB, nw - c0);
            const float *src[MAX_ALPHA];
            float *dst[MAX_ALPHA];
            for (int j = 0; j < p->alpha; j++) src[j] = w->M + t * mrow + j * nw + c0;
            for (int i = 0; i < p->m; i++) dst[i] = ob0 + i < p->out_b ? o + i * p->os_b + c0 : w->scratch + i * CB;
            apply(&w->at, src, dst, nc);
            for (int i = 0; i < p->m && ob0 + i < p->out_b; i++) {
                const int64_t ob = ob0 + i;
                if (ob * p->sb + p->r <= p->pad_b || ob * p->sb - p->pad_b >= p->in_b) memset(dst[i], 0, sizeof(float) * (size_t)nc);
                c4j_epilogue_rows(d, bias, dst[i], 1, 0, ch + c0, nc);
            }
        }
    }
}

static void run_1d(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *filter,
                   const float *prepared, const float *bias, float *out, void *workspace, int64_t u0, int64_t u1) {
    (void)filter;
    w1run w;
    w.d = d;
    if (!make_plan(d, &w.p)) return; /* unreachable: the table walk checked applies */
    double AT[MAX_ALPHA][MAX_ALPHA], G[MAX_ALPHA][MAX_ALPHA], BT[MAX_ALPHA][MAX_ALPHA];
    toom_cook(w.p.m, w.p.rp, AT, G, BT);
    sparse_of((const double(*)[MAX_ALPHA])BT, w.p.alpha, w.p.alpha, &w.bt);
    sparse_of((const double(*)[MAX_ALPHA])AT, w.p.m, w.p.alpha, &w.at);
    w.V = (float *)workspace;
    w.M = w.V + round_up(w.p.T * w.p.alpha * w.p.kt, 16);
    w.buf = w.M + round_up(w.p.T * w.p.alpha * w.p.panel, 16);
    float *zeros = w.buf + w.p.alpha * CB;
    memset(zeros, 0, CB * sizeof(float));
    w.zeros = zeros;
    w.scratch = zeros + CB;
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

/* ------------------------------------------------------------------ table row */

static int applies_1d(const c4j_conv2d_desc *d) { return c4j_winograd_1d_applicable(d); }

static int64_t units_1d(const c4j_conv2d_desc *d) {
    w1plan p;
    return make_plan(d, &p) ? p.blocks * d->groups * p.panels : 0;
}

static int64_t workspace_1d(const c4j_conv2d_desc *d) {
    w1plan p;
    return make_plan(d, &p) ? p.ws_floats * (int64_t)sizeof(float) : -1;
}

static int64_t prepared_1d(const c4j_conv2d_desc *d) {
    w1plan p;
    return make_plan(d, &p) ? p.alpha * p.kt * d->out_c : 0;
}

/* the transforms (modelled), one sgemm per point and panel of every block (measured), U streamed
   once per block, fixed work per block; the filter transform at about 1 ns per coefficient */
static double estimate_1d(const c4j_conv2d_desc *d, int include_prepare) {
    w1plan p;
    if (!make_plan(d, &p)) return -1;
    if (p.tiles == 0) return 0;
    const int64_t last_t = p.tiles - (p.blocks - 1) * p.T, full = p.cout_g / p.panel, rest = p.cout_g - full * p.panel;
    double products = 0;
    for (int k = 0; k < 2; k++) {
        const int64_t nt = k == 0 ? p.T : last_t, nb = k == 0 ? p.blocks - 1 : 1;
        const double per = (double)full * c4j_cost_sgemm(nt, p.kt, p.panel) + (rest ? c4j_cost_sgemm(nt, p.kt, rest) : 0);
        products += (double)nb * p.alpha * per;
    }
    const double u_bytes = 4.0 * p.alpha * (double)p.kt * (double)p.cout_g;
    const double u_stream = u_bytes <= 1024.0 * 1024 ? 0.004e-9 * u_bytes : 0.01e-9 * u_bytes;
    const double transforms = (double)p.tiles * tile_transform_seconds(p.m, p.rp, p.kb * p.sb, p.cin_g, p.panel, p.cout_g);
    double s = (double)d->groups * (transforms + products + (double)p.blocks * (u_stream + BLOCK_SECONDS));
    if (include_prepare) s += (double)p.alpha * (double)p.kt * (double)d->out_c * 1e-9;
    return c4j_small_groups_adjusted(d, s);
}

const c4j_conv2d_algorithm c4j_conv2d_winograd_1d = {"winograd_1d", C4J_ALGO_WINOGRAD_1D, 0,           applies_1d,
                                                     units_1d,      workspace_1d,         prepared_1d, prepare_1d,
                                                     estimate_1d,   run_1d};
