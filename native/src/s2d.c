/*
 * Strided convolutions as stride-1 ones (space to depth), so that Winograd and the FFT, which need
 * stride 1, also run layers such as 7x7/2, 5x5/2 or 11x11/4.
 *
 * With strides (sh, sw), output pixel (oh, ow) reads padded input pixels (sh*oh + i, sw*ow + j).
 * Writing i = sh*a + p and j = sw*b + q (0 <= p < sh, 0 <= q < sw):
 *
 *   X2[y, x, (p*sw + q)*C + c] = Xpad[sh*y + p, sw*x + q, c]
 *   W2[a, b, (p*sw + q)*C + c, o] = W[sh*a + p, sw*b + q, c, o]   (0 where sh*a+p >= KH or sw*b+q >= KW)
 *
 * turn the convolution into a stride-1, unpadded one of X2 (sh*sw*C channels) with the kernel W2
 * of ceil(KH/sh) x ceil(KW/sw) taps: 7x7/2 on 3 channels becomes 4x4 on 12, 5x5/2 and 11x11/4
 * become 3x3 (Winograd F(4x4,3x3)), 3x3/2 becomes 2x2 (Winograd F(4x4,2x2): 6.25 products per
 * output and input channel where the strided layer has 9). Same products, regrouped; the zero taps of W2 cost multiplies that the
 * transforms more than repay (conv4j_bench on Zen 5 against the tiled GEMM of the strided layer,
 * 1 / 2 threads: 5x5/2 32->64 at 56x56 2.7x / 2.3x and 11x11/4 3->96 at 227x227 2.6x / 2.2x with
 * Winograd F(4x4,3x3); 7x7/2 3->64 at 224x224 1.2-1.4x / 1.2x with the FFT).
 *
 * X2 is never built whole: each image is cut into bands of output rows, and a unit of the strided
 * convolution is one band of one image: its rows of X2 (padding written as zeros, the flipped
 * kernel handled in W2) are copied into the workspace and convolved by the inner algorithm over
 * all its own units on that thread. Bands are whole tile rows of the inner algorithm (4 or 2 rows
 * for Winograd, the FFT's tile height), at least S2D_MIN_TILE_ROWS of them, as many as give about
 * S2D_TARGET_UNITS units over the batch, and bounded by S2D_BAND_FLOATS floats of X2; they depend
 * on the descriptor only. The prepared filter is the inner algorithm's prepared W2, followed by W2
 * itself (scratch while preparing, so preparing allocates nothing).
 *
 * Runs: strides above 1, dilation 1, one group, a kernel larger than the stride in some dimension
 * (otherwise W2 is 1x1 and the tiled GEMM is as good), whenever the inner algorithm can run the
 * stride-1 convolution (Winograd: W2 is 3x3, or 2x2 for F(4x4,2x2); FFT: any W2 up to its kernel limit).
 */
#include <string.h>

#include "internal.h"

#define S2D_BAND_FLOATS ((int64_t)1 << 20) /* 4 MiB of X2 per band at most */
#define S2D_TARGET_UNITS 8
#define S2D_MIN_TILE_ROWS 2

typedef struct {
    int64_t kh2, kw2, c2;       /* kernel and input channels of the stride-1 convolution */
    int64_t in_w2;              /* X2 columns: out_w + kw2 - 1 */
    int64_t band, bands;        /* output rows per band (the last may have fewer), bands per image */
    c4j_conv2d_desc full, last; /* the stride-1 convolution of a full band and of the last band */
    int64_t band_floats;        /* X2 floats of a full band, rounded to a cache line */
} s2d_plan;

static int64_t round16(int64_t v) { return (v + 15) / 16 * 16; }

/* the stride-1 convolution of `rows` output rows (batch 1; its input X2 is dense) */
static void inner_desc(const c4j_conv2d_desc *d, const s2d_plan *p, int64_t rows, c4j_conv2d_desc *f) {
    memset(f, 0, sizeof *f);
    f->batch = 1;
    f->in_h = rows + p->kh2 - 1;
    f->in_w = p->in_w2;
    f->in_c = p->c2;
    f->in_stride[3] = 1;
    f->in_stride[2] = p->c2;
    f->in_stride[1] = p->in_w2 * p->c2;
    f->in_stride[0] = f->in_h * f->in_stride[1];
    f->kernel_h = p->kh2;
    f->kernel_w = p->kw2;
    f->out_c = d->out_c;
    f->groups = 1;
    f->stride_h = f->stride_w = 1;
    f->dilation_h = f->dilation_w = 1;
    f->out_h = rows;
    f->out_w = d->out_w;
    memcpy(f->out_stride, d->out_stride, sizeof f->out_stride);
    f->activation = d->activation;
    f->has_bias = d->has_bias;
}

