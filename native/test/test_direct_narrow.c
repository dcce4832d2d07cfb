/*
 * The narrow direct kernel (direct_narrow.c) of every instruction set this machine has, against the
 * plain double reference over random geometries: 1 to 16 output channels (full and partial
 * vectors of 8 and 16 lanes), few and many input channels, 1x1 to 7x7 kernels, strides,
 * dilations, paddings wider than the kernel, flip, bias, activations, input views with gaps or
 * channels first, output views with gaps or channel planes (channels first, also with gaps between
 * the planes), rows of every tile width. Nothing outside the output
 * view may be written, and any split of the units must give the same bits (widths may differ in
 * rounding: the vector builds contract each multiply-add into one FMA, the portable one need not).
 * Includes direct_narrow.c to reach the per-width kernels.
 */
#include <math.h>
#include <string.h>

#include "../src/direct_narrow.c"
#include "testlib.h"

enum { GUARD = 29 };

/* Runs d on every instruction set this machine has, all units at once and unit by unit. */
static void check(const c4j_conv2d_desc *d, uint64_t *rng, const char *what) {
    const int64_t in_dim[4] = {d->batch, d->in_h, d->in_w, d->in_c};
    const int64_t out_dim[4] = {d->batch, d->out_h, d->out_w, d->out_c};
    const int64_t in_len = t_view_len(in_dim, d->in_stride), out_len = t_view_len(out_dim, d->out_stride);
    const int64_t f_len = c4j_filter_floats(d), p_len = dn_prepared_floats(d);
    float *in = malloc(sizeof(float) * (size_t)in_len), *f = malloc(sizeof(float) * (size_t)f_len);
    float *prep = malloc(sizeof(float) * (size_t)p_len), *bias = malloc(sizeof(float) * (size_t)d->out_c);
    float *mem = malloc(sizeof(float) * (size_t)(out_len + 2 * GUARD)), *out = mem + GUARD;
    float *first = malloc(sizeof(float) * (size_t)out_len);
    double *want = calloc((size_t)out_len, sizeof(double));
    float *ws = c4j_alloc((size_t)C4J_MAX(dn_workspace(d), 4), 0);
    if (!in || !f || !prep || !bias || !mem || !first || !want || !ws) {
        T_CHECK(0, "%s: out of memory", what);
        exit(1);
    }
    t_fill(in, in_len, rng);
    t_fill(f, f_len, rng);
    t_fill(bias, d->out_c, rng);
    t_reference(d, in, f, bias, want);
    dn_prepare(d, f, prep);
    const int64_t units = dn_units(d);
    for (int isa = 0; isa <= c4j_cpu_vector_tier(); isa++) {
        for (int split = 0; split < 2; split++) {
            for (int64_t i = 0; i < out_len + 2 * GUARD; i++) mem[i] = NAN;
            if (split == 0) {
                run_isa(isa, d, in, prep, bias, out, ws, 0, units);
            } else { /* unit by unit, backwards */
                for (int64_t u = units - 1; u >= 0; u--) run_isa(isa, d, in, prep, bias, out, ws, u, u + 1);
            }
            const double worst = t_check_output_view(d, mem, GUARD, out_len, want, what, isa);
            T_CHECK(worst < 2e-6 * (double)(d->kernel_h * d->kernel_w * d->in_c), "%s isa %d split %d: error %g", what,
                    isa, split, worst);
            if (split == 0) memcpy(first, out, sizeof(float) * (size_t)out_len);
            else T_CHECK(memcmp(first, out, sizeof(float) * (size_t)out_len) == 0, "%s isa %d: unit split changed bits",
                         what, isa);
        }
    }
    free(in), free(f), free(prep), free(bias), free(mem), free(first), free(want);
    c4j_free(ws);
}

