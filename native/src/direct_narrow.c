/*
 * Narrow dense layers by a direct kernel along output rows (C4J_ALGO_DIRECT_NARROW): one group and
 * at most 16 output channels, the layers of a few microseconds (tiny maps) and the first layers of
 * a network (1-3 input channels), whose contraction KH*KW*Cin is a few dozen products per output.
 *
 * im2col + sgemm spends as much on the patch copy and on sgemm's packing of both operands as on
 * the products there, and DIRECT_DENSE, built for deep layers (32-channel filter blocks, tiles of
 * pixels that cross row ends, each with its own window), spends more on a tile's set-up and
 * epilogue than on its few products. Here the vector is sized to the output channels (8 lanes
 * where there are at most 8, so no half-empty 16-lane vector), and a tile is NB consecutive output
 * pixels of one row: their windows lie a fixed step apart in a zero-padded copy of the unit's
 * input rows, so a tile needs one base address, and the loop over one kernel row's kw x cin
 * values (adjacent in the copy and in the packed filter) runs with every tile pixel's accumulator
 * in a register. Bias and activation are applied while in registers.
 *
 * Each output is one sum in a fixed order (kernel rows, then that row's kw x cin values, then the
 * bias), whatever the unit, tile or thread, so any thread count gives the same bits. Units:
 * images x bands of output rows, fixed by the layer.
 *
 * The estimate is measured where it runs: the first estimate of the process times the kernel on
 * two small layers (a few microseconds each, thread CPU time) and solves for its time per vector
 * multiply-add and per tile row step (a tile's pass over one kernel row: its pointers and loop
 * start), the staged copy counted as vector multiply-adds of its floats; with -Dconv4j.cost=model,
 * multiples of the built-in sgemm table's time.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

enum {
    DN_MAX_COUT = 16,       /* output channels at most: one 16-lane vector, or two of 8 */
    DN_BAND_PIXELS = 384,   /* output pixels per unit, about (whole rows) */
    DN_PREP_LANES = 16      /* lanes per filter value in the prepared filter (zero past the last channel) */
};

/* One tile's arguments: windows of nb pixels, a step apart, in the staged rows. */
typedef struct {
    const float *x;    /* pixel 0's window: its kernel row 0, value 0 */
    int64_t step;      /* floats between two pixels' windows */
    int64_t row;       /* floats between two kernel rows of a window */
    int64_t kh, taps;  /* kernel rows; column runs per kernel row (1 when a row's values are adjacent) */
    int64_t tap;       /* floats between two column runs */
    int64_t values;    /* values per run: kw x cin when fused, cin otherwise */
    const float *w;    /* the packed filter [kh][taps][values][DN_PREP_LANES] */
    const float *bias; /* NULL without; else DN_PREP_LANES floats, zero past the last channel */
    int act;
    float *o;          /* pixel 0's output */
    int64_t ostep;     /* floats between two pixels' outputs */
    int64_t lanes;     /* output channels */
} dn_tile;

#define DN_CAT2(a, b) a##_##b
#define DN_CAT(a, b) DN_CAT2(a, b)

/*
 * The kernel for one vector width: before each instantiation DN_ISA (name suffix), DN_V (lanes
 * per vector), DN_NV (vectors per pixel) and DN_TARGET (target attribute) are defined. A tile of
 * nb pixels keeps nb x DN_NV accumulators in registers.
 */
