/*
 * Filter and bias gradients by a register-blocked direct kernel (filter-gradient route
 * C4J_ALGO_DIRECT_DENSE), for layers where im2col + sgemm does badly: few output pixels and a large
 * filter (a deep layer at batch 1), where sgemm gets a product of inner dimension = pixels (49 on
 * a 7x7 map), zeroes dW, then reads and writes it again from beyond the cache.
 *
 * dW[tap, c, o] = sum over output pixels p whose window holds the tap of X[window(p) + tap, c] x
 * dY[p, o]. A tile of FD_NB input channels x one pass of output-channel vectors lives in vector
 * accumulators; each step (one output pixel) loads the pass's dY vectors and broadcasts the input
 * values of the pixel's window, read in place (no im2col, any input strides). Pixels whose window
 * leaves the input for this tap (padding) are skipped, not multiplied by zero: each tap visits
 * runs of pixels, a stretch of one output row each. dY is packed per unit, a block of output rows
 * at a time, into rows of FD_PACK channels (zero past the chunk's last), so every dY load is a
 * whole vector. Each dW element is stored once (reloaded only between row blocks of a large map).
 *
 * Units: groups x chunks of FD_PACK output channels x taps x chunks of input channels, each
 * owning its block of dW, fixed by the descriptor; every element is summed over the pixels in
 * their order (images, rows, columns) whatever the unit, tile or thread, so any thread count gives
 * the same bits. The bias gradient rides with the units of tap 0 and the first input chunk
 * (c4j_bw_bias_rows, as the GEMM route). No pixel ranges, no partial sums.
 *
 * The estimate is measured where it runs: the first estimate of the process times the kernel on
 * two small layers (thread CPU time) and solves for its time per lane multiply-add and per tile
 * step (cost model off: multiples of the built-in sgemm table's time).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum {
    FD_PACK = 64,           /* output channels per unit: the packed dY row at most */
    FD_PACK_ROUND = 16,     /* a packed row of a unit of at most this many channels (the widest vector) */
    FD_CHUNK_MAX = 48,      /* input channels per unit at most (chunks split evenly) */
    FD_TILE_ROWS = 6,       /* input channels per register tile of every instruction set (FD_NB) */
    FD_BLOCK_PIXELS = 1024  /* output pixels of packed dY per row block: a block's dY and input stay in L2 */
};

/* A stretch of one output row whose windows all hold the tap: count pixels from x (the input at
   the unit's first channel) and dy (the packed row), stepping by the tile's xstep and ystep. */
typedef struct {
    const float *x;
    const float *dy;
    int64_t count;
} fd_run;

/* One tile's kernel arguments. */
typedef struct {
    const fd_run *runs;
    int64_t nruns;
    int64_t cs, xstep; /* input floats between channels, between a run's pixels */
    int64_t ystep;     /* floats per packed dY row */
    int64_t xoff;      /* the tile's first channel: cs x channel */
    int64_t yoff;      /* the pass's first lane in the packed row */
    int64_t lanes;     /* valid lanes of the pass */
    int accumulate;    /* add to dW (a later row block) rather than start from zero */
    float *dw;         /* dW at the tile's first channel and the pass's first lane */
    int64_t ldw;       /* floats between dW rows: out_c */
} fd_tile;

#define FD_ISA portable
#define FD_V 4
#define FD_NV 2
#define FD_NB FD_TILE_ROWS
#define FD_TARGET
#include "backward_filter_direct_simd.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define C4J_HAVE_X86_FD 1
#define FD_ISA avx2
#define FD_V 8
#define FD_NV 2
#define FD_NB FD_TILE_ROWS
#define FD_TARGET __attribute__((target("avx2,fma")))
#include "backward_filter_direct_simd.h"

#define FD_ISA avx512
#define FD_V 16
#define FD_NV 4
#define FD_NB FD_TILE_ROWS
#define FD_TARGET __attribute__((target("avx512f")))
#include "backward_filter_direct_simd.h"
#endif