/* Rows per band when `rows` rows of tile height th are cut into bands (see the header): whole tile
   rows, at least S2D_MIN_TILE_ROWS of them, as many bands as give about S2D_TARGET_UNITS units over
   the batch, and at most `fit` rows (whole tiles where one fits), the workspace bound first. Fewer,
   larger bands for the FFT too: each band streams the whole prepared filter (measured on 7x7/2: 5
   bands of 2 tile rows beat 9 of one at 1 and 2 threads). backward_input_s2d.c bands dX2 alike. */
int64_t c4j_s2d_band_rows(int64_t rows, int64_t th, int64_t batch, int64_t fit) {
    const int64_t tile_rows = c4j_ceil_div(rows, th);
    const int64_t want = C4J_MIN(c4j_ceil_div(S2D_TARGET_UNITS, batch), c4j_ceil_div(tile_rows, S2D_MIN_TILE_ROWS));
    const int64_t band = C4J_MIN(C4J_MAX(S2D_MIN_TILE_ROWS, tile_rows / C4J_MAX(1, want)) * th, rows);
    if (band <= fit) return band;
    return fit >= th ? fit / th * th : fit;
}

/* 0 when the rewrite does not apply (see the header) or the inner algorithm cannot run it */
static int plan_uncached(const c4j_conv2d_desc *d, c4j_algo algo, s2d_plan *p) {
    if (algo != C4J_ALGO_WINOGRAD_2X2 && algo != C4J_ALGO_WINOGRAD_4X4 && algo != C4J_ALGO_WINOGRAD_K2 &&
        algo != C4J_ALGO_FFT)
        return 0;
    if (d->stride_h == 1 && d->stride_w == 1) return 0;
    /* planning entry points (units, workspace) may see a descriptor nobody checked: only a
       consistent one is planned (no division by a zero stride or batch, no overflow below) */
    if (c4j_conv2d_check(d, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, NULL, 0) != C4J_OK || d->batch < 1) return 0;
    if (d->dilation_h != 1 || d->dilation_w != 1 || d->groups != 1) return 0;
    if (d->kernel_h <= d->stride_h && d->kernel_w <= d->stride_w) return 0;
    /* F(4x4,2x2) at stride 2 only: at stride 3 a 4x4 kernel leaves 20 of the 36 rearranged taps
       zero, whose transformed products only add rounding error (the largest NumericsBoundsTest
       measured there was 3x the one at stride 2) */
    if (algo == C4J_ALGO_WINOGRAD_K2 && (d->stride_h > 2 || d->stride_w > 2)) return 0;
    if (d->stride_h > 64 || d->stride_w > 64 || d->in_c > (int64_t)1 << 20) return 0; /* keeps c2 an int */
    if (d->out_h <= 0 || d->out_w <= 0) return 0;
    memset(p, 0, sizeof *p);
    p->kh2 = c4j_ceil_div(d->kernel_h, d->stride_h);
    p->kw2 = c4j_ceil_div(d->kernel_w, d->stride_w);
    p->c2 = d->stride_h * d->stride_w * d->in_c;
    p->in_w2 = d->out_w + p->kw2 - 1;
    int64_t row_floats;
    if (__builtin_mul_overflow(p->in_w2, p->c2, &row_floats) || row_floats > S2D_BAND_FLOATS / 2)
        return 0; /* not even two X2 rows fit a band */
    const int64_t fit = S2D_BAND_FLOATS / row_floats - (p->kh2 - 1);
    if (fit < 1) return 0;
    /* the inner algorithm's tile height, from the whole image (it depends on kernel and channels only) */
    inner_desc(d, p, d->out_h, &p->full);
    if (c4j_conv2d_supports(&p->full, algo) != C4J_OK) return 0;
    const int64_t th = algo == C4J_ALGO_FFT ? c4j_fft_tile_rows(&p->full) : c4j_winograd_tile(algo);
    if (th <= 0) return 0;
    p->band = c4j_s2d_band_rows(d->out_h, th, d->batch, fit);
    p->bands = c4j_ceil_div(d->out_h, p->band);
    inner_desc(d, p, p->band, &p->full);
    inner_desc(d, p, d->out_h - (p->bands - 1) * p->band, &p->last);
    if (c4j_conv2d_supports(&p->full, algo) != C4J_OK || c4j_conv2d_supports(&p->last, algo) != C4J_OK) return 0;
    p->band_floats = round16((p->band + p->kh2 - 1) * row_floats);
    return c4j_conv2d_units(&p->full, algo) > 0 && c4j_conv2d_units(&p->last, algo) > 0;
}

