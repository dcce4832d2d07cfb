/*
 * Grouped and depthwise convolution by a direct kernel vectorised over output channels
 * (C4J_ALGO_GROUPED_DIRECT).
 *
 * A depthwise layer is no contraction over channels: each output channel sums KH x KW products of
 * one input channel, so sgemm gets calls of N = 1 and runs at a small fraction of its speed. In
 * channels-last data the channels of a pixel are contiguous, so one vector holds the same pixel
 * of GD_V channels and every tap is a vector multiply-add:
 *   acc[ow][o..o+V) += x[ih][iw][o..o+V) * w[kh][kw][o..o+V)
 * Layers with a column stride of 1 or 2, column dilation 1 and up to 8 taps per kernel row
 * (nearly every depthwise and small-group layer) run strip kernels, one per tap count and stride:
 * a run of GD_SNB output pixels loads the input vectors of each kernel row (and input channel of
 * the group) once into registers and takes all its products from there, and border runs load
 * padded columns as zeros, so small maps and wide kernels run the same code as the interior.
 * Other geometries (and the broadcast below) run a register block of GD_NB
 * output pixels along W sharing each filter vector load, with the padding handled by clipping
 * the tap range per output row and per border pixel, never by a test in the inner loop.
 *
 * Grouped layers whose groups hold whole 16-lane vectors of output channels take each product as
 * a filter vector times one input channel broadcast from the input in place:
 *   acc[o] += x[ih][iw][g * cg + c] * w[kh][kw][c][o]     (all lanes o in group g)
 * Other grouped layers with a few input channels per group (cg) and depthwise layers with a
 * channel multiplier run the same kernel on a staged copy of the input rows in which lane o of input
 * channel c holds x[(o / cout_g) * cg + c]: acc[o] += x'[c][o] * w[kh][kw][c][o]. The copy also
 * serves channel blocks whose vectors would read past the last input channel and strided
 * channel views. Where a filter vector could reach past the last output channel, or the filter is
 * flipped, the filter block is copied per unit (flipped, zero-padded to whole vectors).
 *
 * Units: images x bands of output rows x blocks of output channels (up to GD_WIDE read in place,
 * so that a unit streams whole pixels; up to GD_BLOCK staged), fixed by the descriptor, so any
 * thread count gives the same bits. Bands hold up to GD_ROWS rows, fewer on layers that would
 * otherwise have under GD_MIN_UNITS units: a 14x14 or 7x7 map in bands of 4 gave 4 to 12 units, too
 * few for two threads to share evenly; the rows are shared evenly between the bands (no short
 * last band), so units of an image differ by at most one row. The filter is read in
 * place where its vectors fit (no flip, whole or overlapping vectors), so a unit's only fixed cost
 * is its row set-up. The multiply-adds run outside sgemm.
 */
#include <stdint.h>

#include "internal.h"

enum {
    GD_BLOCK = 64,     /* output channels per unit when staged (a multiple of every vector width) */
    GD_WIDE = 256,     /* output channels per unit when read in place */
    GD_ROWS = 4,       /* output rows per unit, at most */
    GD_MIN_UNITS = 16, /* units a layer gets from narrower bands, down to one row (see band_rows) */
    GD_MAX_CG = 16,    /* input channels per group this kernel takes; more is a contraction for sgemm */
    GD_NB = 8,         /* output pixels per register block */
    GD_PV = 4,         /* vectors a short run computes at once (see GD(run_vectors)) */
    GD_SNB_MAX = 8     /* the widest width's strip run (GD_SNB of the AVX-512 kernel) */
};

