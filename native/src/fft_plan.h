/*
 * The FFT route's plan (fft_plan.c): the transform size, the blocking into work units and the
 * workspace layout of one descriptor, shared by the filter preparation and the kernels (fft.c,
 * fft_simd.h). Private to the FFT files.
 */
#ifndef CONV4J_FFT_PLAN_H
#define CONV4J_FFT_PLAN_H

#include <stdint.h>

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
    int64_t pack_out;              /* tiles per inverse vector, 1 when cout_g > 8 (AVX-512 only) */
    int64_t ngrp;                  /* FFT_SLICE-channel column groups of B */
    int64_t tiles_y, tiles_x, total;
    int64_t blocks, tb;            /* blocks of tiles; tb: the largest block */
    int64_t cap;                   /* tiles of A and C in the workspace (a batch of blocks) */
    int64_t slices;                /* output-channel slices per block */
    int64_t a_step;                /* floats from A_f to A_f+1 */
    int64_t a_floats, c_floats, s_floats; /* workspace parts */
} fft_plan;

static inline int64_t round16(int64_t floats) { return c4j_ceil_div(floats, 16) * 16; }

/* tiles per forward vector: small channel counts fill the lanes with several tiles */
static inline int64_t pack_of(int64_t cin, int64_t lanes) { return cin <= lanes / 2 ? lanes / cin : 1; }

/* tiles [*t0, *t1) of block k: total / blocks each, one more for the first total % blocks */
static inline void block_range(int64_t total, int64_t blocks, int64_t k, int64_t *t0, int64_t *t1) {
    const int64_t q = total / blocks, r = total % blocks;
    *t0 = k * q + C4J_MIN(k, r);
    *t1 = *t0 + q + (k < r);
}

/* output channels [*o0, *o0 + *n) of slice s: column groups spread evenly over the slices */
static inline void slice_range(const fft_plan *p, int64_t s, int64_t *o0, int64_t *n) {
    const int64_t q0 = s * p->ngrp / p->slices, q1 = (s + 1) * p->ngrp / p->slices;
    *o0 = q0 * FFT_SLICE;
    *n = C4J_MIN(p->cout_g, q1 * FFT_SLICE) - *o0;
}

/* A tile's frequencies are written (and read back) one per A_f / C_f: a step of an odd number of
   cache lines spreads them over all L1 sets instead of one when tb * ka is a power of two. */
static inline int64_t matrix_step(int64_t floats) {
    const int64_t s = round16(floats);
    return (s / 16) % 2 ? s : s + 16;
}

/* The plan of a descriptor (cached per thread); 0 when the FFT route cannot run it. */
int c4j_fft_make_plan(const c4j_conv2d_desc *d, fft_plan *p);

#endif
