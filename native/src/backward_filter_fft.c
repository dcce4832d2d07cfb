/*
 * Filter gradient by FFT tiles (filter route C4J_ALGO_FFT): dilation 1, one group, any stride.
 *
 * dW[kh, kw, c, o] = sum over n, oh, ow of X[n, oh - pad_top + kh, ow - pad_left + kw, c] *
 * dY[n, oh, ow, o] is a correlation of the input with dY, summed over images. The output is cut
 * into tiles of MH x MW pixels (MH = F - KH + 1, MW = F - KW + 1, F a power of two); for a tile at
 * (y0, x0) the F x F input window starting at (y0 - pad_top, x0 - pad_left) and the tile's dY rows,
 * zero-padded to F x F, give the tile's share of every tap without wrap-around as
 *
 *   dW_tile[kh, kw] = IDFT( DFT(X window) * conj(DFT(dY tile)) )[kh, kw],
 *
 * so dW_hat[f][c][o] = sum over tiles of X_hat[f][c] * conj(dY_hat[f][o]) for every frequency f
 * (half of them: the data are real), then one inverse transform per (c, o) pair, cropped to the
 * kernel. Where the GEMM route gathers KH x KW patch columns per pixel and multiplies them with
 * few output channels (an 11x11 16-channel layer: 121 x 16 floats gathered per pixel for 16
 * columns), this does a few transforms per tile and one complex multiply-add per frequency,
 * channel pair and tile.
 *
 * A strided layer runs as a stride-1 one by space to depth (as s2d.c does for the forward pass):
 * with kh = sh*a + p, kw = sw*b + q (0 <= p < sh, 0 <= q < sw),
 *
 *   dW[sh*a + p, sw*b + q, c, o] = sum of X2[n, oh + a, ow + b, (p*sw + q)*C + c] * dY[n, oh, ow, o],
 *   X2[n, y, x, (p*sw + q)*C + c] = X[n, sh*y + p - pad_top, sw*x + q - pad_left, c] (0 outside),
 *
 * a stride-1, unpadded correlation of X2 (sh*sw*C channels) with dY over ceil(KH/sh) x ceil(KW/sw)
 * taps, whose taps past the kernel are dropped. X2 is never built: the tile gather reads each of
 * its lanes from X. A 7x7/2 layer on 3 channels becomes 4x4 taps on 12 channels, one lane vector.
 *
 * The transforms are radix-4 complex FFTs (one radix-2 stage first when log2 F is odd) on vectors
 * of 16 lanes (channels of one tile, or output channels of one pair row), compiled for AVX-512,
 * AVX2 and plain C (target clones on x86-64).
 * Units are (block of input channels, range of tiles): a unit transforms its tiles' input
 * channels of its block and all of their dY channels, accumulates its spectra and transforms them
 * back; ranges r > 0 sum into their own partial copies of dW, which backward.c's reduction adds in
 * a fixed order, so every thread count gives the same bits. The bias gradient is summed by the
 * units of channel block 0, tile by tile in a fixed order.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

#define BWF_LANES 16
#define BWF_MAX_F 64
/* at most this many floats of accumulated spectra per unit, and of the whole workspace */
#define BWF_ACC_FLOATS (2 * 1024 * 1024)
/* units wanted (so that two threads share a layer), a power of two */
#define BWF_MIN_UNITS 2
/* per vector butterfly (the tile's gathers, zeroing and copies included) and per vector complex
   multiply-add, single thread, AVX-512: measured on the 11x11 and 5x5 benchmark layers (the
   space-to-depth gather, lane by lane, costs more: a 7x7/2 layer ran about 1.4x its estimate) */
#define BWF_BUTTERFLY_NS 4.5
#define BWF_CMAC_NS 1.4

typedef float v16 __attribute__((vector_size(BWF_LANES * sizeof(float))));

typedef struct {
    int64_t sh, sw, kh, kw;      /* strides, taps of the stride-1 correlation (ceil(KH/sh), ceil(KW/sw)) */
    int64_t F, logF, half, nf;   /* transform size, log2, F/2 + 1, frequencies kept (F * half) */
    int64_t mh, mw;              /* output pixels per tile */
    int64_t ty, tx, tiles;       /* tiles per column, per row, in all */
    int64_t cin, cout, coutv;    /* channels (of X2: sh*sw x the input's), output-channel vectors */
    int64_t cb, cblocks, ranges; /* input channels per unit, blocks, tile ranges */
} bwf_plan;

/* Tiles whose input windows share one transform, each in its own lanes, when a block has fewer
   input channels than lanes (seed_5x5_n4: 3 channels, 13 of 16 lanes idle otherwise). Every lane
   of a transform runs the same operations, so a tile's spectra are the same bits in any lanes. */
static int64_t tiles_per_transform(const bwf_plan *p) { return p->cb < BWF_LANES ? BWF_LANES / p->cb : 1; }

/* single-thread seconds of plan p, counted in 1-D transforms of F points: forward (each unit
   transforms its block's input channels and all dY channels of its tiles: half the data rows, two
   real rows per transform, then F/2 + 1 columns), products, inverse (per range and channel pair:
   F/2 + 1 columns, then the kernel's rows) */
