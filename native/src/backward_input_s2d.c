/*
 * Input gradient of a strided layer by a transform (the FFT, Winograd), through space to depth.
 *
 * s2d.c rewrites a stride-s convolution as a stride-1, unpadded one (d2) of
 *
 *   X2[y, x, (p*sw + q)*C + c] = Xpad[sh*y + p, sw*x + q, c]
 *   W2[a, b, (p*sw + q)*C + c, o] = W[sh*a + p, sw*b + q, c, o]   (0 past the kernel)
 *
 * with X2 of H2 = OH + ceil(KH/sh) - 1 rows and W2' = OW + ceil(KW/sw) - 1 columns. Each input
 * pixel is at most one element of X2 (pixels no window reads are none), so dX is dX2, the input
 * gradient of d2, read back through that map (depth to space), and zero where no window reads.
 * dX2 is a stride-1 input gradient: the forward convolution of dY with W2 transposed in its
 * channel axes and rotated, padded by the kernel minus one (backward_input_forward.c), which the
 * transform runs. Where the exact routes gather or scatter KH x KW taps of few input channels
 * per pixel (a 7x7/2 layer on 3 channels: 49 taps x 3 channels, products of 64 output channels),
 * this runs ceil(KH/sh) x ceil(KW/sw) taps on sh*sw x the channels, by transform.
 *
 * Units are images x bands of dX2 rows (whole tile rows of the transform, sized as s2d.c's bands
 * by c4j_s2d_band_rows, fixed by the descriptor, so every thread count gives the same bits): a unit runs the transform on its band's
 * rows of dY into the workspace, all of the transform's own units on its thread, then copies the
 * band to dX. A band's convolution differs from the whole image's only in rows and padding, so
 * the prepared filter of the whole image's convolution serves every band (the transforms'
 * sizes depend on kernel and channels alone, as for s2d.c's bands). The prepared buffer holds
 * [transform-prepared filter (aligned to 16 floats) | W2 transposed].
 *
 * Runs: strides above 1, dilation 1, one group, a kernel larger than the stride in some
 * dimension, where the transform runs the stride-1 convolution.
 */
#include <string.h>

#include "internal.h"

#define BXS_BAND_FLOATS ((int64_t)1 << 20) /* 4 MiB of dX2 per band at most */
/* copying dX2 back to dX, per float (a strided gather, as s2d.c's band copy) */
#define BXS_COPY_NS 0.3

typedef struct {
    int64_t kh2, kw2, c2; /* kernel and channels of d2 (X2's channels: dX2's) */
    int64_t h2, w2;       /* dX2 rows and columns */
    int64_t band, bands;  /* dX2 rows per band (the last may have fewer), bands per image */
    int64_t band_floats;  /* dX2 floats of a full band, rounded to a cache line */
    c4j_conv2d_desc whole; /* the forward convolution of all of an image's dX2: its prepared filter */
} bxs_plan;

static int64_t round16(int64_t v) { return (v + 15) / 16 * 16; }

/* The forward convolution that computes dX2 rows [y0, y1) of one image from dY (as viewed by d):
   it reads dY rows [r0, r1) (r0 = max(0, y0 - kh2 + 1), r1 = min(OH, y1)) into a dense band. */
static void band_desc(const c4j_conv2d_desc *d, const bxs_plan *p, int64_t y0, int64_t y1, c4j_conv2d_desc *f) {
    const int64_t r0 = C4J_MAX(0, y0 - (p->kh2 - 1)), r1 = C4J_MIN(d->out_h, y1);
    memset(f, 0, sizeof *f);
    f->batch = 1;
    f->in_h = r1 - r0;
    f->in_w = d->out_w;
    f->in_c = d->out_c;
    memcpy(f->in_stride, d->out_stride, sizeof f->in_stride);
    f->kernel_h = p->kh2;
    f->kernel_w = p->kw2;
    f->out_c = p->c2;
    f->groups = 1;
    f->stride_h = f->stride_w = 1;
    f->dilation_h = f->dilation_w = 1;
    f->pad_top = r0 - (y0 - (p->kh2 - 1));
    f->pad_left = p->kw2 - 1;
    f->out_h = y1 - y0;
    f->out_w = p->w2;
    f->out_stride[3] = 1;
    f->out_stride[2] = p->c2;
    f->out_stride[1] = p->w2 * p->c2;
    f->out_stride[0] = f->out_h * f->out_stride[1];
    f->flip = 1; /* W2 holds the kernel as applied (d's flip included); the gradient rotates it */
    f->activation = C4J_ACT_NONE;
    f->has_bias = 0;
}

