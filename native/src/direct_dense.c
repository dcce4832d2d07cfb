/*
 * Dense convolution by a register-blocked direct kernel (C4J_ALGO_DIRECT_DENSE), oneDNN's direct
 * (jit_avx512_common) idea in plain C: no im2col and no packing of the input, whose channels-last
 * pixels are read in place, and no sgemm call, whose per-call packing of both operands dominates
 * small layers.
 *
 * The filter is packed once (the prepared filter, by a PreparedFilter or a layer; per call
 * otherwise) into blocks of DD_CB output channels, [block][kh][kw][cin][DD_CB], zero past the
 * last channel and flipped when asked, so each step of the kernel loads whole filter vectors. A
 * tile of DD_NB output pixels x one pass of a block's lanes lives in vector accumulators; each
 * step (one input channel of one tap) broadcasts one input value per pixel against the pass's
 * filter vectors. Taps run row by row, input channels innermost. A tile's pixels are consecutive
 * in the output image, across row ends; a pixel whose tap falls into the padding reads a row of
 * zeros instead (a pointer chosen per tap, not a test per step), so stride, dilation, padding,
 * borders and short rows all run the same loop.
 *
 * Units: images x bands of DD_UNIT_PIXELS output pixels x groups of DD_UNIT_BLOCKS filter
 * blocks, fixed by the layer. Each output is summed in one fixed order (taps, input channels,
 * bias) whatever the unit, tile or thread, so any thread count gives the same bits.
 *
 * The estimate is measured where it runs: the first estimate of the process times the kernel on
 * two small layers (one deep 1x1, one 3x3 of few channels) and solves for its time per lane
 * multiply-add and per tap step (cost model off: multiples of the built-in sgemm table's time).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

enum {
    DD_CB = 32,           /* output channels per filter block: the prepared filter's lane count */
    DD_UNIT_PIXELS = 96,  /* output pixels per unit (a multiple of every tile width: 12, 6, 4) */
    DD_UNIT_BLOCKS = 2,   /* filter blocks per unit: the input band is reread from L2 per block */
    DD_MAX_NB = 16        /* the widest tile of any width */
};

/* One tile's kernel arguments. */
typedef struct {
    const float *img;           /* the image's input */
    const float *zeros;         /* kw x cin zeros: what a tap (or fused kernel row) in the padding reads */
    int64_t rs, ps;             /* input row and pixel strides */
    int64_t in_h, in_w, kh, dh, dw;
    int64_t kw, cin;            /* column taps and values per tap the kernel loops over (fused rows: 1, kw x cin) */
    int act;
    const float *w;             /* the block's filter at the pass's first lane */
    const float *bias;          /* bias at the pass's first lane, or NULL */
    int64_t lanes;              /* valid lanes of the pass */
    int64_t ih0[DD_MAX_NB], iw0[DD_MAX_NB]; /* each pixel's input position of tap (0, 0) */
    float *o[DD_MAX_NB];        /* each pixel's output at the pass's first lane */
} dd_tile;

static int64_t dd_block_floats(const c4j_conv2d_desc *d) { return d->kernel_h * d->kernel_w * d->in_c * DD_CB; }

/* a kernel row's kw x cin input values lie side by side: column dilation 1, pixels contiguous */
static int dd_fuses_rows(const c4j_conv2d_desc *d) {
    return d->dilation_w == 1 && (d->in_stride[2] == d->in_c || d->kernel_w == 1);
}

#define DD_ISA portable
#define DD_V 4
#define DD_NV 2
#define DD_NB 6
#define DD_TARGET
#include "direct_dense_simd.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define C4J_HAVE_X86_DD 1
#define DD_ISA avx2
#define DD_V 8
#define DD_NV 2
#define DD_NB 6
#define DD_TARGET __attribute__((target("avx2,fma")))
#include "direct_dense_simd.h"

#define DD_ISA avx512
#define DD_V 16
#define DD_NV 2
#define DD_NB 12
#define DD_TARGET __attribute__((target("avx512f")))
#include "direct_dense_simd.h"
#endif