/* Everything one unit's kernel reads, with the channel block's offsets applied. */
typedef struct {
    const float *src;            /* input (or staged rows) at the block's first lane; row `row0` */
    int64_t row0, rs, ps, cs;    /* first row held, row / pixel / group-channel strides of src */
    const float *w;              /* filter block [kh][kw][cg][wl] at the block's first lane, flipped if asked */
    const float *bias;           /* at the block's first lane, or NULL */
    int64_t wl;                  /* floats between the filter's lane vectors of neighbouring (tap, channel) */
    int64_t cg, cw, cwp;         /* input channels per group, valid lanes, lanes padded to 16 */
    int64_t kh, kw, sh, sw, dh, dw, pt, pl, in_h, in_w, out_w;
    int64_t ow_lo, ow_hi;        /* output columns whose taps all lie inside the input */
    int64_t step, ostep, os_h;   /* input floats between neighbouring output pixels; output strides */
    int act;
    int overlap_tail;            /* a partial last vector is read as the block's last GD_V lanes */
    int bcast;                   /* lanes of one group: each input channel broadcast from in place */
    int strips;                  /* the strip kernels run the rows (see runs_strips) */
    int lone_borders;            /* strips: border pixels alone, the interior unchecked (see lone_borders) */
    int64_t o0, cout_g;          /* the block's first output channel; output channels per group */
} gd_unit;

/* per lane of a block: offset of its group's first input channel in a pixel */
static void lane_channels(const c4j_conv2d_desc *d, int64_t o0, int64_t cw, int32_t *chan) {
    for (int64_t l = 0; l < cw; l++) chan[l] = (int32_t)(((o0 + l) / c4j_cout_g(d)) * c4j_cin_g(d) * d->in_stride[3]);
}

/* The taps [lo, hi) of one kernel axis (k taps, dil apart) that land inside an input extent of
   `extent` for a window whose tap 0 lies at `origin` (negative in the leading padding); empty
   (hi == lo) where none do. The kernels clip their row and column taps with it and the estimate
   counts them with it, so the two cannot disagree. */
typedef struct {
    int64_t lo, hi;
} gd_taps;

static inline gd_taps gd_inside_taps(int64_t origin, int64_t dil, int64_t k, int64_t extent) {
    gd_taps t;
    t.lo = origin < 0 ? c4j_ceil_div(-origin, dil) : 0;
    t.hi = C4J_MAX(t.lo, C4J_MIN(k, extent - origin <= 0 ? 0 : c4j_ceil_div(extent - origin, dil)));
    return t;
}

/* what a strip kernel reads for an input column outside the row (padding): one vector of the
   widest width, read-only */
static const float GD_ZEROS[16] __attribute__((aligned(64))) = {0};

/* Where a test counts the strip kernels' work: called by GD(row_strips) for every call it makes
   (snb: the width's run, taps: the row's kernel rows, nb: pixels per run or 0 for a lone border
   pixel at column ow, nr: runs). test_grouped_direct.c defines it to tie the estimate's count
   (strip_row_ops, tap_rows) to the runs the kernels make; the library compiles it away. */
#ifndef GD_ROW_HOOK
#define GD_ROW_HOOK(snb, taps, nb, nr, ow) ((void)0)
#endif

#define GD_ISA portable
#define GD_BLOCK_PV 1
#define GD_V 4
#define GD_SNB 4
#define GD_PIN_LOADS 0
#define GD_TILE 4
#define GD_TARGET
#include "grouped_direct_simd.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h> /* the channel tail's masked stores */
#define C4J_HAVE_X86_GD 1
#define GD_ISA avx2
#define GD_BLOCK_PV 1
#define GD_V 8
#define GD_SNB 4
#define GD_PIN_LOADS 0
#define GD_TILE 4
#define GD_TARGET __attribute__((target("avx2,fma")))
#include "grouped_direct_simd.h"

#define GD_ISA avx512
#define GD_BLOCK_PV 2
#define GD_V 16
#define GD_SNB 8
#define GD_PIN_LOADS 1
#define GD_TILE 4
#define GD_TARGET __attribute__((target("avx512f")))
#include "grouped_direct_simd.h"
#endif

static int64_t round16(int64_t x) { return (x + 15) & ~(int64_t)15; }

/* groups, and staging's int32 channel offsets (gathers) */
int c4j_gd_applicable(const c4j_conv2d_desc *d) {
    return d->groups > 1 && c4j_cin_g(d) <= GD_MAX_CG && d->in_c * d->in_stride[3] <= INT32_MAX;
}

