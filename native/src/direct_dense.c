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
 * in the output image, across row ends, each with its own window start, so stride, dilation,
 * borders and short rows all run the same loop. A layer that reads padding runs on a zero-padded
 * copy of each unit's input rows (the window never leaves it: no test per tap or step); with
 * column dilation 1 and pixels side by side (always so in the copy), a kernel row's kw x cin values
 * are adjacent in the input and in the filter block and run as one loop: the same products in the
 * same order with KW times fewer tap steps.
 *
 * Units: images x bands of at most DD_UNIT_PIXELS output pixels x groups of DD_UNIT_BLOCKS
 * filter blocks, fixed by the layer. Each output is summed in one fixed order (taps, input channels,
 * bias) whatever the unit, tile or thread, so any thread count gives the same bits.
 *
 * The estimate is measured where it runs: the first estimate of the process times the kernel on
 * three small layers and solves for its time per lane multiply-add, per tap step and per float of
 * the padded copy (cost model off: multiples of the built-in sgemm table's time).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

enum {
    DD_CB = 32,           /* output channels per filter block: the prepared filter's lane count */
    DD_UNIT_PIXELS = 96,  /* output pixels per unit at most */
    DD_BAND_ROUND = 12,   /* bands are whole multiples of this (a multiple of every tile width: 12, 6, 4) */
    DD_UNIT_BLOCKS = 2,   /* filter blocks per unit: the input band is reread from L2 per block */
    DD_MAX_NB = 16        /* the widest tile of any width */
};

/* One tile's kernel arguments. */
typedef struct {
    const float *p0[DD_MAX_NB]; /* each pixel's window: its tap (0, 0) value 0 */
    int64_t hoff, woff;         /* floats between kernel rows, and between the column taps looped over */
    int64_t kh, kw, values;     /* kernel rows, column taps looped over, values per tap (fused: 1, kw x cin) */
    int act;
    const float *w;             /* the block's filter at the pass's first lane */
    const float *bias;          /* bias at the pass's first lane, or NULL */
    int64_t lanes;              /* valid lanes of the pass */
    float *o[DD_MAX_NB];        /* each pixel's output at the pass's first lane */
} dd_tile;

/* What a unit's windows read: output row oh's window starts at base + (oh - oh0) * stride_h * rs
   + ow * stride_w * ps (the input in place, or the unit's padded copy). */
typedef struct {
    const float *base;
    int64_t oh0, rs, ps;
} dd_source;

static int64_t dd_block_floats(const c4j_conv2d_desc *d) { return d->kernel_h * d->kernel_w * d->in_c * DD_CB; }

/* some window reads padding: the unit's rows are copied with their padding (see stage) */
static int dd_stages(const c4j_conv2d_desc *d) {
    const int64_t bottom = (d->out_h - 1) * d->stride_h + (d->kernel_h - 1) * d->dilation_h - d->pad_top;
    const int64_t right = (d->out_w - 1) * d->stride_w + (d->kernel_w - 1) * d->dilation_w - d->pad_left;
    return d->pad_top > 0 || d->pad_left > 0 || bottom >= d->in_h || right >= d->in_w;
}

/* a kernel row's kw x cin input values lie side by side: column dilation 1, pixels contiguous */
static int dd_fuses_rows(const c4j_conv2d_desc *d) {
    return d->dilation_w == 1 && (dd_stages(d) || d->in_stride[2] == d->in_c || d->kernel_w == 1);
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

/* the widest kernel this CPU runs: 2 AVX-512, 1 AVX2 + FMA, 0 portable (c4j_cpu_vector_tier is 0
   off x86-64, where this file builds only the portable width) */
static int best_isa(void) { return c4j_cpu_vector_tier(); }

/* one group, input channels contiguous */
static int dd_applies(const c4j_conv2d_desc *d) { return d->groups == 1 && (d->in_stride[3] == 1 || d->in_c == 1); }

static int64_t blocks(const c4j_conv2d_desc *d) { return c4j_ceil_div(d->out_c, DD_CB); }
static int64_t block_groups(const c4j_conv2d_desc *d) { return c4j_ceil_div(blocks(d), DD_UNIT_BLOCKS); }
/*
 * Bands: an image's pixels split into as many bands as DD_UNIT_PIXELS needs, each whole
 * DD_BAND_ROUND-pixel tiles (the last one ends with the image), the tiles shared out evenly (band k
 * starts at tile floor(k * tiles / bands)): threads claim runs of consecutive units, so a short
 * band throws the split off. Bands of 96, 96, 96 and 1 pixels (a 17x17 output) left one of two
 * threads 2x the other's work, and bands rounded up to 84 pixels, 84, 84, 84 and 37, still 1.35x
 * (a first claim of half the units took 58% of the pixels); these are 72, 72, 72 and 73. At most
 * DD_UNIT_PIXELS each: tiles <= 8 x bands.
 */
static int64_t bands(const c4j_conv2d_desc *d) { return C4J_MAX(1, c4j_ceil_div(d->out_h * d->out_w, DD_UNIT_PIXELS)); }

/* the first output pixel of band k of an image (k = bands(d): the image's pixel count) */
static int64_t band_start(const c4j_conv2d_desc *d, int64_t k) {
    const int64_t pixels = d->out_h * d->out_w, tiles = c4j_ceil_div(pixels, DD_BAND_ROUND);
    return C4J_MIN(pixels, k * tiles / bands(d) * DD_BAND_ROUND);
}

static int64_t dd_units(const c4j_conv2d_desc *d) { return d->batch * bands(d) * block_groups(d); }

static int64_t dd_prepared_floats(const c4j_conv2d_desc *d) { return blocks(d) * dd_block_floats(d); }

/* The padded copy of a unit: the input rows of at most stage_out_rows output rows, each as wide
   as the output's windows reach (padding included), pixels of cin floats. */
static int64_t stage_out_rows(const c4j_conv2d_desc *d) { return C4J_MIN(d->out_h, (DD_UNIT_PIXELS - 1) / d->out_w + 2); }
static int64_t stage_width(const c4j_conv2d_desc *d) { return (d->out_w - 1) * d->stride_w + (d->kernel_w - 1) * d->dilation_w + 1; }
static int64_t stage_rows(int64_t out_rows, const c4j_conv2d_desc *d) {
    return (out_rows - 1) * d->stride_h + (d->kernel_h - 1) * d->dilation_h + 1;
}
static int64_t stage_floats(const c4j_conv2d_desc *d) {
    return dd_stages(d) ? stage_rows(stage_out_rows(d), d) * stage_width(d) * d->in_c : 0;
}
static int64_t dd_workspace(const c4j_conv2d_desc *d) { return stage_floats(d) * (int64_t)sizeof(float); }

/* the input of output rows [oh0, oh1] of image img, zero-padded, into dst (row stride width x cin) */
static void stage(const c4j_conv2d_desc *d, const float *img, int64_t oh0, int64_t oh1, float *dst) {
    c4j_stage_input_rows(d, img, oh0, stage_rows(oh1 - oh0 + 1, d), stage_width(d), dst);
}

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
                    float *out, float *workspace, int64_t u0, int64_t u1) {
    const int staged = dd_stages(d), fused = dd_fuses_rows(d);
    dd_tile t;
    t.kh = d->kernel_h;
    t.kw = fused ? 1 : d->kernel_w;
    t.values = fused ? d->kernel_w * d->in_c : d->in_c;
    t.act = (int)d->activation;
    dd_source src;
    src.rs = staged ? stage_width(d) * d->in_c : d->in_stride[1];
    src.ps = staged ? d->in_c : d->in_stride[2];
    t.hoff = d->dilation_h * src.rs;
    t.woff = d->dilation_w * src.ps;
    const float *b = d->has_bias ? bias : NULL;
    const int64_t ngroup = block_groups(d), nband = bands(d);
    for (int64_t unit = u0; unit < u1; unit++) {
        /* block groups innermost: consecutive units share the input band */
        const int64_t grp = unit % ngroup, band = (unit / ngroup) % nband, n = unit / (ngroup * nband);
        const int64_t q0 = band_start(d, band), q1 = band_start(d, band + 1);
        const int64_t b0 = grp * DD_UNIT_BLOCKS, b1 = C4J_MIN(blocks(d), b0 + DD_UNIT_BLOCKS);
        const float *img = in + n * d->in_stride[0];
        if (staged) {
            src.oh0 = q0 / d->out_w;
            stage(d, img, src.oh0, (q1 - 1) / d->out_w, workspace);
            src.base = workspace;
        } else { /* no padding read: pad_top = pad_left = 0 */
            src.oh0 = 0;
            src.base = img;
        }
        float *oimg = out + n * d->out_stride[0];
#ifdef C4J_HAVE_X86_DD
        if (isa == 2) {
            pixels_avx512(&t, d, &src, q0, q1, prepared, b0, b1, b, oimg);
            continue;
        }
        if (isa == 1) {
            pixels_avx2(&t, d, &src, q0, q1, prepared, b0, b1, b, oimg);
            continue;
        }
#endif
        (void)isa;
        pixels_portable(&t, d, &src, q0, q1, prepared, b0, b1, b, oimg);
    }
}

static void dd_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *filter,
                   const float *prepared, const float *bias, float *out, void *workspace, int64_t u0, int64_t u1) {
    (void)blas;
    (void)filter;
    run_isa(best_isa(), d, in, prepared, bias, out, (float *)workspace, u0, u1);
}