/* band b's rows of dX2, [*y0, *y1), and their convolution */
static void band_of(const c4j_conv2d_desc *d, const bxs_plan *p, int64_t b, int64_t *y0, int64_t *y1,
                    c4j_conv2d_desc *f) {
    *y0 = b * p->band;
    *y1 = C4J_MIN(p->h2, *y0 + p->band);
    band_desc(d, p, *y0, *y1, f);
}

static int band_ok(const c4j_conv2d_desc *f, c4j_algo algo) {
    return c4j_conv2d_check(f, INT64_MAX, INT64_MAX, 0, INT64_MAX, NULL, 0) == C4J_OK &&
           c4j_conv2d_supports(f, algo) == C4J_OK && !c4j_via_s2d(f, algo) && c4j_conv2d_units(f, algo) > 0;
}

static int plan_uncached(const c4j_conv2d_desc *d, c4j_algo algo, bxs_plan *p) {
    if (algo != C4J_ALGO_WINOGRAD_2X2 && algo != C4J_ALGO_WINOGRAD_4X4 && algo != C4J_ALGO_FFT) return 0;
    if (d->stride_h == 1 && d->stride_w == 1) return 0;
    if (c4j_conv2d_check(d, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, NULL, 0) != C4J_OK || d->batch < 1) return 0;
    if (d->dilation_h != 1 || d->dilation_w != 1 || d->groups != 1) return 0;
    if (d->kernel_h <= d->stride_h && d->kernel_w <= d->stride_w) return 0;
    if (d->stride_h > 64 || d->stride_w > 64 || d->in_c > (int64_t)1 << 20) return 0; /* keeps c2 an int */
    memset(p, 0, sizeof *p);
    p->kh2 = c4j_ceil_div(d->kernel_h, d->stride_h);
    p->kw2 = c4j_ceil_div(d->kernel_w, d->stride_w);
    p->c2 = d->stride_h * d->stride_w * d->in_c;
    p->h2 = d->out_h + p->kh2 - 1;
    p->w2 = d->out_w + p->kw2 - 1;
    int64_t row_floats;
    if (__builtin_mul_overflow(p->w2, p->c2, &row_floats) || row_floats > BXS_BAND_FLOATS / 2) return 0;
    band_desc(d, p, 0, p->h2, &p->whole);
    if (!band_ok(&p->whole, algo)) return 0;
    const int64_t th = algo == C4J_ALGO_FFT ? c4j_fft_tile_rows(&p->whole) : c4j_winograd_tile(algo);
    if (th <= 0) return 0;
    p->band = c4j_s2d_band_rows(p->h2, th, d->batch, BXS_BAND_FLOATS / row_floats);
    p->bands = c4j_ceil_div(p->h2, p->band);
    for (int64_t b = 0, y0, y1; b < p->bands; b++) {
        c4j_conv2d_desc f;
        band_of(d, p, b, &y0, &y1, &f);
        if (!band_ok(&f, algo)) return 0;
    }
    p->band_floats = round16(p->band * row_floats);
    return 1;
}

/* The plan of the last (descriptor, algorithm) this thread saw (every entry point plans). */
static int make_plan(const c4j_conv2d_desc *d, c4j_algo algo, bxs_plan *p) {
    static _Thread_local struct {
        int valid, ok;
        c4j_algo algo;
        c4j_conv2d_desc d;
        bxs_plan p;
    } last;
    if (last.valid && last.algo == algo && memcmp(&last.d, d, sizeof *d) == 0) {
        *p = last.p;
        return last.ok;
    }
    const int ok = plan_uncached(d, algo, p);
    last.d = *d, last.algo = algo, last.p = *p, last.ok = ok, last.valid = 1;
    return ok;
}

