/*
 * Filter gradient by FFT tiles (filter route C4J_ALGO_FFT): stride 1, dilation 1, one group.
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
 * The transforms are radix-2 complex FFTs on vectors of 16 lanes (channels of one tile, or output
 * channels of one pair row), compiled for AVX-512, AVX2 and plain C (target clones on x86-64).
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
/* per vector butterfly (the tile's gathers and zeroing included) and per vector complex
   multiply-add, single thread, AVX-512: measured on the 11x11 and 5x5 benchmark layers */
#define BWF_BUTTERFLY_NS 2.8
#define BWF_CMAC_NS 1.4

typedef float v16 __attribute__((vector_size(BWF_LANES * sizeof(float))));

typedef struct {
    int64_t F, logF, half, nf;   /* transform size, log2, F/2 + 1, frequencies kept (F * half) */
    int64_t mh, mw;              /* output pixels per tile */
    int64_t ty, tx, tiles;       /* tiles per column, per row, in all */
    int64_t cin, cout, coutv;    /* channels, output-channel vectors */
    int64_t cb, cblocks, ranges; /* input channels per unit, blocks, tile ranges */
} bwf_plan;

/* single-thread seconds of plan p: forward transforms (each unit transforms its block's input
   channels and all dY channels of its tiles), products, inverse transforms (per range) */
static double plan_seconds(const bwf_plan *p) {
    const double fft2 = 1.5 * (double)p->F * (double)(p->F / 2 * p->logF) * BWF_BUTTERFLY_NS;
    const double sets = (double)p->cblocks * (double)(c4j_ceil_div(p->cb, BWF_LANES) + p->coutv);
    const double forward = (double)p->tiles * sets * fft2;
    const double products = (double)p->tiles * (double)p->nf * (double)p->cin * (double)p->coutv * BWF_CMAC_NS;
    const double inverse = (double)p->ranges * (double)p->cin * (double)p->coutv * fft2;
    return (forward + products + inverse) * 1e-9;
}

