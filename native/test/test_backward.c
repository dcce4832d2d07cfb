/*
 * Backward pass (input, filter and bias gradients) against a plain double reference, over random
 * geometries (strides, dilations, padding, groups, flipped kernel) and strided views of the
 * input gradient and the output gradient. Every output buffer sits between canaries, and the
 * memory between the elements of a strided view must stay untouched too; all multiply-adds must
 * go through sgemm, none wasted on the zeros a strided transposed convolution inserts; and
 * running the units in any split gives bit-identical results.
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

static void run_case(uint64_t *rng, int case_no) {
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

    float *dx = guarded(in_len), *dx2 = guarded(in_len), *prep = guarded(f_len);
    float *gw = guarded(f_len), *gw2 = guarded(f_len), *gb = guarded(d.out_c), *gb2 = guarded(d.out_c);
    const int64_t parts_len = c4j_conv2d_backward_filter_partial_floats(&d);
    float *parts = guarded(parts_len), *parts2 = guarded(parts_len);
    char err[256];
    c4j_blas counting = *real_blas;
    counting.sgemm = counting_sgemm;

    /* ---- input gradient */
    T_CHECK(c4j_conv2d_check(&d, in_len, f_len, d.out_c, out_len, err, sizeof err) == C4J_OK, "%s", err);
    T_CHECK(c4j_conv2d_backward_input_prepared_floats(&d) == f_len, "prepared size");
    T_CHECK(c4j_conv2d_backward_input_prepare(&d, f, prep, err, sizeof err) == C4J_OK, "%s", err);
    for (int64_t i = -GUARD; i < 0; i++) T_CHECK(is_canary(&prep[i]) && is_canary(&prep[f_len - 1 - i]), "prepare wrote outside");
    const int64_t bx_units = c4j_conv2d_backward_input_units(&d);
    const int64_t bx_ws = c4j_conv2d_backward_input_workspace_bytes(&d);
    T_CHECK(n == 0 ? bx_units == 0 : bx_units >= 1, "input units %lld", (long long)bx_units);
    void *ws = c4j_alloc((size_t)bx_ws, 0);
    sgemm_macs = 0;
    c4j_status st = c4j_conv2d_backward_input(&counting, &d, dy, prep, dx, ws, bx_ws, 0, bx_units / 2, err, sizeof err);
    if (st == C4J_OK)
        st = c4j_conv2d_backward_input(&counting, &d, dy, prep, dx, ws, bx_ws, bx_units / 2, bx_units, err, sizeof err);
    T_CHECK(st == C4J_OK, "backward input: %s", err);
    double expect = 0;
    for (int64_t ih = 0; ih < h; ih++)
        for (int64_t iw = 0; iw < w; iw++)
            expect += (double)taps_reaching(ih, kh, sh, dh, pt) * taps_reaching(iw, kw, sw, dw, pl);
    expect *= (double)n * og * cg * groups;
    T_CHECK(sgemm_macs == expect, "case %d: input gradient did %.0f MACs, expected %.0f", case_no, sgemm_macs, expect);
    /* one unit per call, in reverse order: bit-identical */
    for (int64_t u = bx_units - 1; u >= 0; u--)
        T_CHECK(c4j_conv2d_backward_input(real_blas, &d, dy, prep, dx2, ws, bx_ws, u, u + 1, err, sizeof err) == C4J_OK,
                "%s", err);
    int bad = 0;
    int64_t *map = view_map(in_dim, d.in_stride, in_len);
    for (int64_t e = -GUARD; e < in_len + GUARD && bad < 3; e++) {
        const int64_t di = e >= 0 && e < in_len ? map[e] : -1;
        if (di < 0) {
            if (!is_canary(&dx[e]) || !is_canary(&dx2[e])) {
                bad++;
                T_CHECK(0, "case %d: input gradient written outside its view at %lld", case_no, (long long)e);
            }
            continue;
        }
        if (!(fabs(dx[e] - r.dx[di]) <= 1e-5 * (1 + r.sx[di]))) {
            bad++;
            T_CHECK(0, "case %d: dX (dense index %lld) got %g want %g", case_no, (long long)di, dx[e], r.dx[di]);
        }
        if (memcmp(&dx[e], &dx2[e], 4) != 0) {
            bad++;
            T_CHECK(0, "case %d: input gradient differs between unit splits", case_no);
        }
    }
    free(map);
    c4j_free(ws);

    /* ---- filter and bias gradients */
    const int64_t bw_units = c4j_conv2d_backward_filter_units(&d);
    const int64_t bw_ws = c4j_conv2d_backward_filter_workspace_bytes(&d);
    T_CHECK(bw_units >= d.groups, "filter units %lld", (long long)bw_units);
    T_CHECK(c4j_conv2d_check(&d, in_len, f_len, d.out_c, out_len, err, sizeof err) == C4J_OK, "%s", err);
    ws = c4j_alloc((size_t)bw_ws, 0);
    float *bias_out = d.has_bias ? gb : NULL, *bias_out2 = d.has_bias ? gb2 : NULL;
    const int64_t red_units = c4j_conv2d_backward_filter_reduce_units(&d);
    T_CHECK((parts_len == 0) == (red_units == 0), "partials %lld but %lld reduction units", (long long)parts_len,
            (long long)red_units);
    split_cases += parts_len > 0;
    sgemm_macs = 0;
    st = c4j_conv2d_backward_filter(&counting, &d, x, dy, gw, bias_out, parts, parts_len, ws, bw_ws, 0, bw_units / 3,
                                    err, sizeof err);
    if (st == C4J_OK)
        st = c4j_conv2d_backward_filter(&counting, &d, x, dy, gw, bias_out, parts, parts_len, ws, bw_ws, bw_units / 3,
                                        bw_units, err, sizeof err);
    if (st == C4J_OK)
        st = c4j_conv2d_backward_filter_reduce(&d, gw, bias_out, parts, parts_len, 0, red_units / 2, err, sizeof err);
    if (st == C4J_OK)
        st = c4j_conv2d_backward_filter_reduce(&d, gw, bias_out, parts, parts_len, red_units / 2, red_units, err, sizeof err);
    T_CHECK(st == C4J_OK, "backward filter: %s", err);
    expect = (double)n * d.out_h * d.out_w * kh * kw * cg * d.out_c;
    if (d.has_bias) expect += (double)n * d.out_h * d.out_w * d.out_c;
    T_CHECK(sgemm_macs == expect, "case %d: filter gradient did %.0f MACs, expected %.0f", case_no, sgemm_macs, expect);
    for (int64_t u = bw_units - 1; u >= 0; u--)
        T_CHECK(c4j_conv2d_backward_filter(real_blas, &d, x, dy, gw2, bias_out2, parts2, parts_len, ws, bw_ws, u, u + 1, err,
                                           sizeof err) == C4J_OK, "%s", err);
    for (int64_t u = red_units - 1; u >= 0; u--)
        T_CHECK(c4j_conv2d_backward_filter_reduce(&d, gw2, bias_out2, parts2, parts_len, u, u + 1, err, sizeof err) == C4J_OK,
                "%s", err);
    for (int64_t i = -GUARD; i < 0; i++)
        T_CHECK(is_canary(&parts[i]) && is_canary(&parts[parts_len - 1 - i]), "partial sums written outside");
    for (int64_t i = -GUARD; i < f_len + GUARD && bad < 6; i++) {
        if (i < 0 || i >= f_len) {
            if (!is_canary(&gw[i]) || !is_canary(&gw2[i])) { bad++; T_CHECK(0, "filter gradient written outside at %lld", (long long)i); }
            continue;
        }
        if (!(fabs(gw[i] - r.dw[i]) <= 1e-5 * (1 + r.sw[i]))) {
            bad++;
            T_CHECK(0, "case %d: dW[%lld] got %g want %g", case_no, (long long)i, gw[i], r.dw[i]);
        }
        if (memcmp(&gw[i], &gw2[i], 4) != 0) { bad++; T_CHECK(0, "case %d: filter gradient differs between splits", case_no); }
    }
    for (int64_t i = -GUARD; i < d.out_c + GUARD && bad < 9; i++) {
        if (i < 0 || i >= d.out_c || !d.has_bias) {
            if (!is_canary(&gb[i]) || !is_canary(&gb2[i])) { bad++; T_CHECK(0, "bias gradient written outside at %lld", (long long)i); }
            continue;
        }
        if (!(fabs(gb[i] - r.db[i]) <= 1e-5 * (1 + r.sb[i]))) {
            bad++;
            T_CHECK(0, "case %d: db[%lld] got %g want %g", case_no, (long long)i, gb[i], r.db[i]);
        }
        if (memcmp(&gb[i], &gb2[i], 4) != 0) { bad++; T_CHECK(0, "case %d: bias gradient differs between splits", case_no); }
    }
    /* bias gradient alone: the filter gradient and the input are not touched */
    if (d.has_bias) {
        refill(gb2, d.out_c);
        T_CHECK(c4j_conv2d_backward_filter(real_blas, &d, NULL, dy, NULL, gb2, parts2, parts_len, ws, bw_ws, 0, bw_units, err,
                                           sizeof err) == C4J_OK, "%s", err);
        T_CHECK(c4j_conv2d_backward_filter_reduce(&d, NULL, gb2, parts2, parts_len, 0, red_units, err, sizeof err) == C4J_OK,
                "%s", err);
        T_CHECK(memcmp(gb, gb2, sizeof(float) * (size_t)d.out_c) == 0, "case %d: bias gradient alone differs", case_no);
    }
    c4j_free(ws);

    free(x); free(f); free(dy);
    free(r.dx); free(r.sx); free(r.dw); free(r.sw); free(r.db); free(r.sb);
    guarded_free(dx); guarded_free(dx2); guarded_free(prep); guarded_free(gw); guarded_free(gw2);
    guarded_free(gb); guarded_free(gb2); guarded_free(parts); guarded_free(parts2);
}

