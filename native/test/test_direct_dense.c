/*
 * The dense direct kernel (direct_dense.c) of every instruction set this machine has, against the
 * plain double reference over random geometries: input channels from 1 to over 100, output
 * channels that are no multiple of any vector width (narrow last passes, several blocks), 1x1 to
 * 7x7 kernels, strides, dilations, paddings wider than the kernel, flip, bias, activations,
 * output views with gaps, images with fewer pixels than a tile. Nothing outside the output view
 * may be written, and any split of the units must give the same bits. Includes direct_dense.c to
 * reach the per-width kernels.
 *
 * With arguments `bench SHAPES.csv [layers]` it times the kernel against the sgemm routes and the
 * route AUTO takes instead (thread CPU time, one thread).
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
        const double worst = t_check_output_view(d, mem, GUARD, out_len, want, what, isa);
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

/* fastest of 15 calls of algorithm a on d through the public entry point (thread CPU time), in
   seconds; -1 when a cannot run d */
static double time_route(const c4j_conv2d_desc *d, c4j_algo a, const float *in, const float *f, float *out) {
    if (c4j_conv2d_supports(d, a) != C4J_OK) return -1;
    const int64_t pf = c4j_conv2d_prepared_floats(d, a), ws_bytes = c4j_conv2d_workspace_bytes(d, a);
    float *prep = pf > 0 ? malloc(sizeof(float) * (size_t)pf) : NULL;
    void *ws = ws_bytes > 0 ? c4j_alloc((size_t)ws_bytes, 0) : NULL;
    char err[256];
    if (prep != NULL) c4j_conv2d_prepare(d, a, f, prep, err, sizeof err);
    double best = -1;
    for (int r = 0; r < 15; r++) {
        const double t0 = c4j_thread_seconds();
        if (c4j_conv2d_forward(t_blas(), d, a, in, f, prep, NULL, out, ws, ws_bytes, 0, c4j_conv2d_units(d, a), err,
                               sizeof err) != C4J_OK) {
            fprintf(stderr, "algorithm %d: %s\n", (int)a, err);
            exit(1);
        }
        const double t = c4j_thread_seconds() - t0;
        if (best < 0 || t < best) best = t;
    }
    free(prep);
    c4j_free(ws);
    return best;
}

/* `bench SHAPES.csv [a,b]`: per layer, this kernel against the sgemm routes and the route AUTO
   takes, one thread, thread CPU time (a busy machine disturbs it less than wall time) */
static void bench(int argc, char **argv) {
    c4j_cost_measure_with(t_blas());
    FILE *fp = argc > 2 ? fopen(argv[2], "r") : NULL;
    if (fp == NULL) {
        fprintf(stderr, "usage: test_direct_dense bench SHAPES.csv [names]\n");
        exit(2);
    }
    const char *only = argc > 3 ? argv[3] : NULL;
    char line[512], pad[32];
    printf("%-24s %10s %10s %10s %10s  %s\n", "layer (ms, 1 thread)", "direct", "gemm_dir", "gemm_tiled", "auto", "auto route");
    while (fgets(line, sizeof line, fp) != NULL) {
        t_layer s;
        long long v[8];
        if (sscanf(line, "%63[^,],%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%31[A-Za-z]", s.name, &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7], pad) != 10)
            continue;
        if (only != NULL && !t_wanted(only, s.name)) continue;
        s.n = v[0], s.h = v[1], s.w = v[2], s.c = v[3], s.kh = v[4], s.kw = v[5], s.cout = v[6], s.stride = v[7];
        s.same = strcmp(pad, "SAME") == 0;
        c4j_conv2d_desc d;
        t_layer_desc(&s, &d);
        const int64_t in_len = d.batch * d.in_stride[0], out_len = d.batch * d.out_stride[0];
        float *in = calloc((size_t)in_len, 4), *out = calloc((size_t)out_len, 4), *f = calloc((size_t)c4j_filter_floats(&d), 4);
        uint64_t rng = 7;
        t_fill(in, in_len, &rng);
        t_fill(f, c4j_filter_floats(&d), &rng);
        const int auto_id = c4j_conv2d_plan(&d, C4J_DIR_FORWARD, 0, NULL, 0);
        const char *auto_name = "?";
        for (int i = 0; i < c4j_conv2d_forward_rows(); i++)
            if (c4j_conv2d_forward_row(i)->id == auto_id) auto_name = c4j_conv2d_forward_row(i)->name;
        const double td = time_route(&d, C4J_ALGO_DIRECT_DENSE, in, f, out), tg = time_route(&d, C4J_ALGO_GEMM_DIRECT, in, f, out);
        const double tt = time_route(&d, C4J_ALGO_GEMM_TILED, in, f, out), ta = time_route(&d, (c4j_algo)auto_id, in, f, out);
        printf("%-24s %10.4f %10.4f %10.4f %10.4f  %s (direct estimate %.4f)\n", s.name, td * 1e3, tg * 1e3, tt * 1e3,
               ta * 1e3, auto_name, dd_estimate(&d, 0) * 1e3);
        free(in), free(out), free(f);
    }
    fclose(fp);
    printf("measured: %.3g ns per lane multiply-add, %.3g ns per tap step, %.3g ns per copied float\n", g_mac_s * 1e9,
           g_tap_s * 1e9, g_stage_s * 1e9);
}

/* Bands of every image size up to 3000 pixels: they tile the image in order, start on whole tiles,
   hold at most DD_UNIT_PIXELS and differ by at most one tile (threads claim runs of consecutive
   units, so one short band unbalances two threads: 84, 84, 84 and 37 pixels on a 17x17 output). */
static void bands_even(void) {
    for (int64_t pixels = 1; pixels <= 3000; pixels++) {
        c4j_conv2d_desc d;
        memset(&d, 0, sizeof d);
        d.out_h = 1;
        d.out_w = pixels;
        int64_t least = pixels, most = 0, ok = band_start(&d, 0) == 0 && band_start(&d, bands(&d)) == pixels;
        for (int64_t k = 0; k < bands(&d); k++) {
            const int64_t q0 = band_start(&d, k), size = band_start(&d, k + 1) - q0;
            ok &= q0 % DD_BAND_ROUND == 0 && size >= 1 && size <= DD_UNIT_PIXELS;
            least = size < least ? size : least;
            most = size > most ? size : most;
        }
        T_CHECK(ok && most - least <= DD_BAND_ROUND, "%lld pixels: %lld bands of %lld to %lld pixels", (long long)pixels,
                (long long)bands(&d), (long long)least, (long long)most);
    }
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "bench") == 0) {
        bench(argc, argv);
        return 0;
    }
    uint64_t rng = 20261207;
    for (int i = 0; i < 400; i++) random_case(&rng, i);
    entry_point();
    bands_even();
    T_CHECK(c4j_allocated_bytes() == 0, "%lld bytes still allocated", (long long)c4j_allocated_bytes());
    if (t_failures) fprintf(stderr, "%d failures\n", t_failures);
    return t_failures ? 1 : 0;
}
