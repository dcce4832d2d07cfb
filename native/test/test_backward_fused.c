/*
 * The fused Winograd filter gradient (backward_winograd_fused.c) on every instruction set this
 * machine has, against a plain double reference: tails of the register block (input channels not
 * a multiple of 6) and of the output block (channels past 64, partial vectors), several input
 * chunks, groups, flip, asymmetric padding, a batch of two, the bias gradient, and a dW large and
 * aligned enough for the non-temporal stores next to the same dW misaligned (plain stores). All
 * units at once and unit by unit in reverse must give the same bits. test_backward checks the
 * route through the entry points with the others. Includes the route's file to reach its kernels.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../src/backward_winograd_fused.c"
#include "testlib.h"

typedef struct {
    const char *name;
    int64_t n, h, w, cin, cout, groups, pt, pb, pl, pr;
    int flip;
} layer;

/* dW (and the scale sum |x dy| of each element) and db in double, dW in the filter's HWIO order */
static void reference(const c4j_conv2d_desc *d, const float *x, const float *dy, double *dw, double *sw, double *db) {
    const int64_t cg = c4j_cin_g(d), og = c4j_cout_g(d);
    memset(dw, 0, sizeof(double) * (size_t)c4j_filter_floats(d));
    memset(sw, 0, sizeof(double) * (size_t)c4j_filter_floats(d));
    memset(db, 0, sizeof(double) * (size_t)d->out_c);
    for (int64_t n = 0; n < d->batch; n++)
        for (int64_t oh = 0; oh < d->out_h; oh++)
            for (int64_t ow = 0; ow < d->out_w; ow++) {
                const float *g = dy + n * d->out_stride[0] + oh * d->out_stride[1] + ow * d->out_stride[2];
                for (int64_t o = 0; o < d->out_c; o++) db[o] += g[o];
                for (int64_t kh = 0; kh < 3; kh++)
                    for (int64_t kw = 0; kw < 3; kw++) {
                        const int64_t ih = oh + kh - d->pad_top, iw = ow + kw - d->pad_left;
                        if (ih < 0 || ih >= d->in_h || iw < 0 || iw >= d->in_w) continue;
                        const int64_t tap = d->flip ? 8 - (3 * kh + kw) : 3 * kh + kw;
                        const float *xp = x + n * d->in_stride[0] + ih * d->in_stride[1] + iw * d->in_stride[2];
                        for (int64_t o = 0; o < d->out_c; o++) {
                            const int64_t gr = o / og;
                            for (int64_t c = 0; c < cg; c++) {
                                const double t = (double)xp[gr * cg + c] * g[o];
                                dw[(tap * cg + c) * d->out_c + o] += t;
                                sw[(tap * cg + c) * d->out_c + o] += fabs(t);
                            }
                        }
                    }
            }
}

/* max |dW - ref| / (1 + sum |terms|) of the sgemm Winograd route C4J_ALGO_WINOGRAD_4X4 */
static double sgemm_route_error(const c4j_conv2d_desc *d, const float *x, const float *dy, const double *rw,
                                const double *sw) {
    char err[256];
    const int route = C4J_ALGO_WINOGRAD_4X4;
    const int64_t ff = c4j_filter_floats(d), parts_len = c4j_conv2d_backward_filter_partial_floats(d, route);
    const int64_t ws = c4j_conv2d_backward_filter_workspace_bytes(d, route);
    float *dw = malloc(sizeof(float) * (size_t)ff), *parts = malloc(sizeof(float) * (size_t)(parts_len + 1));
    float *db = malloc(sizeof(float) * (size_t)d->out_c);
    void *work = aligned_alloc(64, (size_t)(ws + 63) / 64 * 64);
    T_CHECK(c4j_conv2d_backward_filter(t_blas(), d, route, x, dy, dw, db, parts, parts_len, work, ws, 0,
                                       c4j_conv2d_backward_filter_units(d, route), err, sizeof err) == C4J_OK &&
                c4j_conv2d_backward_filter_reduce(d, route, dw, db, parts, parts_len, 0,
                                                  c4j_conv2d_backward_filter_reduce_units(d, route), err,
                                                  sizeof err) == C4J_OK,
            "winograd_4x4: %s", err);
    double worst = 0;
    for (int64_t i = 0; i < ff; i++) worst = fmax(worst, fabs(dw[i] - rw[i]) / (1 + sw[i]));
    free(dw); free(db); free(parts); free(work);
    return worst;
}

