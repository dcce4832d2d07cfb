/*
 * Filter gradient of 3x3, stride-1, dilation-1 convolutions by Winograd F(3x3, 4x4), fused
 * (filter-gradient route C4J_BWD_WINOGRAD_FUSED): for layers of few tiles, deep layers at batch 1.
 *
 * The algebra of backward_winograd.c: dW_tile = G^T [(A E A^T) .* (BT D B)] G, and per transform
 * point xi, M_xi[c, o] = sum over tiles t of V_xi[t, c] E'_xi[t, o]. That route runs one sgemm per
 * point with K = tiles and keeps every M_xi of its slice in memory: at batch 1 a deep layer has
 * 4-16 tiles, so each sgemm reads and writes its accumulators for 4-16 multiply-adds per element
 * (bound by memory once M outgrows L2), and G^T M G is a pass of its own. Here a unit transforms all
 * tiles of its input channels and of its output channels once, into panels V[xi][t][c] and
 * E'[xi][t][o] that stay in L2; then a register block of FW_ROWS input channels x a pass of output
 * lanes (2 vectors) sums all tiles of each point in registers, stores the 36 point sums of the
 * block to a scratch that stays in L1 and applies G^T M G from there straight into dW (with integer
 * coefficients: G's scales go into E', see FW_SCALE). dW of 2 MiB and more is written by
 * non-temporal stores where it is 64-byte aligned (see chunk in backward_winograd_fused_simd.h).
 * The kernels come in AVX-512, AVX2 and portable builds (backward_winograd_fused_simd.h), picked by
 * c4j_cpu_vector_tier; the transforms are the sgemm route's (winograd_input.h, backward_winograd.h).
 *
 * Units: groups x blocks of FW_CO output channels x chunks of at most FW_CI_MAX input channels.
 * Every unit sums all tiles of the batch, in order, for its own block of dW: the bits depend on
 * neither the units nor the thread count. No pixel ranges, no partial sums; the bias gradient rides
 * with the units of the first input chunk (c4j_bw_bias_rows, as the GEMM route). Applicable while
 * a unit's panels (tiles x 36 x (chunk + FW_CO) floats) stay within FW_PANEL_BYTES (L2-sized): for
 * more tiles the sgemm route's long products do well. Channels must be contiguous (the transform
 * kernels read channel runs).
 */
#include <stdint.h>
#include <string.h>

#include "internal.h"

#define CB 64 /* channels per call of the transform kernels (winograd_input.h) */
/* the headers' F(3x3, 2x2) kernels are not used here */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "winograd_input.h"

#include "backward_winograd.h"
#pragma GCC diagnostic pop

enum {
    FW_CO = 64,     /* output channels per unit: one AVX-512 pass of 4 vectors */
    FW_CI_MAX = 96, /* input channels per unit at most (chunks split evenly, multiples of FW_ROWS) */
    FW_ROWS = 6,    /* input channels per register block */
    FW_PTS = 36     /* transform points of F(3x3, 4x4) */
};
#define FW_PANEL_BYTES (2 << 20)
#define FW_STREAM_BYTES (2 << 20)

/*
 * G = diag(FW_SCALE) G' with integer G' rows [1 0 0], [1 1 1], [1 -1 1], [4 2 1], [1 -2 4], [0 0 1]
 * (winograd.c's G of F(4x4, 3x3)): G^T M G = G'^T (M .* s s^T) G', and as M sums V .* E', the
 * scales s_a s_b go into E' once per tile (dy_panel) instead of into every channel pair's G^T M G,
 * which then takes only additions and multiplications by 2 and 4 (7 additions and 3 multiply-adds
 * per column instead of 13 operations, most of them multiplies).
 */
static const float FW_SCALE[6] = {0.5f, 1.0f / 6, -1.0f / 6, -4.0f / 15, 1.0f / 30, 0.5f};
#define FW_GT(m0, m1, m2, m3, m4, m5, t0, t1, t2)              \
    do {                                                       \
        const __typeof__(m1) s_ = (m1) + (m2), d_ = (m1) - (m2); \
        t0 = ((m0) + s_) + (m4) + 4.0f * (m3);                 \
        t1 = d_ + 2.0f * ((m3) - (m4));                        \
        t2 = (s_ + (m5)) + (m3) + 4.0f * (m4);                 \
    } while (0)