static double plan_seconds(const bwf_plan *p) {
    const double fft1 = (double)(p->F / 2 * p->logF) * BWF_BUTTERFLY_NS;
    const double x_sets = (double)c4j_ceil_div(p->cb, BWF_LANES), y_sets = (double)p->coutv;
    const double per_tile = x_sets * (double)(p->F / 2 + p->half) / (double)tiles_per_transform(p) +
                            y_sets * (double)((p->mh + 1) / 2 + p->half);
    const double forward = (double)p->tiles * (double)p->cblocks * per_tile * fft1;
    const double products = (double)p->tiles * (double)p->nf * (double)p->cin * (double)p->coutv * BWF_CMAC_NS;
    const double inverse = (double)p->ranges * (double)p->cin * (double)p->coutv * (double)(p->half + p->kh) * fft1;
    return (forward + products + inverse) * 1e-9;
}

/*
 * The plan of d: the transform size and the units whose estimate is lowest. Sizes: the smallest
 * power of two of at least twice the taps, or twice that (fewer, larger tiles: a 4x4-tap layer
 * after space to depth on a 112x112 output runs 81 tiles of 16 x 16 instead of 529 of 8 x 8, whose
 * per-tile gathers and transforms of dY's vectors cost more than the larger transforms; measured
 * 3.2 vs 4.5 ms on 7x7/2 3->64 at 224x224). Units: BWF_MIN_UNITS from input-channel blocks (each
 * repeats the dY transforms) or tile ranges (each repeats the inverse transforms).
 */
static int make_plan(const c4j_conv2d_desc *d, bwf_plan *p) {
    memset(p, 0, sizeof *p);
    if (d->groups != 1 || d->dilation_h != 1 || d->dilation_w != 1 || d->stride_h < 1 || d->stride_w < 1) return 0;
    bwf_plan q;
    q.sh = d->stride_h, q.sw = d->stride_w;
    q.kh = c4j_ceil_div(d->kernel_h, q.sh), q.kw = c4j_ceil_div(d->kernel_w, q.sw);
    const int64_t k = C4J_MAX(q.kh, q.kw);
    if (k < 2 || k > BWF_MAX_F / 2) return 0; /* 1x1 taps after space to depth: the GEMM route's work */
    int64_t smallest = 8;
    while (smallest < 2 * k) smallest *= 2;
    q.cin = q.sh * q.sw * d->in_c;
    q.cout = d->out_c;
    q.coutv = c4j_ceil_div(q.cout, BWF_LANES);
    double best = -1;
    for (q.F = smallest; q.F <= C4J_MIN(2 * smallest, BWF_MAX_F); q.F *= 2) {
        q.logF = __builtin_ctzll((unsigned long long)q.F);
        q.half = q.F / 2 + 1;
        q.nf = q.F * q.half;
        q.mh = q.F - q.kh + 1;
        q.mw = q.F - q.kw + 1;
        q.ty = c4j_ceil_div(d->out_h, q.mh);
        q.tx = c4j_ceil_div(d->out_w, q.mw);
        q.tiles = d->batch * q.ty * q.tx;
        for (int64_t want = 1; want <= BWF_MIN_UNITS; want *= 2) {
            q.cblocks = C4J_MIN(q.cin, want);
            q.cb = c4j_ceil_div(q.cin, q.cblocks);
            q.cblocks = c4j_ceil_div(q.cin, q.cb);
            if (q.nf * q.cb * q.coutv * BWF_LANES * 2 > BWF_ACC_FLOATS) continue;
            q.ranges = C4J_MAX(1, C4J_MIN(q.tiles, c4j_ceil_div(BWF_MIN_UNITS, q.cblocks)));
            const double sec = plan_seconds(&q);
            if (best < 0 || sec < best) {
                best = sec;
                *p = q;
            }
        }
    }
    return best >= 0;
}

int c4j_bwf_applicable(const c4j_conv2d_desc *d) {
    bwf_plan p;
    return make_plan(d, &p);
}

int64_t c4j_bwf_ranges(const c4j_conv2d_desc *d) {
    bwf_plan p;
    return make_plan(d, &p) ? p.ranges : 0;
}

int64_t c4j_bwf_units(const c4j_conv2d_desc *d) {
    bwf_plan p;
    return make_plan(d, &p) ? p.cblocks * p.ranges : 0;
}

/* workspace: tile buffer [F*F] complex vectors | X spectra [nf][ceil(cb/16)] complex vectors per
   transform of a batch (tp tiles' lanes, or one tile's)
   | dY spectra [nf][coutv] vectors per tile of a batch
   | accumulators [nf][cb][coutv] complex vectors, each part 64-byte aligned */
/* rows of the tile buffer are F + 1 vectors apart: at F vectors (a power of two times 64 bytes) a
   column transform's points would share a few cache sets and miss L1 on every butterfly */
