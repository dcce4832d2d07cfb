/*
 * The N-d engine (rank 1-3, float32 and float64) against a plain double loop reference: forward
 * with bias and activation, the input gradient, the filter and bias gradients, on random
 * geometries (strides, dilations, padding, groups, flip) and strided views, with canaries after
 * every written buffer; and the descriptor check on hostile fields.
 */
#include <math.h>
#include <string.h>

#include "conv4j_nd.h"
#include "testlib.h"

#define CANARY 7

typedef struct {
    c4j_nd_desc d;
    int64_t in_len, out_len, w_len;
} t_case;

static int64_t view_len(const int64_t *dims, const int64_t *strides) {
    int64_t r = 0;
    for (int i = 0; i < 5; i++) r += (dims[i] - 1) * strides[i];
    return r + 1;
}

static void dense_strides(const int64_t dims[5], int64_t pad_c, int64_t s[5]) {
    s[4] = 1;
    s[3] = dims[4] + pad_c;
    s[2] = s[3] * dims[3];
    s[1] = s[2] * dims[2];
    s[0] = s[1] * dims[1];
}

static void random_case(uint64_t *rng, int rank, int dtype, t_case *c) {
    c4j_nd_desc *d = &c->d;
    memset(d, 0, sizeof *d);
    d->rank = rank;
    d->dtype = dtype;
    d->batch = t_rand_range(rng, 1, 2);
    d->groups = t_rand_range(rng, 1, 3);
    d->in_c = d->groups * t_rand_range(rng, 1, 3);
    d->out_c = d->groups * t_rand_range(rng, 1, 3);
    for (int a = 0; a < 3; a++) {
        d->in_size[a] = d->kernel[a] = d->out_size[a] = d->stride[a] = d->dilation[a] = 1;
        if (a < 3 - rank) continue;
        d->in_size[a] = t_rand_range(rng, 1, rank == 3 ? 7 : 12);
        d->kernel[a] = t_rand_range(rng, 1, 3);
        d->stride[a] = t_rand_range(rng, 1, 2);
        d->dilation[a] = t_rand_range(rng, 1, 2);
        d->pad[a] = t_rand_range(rng, 0, 2);
        int64_t pad_end = t_rand_range(rng, 0, 2);
        int64_t ext = (d->kernel[a] - 1) * d->dilation[a] + 1, padded = d->in_size[a] + d->pad[a] + pad_end;
        if (padded < ext) {
            d->in_size[a] += ext - padded;
            padded = ext;
        }
        d->out_size[a] = (padded - ext) / d->stride[a] + 1;
    }
    d->flip = t_rand_range(rng, 0, 1);
    d->has_bias = t_rand_range(rng, 0, 1);
    d->activation = t_rand_range(rng, 0, 2);
    int64_t in_dims[5] = {d->batch, d->in_size[0], d->in_size[1], d->in_size[2], d->in_c};
    int64_t out_dims[5] = {d->batch, d->out_size[0], d->out_size[1], d->out_size[2], d->out_c};
    dense_strides(in_dims, t_rand_range(rng, 0, 1) * 2, d->in_stride);
    dense_strides(out_dims, t_rand_range(rng, 0, 1) * 3, d->out_stride);
    c->in_len = view_len(in_dims, d->in_stride);
    c->out_len = view_len(out_dims, d->out_stride);
    c->w_len = d->kernel[0] * d->kernel[1] * d->kernel[2] * (d->in_c / d->groups) * d->out_c;
}

/* element i of a buffer of dtype as double, and back */
static double get(const c4j_nd_desc *d, const void *p, int64_t i) {
    return d->dtype == C4J_F64 ? ((const double *)p)[i] : ((const float *)p)[i];
}
static void put(const c4j_nd_desc *d, void *p, int64_t i, double v) {
    if (d->dtype == C4J_F64) ((double *)p)[i] = v;
    else ((float *)p)[i] = (float)v;
}

