/*
 * c4j_conv2d_backward_both (both gradients in one call) against the two calls it replaces,
 * c4j_conv2d_backward_filter then c4j_conv2d_backward_input (themselves checked against a double
 * reference by test_backward): on random small layers with strided views, bias, groups, flip, on
 * every route pair that can run them, all units in one range and one unit at a time in reverse
 * order, the whole buffers (gaps between view elements included, pre-filled with NaN) must hold
 * the same bits. A filter gradient with partial sums, or descriptors of two different
 * convolutions, must be refused (units 0, the call UNSUPPORTED) so the caller keeps the two calls.
 */
#include <string.h>

#include "testlib.h"

static int pairs_run, tiny_pairs, refused_layers, dense_dx_pairs;

static void nan_fill(float *p, int64_t n) {
    memset(p, 0xff, (size_t)n * sizeof(float)); /* a NaN pattern */
}

/* One route pair on d (the filter-gradient descriptor; the input-gradient one derived from it). */
static void check_pair(const c4j_conv2d_desc *df, const c4j_conv2d_desc *dip, int rf, int ri, const float *x,
                       const float *f, const float *dy, int64_t in_len, const char *name) {
    char err[256] = "";
    const c4j_conv2d_desc di = *dip;
    const int64_t units = c4j_conv2d_backward_both_units(df, rf, &di, ri);
    const int64_t uf = c4j_conv2d_backward_filter_units(df, rf), ui = c4j_conv2d_backward_input_units(&di, ri);
    const int pair = c4j_conv2d_backward_filter_partial_floats(df, rf) == 0;
    T_CHECK(units == (pair ? uf + ui : 0), "%s routes %d/%d: both units %lld", name, rf, ri, (long long)units);
    if (units <= 0) return;
    const c4j_blas *blas = t_blas();
    const int64_t f_len = df->kernel_h * df->kernel_w * (df->in_c / df->groups) * df->out_c;
    const int64_t pf = c4j_conv2d_backward_input_prepared_floats(&di, ri);
    const int64_t ws_bytes = c4j_conv2d_backward_both_workspace_bytes(df, rf, &di, ri);
    T_CHECK(ws_bytes >= c4j_conv2d_backward_filter_workspace_bytes(df, rf) &&
                ws_bytes >= c4j_conv2d_backward_input_workspace_bytes(&di, ri),
            "%s: workspace %lld", name, (long long)ws_bytes);
    float *prep = c4j_alloc((size_t)(pf > 0 ? pf : 1) * sizeof(float), 1);
    float *dw[3], *db[3], *dx[3];
    void *ws = c4j_alloc((size_t)(ws_bytes > 0 ? ws_bytes : 64), 0);
    for (int k = 0; k < 3; k++) {
        dw[k] = c4j_alloc((size_t)f_len * sizeof(float), 0);
        db[k] = c4j_alloc((size_t)df->out_c * sizeof(float), 0);
        dx[k] = c4j_alloc((size_t)in_len * sizeof(float), 0);
        if (dw[k] == NULL || db[k] == NULL || dx[k] == NULL) { fprintf(stderr, "out of memory\n"); exit(2); }
        nan_fill(dw[k], f_len);
        nan_fill(db[k], df->out_c);
        nan_fill(dx[k], in_len);
    }
    if (prep == NULL || ws == NULL) { fprintf(stderr, "out of memory\n"); exit(2); }
    if (pf > 0) T_CHECK(c4j_conv2d_backward_input_prepare(&di, ri, f, prep, err, sizeof err) == C4J_OK, "%s", err);
    const float *p = pf > 0 ? prep : f;
    float *bias0 = df->has_bias ? db[0] : NULL, *bias1 = df->has_bias ? db[1] : NULL, *bias2 = df->has_bias ? db[2] : NULL;
    /* the two-call path, as the Java side ran it before */
    T_CHECK(c4j_conv2d_backward_filter(blas, df, rf, x, dy, dw[0], bias0, NULL, 0, ws, ws_bytes, 0, uf, err, sizeof err) ==
                C4J_OK, "%s: filter: %s", name, err);
    T_CHECK(c4j_conv2d_backward_input(blas, &di, ri, dy, p, dx[0], ws, ws_bytes, 0, ui, err, sizeof err) == C4J_OK,
            "%s: input: %s", name, err);
    /* one call; an empty unit range writes nothing */
    T_CHECK(c4j_conv2d_backward_both(blas, df, rf, &di, ri, x, dy, dw[1], bias1, p, dx[1], ws, ws_bytes, 0, 0, err,
                                     sizeof err) == C4J_OK, "%s: empty range: %s", name, err);
    T_CHECK(c4j_conv2d_backward_both(blas, df, rf, &di, ri, x, dy, dw[1], bias1, p, dx[1], ws, ws_bytes, 0, units, err,
                                     sizeof err) == C4J_OK, "%s: both: %s", name, err);
    for (int64_t u = units - 1; u >= 0; u--)
        T_CHECK(c4j_conv2d_backward_both(blas, df, rf, &di, ri, x, dy, dw[2], bias2, p, dx[2], ws, ws_bytes, u, u + 1, err,
                                         sizeof err) == C4J_OK, "%s: unit %lld: %s", name, (long long)u, err);
    for (int k = 1; k < 3; k++) {
        T_CHECK(memcmp(dw[0], dw[k], (size_t)f_len * sizeof(float)) == 0, "%s routes %d/%d (%s): filter gradient bits differ",
                name, rf, ri, k == 1 ? "one range" : "unit by unit");
        T_CHECK(memcmp(db[0], db[k], (size_t)df->out_c * sizeof(float)) == 0, "%s routes %d/%d (%s): bias gradient bits differ",
                name, rf, ri, k == 1 ? "one range" : "unit by unit");
        T_CHECK(memcmp(dx[0], dx[k], (size_t)in_len * sizeof(float)) == 0, "%s routes %d/%d (%s): input gradient bits differ",
                name, rf, ri, k == 1 ? "one range" : "unit by unit");
    }
    /* the cheap checks of the call itself */
    T_CHECK(c4j_conv2d_backward_both(blas, df, rf, &di, ri, x, dy, dw[1], bias1, p, dx[1], ws, ws_bytes, 0, units + 1, err,
                                     sizeof err) == C4J_ERR_ARG, "%s: unit range past the end accepted", name);
    T_CHECK(c4j_conv2d_backward_both(blas, df, rf, &di, ri, x, dy, NULL, bias1, p, dx[1], ws, ws_bytes, 0, units, err,
                                     sizeof err) == C4J_ERR_ARG, "%s: no filter gradient accepted", name);
    pairs_run++;
    dense_dx_pairs += memcmp(di.in_stride, df->in_stride, sizeof di.in_stride) != 0;
    if (!strcmp(name, "tiny_3x3_8x8x4")) tiny_pairs++;
    for (int k = 0; k < 3; k++) {
        c4j_free(dw[k]);
        c4j_free(db[k]);
        c4j_free(dx[k]);
    }
    c4j_free(prep);
    c4j_free(ws);
}