/* the widest kernel this CPU runs: 2 AVX-512, 1 AVX2 + FMA, 0 portable */
static int best_isa(void) {
#ifdef C4J_HAVE_X86_DD
    if (c4j_cpu_has_avx512()) return 2;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
#endif
    return 0;
}

/* one group, input channels contiguous (the zero row stands for a padded pixel's channels) */
static int dd_applies(const c4j_conv2d_desc *d) { return d->groups == 1 && (d->in_stride[3] == 1 || d->in_c == 1); }

static int64_t blocks(const c4j_conv2d_desc *d) { return c4j_ceil_div(d->out_c, DD_CB); }
static int64_t block_groups(const c4j_conv2d_desc *d) { return c4j_ceil_div(blocks(d), DD_UNIT_BLOCKS); }
static int64_t bands(const c4j_conv2d_desc *d) { return c4j_ceil_div(d->out_h * d->out_w, DD_UNIT_PIXELS); }

static int64_t dd_units(const c4j_conv2d_desc *d) { return d->batch * bands(d) * block_groups(d); }

static int64_t dd_prepared_floats(const c4j_conv2d_desc *d) { return blocks(d) * dd_block_floats(d); }

/* the zero row: the values of one kernel row */
static int64_t dd_zeros(const c4j_conv2d_desc *d) { return d->kernel_w * d->in_c; }
static int64_t dd_workspace(const c4j_conv2d_desc *d) { return dd_zeros(d) * (int64_t)sizeof(float); }

static void dd_prepare(const c4j_conv2d_desc *d, const float *filter, float *prepared) {
    const int64_t kh = d->kernel_h, kw = d->kernel_w, cin = d->in_c;
    for (int64_t b = 0; b < blocks(d); b++) {
        const int64_t o0 = b * DD_CB, cw = C4J_MIN(DD_CB, d->out_c - o0);
        float *dst = prepared + b * dd_block_floats(d);
        for (int64_t i = 0; i < kh; i++)
            for (int64_t j = 0; j < kw; j++) {
                const int64_t fi = d->flip ? kh - 1 - i : i, fj = d->flip ? kw - 1 - j : j;
                for (int64_t c = 0; c < cin; c++, dst += DD_CB) {
                    memcpy(dst, filter + ((fi * kw + fj) * cin + c) * d->out_c + o0, sizeof(float) * (size_t)cw);
                    memset(dst + cw, 0, sizeof(float) * (size_t)(DD_CB - cw));
                }
            }
    }
}

static void run_isa(int isa, const c4j_conv2d_desc *d, const float *in, const float *prepared, const float *bias,
                    float *out, float *zeros, int64_t u0, int64_t u1) {
    memset(zeros, 0, sizeof(float) * (size_t)dd_zeros(d));
    dd_tile t;
    t.zeros = zeros;
    t.rs = d->in_stride[1], t.ps = d->in_stride[2];
    t.in_h = d->in_h, t.in_w = d->in_w, t.kh = d->kernel_h;
    t.dh = d->dilation_h, t.dw = d->dilation_w;
    t.act = (int)d->activation;
    const float *b = d->has_bias ? bias : NULL;
    const int64_t ngroup = block_groups(d), nband = bands(d), pixels = d->out_h * d->out_w;
    for (int64_t unit = u0; unit < u1; unit++) {
        /* block groups innermost: consecutive units share the input band */
        const int64_t grp = unit % ngroup, band = (unit / ngroup) % nband, n = unit / (ngroup * nband);
        const int64_t q0 = band * DD_UNIT_PIXELS, q1 = C4J_MIN(pixels, q0 + DD_UNIT_PIXELS);
        const int64_t b0 = grp * DD_UNIT_BLOCKS, b1 = C4J_MIN(blocks(d), b0 + DD_UNIT_BLOCKS);
        t.img = in + n * d->in_stride[0];
        float *oimg = out + n * d->out_stride[0];
#ifdef C4J_HAVE_X86_DD
        if (isa == 2) {
            pixels_avx512(&t, d, q0, q1, prepared, b0, b1, b, oimg);
            continue;
        }
        if (isa == 1) {
            pixels_avx2(&t, d, q0, q1, prepared, b0, b1, b, oimg);
            continue;
        }
#endif
        (void)isa;
        pixels_portable(&t, d, q0, q1, prepared, b0, b1, b, oimg);
    }
}