#define DN_KERNEL                                                                                          \
    typedef float DN_CAT(vec, DN_ISA) __attribute__((vector_size(DN_V * sizeof(float))));                   \
    typedef float DN_CAT(uvec, DN_ISA) __attribute__((vector_size(DN_V * sizeof(float)), aligned(4)));      \
    typedef int32_t DN_CAT(ivec, DN_ISA) __attribute__((vector_size(DN_V * sizeof(float))));                \
    static inline __attribute__((always_inline)) DN_TARGET void DN_CAT(tile, DN_ISA)(const dn_tile *t, const int nb) { \
        typedef DN_CAT(vec, DN_ISA) vec;                                                                    \
        typedef DN_CAT(uvec, DN_ISA) uvec;                                                                  \
        typedef DN_CAT(ivec, DN_ISA) ivec;                                                                  \
        vec acc[DN_NB > 8 ? DN_NB : 8][DN_NV];                                                              \
        _Pragma("GCC unroll 16") for (int j = 0; j < nb; j++)                                               \
            _Pragma("GCC unroll 2") for (int v = 0; v < DN_NV; v++) acc[j][v] = (vec){0};                   \
        const float *w = t->w;                                                                              \
        const float *p[DN_NB > 8 ? DN_NB : 8]; /* each pixel's window, advanced row by row */               \
        _Pragma("GCC unroll 16") for (int j = 0; j < nb; j++) p[j] = t->x + j * t->step;                    \
        for (int64_t r = 0; r < t->kh; r++) {                                                               \
            for (int64_t q = 0; q < t->taps; q++, w += t->values * DN_PREP_LANES) {                         \
                const int64_t off = q * t->tap;                                                             \
                for (int64_t c = 0; c < t->values; c++) {                                                   \
                    vec wv[DN_NV];                                                                          \
                    _Pragma("GCC unroll 2") for (int v = 0; v < DN_NV; v++)                                 \
                        wv[v] = *(const uvec *)(const void *)(w + c * DN_PREP_LANES + v * DN_V);            \
                    _Pragma("GCC unroll 16") for (int j = 0; j < nb; j++) {                                 \
                        const float s = p[j][off + c];                                                      \
                        _Pragma("GCC unroll 2") for (int v = 0; v < DN_NV; v++) acc[j][v] += s * wv[v];     \
                    }                                                                                       \
                }                                                                                           \
            }                                                                                               \
            _Pragma("GCC unroll 16") for (int j = 0; j < nb; j++) p[j] += t->row;                           \
        }                                                                                                   \
        const vec zero = {0}, six = zero + 6.0f;                                                            \
        _Pragma("GCC unroll 16") for (int j = 0; j < nb; j++) {                                             \
            _Pragma("GCC unroll 2") for (int v = 0; v < DN_NV; v++) {                                       \
                vec a = acc[j][v];                                                                          \
                if (t->bias != NULL) a += *(const uvec *)(const void *)(t->bias + v * DN_V);                \
                if (t->act != C4J_ACT_NONE) { /* as c4j_relu / c4j_relu6: NaN passes */                     \
                    const ivec neg = a <= zero;                                                             \
                    a = (vec)((ivec)a & ~neg);                                                              \
                    if (t->act == C4J_ACT_RELU6) {                                                          \
                        const ivec big = a >= six;                                                          \
                        a = (vec)(((ivec)a & ~big) | ((ivec)six & big));                                    \
                    }                                                                                       \
                }                                                                                           \
                float *o = t->o + j * t->ostep + v * DN_V;                                                  \
                const int64_t lanes = t->lanes - v * DN_V;                                                  \
                if (lanes >= DN_V) {                                                                        \
                    *(uvec *)(void *)o = a;                                                                 \
                } else if (lanes > 0) {                                                                     \
                    float tmp[DN_V];                                                                        \
                    *(uvec *)(void *)tmp = a;                                                               \
                    memcpy(o, tmp, sizeof(float) * (size_t)lanes);                                          \
                }                                                                                           \
            }                                                                                               \
        }                                                                                                   \
    }                                                                                                       \
    static __attribute__((noinline)) DN_TARGET void DN_CAT(tile_full, DN_ISA)(const dn_tile *t) { DN_CAT(tile, DN_ISA)(t, DN_NB); } \
    static __attribute__((noinline)) DN_TARGET void DN_CAT(tile_8, DN_ISA)(const dn_tile *t) { DN_CAT(tile, DN_ISA)(t, 8); }        \
    static __attribute__((noinline)) DN_TARGET void DN_CAT(tile_4, DN_ISA)(const dn_tile *t) { DN_CAT(tile, DN_ISA)(t, 4); }        \
    static __attribute__((noinline)) DN_TARGET void DN_CAT(tile_2, DN_ISA)(const dn_tile *t) { DN_CAT(tile, DN_ISA)(t, 2); }        \
    static __attribute__((noinline)) DN_TARGET void DN_CAT(tile_1, DN_ISA)(const dn_tile *t) { DN_CAT(tile, DN_ISA)(t, 1); }        \
    /* one output row's pixels [0, ow) as tiles of DN_NB, then 8, 4, 2, 1 below it (t->x, t->o at pixel 0) */ \
    static DN_TARGET void DN_CAT(row, DN_ISA)(dn_tile *t, int64_t ow) {                                     \
        const float *x0 = t->x;                                                                             \
        float *o0 = t->o;                                                                                   \
        for (int64_t p = 0; p < ow;) {                                                                      \
            const int64_t left = ow - p;                                                                    \
            t->x = x0 + p * t->step, t->o = o0 + p * t->ostep;                                              \
            if (left >= DN_NB) DN_CAT(tile_full, DN_ISA)(t), p += DN_NB;                                    \
            else if (DN_NB > 8 && left >= 8) DN_CAT(tile_8, DN_ISA)(t), p += 8;                             \
            else if (DN_NB > 4 && left >= 4) DN_CAT(tile_4, DN_ISA)(t), p += 4;                             \
            else if (left >= 2) DN_CAT(tile_2, DN_ISA)(t), p += 2;                                          \
            else DN_CAT(tile_1, DN_ISA)(t), p += 1;                                                         \
        }                                                                                                   \
    }