/* FW_STREAM(p, v): a non-temporal store of vector v (FW_V lanes) to p; FW_FENCE orders them */
#define FW_ISA portable
#define FW_V 4
#define FW_NV 2
#define FW_TARGET
#define FW_STREAM(p, v) (*(vec_portable *)(void *)(p) = (v))
#define FW_FENCE() ((void)0)
#include "backward_winograd_fused_simd.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define C4J_HAVE_X86_FW 1
#include <immintrin.h>
#define FW_ISA avx2
#define FW_V 8
#define FW_NV 2
#define FW_TARGET __attribute__((target("avx2,fma")))
#define FW_STREAM(p, v) _mm256_stream_ps((p), (__m256)(v))
#define FW_FENCE() _mm_sfence()
#include "backward_winograd_fused_simd.h"

#define FW_ISA avx512
#define FW_V 16
#define FW_NV 2
#define FW_TARGET __attribute__((target("avx512f")))
#define FW_STREAM(p, v) _mm512_stream_ps((p), (__m512)(v))
#define FW_FENCE() _mm_sfence()
#include "backward_winograd_fused_simd.h"
#endif

typedef struct {
    int64_t K, N;              /* cin_g, cout_g */
    int64_t tiles_h, tiles_w, tiles;
    int64_t nci, ci, nco;      /* input chunks and channels per chunk, output blocks */
    int64_t v_floats, e_floats, s_floats;
} fwplan;

static int64_t round16(int64_t a) { return (a + 15) / 16 * 16; }

static int make_plan(const c4j_conv2d_desc *d, fwplan *p) {
    memset(p, 0, sizeof *p);
    if (d->kernel_h != 3 || d->kernel_w != 3 || d->stride_h != 1 || d->stride_w != 1 || d->dilation_h != 1 ||
        d->dilation_w != 1)
        return 0;
    if ((d->in_stride[3] != 1 && c4j_cin_g(d) * d->groups > 1) || (d->out_stride[3] != 1 && d->out_c > 1)) return 0;
    p->K = c4j_cin_g(d);
    p->N = c4j_cout_g(d);
    if (p->K <= 0 || p->N <= 0) return 0;
    p->tiles_h = c4j_ceil_div(d->out_h, 4);
    p->tiles_w = c4j_ceil_div(d->out_w, 4);
    p->tiles = d->batch * p->tiles_h * p->tiles_w;
    p->nci = c4j_ceil_div(p->K, FW_CI_MAX);
    p->ci = p->nci == 1 ? p->K : c4j_ceil_div(c4j_ceil_div(p->K, p->nci), FW_ROWS) * FW_ROWS;
    p->nci = c4j_ceil_div(p->K, p->ci);
    p->nco = c4j_ceil_div(p->N, FW_CO);
    p->v_floats = round16(FW_PTS * p->tiles * p->ci);
    p->e_floats = round16(FW_PTS * p->tiles * FW_CO);
    p->s_floats = FW_PTS * FW_ROWS * FW_CO;
    return (p->v_floats + p->e_floats) * (int64_t)sizeof(float) <= FW_PANEL_BYTES;
}

static int fw_applies(const c4j_conv2d_desc *d) {
    fwplan p;
    return make_plan(d, &p);
}

static int64_t fw_units(const c4j_conv2d_desc *d) {
    fwplan p;
    return make_plan(d, &p) ? d->groups * p.nco * p.nci : 0;
}

static int64_t fw_workspace(const c4j_conv2d_desc *d) {
    fwplan p;
    if (!make_plan(d, &p)) return -1;
    return (p.v_floats + p.e_floats + p.s_floats + CB + C4J_BIAS_ROWS) * (int64_t)sizeof(float);
}

static int64_t fw_ranges(const c4j_conv2d_desc *d) {
    (void)d;
    return 1;
}

/* Input transform of every tile, channels [c0, c0 + nc) of the unit's chunk (absolute c0g), into
   V[xi][t][c] (tiles x ci floats per point). */