static int make_plan(const c4j_conv2d_desc *d, bwf_plan *p) {
    if (d->groups != 1 || d->stride_h != 1 || d->stride_w != 1 || d->dilation_h != 1 || d->dilation_w != 1) return 0;
    const int64_t k = C4J_MAX(d->kernel_h, d->kernel_w);
    if (k < 2 || k > BWF_MAX_F / 2) return 0;
    p->F = 8;
    while (p->F < 2 * k) p->F *= 2;
    p->logF = __builtin_ctzll((unsigned long long)p->F);
    p->half = p->F / 2 + 1;
    p->nf = p->F * p->half;
    p->mh = p->F - d->kernel_h + 1;
    p->mw = p->F - d->kernel_w + 1;
    p->ty = c4j_ceil_div(d->out_h, p->mh);
    p->tx = c4j_ceil_div(d->out_w, p->mw);
    p->tiles = d->batch * p->ty * p->tx;
    p->cin = d->in_c;
    p->cout = d->out_c;
    p->coutv = c4j_ceil_div(p->cout, BWF_LANES);
    /* BWF_MIN_UNITS units from input-channel blocks (each repeats the dY transforms) or tile
       ranges (each repeats the inverse transforms), whichever costs less */
    double best = -1;
    bwf_plan q = *p;
    for (int64_t want = 1; want <= BWF_MIN_UNITS; want *= 2) {
        q.cblocks = C4J_MIN(p->cin, want);
        q.cb = c4j_ceil_div(p->cin, q.cblocks);
        q.cblocks = c4j_ceil_div(p->cin, q.cb);
        if (q.nf * q.cb * q.coutv * BWF_LANES * 2 > BWF_ACC_FLOATS) continue;
        q.ranges = C4J_MAX(1, C4J_MIN(q.tiles, c4j_ceil_div(BWF_MIN_UNITS, q.cblocks)));
        const double sec = plan_seconds(&q);
        if (best < 0 || sec < best) {
            best = sec;
            *p = q;
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

/* workspace: tile buffer [F*F] complex vectors | X spectra [nf][cb] | dY spectra [nf][coutv] vectors
   | accumulators [nf][cb][coutv] complex vectors, each part 64-byte aligned */
/* rows of the tile buffer are F + 1 vectors apart: at F vectors (a power of two times 64 bytes) a
   column transform's points would share a few cache sets and miss L1 on every butterfly */
static int64_t pitch(const bwf_plan *p) { return p->F + 1; }
static int64_t buf_floats(const bwf_plan *p) { return p->F * pitch(p) * 2 * BWF_LANES; }
static int64_t sx_floats(const bwf_plan *p) { return c4j_ceil_div(p->nf * p->cb * 2, 16) * 16; }
static int64_t sy_floats(const bwf_plan *p) { return p->nf * p->coutv * 2 * BWF_LANES; }
static int64_t acc_floats(const bwf_plan *p) { return p->nf * p->cb * p->coutv * 2 * BWF_LANES; }

int64_t c4j_bwf_workspace(const c4j_conv2d_desc *d) {
    bwf_plan p;
    if (!make_plan(d, &p)) return -1;
    return (buf_floats(&p) + sx_floats(&p) + sy_floats(&p) + acc_floats(&p)) * 4;
}

double c4j_bwf_estimate(const c4j_conv2d_desc *d) {
    bwf_plan p;
    return make_plan(d, &p) ? plan_seconds(&p) : -1;
}

/* ------------------------------------------------------------------ transforms */

#define BWF_INLINE static inline __attribute__((always_inline))

/* twiddles w^j = exp(-2 pi i j / n), j < n/2 */
static void twiddles(int64_t n, float *wr, float *wi) {
    for (int64_t j = 0; j < n / 2; j++) {
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

/* in-place radix-2 FFT of n complex vectors at re/im + k * s (k < n); inverse: conjugate twiddles;
   rev: bit_reversal(n) */
BWF_INLINE void fft_vec(v16 *re, v16 *im, int64_t n, int64_t s, const uint8_t *rev, const float *wr,
                        const float *wi, int inverse) {
    for (int64_t i = 0; i < n; i++) {
        const int64_t j = rev[i];
        if (j > i) {
            v16 t = re[i * s];
            re[i * s] = re[j * s];
            re[j * s] = t;
            t = im[i * s];
            im[i * s] = im[j * s];
            im[j * s] = t;
        }
    }
    for (int64_t len = 2; len <= n; len *= 2) {
        const int64_t h = len / 2, step = n / len;
        for (int64_t j = 0; j < h; j++) {
            const float cr = wr[j * step], ci = inverse ? -wi[j * step] : wi[j * step];
            for (int64_t b = 0; b < n; b += len) {
                v16 *ar = re + (b + j) * s, *ai = im + (b + j) * s, *br = re + (b + j + h) * s, *bi = im + (b + j + h) * s;
                const v16 tr = *br * cr - *bi * ci, ti = *br * ci + *bi * cr;
                *br = *ar - tr;
                *bi = *ai - ti;
                *ar = *ar + tr;
                *ai = *ai + ti;
            }
        }
    }
}

/* forward 2-D transform of the real tile in re (im zero): rows with data only, columns v <= F/2 */
BWF_INLINE void fft2_forward(const bwf_plan *p, v16 *re, v16 *im, int64_t rows, const uint8_t *rev, const float *wr,
                             const float *wi) {
    const int64_t P = pitch(p);
    for (int64_t u = 0; u < rows; u++) fft_vec(re + u * P, im + u * P, p->F, 1, rev, wr, wi, 0);
    for (int64_t v = 0; v < p->half; v++) fft_vec(re + v, im + v, p->F, P, rev, wr, wi, 0);
}

/* ------------------------------------------------------------------ one unit */

static void tile_origin(const bwf_plan *p, int64_t t, int64_t *n, int64_t *y0, int64_t *x0) {
    *n = t / (p->ty * p->tx);
    *y0 = (t / p->tx) % p->ty * p->mh;
    *x0 = t % p->tx * p->mw;
}

BWF_INLINE void run_unit(const c4j_conv2d_desc *d, const bwf_plan *p, const float *in, const float *dy, float *dw,
                         float *db, float *workspace, int64_t cblk, int64_t range) {
    const int64_t F = p->F, nf = p->nf, half = p->half, P = pitch(p);
    v16 *bre = (v16 *)workspace, *bim = bre + F * P;
    float *sx = workspace + buf_floats(p);
    v16 *sy = (v16 *)(sx + sx_floats(p));
    v16 *acc = sy + nf * p->coutv * 2;
    float wr[BWF_MAX_F / 2], wi[BWF_MAX_F / 2];
    uint8_t rev[BWF_MAX_F];
    twiddles(F, wr, wi);
    bit_reversal(F, p->logF, rev);
    const int64_t c0 = cblk * p->cb, nc = C4J_MIN(p->cb, p->cin - c0);
    const int64_t t0 = p->tiles * range / p->ranges, t1 = p->tiles * (range + 1) / p->ranges;
    const v16 zero = {0};
    for (int64_t i = 0; i < nf * nc * p->coutv * 2; i++) acc[i] = zero;
    const int64_t si0 = d->in_stride[0], si1 = d->in_stride[1], si2 = d->in_stride[2], si3 = d->in_stride[3];
    const int64_t so0 = d->out_stride[0], so1 = d->out_stride[1], so2 = d->out_stride[2], so3 = d->out_stride[3];
    for (int64_t t = t0; t < t1 && dw != NULL; t++) {
        int64_t n, y0, x0;
        tile_origin(p, t, &n, &y0, &x0);
        /* dY tile, one vector of output channels at a time: spectra into sy[f][ov] (re, im) */
        const int64_t rows = C4J_MIN(p->mh, d->out_h - y0), cols = C4J_MIN(p->mw, d->out_w - x0);
        for (int64_t ov = 0; ov < p->coutv; ov++) {
            const int64_t o0 = ov * BWF_LANES, no = C4J_MIN(BWF_LANES, p->cout - o0);
            for (int64_t i = 0; i < F * P; i++) bre[i] = bim[i] = zero;
            for (int64_t i = 0; i < rows; i++)
                for (int64_t j = 0; j < cols; j++) {
                    const float *src = dy + n * so0 + (y0 + i) * so1 + (x0 + j) * so2 + o0 * so3;
                    float *dst = (float *)&bre[i * P + j];
                    for (int64_t l = 0; l < no; l++) dst[l] = src[l * so3];
                }
            fft2_forward(p, bre, bim, rows, rev, wr, wi);
            for (int64_t u = 0; u < F; u++)
                for (int64_t v = 0; v < half; v++) {
                    sy[((u * half + v) * p->coutv + ov) * 2] = bre[u * P + v];
                    sy[((u * half + v) * p->coutv + ov) * 2 + 1] = bim[u * P + v];
                }
        }
        /* input window of this block's channels, BWF_LANES at a time: spectra into sx[f][c] */
        for (int64_t cs = 0; cs < nc; cs += BWF_LANES) {
            const int64_t nl = C4J_MIN(BWF_LANES, nc - cs);
            for (int64_t i = 0; i < F * P; i++) bre[i] = bim[i] = zero;
            for (int64_t a = 0; a < F; a++) {
                const int64_t ih = y0 - d->pad_top + a;
                if (ih < 0 || ih >= d->in_h) continue;
                for (int64_t b = 0; b < F; b++) {
                    const int64_t iw = x0 - d->pad_left + b;
                    if (iw < 0 || iw >= d->in_w) continue;
                    const float *src = in + n * si0 + ih * si1 + iw * si2 + (c0 + cs) * si3;
                    float *dst = (float *)&bre[a * P + b];
                    for (int64_t l = 0; l < nl; l++) dst[l] = src[l * si3];
                }
            }
            fft2_forward(p, bre, bim, F, rev, wr, wi);
            for (int64_t f = 0; f < nf; f++) {
                const int64_t u = f / half, v = f % half;
                const float *r = (const float *)&bre[u * P + v], *im = (const float *)&bim[u * P + v];
                for (int64_t l = 0; l < nl; l++) {
                    sx[(f * p->cb + cs + l) * 2] = r[l];
                    sx[(f * p->cb + cs + l) * 2 + 1] = im[l];
                }
            }
        }
        /* acc[f][c][ov] += X_hat[f][c] * conj(dY_hat[f][ov]) */
        for (int64_t f = 0; f < nf; f++)
            for (int64_t c = 0; c < nc; c++) {
                const float xr = sx[(f * p->cb + c) * 2], xi = sx[(f * p->cb + c) * 2 + 1];
                v16 *a = acc + (f * nc + c) * p->coutv * 2;
                const v16 *y = sy + f * p->coutv * 2;
                for (int64_t ov = 0; ov < p->coutv; ov++) {
                    const v16 yr = y[2 * ov], yi = y[2 * ov + 1];
                    a[2 * ov] += xr * yr + xi * yi;
                    a[2 * ov + 1] += xi * yr - xr * yi;
                }
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
            for (int64_t kh = 0; kh < d->kernel_h; kh++) {
                /* a row of the real result's transform along h only: G[kh][F - v] = conj(G[kh][v]) */
                for (int64_t v = half; v < F; v++) {
                    bre[kh * P + v] = bre[kh * P + F - v];
                    bim[kh * P + v] = -bim[kh * P + F - v];
                }
                fft_vec(bre + kh * P, bim + kh * P, F, 1, rev, wr, wi, 1);
                const int64_t fkh = d->flip ? d->kernel_h - 1 - kh : kh;
                for (int64_t kw = 0; kw < d->kernel_w; kw++) {
                    const int64_t fkw = d->flip ? d->kernel_w - 1 - kw : kw;
                    const float *r = (const float *)&bre[kh * P + kw];
                    float *dst = dw + ((fkh * d->kernel_w + fkw) * p->cin + c0 + c) * p->cout + o0;
                    for (int64_t l = 0; l < no; l++) dst[l] = r[l] * scale;
                }
            }
        }
    /* bias gradient of this range: block 0's units, tile by tile */
    if (db != NULL && cblk == 0) {
        for (int64_t o = 0; o < p->cout; o++) db[o] = 0.0f;
        for (int64_t t = t0; t < t1; t++) {
            int64_t n, y0, x0;
            tile_origin(p, t, &n, &y0, &x0);
            const int64_t rows = C4J_MIN(p->mh, d->out_h - y0), cols = C4J_MIN(p->mw, d->out_w - x0);
            for (int64_t i = 0; i < rows; i++)
                for (int64_t j = 0; j < cols; j++) {
                    const float *src = dy + n * so0 + (y0 + i) * so1 + (x0 + j) * so2;
                    for (int64_t o = 0; o < p->cout; o++) db[o] += src[o * so3];
                }
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