/* ------------------------------------------------------------------ the estimate */

/* tile width, lanes per pass and per vector of an instruction set, as its kernel defines them */
static void isa_shape(int isa, int64_t *nb, int64_t *pass_lanes, int64_t *v) {
#ifdef C4J_HAVE_X86_DD
    if (isa == 2) {
        *nb = tile_pixels_avx512, *pass_lanes = pass_lanes_avx512, *v = lanes_avx512;
        return;
    }
    if (isa == 1) {
        *nb = tile_pixels_avx2, *pass_lanes = pass_lanes_avx2, *v = lanes_avx2;
        return;
    }
#endif
    (void)isa;
    *nb = tile_pixels_portable, *pass_lanes = pass_lanes_portable, *v = lanes_portable;
}

/* What the kernel does on d: lane multiply-adds (padded lanes and padded taps included), tap
   steps (a tile's pass over one tap, or one fused kernel row: its pixels' window starts and the
   start of the loop over values) and floats of the padded copies, following run_isa. */
static void work(const c4j_conv2d_desc *d, int isa, double *lane_macs, double *tap_steps, double *staged) {
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
    /* tiles and copied rows per image, band by band */
    double tiles = 0, rows = 0;
    for (int64_t k = 0; k < bands(d); k++) {
        const int64_t q0 = band_start(d, k);
        int64_t left = band_start(d, k + 1) - q0;
        rows += (double)stage_rows((q0 + left - 1) / d->out_w - q0 / d->out_w + 1, d);
        tiles += (double)(left / nb);
        left %= nb;
        tiles += (double)(left / 4 + left % 4);
    }
    const double steps_per_tile = (double)(dd_fuses_rows(d) ? d->kernel_h : taps);
    *lane_macs = (double)d->batch * (double)pixels * lanes * (double)(taps * d->in_c);
    *tap_steps = (double)d->batch * tiles * passes * steps_per_tile;
    *staged = dd_stages(d) ? (double)d->batch * (double)block_groups(d) * rows * (double)(stage_width(d) * d->in_c) : 0;
}