static void dd_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *filter,
                   const float *prepared, const float *bias, float *out, void *workspace, int64_t u0, int64_t u1) {
    (void)blas;
    (void)filter;
    run_isa(best_isa(), d, in, prepared, bias, out, (float *)workspace, u0, u1);
}

/* ------------------------------------------------------------------ the estimate */

/* tile width and vectors per pass of an instruction set */
static void isa_shape(int isa, int64_t *nb, int64_t *pass_lanes, int64_t *v) {
    *nb = isa == 2 ? 12 : 6;
    *v = isa == 2 ? 16 : isa == 1 ? 8 : 4;
    *pass_lanes = 2 * *v;
}

/* What the kernel does on d: lane multiply-adds (padded lanes and padded taps included) and tap
   steps (a tile's pass over one tap, or one fused kernel row: choosing its pixels' input and
   starting the loop over values), following DD(pixels) tile by tile. */
static void work(const c4j_conv2d_desc *d, int isa, double *lane_macs, double *tap_steps) {
    int64_t nb, pass_lanes, v;
    isa_shape(isa, &nb, &pass_lanes, &v);
    const int64_t pixels = d->out_h * d->out_w, taps = d->kernel_h * d->kernel_w;
    /* vector lanes and passes per image pixel over all blocks */
    double lanes = 0, passes = 0;
    for (int64_t o0 = 0; o0 < d->out_c; o0 += DD_CB) {
        const int64_t cw = C4J_MIN(DD_CB, d->out_c - o0);
        for (int64_t l0 = 0; l0 < cw; l0 += pass_lanes) {
            const int64_t l = C4J_MIN(pass_lanes, cw - l0);
            lanes += (double)(l <= v ? v : pass_lanes);
            passes += 1;
        }
    }
    /* tap steps per pass of an image: bands of DD_UNIT_PIXELS (the last one shorter), tiles as run */
    const int rows_fuse = dd_fuses_rows(d);
    double steps = 0;
    for (int64_t q0 = 0; q0 < pixels; q0 += DD_UNIT_PIXELS) {
        const int64_t q1 = C4J_MIN(pixels, q0 + DD_UNIT_PIXELS);
        for (int64_t q = q0; q < q1;) {
            const int64_t left = q1 - q, n = left >= nb ? nb : left >= 4 ? 4 : 1;
            int fused = rows_fuse;
            for (int64_t j = 0; j < n && fused; j++) {
                const int64_t iw0 = ((q + j) % d->out_w) * d->stride_w - d->pad_left;
                fused = iw0 >= 0 && iw0 + d->kernel_w <= d->in_w;
            }
            steps += (double)(fused ? d->kernel_h : taps);
            q += n;
        }
    }
    *lane_macs = (double)d->batch * (double)pixels * lanes * (double)(taps * d->in_c);
    *tap_steps = (double)d->batch * steps * passes;
}

static double thread_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Fastest of a few runs of the whole layer d (thread CPU time), or -1 when memory is short. Plain
   malloc: measuring is not part of any convolution's accounted memory. */
