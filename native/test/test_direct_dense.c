/*
 * The dense direct kernel (direct_dense.c) of every instruction set this machine has, against the
 * plain double reference over random geometries: input channels from 1 to over 100, output
 * channels that are no multiple of any vector width (narrow last passes, several blocks), 1x1 to
 * 7x7 kernels, strides, dilations, paddings wider than the kernel, flip, bias, activations,
 * output views with gaps, images with fewer pixels than a tile. Nothing outside the output view
 * may be written, and any split of the units must give the same bits. Includes direct_dense.c to
 * reach the per-width kernels.
 *
 * With arguments `bench [layers]` it times the kernel against its estimate on the peer harness's
 * layers (shapes.csv) instead (thread CPU time, one thread).
 */
#include <math.h>
#include <string.h>

#include "../src/direct_dense.c"
#include "testlib.h"

enum { GUARD = 37 };

static void check(const c4j_conv2d_desc *d, int isa, uint64_t *rng, const char *what) {
    const int64_t in_dim[4] = {d->batch, d->in_h, d->in_w, d->in_c};
    const int64_t out_dim[4] = {d->batch, d->out_h, d->out_w, d->out_c};
    const int64_t in_len = t_view_len(in_dim, d->in_stride), out_len = t_view_len(out_dim, d->out_stride);
    const int64_t f_len = c4j_filter_floats(d), p_len = dd_prepared_floats(d);
    float *in = malloc(sizeof(float) * (size_t)in_len), *f = malloc(sizeof(float) * (size_t)f_len);
    float *prep = malloc(sizeof(float) * (size_t)p_len);
    float *bias = malloc(sizeof(float) * (size_t)d->out_c);
    float *mem = malloc(sizeof(float) * (size_t)(out_len + 2 * GUARD)), *out = mem + GUARD;
    float *first = malloc(sizeof(float) * (size_t)out_len);
    double *want = calloc((size_t)out_len, sizeof(double));
    const int64_t ws_bytes = dd_workspace(d);
    float *ws = c4j_alloc((size_t)C4J_MAX(ws_bytes, 4), 0);
    if (!in || !f || !prep || !bias || !mem || !first || !want || !ws) {
        T_CHECK(0, "%s: out of memory", what);
        exit(1);
    }
    t_fill(in, in_len, rng);
    t_fill(f, f_len, rng);
    t_fill(bias, d->out_c, rng);
    t_reference(d, in, f, bias, want);
    dd_prepare(d, f, prep);
    const int64_t units = dd_units(d);
    for (int split = 0; split < 2; split++) {
        for (int64_t i = 0; i < out_len + 2 * GUARD; i++) mem[i] = NAN;
        if (split == 0) {
            run_isa(isa, d, in, prep, bias, out, ws, 0, units);
        } else { /* unit by unit, backwards */
            for (int64_t u = units - 1; u >= 0; u--) run_isa(isa, d, in, prep, bias, out, ws, u, u + 1);
        }
        for (int64_t i = 0; i < GUARD; i++) {
            T_CHECK(isnan(mem[i]) && isnan(mem[GUARD + out_len + i]), "%s isa %d: wrote outside the output", what, isa);
        }
        double worst = 0;
        int64_t written = 0;
        for (int64_t n = 0; n < d->batch; n++)
            for (int64_t oh = 0; oh < d->out_h; oh++)
                for (int64_t ow = 0; ow < d->out_w; ow++)
                    for (int64_t o = 0; o < d->out_c; o++) {
                        const int64_t e = n * d->out_stride[0] + oh * d->out_stride[1] + ow * d->out_stride[2] + o;
                        const double err = fabs((double)out[e] - want[e]) / (1.0 + fabs(want[e]));
                        if (!(err <= worst)) worst = err;
                        written++;
                    }
        int64_t touched = 0;
        for (int64_t i = 0; i < out_len; i++) touched += !isnan(out[i]);
        T_CHECK(touched == written, "%s isa %d: %lld elements written, %lld in the view", what, isa, (long long)touched,
                (long long)written);
        T_CHECK(worst < 2e-6 * (double)(d->kernel_h * d->kernel_w * d->in_c), "%s isa %d split %d: error %g", what,
                isa, split, worst);
        if (split == 0) memcpy(first, out, sizeof(float) * (size_t)out_len);
        else T_CHECK(memcmp(first, out, sizeof(float) * (size_t)out_len) == 0, "%s isa %d: unit split changed bits", what, isa);
    }
    free(in), free(f), free(prep), free(bias), free(mem), free(first), free(want);
    c4j_free(ws);
}

static int isa_available(int isa) {
    if (isa == 0) return 1;
#ifdef C4J_HAVE_X86_DD
    return best_isa() >= isa;
#else
    return 0;
#endif
}

