/*
 * The FFT route's plan and cost model: which transform size (fft_pick), how many blocks of tiles
 * and slices of output channels (choose_units, from the built-in sgemm model only, so the units
 * never depend on a timing), the workspace parts, and the estimate the planner ranks the route
 * by (from the process's measured sgemm times). See fft.c for the algorithm and fft_plan.h for
 * the work units.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "fft_plan.h"

static int64_t extent(int64_t k, int64_t dil) { return (k - 1) * dil + 1; }

/* What the workspace and blocking need to know of one candidate FFT size (input size aside). */
typedef struct {
    int64_t nfreq, kb, crow;
    int64_t per_tile;   /* floats of A and C per tile */
    int64_t b_floats;   /* floats of B (all frequencies, one group) */
    int64_t s_floats;   /* the tile buffer */
    int64_t tb;         /* tiles per block, before capping by the tiles there are */
} fft_sizes;

/* 0 when one tile's spectra do not fit the workspace next to the tile buffer */
static int fft_size(int64_t fh, int64_t fw, int64_t cin, int64_t cout, int64_t stacked, fft_sizes *z) {
    z->nfreq = fh * (fw / 2 + 1);
    z->kb = stacked ? cin : 2 * cin;
    z->crow = stacked ? 4 * cout : 2 * cout;
    z->per_tile = z->nfreq * (2 * cin + z->crow);
    z->b_floats = z->nfreq * z->kb * 2 * cout;
    z->s_floats = round16(z->nfreq * 2 * FFT_VMAX);
    /* A's frequency steps and C's rows (2 per tile and slice at most) add up to 32 floats each */
    const int64_t room = FFT_WS_MAX_FLOATS - z->s_floats - 32 * z->nfreq - 32 * 2 * FFT_MAX_SLICES * FFT_BLOCK_MAX_TILES;
    if (z->per_tile > room) return 0;
    /* A and C of a block near L2, or as large as B when B is larger: B is streamed once per block */
    int64_t tb = C4J_MAX(FFT_BLOCK_TARGET_FLOATS, z->b_floats) / z->per_tile;
    tb = C4J_MAX(FFT_BLOCK_MIN_TILES, C4J_MIN(FFT_BLOCK_MAX_TILES, tb));
    z->tb = C4J_MIN(tb, room / z->per_tile);
    return 1;
}

/* ns per tile of one transform pass over FFT_VMAX lanes (forward: one input vector, inverse: one
   output vector); fitted on Zen 5 (AVX-512), only ratios matter */
static double vector_ns(int64_t fh, int64_t fw) {
    double per_point = 1.0;
    if (fh == FFT_MIN || fw == FFT_MIN) per_point *= 1.5; /* loop overhead of 4-point rows */
    if (fh * fw >= 64 * 64) per_point *= 1.4;            /* the tile buffer leaves L1 and L2 */
    return (double)(fh * fw) * log2((double)(fh * fw)) * per_point;
}

/* forward vectors per tile: input channel vectors, or a share of one packed vector */
static double forward_vectors(int64_t cin, int64_t pack) {
    return pack > 1 ? 1.7 / (double)pack : (double)c4j_ceil_div(cin, FFT_VMAX);
}

/*
 * Estimated time (ns, single thread, AVX-512) of FH x FW tiles on a nominal 64 x 64 output: the
 * FFT size cannot depend on the input size (the prepared filter must fit every input), so the
 * choice assumes a typical large-kernel layer and pays the cropped tile margin of that size.
 *   transforms: ~0.6 ns per point and butterfly level per 16 input channels (or per packed
 *               vector of tiles), 0.45 per 16 output channels (fewer rows are transformed back)
 *   products:   8 * Cin * Cout flops per frequency at ~150 GFLOP/s
 *   B:          the prepared matrices are streamed once per block: free when they stay in L2,
 *               L3 or memory bandwidth otherwise
 * Fitted to timings on Zen 5; the constants only need to rank the candidate sizes.
 */