/* Calls f(ctx, x index, w index, y index) for every multiply of the convolution. */
typedef void (*visit_fn)(void *ctx, int64_t xi, int64_t wi, int64_t yi);
static void visit(const c4j_nd_desc *d, visit_fn f, void *ctx) {
    int64_t cg = d->in_c / d->groups, cog = d->out_c / d->groups;
    for (int64_t n = 0; n < d->batch; n++)
        for (int64_t o0 = 0; o0 < d->out_size[0]; o0++)
            for (int64_t o1 = 0; o1 < d->out_size[1]; o1++)
                for (int64_t o2 = 0; o2 < d->out_size[2]; o2++)
                    for (int64_t k0 = 0; k0 < d->kernel[0]; k0++)
                        for (int64_t k1 = 0; k1 < d->kernel[1]; k1++)
                            for (int64_t k2 = 0; k2 < d->kernel[2]; k2++) {
                                int64_t o[3] = {o0, o1, o2}, k[3] = {k0, k1, k2}, xoff = n * d->in_stride[0], ok = 1;
                                for (int a = 0; a < 3; a++) {
                                    int64_t kk = d->flip ? d->kernel[a] - 1 - k[a] : k[a];
                                    int64_t i = o[a] * d->stride[a] - d->pad[a] + kk * d->dilation[a];
                                    if (i < 0 || i >= d->in_size[a]) ok = 0;
                                    xoff += i * d->in_stride[1 + a];
                                }
                                if (!ok) continue;
                                int64_t tap = (k0 * d->kernel[1] + k1) * d->kernel[2] + k2;
                                int64_t yoff = n * d->out_stride[0] + o0 * d->out_stride[1] + o1 * d->out_stride[2] +
                                               o2 * d->out_stride[3];
                                for (int64_t co = 0; co < d->out_c; co++) {
                                    int64_t g = co / cog;
                                    for (int64_t ci = 0; ci < cg; ci++)
                                        f(ctx, xoff + (g * cg + ci) * d->in_stride[4], (tap * cg + ci) * d->out_c + co,
                                          yoff + co * d->out_stride[4]);
                                }
                            }
}

typedef struct {
    const c4j_nd_desc *d;
    const void *x, *w, *y;
    double *acc, *mag;
    int which; /* 0: acc[y] += x w; 1: acc[x] += y w; 2: acc[w] += x y */
} t_ref;

static void ref_step(void *ctx, int64_t xi, int64_t wi, int64_t yi) {
    t_ref *r = ctx;
    double x = r->which == 1 ? 0 : get(r->d, r->x, xi), w = r->which == 2 ? 0 : get(r->d, r->w, wi);
    double y = r->which == 0 ? 0 : get(r->d, r->y, yi);
    int64_t at = r->which == 0 ? yi : r->which == 1 ? xi : wi;
    double p = r->which == 0 ? x * w : r->which == 1 ? y * w : x * y;
    r->acc[at] += p;
    r->mag[at] += fabs(p);
}

static void *alloc_random(const c4j_nd_desc *d, int64_t n, uint64_t *rng) {
    void *p = calloc((size_t)(n + CANARY), 8);
    for (int64_t i = 0; i < n; i++) put(d, p, i, (double)(t_rand(rng) % 2001) / 1000.0 - 1.0);
    for (int64_t i = n; i < n + CANARY; i++) put(d, p, i, 12345.0);
    return p;
}

static int check_close(const c4j_nd_desc *d, const void *got, const double *want, const double *mag, int64_t n,
                       const char *what, int64_t at_stride_check) {
    (void)at_stride_check;
    double tol = d->dtype == C4J_F64 ? 1e-12 : 1e-5;
    for (int64_t i = 0; i < n; i++) {
        double g = get(d, got, i);
        if (fabs(g - want[i]) > tol * (1 + mag[i])) {
            T_CHECK(0, "%s rank %lld dtype %lld: element %lld got %.17g want %.17g", what, (long long)d->rank,
                    (long long)d->dtype, (long long)i, g, want[i]);
            return 0;
        }
    }
    for (int64_t i = n; i < n + CANARY; i++) T_CHECK(get(d, got, i) == 12345.0, "%s canary %lld changed", what, (long long)i);
    return 1;
}