/* portable: 4 lanes x 4 vectors (any CPU, aarch64 included) */
#define DN_ISA portable
#define DN_V 4
#define DN_NV 4
#define DN_NB 8
#define DN_TARGET
DN_KERNEL
#undef DN_ISA
#undef DN_V
#undef DN_NV
#undef DN_NB
#undef DN_TARGET

#if defined(__x86_64__) && defined(__GNUC__)
#define C4J_HAVE_X86_DN 1
/* AVX2: 8 lanes, 1 vector (<= 8 channels, 12 pixels: 14 of 16 registers) or 2 (6 pixels: 15) */
#define DN_ISA avx2_8
#define DN_V 8
#define DN_NV 1
#define DN_NB 12
#define DN_TARGET __attribute__((target("avx2,fma")))
DN_KERNEL
#undef DN_ISA
#undef DN_NV
#undef DN_NB
#define DN_ISA avx2_16
#define DN_NV 2
#define DN_NB 6
DN_KERNEL
#undef DN_ISA
#undef DN_V
#undef DN_NV
#undef DN_NB
#undef DN_TARGET
/* AVX-512: 8 lanes in 256-bit registers (<= 8 channels) or one 16-lane vector, 12 pixels */
#define DN_ISA avx512_8
#define DN_V 8
#define DN_NV 1
#define DN_NB 12
#define DN_TARGET __attribute__((target("avx512f,avx512vl")))
DN_KERNEL
#undef DN_ISA
#undef DN_V
#define DN_ISA avx512_16
#define DN_V 16
DN_KERNEL
#undef DN_ISA
#undef DN_V
#undef DN_NV
#undef DN_NB
#undef DN_TARGET
#endif

/* The kernel row function for this CPU and channel count. */
typedef void (*dn_row_fn)(dn_tile *t, int64_t ow);
static dn_row_fn row_fn(int isa, int64_t out_c) {
#ifdef C4J_HAVE_X86_DN
    if (isa == 2) return out_c <= 8 ? row_avx512_8 : row_avx512_16;
    if (isa == 1) return out_c <= 8 ? row_avx2_8 : row_avx2_16;
#endif
    (void)isa, (void)out_c;
    return row_portable;
}

static int dn_applies(const c4j_conv2d_desc *d) {
    return d->groups == 1 && d->out_c <= DN_MAX_COUT && d->out_w > 0;
}

static int64_t band_rows(const c4j_conv2d_desc *d) { return C4J_MAX(1, C4J_MIN(d->out_h, DN_BAND_PIXELS / d->out_w)); }
static int64_t bands(const c4j_conv2d_desc *d) { return c4j_ceil_div(d->out_h, band_rows(d)); }
static int64_t dn_units(const c4j_conv2d_desc *d) { return d->batch * bands(d); }

static int64_t dn_prepared_floats(const c4j_conv2d_desc *d) {
    return d->kernel_h * d->kernel_w * d->in_c * DN_PREP_LANES;
}

/* The staged copy of a band: its input rows, zero-padded, pixels of cin floats side by side. */
static int64_t stage_width(const c4j_conv2d_desc *d) { return (d->out_w - 1) * d->stride_w + (d->kernel_w - 1) * d->dilation_w + 1; }
static int64_t stage_rows(const c4j_conv2d_desc *d, int64_t out_rows) {
    return (out_rows - 1) * d->stride_h + (d->kernel_h - 1) * d->dilation_h + 1;
}
static int64_t stage_floats(const c4j_conv2d_desc *d) { return stage_rows(d, band_rows(d)) * stage_width(d) * d->in_c; }