static void random_case(uint64_t *rng, int i) {
    c4j_conv2d_desc d;
    const int64_t kh = i % 4 == 0 ? 1 : t_rand_range(rng, 1, 7), kw = i % 4 == 0 ? 1 : t_rand_range(rng, 1, 7);
    const int64_t sh = t_rand_range(rng, 1, 3), sw = t_rand_range(rng, 1, 3);
    const int64_t dh = t_rand_range(rng, 1, 2), dw = t_rand_range(rng, 1, 2);
    const int64_t cin = t_rand_range(rng, 1, i % 8 == 0 ? 40 : 5), cout = t_rand_range(rng, 1, DN_MAX_COUT);
    const int64_t h = t_rand_range(rng, 1, 20), w = t_rand_range(rng, 1, 40);
    const int64_t eh = (kh - 1) * dh + 1, ew = (kw - 1) * dw + 1;
    const int64_t pt = t_rand_range(rng, 0, eh), pl = t_rand_range(rng, 0, ew);
    const int64_t pb = t_rand_range(rng, 0, eh), pr = t_rand_range(rng, 0, ew);
    if (h + pt + pb < eh || w + pl + pr < ew) return;
    t_dense_desc(&d, t_rand_range(rng, 1, 3), h, w, cin, kh, kw, cout, 1, sh, sw, dh, dw, pt, pb, pl, pr);
    d.flip = t_rand_range(rng, 0, 1);
    d.has_bias = t_rand_range(rng, 0, 1);
    d.activation = t_rand_range(rng, 0, 2);
    if (i % 5 == 4) { /* input pixels and rows with gaps, an output with gaps between pixels */
        d.in_stride[2] = cin + 3, d.in_stride[1] = d.in_stride[2] * w + 2, d.in_stride[0] = d.in_stride[1] * h;
        d.out_stride[2] = cout + 5, d.out_stride[1] = d.out_stride[2] * d.out_w + 1,
        d.out_stride[0] = d.out_stride[1] * d.out_h;
    } else if (i % 5 == 3) { /* channels first: the input's channel planes */
        d.in_stride[2] = 1, d.in_stride[1] = w, d.in_stride[3] = h * w, d.in_stride[0] = cin * h * w;
    }
    if (i % 5 == 3 || i % 5 == 2) { /* channels-first output: channel planes, every other case with gaps between
                                       them and between images (a channel slice of a wider NCHW tensor) */
        const int64_t gap = i % 10 < 5 ? 0 : 3;
        /* and in one case of four, gaps between the rows too (a crop of wider planes): the planes are
           then written row by row, not as one run per band */
        d.out_stride[2] = 1, d.out_stride[1] = d.out_w + (i % 20 < 10 ? 0 : 2);
        const int64_t plane = d.out_h * d.out_stride[1] + gap;
        d.out_stride[3] = plane, d.out_stride[0] = (cout + 1) * plane;
    }
    T_CHECK(dn_applies(&d), "narrow layer not applicable");
    char what[200];
    snprintf(what, sizeof what, "n%lld %lldx%lld c%lld->%lld k%lldx%lld s%lldx%lld d%lldx%lld p%lld,%lld,%lld,%lld flip%lld bias%lld act%lld",
             (long long)d.batch, (long long)h, (long long)w, (long long)cin, (long long)cout, (long long)kh,
             (long long)kw, (long long)sh, (long long)sw, (long long)dh, (long long)dw, (long long)pt, (long long)pb,
             (long long)pl, (long long)pr, (long long)d.flip, (long long)d.has_bias, (long long)d.activation);
    check(&d, rng, what);
}

/* the public entry point: applicability, the estimate, and NaN through the activation */
static void entry_point(void) {
    c4j_conv2d_desc d;
    t_dense_desc(&d, 1, 5, 5, 3, 3, 3, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    T_CHECK(c4j_conv2d_supports(&d, C4J_ALGO_DIRECT_NARROW) == C4J_OK, "narrow layer not supported");
    T_CHECK(c4j_conv2d_estimate_seconds(&d, C4J_ALGO_DIRECT_NARROW, 0) > 0, "no estimate");
    c4j_conv2d_desc g;
    t_dense_desc(&g, 1, 5, 5, 4, 3, 3, 8, 2, 1, 1, 1, 1, 1, 1, 1, 1);
    T_CHECK(c4j_conv2d_supports(&g, C4J_ALGO_DIRECT_NARROW) != C4J_OK, "grouped layer accepted");
    t_dense_desc(&g, 1, 5, 5, 4, 3, 3, DN_MAX_COUT + 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    T_CHECK(c4j_conv2d_supports(&g, C4J_ALGO_DIRECT_NARROW) != C4J_OK, "wide layer accepted");
    /* a channels-first output (channel planes): this route writes it, the channels-last ones do not */
    t_dense_desc(&g, 1, 5, 5, 3, 3, 3, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    g.out_stride[2] = 1, g.out_stride[1] = g.out_w, g.out_stride[3] = g.out_h * g.out_w, g.out_stride[0] = 8 * g.out_h * g.out_w;
    T_CHECK(c4j_conv2d_supports(&g, C4J_ALGO_DIRECT_NARROW) == C4J_OK, "channel planes refused");
    T_CHECK(c4j_conv2d_supports(&g, C4J_ALGO_GEMM_TILED) != C4J_OK, "channel planes accepted by a channels-last route");
    /* NaN in the input stays NaN through ReLU6, and ReLU6 caps */
    d.activation = C4J_ACT_RELU6;
    float in[75], f[216], out[200], prep[1024], ws[1024];
    for (int i = 0; i < 75; i++) in[i] = 0.5f;
    for (int i = 0; i < 216; i++) f[i] = 1.0f;
    in[3 * 12] = NAN; /* pixel (2, 2) */
    T_CHECK(dn_prepared_floats(&d) <= 1024 && stage_floats(&d) <= 1024, "prepared size");
    dn_prepare(&d, f, prep);
    for (int isa = 0; isa <= c4j_cpu_vector_tier(); isa++) {
        run_isa(isa, &d, in, prep, NULL, out, ws, 0, dn_units(&d));
        T_CHECK(isnan(out[(2 * 5 + 2) * 8]), "isa %d: NaN lost through ReLU6", isa);
        T_CHECK(out[0] == 6.0f, "isa %d: ReLU6 did not cap: %g", isa, out[0]);
    }
}

int main(void) {
    uint64_t rng = 0x5eed1234abcdull;
    entry_point();
    for (int i = 0; i < 400; i++) random_case(&rng, i);
    T_CHECK(c4j_allocated_bytes() == 0, "%lld bytes still allocated", (long long)c4j_allocated_bytes());
    if (t_failures) fprintf(stderr, "%d failures\n", t_failures);
    else printf("direct_narrow: all cases pass\n");
    return t_failures ? 1 : 0;
}