static int64_t pitch(const bwf_plan *p) { return p->F + 1; }
static int64_t buf_floats(const bwf_plan *p) { return p->F * pitch(p) * 2 * BWF_LANES; }
/* X spectra of one transform (tp tiles, or one tile's ceil(cb / 16) vectors of channels): per
   frequency the transform's vectors as they are, [re lanes | im lanes] */
static int64_t sx_floats(const bwf_plan *p) { return p->nf * c4j_ceil_div(p->cb, BWF_LANES) * 2 * BWF_LANES; }
static int64_t sy_floats(const bwf_plan *p) { return p->nf * p->coutv * 2 * BWF_LANES; }
static int64_t acc_floats(const bwf_plan *p) { return p->nf * p->cb * p->coutv * 2 * BWF_LANES; }

/* Tiles whose spectra are kept together so that the products add them to each accumulator while
   it is in registers (one load and store of the accumulators per batch instead of per tile: a
   unit's accumulators on a layer of many channels do not stay in L2): as many as fit in
   BWF_BATCH_FLOATS, at most BWF_BATCH_MAX, a multiple of the tiles of a shared transform. Tiles
   are still added one after the other in order, so the batch size does not change the sums. */
#define BWF_BATCH_FLOATS (128 * 1024)
#define BWF_BATCH_MAX 8
static int64_t batch_tiles(const bwf_plan *p) {
    const int64_t tp = tiles_per_transform(p);
    const int64_t fit = C4J_MAX(1, C4J_MIN(BWF_BATCH_MAX, BWF_BATCH_FLOATS / (sx_floats(p) / tp + sy_floats(p))));
    return C4J_MAX(tp, fit / tp * tp);
}

int64_t c4j_bwf_workspace(const c4j_conv2d_desc *d) {
    bwf_plan p;
    if (!make_plan(d, &p)) return -1;
    const int64_t batch = batch_tiles(&p), transforms = batch / tiles_per_transform(&p);
    return (buf_floats(&p) + transforms * sx_floats(&p) + batch * sy_floats(&p) + acc_floats(&p)) * 4;
}

double c4j_bwf_estimate(const c4j_conv2d_desc *d) {
    bwf_plan p;
    return make_plan(d, &p) ? plan_seconds(&p) : -1;
}

/* ------------------------------------------------------------------ transforms */

#define BWF_INLINE static inline __attribute__((always_inline))

/* twiddles w^j = exp(-2 pi i j / n), j < n (a radix-4 butterfly's third point takes w^3j, up to 3n/4) */
static void twiddles(int64_t n, float *wr, float *wi) {
    for (int64_t j = 0; j < n; j++) {
        wr[j] = (float)cos(2.0 * M_PI * (double)j / (double)n);
        wi[j] = (float)-sin(2.0 * M_PI * (double)j / (double)n);
    }
}

/* rev[i] = bit reversal of i < n (n = 2^logn) */
static void bit_reversal(int64_t n, int64_t logn, uint8_t *rev) {
    for (int64_t i = 0; i < n; i++) {
        int64_t j = 0;
        for (int64_t b = 0; b < logn; b++) j |= ((i >> b) & 1) << (logn - 1 - b);
        rev[i] = (uint8_t)j;
    }
}

/* The radix-4 butterfly of the decimation in time on four points whose twiddles are applied
   (x: re, im of points 0..3, in bit-reversed order), stored to o + k os, k < 4. */
BWF_INLINE void dit4_store(const v16 *x, v16 *or_, v16 *oi, int64_t os, int inverse) {
    const v16 ar = x[0] + x[2], ai = x[1] + x[3], br = x[0] - x[2], bi = x[1] - x[3];
    const v16 cr = x[4] + x[6], ci = x[5] + x[7], dr = x[4] - x[6], di = x[5] - x[7];
    or_[0] = ar + cr, oi[0] = ai + ci, or_[2 * os] = ar - cr, oi[2 * os] = ai - ci;
    if (!inverse) /* b - i d, b + i d */
        or_[os] = br + di, oi[os] = bi - dr, or_[3 * os] = br - di, oi[3 * os] = bi + dr;
    else /* b + i d, b - i d */
        or_[os] = br - di, oi[os] = bi + dr, or_[3 * os] = br + di, oi[3 * os] = bi - dr;
}

/* The radix-4 stage of span 4q from (xr, xi) at stride xs to (yr, yi) at stride ys (the same
   positions: in place when the arrays are the same). Twiddles w = W_4q^j on the point 2q on, w^2
   on the point q on (its inputs are bit-reversed), w^3; none at j = 0, whose twiddles are 1. */