int c4j_bx_s2d_applicable(const c4j_conv2d_desc *d, int route) {
    bxs_plan p;
    return make_plan(d, (c4j_algo)route, &p);
}

int64_t c4j_bx_s2d_units(const c4j_conv2d_desc *d, int route) {
    bxs_plan p;
    return make_plan(d, (c4j_algo)route, &p) ? d->batch * p.bands : 0;
}

/* Over an image's bands: the largest workspace of the transform, and (seconds not NULL) the sum
   of its estimates */
static int64_t band_workspace(const c4j_conv2d_desc *d, const bxs_plan *p, c4j_algo algo, double *seconds) {
    int64_t inner = 0;
    if (seconds != NULL) *seconds = 0;
    for (int64_t b = 0, y0, y1; b < p->bands; b++) {
        c4j_conv2d_desc f;
        band_of(d, p, b, &y0, &y1, &f);
        inner = C4J_MAX(inner, c4j_conv2d_workspace_bytes(&f, algo));
        if (seconds != NULL) *seconds += c4j_conv2d_estimate_seconds(&f, algo, 0);
    }
    return inner;
}

int64_t c4j_bx_s2d_workspace(const c4j_conv2d_desc *d, int route) {
    bxs_plan p;
    if (!make_plan(d, (c4j_algo)route, &p)) return -1;
    const int64_t inner = band_workspace(d, &p, (c4j_algo)route, NULL);
    return p.band_floats * (int64_t)sizeof(float) + inner;
}

int64_t c4j_bx_s2d_prepared_floats(const c4j_conv2d_desc *d, int route) {
    bxs_plan p;
    if (!make_plan(d, (c4j_algo)route, &p)) return -1;
    return round16(c4j_conv2d_prepared_floats(&p.whole, (c4j_algo)route)) + c4j_filter_floats(&p.whole);
}

c4j_status c4j_bx_s2d_prepare(const c4j_conv2d_desc *d, int route, const float *filter, float *prepared, char *err,
                           size_t err_len) {
    bxs_plan p;
    if (!make_plan(d, (c4j_algo)route, &p))
        return c4j_fail(C4J_ERR_UNSUPPORTED, err, err_len, "route %d cannot run this input gradient", route);
    const int64_t KH = d->kernel_h, KW = d->kernel_w, C = d->in_c, O = d->out_c;
    /* W2 transposed, HWIO of the band convolution: [a][b][o][(pp*sw + q)*C + c] */
    float *w2t = prepared + round16(c4j_conv2d_prepared_floats(&p.whole, (c4j_algo)route));
    memset(w2t, 0, (size_t)c4j_filter_floats(&p.whole) * sizeof(float));
    for (int64_t i = 0; i < KH; i++)
        for (int64_t j = 0; j < KW; j++) {
            /* tap (i, j) as applied: the flipped kernel reads W[KH-1-i, KW-1-j] */
            const int64_t si = d->flip ? KH - 1 - i : i, sj = d->flip ? KW - 1 - j : j;
            const int64_t a = i / d->stride_h, pp = i % d->stride_h, b = j / d->stride_w, q = j % d->stride_w;
            float *dst = w2t + (a * p.kw2 + b) * O * p.c2 + (pp * d->stride_w + q) * C;
            c4j_transpose(filter + (si * KW + sj) * C * O, O, C, O, dst, p.c2);
        }
    return c4j_conv2d_prepare(&p.whole, (c4j_algo)route, w2t, prepared, err, err_len);
}

/* dX rows of image n that band [y0, y1) of dX2 holds (the last band also the rows below X2,
   which no window reads), from the band x2 */
