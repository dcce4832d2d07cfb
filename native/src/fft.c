/*
 * FFT convolution for large kernels (C4J_ALGO_FFT), stride 1, by overlap-save tiles.
 *
 * The output is cut into tiles of MH x MW pixels; each is computed from an FH x FW input tile
 * (FH = MH + KH - 1, FW = MW + KW - 1, powers of two, KH/KW the kernel extent with dilation) by
 * circular cross-correlation, which equals the linear one on the first MH x MW pixels. Per unit
 * (one group, one block of consecutive tiles ordered n, tile row, tile column, and one slice of
 * output channels; see "Work units" below):
 *
 *   1. every tile's input channels are transformed: real FFT along w (FW/2-point complex FFT of
 *      the even/odd samples plus the usual split step), complex FFT along h over the FW/2 + 1
 *      columns of the half spectrum. SIMD lanes are channels (NHWC: channels are adjacent; 16 with
 *      AVX-512, 8 with AVX2, 4 otherwise, see fft_simd.h), so every butterfly works on vectors of
 *      channels; with at most half a vector of input channels (RGB input), several tiles share
 *      one vector (tile q in lanes q * Cin_g...), so 3 channels fill 15 of 16 lanes instead of 3.
 *      The result of tile t at frequency f is row t of A_f = [T x 2*Cin_g] ([Xr | Xi]);
 *   2. per frequency, one sgemm with the slice's columns of the prepared B_f does the complex
 *      products summed over the channels (two equivalent forms, see FFT_STACKED_PAIRS);
 *   3. per tile and vector of the slice's output channels, the inverse (columns, then only the
 *      rows that are kept), crop, bias and activation (c4j_epilogue_rows), store into the output
 *      view.
 *
 * No bit-reversal pass: forward transforms are decimation in frequency (natural order in,
 * bit-reversed out), inverse ones decimation in time (bit-reversed in, natural out), the split
 * steps of the real transform work in place on bit-reversed positions, and the prepared filter is
 * stored in the same permuted frequency order. The filter transform U is conj(DFT(w))
 * (cross-correlation; the flipped kernel for flip = 1, taps spread out for dilation), computed in
 * double and scaled by 1 / (2 * FH * FW), which undoes the unnormalised transforms.
 *
 * FH and FW depend on the kernel extent and the channel counts only (cost model, fft_pick), never
 * on the input size, so one prepared filter serves every input size with the same filter and
 * options. The workspace holds A and C for one batch of tiles (one block, or several blocks that
 * share the streaming of a large B) plus one tile buffer; it is bounded (16 MiB) whatever the
 * batch size. The prepared filter has FH * (FW/2 + 1) * 4 (block form) or 2 (stacked) floats per
 * input/output channel pair, 10-20x the raw filter for 9x9 to 11x11 kernels.
 *
 * Runs: stride 1; any dilation (taps spread out in the prepared filter) while the kernel extent is
 * at most FFT_MAX_KERNEL (48) per dimension; any padding, groups, flip, bias, activation, input
 * strides (channels need not be adjacent) and output view; channel counts while one tile's
 * spectra fit the workspace (with Cin_g = Cout_g: up to about 4800 with 16x16 tiles, 1270 with
 * 32x32, 310 with 64x64; a smaller size is taken when the preferred one does not fit).
 *
 * Accuracy: the rounding error is about eps * log2(FH * FW) times the size of the tile's signal,
 * not of each window's, so relative to the golden metric |err| / (1 + sum over the window |x*w|)
 * it is ~1e-7 on ordinary layers but reaches ~1e-5 on outputs whose window is almost all padding.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

#define FFT_VMAX 16         /* widest SIMD: channels per vector (the tile buffer is sized for it) */
#define FFT_MIN 8           /* FFT sizes per dimension: 8, 16, 32, 64 */
#define FFT_MAX 64          /* (the twiddle table's size) */
#define FFT_MAX_KERNEL 48   /* largest kernel extent (dilation included) per dimension */
#define FFT_WS_MAX_FLOATS ((int64_t)4 * 1024 * 1024) /* 16 MiB */

/* The largest block, and the tiles of a batch of blocks (see "Work units"): sgemm wants many rows
   (M = tiles), and each batch streams all of B once, but A and C of a batch should stay near L2. */