/* output channels of dY as the kernel reads them: contiguous */
static int fd_applies(const c4j_conv2d_desc *d) { return d->out_stride[3] == 1 || d->out_c == 1; }

static int64_t out_chunks(const c4j_conv2d_desc *d) { return c4j_ceil_div(c4j_cout_g(d), FD_PACK); }
static int64_t in_chunks(const c4j_conv2d_desc *d) { return c4j_ceil_div(c4j_cin_g(d), FD_CHUNK_MAX); }
/* input channels per chunk: even chunks, whole multiples of FD_TILE_ROWS where it can */
static int64_t in_chunk(const c4j_conv2d_desc *d) {
    const int64_t cg = c4j_cin_g(d), n = in_chunks(d);
    return n == 1 ? cg : c4j_ceil_div(c4j_ceil_div(cg, n), FD_TILE_ROWS) * FD_TILE_ROWS;
}
static int64_t taps(const c4j_conv2d_desc *d) { return d->kernel_h * d->kernel_w; }

static int64_t fd_units(const c4j_conv2d_desc *d) { return d->groups * out_chunks(d) * taps(d) * in_chunks(d); }

static int64_t fd_ranges(const c4j_conv2d_desc *d) {
    (void)d;
    return 1;
}

/* output rows (of all images) per packed block */
static int64_t block_rows(const c4j_conv2d_desc *d) { return C4J_MAX(1, FD_BLOCK_PIXELS / C4J_MAX(1, d->out_w)); }

static inline int64_t align_bytes(int64_t bytes) { return (bytes + 63) / 64 * 64; }
static int64_t pack_bytes(const c4j_conv2d_desc *d) { return align_bytes(block_rows(d) * d->out_w * FD_PACK * 4); }
static int64_t runs_bytes(const c4j_conv2d_desc *d) { return align_bytes(block_rows(d) * (int64_t)sizeof(fd_run)); }

static int64_t fd_workspace(const c4j_conv2d_desc *d) {
    return pack_bytes(d) + runs_bytes(d) + align_bytes(C4J_BIAS_ROWS * 4);
}

/* output columns [*lo, *hi) whose window holds column tap kw (likewise rows) */
static void valid_range(int64_t out, int64_t in, int64_t k, int64_t s, int64_t dil, int64_t pad, int64_t *lo,
                        int64_t *hi) {
    const int64_t off = k * dil - pad; /* input index = o * s + off */
    int64_t a = off >= 0 ? 0 : c4j_ceil_div(-off, s);
    int64_t b = in - 1 - off < 0 ? -1 : (in - 1 - off) / s; /* last valid o */
    *lo = C4J_MIN(a, out);
    *hi = C4J_MAX(*lo, C4J_MIN(out, b + 1));
}

/* floats per packed dY row of a unit of cols output channels: a pass reads whole vectors of the
   row, up to FD_PACK floats (AVX-512's 4 x 16), so only a narrow unit (one vector) packs fewer */
static int64_t pack_row(int64_t cols) { return cols <= FD_PACK_ROUND ? FD_PACK_ROUND : FD_PACK; }

/* dY of rows [r0, r1) (of all images), channels [c0, c0 + cols), into rows of pack_row(cols)
   floats, zero past cols. Copied by 16-float vectors and a scalar tail, not memcpy: a library call
   per pixel costs more than the copy when a unit has few channels. */
typedef float fd_v16 __attribute__((vector_size(64), aligned(4)));
static __attribute__((optimize("no-tree-loop-distribute-patterns"))) void
pack_dy(const c4j_conv2d_desc *d, const float *dy, int64_t r0, int64_t r1, int64_t c0, int64_t cols, float *dst) {
    const int64_t row = pack_row(cols), whole = cols / 16 * 16;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t n = r / d->out_h, oh = r % d->out_h;
        const float *src = dy + n * d->out_stride[0] + oh * d->out_stride[1] + c0;
        for (int64_t ow = 0; ow < d->out_w; ow++, dst += row, src += d->out_stride[2]) {
            for (int64_t c = 0; c < whole; c += 16) *(fd_v16 *)(void *)(dst + c) = *(const fd_v16 *)(const void *)(src + c);
            for (int64_t c = whole; c < cols; c++) dst[c] = src[c];
            for (int64_t c = cols; c < row; c++) dst[c] = 0;
        }
    }
}