static void run_dir(const c4j_nd_desc *d, int dir, const void *a, const void *b, void *bias, void *c) {
    int algo = c4j_nd_choose(d, dir);
    T_CHECK(algo >= 0, "no algorithm for direction %d", dir);
    if (algo < 0) return;
    int64_t ws_bytes = c4j_nd_workspace_bytes(d, dir, algo), units = c4j_nd_units(d, dir, algo);
    void *ws = c4j_alloc((size_t)(ws_bytes > 0 ? ws_bytes : 64), 0);
    char err[256] = "";
    /* in two ranges, as two threads would */
    c4j_status st = c4j_nd_run(t_blas(), d, dir, algo, a, b, bias, c, ws, ws_bytes, 0, units / 2, err, sizeof err);
    if (st == C4J_OK) st = c4j_nd_run(t_blas(), d, dir, algo, a, b, bias, c, ws, ws_bytes, units / 2, units, err, sizeof err);
    T_CHECK(st == C4J_OK, "direction %d: %s", dir, err);
    c4j_free(ws);
}

static void one_case(uint64_t *rng, int rank, int dtype) {
    t_case c;
    random_case(rng, rank, dtype, &c);
    c4j_nd_desc *d = &c.d;
    T_CHECK(c4j_nd_check(d, c.in_len, c.w_len, d->out_c, c.out_len, NULL, 0) == C4J_OK, "check refused a valid case");
    void *x = alloc_random(d, c.in_len, rng), *w = alloc_random(d, c.w_len, rng), *b = alloc_random(d, d->out_c, rng);
    void *dy = alloc_random(d, c.out_len, rng);
    void *y = alloc_random(d, c.out_len, rng), *dx = alloc_random(d, c.in_len, rng);
    void *dw = alloc_random(d, c.w_len, rng), *db = alloc_random(d, d->out_c, rng);
    double *acc = calloc((size_t)(c.in_len + c.out_len + c.w_len), sizeof(double));
    double *mag = calloc((size_t)(c.in_len + c.out_len + c.w_len), sizeof(double));

    /* forward: y = act(conv + bias) on the view's elements; the gaps of a padded view keep their values */
    t_ref r = {d, x, w, NULL, acc, mag, 0};
    visit(d, ref_step, &r);
    int64_t out_dims[5] = {d->batch, d->out_size[0], d->out_size[1], d->out_size[2], d->out_c};
    double *want = calloc((size_t)c.out_len, sizeof(double));
    for (int64_t i = 0; i < c.out_len; i++) want[i] = get(d, y, i);
    for (int64_t n = 0; n < out_dims[0]; n++)
        for (int64_t p = 0; p < out_dims[1] * out_dims[2] * out_dims[3]; p++)
            for (int64_t co = 0; co < d->out_c; co++) {
                int64_t o2 = p % out_dims[3], o1 = (p / out_dims[3]) % out_dims[2], o0 = p / (out_dims[3] * out_dims[2]);
                int64_t i = n * d->out_stride[0] + o0 * d->out_stride[1] + o1 * d->out_stride[2] + o2 * d->out_stride[3] + co;
                double v = acc[i] + (d->has_bias ? get(d, b, co) : 0);
                if (d->activation != C4J_ACT_NONE && v < 0) v = 0;
                if (d->activation == C4J_ACT_RELU6 && v > 6) v = 6;
                want[i] = v;
            }
    run_dir(d, C4J_ND_FORWARD, x, w, b, y);
    check_close(d, y, want, mag, c.out_len, "forward", 0);

    /* input gradient: every element of the input view written, the gaps kept */
    memset(acc, 0, (size_t)c.in_len * sizeof(double));
    memset(mag, 0, (size_t)c.in_len * sizeof(double));
    t_ref ri = {d, NULL, w, dy, acc, mag, 1};
    visit(d, ref_step, &ri);
    int64_t in_dims[5] = {d->batch, d->in_size[0], d->in_size[1], d->in_size[2], d->in_c};
    double *want_dx = calloc((size_t)c.in_len, sizeof(double));
    for (int64_t i = 0; i < c.in_len; i++) want_dx[i] = get(d, dx, i);
    for (int64_t n = 0; n < in_dims[0]; n++)
        for (int64_t i0 = 0; i0 < in_dims[1]; i0++)
            for (int64_t i1 = 0; i1 < in_dims[2]; i1++)
                for (int64_t i2 = 0; i2 < in_dims[3]; i2++)
                    for (int64_t ci = 0; ci < d->in_c; ci++) {
                        int64_t i = n * d->in_stride[0] + i0 * d->in_stride[1] + i1 * d->in_stride[2] +
                                    i2 * d->in_stride[3] + ci;
                        want_dx[i] = acc[i];
                    }
    run_dir(d, C4J_ND_BACKWARD_INPUT, dy, w, NULL, dx);
    check_close(d, dx, want_dx, mag, c.in_len, "grad input", 0);

    /* filter and bias gradients */
    memset(acc, 0, (size_t)c.w_len * sizeof(double));
    memset(mag, 0, (size_t)c.w_len * sizeof(double));
    t_ref rw = {d, x, NULL, dy, acc, mag, 2};
    visit(d, ref_step, &rw);
    run_dir(d, C4J_ND_BACKWARD_FILTER, x, dy, db, dw);
    check_close(d, dw, acc, mag, c.w_len, "grad filter", 0);
    if (d->has_bias) {
        double want_db[64] = {0}, mag_db[64] = {0};
        for (int64_t n = 0; n < out_dims[0]; n++)
            for (int64_t p = 0; p < out_dims[1] * out_dims[2] * out_dims[3]; p++)
                for (int64_t co = 0; co < d->out_c; co++) {
                    int64_t o2 = p % out_dims[3], o1 = (p / out_dims[3]) % out_dims[2], o0 = p / (out_dims[3] * out_dims[2]);
                    double v = get(d, dy, n * d->out_stride[0] + o0 * d->out_stride[1] + o1 * d->out_stride[2] +
                                              o2 * d->out_stride[3] + co);
                    want_db[co] += v;
                    mag_db[co] += fabs(v);
                }
        check_close(d, db, want_db, mag_db, d->out_c, "grad bias", 0);
    }
    free(x); free(w); free(b); free(dy); free(y); free(dx); free(dw); free(db);
    free(acc); free(mag); free(want); free(want_dx);
}