static double time_layer(const c4j_conv2d_desc *d, int isa) {
    const int64_t in_floats = d->batch * d->in_stride[0], out_floats = d->batch * d->out_stride[0];
    const int64_t prep = dd_prepared_floats(d);
    float *buf = calloc((size_t)(in_floats + out_floats + prep + dd_zeros(d)), sizeof(float));
    if (buf == NULL) return -1;
    float *in = buf, *out = in + in_floats, *prepared = out + out_floats, *zeros = prepared + prep;
    for (int64_t i = 0; i < in_floats; i++) in[i] = (float)(i % 7) * 0.25f;
    for (int64_t i = 0; i < prep; i++) prepared[i] = (float)(i % 5) * 0.5f;
    const int64_t units = dd_units(d);
    run_isa(isa, d, in, prepared, NULL, out, zeros, 0, units);
    double best = -1;
    for (int rep = 0; rep < 15; rep++) {
        const double t0 = thread_seconds();
        for (int i = 0; i < 8; i++) run_isa(isa, d, in, prepared, NULL, out, zeros, 0, units);
        const double t = (thread_seconds() - t0) / 8;
        if (best < 0 || t < best) best = t;
    }
    free(buf);
    return best;
}

static void probe_desc(c4j_conv2d_desc *d, int64_t cin, int64_t k) {
    memset(d, 0, sizeof *d);
    d->batch = 1, d->in_h = 8, d->in_w = 12, d->in_c = cin;
    d->kernel_h = d->kernel_w = k, d->out_c = DD_CB, d->groups = 1;
    d->stride_h = d->stride_w = d->dilation_h = d->dilation_w = 1;
    d->pad_top = d->pad_left = k / 2;
    d->out_h = 8, d->out_w = 12;
    d->in_stride[3] = 1, d->in_stride[2] = cin, d->in_stride[1] = 12 * cin, d->in_stride[0] = 96 * cin;
    d->out_stride[3] = 1, d->out_stride[2] = DD_CB, d->out_stride[1] = 12 * DD_CB, d->out_stride[0] = 96 * DD_CB;
}

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
/* seconds per lane multiply-add and per tap step on this machine; written once, under g_once */
static double g_mac_s, g_tap_s;

/*
 * Two small layers, each run in a few microseconds: a 1x1 layer of 64 input channels (the
 * multiply-adds dominate) and a 3x3 layer of 2 (the tap steps dominate). Their times give the
 * two per-unit costs (a 2x2 solve, kept non-negative).
 */
static void measure(void) {
    const int isa = best_isa();
    c4j_conv2d_desc a, b;
    probe_desc(&a, 64, 1);
    probe_desc(&b, 2, 3);
    const double ta = time_layer(&a, isa), tb = time_layer(&b, isa);
    double ma, sa, mb, sb;
    work(&a, isa, &ma, &sa);
    work(&b, isa, &mb, &sb);
    if (ta > 0 && tb > 0) {
        const double det = ma * sb - mb * sa;
        double mac = (ta * sb - tb * sa) / det, tap = (ma * tb - mb * ta) / det;
        if (!(mac > 0)) mac = ta / ma;
        if (!(tap > 0)) tap = 0;
        g_mac_s = mac, g_tap_s = tap;
    }
}

/*
 * Single-thread seconds: the measured costs times the kernel's work on d, plus the filter packing
 * when include_prepare (one lane multiply-add per packed float, about a load and a store). Cost
 * model off (or measuring impossible): the built-in sgemm model's time per multiply-add of a
 * large product for a lane multiply-add and 32 of them for a tap step.
 */
static double dd_estimate(const c4j_conv2d_desc *d, int include_prepare) {
    double mac, tap;
    if (c4j_cost_is_measured()) {
        pthread_once(&g_once, measure);
        mac = g_mac_s, tap = g_tap_s;
    } else {
        mac = 0;
    }
    if (!(mac > 0)) {
        mac = c4j_cost_sgemm_model(256, 256, 256) / (256.0 * 256.0 * 256.0);
        tap = 32 * mac;
    }
    double lane_macs, tap_steps;
    work(d, best_isa(), &lane_macs, &tap_steps);
    const double prep = include_prepare ? mac * (double)dd_prepared_floats(d) : 0;
    return mac * lane_macs + tap * tap_steps + prep;
}

const c4j_conv2d_algorithm c4j_conv2d_direct_dense = {
    "direct_dense", C4J_ALGO_DIRECT_DENSE, 1, dd_applies, dd_units, dd_workspace, dd_prepared_floats, dd_prepare,
    dd_estimate, dd_run};