/* The plan of the last (descriptor, algorithm) this thread saw: every entry point plans, and
   planning asks the inner algorithm, which plans too, for its units. */
static int make_plan(const c4j_conv2d_desc *d, c4j_algo algo, s2d_plan *p) {
    static _Thread_local struct {
        int valid, ok;
        c4j_algo algo;
        c4j_conv2d_desc d;
        s2d_plan p;
    } last;
    if (last.valid && last.algo == algo && memcmp(&last.d, d, sizeof *d) == 0) {
        *p = last.p;
        return last.ok;
    }
    const int ok = plan_uncached(d, algo, p);
    last.d = *d;
    last.algo = algo;
    last.p = *p;
    last.ok = ok;
    last.valid = 1;
    return ok;
}

int c4j_s2d_applicable(const c4j_conv2d_desc *d, c4j_algo algo) {
    s2d_plan p;
    return make_plan(d, algo, &p);
}

int64_t c4j_s2d_units(const c4j_conv2d_desc *d, c4j_algo algo) {
    s2d_plan p;
    return make_plan(d, algo, &p) ? d->batch * p.bands : 0;
}

int64_t c4j_s2d_workspace(const c4j_conv2d_desc *d, c4j_algo algo) {
    s2d_plan p;
    if (!make_plan(d, algo, &p)) return -1;
    const int64_t inner = C4J_MAX(c4j_conv2d_workspace_bytes(&p.full, algo), c4j_conv2d_workspace_bytes(&p.last, algo));
    return p.band_floats * (int64_t)sizeof(float) + C4J_MAX(0, inner);
}

int64_t c4j_s2d_prepared_floats(const c4j_conv2d_desc *d, c4j_algo algo) {
    s2d_plan p;
    if (!make_plan(d, algo, &p)) return 0;
    return round16(c4j_conv2d_prepared_floats(&p.full, algo)) + c4j_filter_floats(&p.full);
}

void c4j_s2d_prepare(const c4j_conv2d_desc *d, c4j_algo algo, const float *filter, float *prepared) {
    s2d_plan p;
    if (!make_plan(d, algo, &p)) return;
    const int64_t KH = d->kernel_h, KW = d->kernel_w, C = d->in_c, O = d->out_c;
    float *w2 = prepared + round16(c4j_conv2d_prepared_floats(&p.full, algo));
    memset(w2, 0, (size_t)c4j_filter_floats(&p.full) * sizeof(float));
    for (int64_t i = 0; i < KH; i++)
        for (int64_t j = 0; j < KW; j++) {
            /* tap (i, j) of the kernel as applied: the flipped kernel reads W[KH-1-i, KW-1-j] */
            const int64_t si = d->flip ? KH - 1 - i : i, sj = d->flip ? KW - 1 - j : j;
            const int64_t a = i / d->stride_h, pp = i % d->stride_h, b = j / d->stride_w, q = j % d->stride_w;
            float *dst = w2 + ((a * p.kw2 + b) * p.c2 + (pp * d->stride_w + q) * C) * O;
            memcpy(dst, filter + (si * KW + sj) * C * O, (size_t)(C * O) * sizeof(float));
        }
    c4j_conv2d_prepare(&p.full, algo, w2, prepared, NULL, 0);
}

/* the C channels of input pixel (ih row at src_row, iw) into dst, zeros outside the image */
static inline void copy_pixel(const c4j_conv2d_desc *d, const float *src_row, int64_t iw, float *restrict dst) {
    const int64_t C = d->in_c, s2 = d->in_stride[2], s3 = d->in_stride[3];
    if (iw < 0 || iw >= d->in_w) {
        memset(dst, 0, (size_t)C * sizeof(float));
    } else {
        const float *src = src_row + iw * s2;
        for (int64_t c = 0; c < C; c++) dst[c] = src[c * s3];
    }
}