static double fft_cost(int64_t fh, int64_t fw, int64_t kh, int64_t kw, int64_t cin, int64_t cout,
                       const fft_sizes *z) {
    const int64_t nominal = 64;
    const int64_t mh = fh - kh + 1, mw = fw - kw + 1;
    const int64_t tiles = c4j_ceil_div(nominal, mh) * c4j_ceil_div(nominal, mw);
    const double per_vec = vector_ns(fh, fw);
    const double transform = per_vec * (0.6 * forward_vectors(cin, pack_of(cin, FFT_VMAX)) +
                                        0.45 * (double)c4j_ceil_div(cout, FFT_VMAX));
    const double products = 8.0 * (double)cin * (double)cout * (double)z->nfreq / 150.0;
    const double b_bytes = 4.0 * (double)z->b_floats;
    const double b_ns_per_byte = b_bytes <= 1024.0 * 1024 ? 0.0 : b_bytes <= 16.0 * 1024 * 1024 ? 1.0 / 60 : 1.0 / 20;
    const double blocks = (double)c4j_ceil_div(tiles, C4J_MIN(tiles, z->tb));
    return (double)tiles * (transform + products) + blocks * b_bytes * b_ns_per_byte;
}

/* FFT sizes from the kernel extent and channel counts only (the prepared filter depends on them);
   0 when no size fits the workspace */
static int fft_pick(int64_t kh, int64_t kw, int64_t cin, int64_t cout, int64_t stacked, int64_t *fh, int64_t *fw) {
    double best = -1;
    for (int64_t h = FFT_MIN; h <= FFT_MAX; h *= 2) {
        if (h < kh) continue;
        for (int64_t w = FFT_MIN; w <= FFT_MAX; w *= 2) {
            fft_sizes z;
            if (w < kw || !fft_size(h, w, cin, cout, stacked, &z)) continue;
            const double c = fft_cost(h, w, kh, kw, cin, cout, &z);
            if (best < 0 || c < best) {
                best = c;
                *fh = h;
                *fw = w;
            }
        }
    }
    return best >= 0;
}

/* ns per byte of B streamed once per batch or unit: free while it stays in L2 */
#define FFT_B_CACHED_BYTES (1024.0 * 1024)
static double stream_ns_per_byte(double bytes) {
    return bytes <= FFT_B_CACHED_BYTES ? 0.0 : bytes <= 16.0 * 1024 * 1024 ? 1.0 / 60 : 1.0 / 20;
}

/*
 * Time model of a blocking, to choose one (choose_units) and to estimate it (c4j_fft_estimate):
 * seconds of each part of the work, on one thread. Transforms: vector_ns per vector of lanes
 * (packed tiles cost more per vector: their pixels are gathered from several tiles, and their
 * products read from and pixels written to several tiles in the inverse); products:
 * one sgemm per frequency and unit, from the measured sgemm table; B: streamed by the first unit
 * of each slice in a batch of a call, free while it stays in L2, otherwise partly hidden behind
 * that unit's sgemm calls (fitted: hidden entirely behind M >= 6 rows of 64 x 64, hardly behind
 * 8 rows of a stacked 64 x 128).
 */
typedef struct {
    int64_t blocks, slices, cap, per_group, q, r; /* blocks k < r have q + 1 tiles, the others q */
    double fwd[2];                     /* forward transforms of a block of q (+1) tiles */
    double unit[2][FFT_MAX_SLICES];    /* one slice of such a block: its sgemm calls and inverses */
    double first[2][FFT_MAX_SLICES];   /* the same, streaming the slice's columns of B (the first
                                          unit of the slice in a batch) */
} fft_model;

#define FFT_CHUNK_SECONDS 2e-6 /* a thread claiming and starting a chunk of units */