/* depthwise with multiplier 1 and contiguous channels: the kernel can read the input in place */
static int in_place(const c4j_conv2d_desc *d) {
    return c4j_cin_g(d) == 1 && c4j_cout_g(d) == 1 && d->in_stride[3] == 1;
}

/* Several input channels per group and whole 16-lane vectors of output channels per group (every
   width's vectors then lie inside one group): each product is a filter vector times one input
   channel broadcast from the input in place, with no staged copy (which would hold cg copies of
   each input float per group). */
static int broadcasts(const c4j_conv2d_desc *d) { return c4j_cin_g(d) > 1 && c4j_cout_g(d) % 16 == 0; }

/* output channels per block: even blocks of at most GD_WIDE (in place) or GD_BLOCK (staged),
   rounded up to 16 */
static int64_t block_width(const c4j_conv2d_desc *d) {
    const int64_t n = c4j_ceil_div(d->out_c, in_place(d) ? GD_WIDE : GD_BLOCK);
    return round16(c4j_ceil_div(d->out_c, n));
}

static int64_t blocks(const c4j_conv2d_desc *d) { return c4j_ceil_div(d->out_c, block_width(d)); }

/* The block at channel o0 reads the input in place: depthwise with multiplier 1, channels
   contiguous, and at least one whole vector of every width wide (a partial last vector then
   overlaps the one before instead of reading past the pixel's channels). */
static int reads_input(const c4j_conv2d_desc *d, int64_t o0) { return in_place(d) && d->out_c - o0 >= 16; }

/* lanes read in place or staged (not broadcast), column dilation 1, a column stride of 1 or 2 and
   at most 8 taps per kernel row: the strip kernels of grouped_direct_simd.h run the rows */
static int runs_strips(const c4j_conv2d_desc *d) {
    return !broadcasts(d) && d->dilation_w == 1 && d->stride_w <= 2 && d->kernel_w <= 8;
}

/* Strip rows with at most one border pixel on each side and an interior of at least one run of
   the widest width (GD_SNB_MAX, so every width decides alike) compute the border pixels alone,
   their taps clipped, and the interior in unchecked runs: a run that reads padding (a pointer
   select per load) costs about 1.25x an interior run, and on a 14-pixel row two such runs
   were all of the row. Wider borders (5x5, 7x7) keep their checked runs: there a lone pixel's
   many taps, one filter load per multiply-add, cost more than the select. */
static int lone_borders(int64_t ow_lo, int64_t ow_hi, int64_t out_w) {
    return ow_lo <= 1 && out_w - ow_hi <= 1 && ow_hi - ow_lo >= GD_SNB_MAX;
}

/* staged rows needed: neither read in place nor broadcast */
static int stages(const c4j_conv2d_desc *d) {
    return !broadcasts(d) && (!reads_input(d, 0) || !reads_input(d, (blocks(d) - 1) * block_width(d)));
}

/* output rows per band: GD_ROWS, halved while the layer has fewer than GD_MIN_UNITS units (a
   property of the layer, not of the thread count); not where the input rows are staged, as each
   band stages the rows its neighbours read too (3x3 in bands of 2 staged a third more rows and
   ran 1.24x slower on 56x56x32 with a channel multiplier of 2) */
static int64_t band_rows(const c4j_conv2d_desc *d) {
    int64_t rows = GD_ROWS;
    if (stages(d)) return rows;
    while (rows > 1 && d->batch * c4j_ceil_div(d->out_h, rows) * blocks(d) < GD_MIN_UNITS) rows /= 2;
    return rows;
}

static int64_t bands(const c4j_conv2d_desc *d) { return c4j_ceil_div(d->out_h, band_rows(d)); }

/* The first output row of band k of nband (k = nband: out_h). The rows are shared evenly, band
   sizes differing by at most one row, rather than whole bands of band_rows and a short last one:
   the executor's first claim takes half the units, and a short last band left that half with more
   rows (14 rows as 4, 4, 4, 2 and four channel blocks: 32 of 56 row-blocks). */