BWF_INLINE void dit4_stage(const v16 *xr, const v16 *xi, int64_t xs, v16 *yr, v16 *yi, int64_t ys, int64_t n,
                           int64_t q, const float *wr, const float *wi, int inverse) {
    const int64_t step = n / (4 * q);
    const float sign = inverse ? -1.0f : 1.0f;
    for (int64_t j = 0; j < q; j++) {
        const float w1r = wr[j * step], w1i = sign * wi[j * step];
        const float w2r = wr[2 * j * step], w2i = sign * wi[2 * j * step];
        const float w3r = wr[3 * j * step], w3i = sign * wi[3 * j * step];
        for (int64_t b = 0; b < n; b += 4 * q) {
            const int64_t k = (b + j) * xs, qs = q * xs;
            const v16 x0r = xr[k], x0i = xi[k];
            v16 y1r = xr[k + qs], y1i = xi[k + qs], y2r = xr[k + 2 * qs], y2i = xi[k + 2 * qs], y3r = xr[k + 3 * qs],
                y3i = xi[k + 3 * qs];
            if (j != 0) {
                v16 t = y1r * w2r - y1i * w2i;
                y1i = y1r * w2i + y1i * w2r, y1r = t;
                t = y2r * w1r - y2i * w1i;
                y2i = y2r * w1i + y2i * w1r, y2r = t;
                t = y3r * w3r - y3i * w3i;
                y3i = y3r * w3i + y3i * w3r, y3r = t;
            }
            const v16 x[8] = {x0r, x0i, y1r, y1i, y2r, y2i, y3r, y3i};
            dit4_store(x, yr + (b + j) * ys, yi + (b + j) * ys, q * ys, inverse);
        }
    }
}

/* FFT of n complex vectors at re/im + k * s (k < n), in place, decimation in time; inverse:
   conjugate twiddles, unnormalised; rev: bit_reversal(n), w: twiddles(n). The first stage reads
   its points in bit-reversed order (no reordering pass) and the stages between the first and the
   last run in a local copy, which stays in L1 where the points s apart in the tile buffer do not. */
BWF_INLINE void fft_vec(v16 *re, v16 *im, int64_t n, int64_t s, const uint8_t *rev, const float *wr,
                        const float *wi, int inverse) {
    v16 tr[BWF_MAX_F], ti[BWF_MAX_F];
    int64_t q;
    /* a first radix-2 stage when log2(n) is odd, else a first radix-4 one: twiddles all 1, adds only */
    if (__builtin_ctzll((unsigned long long)n) & 1) {
        for (int64_t b = 0; b < n; b += 2) {
            const int64_t i0 = rev[b] * s, i1 = rev[b + 1] * s;
            const v16 xr = re[i0], xi = im[i0], yr = re[i1], yi = im[i1];
            tr[b] = xr + yr, ti[b] = xi + yi, tr[b + 1] = xr - yr, ti[b + 1] = xi - yi;
        }
        q = 2;
    } else {
        for (int64_t b = 0; b < n; b += 4) {
            const int64_t i0 = rev[b] * s, i1 = rev[b + 1] * s, i2 = rev[b + 2] * s, i3 = rev[b + 3] * s;
            const v16 x[8] = {re[i0], im[i0], re[i1], im[i1], re[i2], im[i2], re[i3], im[i3]};
            dit4_store(x, tr + b, ti + b, 1, inverse);
        }
        q = 4;
    }
    for (; 4 * q < n; q *= 4) dit4_stage(tr, ti, 1, tr, ti, 1, n, q, wr, wi, inverse);
    if (4 * q == n) {
        dit4_stage(tr, ti, 1, re, im, s, n, q, wr, wi, inverse);
        return;
    }
    for (int64_t k = 0; k < n; k++) re[k * s] = tr[k], im[k * s] = ti[k]; /* n = 2 or 4: the first stage was all */
}

/*
 * Forward 2-D transform of the real tile in re (rows [rows, F) zero; im need not be): rows with
 * data only, then columns v <= F/2. Two real rows take one complex transform, row u + 1 as the
 * imaginary part of row u, taken apart after it by the symmetry of real data's spectra:
 * X_u[v] = (Z[v] + conj(Z[-v])) / 2, X_u+1[v] = (Z[v] - conj(Z[-v])) / 2i (half the row transforms).
 */
BWF_INLINE void fft2_forward(const bwf_plan *p, v16 *re, v16 *im, int64_t rows, const uint8_t *rev, const float *wr,
                             const float *wi) {
    const int64_t P = pitch(p), F = p->F;
    const v16 zero = {0};
    for (int64_t u = 0; u < rows; u += 2) {
        v16 *zr = re + u * P, *zi = im + u * P;
        if (u + 1 == rows) { /* a last row alone */
            for (int64_t v = 0; v < F; v++) zi[v] = zero;
            fft_vec(zr, zi, F, 1, rev, wr, wi, 0);
            continue;
        }
        v16 *nr = re + (u + 1) * P, *ni = im + (u + 1) * P;
        for (int64_t v = 0; v < F; v++) zi[v] = nr[v];
        fft_vec(zr, zi, F, 1, rev, wr, wi, 0);
        /* in place: column v <= F/2 is written after Z[v] and Z[F - v] are read, and F - v > F/2
           is never written */
        for (int64_t v = 0; v < p->half; v++) {
            const int64_t k = (F - v) & (F - 1);
            const v16 ar = zr[v], ai = zi[v], br = zr[k], bi = zi[k];
            zr[v] = (ar + br) * 0.5f, zi[v] = (ai - bi) * 0.5f;
            nr[v] = (ai + bi) * 0.5f, ni[v] = (br - ar) * 0.5f;
        }
    }
    for (int64_t u = rows; u < F; u++)
        for (int64_t v = 0; v < p->half; v++) re[u * P + v] = im[u * P + v] = zero;
    for (int64_t v = 0; v < p->half; v++) fft_vec(re + v, im + v, F, P, rev, wr, wi, 0);
}