/*
 * X2 rows [y0, y0 + rows) of image n (y: stride-1 input rows) into x2, padding as zeros. For a
 * fixed input row, the sw pixels of one X2 column are sw * C consecutive floats of a dense NHWC
 * row, so the interior is one short copy per X2 column (per-call memcpy would dominate: C is
 * often 3).
 */
static void copy_band(const c4j_conv2d_desc *d, const s2d_plan *p, const float *in, int64_t n, int64_t y0,
                      int64_t rows, float *restrict x2) {
    const int64_t sh = d->stride_h, sw = d->stride_w, C = d->in_c, L = sw * C;
    const int dense = d->in_stride[3] == 1 && d->in_stride[2] == C;
    /* columns whose sw pixels all lie inside the image */
    int64_t x_lo = c4j_ceil_div(d->pad_left, sw);
    int64_t x_hi = d->in_w - sw + d->pad_left >= 0 ? (d->in_w - sw + d->pad_left) / sw + 1 : 0;
    x_lo = C4J_MIN(x_lo, p->in_w2);
    x_hi = C4J_MAX(x_lo, C4J_MIN(x_hi, p->in_w2));
    for (int64_t y = 0; y < rows; y++)
        for (int64_t pp = 0; pp < sh; pp++) {
            const int64_t ih = sh * (y0 + y) + pp - d->pad_top;
            float *row = x2 + y * p->in_w2 * p->c2 + pp * L;
            if (ih < 0 || ih >= d->in_h) {
                for (int64_t x = 0; x < p->in_w2; x++) memset(row + x * p->c2, 0, (size_t)L * sizeof(float));
                continue;
            }
            const float *src_row = in + n * d->in_stride[0] + ih * d->in_stride[1];
            for (int64_t x = 0; x < p->in_w2; x++) {
                float *restrict dst = row + x * p->c2;
                if (dense && x >= x_lo && x < x_hi) {
                    const float *src = src_row + (sw * x - d->pad_left) * C;
                    for (int64_t k = 0; k < L; k++) dst[k] = src[k];
                } else {
                    for (int64_t q = 0; q < sw; q++) copy_pixel(d, src_row, sw * x + q - d->pad_left, dst + q * C);
                }
            }
        }
}

static void run_inner(const c4j_blas *blas, const c4j_conv2d_desc *f, c4j_algo algo, const float *x2,
                      const float *prepared, const float *bias, float *out, float *ws, int64_t u0, int64_t u1) {
    if (algo == C4J_ALGO_FFT) c4j_fft_run(blas, f, x2, prepared, bias, out, ws, u0, u1);
    else c4j_winograd_run(blas, f, algo, x2, prepared, bias, out, ws, u0, u1);
}

void c4j_s2d_run(const c4j_blas *blas, const c4j_conv2d_desc *d, c4j_algo algo, const float *in,
                 const float *prepared, const float *bias, float *out, float *workspace, int64_t u0, int64_t u1) {
    s2d_plan p;
    if (!make_plan(d, algo, &p)) return;
    float *x2 = workspace, *ws = workspace + p.band_floats;
    for (int64_t u = u0; u < u1; u++) {
        const int64_t n = u / p.bands, b = u % p.bands;
        const c4j_conv2d_desc *f = b == p.bands - 1 ? &p.last : &p.full;
        copy_band(d, &p, in, n, b * p.band, f->in_h, x2);
        run_inner(blas, f, algo, x2, prepared, bias, out + n * d->out_stride[0] + b * p.band * d->out_stride[1], ws, 0,
                  c4j_conv2d_units(f, algo));
    }
}

/* Single-thread seconds: the inner algorithm on every band, plus the copies (~0.3 ns per float). */
double c4j_s2d_estimate(const c4j_conv2d_desc *d, c4j_algo algo, int include_prepare) {
    s2d_plan p;
    if (!make_plan(d, algo, &p)) return -1;
    const double full = c4j_conv2d_estimate_seconds(&p.full, algo, 0);
    const double last = c4j_conv2d_estimate_seconds(&p.last, algo, 0);
    const double copy = (double)(p.bands * (p.band + p.kh2 - 1)) * (double)(p.in_w2 * p.c2) * 0.3e-9;
    double t = (double)d->batch * ((double)(p.bands - 1) * full + last + copy);
    if (include_prepare)
        t += c4j_conv2d_estimate_seconds(&p.full, algo, 1) - full + (double)c4j_filter_floats(&p.full) * 1e-9;
    return t;
}