static void input_panel(const c4j_conv2d_desc *d, const fwplan *p, const float *in, int64_t c0g, int64_t nc,
                        const float *zeros, float *V) {
    const int64_t sn = d->in_stride[0], sh = d->in_stride[1], sw = d->in_stride[2];
    const int64_t per_img = p->tiles_h * p->tiles_w, ds = p->tiles * p->ci;
    for (int64_t t = 0; t < p->tiles; t++) {
        const int64_t n = t / per_img, r = t % per_img;
        const int64_t ih0 = (r / p->tiles_w) * 4 - d->pad_top, iw0 = (r % p->tiles_w) * 4 - d->pad_left;
        const float *img = in + n * sn + c0g;
        for (int64_t c = 0; c < nc; c += CB) {
            const float *pc[36];
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++) {
                    const int64_t ih = ih0 + i, iw = iw0 + j;
                    pc[6 * i + j] = ih < 0 || ih >= d->in_h || iw < 0 || iw >= d->in_w ? zeros : img + ih * sh + iw * sw + c;
                }
            in_f4(pc, V + t * p->ci + c, ds, C4J_MIN(CB, nc - c));
        }
    }
}

/* E'[xi] *= s_a s_b (xi = 6a + b), for G' (see FW_SCALE) */
HOT static void scale_points(float *E, int64_t ds) {
    for (int xi = 0; xi < FW_PTS; xi++) {
        const float sc = FW_SCALE[xi / 6] * FW_SCALE[xi % 6];
        float *restrict e = E + xi * ds;
        for (int64_t i = 0; i < ds; i++) e[i] *= sc;
    }
}

/* dY transform of every tile, output channels [o0, o0 + cols) (absolute), into E[xi][t][o] (rows of
   FW_CO floats, zero past cols). */
static void dy_panel(const c4j_conv2d_desc *d, const fwplan *p, const float *dy, int64_t o0, int64_t cols,
                     const float *zeros, float *E) {
    const int64_t s0 = d->out_stride[0], s1 = d->out_stride[1], s2 = d->out_stride[2];
    const int64_t per_img = p->tiles_h * p->tiles_w, ds = p->tiles * FW_CO;
    if (cols < FW_CO) memset(E, 0, sizeof(float) * (size_t)(FW_PTS * ds));
    for (int64_t t = 0; t < p->tiles; t++) {
        const int64_t n = t / per_img, r = t % per_img;
        const int64_t oh0 = (r / p->tiles_w) * 4, ow0 = (r % p->tiles_w) * 4;
        const float *img = dy + n * s0 + o0;
        const float *pc[16];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                const int64_t oh = oh0 + i, ow = ow0 + j;
                pc[4 * i + j] = oh < d->out_h && ow < d->out_w ? img + oh * s1 + ow * s2 : zeros;
            }
        dy_f4(pc, E + t * FW_CO, ds, cols);
    }
    scale_points(E, ds);
}

static void run_chunk(int isa, const float *V, int64_t vs, int64_t vt, const float *E, int64_t es, int64_t tiles,
                      int64_t rows, int64_t cols, float *S, float *const *out, int64_t rs, int stream) {
#ifdef C4J_HAVE_X86_FW
    if (isa == 2) {
        chunk_avx512(V, vs, vt, E, es, tiles, rows, cols, S, out, rs, stream);
        return;
    }
    if (isa == 1) {
        chunk_avx2(V, vs, vt, E, es, tiles, rows, cols, S, out, rs, stream);
        return;
    }
#endif
    (void)isa;
    chunk_portable(V, vs, vt, E, es, tiles, rows, cols, S, out, rs, stream);
}

/* units [u0, u1) by the kernels of instruction set isa (c4j_cpu_vector_tier's numbers; the tests
   run every one the CPU has) */