/* sgemm seconds, memoised while one plan is chosen (the table lookup costs ~0.3 us); the blocking
   is chosen on the built-in model (never on a timing: it fixes the units), the estimate of the
   chosen blocking uses measured times where the process has them */
typedef struct {
    int n, measured;
    int64_t key[256];
    double val[256];
} sgemm_memo;

static double memo_sgemm(sgemm_memo *mm, int64_t m, int64_t k, int64_t n) {
    const int64_t key = (m << 24) | n;
    for (int i = 0; i < mm->n; i++)
        if (mm->key[i] == key) return mm->val[i];
    const double v = mm->measured ? c4j_cost_sgemm(m, k, n) : c4j_cost_sgemm_model(m, k, n);
    if (mm->n < 256) {
        mm->key[mm->n] = key;
        mm->val[mm->n++] = v;
    }
    return v;
}

static void make_model(const fft_plan *p, int64_t blocks, int64_t slices, int64_t cap, sgemm_memo *mm, fft_model *m) {
    /* per vector: ~0.42 ns (forward) and 0.30 ns (inverse, fewer rows) per point and butterfly
       level on Zen 5, 1.3x for 16 x 16 and smaller (short loops); fitted to timings */
    const int64_t pts = p->fh * p->fw;
    double vec = vector_ns(p->fh, p->fw) * 1e-9;
    if (pts <= 256) vec *= 1.3;
    const double b_bytes = 4.0 * (double)p->nfreq * (double)p->kb * (double)p->nc;
    m->blocks = blocks;
    m->slices = slices;
    m->cap = b_bytes > FFT_B_CACHED_BYTES ? C4J_MAX(cap, c4j_ceil_div(p->total, blocks)) : 0; /* 0: one block */
    m->per_group = blocks * slices;
    m->q = p->total / blocks;
    m->r = p->total % blocks;
    for (int64_t k = 0; k < 2; k++) {
        const int64_t tn = m->q + 1 - k; /* [0]: q + 1 tiles, [1]: q */
        const double vecs = p->pack > 1 ? (double)c4j_ceil_div(tn, p->pack) * 1.8
                                        : (double)(tn * c4j_ceil_div(p->cin_g, FFT_VMAX));
        m->fwd[k] = vecs * 0.42 * vec;
        for (int64_t s = 0; s < slices; s++) {
            const int64_t q0 = s * p->ngrp / slices, q1 = (s + 1) * p->ngrp / slices;
            const int64_t n = C4J_MIN(p->cout_g, q1 * FFT_SLICE) - q0 * FFT_SLICE;
            /* per frequency: the sgemm, and B_f's slice when streamed, which the sgemm partly hides */
            const double g = tn == 0 ? 0 : memo_sgemm(mm, (p->stacked ? 2 : 1) * tn, p->kb, 2 * n);
            const double b = 4.0 * (double)(p->kb * 2 * n) * stream_ns_per_byte(b_bytes) * 1e-9;
            /* packed (pack_out tiles per vector, one column group), a vector costs about what a
               packed forward vector does over an unpacked one */
            const double inv_vecs = p->pack_out > 1 ? (double)c4j_ceil_div(tn, p->pack_out) * 1.8 : (double)(tn * (q1 - q0));
            const double inv = inv_vecs * 0.30 * vec;
            m->unit[k][s] = (double)p->nfreq * g + inv;
            m->first[k][s] = (double)p->nfreq * (C4J_MAX(g, b) + 0.3 * C4J_MIN(g, b)) + inv;
        }
    }
}