static int64_t band_start(int64_t out_h, int64_t nband, int64_t k) { return k * out_h / nband; }

int64_t c4j_gd_units(const c4j_conv2d_desc *d) { return d->batch * bands(d) * blocks(d); }

/* input rows a band of band_rows output rows reads */
static int64_t band_in_rows(const c4j_conv2d_desc *d) {
    return C4J_MIN(d->in_h, (band_rows(d) - 1) * d->stride_h + (d->kernel_h - 1) * d->dilation_h + 1);
}

/* The kernel reads the filter and bias in place: unflipped, and every vector it loads lies inside
   the output channels (whole 16-lane blocks, or a partial last vector moved back to overlap the
   one before, as when reading the input in place). Else each unit copies its block. */
static int reads_filter(const c4j_conv2d_desc *d) {
    return !d->flip && (d->out_c % 16 == 0 || reads_input(d, (blocks(d) - 1) * block_width(d)));
}

/* floats of one unit's staged input rows, 0 where it reads the input in place or broadcasts */
static int64_t staged_floats(const c4j_conv2d_desc *d) {
    return stages(d) ? band_in_rows(d) * d->in_w * c4j_cin_g(d) * block_width(d) : 0;
}

static int64_t filter_floats(const c4j_conv2d_desc *d) {
    return reads_filter(d) ? 0 : d->kernel_h * d->kernel_w * c4j_cin_g(d) * block_width(d);
}

int64_t c4j_gd_workspace(const c4j_conv2d_desc *d) {
    const int64_t bw = block_width(d);
    const int64_t floats = filter_floats(d) + (reads_filter(d) ? 0 : bw) + staged_floats(d);
    return floats * (int64_t)sizeof(float);
}

/* the block's filter [kh][kw][c][cwp] (flipped when d->flip) and bias, zero beyond cw lanes */
static void stage_filter(const c4j_conv2d_desc *d, const float *filter, const float *bias, int64_t o0, int64_t cw,
                         int64_t cwp, float *w, float *b) {
    const int64_t cg = c4j_cin_g(d), kh = d->kernel_h, kw = d->kernel_w;
    for (int64_t i = 0; i < kh; i++)
        for (int64_t j = 0; j < kw; j++) {
            const int64_t fi = d->flip ? kh - 1 - i : i, fj = d->flip ? kw - 1 - j : j;
            for (int64_t c = 0; c < cg; c++) {
                const float *src = filter + ((fi * kw + fj) * cg + c) * d->out_c + o0;
                float *dst = w + ((i * kw + j) * cg + c) * cwp;
                memcpy(dst, src, sizeof(float) * (size_t)cw);
                memset(dst + cw, 0, sizeof(float) * (size_t)(cwp - cw));
            }
        }
    if (d->has_bias) {
        memcpy(b, bias + o0, sizeof(float) * (size_t)cw);
        memset(b + cw, 0, sizeof(float) * (size_t)(cwp - cw));
    }
}

/* the widest kernel this CPU runs: 2 AVX-512, 1 AVX2 + FMA, 0 portable (c4j_cpu_vector_tier is 0
   off x86-64, where this file builds only the portable width) */
static int best_isa(void) { return c4j_cpu_vector_tier(); }

/* input rows [r0, r1) of image img staged for output channels [o0, o0 + cw) (see GD(stage)) */
static void stage_isa(int isa, const c4j_conv2d_desc *d, const float *img, int64_t r0, int64_t r1, int64_t o0,
                      int64_t cw, int64_t cwp, float *dst) {
    int32_t chan[GD_BLOCK];
    lane_channels(d, o0, cw, chan);
#ifdef C4J_HAVE_X86_GD
    if (isa == 2) {
        stage_avx512(d, img, r0, r1, chan, cw, cwp, dst);
        return;
    }
    if (isa == 1) {
        stage_avx2(d, img, r0, r1, chan, cw, cwp, dst);
        return;
    }
#endif
    (void)isa;
    stage_portable(d, img, r0, r1, chan, cw, cwp, dst);
}