/* Fastest of a few runs of the whole layer d (thread CPU time), or -1 when memory is short. Plain
   malloc: measuring is not part of any convolution's accounted memory. */
static double time_layer(const c4j_conv2d_desc *d, int isa) {
    const int64_t in_floats = d->batch * d->in_stride[0], out_floats = d->batch * d->out_stride[0];
    const int64_t prep = dd_prepared_floats(d);
    float *buf = c4j_probe_buffer(in_floats + out_floats + prep + stage_floats(d));
    if (buf == NULL) return -1;
    float *in = buf, *out = in + in_floats, *prepared = out + out_floats, *ws = prepared + prep;
    for (int64_t i = 0; i < in_floats; i++) in[i] = (float)(i % 7) * 0.25f;
    for (int64_t i = 0; i < prep; i++) prepared[i] = (float)(i % 5) * 0.5f;
    const int64_t units = dd_units(d);
    run_isa(isa, d, in, prepared, NULL, out, ws, 0, units);
    double best = -1;
    for (int rep = 0; rep < 15; rep++) {
        const double t0 = c4j_thread_seconds();
        for (int i = 0; i < 8; i++) run_isa(isa, d, in, prepared, NULL, out, ws, 0, units);
        const double t = (c4j_thread_seconds() - t0) / 8;
        if (best < 0 || t < best) best = t;
    }
    free(buf);
    return best;
}