/* single-thread seconds of units [u0, u1) in one call, batched as FK(run) does */
static double range_seconds(const fft_model *m, int64_t u0, int64_t u1) {
    double t = 0;
    for (int64_t ub = u0; ub < u1;) {
        const int64_t g = ub / m->per_group;
        int64_t ue = ub, last = -1, tiles = 0;
        unsigned sl = 0;
        for (; ue < u1 && ue / m->per_group == g; ue++) {
            const int64_t blk = ue % m->per_group / m->slices, s = ue % m->slices, k = blk < m->r ? 0 : 1;
            if (blk != last) {
                const int64_t tn = m->q + 1 - k;
                if (tiles > 0 && tiles + tn > m->cap) break;
                tiles += tn;
                last = blk;
                t += m->fwd[k];
            }
            t += sl >> s & 1 ? m->unit[k][s] : m->first[k][s];
            sl |= 1u << s;
        }
        ub = ue;
    }
    return t;
}

/* seconds on `threads` (<= 16) threads sharing the units as ConvExecutor does: claims of a share
   of what is left, ceil(left / threads) units but at most floor(units / threads), each taken in
   order by the thread that is free first */
static double threads_seconds(const fft_model *m, int64_t units, int64_t threads) {
    const int64_t n = C4J_MIN(threads, units);
    double busy[16] = {0}, end = 0;
    for (int64_t u = 0; u < units;) {
        int64_t k = 0;
        for (int64_t i = 1; i < n; i++)
            if (busy[i] < busy[k]) k = i;
        const int64_t e = u + C4J_MIN(c4j_ceil_div(units - u, n), C4J_MAX(1, units / n));
        busy[k] += range_seconds(m, u, e) + FFT_CHUNK_SECONDS;
        end = C4J_MAX(end, busy[k]);
        u = e;
    }
    return end;
}

/*
 * Blocks and slices (see "Work units" above). The candidates are the blockings whose single-thread
 * time is within FFT_SPLIT_SLACK of the fewest-units one (the largest L2-sized blocks), or twice
 * that for a split in two (a layer of one unit leaves a second thread idle); of them,
 * the one whose worst ratio to the best candidate, over 1, 2, 4, 8 and 16 threads, is least: no
 * thread count is left with a blocking much slower than another candidate would give it. (A sum of
 * logarithms of the times on 2-16 threads let 3 units win on the strength of 8 and 16 threads,
 * which 2 threads run as 2 + 1.) A small layer keeps few units: each costs nfreq sgemm calls, and
 * run apart its own forward transforms and streaming of B.
 */
#define FFT_THREAD_COUNTS 5 /* 1, 2, 4, 8, 16 */
/* blockings of at most 4 * FFT_UNITS_TARGET units: 4 * FFT_UNITS_TARGET / s block counts per slice
   count s, summed over s = 1..FFT_MAX_SLICES (the harmonic sum of 1..8 is below 3) */
#define FFT_MAX_CANDIDATES (3 * 4 * FFT_UNITS_TARGET)

static void choose_units(const c4j_conv2d_desc *d, fft_plan *p, int64_t cap) {
    const int64_t blocks0 = c4j_ceil_div(p->total, cap);
    p->blocks = blocks0;
    p->slices = 1;
    if (d->groups * blocks0 >= FFT_UNITS_TARGET) return;
    sgemm_memo mm;
    mm.n = mm.measured = 0;
    fft_model m;
    make_model(p, blocks0, 1, cap, &mm, &m);
    const double fewest = range_seconds(&m, 0, d->groups * blocks0), limit = (1.0 + FFT_SPLIT_SLACK) * fewest;
    /* a layer in one unit gives a second thread nothing: a split in two may cost twice the slack */
    const double limit_two = (1.0 + 2 * FFT_SPLIT_SLACK) * fewest;
    /* the candidates' times per thread count, then the least worst ratio to the best of each count;
       the fewest-units blocking is a candidate, so one is always taken */
    double times[FFT_MAX_CANDIDATES][FFT_THREAD_COUNTS];
    int64_t shape[FFT_MAX_CANDIDATES][2];
    double best_of[FFT_THREAD_COUNTS];
    for (int t = 0; t < FFT_THREAD_COUNTS; t++) best_of[t] = HUGE_VAL;
    int n = 0;
    for (int64_t s = 1; s <= C4J_MIN(p->ngrp, FFT_MAX_SLICES); s++)
        for (int64_t b = blocks0; b <= p->total && d->groups * b * s <= 4 * FFT_UNITS_TARGET; b++) {
            const int64_t units = d->groups * b * s;
            make_model(p, b, s, cap, &mm, &m);
            const double one_thread = range_seconds(&m, 0, units);
            if (one_thread > (units == 2 ? limit_two : limit) || n == FFT_MAX_CANDIDATES) continue;
            for (int t = 0; t < FFT_THREAD_COUNTS; t++) {
                times[n][t] = threads_seconds(&m, units, (int64_t)1 << t);
                best_of[t] = C4J_MIN(best_of[t], times[n][t]);
            }
            shape[n][0] = b;
            shape[n][1] = s;
            n++;
        }
    double least = HUGE_VAL;
    for (int i = 0; i < n; i++) {
        double worst = 0;
        for (int t = 0; t < FFT_THREAD_COUNTS; t++) worst = C4J_MAX(worst, times[i][t] / best_of[t]);
        if (worst < least) {
            least = worst;
            p->blocks = shape[i][0];
            p->slices = shape[i][1];
        }
    }
}