#define FFT_BLOCK_TARGET_FLOATS ((int64_t)384 * 1024)
#define FFT_BLOCK_MIN_TILES 8
#define FFT_BLOCK_MAX_TILES 64

/*
 * The complex products over channels as one real sgemm per frequency, in one of two forms. A tile's
 * row of A_f is [Xr | Xi] (2 * cin_g floats) in both.
 *   block:   [T x 2 Cin] [[Ur, Ui], [-Ui, Ur]] = [T x 2 Cout] = [Yr | Yi] directly;
 *   stacked: the row read as two rows Xr, Xi: [2T x Cin] [Ur | Ui] = [2T x 2 Cout], and
 *            Yr = Xr Ur - Xi Ui, Yi = Xr Ui + Xi Ur are added up when the inverse reads them.
 * Same flops; stacked halves B (the prepared filter and what each block streams) and doubles M,
 * which wins once B is large: measured 1.6x on 128 -> 128 channels, 7% on 64 -> 64, but 10-20%
 * slower on 16 and 32 channels, whose small B stays in cache.
 */
#define FFT_STACKED_PAIRS 2048 /* stacked when cin_g * cout_g reaches this */

/* exp(-2 pi i j / 64): double values rounded to float */
static const float TW[FFT_MAX][2] = {
    {1.000000000e+00f, 0.000000000e+00f}, {9.951847267e-01f, -9.801714033e-02f},
    {9.807852804e-01f, -1.950903220e-01f}, {9.569403357e-01f, -2.902846773e-01f},
    {9.238795325e-01f, -3.826834324e-01f}, {8.819212643e-01f, -4.713967368e-01f},
    {8.314696123e-01f, -5.555702330e-01f}, {7.730104534e-01f, -6.343932842e-01f},
    {7.071067812e-01f, -7.071067812e-01f}, {6.343932842e-01f, -7.730104534e-01f},
    {5.555702330e-01f, -8.314696123e-01f}, {4.713967368e-01f, -8.819212643e-01f},
    {3.826834324e-01f, -9.238795325e-01f}, {2.902846773e-01f, -9.569403357e-01f},
    {1.950903220e-01f, -9.807852804e-01f}, {9.801714033e-02f, -9.951847267e-01f},
    {0.000000000e+00f, -1.000000000e+00f}, {-9.801714033e-02f, -9.951847267e-01f},
    {-1.950903220e-01f, -9.807852804e-01f}, {-2.902846773e-01f, -9.569403357e-01f},
    {-3.826834324e-01f, -9.238795325e-01f}, {-4.713967368e-01f, -8.819212643e-01f},
    {-5.555702330e-01f, -8.314696123e-01f}, {-6.343932842e-01f, -7.730104534e-01f},
    {-7.071067812e-01f, -7.071067812e-01f}, {-7.730104534e-01f, -6.343932842e-01f},
    {-8.314696123e-01f, -5.555702330e-01f}, {-8.819212643e-01f, -4.713967368e-01f},
    {-9.238795325e-01f, -3.826834324e-01f}, {-9.569403357e-01f, -2.902846773e-01f},
    {-9.807852804e-01f, -1.950903220e-01f}, {-9.951847267e-01f, -9.801714033e-02f},
    {-1.000000000e+00f, 0.000000000e+00f}, {-9.951847267e-01f, 9.801714033e-02f},
    {-9.807852804e-01f, 1.950903220e-01f}, {-9.569403357e-01f, 2.902846773e-01f},
    {-9.238795325e-01f, 3.826834324e-01f}, {-8.819212643e-01f, 4.713967368e-01f},
    {-8.314696123e-01f, 5.555702330e-01f}, {-7.730104534e-01f, 6.343932842e-01f},
    {-7.071067812e-01f, 7.071067812e-01f}, {-6.343932842e-01f, 7.730104534e-01f},
    {-5.555702330e-01f, 8.314696123e-01f}, {-4.713967368e-01f, 8.819212643e-01f},
    {-3.826834324e-01f, 9.238795325e-01f}, {-2.902846773e-01f, 9.569403357e-01f},
    {-1.950903220e-01f, 9.807852804e-01f}, {-9.801714033e-02f, 9.951847267e-01f},
    {0.000000000e+00f, 1.000000000e+00f}, {9.801714033e-02f, 9.951847267e-01f},
    {1.950903220e-01f, 9.807852804e-01f}, {2.902846773e-01f, 9.569403357e-01f},
    {3.826834324e-01f, 9.238795325e-01f}, {4.713967368e-01f, 8.819212643e-01f},
    {5.555702330e-01f, 8.314696123e-01f}, {6.343932842e-01f, 7.730104534e-01f},
    {7.071067812e-01f, 7.071067812e-01f}, {7.730104534e-01f, 6.343932842e-01f},
    {8.314696123e-01f, 5.555702330e-01f}, {8.819212643e-01f, 4.713967368e-01f},
    {9.238795325e-01f, 3.826834324e-01f}, {9.569403357e-01f, 2.902846773e-01f},
    {9.807852804e-01f, 1.950903220e-01f}, {9.951847267e-01f, 9.801714033e-02f},
};