static void run_chunk(int isa, fd_tile *t, int64_t channels, int64_t cols) {
#ifdef C4J_HAVE_X86_FD
    if (isa == 2) {
        chunk_avx512(t, channels, cols);
        return;
    }
    if (isa == 1) {
        chunk_avx2(t, channels, cols);
        return;
    }
#endif
    (void)isa;
    chunk_portable(t, channels, cols);
}

static void run_isa(int isa, const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *dy,
                    float *dw, float *db, void *workspace, int64_t u0, int64_t u1) {
    float *packed = (float *)workspace;
    fd_run *runs = (fd_run *)(void *)((char *)workspace + pack_bytes(d));
    float *ones = (float *)((char *)workspace + pack_bytes(d) + runs_bytes(d));
    for (int64_t i = 0; db != NULL && i < C4J_BIAS_ROWS; i++) ones[i] = 1.0f;
    const int64_t cg = c4j_cin_g(d), og = c4j_cout_g(d), nt = taps(d), nic = in_chunks(d), ic = in_chunk(d);
    const int64_t noc = out_chunks(d), rows = d->batch * d->out_h, brows = block_rows(d);
    fd_tile t;
    /* the dY block the workspace holds: consecutive units of one output chunk (its taps and input
       chunks) read the same block when the map is one block, so it is packed once for them */
    int64_t packed_o0 = -1, packed_r0 = -1;
    t.cs = d->in_stride[3];
    t.xstep = d->stride_w * d->in_stride[2];
    t.ldw = d->out_c;
    for (int64_t u = u0; u < u1; u++) {
        /* input chunks innermost, then taps: consecutive units read the same dY chunk */
        const int64_t cc = u % nic, tap = (u / nic) % nt, oc = (u / (nic * nt)) % noc, g = u / (nic * nt * noc);
        const int64_t o0 = g * og + oc * FD_PACK, cols = C4J_MIN(FD_PACK, og - oc * FD_PACK);
        t.ystep = pack_row(cols);
        if (db != NULL && tap == 0 && cc == 0) {
            memset(db + o0, 0, sizeof(float) * (size_t)cols);
            c4j_bw_bias_rows(blas, d, dy, o0, cols, 0, rows * d->out_w, ones, db + o0);
        }
        if (dw == NULL) continue;
        const int64_t c0 = cc * ic, channels = C4J_MIN(ic, cg - c0);
        if (channels <= 0) continue;
        const int64_t kh = tap / d->kernel_w, kw = tap % d->kernel_w;
        const int64_t fh = d->flip ? d->kernel_h - 1 - kh : kh, fw = d->flip ? d->kernel_w - 1 - kw : kw;
        float *dw_block = dw + ((fh * d->kernel_w + fw) * cg + c0) * d->out_c + o0;
        int64_t oh_lo, oh_hi, ow_lo, ow_hi;
        valid_range(d->out_h, d->in_h, kh, d->stride_h, d->dilation_h, d->pad_top, &oh_lo, &oh_hi);
        valid_range(d->out_w, d->in_w, kw, d->stride_w, d->dilation_w, d->pad_left, &ow_lo, &ow_hi);
        const float *xg = in + (g * cg + c0) * d->in_stride[3];
        const int64_t iw0 = ow_lo * d->stride_w + kw * d->dilation_w - d->pad_left;
        t.dw = dw_block;
        t.xoff = 0;
        t.accumulate = 0;
        for (int64_t r0 = 0; r0 < C4J_MAX(rows, 1); r0 += brows) {
            const int64_t r1 = C4J_MIN(rows, r0 + brows);
            if (packed_o0 != o0 || packed_r0 != r0) {
                pack_dy(d, dy, r0, r1, o0, cols, packed);
                packed_o0 = o0, packed_r0 = r0;
            }
            int64_t nruns = 0;
            for (int64_t r = r0; r < r1 && ow_hi > ow_lo; r++) {
                const int64_t n = r / d->out_h, oh = r % d->out_h;
                if (oh < oh_lo || oh >= oh_hi) continue;
                const int64_t ih = oh * d->stride_h + kh * d->dilation_h - d->pad_top;
                runs[nruns].x = xg + n * d->in_stride[0] + ih * d->in_stride[1] + iw0 * d->in_stride[2];
                runs[nruns].dy = packed + ((r - r0) * d->out_w + ow_lo) * t.ystep;
                runs[nruns].count = ow_hi - ow_lo;
                nruns++;
            }
            t.runs = runs;
            t.nruns = nruns;
            run_chunk(isa, &t, channels, cols);
            t.accumulate = 1;
        }
    }
}