static void run_isa(int isa, const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *dy,
                    float *dw, float *db, void *workspace, int64_t u0, int64_t u1) {
    fwplan p;
    if (!make_plan(d, &p)) return; /* unreachable: the entry point checked the route */
    float *V = (float *)workspace, *E = V + p.v_floats, *S = E + p.e_floats, *zeros = S + p.s_floats;
    float *ones = zeros + CB;
    memset(zeros, 0, CB * sizeof(float));
    for (int64_t i = 0; db != NULL && i < C4J_BIAS_ROWS; i++) ones[i] = 1.0f;
    /* dW past the caches (see chunk in backward_winograd_fused_simd.h) where it outgrows L2 */
    const int stream = c4j_filter_floats(d) * (int64_t)sizeof(float) >= FW_STREAM_BYTES;
    const int64_t cg = p.K, og = p.N;
    /* the input chunk whose panel V holds: consecutive units share it */
    int64_t v_chunk = -1;
    for (int64_t u = u0; u < u1; u++) {
        /* output blocks fastest */
        const int64_t ob = u % p.nco, cc = (u / p.nco) % p.nci, g = u / (p.nci * p.nco);
        const int64_t o0 = g * og + ob * FW_CO, cols = C4J_MIN(FW_CO, og - ob * FW_CO);
        const int64_t c0 = cc * p.ci, rows = C4J_MIN(p.ci, cg - c0);
        if (db != NULL && cc == 0) {
            memset(db + o0, 0, sizeof(float) * (size_t)cols);
            c4j_bw_bias_rows(blas, d, dy, o0, cols, 0, d->batch * d->out_h * d->out_w, ones, db + o0);
        }
        if (dw == NULL || rows <= 0) continue;
        float *out[9];
        for (int k = 0; k < 9; k++) out[k] = dw + ((d->flip ? 8 - k : k) * cg + c0) * d->out_c + o0;
        if (p.tiles == 0) {
            for (int k = 0; k < 9; k++)
                for (int64_t c = 0; c < rows; c++) memset(out[k] + c * d->out_c, 0, sizeof(float) * (size_t)cols);
            continue;
        }
        if (v_chunk != u / p.nco) input_panel(d, &p, in, g * cg + c0, rows, zeros, V);
        v_chunk = u / p.nco;
        dy_panel(d, &p, dy, o0, cols, zeros, E);
        run_chunk(isa, V, p.tiles * p.ci, p.ci, E, p.tiles * FW_CO, p.tiles, rows, cols, S, out, d->out_c, stream);
    }
}

static void fw_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *dy, float *dw,
                   float *db, float *partials, void *workspace, int64_t u0, int64_t u1) {
    (void)partials;
    run_isa(c4j_cpu_vector_tier(), blas, d, in, dy, dw, db, workspace, u0, u1);
}

/*
 * Single-thread seconds, in lane multiply-adds at the rate of a large sgemm (the cost model's,
 * measured on this machine when it is): the point sums (36 x tiles per pair of input channel and
 * output lane, lanes rounded up to 16), FW_OUT_LANE_MACS per pair for storing the point sums,
 * G'^T S G' and the dW stores (fitted to the deep benchmark layers, whose sums run at 0.6-0.7 of
 * that rate: a short tile loop per point), the transforms at backward_winograd.c's 0.05 ns per
 * tile, channel and point (the input once per input chunk, dY once per unit), and the bias
 * gradient as the direct route counts it.
 */
#define FW_OUT_LANE_MACS 80.0
#define FW_UNIT_SECONDS 1e-6
static double fw_estimate(const c4j_conv2d_desc *d) {
    fwplan p;
    if (!make_plan(d, &p)) return -1;
    if (d->batch == 0) return 0;
    const double mac = c4j_cost_sgemm(256, 256, 256) / (256.0 * 256.0 * 256.0);
    const double g = (double)d->groups, lanes = (double)(c4j_ceil_div(p.N, 16) * 16), K = (double)p.K;
    const double sums = g * K * lanes * FW_PTS * (double)p.tiles;
    const double outs = g * K * lanes * FW_OUT_LANE_MACS;
    const double transforms =
        g * (double)p.tiles * FW_PTS * (K + (double)p.N * (double)p.nci) * 0.05e-9;
    double bias = 0;
    const int64_t pixels = d->batch * d->out_h * d->out_w, calls = c4j_ceil_div(pixels, C4J_BIAS_ROWS);
    for (int64_t o0 = 0; d->has_bias && pixels > 0 && o0 < p.N; o0 += FW_CO)
        bias += g * (double)calls * c4j_cost_sgemm(1, C4J_MIN(pixels, C4J_BIAS_ROWS), C4J_MIN(FW_CO, p.N - o0));
    return mac * (sums + outs) + transforms + bias + (double)fw_units(d) * FW_UNIT_SECONDS;
}

const c4j_filter_gradient_route c4j_bw_winograd_fused = {"winograd_fused", C4J_BWD_WINOGRAD_FUSED, 0,
                                                         fw_applies,       fw_units,               fw_workspace,
                                                         fw_ranges,        fw_estimate,            fw_run};