static void depth_to_space(const c4j_conv2d_desc *d, const bxs_plan *p, const float *x2, int64_t n, int64_t y0,
                           int64_t y1, float *dx) {
    const int64_t sh = d->stride_h, sw = d->stride_w, C = d->in_c, cs = d->in_stride[3];
    const int64_t ih0 = C4J_MAX(0, sh * y0 - d->pad_top);
    const int64_t ih1 = y1 == p->h2 ? d->in_h : C4J_MIN(d->in_h, sh * y1 - d->pad_top);
    for (int64_t ih = ih0; ih < ih1; ih++) {
        const int64_t y = (ih + d->pad_top) / sh, pp = (ih + d->pad_top) % sh;
        float *row = dx + n * d->in_stride[0] + ih * d->in_stride[1];
        for (int64_t iw = 0; iw < d->in_w; iw++) {
            float *dst = row + iw * d->in_stride[2];
            const int64_t x = (iw + d->pad_left) / sw, q = (iw + d->pad_left) % sw;
            if (y >= p->h2 || x >= p->w2) {
                for (int64_t c = 0; c < C; c++) dst[c * cs] = 0.0f;
                continue;
            }
            const float *src = x2 + ((y - y0) * p->w2 + x) * p->c2 + (pp * sw + q) * C;
            if (cs == 1) memcpy(dst, src, (size_t)C * sizeof(float));
            else
                for (int64_t c = 0; c < C; c++) dst[c * cs] = src[c];
        }
    }
}

c4j_status c4j_bx_s2d_run(const c4j_blas *blas, const c4j_conv2d_desc *d, int route, const float *dy,
                       const float *prepared, float *dx, void *workspace, int64_t workspace_bytes, int64_t u0,
                       int64_t u1, char *err, size_t err_len) {
    bxs_plan p;
    if (!make_plan(d, (c4j_algo)route, &p))
        return c4j_fail(C4J_ERR_UNSUPPORTED, err, err_len, "route %d cannot run this input gradient", route);
    float *x2 = (float *)workspace;
    void *ws = (char *)workspace + p.band_floats * (int64_t)sizeof(float);
    const int64_t ws_bytes = workspace_bytes - p.band_floats * (int64_t)sizeof(float);
    const float *w2t = prepared + round16(c4j_conv2d_prepared_floats(&p.whole, (c4j_algo)route));
    for (int64_t u = u0; u < u1; u++) {
        const int64_t n = u / p.bands;
        int64_t y0, y1;
        c4j_conv2d_desc f;
        band_of(d, &p, u % p.bands, &y0, &y1, &f);
        const float *src = dy + n * d->out_stride[0] + C4J_MAX(0, y0 - (p.kh2 - 1)) * d->out_stride[1];
        const c4j_status s = c4j_conv2d_forward(blas, &f, (c4j_algo)route, src, w2t, prepared, NULL, x2, ws, ws_bytes,
                                                0, c4j_conv2d_units(&f, (c4j_algo)route), err, err_len);
        if (s != C4J_OK) return s;
        depth_to_space(d, &p, x2, n, y0, y1, dx);
    }
    return C4J_OK;
}

/* Single-thread seconds: the transform on every band, the copies back, and with include_prepare
   the filter's rearrangement and the transform's preparation. */
double c4j_bx_s2d_estimate(const c4j_conv2d_desc *d, int route, int include_prepare) {
    bxs_plan p;
    if (!make_plan(d, (c4j_algo)route, &p)) return -1;
    double t;
    band_workspace(d, &p, (c4j_algo)route, &t);
    t += (double)(d->in_h * d->in_w * d->in_c) * BXS_COPY_NS * 1e-9;
    t *= (double)d->batch;
    if (include_prepare)
        t += c4j_conv2d_estimate_seconds(&p.whole, (c4j_algo)route, 1) -
             c4j_conv2d_estimate_seconds(&p.whole, (c4j_algo)route, 0) +
             (double)c4j_filter_floats(d) * C4J_BW_REARRANGE_NS * 1e-9;
    return t;
}