void c4j_gd_stage_rows(const c4j_conv2d_desc *d, const float *img, int64_t r0, int64_t r1, int64_t o0, int64_t cw,
                       int64_t cwp, float *dst) {
    stage_isa(best_isa(), d, img, r0, r1, o0, cw, cwp, dst);
}

/* output columns [*lo, *hi) whose taps all lie inside the input row (the rest reach the padding) */
static void interior_columns(const c4j_conv2d_desc *d, int64_t *lo, int64_t *hi) {
    /* ow * sw - pl >= 0 and ow * sw - pl + (kw - 1) * dw <= in_w - 1 */
    *lo = C4J_MIN(d->out_w, d->pad_left > 0 ? c4j_ceil_div(d->pad_left, d->stride_w) : 0);
    const int64_t last = d->in_w - 1 + d->pad_left - (d->kernel_w - 1) * d->dilation_w;
    *hi = C4J_MAX(*lo, C4J_MIN(d->out_w, last < 0 ? 0 : last / d->stride_w + 1));
}

static void run_isa(int isa, const c4j_conv2d_desc *d, const float *in, const float *filter, const float *bias,
                    float *out, float *workspace, int64_t u0, int64_t u1) {
    const int64_t nblk = blocks(d), nband = bands(d);
    const int64_t bw = block_width(d);
    const int in_place_filter = reads_filter(d);
    float *wbuf = workspace, *bbuf = workspace + filter_floats(d), *rows = bbuf + (in_place_filter ? 0 : bw);
    gd_unit u;
    u.cg = c4j_cin_g(d);
    u.kh = d->kernel_h, u.kw = d->kernel_w, u.sh = d->stride_h, u.sw = d->stride_w;
    u.dh = d->dilation_h, u.dw = d->dilation_w, u.pt = d->pad_top, u.pl = d->pad_left;
    u.in_h = d->in_h, u.in_w = d->in_w, u.out_w = d->out_w;
    u.act = (int)d->activation;
    u.ostep = d->out_stride[2], u.os_h = d->out_stride[1];
    u.bcast = broadcasts(d), u.cout_g = c4j_cout_g(d), u.strips = runs_strips(d);
    interior_columns(d, &u.ow_lo, &u.ow_hi);
    u.lone_borders = u.strips && lone_borders(u.ow_lo, u.ow_hi, d->out_w);
    for (int64_t unit = u0; unit < u1; unit++) {
        const int64_t blk = unit % nblk, band = (unit / nblk) % nband, n = unit / (nblk * nband);
        const int64_t o0 = blk * bw, oh0 = band_start(d->out_h, nband, band), oh1 = band_start(d->out_h, nband, band + 1);
        u.cw = C4J_MIN(bw, d->out_c - o0);
        u.cwp = round16(u.cw);
        if (in_place_filter) {
            u.w = filter + o0, u.wl = d->out_c;
            u.bias = d->has_bias ? bias + o0 : NULL;
        } else {
            stage_filter(d, filter, bias, o0, u.cw, u.cwp, wbuf, bbuf);
            u.w = wbuf, u.wl = u.cwp;
            u.bias = d->has_bias ? bbuf : NULL;
        }
        const float *img = in + n * d->in_stride[0];
        u.overlap_tail = reads_input(d, o0);
        u.o0 = o0;
        if (u.bcast) { /* channel 0 of the image; each vector adds its group's offset */
            u.src = img, u.row0 = 0;
            u.rs = d->in_stride[1], u.ps = d->in_stride[2], u.cs = d->in_stride[3];
        } else if (u.overlap_tail) {
            u.src = img + o0, u.row0 = 0;
            u.rs = d->in_stride[1], u.ps = d->in_stride[2], u.cs = 0;
        } else {
            const int64_t r0 = C4J_MAX(0, oh0 * d->stride_h - d->pad_top);
            const int64_t r1 = C4J_MIN(d->in_h, (oh1 - 1) * d->stride_h - d->pad_top +
                                                    (d->kernel_h - 1) * d->dilation_h + 1);
            if (r1 > r0) stage_isa(isa, d, img, r0, r1, o0, u.cw, u.cwp, rows);
            u.src = rows, u.row0 = r0;
            u.ps = u.cg * u.cwp, u.rs = d->in_w * u.ps, u.cs = u.cwp;
        }
        u.step = u.sw * u.ps;
        float *oimg = out + n * d->out_stride[0] + o0;
#ifdef C4J_HAVE_X86_GD
        if (isa == 2) {
            rows_avx512(&u, oh0, oh1, oimg);
            continue;
        }
        if (isa == 1) {
            rows_avx2(&u, oh0, oh1, oimg);
            continue;
        }
#endif
        (void)isa;
        rows_portable(&u, oh0, oh1, oimg);
    }
}