/* ------------------------------------------------------------------ one unit */

/* n <= BWF_LANES floats at src, stride s, into dst (the lanes of a tile buffer vector). Adjacent
   channels by fixed-size copies (one vector for a full one; a few channels, as an RGB input's,
   element by element cost a loop per pixel): 4 floats at a time, the last 4 overlapping the
   previous ones, or 2 + 1 below 4. */
BWF_INLINE void copy_lanes(float *dst, const float *src, int64_t n, int64_t s) {
    if (s != 1) {
        for (int64_t l = 0; l < n; l++) dst[l] = src[l * s];
    } else if (n == BWF_LANES) {
        memcpy(dst, src, BWF_LANES * sizeof(float));
    } else if (n >= 4) {
        for (int64_t l = 0; l + 4 <= n; l += 4) memcpy(dst + l, src + l, 4 * sizeof(float));
        if (n % 4) memcpy(dst + n - 4, src + n - 4, 4 * sizeof(float));
    } else {
        if (n & 2) memcpy(dst, src, 2 * sizeof(float));
        if (n & 1) dst[n - 1] = src[n - 1];
    }
}

/* the columns b in [0, F) with 0 <= s * (x0 + b) + off < size: [*b0, *b1) (empty if *b0 >= *b1) */
static void valid_columns(int64_t F, int64_t s, int64_t x0, int64_t off, int64_t size, int64_t *b0, int64_t *b1) {
    const int64_t lo = -off - s * x0, hi = size - 1 - off - s * x0; /* s * b in [lo, hi] */
    *b0 = C4J_MAX(0, lo <= 0 ? -(-lo / s) : (lo + s - 1) / s);
    *b1 = hi < 0 ? 0 : C4J_MIN(F, hi / s + 1);
}

/* The F x F input window of the tile at (y0, x0) of image n, lanes [0, nl) = input channels
   [c0, c0 + nl), into the tile buffer's real part from lane lane0 on (zeroed by the caller; padding
   stays zero). */
BWF_INLINE void gather_window(const c4j_conv2d_desc *d, const bwf_plan *p, const float *in, int64_t n, int64_t y0,
                              int64_t x0, int64_t c0, int64_t nl, v16 *bre, int64_t lane0) {
    const int64_t F = p->F, P = pitch(p), s3 = d->in_stride[3];
    int64_t b0, b1;
    valid_columns(F, 1, x0, -d->pad_left, d->in_w, &b0, &b1);
    for (int64_t a = 0; a < F; a++) {
        const int64_t ih = y0 - d->pad_top + a;
        if (ih < 0 || ih >= d->in_h) continue;
        const int64_t row = n * d->in_stride[0] + ih * d->in_stride[1] + c0 * s3;
        for (int64_t b = b0; b < b1; b++)
            copy_lanes((float *)&bre[a * P + b] + lane0, in + row + (x0 - d->pad_left + b) * d->in_stride[2], nl, s3);
    }
}

/* The same window of X2 (space to depth, see the top): lane l is X2 channel c0 + l, read from X
   at its own pixel phase. Lanes of one phase are adjacent input channels, copied as one run. */
static void gather_window_s2d(const c4j_conv2d_desc *d, const bwf_plan *p, const float *in, int64_t n, int64_t y0,
                              int64_t x0, int64_t c0, int64_t nl, v16 *bre, int64_t lane0) {
    const int64_t F = p->F, P = pitch(p), s3 = d->in_stride[3];
    for (int64_t l0 = 0; l0 < nl;) {
        const int64_t phase = (c0 + l0) / d->in_c, ci = (c0 + l0) % d->in_c;
        const int64_t run = C4J_MIN(nl - l0, d->in_c - ci);
        const int64_t oy = phase / p->sw - d->pad_top, ox = phase % p->sw - d->pad_left;
        int64_t b0, b1;
        valid_columns(F, p->sw, x0, ox, d->in_w, &b0, &b1);
        for (int64_t a = 0; a < F; a++) {
            const int64_t ih = p->sh * (y0 + a) + oy;
            if (ih < 0 || ih >= d->in_h) continue;
            const int64_t row = n * d->in_stride[0] + ih * d->in_stride[1] + ci * s3;
            for (int64_t b = b0; b < b1; b++)
                copy_lanes((float *)&bre[a * P + b] + lane0 + l0, in + row + (p->sw * (x0 + b) + ox) * d->in_stride[2],
                           run, s3);
        }
        l0 += run;
    }
}