/* ------------------------------------------------------------------ plan */

/*
 * Work units. A unit is (group, block of consecutive tiles, slice of output channels), slices
 * innermost; all three are fixed by the descriptor (never by the thread count), so every output
 * goes through the same sgemm shapes however the units are split. A unit transforms its block's
 * tiles, runs one sgemm per frequency for its slice's columns of B and transforms its slice back.
 * Within one call, consecutive units share work without changing any value: the slices of a block
 * share its forward transforms, and the blocks of a batch (as many tiles as the L2-sized block of
 * fft_size) share the streaming of each B_f when B does not stay in cache. So on one thread (one
 * call for all units) more units cost only more, smaller sgemm calls; run apart (one unit per
 * thread's chunk) each unit also transforms its block and streams its slice of B.
 *
 * Blocks hold total / blocks tiles, the first total % blocks one more. Slices are whole
 * FFT_SLICE-channel column groups of B, so the prepared layout does not depend on how many slices
 * a layer uses. How many of each: choose_units.
 */
#define FFT_SLICE 16           /* output channels per column group of B */
#define FFT_UNITS_TARGET 16    /* blockings with this many units or more are not split further */
#define FFT_SPLIT_SLACK 0.15   /* single-thread time a finer blocking may cost */
#define FFT_MAX_SLICES 8

typedef struct {
    int64_t kh, kw;                /* kernel extent, dilation included */
    int64_t fh, fw, hw;            /* FFT sizes; hw = fw / 2 complex points per row transform */
    int64_t mh, mw;                /* output tile */
    int64_t nfw, nfreq;            /* hw + 1 half-spectrum columns; fh * nfw frequencies */
    int64_t cin_g, cout_g, nc;     /* channels per group; nc = 2 * cout_g (columns of B) */
    int64_t stacked;               /* product form, see FFT_STACKED_PAIRS */
    int64_t kb;                    /* sgemm K: rows of B_f (cin_g stacked, else 2 * cin_g) */
    int64_t pack;                  /* tiles per forward vector (FFT_VMAX lanes), 1 when cin_g > 8 */
    int64_t ngrp;                  /* FFT_SLICE-channel column groups of B */
    int64_t tiles_y, tiles_x, total;
    int64_t blocks, tb;            /* blocks of tiles; tb: the largest block */
    int64_t cap;                   /* tiles of A and C in the workspace (a batch of blocks) */
    int64_t slices;                /* output-channel slices per block */
    int64_t a_step;                /* floats from A_f to A_f+1 */
    int64_t a_floats, c_floats, s_floats; /* workspace parts */
} fft_plan;

static int64_t extent(int64_t k, int64_t dil) { return (k - 1) * dil + 1; }

static int64_t round16(int64_t floats) { return c4j_ceil_div(floats, 16) * 16; }

/* tiles per forward vector: small channel counts fill the lanes with several tiles */
static int64_t pack_of(int64_t cin, int64_t lanes) { return cin <= lanes / 2 ? lanes / cin : 1; }

/* tiles [*t0, *t1) of block k: total / blocks each, one more for the first total % blocks */
static void block_range(int64_t total, int64_t blocks, int64_t k, int64_t *t0, int64_t *t1) {
    const int64_t q = total / blocks, r = total % blocks;
    *t0 = k * q + C4J_MIN(k, r);
    *t1 = *t0 + q + (k < r);
}