/* A channels-first output (channel planes, NCHW): each band is computed into a channels-last band
   buffer and then copied plane by plane. Stored pixel by pixel instead, a tile's channels would land
   in as many planes at once, which map to one cache set when a plane is a multiple of 4 KiB. The
   copy follows the whole band, not each row: a row's floats read back right after the kernel's
   vector stores wait on store-to-load forwarding, which a wide store cannot give a narrow load. */
static int planes(const c4j_conv2d_desc *d) { return d->out_stride[3] != 1 && d->out_c > 1; }
static int64_t band_buffer_floats(const c4j_conv2d_desc *d) { return planes(d) ? band_rows(d) * d->out_w * d->out_c : 0; }

static int64_t dn_workspace(const c4j_conv2d_desc *d) {
    return (stage_floats(d) + band_buffer_floats(d)) * (int64_t)sizeof(float);
}

/* Input rows of output rows [oh0, oh0 + rows) of image img, zero-padded, into dst. */
static void stage(const c4j_conv2d_desc *d, const float *img, int64_t oh0, int64_t rows, float *dst) {
    c4j_stage_input_rows(d, img, oh0, stage_rows(d, rows), stage_width(d), dst);
}

/* [kh][kw][cin][DN_PREP_LANES], flipped when asked, zero past the last output channel */
static void dn_prepare(const c4j_conv2d_desc *d, const float *filter, float *prepared) {
    const int64_t kh = d->kernel_h, kw = d->kernel_w, cin = d->in_c;
    for (int64_t i = 0; i < kh; i++)
        for (int64_t j = 0; j < kw; j++) {
            const int64_t fi = d->flip ? kh - 1 - i : i, fj = d->flip ? kw - 1 - j : j;
            for (int64_t c = 0; c < cin; c++, prepared += DN_PREP_LANES) {
                memcpy(prepared, filter + ((fi * kw + fj) * cin + c) * d->out_c, sizeof(float) * (size_t)d->out_c);
                memset(prepared + d->out_c, 0, sizeof(float) * (size_t)(DN_PREP_LANES - d->out_c));
            }
        }
}

/* Output rows [oh0, oh0 + rows) of one image from the channels-last band buffer into their channel
   planes, one plane at a time (a plane's rows as one run where they are contiguous). */
/* A band's output planes as runs of floats contiguous in each plane: the band's whole plane when
   its rows follow each other in memory (one run of rows x out_w pixels), else one run per row. */
typedef struct {
    int64_t len, count;
} plane_runs;

static plane_runs runs_of(const c4j_conv2d_desc *d, int64_t rows) {
    const int whole = d->out_stride[2] == 1 && d->out_stride[1] == d->out_w;
    return (plane_runs){whole ? rows * d->out_w : d->out_w, whole ? 1 : rows};
}

/* Pixels [x0, len) of one run (b: its pixels in the band, oc floats each) into every plane. */
static void copy_run(const float *b, int64_t oc, float *plane, int64_t cs, int64_t ps, int64_t x0, int64_t len) {
    for (int64_t c = 0; c < oc; c++) {
        float *p = plane + c * cs;
        if (ps == 1) {
            for (int64_t x = x0; x < len; x++) p[x] = b[x * oc + c];
        } else {
            for (int64_t x = x0; x < len; x++) p[x * ps] = b[x * oc + c];
        }
    }
}

static void write_planes(const c4j_conv2d_desc *d, const float *band, int64_t rows, float *o) {
    const plane_runs r = runs_of(d, rows);
    for (int64_t i = 0; i < r.count; i++)
        copy_run(band + i * r.len * d->out_c, d->out_c, o + i * d->out_stride[1], d->out_stride[3], d->out_stride[2], 0, r.len);
}

#ifdef C4J_HAVE_X86_DN
/* write_planes for planes whose pixels are adjacent: 16 pixels at a time through registers
   (c4j_pixels16_to_planes), the run's last pixels as write_planes does. */
static void write_planes_avx512(const c4j_conv2d_desc *d, const float *band, int64_t rows, float *o) {
    const int64_t oc = d->out_c, cs = d->out_stride[3];
    const plane_runs r = runs_of(d, rows);
    for (int64_t i = 0; i < r.count; i++) {
        const float *b = band + i * r.len * oc;
        float *plane = o + i * d->out_stride[1];
        int64_t x = 0;
        for (; x + 16 <= r.len; x += 16) c4j_pixels16_to_planes(b + x * oc, oc, oc, plane + x, cs);
        copy_run(b, oc, plane, cs, 1, x, r.len);
    }
}
#endif