/*
 * The products of k (a constant: 4, 2 or 1) input channels with one vector of output channels,
 * over the nb tiles of a batch: a[q st] (re) and a[q st + 1] (im) += X_hat[q] * conj(dY_hat).
 * X_hat of tile j is in transform j / tp's spectra (sxf floats after the previous transform's),
 * lanes (j % tp) nc + q, real parts at x, imaginary BWF_LANES floats on; dY_hat of tile j syf floats
 * after tile j - 1's. The 2k sums stay in registers over the batch, each dY vector loaded once
 * for the k channels.
 */
BWF_INLINE void add_products(v16 *a, int64_t st, const float *x, int64_t sxf, int64_t tp, int64_t nc, const v16 *y,
                             int64_t syf, int64_t nb, int k) {
    v16 re[4], im[4];
    for (int q = 0; q < k; q++) re[q] = a[q * st], im[q] = a[q * st + 1];
    for (int64_t j0 = 0; j0 < nb; j0 += tp, x += sxf)
        for (int64_t j = j0; j < C4J_MIN(nb, j0 + tp); j++) {
            const float *xj = x + (j - j0) * nc;
            const v16 *yj = (const v16 *)((const float *)y + j * syf);
            const v16 yr = yj[0], yi = yj[1];
            for (int q = 0; q < k; q++) {
                re[q] += xj[q] * yr + xj[BWF_LANES + q] * yi;
                im[q] += xj[BWF_LANES + q] * yr - xj[q] * yi;
            }
        }
    for (int q = 0; q < k; q++) a[q * st] = re[q], a[q * st + 1] = im[q];
}

static void tile_origin(const bwf_plan *p, int64_t t, int64_t *n, int64_t *y0, int64_t *x0) {
    *n = t / (p->ty * p->tx);
    *y0 = (t / p->tx) % p->ty * p->mh;
    *x0 = t % p->tx * p->mw;
}

/* The kept half spectrum of an input window (row u, columns [0, half) of the P-wide transform
   buffer) as frequencies f = u * half + v: re, im at dst[2 f stride] and dst[2 f stride + 1] (stride
   in pairs of vectors: the tile's channel sets interleave) */
BWF_INLINE void store_half_spectrum(v16 *dst, int64_t stride, const v16 *bre, const v16 *bim, int64_t nf, int64_t half,
                                    int64_t P) {
    for (int64_t f = 0; f < nf; f++) {
        const int64_t k = f / half * P + f % half;
        dst[2 * f * stride] = bre[k], dst[2 * f * stride + 1] = bim[k];
    }
}