/* returns 0 when the convolution does not fit (kernel too large, one tile over the workspace) */
static int plan_uncached(const c4j_conv2d_desc *d, fft_plan *p) {
    memset(p, 0, sizeof *p);
    if (d->stride_h != 1 || d->stride_w != 1) return 0;
    p->kh = extent(d->kernel_h, d->dilation_h);
    p->kw = extent(d->kernel_w, d->dilation_w);
    if (p->kh > FFT_MAX_KERNEL || p->kw > FFT_MAX_KERNEL) return 0;
    p->cin_g = c4j_cin_g(d);
    p->cout_g = c4j_cout_g(d);
    /* sgemm's int arguments (and the workspace bound below) */
    if (p->cin_g > (int64_t)1 << 20 || p->cout_g > (int64_t)1 << 20) return 0;
    p->stacked = p->cin_g * p->cout_g >= FFT_STACKED_PAIRS;
    if (!fft_pick(p->kh, p->kw, p->cin_g, p->cout_g, p->stacked, &p->fh, &p->fw)) return 0;
    fft_sizes z;
    if (!fft_size(p->fh, p->fw, p->cin_g, p->cout_g, p->stacked, &z)) return 0;
    p->hw = p->fw / 2;
    p->mh = p->fh - p->kh + 1;
    p->mw = p->fw - p->kw + 1;
    p->nfw = p->hw + 1;
    p->nfreq = z.nfreq;
    p->nc = 2 * p->cout_g;
    p->kb = z.kb;
    p->pack = pack_of(p->cin_g, FFT_VMAX);
    p->pack_out = pack_of(p->cout_g, FFT_VMAX);
    p->ngrp = c4j_ceil_div(p->cout_g, FFT_SLICE);
    p->s_floats = z.s_floats;
    p->tiles_y = c4j_ceil_div(d->out_h, p->mh);
    p->tiles_x = c4j_ceil_div(d->out_w, p->mw);
    p->total = d->batch * p->tiles_y * p->tiles_x;
    p->blocks = p->slices = 1;
    p->cap = C4J_MAX(1, C4J_MIN(z.tb, p->total));
    if (p->total > 0) choose_units(d, p, p->cap);
    p->tb = p->total > 0 ? c4j_ceil_div(p->total, p->blocks) : 1;
    /* batches of blocks share B_f: worth their larger A and C only when B does not stay in L2 */
    p->cap = 4.0 * (double)z.b_floats > FFT_B_CACHED_BYTES ? C4J_MAX(p->cap, p->tb) : p->tb;
    p->a_step = matrix_step(p->cap * 2 * p->cin_g);

    p->a_floats = p->nfreq * p->a_step;
    /* C tile-major, per unit: a tile's rows of every C_f (c_stride each, see fft_simd.h) */
    p->c_floats = p->cap * (p->stacked ? 2 : 1) * (p->nfreq * p->nc + 32 * p->slices);
    return 1;
}