static void hostile(void) {
    uint64_t rng = 99;
    t_case c;
    random_case(&rng, 3, C4J_F32, &c);
    c4j_nd_desc bad = c.d;
    bad.rank = 4;
    T_CHECK(c4j_nd_check(&bad, c.in_len, c.w_len, 64, c.out_len, NULL, 0) == C4J_ERR_ARG, "rank 4 accepted");
    bad = c.d;
    bad.dtype = 2;
    T_CHECK(c4j_nd_check(&bad, c.in_len, c.w_len, 64, c.out_len, NULL, 0) == C4J_ERR_ARG, "dtype 2 accepted");
    bad = c.d;
    bad.in_stride[0] = INT64_MAX / 2;
    T_CHECK(c4j_nd_check(&bad, c.in_len, c.w_len, 64, c.out_len, NULL, 0) != C4J_OK, "overflowing stride accepted");
    T_CHECK(c4j_nd_check(&c.d, c.in_len - 1, c.w_len, 64, c.out_len, NULL, 0) == C4J_ERR_BOUNDS, "short input accepted");
    T_CHECK(c4j_nd_check(&c.d, c.in_len, c.w_len - 1, 64, c.out_len, NULL, 0) == C4J_ERR_BOUNDS, "short filter accepted");
    T_CHECK(c4j_nd_check(&c.d, c.in_len, c.w_len, 64, c.out_len - 1, NULL, 0) == C4J_ERR_BOUNDS, "short output accepted");
    random_case(&rng, 1, C4J_F64, &c);
    bad = c.d;
    bad.in_size[0] = 2; /* unused axis at rank 1 */
    T_CHECK(c4j_nd_check(&bad, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, NULL, 0) == C4J_ERR_ARG,
            "unused axis of size 2 accepted");
    c4j_blas no_dgemm = *t_blas();
    no_dgemm.dgemm = NULL;
    char err[128];
    T_CHECK(c4j_nd_run(&no_dgemm, &c.d, C4J_ND_FORWARD, 0, &rng, &rng, &rng, &rng, NULL, 0, 0, 1, err, sizeof err) ==
                C4J_ERR_BLAS, "float64 ran without dgemm");
}

int main(void) {
    uint64_t rng = 12345;
    T_CHECK(t_blas()->dgemm != NULL, "OpenBLAS has cblas_dgemm");
    for (int i = 0; i < 60; i++) one_case(&rng, 1 + i % 3, (i / 3) % 2);
    hostile();
    if (t_failures) {
        fprintf(stderr, "test_nd: %d failures\n", t_failures);
        return 1;
    }
    printf("test_nd: ok\n");
    return 0;
}