/* output channels [*o0, *o0 + *n) of slice s: column groups spread evenly over the slices */
static void slice_range(const fft_plan *p, int64_t s, int64_t *o0, int64_t *n) {
    const int64_t q0 = s * p->ngrp / p->slices, q1 = (s + 1) * p->ngrp / p->slices;
    *o0 = q0 * FFT_SLICE;
    *n = C4J_MIN(p->cout_g, q1 * FFT_SLICE) - *o0;
}

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

/* A tile's frequencies are written (and read back) one per A_f / C_f: a step of an odd number of
   cache lines spreads them over all L1 sets instead of one when tb * ka is a power of two. */
static int64_t matrix_step(int64_t floats) {
    const int64_t s = round16(floats);
    return (s / 16) % 2 ? s : s + 16;
}

/* ns per byte of B streamed once per batch or unit: free while it stays in L2 */
#define FFT_B_CACHED_BYTES (1024.0 * 1024)
static double stream_ns_per_byte(double bytes) {
    return bytes <= FFT_B_CACHED_BYTES ? 0.0 : bytes <= 16.0 * 1024 * 1024 ? 1.0 / 60 : 1.0 / 20;
}

/*
 * Time model of a blocking, to choose one (choose_units) and to estimate it (c4j_fft_estimate):
 * seconds of each part of the work, on one thread. Transforms: vector_ns per vector of lanes
 * (packed tiles cost more per vector: their pixels are gathered from several tiles); products:
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
            const double inv = (double)(tn * (q1 - q0)) * 0.30 * vec;
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

/* seconds on `threads` (<= 16) threads sharing the units as ConvExecutor does: min(units, 4 per
   thread) contiguous chunks, each taken in order by the thread that is free first */
static double threads_seconds(const fft_model *m, int64_t units, int64_t threads) {
    const int64_t chunks = C4J_MIN(units, 4 * threads), n = C4J_MIN(threads, chunks);
    double busy[16] = {0}, end = 0;
    for (int64_t c = 0; c < chunks; c++) {
        int64_t k = 0;
        for (int64_t i = 1; i < n; i++)
            if (busy[i] < busy[k]) k = i;
        busy[k] += range_seconds(m, units * c / chunks, units * (c + 1) / chunks) + FFT_CHUNK_SECONDS;
        end = C4J_MAX(end, busy[k]);
    }
    return end;
}

/*
 * Blocks and slices (see "Work units" above). Of the blockings whose single-thread time is within
 * FFT_SPLIT_SLACK of the fewest-units one (the largest L2-sized blocks), the one with the least
 * product of its times on 2, 4, 8 and 16 threads (so each thread count weighs by its speed-up).
 * A small layer keeps few units: each costs nfreq sgemm calls, and run apart its own forward
 * transforms and streaming of B.
 */