void c4j_gd_run(const c4j_conv2d_desc *d, const float *in, const float *filter, const float *bias, float *out,
                float *workspace, int64_t u0, int64_t u1) {
    run_isa(best_isa(), d, in, filter, bias, out, workspace, u0, u1);
}

/* What the strip kernels do for one output row of one vector of lanes: multiply-adds and vector
   loads (input window and filter) per kernel row of taps, and calls (runs or lone border pixels),
   counted from the runs GD(row_strips) makes with runs of NB pixels (the estimate: the widest
   width's GD_SNB_MAX). test_grouped_direct checks the count against the runs made. */
typedef struct {
    double fmas, loads, calls;
} gd_row_ops;

static void count_run(const c4j_conv2d_desc *d, int64_t nb, gd_row_ops *r) {
    const int64_t cg = c4j_cin_g(d), kw = d->kernel_w;
    r->fmas += (double)(cg * kw * nb);
    r->loads += (double)(cg * ((nb - 1) * d->stride_w + kw) + cg * kw);
    r->calls += 1;
}

/* a border pixel alone (GD(pixel_run)): its column taps clipped, two loads per multiply-add */
static void count_pixel(const c4j_conv2d_desc *d, int64_t ow, gd_row_ops *r) {
    const gd_taps t = gd_inside_taps(ow * d->stride_w - d->pad_left, d->dilation_w, d->kernel_w, d->in_w);
    r->fmas += (double)(c4j_cin_g(d) * (t.hi - t.lo));
    r->loads += 2.0 * (double)(c4j_cin_g(d) * (t.hi - t.lo));
    r->calls += 1;
}

static gd_row_ops strip_row_ops(const c4j_conv2d_desc *d, int64_t NB) {
    gd_row_ops r = {0, 0, 0};
    int64_t lo, hi;
    interior_columns(d, &lo, &hi);
    const int64_t out_w = d->out_w;
    if (lone_borders(lo, hi, out_w)) {
        for (int64_t ow = 0; ow < lo; ow++) count_pixel(d, ow, &r);
        for (int64_t ow = hi; ow < out_w; ow++) count_pixel(d, ow, &r);
        const int64_t full = (hi - lo) / NB, rest = (hi - lo) % NB;
        for (int64_t k = 0; k < full; k++) count_run(d, NB, &r);
        if (rest > 0) count_run(d, rest <= NB / 2 ? NB / 2 : NB, &r);
        return r;
    }
    for (int64_t ow = 0; ow < out_w;) {
        if (ow >= lo && hi - ow >= NB) {
            const int64_t full = (hi - ow) / NB;
            for (int64_t k = 0; k < full; k++) count_run(d, NB, &r);
            ow += full * NB;
            continue;
        }
        const int64_t left = out_w - ow;
        if (left <= NB / 2 && ow > 0) {
            count_run(d, NB / 2, &r);
            break;
        }
        int64_t first = ow, npix = C4J_MIN(NB, left);
        if (npix < NB && out_w >= NB) first = out_w - NB, npix = NB;
        count_run(d, NB, &r);
        ow = first + npix;
    }
    return r;
}