BWF_INLINE void run_unit(const c4j_conv2d_desc *d, const bwf_plan *p, const float *in, const float *dy, float *dw,
                         float *db, float *workspace, int64_t cblk, int64_t range) {
    const int64_t F = p->F, nf = p->nf, half = p->half, P = pitch(p);
    v16 *bre = (v16 *)workspace, *bim = bre + F * P;
    const int64_t tp = tiles_per_transform(p), batch = batch_tiles(p);
    const int64_t sxf = sx_floats(p), syf = sy_floats(p);
    float *sx = workspace + buf_floats(p); /* transform g of a batch: sx + g sxf; tile j: sy + j syf */
    float *sy = sx + batch / tp * sxf;
    v16 *acc = (v16 *)(sy + batch * syf);
    float wr[BWF_MAX_F], wi[BWF_MAX_F];
    uint8_t rev[BWF_MAX_F];
    twiddles(F, wr, wi);
    bit_reversal(F, p->logF, rev);
    const int64_t c0 = cblk * p->cb, nc = C4J_MIN(p->cb, p->cin - c0), nsets = c4j_ceil_div(p->cb, BWF_LANES);
    const int64_t t0 = p->tiles * range / p->ranges, t1 = p->tiles * (range + 1) / p->ranges;
    const v16 zero = {0};
    for (int64_t i = 0; i < nf * nc * p->coutv * 2; i++) acc[i] = zero;
    const int64_t so0 = d->out_stride[0], so1 = d->out_stride[1], so2 = d->out_stride[2], so3 = d->out_stride[3];
    for (int64_t g0 = t0; g0 < t1 && dw != NULL; g0 += batch) {
        const int64_t g1 = C4J_MIN(t1, g0 + batch);
        for (int64_t t = g0; t < g1; t++) {
            int64_t n, y0, x0;
            tile_origin(p, t, &n, &y0, &x0);
            v16 *syt = (v16 *)(sy + (t - g0) * syf);
            /* tp > 1, at the first tile of each group of tp: the input windows of the group's tiles
               in one transform, tile j of the group in lanes [j nc, (j+1) nc) */
            if (tp > 1 && (t - g0) % tp == 0) {
                const int64_t te = C4J_MIN(g1, t + tp);
                for (int64_t i = 0; i < F * P; i++) bre[i] = zero; /* padding reads as zeros */
                for (int64_t u = t; u < te; u++) {
                    int64_t un, uy0, ux0;
                    tile_origin(p, u, &un, &uy0, &ux0);
                    if (p->sh == 1 && p->sw == 1) gather_window(d, p, in, un, uy0, ux0, c0, nc, bre, (u - t) * nc);
                    else gather_window_s2d(d, p, in, un, uy0, ux0, c0, nc, bre, (u - t) * nc);
                }
                fft2_forward(p, bre, bim, F, rev, wr, wi);
                /* the spectra as they are: the products read each tile's lanes */
                store_half_spectrum((v16 *)(sx + (t - g0) / tp * sxf), 1, bre, bim, nf, half, P);
            }
            /* dY tile, one vector of output channels at a time: spectra into syt[f][ov] (re, im) */
            const int64_t rows = C4J_MIN(p->mh, d->out_h - y0), cols = C4J_MIN(p->mw, d->out_w - x0);
            for (int64_t ov = 0; ov < p->coutv; ov++) {
                const int64_t o0 = ov * BWF_LANES, no = C4J_MIN(BWF_LANES, p->cout - o0);
                /* rows [rows, F): fft2_forward; lanes past no and columns past cols: zeros */
                for (int64_t i = 0; i < rows; i++) {
                    const float *src = dy + n * so0 + (y0 + i) * so1 + x0 * so2 + o0 * so3;
                    for (int64_t j = 0; j < cols; j++) {
                        if (no < BWF_LANES) bre[i * P + j] = zero;
                        copy_lanes((float *)&bre[i * P + j], src + j * so2, no, so3);
                    }
                    for (int64_t j = cols; j < F; j++) bre[i * P + j] = zero;
                }
                fft2_forward(p, bre, bim, rows, rev, wr, wi);
                for (int64_t u = 0; u < F; u++)
                    for (int64_t v = 0; v < half; v++) {
                        syt[((u * half + v) * p->coutv + ov) * 2] = bre[u * P + v];
                        syt[((u * half + v) * p->coutv + ov) * 2 + 1] = bim[u * P + v];
                    }
            }
            /* tp == 1: input window of this block's channels, BWF_LANES at a time: spectra into
               sxt[f][c / BWF_LANES] (re vector, im vector) */
            for (int64_t cs = 0; cs < nc && tp == 1; cs += BWF_LANES) {
                const int64_t nl = C4J_MIN(BWF_LANES, nc - cs);
                for (int64_t i = 0; i < F * P; i++) bre[i] = zero; /* padding reads as zeros */
                if (p->sh == 1 && p->sw == 1) gather_window(d, p, in, n, y0, x0, c0 + cs, nl, bre, 0);
                else gather_window_s2d(d, p, in, n, y0, x0, c0 + cs, nl, bre, 0);
                fft2_forward(p, bre, bim, F, rev, wr, wi);
                store_half_spectrum((v16 *)(sx + (t - g0) * sxf) + cs / BWF_LANES * 2, nsets, bre, bim, nf, half, P);
            }
        }
        /* acc[f][c][ov] += X_hat[f][c] * conj(dY_hat[f][ov]) for the batch's tiles, in order, while
           the accumulator is in registers */
        const int64_t nb = g1 - g0, st = p->coutv * 2;
        for (int64_t f = 0; f < nf; f++)
            for (int64_t ov = 0; ov < p->coutv; ov++) {
                const float *x = sx + f * nsets * 2 * BWF_LANES;
                const v16 *y = (const v16 *)sy + (f * p->coutv + ov) * 2;
                v16 *a = acc + (f * nc * p->coutv + ov) * 2;
                int64_t c = 0;
                /* channel c: vector c / BWF_LANES of the frequency, lane c % BWF_LANES (chunks of 4 and 2
                   start at multiples of 4 and 2, so never cross a vector) */
#define BWF_XC(c) (x + (c) / BWF_LANES * 2 * BWF_LANES + (c) % BWF_LANES)
                for (; c + 4 <= nc; c += 4) add_products(a + c * st, st, BWF_XC(c), sxf, tp, nc, y, syf, nb, 4);
                for (; c + 2 <= nc; c += 2) add_products(a + c * st, st, BWF_XC(c), sxf, tp, nc, y, syf, nb, 2);
                for (; c < nc; c++) add_products(a + c * st, st, BWF_XC(c), sxf, tp, nc, y, syf, nb, 1);
#undef BWF_XC
            }
    }
    /* back: per input channel and vector of output channels, inverse along h of the half spectrum's
       columns, then for the kernel's rows only the other half of each row (the result is real:
       Z[-u][-v] = conj(Z[u][v]), so G[y][-v] = conj(G[y][v])) and the inverse along w */
    const float scale = 1.0f / (float)(F * F);
    for (int64_t c = 0; c < nc && dw != NULL; c++)
        for (int64_t ov = 0; ov < p->coutv; ov++) {
            const int64_t o0 = ov * BWF_LANES, no = C4J_MIN(BWF_LANES, p->cout - o0);
            for (int64_t u = 0; u < F; u++)
                for (int64_t v = 0; v < half; v++) {
                    const v16 *a = acc + ((u * half + v) * nc + c) * p->coutv * 2 + 2 * ov;
                    bre[u * P + v] = a[0];
                    bim[u * P + v] = a[1];
                }
            for (int64_t v = 0; v < half; v++) fft_vec(bre + v, bim + v, F, P, rev, wr, wi, 1);
            /* X2 channel c0 + c is input channel ci at pixel phase (ph, pw) */
            const int64_t ci = (c0 + c) % d->in_c, ph = (c0 + c) / d->in_c / p->sw, pw = (c0 + c) / d->in_c % p->sw;
            for (int64_t kh = 0; kh < p->kh && p->sh * kh + ph < d->kernel_h; kh++) {
                /* a row of the real result's transform along h only: G[kh][F - v] = conj(G[kh][v]) */
                for (int64_t v = half; v < F; v++) {
                    bre[kh * P + v] = bre[kh * P + F - v];
                    bim[kh * P + v] = -bim[kh * P + F - v];
                }
                fft_vec(bre + kh * P, bim + kh * P, F, 1, rev, wr, wi, 1);
                const int64_t th = p->sh * kh + ph, fkh = d->flip ? d->kernel_h - 1 - th : th;
                for (int64_t kw = 0; kw < p->kw && p->sw * kw + pw < d->kernel_w; kw++) {
                    const int64_t tw = p->sw * kw + pw, fkw = d->flip ? d->kernel_w - 1 - tw : tw;
                    const float *r = (const float *)&bre[kh * P + kw];
                    float *dst = dw + ((fkh * d->kernel_w + fkw) * d->in_c + ci) * p->cout + o0;
                    for (int64_t l = 0; l < no; l++) dst[l] = r[l] * scale;
                }
            }
        }
    /* bias gradient of this range: block 0's units; each channel sums its pixels tile by tile, row
       by row, 16 channels at a time in a register when they are adjacent */
    if (db != NULL && cblk == 0) {
        for (int64_t o0 = 0; o0 < p->cout; o0 += BWF_LANES) {
            const int64_t no = C4J_MIN(BWF_LANES, p->cout - o0);
            const int vec = no == BWF_LANES && so3 == 1;
            v16 sum = zero;
            float lane[BWF_LANES] = {0};
            for (int64_t t = t0; t < t1; t++) {
                int64_t n, y0, x0;
                tile_origin(p, t, &n, &y0, &x0);
                const int64_t rows = C4J_MIN(p->mh, d->out_h - y0), cols = C4J_MIN(p->mw, d->out_w - x0);
                for (int64_t i = 0; i < rows; i++)
                    for (int64_t j = 0; j < cols; j++) {
                        const float *src = dy + n * so0 + (y0 + i) * so1 + (x0 + j) * so2 + o0 * so3;
                        if (vec) {
                            v16 v;
                            memcpy(&v, src, sizeof v);
                            sum += v;
                        } else
                            for (int64_t o = 0; o < no; o++) lane[o] += src[o * so3];
                    }
            }
            if (vec) memcpy(lane, &sum, sizeof sum);
            for (int64_t o = 0; o < no; o++) db[o0 + o] = lane[o];
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void run_units(const c4j_conv2d_desc *d, const bwf_plan *p, const float *in, const float *dy, float *dw,
                      float *db, float *partials, float *workspace, int64_t u0, int64_t u1) {
    const int64_t ff = c4j_filter_floats(d);
    for (int64_t u = u0; u < u1; u++) {
        const int64_t cblk = u % p->cblocks, range = u / p->cblocks;
        /* range 0 into the outputs, range r > 0 into partial copy r - 1 (dW, then the bias) */
        float *part = range == 0 ? NULL : partials + (range - 1) * (ff + d->out_c);
        float *w_out = dw == NULL ? NULL : range == 0 ? dw : part;
        float *b_out = db == NULL ? NULL : range == 0 ? db : part + ff;
        run_unit(d, p, in, dy, w_out, b_out, workspace, cblk, range);
    }
}

void c4j_bwf_run(const c4j_conv2d_desc *d, const float *in, const float *dy, float *dw, float *db, float *partials,
                 void *workspace, int64_t u0, int64_t u1) {
    bwf_plan p;
    if (!make_plan(d, &p)) return;
    run_units(d, &p, in, dy, dw, db, partials, (float *)workspace, u0, u1);
}

/* ------------------------------------------------------------------ filter-gradient table row */

static double bwf_estimate_row(const c4j_conv2d_desc *d) {
    return c4j_bwf_estimate(d) +
           (double)(c4j_bwf_ranges(d) - 1) * (double)(c4j_filter_floats(d) + d->out_c) * C4J_BW_REDUCE_NS * 1e-9;
}

static void bwf_run_row(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *dy, float *dw,
                        float *db, float *partials, void *workspace, int64_t u0, int64_t u1) {
    (void)blas;
    c4j_bwf_run(d, in, dy, dw, db, partials, workspace, u0, u1);
}

const c4j_filter_gradient_route c4j_bw_fft = {"fft",          C4J_ALGO_FFT,     0, c4j_bwf_applicable,
                                              c4j_bwf_units,  c4j_bwf_workspace, c4j_bwf_ranges,
                                              bwf_estimate_row, bwf_run_row};