static void probe_desc(c4j_conv2d_desc *d, int64_t cin, int64_t k, int64_t pad) {
    memset(d, 0, sizeof *d);
    d->batch = 1, d->in_h = 8, d->in_w = 12, d->in_c = cin;
    d->kernel_h = d->kernel_w = k, d->out_c = DD_CB, d->groups = 1;
    d->stride_h = d->stride_w = d->dilation_h = d->dilation_w = 1;
    d->pad_top = d->pad_left = pad;
    d->out_h = 8 + 2 * pad - k + 1, d->out_w = 12 + 2 * pad - k + 1;
    d->in_stride[3] = 1, d->in_stride[2] = cin, d->in_stride[1] = 12 * cin, d->in_stride[0] = 96 * cin;
    d->out_stride[3] = 1, d->out_stride[2] = DD_CB, d->out_stride[1] = d->out_w * DD_CB;
    d->out_stride[0] = d->out_h * d->out_stride[1];
}

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
/* seconds per lane multiply-add, per tap step and per copied float on this machine; written once,
   under g_once */
static double g_mac_s, g_tap_s, g_stage_s;

/*
 * Three small layers, each run in a few microseconds: a 1x1 layer of 64 input channels (the
 * multiply-adds dominate), a 3x3 layer of 2 without padding (the tap steps dominate) and the same
 * with padding (copied). The first two give the multiply-add and the tap step (a 2x2 solve, kept
 * non-negative), the third what remains per copied float.
 */
static void measure(void) {
    const int isa = best_isa();
    c4j_conv2d_desc a, b, c;
    probe_desc(&a, 64, 1, 0);
    probe_desc(&b, 2, 3, 0);
    probe_desc(&c, 2, 3, 1);
    const double ta = time_layer(&a, isa), tb = time_layer(&b, isa), tc = time_layer(&c, isa);
    double ma, sa, ca, mb, sb, cb, mc, sc, cc;
    work(&a, isa, &ma, &sa, &ca);
    work(&b, isa, &mb, &sb, &cb);
    work(&c, isa, &mc, &sc, &cc);
    if (ta > 0 && tb > 0 && tc > 0) {
        double mac, tap;
        c4j_fit_mac_and_step(ta, ma, sa, tb, mb, sb, &mac, &tap);
        const double copy = (tc - mac * mc - tap * sc) / cc;
        g_mac_s = mac, g_tap_s = tap, g_stage_s = copy > 0 ? copy : 0;
    }
}

/*
 * Single-thread seconds: the measured costs times the kernel's work on d, plus the filter packing
 * when include_prepare (as a copied float each). Cost model off (or measuring impossible): the
 * built-in sgemm model's time per multiply-add of a large product for a lane multiply-add, 32 of
 * them for a tap step and 4 for a copied float.
 */
static double dd_estimate(const c4j_conv2d_desc *d, int include_prepare) {
    double mac = 0, tap = 0, copy = 0;
    if (c4j_cost_is_measured()) {
        pthread_once(&g_once, measure);
        mac = g_mac_s, tap = g_tap_s, copy = g_stage_s;
    }
    if (!(mac > 0)) {
        mac = c4j_cost_sgemm_model(256, 256, 256) / (256.0 * 256.0 * 256.0);
        tap = 32 * mac, copy = 4 * mac;
    }
    double lane_macs, tap_steps, staged;
    work(d, best_isa(), &lane_macs, &tap_steps, &staged);
    const double prep = include_prepare ? copy * (double)dd_prepared_floats(d) : 0;
    return mac * lane_macs + tap * tap_steps + copy * staged + prep;
}

const c4j_conv2d_algorithm c4j_conv2d_direct_dense = {
    "direct_dense", C4J_ALGO_DIRECT_DENSE, 1, dd_applies, dd_units, dd_workspace, dd_prepared_floats, dd_prepare,
    dd_estimate, dd_run};