static void check(const layer *l, uint64_t *rng) {
    c4j_conv2d_desc d;
    t_dense_desc(&d, l->n, l->h, l->w, l->cin, 3, 3, l->cout, l->groups, 1, 1, 1, 1, l->pt, l->pb, l->pl, l->pr);
    d.flip = l->flip;
    d.has_bias = 1;
    T_CHECK(fw_applies(&d), "%s: the fused route does not apply", l->name);
    if (!fw_applies(&d)) return;
    const int64_t in_len = d.batch * d.in_stride[0], out_len = d.batch * d.out_stride[0], ff = c4j_filter_floats(&d);
    const int64_t units = fw_units(&d), ws = fw_workspace(&d);
    float *x = malloc(sizeof(float) * (size_t)in_len), *dy = malloc(sizeof(float) * (size_t)out_len);
    /* dW at a 64-byte boundary (dwa) and 4 bytes past one (dwu) */
    float *dwa = aligned_alloc(64, (size_t)(ff + 16) * sizeof(float) / 64 * 64 + 64);
    float *mem = aligned_alloc(64, (size_t)(ff + 16) * sizeof(float) / 64 * 64 + 64), *dwu = mem + 1;
    float *first = malloc(sizeof(float) * (size_t)ff), *db = malloc(sizeof(float) * (size_t)d.out_c);
    void *work = aligned_alloc(64, (size_t)(ws + 63) / 64 * 64);
    double *rw = malloc(sizeof(double) * (size_t)ff), *sw = malloc(sizeof(double) * (size_t)ff);
    double *rb = malloc(sizeof(double) * (size_t)d.out_c);
    t_fill(x, in_len, rng);
    t_fill(dy, out_len, rng);
    reference(&d, x, dy, rw, sw, rb);
    /* the sgemm route of the same F(3x3, 4x4) on the same data: the error this one may reach. The
       margin covers summation orders that differ by kernel and platform (the portable kernel on
       aarch64, under qemu in .ci/run: 3.22e-6 against the sgemm route's 2.44e-6 on 4x4 256->256) */
    const double err4 = sgemm_route_error(&d, x, dy, rw, sw);
    const double bound = fmax(4e-6, 1.5 * err4);
    T_CHECK(bound < 1e-5, "%s: bound %.2e beyond the golden tolerance", l->name, bound);
    for (int isa = 0; isa <= c4j_cpu_vector_tier(); isa++) {
        for (int misaligned = 0; misaligned <= 1; misaligned++) {
            float *dw = misaligned ? dwu : dwa;
            memset(dw, 0x7f, sizeof(float) * (size_t)ff);
            run_isa(isa, t_blas(), &d, x, dy, dw, db, work, 0, units);
            double worst = 0, worst_b = 0;
            for (int64_t i = 0; i < ff; i++) worst = fmax(worst, fabs(dw[i] - rw[i]) / (1 + sw[i]));
            for (int64_t o = 0; o < d.out_c; o++) worst_b = fmax(worst_b, fabs(db[o] - rb[o]) / (1 + fabs(rb[o])));
            T_CHECK(worst < bound, "%s isa %d misaligned %d: dW error %.2e (sgemm route %.2e)", l->name, isa, misaligned,
                    worst, err4);
            T_CHECK(worst_b < 1e-5, "%s isa %d: db error %.2e", l->name, isa, worst_b);
            if (misaligned == 0) memcpy(first, dw, sizeof(float) * (size_t)ff);
            else T_CHECK(memcmp(first, dw, sizeof(float) * (size_t)ff) == 0, "%s isa %d: stores change bits", l->name, isa);
            memset(dw, 0x7f, sizeof(float) * (size_t)ff);
            for (int64_t u = units - 1; u >= 0; u--) run_isa(isa, t_blas(), &d, x, dy, dw, NULL, work, u, u + 1);
            T_CHECK(memcmp(first, dw, sizeof(float) * (size_t)ff) == 0, "%s isa %d: units change bits", l->name, isa);
            printf("  %-26s isa %d %-13s: %lld units, dW error %.1e (sgemm route %.1e)\n", l->name, isa,
                   misaligned ? "dW misaligned" : "dW aligned", (long long)units, worst, err4);
        }
    }
    free(x); free(dy); free(dwa); free(mem); free(first); free(db); free(work); free(rw); free(sw); free(rb);
}

int main(void) {
    static const layer L[] = {
        {"7x7 40->70 SAME", 1, 7, 7, 40, 70, 1, 1, 1, 1, 1, 0},
        {"b2 9x11 13->20 pads flip", 2, 9, 11, 13, 20, 1, 2, 0, 1, 2, 1},
        {"14x14 100->24 groups 2", 1, 14, 14, 100, 24, 2, 1, 1, 1, 1, 0},
        {"6x5 200->17 VALID", 1, 6, 5, 200, 17, 1, 0, 0, 0, 0, 0},
        /* dW of 2.25 MiB: the non-temporal stores where aligned */
        {"4x4 256->256 SAME", 1, 4, 4, 256, 256, 1, 1, 1, 1, 1, 1},
    };
    uint64_t rng = 77;
    for (size_t i = 0; i < sizeof L / sizeof L[0]; i++) check(&L[i], &rng);
    if (t_failures) fprintf(stderr, "%d failures\n", t_failures);
    else printf("backward_fused: all cases pass\n");
    return t_failures ? 1 : 0;
}