/* Every route pair that can run df (AUTO included). */
/* dense_dx: the input gradient dense while the input is a strided view (as a caller's fresh gradient) */
static void check_layer(const c4j_conv2d_desc *df, int dense_dx, uint64_t *rng, const char *name) {
    const int64_t in_dim[4] = {df->batch, df->in_h, df->in_w, df->in_c};
    const int64_t out_dim[4] = {df->batch, df->out_h, df->out_w, df->out_c};
    const int64_t in_len = t_view_len(in_dim, df->in_stride), out_len = t_view_len(out_dim, df->out_stride);
    const int64_t f_len = df->kernel_h * df->kernel_w * (df->in_c / df->groups) * df->out_c;
    float *x = malloc(sizeof(float) * (size_t)in_len), *f = malloc(sizeof(float) * (size_t)f_len);
    float *dy = malloc(sizeof(float) * (size_t)out_len);
    if (x == NULL || f == NULL || dy == NULL) { fprintf(stderr, "out of memory\n"); exit(2); }
    t_fill(x, in_len, rng); t_fill(f, f_len, rng); t_fill(dy, out_len, rng);
    c4j_conv2d_desc di = *df;
    di.has_bias = 0;
    if (dense_dx) {
        di.in_stride[3] = 1; di.in_stride[2] = df->in_c; di.in_stride[1] = df->in_w * df->in_c;
        di.in_stride[0] = df->in_h * df->in_w * df->in_c;
    }
    const int64_t dx_len = t_view_len(in_dim, di.in_stride);
    int any = 0;
    for (int rf = C4J_BWD_AUTO; rf <= C4J_BWD_TAPS; rf++) {
        if (c4j_conv2d_backward_filter_units(df, rf) <= 0) continue;
        for (int ri = C4J_BWD_AUTO; ri <= C4J_BWD_TAPS; ri++) {
            if (c4j_conv2d_backward_input_units(&di, ri) <= 0) continue;
            check_pair(df, &di, rf, ri, x, f, dy, dx_len, name);
            any |= c4j_conv2d_backward_both_units(df, rf, &di, ri) > 0;
        }
    }
    refused_layers += !any;
    free(x); free(f); free(dy);
}