static void choose_units(const c4j_conv2d_desc *d, fft_plan *p, int64_t cap) {
    const int64_t blocks0 = c4j_ceil_div(p->total, cap);
    p->blocks = blocks0;
    p->slices = 1;
    if (d->groups * blocks0 >= FFT_UNITS_TARGET) return;
    sgemm_memo mm;
    mm.n = mm.measured = 0;
    fft_model m;
    make_model(p, blocks0, 1, cap, &mm, &m);
    const double limit = (1.0 + FFT_SPLIT_SLACK) * range_seconds(&m, 0, d->groups * blocks0);
    double best = HUGE_VAL; /* the fewest-units blocking is a candidate, so one is always taken */
    for (int64_t s = 1; s <= C4J_MIN(p->ngrp, FFT_MAX_SLICES); s++)
        for (int64_t b = blocks0; b <= p->total && d->groups * b * s <= 4 * FFT_UNITS_TARGET; b++) {
            const int64_t units = d->groups * b * s;
            make_model(p, b, s, cap, &mm, &m);
            if (range_seconds(&m, 0, units) > limit) continue;
            double score = 0;
            for (int64_t threads = 2; threads <= 16; threads *= 2) score += log(threads_seconds(&m, units, threads));
            if (score < best) {
                best = score;
                p->blocks = b;
                p->slices = s;
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
static int make_plan(const c4j_conv2d_desc *d, fft_plan *p) {
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
    return make_plan(d, &p);
}

int64_t c4j_fft_tile_rows(const c4j_conv2d_desc *d) {
    fft_plan p;
    return make_plan(d, &p) ? p.mh : 0;
}

int64_t c4j_fft_units(const c4j_conv2d_desc *d) {
    fft_plan p;
    if (!make_plan(d, &p)) return 0;
    return d->groups * p.blocks * p.slices;
}

int64_t c4j_fft_workspace(const c4j_conv2d_desc *d) {
    fft_plan p;
    if (!make_plan(d, &p)) return -1;
    return (p.a_floats + p.c_floats + p.s_floats) * (int64_t)sizeof(float);
}

int64_t c4j_fft_prepared_floats(const c4j_conv2d_desc *d) {
    fft_plan p;
    if (!make_plan(d, &p)) return 0;
    return d->groups * p.nfreq * p.kb * p.nc;
}

/* bit reversal of i < n (n a power of two) */
static int64_t bitrev(int64_t i, int64_t n) {
    int64_t r = 0;
    for (int64_t b = 1; b < n; b <<= 1) {
        r = (r << 1) | (i & 1);
        i >>= 1;
    }
    return r;
}

/* Where horizontal frequency k (0..hw) sits in a spectrum row: the row transform leaves k < hw at
   bit-reversed positions and the split step adds k = hw at the end. */
static int64_t column_of(int64_t k, int64_t hw) { return k < hw ? bitrev(k, hw) : hw; }

/*
 * B_f for every group and frequency: [g][f][kb][2 * cout_g], f = r * nfw + column_of(k): row r
 * holds vertical frequency bitrev(r). The columns are FFT_SLICE-channel groups, each [Ur | Ui] of
 * its channels (a slice of output channels is a contiguous range of columns; with at most 16
 * channels this is plain [Ur | Ui]). Rows c < cin_g are input channel c; the block form adds rows
 * cin_g + c = [-Ui | Ur] per group. U = conj(sum over taps of w * exp(-2 pi i (u y / fh +
 * k x / fw))) / (2 fh fw), computed in double per (input, output channel): taps along w, then h.
 */
/*
 * The filter's spectra, B_f (see above): for each output channel, the DFT of its kernel along w
 * (row[a][k]), then along h, in double. Output channels of one input channel are contiguous in the
 * HWIO filter and in B_f's rows, so the work runs on blocks of FFT_PREP_BLOCK of them at once: one
 * frequency column k at a time (its KH row DFTs, then every h frequency of it), each sum in the
 * same order for every channel. The angles are looked up in tables (no division in the loops):
 * the whole preparation costs about what one forward call does, so the input gradient, which
 * prepares the filter on every call, can run through this algorithm.
 */
#define FFT_PREP_BLOCK 8 /* divides FFT_SLICE: a block never straddles a column group */
void c4j_fft_prepare(const c4j_conv2d_desc *d, const float *filter, float *prepared) {
    c4j_fft_prepare_range(d, filter, prepared, 0, d->groups * c4j_cin_g(d));
}

/* the spectra of (group, input channel) pairs [s0, s1), group-major */
void c4j_fft_prepare_range(const c4j_conv2d_desc *d, const float *filter, float *prepared, int64_t s0, int64_t s1) {
    fft_plan p;
    if (!make_plan(d, &p)) return;
    const int64_t KH = d->kernel_h, KW = d->kernel_w, dh = d->dilation_h, dw = d->dilation_w;
    double ch[FFT_MAX], sh[FFT_MAX], cw[FFT_MAX], sw[FFT_MAX];
    for (int64_t i = 0; i < p.fh; i++) {
        ch[i] = cos(2.0 * M_PI * (double)i / (double)p.fh);
        sh[i] = sin(2.0 * M_PI * (double)i / (double)p.fh);
    }
    for (int64_t i = 0; i < p.fw; i++) {
        cw[i] = cos(2.0 * M_PI * (double)i / (double)p.fw);
        sw[i] = sin(2.0 * M_PI * (double)i / (double)p.fw);
    }
    int64_t rev[FFT_MAX], col[FFT_MAX / 2 + 1];
    for (int64_t r = 0; r < p.fh; r++) rev[r] = bitrev(r, p.fh);
    for (int64_t k = 0; k < p.nfw; k++) col[k] = column_of(k, p.hw);
    /* angle tables: (k * b * dw) mod fw per tap b, (rev[r] * a * dh) mod fh per tap a */
    uint8_t ang_w[FFT_MAX_KERNEL], ang_h[FFT_MAX][FFT_MAX_KERNEL];
    for (int64_t r = 0; r < p.fh; r++)
        for (int64_t a = 0; a < KH; a++) ang_h[r][a] = (uint8_t)((rev[r] * a * dh) % p.fh);
    const double scale = 1.0 / (2.0 * (double)p.fh * (double)p.fw);
    double row[FFT_MAX_KERNEL][2][FFT_PREP_BLOCK]; /* DFT along w of each kernel row, column k */
    const int64_t bsize = p.kb * p.nc;
    for (int64_t s = s0; s < s1; s++) {
        const int64_t g = s / p.cin_g, c = s % p.cin_g;
        for (int64_t o0 = 0; o0 < p.cout_g; o0 += FFT_PREP_BLOCK) {
            const int64_t no = C4J_MIN(FFT_PREP_BLOCK, p.cout_g - o0);
            /* column group of FFT_SLICE channels: [Ur | Ui] of its channels */
            const int64_t grp = o0 / FFT_SLICE, o_re = grp * 2 * FFT_SLICE + o0 % FFT_SLICE;
            const int64_t o_im = o_re + C4J_MIN(FFT_SLICE, p.cout_g - grp * FFT_SLICE);
            const float *fo = filter + c * d->out_c + g * p.cout_g + o0;
            for (int64_t k = 0; k < p.nfw; k++) {
                for (int64_t b = 0; b < KW; b++) ang_w[b] = (uint8_t)((k * b * dw) % p.fw);
                for (int64_t a = 0; a < KH; a++) {
                    const int64_t fa = d->flip ? KH - 1 - a : a;
                    double re[FFT_PREP_BLOCK] = {0}, im[FFT_PREP_BLOCK] = {0};
                    for (int64_t b = 0; b < KW; b++) {
                        const int64_t fb = d->flip ? KW - 1 - b : b;
                        const float *v = fo + (fa * KW + fb) * p.cin_g * d->out_c;
                        const double cv = cw[ang_w[b]], sv = sw[ang_w[b]];
                        for (int64_t j = 0; j < no; j++) {
                            re[j] += (double)v[j] * cv;
                            im[j] -= (double)v[j] * sv;
                        }
                    }
                    for (int64_t j = 0; j < FFT_PREP_BLOCK; j++) {
                        row[a][0][j] = re[j];
                        row[a][1][j] = im[j];
                    }
                }
                for (int64_t r = 0; r < p.fh; r++) {
                    double re[FFT_PREP_BLOCK] = {0}, im[FFT_PREP_BLOCK] = {0};
                    for (int64_t a = 0; a < KH; a++) {
                        /* row[a][k] * exp(-i angle) */
                        const double cv = ch[ang_h[r][a]], sv = sh[ang_h[r][a]];
                        for (int64_t j = 0; j < FFT_PREP_BLOCK; j++) {
                            re[j] += row[a][0][j] * cv + row[a][1][j] * sv;
                            im[j] += row[a][1][j] * cv - row[a][0][j] * sv;
                        }
                    }
                    float *bf = prepared + (g * p.nfreq + r * p.nfw + col[k]) * bsize;
                    for (int64_t j = 0; j < no; j++) {
                        const float ur = (float)(re[j] * scale), ui = (float)(-im[j] * scale); /* conjugate */
                        bf[c * p.nc + o_re + j] = ur;
                        bf[c * p.nc + o_im + j] = ui;
                        if (!p.stacked) {
                            bf[(p.cin_g + c) * p.nc + o_re + j] = -ui;
                            bf[(p.cin_g + c) * p.nc + o_im + j] = ur;
                        }
                    }
                }
            }
        }
    }
}
/* ------------------------------------------------------------------ vector kernels, one per width */

typedef struct {
    const c4j_conv2d_desc *d;
    const fft_plan *p;
    float *sp;                   /* tile buffer: [fh][nfw] complex vectors */
    int64_t rev[FFT_MAX / 2];    /* bit reversal of hw: where the row transform leaves k */
    int32_t perm[2][FFT_VMAX] __attribute__((aligned(64))); /* packed lanes -> [Xr | Xi] rows */
} tile_ctx;

#define FK_ISA portable
#define FK_V 4
#define FK_TARGET
#include "fft_simd.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define C4J_HAVE_X86_FFT 1

#define FK_ISA avx2
#define FK_V 8
#define FK_TARGET __attribute__((target("avx2,fma")))
#include "fft_simd.h"

#define FK_ISA avx512
#define FK_V 16
#define FK_TARGET __attribute__((target("avx512f")))
#define FK_MASKED 1
#include "fft_simd.h"
#endif

void c4j_fft_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *prepared,
                 const float *bias, float *out, float *workspace, int64_t u0, int64_t u1) {
    fft_plan p;
    if (!make_plan(d, &p)) return;
#ifdef C4J_HAVE_X86_FFT
#endif
#ifdef C4J_HAVE_X86_FFT
    if (c4j_cpu_has_avx512()) {
        run_avx512(blas, d, &p, in, prepared, bias, out, workspace, u0, u1);
        return;
    }
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        run_avx2(blas, d, &p, in, prepared, bias, out, workspace, u0, u1);
        return;
    }
#endif
    run_portable(blas, d, &p, in, prepared, bias, out, workspace, u0, u1);
}

/* Estimated single-thread seconds (all units in one call): blocking_seconds of the plan's units. */
double c4j_fft_estimate(const c4j_conv2d_desc *d) {
    fft_plan p;
    if (!make_plan(d, &p)) return -1;
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
    if (!make_plan(d, &p)) return -1;
    const double macs = (double)(d->kernel_h * d->kernel_w * p.nfw + p.fh * p.nfw * d->kernel_h);
    return (double)d->groups * (double)p.cin_g * (double)p.cout_g * macs * 0.5e-9;
}

/* ------------------------------------------------------------------ forward table row */

/* Strided layers run through s2d.c (space to depth) as stride-1 ones of this algorithm. */
#define FFT_S2D(d) c4j_via_s2d(d, C4J_ALGO_FFT)

static int fft_applies(const c4j_conv2d_desc *d) {
    return c4j_fft_supported(d) || c4j_s2d_applicable(d, C4J_ALGO_FFT);
}
static int64_t fft_units(const c4j_conv2d_desc *d) {
    return FFT_S2D(d) ? c4j_s2d_units(d, C4J_ALGO_FFT) : c4j_fft_units(d);
}
static int64_t fft_workspace(const c4j_conv2d_desc *d) {
    return FFT_S2D(d) ? c4j_s2d_workspace(d, C4J_ALGO_FFT) : c4j_fft_workspace(d);
}
static int64_t fft_prepared(const c4j_conv2d_desc *d) {
    return FFT_S2D(d) ? c4j_s2d_prepared_floats(d, C4J_ALGO_FFT) : c4j_fft_prepared_floats(d);
}
static void fft_prepare_row(const c4j_conv2d_desc *d, const float *filter, float *prepared) {
    if (FFT_S2D(d)) c4j_s2d_prepare(d, C4J_ALGO_FFT, filter, prepared);
    else c4j_fft_prepare(d, filter, prepared);
}
static double fft_estimate_row(const c4j_conv2d_desc *d, int include_prepare) {
    const double s = FFT_S2D(d) ? c4j_s2d_estimate(d, C4J_ALGO_FFT, include_prepare)
                                : c4j_fft_estimate(d) + (include_prepare ? c4j_fft_prepare_estimate(d) : 0);
    return c4j_small_groups_adjusted(d, s);
}
static void fft_run_row(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *filter,
                        const float *prepared, const float *bias, float *out, void *workspace, int64_t u0, int64_t u1) {
    (void)filter;
    if (FFT_S2D(d)) c4j_s2d_run(blas, d, C4J_ALGO_FFT, in, prepared, bias, out, (float *)workspace, u0, u1);
    else c4j_fft_run(blas, d, in, prepared, bias, out, (float *)workspace, u0, u1);
}

const c4j_conv2d_algorithm c4j_conv2d_fft = {"fft", C4J_ALGO_FFT, 0, fft_applies, fft_units, fft_workspace,
                                              fft_prepared, fft_prepare_row, fft_estimate_row, fft_run_row};