static void run_isa(int isa, const c4j_conv2d_desc *d, const float *in, const float *prepared, const float *bias,
                    float *out, float *staged, int64_t u0, int64_t u1) {
    const dn_row_fn row = row_fn(isa, d->out_c);
    const int64_t width = stage_width(d), cin = d->in_c, rows = band_rows(d), nband = bands(d);
    const int fused = d->dilation_w == 1; /* a kernel row's kw x cin values adjacent in the copy */
    dn_tile t;
    t.step = d->stride_w * cin;
    t.row = d->dilation_h * width * cin;
    t.kh = d->kernel_h;
    t.taps = fused ? 1 : d->kernel_w;
    t.tap = d->dilation_w * cin;
    t.values = fused ? d->kernel_w * cin : cin;
    t.w = prepared;
    float padded[DN_PREP_LANES] = {0}; /* the bias as whole vectors */
    if (d->has_bias && bias != NULL) memcpy(padded, bias, sizeof(float) * (size_t)d->out_c);
    t.bias = d->has_bias ? padded : NULL;
    t.act = (int)d->activation;
    t.ostep = d->out_stride[2];
    t.lanes = d->out_c;
    float *band = planes(d) ? staged + stage_floats(d) : NULL;
    if (band != NULL) t.ostep = d->out_c;
    for (int64_t u = u0; u < u1; u++) {
        const int64_t n = u / nband, oh0 = (u % nband) * rows, oh1 = C4J_MIN(d->out_h, oh0 + rows);
        stage(d, in + n * d->in_stride[0], oh0, oh1 - oh0, staged);
        for (int64_t oh = oh0; oh < oh1; oh++) {
            t.x = staged + (oh - oh0) * d->stride_h * width * cin;
            t.o = band != NULL ? band + (oh - oh0) * d->out_w * d->out_c : out + n * d->out_stride[0] + oh * d->out_stride[1];
            row(&t, d->out_w);
        }
        if (band != NULL) {
            float *o = out + n * d->out_stride[0] + oh0 * d->out_stride[1];
#ifdef C4J_HAVE_X86_DN
            if (isa == 2 && d->out_stride[2] == 1) {
                write_planes_avx512(d, band, oh1 - oh0, o);
                continue;
            }
#endif
            write_planes(d, band, oh1 - oh0, o);
        }
    }
}

static void dn_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *filter,
                   const float *prepared, const float *bias, float *out, void *workspace, int64_t u0, int64_t u1) {
    (void)blas, (void)filter;
    run_isa(c4j_cpu_vector_tier(), d, in, prepared, bias, out, (float *)workspace, u0, u1);
}

/* ------------------------------------------------------------------ the estimate */

/* Vector multiply-adds (the staged floats counted as such) and tile row steps of d, following run_isa. */
static void work(const c4j_conv2d_desc *d, int isa, double *macs, double *steps) {
    const int64_t nb = isa == 2 || (isa == 1 && d->out_c <= 8) ? 12 : isa == 1 ? 6 : 8;
    const int64_t vectors = isa == 0 ? 4 : isa == 2 || d->out_c <= 8 ? 1 : 2;
    int64_t tiles = 0; /* per output row, as row() cuts it */
    for (int64_t left = d->out_w; left > 0; tiles++)
        left -= left >= nb ? nb : nb > 8 && left >= 8 ? 8 : nb > 4 && left >= 4 ? 4 : left >= 2 ? 2 : 1;
    const int64_t ow = d->out_w;
    const double taps = (double)d->kernel_h * (double)(d->dilation_w == 1 ? 1 : d->kernel_w);
    const double images = (double)d->batch, pixels = (double)d->out_h * (double)ow;
    /* a channels-first output: each float copied once more, from the row buffer (counted as a multiply-add) */
    const double plane_copies = planes(d) ? (double)(d->out_w * d->out_c * d->out_h) : 0;
    *macs = images * (pixels * (double)vectors * (double)(d->kernel_h * d->kernel_w * d->in_c) + plane_copies +
                      (double)bands(d) * (double)(stage_rows(d, band_rows(d)) * stage_width(d) * d->in_c));
    *steps = images * (double)d->out_h * (double)tiles * taps;
}