static void random_layer(uint64_t *rng, int case_no) {
    c4j_conv2d_desc d;
    int64_t n = t_rand_range(rng, 1, 2), h = t_rand_range(rng, 1, 10), w = t_rand_range(rng, 1, 10);
    int64_t groups = t_rand_range(rng, 1, 2), cg = t_rand_range(rng, 1, 6), og = t_rand_range(rng, 1, 9);
    int64_t k = t_rand_range(rng, 1, 3), s = t_rand_range(rng, 1, 2), dil = case_no % 7 == 3 ? 2 : 1;
    int64_t pad = t_rand_range(rng, 0, 1);
    if (case_no % 3 == 0) { k = 3; s = 1; dil = 1; pad = 1; }
    if (h + 2 * pad < (k - 1) * dil + 1 || w + 2 * pad < (k - 1) * dil + 1) return;
    t_dense_desc(&d, n, h, w, groups * cg, k, k, groups * og, groups, s, s, dil, dil, pad, pad, pad, pad);
    d.flip = case_no % 4 == 1;
    d.has_bias = case_no % 2;
    if (case_no % 5 == 2) { /* padded input and input-gradient views, a channel slice of a wider dY */
        d.in_stride[2] = d.in_c + 2; d.in_stride[1] = w * d.in_stride[2] + 1; d.in_stride[0] = h * d.in_stride[1] + 3;
        d.out_stride[2] = d.out_c + 1; d.out_stride[1] = d.out_w * d.out_stride[2]; d.out_stride[0] = d.out_h * d.out_stride[1] + 2;
    }
    char name[32];
    snprintf(name, sizeof name, "random %d", case_no);
    check_layer(&d, case_no % 10 == 2, rng, name);
}

/* Two descriptors of different convolutions, and a layer of many units: refused. */
static void refusals(uint64_t *rng) {
    char err[256];
    c4j_conv2d_desc df, di;
    t_dense_desc(&df, 1, 8, 8, 4, 3, 3, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    di = df;
    T_CHECK(c4j_conv2d_backward_both_units(&df, C4J_BWD_AUTO, &di, C4J_BWD_AUTO) ==
                c4j_conv2d_backward_filter_units(&df, C4J_BWD_AUTO) + c4j_conv2d_backward_input_units(&di, C4J_BWD_AUTO),
            "tiny: not a pair");
    di.out_c = 4;
    T_CHECK(c4j_conv2d_backward_both_units(&df, C4J_BWD_AUTO, &di, C4J_BWD_AUTO) == 0, "different convolutions accepted");
    di = df;
    di.has_bias = 1;
    T_CHECK(c4j_conv2d_backward_both_units(&df, C4J_BWD_AUTO, &di, C4J_BWD_AUTO) == 0, "input gradient with a bias accepted");
    di = df;
    di.batch = df.batch = 0;
    T_CHECK(c4j_conv2d_backward_both_units(&df, C4J_BWD_AUTO, &di, C4J_BWD_AUTO) == 0, "empty batch accepted");
    T_CHECK(c4j_conv2d_backward_both(t_blas(), &df, C4J_BWD_AUTO, &di, C4J_BWD_AUTO, NULL, NULL, NULL, NULL, NULL, NULL,
                                     NULL, 0, 0, 1, err, sizeof err) == C4J_ERR_UNSUPPORTED, "empty batch run");
    /* a filter gradient split into pixel ranges with partial sums */
    t_dense_desc(&df, 1, 8, 8, 4, 3, 3, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    di = df;
    T_CHECK(c4j_conv2d_backward_filter_partial_floats(&df, C4J_ALGO_FFT) > 0, "no partial sums to refuse");
    T_CHECK(c4j_conv2d_backward_both_units(&df, C4J_ALGO_FFT, &di, C4J_BWD_AUTO) == 0, "partial sums accepted");
    T_CHECK(c4j_conv2d_backward_both_workspace_bytes(&df, C4J_ALGO_FFT, &di, C4J_BWD_AUTO) == -1, "workspace of a refused pair");
    (void)rng;
}

int main(void) {
    uint64_t rng = 77031;
    c4j_conv2d_desc tiny;
    t_dense_desc(&tiny, 1, 8, 8, 4, 3, 3, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1); /* tiny_3x3_8x8x4, SAME */
    check_layer(&tiny, 0, &rng, "tiny_3x3_8x8x4");
    tiny.has_bias = 1;
    check_layer(&tiny, 0, &rng, "tiny_3x3_8x8x4");
    for (int i = 0; i < 300; i++) random_layer(&rng, i);
    refusals(&rng);
    printf("%d route pairs run as one call (%d on tiny_3x3_8x8x4, %d with the input gradient's view unlike the input's), "
           "%d random layers with no such pair\n", pairs_run, tiny_pairs, dense_dx_pairs, refused_layers);
    T_CHECK(tiny_pairs >= 20, "too few route pairs on tiny: %d", tiny_pairs);
    T_CHECK(dense_dx_pairs > 100, "too few pairs with an input-gradient view unlike the input's: %d", dense_dx_pairs);
    T_CHECK(pairs_run > 500, "too few route pairs: %d", pairs_run);
    T_CHECK(c4j_allocated_bytes() == 0, "%lld bytes still allocated", (long long)c4j_allocated_bytes());
    if (t_failures) fprintf(stderr, "%d failures\n", t_failures);
    return t_failures ? 1 : 0;
}