static void refusals(void) {
    c4j_conv2d_desc d;
    char err[256];
    t_dense_desc(&d, 1, 6, 6, 2, 3, 3, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    d.has_bias = 1;
    float x[72], f[72], dy[144], dx[72], gw[72], gb[4];
    uint64_t rng = 7;
    t_fill(x, 72, &rng); t_fill(f, 72, &rng); t_fill(dy, 144, &rng);
    int64_t units = c4j_conv2d_backward_filter_units(&d), bytes = c4j_conv2d_backward_filter_workspace_bytes(&d);
    void *ws = c4j_alloc((size_t)bytes, 0);
    T_CHECK(c4j_conv2d_backward_filter(real_blas, &d, x, dy, gw, gb, NULL, 0, ws, bytes, 0, units + 1, err, sizeof err) == C4J_ERR_ARG, "range");
    T_CHECK(c4j_conv2d_backward_filter(real_blas, &d, x, dy, gw, gb, NULL, 0, ws, bytes - 1, 0, units, err, sizeof err) == C4J_ERR_ARG, "ws");
    T_CHECK(c4j_conv2d_backward_filter(real_blas, &d, x, dy, gw, NULL, NULL, 0, ws, bytes, 0, units, err, sizeof err) == C4J_ERR_ARG, "bias");
    T_CHECK(c4j_conv2d_backward_filter(real_blas, &d, NULL, dy, gw, gb, NULL, 0, ws, bytes, 0, units, err, sizeof err) == C4J_ERR_ARG, "in");
    c4j_blas none = {0};
    T_CHECK(c4j_conv2d_backward_filter(&none, &d, x, dy, gw, gb, NULL, 0, ws, bytes, 0, units, err, sizeof err) == C4J_ERR_BLAS, "blas");
    c4j_free(ws);
    /* a split filter gradient refuses missing or short partial sums */
    c4j_conv2d_desc big_rows;
    t_dense_desc(&big_rows, 4, 32, 32, 2, 3, 3, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    const int64_t pf = c4j_conv2d_backward_filter_partial_floats(&big_rows);
    T_CHECK(pf > 0 && c4j_conv2d_backward_filter_reduce_units(&big_rows) > 0, "expected a split");
    bytes = c4j_conv2d_backward_filter_workspace_bytes(&big_rows);
    ws = c4j_alloc((size_t)bytes, 0);
    float *bx = calloc(4 * 32 * 32 * 2, sizeof(float)), *bdy = calloc(4 * 32 * 32 * 4, sizeof(float));
    float *parts = calloc((size_t)pf, sizeof(float));
    units = c4j_conv2d_backward_filter_units(&big_rows);
    T_CHECK(c4j_conv2d_backward_filter(real_blas, &big_rows, bx, bdy, gw, NULL, parts, pf - 1, ws, bytes, 0, units, err,
                                       sizeof err) == C4J_ERR_BOUNDS, "short partials");
    T_CHECK(c4j_conv2d_backward_filter(real_blas, &big_rows, bx, bdy, gw, NULL, NULL, pf, ws, bytes, 0, units, err,
                                       sizeof err) == C4J_ERR_BOUNDS, "no partials");
    T_CHECK(c4j_conv2d_backward_filter_reduce(&big_rows, gw, NULL, parts, pf - 1, 0, 1, err, sizeof err) == C4J_ERR_BOUNDS,
            "short partials (reduce)");
    T_CHECK(c4j_conv2d_backward_filter_reduce(&big_rows, gw, NULL, parts, pf, 0, 99, err, sizeof err) == C4J_ERR_ARG,
            "reduce range");
    free(bx); free(bdy); free(parts);
    c4j_free(ws);
    units = c4j_conv2d_backward_input_units(&d);
    bytes = c4j_conv2d_backward_input_workspace_bytes(&d);
    ws = c4j_alloc((size_t)bytes, 0);
    T_CHECK(c4j_conv2d_backward_input(real_blas, &d, dy, f, dx, ws, bytes, -1, units, err, sizeof err) == C4J_ERR_ARG, "range");
    T_CHECK(c4j_conv2d_backward_input(real_blas, &d, dy, f, dx, (char *)ws + 4, bytes, 0, units, err, sizeof err) == C4J_ERR_ARG,
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
    T_CHECK(c4j_conv2d_backward_input_units(&big) == 0 && c4j_conv2d_backward_input_workspace_bytes(&big) == -1, "big");

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
    printf("%d cases (%d strided, %d with a strided input-gradient view, %d filter gradients split into pixel ranges)\n",
           cases_run, stride_cases, strided_dx_cases, split_cases);
    T_CHECK(split_cases > 30, "too few split filter gradients: %d", split_cases);
    T_CHECK(cases_run > 400, "too few cases: %d", cases_run);
    T_CHECK(stride_cases > 150, "too few strided cases: %d", stride_cases);
    T_CHECK(c4j_allocated_bytes() == 0, "%lld bytes still allocated", (long long)c4j_allocated_bytes());
    if (t_failures) fprintf(stderr, "%d failures\n", t_failures);
    return t_failures ? 1 : 0;
}