static void random_case(uint64_t *rng, int i) {
    c4j_conv2d_desc d;
    const int64_t kh = i % 4 == 0 ? 1 : t_rand_range(rng, 1, 7), kw = i % 4 == 0 ? 1 : t_rand_range(rng, 1, 7);
    const int64_t sh = t_rand_range(rng, 1, 3), sw = t_rand_range(rng, 1, 3);
    const int64_t dh = t_rand_range(rng, 1, 2), dw = t_rand_range(rng, 1, 2);
    const int64_t cin = t_rand_range(rng, 1, i % 8 == 0 ? 130 : 40), cout = t_rand_range(rng, 1, i % 3 == 0 ? 100 : 40);
    const int64_t h = t_rand_range(rng, 1, 20), w = t_rand_range(rng, 1, 30);
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
    }
    T_CHECK(dd_applies(&d), "dense layer not applicable");
    char what[200];
    snprintf(what, sizeof what, "n%lld %lldx%lld c%lld->%lld k%lldx%lld s%lldx%lld d%lldx%lld p%lld,%lld,%lld,%lld flip%lld bias%lld act%lld",
             (long long)d.batch, (long long)h, (long long)w, (long long)cin, (long long)cout, (long long)kh,
             (long long)kw, (long long)sh, (long long)sw, (long long)dh, (long long)dw, (long long)pt, (long long)pb,
             (long long)pl, (long long)pr, (long long)d.flip, (long long)d.has_bias, (long long)d.activation);
    for (int isa = 0; isa <= 2; isa++)
        if (isa_available(isa)) check(&d, isa, rng, what);
}

/* the public entry point: applicability, the estimate, and NaN through the activation */
static void entry_point(void) {
    c4j_conv2d_desc d;
    t_dense_desc(&d, 1, 5, 5, 3, 3, 3, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    T_CHECK(c4j_conv2d_supports(&d, C4J_ALGO_DIRECT_DENSE) == C4J_OK, "dense layer not supported");
    T_CHECK(c4j_conv2d_estimate_seconds(&d, C4J_ALGO_DIRECT_DENSE, 0) > 0, "no estimate");
    c4j_conv2d_desc g = d;
    g.groups = 1;
    t_dense_desc(&g, 1, 5, 5, 4, 3, 3, 8, 2, 1, 1, 1, 1, 1, 1, 1, 1);
    T_CHECK(c4j_conv2d_supports(&g, C4J_ALGO_DIRECT_DENSE) != C4J_OK, "grouped layer accepted");
    c4j_conv2d_desc v = d; /* channels-first input: channels not contiguous */
    v.in_stride[3] = 25, v.in_stride[2] = 1, v.in_stride[1] = 5;
    T_CHECK(c4j_conv2d_supports(&v, C4J_ALGO_DIRECT_DENSE) != C4J_OK, "strided channels accepted");
    /* NaN in the input stays NaN through ReLU and ReLU6 */
    d.activation = C4J_ACT_RELU6;
    float in[75], f[216], out[200], prep[2048], ws[1024];
    for (int i = 0; i < 75; i++) in[i] = 0.5f;
    for (int i = 0; i < 216; i++) f[i] = 1.0f;
    in[3 * 12] = NAN; /* pixel (2, 2) */
    T_CHECK(dd_prepared_floats(&d) <= 2048 && stage_floats(&d) <= 1024, "prepared size");
    dd_prepare(&d, f, prep);
    run_isa(best_isa(), &d, in, prep, NULL, out, ws, 0, dd_units(&d));
    T_CHECK(isnan(out[(2 * 5 + 2) * 8]), "NaN lost through ReLU6");
    T_CHECK(out[0] == 6.0f, "ReLU6 did not cap: %g", out[0]);
}

/* ------------------------------------------------------------------ bench */

static double cpu_now(void) { return thread_seconds(); }

static void bench(int argc, char **argv) {
    c4j_cost_measure_with(t_blas());
    const char *only = argc > 2 ? argv[2] : NULL;
    for (int l = 0; l < T_N_PEER_LAYERS; l++) {
        if (only != NULL && !t_wanted(only, T_PEER_LAYERS[l].name)) continue;
        c4j_conv2d_desc d;
        t_layer_desc(&T_PEER_LAYERS[l], &d);
        const int64_t in_len = d.batch * d.in_stride[0], out_len = d.batch * d.out_stride[0];
        float *in = calloc((size_t)in_len, 4), *out = calloc((size_t)out_len, 4);
        float *prep = calloc((size_t)dd_prepared_floats(&d), 4), *ws = calloc((size_t)C4J_MAX(1, stage_floats(&d)), 4);
        double best = 1e9;
        for (int r = 0; r < 20; r++) {
            const double t0 = cpu_now();
            run_isa(best_isa(), &d, in, prep, NULL, out, ws, 0, dd_units(&d));
            const double t = cpu_now() - t0;
            if (t < best) best = t;
        }
        const double flops = 2.0 * (double)d.batch * d.out_h * d.out_w * d.out_c * d.kernel_h * d.kernel_w * d.in_c;
        printf("%-24s %8.3f ms  %6.1f GFLOP/s  estimate %8.3f ms  tiled %8.3f ms\n", T_PEER_LAYERS[l].name, best * 1e3,
               flops / best * 1e-9, dd_estimate(&d, 0) * 1e3, c4j_conv2d_estimate_seconds(&d, C4J_ALGO_GEMM_TILED, 0) * 1e3);
        free(in), free(out), free(prep), free(ws);
    }
    printf("measured: %.3g ns per lane multiply-add, %.3g ns per tap step, %.3g ns per copied float\n", g_mac_s * 1e9,
           g_tap_s * 1e9, g_stage_s * 1e9);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "bench") == 0) {
        bench(argc, argv);
        return 0;
    }
    uint64_t rng = 20261207;
    for (int i = 0; i < 400; i++) random_case(&rng, i);
    entry_point();
    T_CHECK(c4j_allocated_bytes() == 0, "%lld bytes still allocated", (long long)c4j_allocated_bytes());
    if (t_failures) fprintf(stderr, "%d failures\n", t_failures);
    return t_failures ? 1 : 0;
}