/* the widest kernel this CPU runs (c4j_cpu_vector_tier) */
static int best_isa(void) { return c4j_cpu_vector_tier(); }

static void fd_run_row(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *dy, float *dw,
                       float *db, float *partials, void *workspace, int64_t u0, int64_t u1) {
    (void)partials;
    run_isa(best_isa(), blas, d, in, dy, dw, db, workspace, u0, u1);
}

/* ------------------------------------------------------------------ the estimate */

static void isa_shape(int isa, int64_t *nb, int64_t *pass_lanes, int64_t *v) {
#ifdef C4J_HAVE_X86_FD
    if (isa == 2) {
        *nb = tile_rows_avx512, *pass_lanes = pass_lanes_avx512, *v = lanes_avx512;
        return;
    }
    if (isa == 1) {
        *nb = tile_rows_avx2, *pass_lanes = pass_lanes_avx2, *v = lanes_avx2;
        return;
    }
#endif
    (void)isa;
    *nb = tile_rows_portable, *pass_lanes = pass_lanes_portable, *v = lanes_portable;
}

/* What the kernel does on d, following run_isa: lane multiply-adds (padded lanes included, padded
   taps skipped), tile steps (one pixel of one tile pass) and floats copied or stored (packed dY
   per unit and row block, dW stored and reloaded between row blocks); units are fd_units. */
static void work(const c4j_conv2d_desc *d, int isa, double *lane_macs, double *steps, double *moved) {
    int64_t nb, pass_lanes, v;
    isa_shape(isa, &nb, &pass_lanes, &v);
    /* pixels whose window holds each tap, summed over the taps */
    double pixel_taps = 0;
    for (int64_t kh = 0; kh < d->kernel_h; kh++)
        for (int64_t kw = 0; kw < d->kernel_w; kw++) {
            int64_t a0, a1, b0, b1;
            valid_range(d->out_h, d->in_h, kh, d->stride_h, d->dilation_h, d->pad_top, &a0, &a1);
            valid_range(d->out_w, d->in_w, kw, d->stride_w, d->dilation_w, d->pad_left, &b0, &b1);
            pixel_taps += (double)((a1 - a0) * (b1 - b0));
        }
    pixel_taps *= (double)d->batch;
    /* lanes and passes over one group's output chunks; tiles over one group's input chunks */
    double lanes = 0, passes = 0, tiles = 0, packed = 0;
    for (int64_t o0 = 0; o0 < c4j_cout_g(d); o0 += FD_PACK) {
        const int64_t cw = C4J_MIN(FD_PACK, c4j_cout_g(d) - o0);
        packed += (double)pack_row(cw);
        for (int64_t l0 = 0; l0 < cw; l0 += pass_lanes) {
            const int64_t l = C4J_MIN(pass_lanes, cw - l0);
            lanes += (double)(l <= v ? v : pass_lanes);
            passes += 1;
        }
    }
    const int64_t ic = in_chunk(d);
    for (int64_t c0 = 0; c0 < c4j_cin_g(d); c0 += ic) {
        const int64_t ch = C4J_MIN(ic, c4j_cin_g(d) - c0);
        const int64_t rest = ch % nb;
        tiles += (double)(ch / nb + rest / 4 + rest % 4 / 2 + rest % 2);
    }
    const double g = (double)d->groups, pixels = (double)(d->batch * d->out_h * d->out_w);
    const double blocks = (double)c4j_ceil_div(d->batch * d->out_h, block_rows(d));
    *lane_macs = g * pixel_taps * lanes * (double)c4j_cin_g(d);
    *steps = g * pixel_taps * passes * tiles;
    /* a map of one row block is packed once per output chunk (run_isa keeps it for the chunk's next
       units), a larger one by every unit */
    const double packs = blocks == 1 ? 1 : (double)(taps(d) * in_chunks(d));
    *moved = g * packs * pixels * packed + (2 * blocks - 1) * (double)c4j_filter_floats(d);
}

