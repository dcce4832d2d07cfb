/*
 * Backward pass (input, filter and bias gradients) against a plain double reference, over random
 * geometries (strides, dilations, padding, groups, flipped kernel) and strided views of the
 * input gradient and the output gradient, on every route that can run each case: the GEMM routes
 * (whose multiply-adds must all go through sgemm, none wasted on the zeros a strided transposed
 * convolution inserts), dX by each forward algorithm on the transposed convolution, dW by
 * Winograd F(3x3, 2x2) and F(3x3, 4x4) (one sgemm product per point, tile and channel pair).
 * Every output buffer sits between canaries, and the memory between the elements of a strided
 * view must stay untouched too; running the units in any split gives bit-identical results; the
 * route AUTO picks can run the case. Layer-sized cases then print each route's accuracy.
 */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "testlib.h"

static const c4j_blas *real_blas;
static double sgemm_macs;

static void counting_sgemm(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a,
                           int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    sgemm_macs += (double)m * n * k;
    real_blas->sgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

#define GUARD 64
static const uint32_t CANARY = 0x7fa5a5a5u; /* a NaN pattern no result can produce by accident */

/* a buffer of `len` floats with GUARD canaries on each side; returns the start of the payload */
static float *guarded(int64_t len) {
    float *mem = malloc(sizeof(float) * (size_t)(len + 2 * GUARD));
    for (int64_t i = 0; i < len + 2 * GUARD; i++) memcpy(&mem[i], &CANARY, 4);
    return mem + GUARD;
}
static void guarded_free(float *p) { free(p - GUARD); }
static void refill(float *p, int64_t len) {
    for (int64_t i = -GUARD; i < len + GUARD; i++) memcpy(&p[i], &CANARY, 4);
}
static int is_canary(const float *p) {
    uint32_t b;
    memcpy(&b, p, 4);
    return b == CANARY;
}

/* for each float of a buffer holding a 4-D view: the view's dense row-major index there, or -1 (a gap) */
static int64_t *view_map(const int64_t dim[4], const int64_t stride[4], int64_t len) {
    int64_t *map = malloc(sizeof(int64_t) * (size_t)(len > 0 ? len : 1));
    for (int64_t e = 0; e < len; e++) map[e] = -1;
    int64_t i = 0;
    for (int64_t a = 0; a < dim[0]; a++)
        for (int64_t b = 0; b < dim[1]; b++)
            for (int64_t c = 0; c < dim[2]; c++)
                for (int64_t k = 0; k < dim[3]; k++, i++)
                    map[a * stride[0] + b * stride[1] + c * stride[2] + k * stride[3]] = i;
    return map;
}

typedef struct {
    double *dx, *dw, *db;       /* reference gradients (dx dense NHWC, dw HWIO, db) */
    double *sx, *sw, *sb;       /* sums of |terms|: the scale of float rounding errors */
} reference;

static void reference_backward(const c4j_conv2d_desc *d, const float *x, const float *w, const float *dy,
                               reference *r) {
    const int64_t cg = d->in_c / d->groups, og = d->out_c / d->groups;
    for (int64_t n = 0; n < d->batch; n++)
        for (int64_t oh = 0; oh < d->out_h; oh++)
            for (int64_t ow = 0; ow < d->out_w; ow++)
                for (int64_t o = 0; o < d->out_c; o++) {
                    const int64_t g = o / og;
                    const double gy = dy[n * d->out_stride[0] + oh * d->out_stride[1] + ow * d->out_stride[2] + o];
                    r->db[o] += gy;
                    r->sb[o] += fabs(gy);
                    for (int64_t kh = 0; kh < d->kernel_h; kh++)
                        for (int64_t kw = 0; kw < d->kernel_w; kw++) {
                            int64_t ih = oh * d->stride_h + kh * d->dilation_h - d->pad_top;
                            int64_t iw = ow * d->stride_w + kw * d->dilation_w - d->pad_left;
                            if (ih < 0 || ih >= d->in_h || iw < 0 || iw >= d->in_w) continue;
                            int64_t fh = d->flip ? d->kernel_h - 1 - kh : kh;
                            int64_t fw = d->flip ? d->kernel_w - 1 - kw : kw;
                            for (int64_t c = 0; c < cg; c++) {
                                const int64_t xi = ((n * d->in_h + ih) * d->in_w + iw) * d->in_c + g * cg + c;
                                const int64_t wi = ((fh * d->kernel_w + fw) * cg + c) * d->out_c + o;
                                const double xv = x[n * d->in_stride[0] + ih * d->in_stride[1] + iw * d->in_stride[2] +
                                                    (g * cg + c) * d->in_stride[3]];
                                r->dx[xi] += gy * w[wi];
                                r->sx[xi] += fabs(gy * w[wi]);
                                r->dw[wi] += xv * gy;
                                r->sw[wi] += fabs(xv * gy);
                            }
                        }
                }
}

/* taps of a kernel axis that reach coordinate i (whether or not the output position exists) */
static int64_t taps_reaching(int64_t i, int64_t k, int64_t s, int64_t dil, int64_t pad) {
    int64_t c = 0;
    for (int64_t t = 0; t < k; t++) {
        int64_t e = i + pad - t * dil;
        if (((e % s) + s) % s == 0) c++;
    }
    return c;
}

static int cases_run, strided_dx_cases, stride_cases, split_cases;
static int split_prepare_cases[2]; /* input gradients whose filter preparation ran in units: Winograd, FFT */
static int input_route_cases[C4J_BWD_TAPS + 1], filter_route_cases[C4J_BWD_WINOGRAD_FUSED + 1], fft_filter_strided_cases;
static int strided_transform_dx_cases[C4J_ALGO_FFT + 1]; /* input gradients by Winograd / FFT through space to depth */

typedef struct {
    const c4j_conv2d_desc *d;
    const float *x, *f, *dy;
    const reference *r;
    int64_t in_len, out_len, f_len;
    int case_no;
} tcase;

/* multiply-adds of the Winograd filter gradient: one product per point, tile and channel pair */
static double winograd_filter_macs(const c4j_conv2d_desc *d, int route) {
    const int64_t m = route == C4J_ALGO_WINOGRAD_4X4 ? 4 : 2;
    const int64_t tiles = d->batch * ((d->out_h + m - 1) / m) * ((d->out_w + m - 1) / m);
    return (double)(m + 2) * (m + 2) * tiles * (d->in_c / d->groups) * d->out_c;
}

/*
 * Input gradient by `route`: prepared filter inside its guards, units run in two halves (counting
 * the multiply-adds: exactly the taps that reach each pixel on the GEMM route) and again one unit
 * per call in reverse order (bit-identical), every element of the view within tolerance, the
 * gaps of a strided view and the guards untouched. Returns the worst error / (1 + sum |terms|).
 */
static double check_input_route(const tcase *tc, int route) {
    const c4j_conv2d_desc *d = tc->d;
    char err[256];
    c4j_blas counting = *real_blas;
    counting.sgemm = counting_sgemm;
    const int64_t n = d->batch, in_len = tc->in_len;
    const int64_t pf = c4j_conv2d_backward_input_prepared_floats(d, route);
    T_CHECK(pf >= tc->f_len, "case %d route %d: prepared size %lld", tc->case_no, route, (long long)pf);
    if (pf < 0) return 1;
    float *prep = guarded(pf), *dx = guarded(in_len), *dx2 = guarded(in_len);
    T_CHECK(c4j_conv2d_backward_input_prepare(d, route, tc->f, prep, err, sizeof err) == C4J_OK, "%s", err);
    for (int64_t i = -GUARD; i < 0; i++)
        T_CHECK(is_canary(&prep[i]) && is_canary(&prep[pf - 1 - i]), "route %d: prepare wrote outside", route);
    {   /* the preparation in its units, one at a time in reverse order: the same bits, nothing outside */
        const int64_t pu = c4j_conv2d_backward_input_prepare_units(d, route);
        T_CHECK(pu >= 1, "case %d route %d: %lld prepare units", tc->case_no, route, (long long)pu);
        if (pu > 1) split_prepare_cases[route == C4J_ALGO_FFT]++;
        float *prep2 = guarded(pf);
        for (int64_t u = pu - 1; u >= 0; u--)
            T_CHECK(c4j_conv2d_backward_input_prepare_units_run(d, route, tc->f, prep2, u, u + 1, err, sizeof err) ==
                        C4J_OK, "%s", err);
        T_CHECK(c4j_conv2d_backward_input_prepare_units_run(d, route, tc->f, prep2, 0, pu + 1, err, sizeof err) ==
                    C4J_ERR_ARG, "case %d route %d: prepare unit range past the end accepted", tc->case_no, route);
        for (int64_t i = -GUARD; i < 0; i++)
            T_CHECK(is_canary(&prep2[i]) && is_canary(&prep2[pf - 1 - i]), "route %d: prepare units wrote outside",
                    route);
        T_CHECK(memcmp(prep, prep2, (size_t)pf * sizeof(float)) == 0,
                "case %d route %d: prepared filter differs between unit splits", tc->case_no, route);
        guarded_free(prep2);
    }
    const int64_t units = c4j_conv2d_backward_input_units(d, route);
    const int64_t ws_bytes = c4j_conv2d_backward_input_workspace_bytes(d, route);
    T_CHECK(n == 0 ? units == 0 : units >= 1, "input units %lld", (long long)units);
    T_CHECK(ws_bytes >= 0 && ws_bytes <= 16 << 20, "route %d: workspace %lld", route, (long long)ws_bytes);
    void *ws = c4j_alloc((size_t)ws_bytes, 0);
    sgemm_macs = 0;
    c4j_status st = c4j_conv2d_backward_input(&counting, d, route, tc->dy, prep, dx, ws, ws_bytes, 0, units / 2, err,
                                              sizeof err);
    if (st == C4J_OK)
        st = c4j_conv2d_backward_input(&counting, d, route, tc->dy, prep, dx, ws, ws_bytes, units / 2, units, err,
                                       sizeof err);
    T_CHECK(st == C4J_OK, "case %d route %d: backward input: %s", tc->case_no, route, err);
    if (route == C4J_BWD_GEMM) {
        double expect = 0;
        for (int64_t ih = 0; ih < d->in_h; ih++)
            for (int64_t iw = 0; iw < d->in_w; iw++)
                expect += (double)taps_reaching(ih, d->kernel_h, d->stride_h, d->dilation_h, d->pad_top) *
                          taps_reaching(iw, d->kernel_w, d->stride_w, d->dilation_w, d->pad_left);
        expect *= (double)n * d->out_c * (d->in_c / d->groups);
        T_CHECK(sgemm_macs == expect, "case %d: input gradient did %.0f MACs, expected %.0f", tc->case_no, sgemm_macs,
                expect);
    }
    if (route == C4J_BWD_TAPS) { /* every tap over every input pixel, once */
        const double expect = (double)n * d->in_h * d->in_w * d->kernel_h * d->kernel_w * (d->in_c / d->groups) * d->out_c;
        T_CHECK(sgemm_macs == expect, "case %d: tap-wise input gradient did %.0f MACs, expected %.0f", tc->case_no,
                sgemm_macs, expect);
    }
    for (int64_t u = units - 1; u >= 0; u--)
        T_CHECK(c4j_conv2d_backward_input(real_blas, d, route, tc->dy, prep, dx2, ws, ws_bytes, u, u + 1, err,
                                          sizeof err) == C4J_OK, "%s", err);
    int bad = 0;
    double worst = 0;
    const int64_t in_dim[4] = {n, d->in_h, d->in_w, d->in_c};
    int64_t *map = view_map(in_dim, d->in_stride, in_len);
    for (int64_t e = -GUARD; e < in_len + GUARD && bad < 3; e++) {
        const int64_t di = e >= 0 && e < in_len ? map[e] : -1;
        if (di < 0) {
            if (!is_canary(&dx[e]) || !is_canary(&dx2[e])) {
                bad++;
                T_CHECK(0, "case %d route %d: input gradient written outside its view at %lld", tc->case_no, route,
                        (long long)e);
            }
            continue;
        }
        const double rel = fabs(dx[e] - tc->r->dx[di]) / (1 + tc->r->sx[di]);
        if (rel > worst || rel != rel) worst = rel != rel ? 1 : rel;
        if (!(rel <= 1e-5)) {
            bad++;
            T_CHECK(0, "case %d route %d: dX (dense index %lld) got %g want %g", tc->case_no, route, (long long)di,
                    dx[e], tc->r->dx[di]);
        }
        if (memcmp(&dx[e], &dx2[e], 4) != 0) {
            bad++;
            T_CHECK(0, "case %d route %d: input gradient differs between unit splits", tc->case_no, route);
        }
    }
    free(map);
    c4j_free(ws);
    guarded_free(prep); guarded_free(dx); guarded_free(dx2);
    return worst;
}

/*
 * Filter and bias gradients by `route`: units in two calls (multiply-adds counted: the direct
 * count on the GEMM route, one per point, tile and channel pair on Winograd), the reduction in
 * two, then one unit per call in reverse order (bit-identical), guards untouched, the bias
 * gradient alone identical. Returns the worst dW error / (1 + sum |terms|).
 */
static double check_filter_route(const tcase *tc, int route) {
    const c4j_conv2d_desc *d = tc->d;
    char err[256];
    c4j_blas counting = *real_blas;
    counting.sgemm = counting_sgemm;
    const int64_t f_len = tc->f_len, oc = d->out_c;
    const int64_t units = c4j_conv2d_backward_filter_units(d, route);
    const int64_t ws_bytes = c4j_conv2d_backward_filter_workspace_bytes(d, route);
    const int64_t parts_len = c4j_conv2d_backward_filter_partial_floats(d, route);
    const int64_t red_units = c4j_conv2d_backward_filter_reduce_units(d, route);
    /* sgemm routes split at least by group; the grouped direct route by blocks of output channels */
    T_CHECK(units >= (route == C4J_ALGO_GROUPED_DIRECT ? 1 : d->groups), "filter units %lld", (long long)units);
    T_CHECK(ws_bytes >= 0 && ws_bytes <= 16 << 20, "route %d: workspace %lld", route, (long long)ws_bytes);
    T_CHECK(parts_len >= 0 && (parts_len == 0) == (red_units == 0), "partials %lld but %lld reduction units",
            (long long)parts_len, (long long)red_units);
    if (units < 1 || ws_bytes < 0 || parts_len < 0) return 1;
    split_cases += parts_len > 0;
    float *gw = guarded(f_len), *gw2 = guarded(f_len), *gb = guarded(oc), *gb2 = guarded(oc);
    float *parts = guarded(parts_len), *parts2 = guarded(parts_len);
    void *ws = c4j_alloc((size_t)ws_bytes, 0);
    float *bias_out = d->has_bias ? gb : NULL, *bias_out2 = d->has_bias ? gb2 : NULL;
    sgemm_macs = 0;
    c4j_status st = c4j_conv2d_backward_filter(&counting, d, route, tc->x, tc->dy, gw, bias_out, parts, parts_len, ws,
                                               ws_bytes, 0, units / 3, err, sizeof err);
    if (st == C4J_OK)
        st = c4j_conv2d_backward_filter(&counting, d, route, tc->x, tc->dy, gw, bias_out, parts, parts_len, ws, ws_bytes,
                                        units / 3, units, err, sizeof err);
    if (st == C4J_OK)
        st = c4j_conv2d_backward_filter_reduce(d, route, gw, bias_out, parts, parts_len, 0, red_units / 2, err,
                                               sizeof err);
    if (st == C4J_OK)
        st = c4j_conv2d_backward_filter_reduce(d, route, gw, bias_out, parts, parts_len, red_units / 2, red_units, err,
                                               sizeof err);
    T_CHECK(st == C4J_OK, "case %d route %d: backward filter: %s", tc->case_no, route, err);
    /* the grouped direct and FFT routes multiply outside sgemm (bias gradient included); the direct
       and fused Winograd routes' dW too (their bias gradient is an sgemm row) */
    const int no_sgemm = route == C4J_ALGO_GROUPED_DIRECT || route == C4J_ALGO_FFT;
    double expect = route == C4J_BWD_GEMM
                        ? (double)d->batch * d->out_h * d->out_w * d->kernel_h * d->kernel_w * (d->in_c / d->groups) * oc
                    : no_sgemm || route == C4J_ALGO_DIRECT_DENSE || route == C4J_BWD_WINOGRAD_FUSED ? 0
                                                                  : winograd_filter_macs(d, route);
    if (d->has_bias && !no_sgemm) expect += (double)d->batch * d->out_h * d->out_w * oc;
    T_CHECK(sgemm_macs == expect, "case %d route %d: filter gradient did %.0f MACs, expected %.0f", tc->case_no, route,
            sgemm_macs, expect);
    for (int64_t u = units - 1; u >= 0; u--)
        T_CHECK(c4j_conv2d_backward_filter(real_blas, d, route, tc->x, tc->dy, gw2, bias_out2, parts2, parts_len, ws,
                                           ws_bytes, u, u + 1, err, sizeof err) == C4J_OK, "%s", err);
    for (int64_t u = red_units - 1; u >= 0; u--)
        T_CHECK(c4j_conv2d_backward_filter_reduce(d, route, gw2, bias_out2, parts2, parts_len, u, u + 1, err,
                                                  sizeof err) == C4J_OK, "%s", err);
    for (int64_t i = -GUARD; i < 0; i++)
        T_CHECK(is_canary(&parts[i]) && is_canary(&parts[parts_len - 1 - i]), "partial sums written outside");
    int bad = 0;
    double worst = 0;
    for (int64_t i = -GUARD; i < f_len + GUARD && bad < 6; i++) {
        if (i < 0 || i >= f_len) {
            if (!is_canary(&gw[i]) || !is_canary(&gw2[i])) { bad++; T_CHECK(0, "filter gradient written outside at %lld", (long long)i); }
            continue;
        }
        const double rel = fabs(gw[i] - tc->r->dw[i]) / (1 + tc->r->sw[i]);
        if (rel > worst || rel != rel) worst = rel != rel ? 1 : rel;
        if (!(rel <= 1e-5)) {
            bad++;
            T_CHECK(0, "case %d route %d: dW[%lld] got %g want %g", tc->case_no, route, (long long)i, gw[i], tc->r->dw[i]);
        }
        if (memcmp(&gw[i], &gw2[i], 4) != 0) { bad++; T_CHECK(0, "case %d route %d: filter gradient differs between splits", tc->case_no, route); }
    }
    for (int64_t i = -GUARD; i < oc + GUARD && bad < 9; i++) {
        if (i < 0 || i >= oc || !d->has_bias) {
            if (!is_canary(&gb[i]) || !is_canary(&gb2[i])) { bad++; T_CHECK(0, "bias gradient written outside at %lld", (long long)i); }
            continue;
        }
        if (!(fabs(gb[i] - tc->r->db[i]) <= 1e-5 * (1 + tc->r->sb[i]))) {
            bad++;
            T_CHECK(0, "case %d route %d: db[%lld] got %g want %g", tc->case_no, route, (long long)i, gb[i], tc->r->db[i]);
        }
        if (memcmp(&gb[i], &gb2[i], 4) != 0) { bad++; T_CHECK(0, "case %d route %d: bias gradient differs between splits", tc->case_no, route); }
    }
    /* bias gradient alone: the filter gradient and the input are not touched, the sums identical */
    if (d->has_bias) {
        refill(gb2, oc);
        T_CHECK(c4j_conv2d_backward_filter(real_blas, d, route, NULL, tc->dy, NULL, gb2, parts2, parts_len, ws, ws_bytes,
                                           0, units, err, sizeof err) == C4J_OK, "%s", err);
        T_CHECK(c4j_conv2d_backward_filter_reduce(d, route, NULL, gb2, parts2, parts_len, 0, red_units, err,
                                                  sizeof err) == C4J_OK, "%s", err);
        T_CHECK(memcmp(gb, gb2, sizeof(float) * (size_t)oc) == 0, "case %d route %d: bias gradient alone differs",
                tc->case_no, route);
    }
    c4j_free(ws);
    guarded_free(gw); guarded_free(gw2); guarded_free(gb); guarded_free(gb2);
    guarded_free(parts); guarded_free(parts2);
    return worst;
}

static void run_case(uint64_t *rng, int case_no) {
    char err[256];
    c4j_conv2d_desc d;
    int64_t n = t_rand_range(rng, 1, 3), h = t_rand_range(rng, 1, 12), w = t_rand_range(rng, 1, 12);
    int64_t groups = t_rand_range(rng, 1, 3);
    int64_t cg = t_rand_range(rng, 1, 6), og = t_rand_range(rng, 1, 7);
    int64_t kh = t_rand_range(rng, 1, 5), kw = t_rand_range(rng, 1, 5);
    int64_t sh = t_rand_range(rng, 1, 4), sw = t_rand_range(rng, 1, 4);
    int64_t dh = t_rand_range(rng, 1, 3), dw = t_rand_range(rng, 1, 3);
    if (case_no % 4 == 0) { kh = kw = 3; sh = sw = dh = dw = 1; }
    if (case_no % 6 == 1) { cg = 1; groups = t_rand_range(rng, 2, 5); } /* depthwise */
    if (case_no % 10 == 3) { cg = t_rand_range(rng, 40, 70); og = t_rand_range(rng, 60, 140); groups = 1; } /* wide */
    if (case_no % 10 == 9) { /* strided, kernels wider than the strides: the FFT filter gradient by space to depth */
        groups = 1; dh = dw = 1; sh = t_rand_range(rng, 2, 3); sw = t_rand_range(rng, 1, 3);
        kh = t_rand_range(rng, sh + 1, 7); kw = t_rand_range(rng, sw + 1, 7);
        h = t_rand_range(rng, kh, 24); w = t_rand_range(rng, kw, 24);
    }
    if (case_no % 50 == 9) { /* a filter gradient too big for one cache block: channel chunks */
        cg = t_rand_range(rng, 260, 300); og = t_rand_range(rng, 250, 300); groups = 1; n = 1;
        h = t_rand_range(rng, 1, 4); w = t_rand_range(rng, 1, 4); kh = t_rand_range(rng, 1, 2); kw = t_rand_range(rng, 1, 2);
    }
    if (case_no % 10 == 7) { /* many output pixels: split into ranges with partial sums */
        h = t_rand_range(rng, 16, 34); w = t_rand_range(rng, 16, 34); sh = sw = 1;
    }
    int64_t pt = t_rand_range(rng, 0, 3), pb = t_rand_range(rng, 0, 3);
    int64_t pl = t_rand_range(rng, 0, 3), pr = t_rand_range(rng, 0, 3);
    if (case_no % 8 == 1) pt = pb = pl = pr = 0;
    if (case_no % 16 == 13) { kh = kw = 1; sh = sw = 1; pt = pb = pl = pr = 0; } /* 1x1: dX by GEMM_DIRECT too */
    if (h + pt + pb < (kh - 1) * dh + 1 || w + pl + pr < (kw - 1) * dw + 1) return;
    t_dense_desc(&d, n, h, w, groups * cg, kh, kw, groups * og, groups, sh, sw, dh, dw, pt, pb, pl, pr);
    d.flip = case_no % 3 == 2;
    d.has_bias = case_no % 5 < 3;
    if (case_no % 13 == 5) d.batch = n = 0;
    cases_run++;
    stride_cases += sh > 1 || sw > 1;
    /* the input view (x and dX share it): dense, padded (gaps between pixels), or NCHW-permuted */
    const int layout = (int)(case_no % 3);
    const int64_t c = d.in_c;
    if (layout == 1) {
        int64_t cpad = c + t_rand_range(rng, 0, 3), wpad = w + t_rand_range(rng, 0, 2);
        d.in_stride[2] = cpad; d.in_stride[1] = wpad * cpad; d.in_stride[0] = h * wpad * cpad + 5;
    } else if (layout == 2) {
        d.in_stride[3] = h * w; d.in_stride[2] = 1; d.in_stride[1] = w; d.in_stride[0] = c * h * w;
    }
    strided_dx_cases += layout != 0;
    if (case_no % 2) { /* dY a channel slice of something wider */
        int64_t extra = t_rand_range(rng, 0, 4);
        d.out_stride[2] = d.out_c + extra; d.out_stride[1] = d.out_w * d.out_stride[2] + 3;
        d.out_stride[0] = d.out_h * d.out_stride[1] + 1;
    }
    const int64_t in_dim[4] = {n, d.in_h, d.in_w, d.in_c};
    const int64_t out_dim[4] = {n, d.out_h, d.out_w, d.out_c};
    /* a view with an empty batch still gets a buffer of its first image, as callers may pass one */
    const int64_t in_len = n == 0 ? 1 : t_view_len(in_dim, d.in_stride);
    const int64_t out_len = n == 0 ? 1 : t_view_len(out_dim, d.out_stride);
    const int64_t f_len = kh * kw * cg * d.out_c;
    const int64_t dense_in = n * h * w * c;
    float *x = malloc(sizeof(float) * in_len), *f = malloc(sizeof(float) * f_len);
    float *dy = malloc(sizeof(float) * out_len);
    t_fill(x, in_len, rng); t_fill(f, f_len, rng); t_fill(dy, out_len, rng);
    reference r;
    r.dx = calloc((size_t)dense_in + 1, sizeof(double)); r.sx = calloc((size_t)dense_in + 1, sizeof(double));
    r.dw = calloc((size_t)f_len, sizeof(double)); r.sw = calloc((size_t)f_len, sizeof(double));
    r.db = calloc((size_t)d.out_c, sizeof(double)); r.sb = calloc((size_t)d.out_c, sizeof(double));
    reference_backward(&d, x, f, dy, &r);

    T_CHECK(c4j_conv2d_check(&d, in_len, f_len, d.out_c, out_len, err, sizeof err) == C4J_OK, "%s", err);
    tcase tc = {&d, x, f, dy, &r, in_len, out_len, f_len, case_no};
    /* the GEMM routes, with exact multiply-add counts, then every other route that can run it */
    check_input_route(&tc, C4J_BWD_GEMM);
    check_filter_route(&tc, C4J_BWD_GEMM);
    for (int route = C4J_ALGO_GEMM_DIRECT; route <= C4J_BWD_TAPS; route++)
        if ((route <= C4J_ALGO_GROUPED_DIRECT || route >= C4J_BWD_SCATTER) && c4j_conv2d_backward_input_units(&d, route) > 0) {
            check_input_route(&tc, route);
            input_route_cases[route]++;
            if (route >= C4J_ALGO_WINOGRAD_2X2 && route <= C4J_ALGO_FFT && (d.stride_h > 1 || d.stride_w > 1))
                strided_transform_dx_cases[route]++;
        }
    for (int route = C4J_ALGO_WINOGRAD_2X2; route <= C4J_BWD_WINOGRAD_FUSED; route++)
        if ((route <= C4J_ALGO_GROUPED_DIRECT || route == C4J_ALGO_DIRECT_DENSE || route == C4J_BWD_WINOGRAD_FUSED) &&
            c4j_conv2d_backward_filter_units(&d, route) > 0) {
            check_filter_route(&tc, route);
            filter_route_cases[route]++;
            if (route == C4J_ALGO_FFT && (d.stride_h > 1 || d.stride_w > 1)) fft_filter_strided_cases++;
        }
    /* AUTO resolves to a route that can run the descriptor, the same for every call */
    const int ri = c4j_conv2d_backward_input_route(&d), rf = c4j_conv2d_backward_filter_route(&d);
    T_CHECK(c4j_conv2d_backward_input_estimate_seconds(&d, ri) >= 0, "case %d: AUTO input route %d", case_no, ri);
    T_CHECK(c4j_conv2d_backward_filter_estimate_seconds(&d, rf) >= 0, "case %d: AUTO filter route %d", case_no, rf);
    T_CHECK(c4j_conv2d_backward_input_units(&d, C4J_BWD_AUTO) == c4j_conv2d_backward_input_units(&d, ri) &&
                c4j_conv2d_backward_filter_units(&d, C4J_BWD_AUTO) == c4j_conv2d_backward_filter_units(&d, rf),
            "case %d: AUTO units", case_no);

    free(x); free(f); free(dy);
    free(r.dx); free(r.sx); free(r.dw); free(r.sw); free(r.db); free(r.sb);
}

/*
 * Layer-sized cases for the transform routes, which the small random cases reach only in part:
 * several tile blocks per range, output-channel slices (the last one narrower), channels past the
 * transform kernels' 64, tile-row ranges with partial sums, strided and permuted views, groups,
 * flip and asymmetric padding. Prints the accuracy of every route, the metric of the golden
 * tolerance: max |got - ref| / (1 + sum |terms|), data uniform in [-1, 1).
 */
typedef struct {
    const char *name;
    int64_t n, h, w, cin, cout, groups, pt, pb, pl, pr;
    int flip, layout; /* 1: permuted (NCHW) input view, 2: pixels padded in the input view; 1, 2: padded dY view */
    int64_t k, s;     /* kernel size and stride (0: 3x3 stride 1) */
} layer;

static void layer_cases(void) {
    static const layer L[] = {
        {"56x56 64->64 SAME", 1, 56, 56, 64, 64, 1, 1, 1, 1, 1, 0, 0, 0, 0},
        {"14x14 256->256 SAME n4", 4, 14, 14, 256, 256, 1, 1, 1, 1, 1, 0, 0, 0, 0},
        {"28x28 128->128 SAME n2", 2, 28, 28, 128, 128, 1, 1, 1, 1, 1, 0, 0, 0, 0},
        /* all output pixels in one patch tile and a filter above the GEMM dW block: one unit per tap
           over every output channel */
        {"5x5 320->256 SAME", 1, 5, 5, 320, 256, 1, 1, 1, 1, 1, 0, 0, 0, 0},
        {"23x19 70->96 g2 flip views", 2, 23, 19, 140, 96, 2, 2, 0, 0, 1, 1, 1, 0, 0},
        {"30x30 3->16 VALID", 3, 30, 30, 3, 16, 1, 0, 0, 0, 0, 0, 0, 0, 0},
        {"17x33 48->40 padded views", 2, 17, 33, 48, 40, 1, 0, 2, 1, 1, 1, 2, 0, 0},
        {"7x7 s2 RGB 45x50 3->16", 2, 45, 50, 3, 16, 1, 3, 2, 3, 3, 0, 2, 7, 2},
        /* an FFT input gradient whose filter preparation is split into units (transposed rows per unit) */
        {"11x11 g2 20x22 32->24 flip", 1, 20, 22, 32, 24, 2, 5, 5, 5, 5, 1, 0, 11, 1},
        /* FFT filter gradient: several tile batches per range, tiles sharing a transform, channels-first
           input (strided lanes), padded dY view; space to depth with 4 + 2 channel blocks and a narrow
           last output-channel vector */
        {"5x5 b3 40x37 3->16 NCHW", 3, 40, 37, 3, 16, 1, 2, 2, 1, 3, 0, 1, 5, 1},
        {"7x7 s2 b2 61x58 6->40 NCHW", 2, 61, 58, 6, 40, 1, 3, 3, 2, 3, 1, 1, 7, 2},
    };
    static const char *NAMES[] = {"gemm", "gemm_direct", "gemm_tiled", "winograd_2x2", "winograd_4x4", "fft", "scatter", "taps",
                                  "", "direct", "winograd_fused"};
    double worst_in[8] = {0}, worst_f[C4J_BWD_WINOGRAD_FUSED + 1] = {0};
    uint64_t rng = 99;
    printf("accuracy, max |got - ref| / (1 + sum |terms|):\n");
    for (size_t i = 0; i < sizeof L / sizeof L[0]; i++) {
        const layer *l = &L[i];
        c4j_conv2d_desc d;
        const int64_t k = l->k ? l->k : 3, st = l->s ? l->s : 1;
        t_dense_desc(&d, l->n, l->h, l->w, l->cin, k, k, l->cout, l->groups, st, st, 1, 1, l->pt, l->pb, l->pl, l->pr);
        d.flip = l->flip;
        d.has_bias = 1;
        if (l->layout == 2) {
            d.in_stride[2] = l->cin + 5; d.in_stride[1] = l->w * d.in_stride[2] + 7; d.in_stride[0] = l->h * d.in_stride[1] + 1;
        }
        if (l->layout == 1) {
            d.in_stride[3] = l->h * l->w; d.in_stride[2] = 1; d.in_stride[1] = l->w; d.in_stride[0] = l->cin * l->h * l->w;
        }
        if (l->layout != 0) {
            d.out_stride[2] = d.out_c + 3; d.out_stride[1] = d.out_w * d.out_stride[2] + 1;
            d.out_stride[0] = d.out_h * d.out_stride[1] + 2;
        }
        const int64_t in_dim[4] = {d.batch, d.in_h, d.in_w, d.in_c}, out_dim[4] = {d.batch, d.out_h, d.out_w, d.out_c};
        const int64_t in_len = t_view_len(in_dim, d.in_stride), out_len = t_view_len(out_dim, d.out_stride);
        const int64_t f_len = k * k * (l->cin / l->groups) * l->cout, dense_in = l->n * l->h * l->w * l->cin;
        float *x = malloc(sizeof(float) * in_len), *f = malloc(sizeof(float) * f_len), *dy = malloc(sizeof(float) * out_len);
        t_fill(x, in_len, &rng); t_fill(f, f_len, &rng); t_fill(dy, out_len, &rng);
        reference r;
        r.dx = calloc((size_t)dense_in, sizeof(double)); r.sx = calloc((size_t)dense_in, sizeof(double));
        r.dw = calloc((size_t)f_len, sizeof(double)); r.sw = calloc((size_t)f_len, sizeof(double));
        r.db = calloc((size_t)d.out_c, sizeof(double)); r.sb = calloc((size_t)d.out_c, sizeof(double));
        reference_backward(&d, x, f, dy, &r);
        tcase tc = {&d, x, f, dy, &r, in_len, out_len, f_len, 1000 + (int)i};
        printf("  %-28s dX:", l->name);
        for (int ri = 0; ri <= 7; ri++) {
            const int route = ri == 6 ? C4J_BWD_SCATTER : ri == 7 ? C4J_BWD_TAPS : ri;
            if (c4j_conv2d_backward_input_units(&d, route) <= 0) continue;
            const double e = check_input_route(&tc, route);
            if (e > worst_in[ri]) worst_in[ri] = e;
            printf(" %s %.1e", NAMES[ri], e);
        }
        printf("\n  %-28s dW:", "");
        for (int route = 0; route <= C4J_BWD_WINOGRAD_FUSED; route++) {
            if (route == 1 || route == 2 || (route > C4J_ALGO_FFT && route < C4J_ALGO_DIRECT_DENSE) ||
                (route > C4J_ALGO_DIRECT_DENSE && route < C4J_BWD_WINOGRAD_FUSED))
                continue;
            /* the fused route: only where its panels fit (few tiles) and channels are contiguous */
            T_CHECK(c4j_conv2d_backward_filter_units(&d, route) > 0 || k != 3 || route == C4J_ALGO_FFT ||
                        route == C4J_BWD_WINOGRAD_FUSED,
                    "%s: filter route %d cannot run", l->name, route);
            if (c4j_conv2d_backward_filter_units(&d, route) <= 0) continue;
            const double e = check_filter_route(&tc, route);
            if (e > worst_f[route]) worst_f[route] = e;
            printf(" %s %.1e", NAMES[route == C4J_BWD_WINOGRAD_FUSED ? 10 : route], e);
        }
        printf("\n");
        free(x); free(f); free(dy);
        free(r.dx); free(r.sx); free(r.dw); free(r.sw); free(r.db); free(r.sb);
    }
    /* regression bounds, well inside the golden 1e-5: measured maxima are printed above */
    T_CHECK(worst_f[C4J_ALGO_WINOGRAD_4X4] < 3e-6, "winograd 4x4 filter gradient error %.2e", worst_f[4]);
    T_CHECK(worst_f[C4J_ALGO_WINOGRAD_2X2] < 1e-6, "winograd 2x2 filter gradient error %.2e", worst_f[3]);
    T_CHECK(worst_f[C4J_ALGO_DIRECT_DENSE] < 1e-6, "direct filter gradient error %.2e", worst_f[C4J_ALGO_DIRECT_DENSE]);
    T_CHECK(worst_f[C4J_BWD_WINOGRAD_FUSED] > 0 && worst_f[C4J_BWD_WINOGRAD_FUSED] < 3e-6, "fused winograd filter gradient error %.2e",
            worst_f[C4J_BWD_WINOGRAD_FUSED]);
    T_CHECK(worst_in[C4J_ALGO_WINOGRAD_4X4] < 5e-6, "winograd 4x4 input gradient error %.2e", worst_in[4]);
}

/*
 * The scatter route's units (bands of input rows) on layers with few of them: an odd count below
 * 16 leaves a second thread idle for the last band, so such a layer gets one band more, unless the
 * bands would then be lower than 4x the window's reach (their overlap would grow). 1x1 stride 2 on
 * 56 rows: 7 -> 8 bands; 1x1 on 40 rows: 5 -> 6; 3x3 on 24 rows: 3 bands of 8 (6 rows would be
 * below 4 x 2); batch 3 x 7 bands is above 16.
 */
static void scatter_unit_counts(void) {
    static const struct {
        t_layer l;
        int64_t units;
    } cases[] = {
        {{"1x1 s2 56x256to512", 1, 56, 56, 256, 1, 1, 512, 2, 1}, 8},
        {{"1x1 40x64to32", 1, 40, 40, 64, 1, 1, 32, 1, 1}, 6},
        {{"3x3 24x32to32", 1, 24, 24, 32, 3, 3, 32, 1, 1}, 3},
        {{"1x1 s2 b3 56x16to32", 3, 56, 56, 16, 1, 1, 32, 2, 1}, 21},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        c4j_conv2d_desc d;
        t_layer_desc(&cases[i].l, &d);
        const int64_t units = c4j_conv2d_backward_input_units(&d, C4J_BWD_SCATTER);
        T_CHECK(units == cases[i].units, "%s: %lld scatter units, want %lld", cases[i].l.name, (long long)units,
                (long long)cases[i].units);
    }
}

static void refusals(void) {
    c4j_conv2d_desc d;
    char err[256];
    t_dense_desc(&d, 1, 6, 6, 2, 3, 3, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    d.has_bias = 1;
    float x[72], f[72], dy[144], dx[72], gw[72], gb[4];
    uint64_t rng = 7;
    t_fill(x, 72, &rng); t_fill(f, 72, &rng); t_fill(dy, 144, &rng);
    int64_t units = c4j_conv2d_backward_filter_units(&d, C4J_BWD_GEMM), bytes = c4j_conv2d_backward_filter_workspace_bytes(&d, C4J_BWD_GEMM);
    void *ws = c4j_alloc((size_t)bytes, 0);
    T_CHECK(c4j_conv2d_backward_filter(real_blas, &d, C4J_BWD_GEMM, x, dy, gw, gb, NULL, 0, ws, bytes, 0, units + 1, err, sizeof err) == C4J_ERR_ARG, "range");
    T_CHECK(c4j_conv2d_backward_filter(real_blas, &d, C4J_BWD_GEMM, x, dy, gw, gb, NULL, 0, ws, bytes - 1, 0, units, err, sizeof err) == C4J_ERR_ARG, "ws");
    T_CHECK(c4j_conv2d_backward_filter(real_blas, &d, C4J_BWD_GEMM, x, dy, gw, NULL, NULL, 0, ws, bytes, 0, units, err, sizeof err) == C4J_ERR_ARG, "bias");
    T_CHECK(c4j_conv2d_backward_filter(real_blas, &d, C4J_BWD_GEMM, NULL, dy, gw, gb, NULL, 0, ws, bytes, 0, units, err, sizeof err) == C4J_ERR_ARG, "in");
    c4j_blas none = {0};
    T_CHECK(c4j_conv2d_backward_filter(&none, &d, C4J_BWD_GEMM, x, dy, gw, gb, NULL, 0, ws, bytes, 0, units, err, sizeof err) == C4J_ERR_BLAS, "blas");
    c4j_free(ws);
    /* a split filter gradient refuses missing or short partial sums */
    c4j_conv2d_desc big_rows;
    t_dense_desc(&big_rows, 4, 32, 32, 2, 3, 3, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    const int64_t pf = c4j_conv2d_backward_filter_partial_floats(&big_rows, C4J_BWD_GEMM);
    T_CHECK(pf > 0 && c4j_conv2d_backward_filter_reduce_units(&big_rows, C4J_BWD_GEMM) > 0, "expected a split");
    bytes = c4j_conv2d_backward_filter_workspace_bytes(&big_rows, C4J_BWD_GEMM);
    ws = c4j_alloc((size_t)bytes, 0);
    float *bx = calloc(4 * 32 * 32 * 2, sizeof(float)), *bdy = calloc(4 * 32 * 32 * 4, sizeof(float));
    float *parts = calloc((size_t)pf, sizeof(float));
    units = c4j_conv2d_backward_filter_units(&big_rows, C4J_BWD_GEMM);
    T_CHECK(c4j_conv2d_backward_filter(real_blas, &big_rows, C4J_BWD_GEMM, bx, bdy, gw, NULL, parts, pf - 1, ws, bytes, 0, units, err,
                                       sizeof err) == C4J_ERR_BOUNDS, "short partials");
    T_CHECK(c4j_conv2d_backward_filter(real_blas, &big_rows, C4J_BWD_GEMM, bx, bdy, gw, NULL, NULL, pf, ws, bytes, 0, units, err,
                                       sizeof err) == C4J_ERR_BOUNDS, "no partials");
    T_CHECK(c4j_conv2d_backward_filter_reduce(&big_rows, C4J_BWD_GEMM, gw, NULL, parts, pf - 1, 0, 1, err, sizeof err) == C4J_ERR_BOUNDS,
            "short partials (reduce)");
    T_CHECK(c4j_conv2d_backward_filter_reduce(&big_rows, C4J_BWD_GEMM, gw, NULL, parts, pf, 0, 99, err, sizeof err) == C4J_ERR_ARG,
            "reduce range");
    free(bx); free(bdy); free(parts);
    c4j_free(ws);
    units = c4j_conv2d_backward_input_units(&d, C4J_BWD_GEMM);
    bytes = c4j_conv2d_backward_input_workspace_bytes(&d, C4J_BWD_GEMM);
    ws = c4j_alloc((size_t)bytes, 0);
    T_CHECK(c4j_conv2d_backward_input(real_blas, &d, C4J_BWD_GEMM, dy, f, dx, ws, bytes, -1, units, err, sizeof err) == C4J_ERR_ARG, "range");
    T_CHECK(c4j_conv2d_backward_input(real_blas, &d, C4J_BWD_GEMM, dy, f, dx, (char *)ws + 4, bytes, 0, units, err, sizeof err) == C4J_ERR_ARG,
            "alignment");
    c4j_free(ws);
    /* bounds: one float short anywhere is refused by the check the JNI layer runs */
    T_CHECK(c4j_conv2d_check(&d, 71, 72, 4, 144, NULL, 0) == C4J_ERR_BOUNDS, "dX short");
    T_CHECK(c4j_conv2d_check(&d, 72, 72, 4, 143, NULL, 0) == C4J_ERR_BOUNDS, "dY short");
    T_CHECK(c4j_conv2d_check(&d, 72, 71, 4, 144, NULL, 0) == C4J_ERR_BOUNDS, "dW short");
    T_CHECK(c4j_conv2d_check(&d, 72, 72, 3, 144, NULL, 0) == C4J_ERR_BOUNDS, "db short");
    /* sizes beyond the core's ints */
    c4j_conv2d_desc big = d;
    big.kernel_h = 3; big.kernel_w = 3; big.out_c = INT_MAX / 4; big.in_c = 1;
    T_CHECK(c4j_conv2d_backward_input_units(&big, C4J_BWD_GEMM) == 0 && c4j_conv2d_backward_input_workspace_bytes(&big, C4J_BWD_GEMM) == -1, "big");

    /* the new routes refuse what they cannot run, by name of the route, before touching memory:
       tap by tap (dX) needs stride 1; FFT tiles (dW) dilation 1, one group and, strided, a kernel
       wider than the stride */
    {
        c4j_conv2d_desc r;
        char e2[256];
        t_dense_desc(&r, 1, 9, 9, 4, 5, 5, 4, 1, 2, 2, 1, 1, 2, 2, 2, 2);
        T_CHECK(c4j_conv2d_backward_input_units(&r, C4J_BWD_TAPS) == 0 &&
                    c4j_conv2d_backward_input_estimate_seconds(&r, C4J_BWD_TAPS) < 0 &&
                    c4j_conv2d_backward_input_prepare(&r, C4J_BWD_TAPS, f, gw, e2, sizeof e2) == C4J_ERR_UNSUPPORTED &&
                    c4j_conv2d_backward_input(real_blas, &r, C4J_BWD_TAPS, dy, f, dx, NULL, 0, 0, 1, e2, sizeof e2) ==
                        C4J_ERR_UNSUPPORTED && strstr(e2, "route 17") != NULL,
                "taps: strided refused (%s)", e2);
        T_CHECK(c4j_conv2d_backward_filter_units(&r, C4J_ALGO_FFT) > 0, "fft dW: 5x5/2 runs (space to depth, 3x3 taps)");
        t_dense_desc(&r, 1, 9, 9, 4, 2, 2, 4, 1, 2, 2, 1, 1, 0, 0, 0, 0);
        T_CHECK(c4j_conv2d_backward_filter_units(&r, C4J_ALGO_FFT) == 0, "fft dW: 2x2/2 refused (1x1 after space to depth)");
        t_dense_desc(&r, 1, 9, 9, 4, 3, 3, 4, 1, 1, 1, 2, 2, 2, 2, 2, 2);
        T_CHECK(c4j_conv2d_backward_filter_units(&r, C4J_ALGO_FFT) == 0 && c4j_conv2d_backward_input_units(&r, C4J_BWD_TAPS) > 0,
                "fft dW: dilated refused, taps runs it");
        t_dense_desc(&r, 1, 9, 9, 4, 5, 5, 4, 2, 1, 1, 1, 1, 2, 2, 2, 2);
        T_CHECK(c4j_conv2d_backward_filter_units(&r, C4J_ALGO_FFT) == 0 &&
                    c4j_conv2d_backward_filter_estimate_seconds(&r, C4J_ALGO_FFT) < 0 &&
                    c4j_conv2d_backward_filter(real_blas, &r, C4J_ALGO_FFT, x, dy, gw, NULL, NULL, 0, NULL, 0, 0, 1, e2,
                                               sizeof e2) == C4J_ERR_UNSUPPORTED && strstr(e2, "route 5") != NULL,
                "fft dW: groups refused (%s)", e2);
    }

    /* activation derivative */
    float y[6] = {-1.0f, 0.0f, 0.5f, 5.9f, 6.0f, 7.0f}, g[6] = {1, 2, 3, 4, 5, 6}, o[6];
    T_CHECK(c4j_activation_backward(C4J_ACT_RELU, y, g, o, 6, err, sizeof err) == C4J_OK, "relu");
    T_CHECK(o[0] == 0 && o[1] == 0 && o[2] == 3 && o[3] == 4 && o[4] == 5 && o[5] == 6, "relu values");
    T_CHECK(c4j_activation_backward(C4J_ACT_RELU6, y, g, o, 6, err, sizeof err) == C4J_OK, "relu6");
    T_CHECK(o[0] == 0 && o[1] == 0 && o[2] == 3 && o[3] == 4 && o[4] == 0 && o[5] == 0, "relu6 values");
    T_CHECK(c4j_activation_backward(C4J_ACT_NONE, NULL, g, o, 6, err, sizeof err) == C4J_OK && o[5] == 6, "none");
    T_CHECK(c4j_activation_backward(C4J_ACT_RELU, y, g, g, 6, err, sizeof err) == C4J_OK && g[0] == 0 && g[2] == 3, "in place");
    T_CHECK(c4j_activation_backward(9, y, g, o, 6, err, sizeof err) == C4J_ERR_ARG, "unknown");
    T_CHECK(c4j_activation_backward(C4J_ACT_RELU, NULL, g, o, 6, err, sizeof err) == C4J_ERR_ARG, "null out");
}

int main(void) {
    real_blas = t_blas();
    uint64_t rng = 424242;
    for (int i = 0; i < 700; i++) run_case(&rng, i);
    refusals();
    scatter_unit_counts();
    layer_cases();
    printf("%d cases (%d strided, %d with a strided input-gradient view, %d filter gradients split into pixel ranges)\n",
           cases_run, stride_cases, strided_dx_cases, split_cases);
    printf("input gradient by forward algorithm: %d direct, %d tiled, %d winograd 2x2, %d winograd 4x4, %d fft, "
           "%d grouped direct; by scatter: %d; tap by tap: %d; filter gradient by winograd: %d 2x2, %d 4x4, by grouped direct: %d, by fft: %d, "
           "by the direct kernel: %d\n",
           input_route_cases[1], input_route_cases[2], input_route_cases[3], input_route_cases[4], input_route_cases[5],
           input_route_cases[6], input_route_cases[C4J_BWD_SCATTER], input_route_cases[C4J_BWD_TAPS], filter_route_cases[3], filter_route_cases[4],
           filter_route_cases[6], filter_route_cases[C4J_ALGO_FFT], filter_route_cases[C4J_ALGO_DIRECT_DENSE]);
    T_CHECK(input_route_cases[C4J_BWD_SCATTER] > 400, "too few scatter cases");
    T_CHECK(input_route_cases[C4J_BWD_TAPS] > 150, "too few tap-wise cases");
    for (int r = 1; r <= 6; r++) T_CHECK(input_route_cases[r] > 10, "too few input-gradient cases of route %d", r);
    for (int r = 3; r <= 6; r++)
        T_CHECK(filter_route_cases[r] > (r == C4J_ALGO_FFT ? 30 : 50), "too few filter-gradient cases of route %d", r);
    T_CHECK(filter_route_cases[C4J_ALGO_DIRECT_DENSE] > 400, "too few direct filter-gradient cases: %d",
            filter_route_cases[C4J_ALGO_DIRECT_DENSE]);
    printf("filter gradient by fused winograd: %d\n", filter_route_cases[C4J_BWD_WINOGRAD_FUSED]);
    T_CHECK(filter_route_cases[C4J_BWD_WINOGRAD_FUSED] > 30, "too few fused winograd filter-gradient cases: %d",
            filter_route_cases[C4J_BWD_WINOGRAD_FUSED]);
    printf("filter gradient by fft on strided layers (space to depth): %d\n", fft_filter_strided_cases);
    printf("input gradient on strided layers (space to depth): %d winograd 2x2, %d winograd 4x4, %d fft\n",
           strided_transform_dx_cases[C4J_ALGO_WINOGRAD_2X2], strided_transform_dx_cases[C4J_ALGO_WINOGRAD_4X4],
           strided_transform_dx_cases[C4J_ALGO_FFT]);
    T_CHECK(strided_transform_dx_cases[C4J_ALGO_WINOGRAD_4X4] > 3, "too few strided winograd input gradients");
    T_CHECK(strided_transform_dx_cases[C4J_ALGO_FFT] > 20, "too few strided fft input gradients: %d",
            strided_transform_dx_cases[C4J_ALGO_FFT]);
    T_CHECK(fft_filter_strided_cases > 20, "too few strided fft filter gradients: %d", fft_filter_strided_cases);
    T_CHECK(split_cases > 30, "too few split filter gradients: %d", split_cases);
    T_CHECK(split_prepare_cases[0] >= 3 && split_prepare_cases[1] >= 1, "too few split preparations: %d Winograd, %d FFT",
            split_prepare_cases[0], split_prepare_cases[1]);
    T_CHECK(cases_run > 400, "too few cases: %d", cases_run);
    T_CHECK(stride_cases > 150, "too few strided cases: %d", stride_cases);
    T_CHECK(c4j_allocated_bytes() == 0, "%lld bytes still allocated", (long long)c4j_allocated_bytes());
    if (t_failures) fprintf(stderr, "%d failures\n", t_failures);
    return t_failures ? 1 : 0;
}