/* Fastest of a few runs of the whole layer d (thread CPU time), or -1 when memory is short. */
static double time_layer(const c4j_conv2d_desc *d, int isa) {
    const int64_t in_floats = d->batch * d->in_stride[0], out_floats = d->batch * d->out_stride[0];
    const int64_t prep = dn_prepared_floats(d);
    float *buf = c4j_probe_buffer(in_floats + out_floats + prep + dn_workspace(d) / (int64_t)sizeof(float));
    if (buf == NULL) return -1;
    float *in = buf, *out = in + in_floats, *prepared = out + out_floats, *ws = prepared + prep;
    for (int64_t i = 0; i < in_floats; i++) in[i] = (float)(i % 7) * 0.25f;
    for (int64_t i = 0; i < prep; i++) prepared[i] = (float)(i % 5) * 0.5f;
    run_isa(isa, d, in, prepared, NULL, out, ws, 0, dn_units(d));
    double best = -1;
    for (int rep = 0; rep < 15; rep++) {
        const double t0 = c4j_thread_seconds();
        for (int i = 0; i < 8; i++) run_isa(isa, d, in, prepared, NULL, out, ws, 0, dn_units(d));
        const double t = (c4j_thread_seconds() - t0) / 8;
        if (best < 0 || t < best) best = t;
    }
    free(buf);
    return best;
}

/* a dense 16 x 16 image of cin channels, k x k kernel, padding 1, cout channels */
static void probe_desc(c4j_conv2d_desc *d, int64_t cin, int64_t k, int64_t cout) {
    memset(d, 0, sizeof *d);
    d->batch = 1, d->in_h = d->in_w = 16, d->in_c = cin;
    d->kernel_h = d->kernel_w = k, d->out_c = cout, d->groups = 1;
    d->stride_h = d->stride_w = d->dilation_h = d->dilation_w = 1;
    d->pad_top = d->pad_left = 1;
    d->out_h = d->out_w = 16 + 2 - k + 1;
    d->in_stride[3] = 1, d->in_stride[2] = cin, d->in_stride[1] = 16 * cin, d->in_stride[0] = 256 * cin;
    d->out_stride[3] = 1, d->out_stride[2] = cout, d->out_stride[1] = d->out_w * cout;
    d->out_stride[0] = d->out_h * d->out_stride[1];
}

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
/* seconds per vector multiply-add and per tile row step on this machine; written once, under g_once */
static double g_mac_s, g_step_s;

/* Two layers of a few microseconds: 3x3 over 16 channels (the products dominate) and over 1
   channel (the row steps dominate); a 2x2 solve, kept non-negative. */
static void measure(void) {
    const int isa = c4j_cpu_vector_tier();
    c4j_conv2d_desc a, b;
    probe_desc(&a, 16, 3, DN_MAX_COUT);
    probe_desc(&b, 1, 3, DN_MAX_COUT);
    const double ta = time_layer(&a, isa), tb = time_layer(&b, isa);
    double ma, sa, mb, sb;
    work(&a, isa, &ma, &sa);
    work(&b, isa, &mb, &sb);
    if (ta > 0 && tb > 0) {
        double mac, step;
        c4j_fit_mac_and_step(ta, ma, sa, tb, mb, sb, &mac, &step);
        g_mac_s = mac, g_step_s = step;
    }
}

/*
 * Single-thread seconds: the measured costs times the kernel's work on d, plus the filter packing
 * when include_prepare (a multiply-add per packed float). Cost model off (or measuring
 * impossible): 16 x the built-in sgemm model's time per multiply-add of a large product for a
 * vector multiply-add (16 lanes) and 32 x it for a row step.
 */
static double dn_estimate(const c4j_conv2d_desc *d, int include_prepare) {
    double mac = 0, step = 0;
    if (c4j_cost_is_measured()) {
        pthread_once(&g_once, measure);
        mac = g_mac_s, step = g_step_s;
    }
    if (!(mac > 0)) {
        const double unit = c4j_cost_sgemm_model(256, 256, 256) / (256.0 * 256.0 * 256.0);
        mac = 16 * unit, step = 32 * unit;
    }
    double macs, steps;
    work(d, c4j_cpu_vector_tier(), &macs, &steps);
    const double prep = include_prepare ? mac * (double)dn_prepared_floats(d) : 0;
    return mac * macs + step * steps + prep;
}

const c4j_conv2d_algorithm c4j_conv2d_direct_narrow = {
    "direct_narrow", C4J_ALGO_DIRECT_NARROW, 1, dn_applies, dn_units, dn_workspace, dn_prepared_floats, dn_prepare,
    dn_estimate, dn_run};