/* Fastest of a few runs of the whole layer d (thread CPU time), or -1 when memory is short. Plain
   malloc: measuring is not part of any convolution's accounted memory. */
static double time_layer(const c4j_conv2d_desc *d, int isa) {
    const int64_t in_floats = d->batch * d->in_stride[0], out_floats = d->batch * d->out_stride[0];
    const int64_t dw_floats = c4j_filter_floats(d), ws_floats = fd_workspace(d) / 4 + 16;
    float *buf = c4j_probe_buffer(in_floats + out_floats + dw_floats + ws_floats);
    if (buf == NULL) return -1;
    float *in = buf, *dy = in + in_floats, *dw = dy + out_floats, *ws = dw + dw_floats;
    ws = (float *)(void *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
    for (int64_t i = 0; i < in_floats; i++) in[i] = (float)(i % 7) * 0.25f;
    for (int64_t i = 0; i < out_floats; i++) dy[i] = (float)(i % 5) * 0.5f;
    const int64_t units = fd_units(d);
    run_isa(isa, NULL, d, in, dy, dw, NULL, ws, 0, units);
    double best = -1;
    for (int rep = 0; rep < 15; rep++) {
        const double t0 = c4j_thread_seconds();
        for (int i = 0; i < 8; i++) run_isa(isa, NULL, d, in, dy, dw, NULL, ws, 0, units);
        const double t = (c4j_thread_seconds() - t0) / 8;
        if (best < 0 || t < best) best = t;
    }
    free(buf);
    return best;
}

/* a k x k layer over 8 x 12 input pixels, cin -> cout, padding k / 2 */
static void probe_desc(c4j_conv2d_desc *d, int64_t cin, int64_t cout, int64_t k) {
    memset(d, 0, sizeof *d);
    d->batch = 1, d->in_h = 8, d->in_w = 12, d->in_c = cin;
    d->kernel_h = d->kernel_w = k, d->out_c = cout, d->groups = 1;
    d->stride_h = d->stride_w = d->dilation_h = d->dilation_w = 1;
    d->pad_top = d->pad_left = k / 2;
    d->out_h = 8, d->out_w = 12;
    d->in_stride[3] = 1, d->in_stride[2] = cin, d->in_stride[1] = 12 * cin, d->in_stride[0] = 96 * cin;
    d->out_stride[3] = 1, d->out_stride[2] = cout, d->out_stride[1] = 12 * cout, d->out_stride[0] = 96 * cout;
}

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
/* seconds per lane multiply-add, per tile step and per unit on this machine; written once, under
   g_once */
static double g_mac_s, g_step_s, g_unit_s;

/*
 * Three small layers, each run in a few microseconds: 1x1 48 -> 64 channels (full tiles: the
 * multiply-adds dominate), 1x1 3 -> 16 (single-channel tiles of one vector: the steps dominate)
 * and 3x3 4 -> 8 (nine units of little work: what a unit costs beyond its steps). The first two
 * give a 2x2 solve (kept non-negative), the third what remains per unit. A moved float (packed
 * dY, dW stored) counts as 1/16 of a step.
 */
static void measure(void) {
    const int isa = best_isa();
    c4j_conv2d_desc a, b, c;
    probe_desc(&a, 48, 64, 1);
    probe_desc(&b, 3, 16, 1);
    probe_desc(&c, 4, 8, 3);
    const double ta = time_layer(&a, isa), tb = time_layer(&b, isa), tc = time_layer(&c, isa);
    double ma, sa, ca, mb, sb, cb, mc, sc, cc;
    work(&a, isa, &ma, &sa, &ca);
    work(&b, isa, &mb, &sb, &cb);
    work(&c, isa, &mc, &sc, &cc);
    sa += ca / 16, sb += cb / 16, sc += cc / 16;
    if (ta > 0 && tb > 0 && tc > 0) {
        double mac, step;
        c4j_fit_mac_and_step(ta, ma, sa, tb, mb, sb, &mac, &step);
        const double unit = (tc - mac * mc - step * sc) / (double)fd_units(&c);
        g_mac_s = mac, g_step_s = step, g_unit_s = unit > 0 ? unit : 0;
    }
}

/*
 * Single-thread seconds: the measured costs times the kernel's work on d, and the bias gradient
 * (when d has one) by the cost model's sgemm time. Cost model off (or measuring
 * impossible): the built-in sgemm model's time per multiply-add of a large product times what
 * measure() solves for on AVX-512 as multiples of the measured one (a step, a pixel's dY loads and
 * input broadcasts, costs far more than a multiply-add; the unit term comes out at zero), so the
 * model ranks this kernel against the routes whose estimates come from the same sgemm model.
 * conv4j.cost=model has no other estimate: too cheap a step made AUTO take this kernel for layers of
 * 3 input channels, where it is the slowest route.
 */
#define FD_MODEL_LANE_MACS 0.65
#define FD_MODEL_STEP_MACS 65.0
static double fd_estimate(const c4j_conv2d_desc *d) {
    double mac = 0, step = 0, unit = 0;
    if (c4j_cost_is_measured()) {
        pthread_once(&g_once, measure);
        mac = g_mac_s, step = g_step_s, unit = g_unit_s;
    }
    if (!(mac > 0)) {
        mac = c4j_cost_sgemm_model(256, 256, 256) / (256.0 * 256.0 * 256.0);
        step = FD_MODEL_STEP_MACS * mac, unit = 0;
        mac *= FD_MODEL_LANE_MACS;
    }
    double lane_macs, steps, moved;
    work(d, best_isa(), &lane_macs, &steps, &moved);
    /* the bias gradient: c4j_bw_bias_rows's sgemm rows, one per chunk of output channels */
    double bias = 0;
    const int64_t pixels = d->batch * d->out_h * d->out_w, calls = c4j_ceil_div(pixels, C4J_BIAS_ROWS);
    for (int64_t o0 = 0; d->has_bias && pixels > 0 && o0 < c4j_cout_g(d); o0 += FD_PACK)
        bias += (double)(d->groups * calls) *
                c4j_cost_sgemm(1, C4J_MIN(pixels, C4J_BIAS_ROWS), C4J_MIN(FD_PACK, c4j_cout_g(d) - o0));
    return mac * lane_macs + step * (steps + moved / 16) + unit * (double)fd_units(d) + bias;
}

const c4j_filter_gradient_route c4j_bw_direct = {"direct",   C4J_ALGO_DIRECT_DENSE, 1,
                                                 fd_applies, fd_units,              fd_workspace,
                                                 fd_ranges,  fd_estimate,           fd_run_row};