/* The plans of the last FFT_PLAN_CACHE descriptors this thread saw: every entry point plans, and
   choose_units evaluates the sgemm table a few dozen times (tens of microseconds). More than one:
   space to depth (s2d.c) alternates between the descriptors of its full and last bands, and a
   pool thread runs whichever band it is handed. */
#define FFT_PLAN_CACHE 4
int c4j_fft_make_plan(const c4j_conv2d_desc *d, fft_plan *p) {
    static _Thread_local struct {
        int valid, ok;
        c4j_conv2d_desc d;
        fft_plan p;
    } cache[FFT_PLAN_CACHE];
    static _Thread_local int next;
    for (int i = 0; i < FFT_PLAN_CACHE; i++)
        if (cache[i].valid && memcmp(&cache[i].d, d, sizeof *d) == 0) {
            *p = cache[i].p;
            return cache[i].ok;
        }
    const int ok = plan_uncached(d, p);
    cache[next].d = *d;
    cache[next].p = *p;
    cache[next].ok = ok;
    cache[next].valid = 1;
    next = (next + 1) % FFT_PLAN_CACHE;
    return ok;
}

int c4j_fft_supported(const c4j_conv2d_desc *d) {
    fft_plan p;
    return c4j_fft_make_plan(d, &p);
}

int64_t c4j_fft_tile_rows(const c4j_conv2d_desc *d) {
    fft_plan p;
    return c4j_fft_make_plan(d, &p) ? p.mh : 0;
}

int64_t c4j_fft_units(const c4j_conv2d_desc *d) {
    fft_plan p;
    if (!c4j_fft_make_plan(d, &p)) return 0;
    return d->groups * p.blocks * p.slices;
}

int64_t c4j_fft_workspace(const c4j_conv2d_desc *d) {
    fft_plan p;
    if (!c4j_fft_make_plan(d, &p)) return -1;
    return (p.a_floats + p.c_floats + p.s_floats) * (int64_t)sizeof(float);
}

int64_t c4j_fft_prepared_floats(const c4j_conv2d_desc *d) {
    fft_plan p;
    if (!c4j_fft_make_plan(d, &p)) return 0;
    return d->groups * p.nfreq * p.kb * p.nc;
}


/* Estimated single-thread seconds (all units in one call): blocking_seconds of the plan's units. */
double c4j_fft_estimate(const c4j_conv2d_desc *d) {
    fft_plan p;
    if (!c4j_fft_make_plan(d, &p)) return -1;
    sgemm_memo mm;
    mm.n = 0;
    mm.measured = 1;
    fft_model m;
    make_model(&p, p.blocks, p.slices, p.cap, &mm, &m);
    return range_seconds(&m, 0, d->groups * p.blocks * p.slices);
}

/* Preparing: a direct double-precision DFT of every (input, output) channel pair's kernel. */
double c4j_fft_prepare_estimate(const c4j_conv2d_desc *d) {
    fft_plan p;
    if (!c4j_fft_make_plan(d, &p)) return -1;
    /* per lane (output channels in vectors of 8): the row DFTs, then the column DFTs, which give
       two frequencies per pass (fft.c: prepare_lanes); the time per lane and term is fitted on the
       benchmark layers with small and large prepared filters (see the README) */
    const double macs = (double)(d->kernel_h * d->kernel_w * p.nfw) + (double)(p.fh * p.nfw * d->kernel_h) / 2;
    const double lanes = (double)p.cin_g * (double)(c4j_ceil_div(p.cout_g, 8) * 8);
    return (double)d->groups * lanes * macs * 0.45e-9;
}