/* kernel rows of taps summed over an image's output rows (rows near the top and bottom clip theirs) */
static double tap_rows(const c4j_conv2d_desc *d) {
    double sum = 0;
    for (int64_t oh = 0; oh < d->out_h; oh++) {
        const gd_taps t = gd_inside_taps(oh * d->stride_h - d->pad_top, d->dilation_h, d->kernel_h, d->in_h);
        sum += (double)(t.hi - t.lo);
    }
    return sum;
}

/*
 * Estimated single-thread seconds, in units of this process's sgemm time per multiply-add on a
 * 256^3 product (so that it follows the machine, and is in the same units as the sgemm routes'
 * estimates it is ranked against). The strip kernels (nearly every depthwise layer) are counted as
 * they run: per lane, the vector multiply-adds and loads of the runs and lone border pixels
 * GD(row_strips) makes (a short row computes up to a run more than it stores, a border pixel
 * loads its filter per product), a fixed cost per call (runs of small maps and 1xK kernels are
 * short), per input float read and per staged float, and per channel tail stored with a mask.
 * The weights were fitted on layers of every kind that are in no benchmark list (1xK and Kx1,
 * 3x3 to 7x7 on 7 to 112 pixels, 3 to 960 channels, channel multipliers, small groups, stride 2),
 * with sgemm measured as conv4j measures it (test_grouped_direct bench); counting only products
 * and outputs had put small maps, short rows and narrow layers at 0.3-0.7 of their time. The other
 * kernels: per lane multiply-add, output, input float and staged float, and for the broadcast
 * kernel per multiply-add and input float.
 */
double c4j_gd_estimate(const c4j_conv2d_desc *d) {
    const double mac = c4j_cost_sgemm(256, 256, 256) / (256.0 * 256.0 * 256.0);
    const int64_t bw = block_width(d), full = d->out_c / bw, rest = d->out_c - full * bw;
    const double lanes = (double)(full * bw + round16(rest));
    const double pixels = (double)d->batch * (double)d->out_h * (double)d->out_w;
    const double macs = pixels * lanes * (double)(d->kernel_h * d->kernel_w * c4j_cin_g(d));
    const double ins = (double)d->batch * (double)d->in_h * (double)d->in_w * (double)d->in_c;
    double staged = 0;
    if (stages(d))
        staged = (double)d->batch * (double)bands(d) * (double)band_in_rows(d) * (double)d->in_w *
                 (double)c4j_cin_g(d) * lanes;
    const double outs = pixels * (double)d->out_c;
    if (runs_strips(d)) {
        const gd_row_ops r = strip_row_ops(d, GD_SNB_MAX);
        const double rows = tap_rows(d);
        const double per_lane = 0.66 * (r.fmas * rows) + 0.44 * (r.loads * rows) + 20.0 * r.calls * (double)d->out_h;
        /* blocks storing a channel tail with a mask: staged blocks whose width is no whole vector */
        int64_t tails = 0;
        for (int64_t o0 = 0; o0 < d->out_c; o0 += bw)
            if (C4J_MIN(bw, d->out_c - o0) % 16 != 0 && !reads_input(d, o0)) tails++;
        return mac * ((double)d->batch * lanes * per_lane + 3.7 * staged + 1.9 * ins + 210.0 * pixels * (double)tails);
    }
    if (broadcasts(d)) return mac * (0.95 * macs + 2.5 * ins);
    return mac * (1.0 * macs + 11.0 * outs + 4.0 * ins + 4.5 * staged);
}

/* ------------------------------------------------------------------ forward table row */

static double gd_estimate(const c4j_conv2d_desc *d, int include_prepare) {
    (void)include_prepare;
    return c4j_gd_estimate(d);
}

static void gd_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *filter,
                   const float *prepared, const float *bias, float *out, void *workspace, int64_t u0, int64_t u1) {
    (void)blas;
    (void)prepared;
    c4j_gd_run(d, in, filter, bias, out, (float *)workspace, u0, u1);
}

const c4j_conv2d_algorithm c4j_conv2d_grouped_direct = {
    "grouped_direct", C4J_ALGO_GROUPED_DIRECT, 1, c4j_gd_applicable, c4j_gd_units, c4j_gd_workspace, NULL, NULL,
    gd_estimate, gd_run};
