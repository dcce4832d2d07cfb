/*
 * Backward pass of the native core alone, one thread: every route of the input gradient (with the
 * filter preparation it needs on every training step) and of the filter gradient (with the bias
 * gradient and the reduction of partial sums), next to the forward convolution by the algorithm
 * the cost model picks, with each route's estimate, so the cost model can be checked against
 * what it ranks. GFLOP/s are direct-convolution flops (2*N*OH*OW*Cout*KH*KW*Cin/g per gradient).
 *
 *   backward_bench [--shapes a,b] [--min-time SECONDS] [--cpu] [--prepared] [--measured]
 *                  [--sequence IN:F,... [--rounds R]]
 *
 * --prepared prepares each input-gradient route's filter once, untimed (a PreparedFilter's weights,
 * kept for the forward and backward passes of one training step), and takes AUTO's input route by
 * the estimates without that preparation (C4J_DIR_INPUT_GRADIENT_PREPARED; the estimates printed
 * still include it).
 * --measured plans AUTO as the Java side does: with the cost model measured on this machine
 * (c4j_cost_measure_with), so near ties between routes are settled by running them (cost_trial.c).
 * --cpu times each call in thread CPU time and keeps the fastest call instead of the wall-clock
 * median: on a machine shared with other processes that is what stays comparable between runs.
 * Each layer ends with AUTO's two gradients timed in sequence (dW then dX, as Conv2dBackward.backward
 * runs them): timed apart, a route finds its large operands (a transformed filter, dW) still in the
 * caches from its previous call; in sequence they compete, as in the Java call.
 * --sequence IN:F,... times other pairs of routes (input route id : filter route id, as
 * conv4j.h numbers them) in sequence the same way, each alternated with AUTO's pair for R rounds
 * (default 7), so a route that wins apart can be checked where the two gradients compete.
 *
 * Shapes: the peer benchmark's layers (../shared/bench/shapes.csv) plus a few more.
 */
#include <math.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "../test/testlib.h"

/* beyond the peer layers: batched deep 3x3 layers and a 5x5 one with many channels; deep 3x3 at
   4-10 pixels, stride-2 1x1, and narrow layers of 4-16 channels, so no route is judged on the
   public list alone */
static const t_layer EXTRA[] = {
    {"b8_3x3_14x256", 8, 14, 14, 256, 3, 3, 256, 1, 1},
    {"b8_3x3_7x512", 8, 7, 7, 512, 3, 3, 512, 1, 1},
    {"bigk_5x5_32x128", 1, 32, 32, 128, 5, 5, 128, 1, 1},
    {"deep_3x3_4x1024", 1, 4, 4, 1024, 3, 3, 1024, 1, 1},
    {"deep_3x3_10x384", 2, 10, 10, 384, 3, 3, 384, 1, 1},
    {"s2_1x1_28x512to1024", 1, 28, 28, 512, 1, 1, 1024, 2, 1},
    {"narrow_3x3_16x16x8to16", 1, 16, 16, 8, 3, 3, 16, 1, 1},
    {"narrow_3x3_12x12x16to8", 2, 12, 12, 16, 3, 3, 8, 1, 1},
    {"narrow_5x5_28x4to32", 1, 28, 28, 4, 5, 5, 32, 1, 1},
    {"narrow_3x3_56x16to64", 1, 56, 56, 16, 3, 3, 64, 1, 1},
};

/* by route id; the filter gradient's C4J_ALGO_DIRECT_DENSE is its own direct kernel */
static const char *ROUTE_NAMES[] = {"gemm",      "gemm_direct", "gemm_tiled",  "winograd_2x2", "winograd_4x4",
                                    "fft",       "grouped",     "gemm_nchw",   "winograd_1d",  "direct"};

static double min_time = 0.3;
static int cpu_time = 0, prepared_once = 0, seq_rounds = 7;
static const char *seq_pairs = NULL;

typedef void (*body_fn)(void *ctx);

static double thread_cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double wall_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The fastest batch in thread CPU time per call, over at least 5 batches and min_time seconds of
   them. A batch repeats the call until it lasts about 100 us: one call of a microsecond layer per
   clock read is as long as the read itself and the clock's granularity (it read 0 for some). */
static double min_cpu_seconds(body_fn body, void *ctx) {
    body(ctx);
    int reps = 0;
    for (const double w0 = wall_seconds(); wall_seconds() - w0 < 100e-6 && reps < 1000000; reps++) body(ctx);
    if (reps < 1) reps = 1;
    double best = 1e30, spent = 0;
    for (int r = 0; r < 5 || (spent < min_time && r < 100000); r++) {
        const double a = thread_cpu_seconds();
        for (int i = 0; i < reps; i++) body(ctx);
        const double t = thread_cpu_seconds() - a;
        spent += t;
        if (t / reps < best) best = t / reps;
    }
    return best;
}

/* the peer harness's timing policy (testlib), or --cpu's */
static double median_seconds(body_fn body, void *ctx) {
    return cpu_time ? min_cpu_seconds(body, ctx) : t_median_seconds(body, ctx, min_time);
}

typedef struct {
    const c4j_conv2d_desc *d;
    int route;
    const float *x, *f, *dy;
    float *prep, *dx, *dw, *db, *parts;
    int64_t parts_len;
    void *ws;
    int64_t ws_bytes, units, red_units;
} bctx;

static void die(const char *what, const char *err) {
    fprintf(stderr, "%s failed: %s\n", what, err);
    exit(1);
}

static void run_input(void *p) {
    bctx *c = p;
    char err[256];
    if (!prepared_once && c4j_conv2d_backward_input_prepare(c->d, c->route, c->f, c->prep, err, sizeof err) != C4J_OK)
        die("prepare", err);
    if (c4j_conv2d_backward_input(t_blas(), c->d, c->route, c->dy, c->prep, c->dx, c->ws, c->ws_bytes, 0, c->units, err,
                                  sizeof err) != C4J_OK)
        die("input gradient", err);
}

static void run_filter(void *p) {
    bctx *c = p;
    char err[256];
    if (c4j_conv2d_backward_filter(t_blas(), c->d, c->route, c->x, c->dy, c->dw, c->db, c->parts, c->parts_len, c->ws,
                                   c->ws_bytes, 0, c->units, err, sizeof err) != C4J_OK)
        die("filter gradient", err);
    if (c4j_conv2d_backward_filter_reduce(c->d, c->route, c->dw, c->db, c->parts, c->parts_len, 0, c->red_units, err,
                                          sizeof err) != C4J_OK)
        die("reduce", err);
}

typedef struct {
    const c4j_conv2d_desc *d;
    c4j_algo algo;
    const float *x, *f, *prep;
    float *y;
    void *ws;
    int64_t ws_bytes, units;
} fctx;

static void run_forward(void *p) {
    fctx *c = p;
    char err[256];
    if (c4j_conv2d_forward(t_blas(), c->d, c->algo, c->x, c->f, c->prep, NULL, c->y, c->ws, c->ws_bytes, 0, c->units, err,
                           sizeof err) != C4J_OK)
        die("forward", err);
}

typedef struct {
    bctx in, f;
} seqctx;

static void run_sequence(void *p) {
    seqctx *c = p;
    run_filter(&c->f);
    run_input(&c->in);
}

/* AUTO's filter gradient then its input gradient, as Conv2dBackward.backward runs them in a training
   step: timed apart, each route finds its operands (a transformed filter, dW) where its previous
   call left them; in sequence they compete for the caches, as they do in the Java call */
static double sequence_seconds(const c4j_conv2d_desc *d, int in_route, int f_route, const float *x, const float *f,
                               const float *dy, float *dx, float *dw, float *db) {
    seqctx c;
    memset(&c, 0, sizeof c);
    c.in = (bctx){d, in_route, x, f, dy, NULL, dx, dw, db, NULL, 0, NULL, 0, 0, 0};
    c.in.prep = c4j_alloc((size_t)c4j_conv2d_backward_input_prepared_floats(d, in_route) * 4 + 64, 0);
    c.in.ws_bytes = c4j_conv2d_backward_input_workspace_bytes(d, in_route);
    c.in.ws = c4j_alloc((size_t)c.in.ws_bytes + 64, 0);
    c.in.units = c4j_conv2d_backward_input_units(d, in_route);
    char err[256];
    if (prepared_once && c4j_conv2d_backward_input_prepare(d, in_route, f, c.in.prep, err, sizeof err) != C4J_OK)
        die("prepare", err);
    c.f = (bctx){d, f_route, x, f, dy, NULL, dx, dw, db, NULL, 0, NULL, 0, 0, 0};
    c.f.parts_len = c4j_conv2d_backward_filter_partial_floats(d, f_route);
    c.f.parts = c.f.parts_len > 0 ? malloc(sizeof(float) * (size_t)c.f.parts_len) : NULL;
    c.f.ws_bytes = c4j_conv2d_backward_filter_workspace_bytes(d, f_route);
    c.f.ws = c4j_alloc((size_t)c.f.ws_bytes + 64, 0);
    c.f.units = c4j_conv2d_backward_filter_units(d, f_route);
    c.f.red_units = c4j_conv2d_backward_filter_reduce_units(d, f_route);
    const double t = median_seconds(run_sequence, &c);
    c4j_free(c.in.prep);
    c4j_free(c.in.ws);
    free(c.f.parts);
    c4j_free(c.f.ws);
    return t;
}

static void bench_shape(const t_layer *s) {
    c4j_conv2d_desc d;
    t_layer_desc(s, &d);
    const int64_t oh = d.out_h, ow = d.out_w;
    d.has_bias = 1;
    const int64_t in_len = s->n * s->h * s->w * s->c, f_len = s->kh * s->kw * s->c * s->cout;
    const int64_t out_len = s->n * oh * ow * s->cout;
    const double flops = 2.0 * (double)(s->n * oh * ow) * (double)(s->kh * s->kw * s->c) * (double)s->cout;
    uint64_t rng = 5;
    float *x = malloc(sizeof(float) * in_len), *f = malloc(sizeof(float) * f_len), *dy = malloc(sizeof(float) * out_len);
    /* dW 64-byte aligned as a Java Tensor is (the fused Winograd route streams aligned dW past the caches) */
    float *dx = malloc(sizeof(float) * in_len), *dw = c4j_alloc(sizeof(float) * (size_t)f_len, 0),
          *db = malloc(sizeof(float) * s->cout);
    memset(dw, 0, sizeof(float) * (size_t)f_len);
    float *y = malloc(sizeof(float) * out_len);
    t_fill(x, in_len, &rng);
    t_fill(f, f_len, &rng);
    t_fill(dy, out_len, &rng);

    /* forward by AUTO's algorithm (the planner's, as the Java side plans it), filter prepared once (as
       the forward benchmark does) */
    d.has_bias = 0;
    const c4j_algo best = (c4j_algo)c4j_conv2d_plan(&d, C4J_DIR_FORWARD, 0, NULL, 0);
    const double best_s = c4j_conv2d_estimate_seconds(&d, best, 0);
    const char *best_name = "?";
    for (int i = 0; i < c4j_conv2d_routes(C4J_DIR_FORWARD); i++) {
        int id;
        const char *name;
        c4j_conv2d_route_info(C4J_DIR_FORWARD, i, &id, NULL, &name);
        if (id == (int)best) best_name = name;
    }
    d.has_bias = 0;
    fctx fc = {&d, best, x, f, NULL, y, NULL, c4j_conv2d_workspace_bytes(&d, best), c4j_conv2d_units(&d, best)};
    fc.ws = c4j_alloc((size_t)fc.ws_bytes + 64, 0);
    const int64_t pf = c4j_conv2d_prepared_floats(&d, best);
    float *fprep = pf > 0 ? c4j_alloc((size_t)pf * 4, 0) : NULL;
    if (pf > 0) c4j_conv2d_prepare(&d, best, f, fprep, NULL, 0);
    fc.prep = fprep;
    const double t_fwd = median_seconds(run_forward, &fc);
    c4j_free(fc.ws);
    c4j_free(fprep);
    d.has_bias = 1;
    printf("%-22s forward %-14s %9.4f ms %7.1f GFLOP/s (est %.4f ms)\n", s->name, best_name,
           t_fwd * 1e3, flops / t_fwd * 1e-9, best_s * 1e3);

    const int auto_in = prepared_once ? c4j_conv2d_plan(&d, C4J_DIR_INPUT_GRADIENT_PREPARED, 0, NULL, 0)
                                      : c4j_conv2d_backward_input_route(&d);
    const int auto_f = c4j_conv2d_backward_filter_route(&d);
    double best_in = 1e9, best_f = 1e9, auto_in_t = 0, auto_f_t = 0;
    for (int ri = 0; ri < c4j_conv2d_routes(C4J_DIR_INPUT_GRADIENT); ri++) {
        int r, exact;
        const char *name;
        c4j_conv2d_route_info(C4J_DIR_INPUT_GRADIENT, ri, &r, &exact, &name);
        const double est = c4j_conv2d_backward_input_estimate_seconds(&d, r);
        if (est < 0) continue;
        bctx c = {&d, r, x, f, dy, NULL, dx, dw, db, NULL, 0, NULL, 0, 0, 0};
        const int64_t pfl = c4j_conv2d_backward_input_prepared_floats(&d, r);
        c.prep = c4j_alloc((size_t)pfl * 4, 0);
        c.ws_bytes = c4j_conv2d_backward_input_workspace_bytes(&d, r);
        c.ws = c4j_alloc((size_t)c.ws_bytes + 64, 0);
        c.units = c4j_conv2d_backward_input_units(&d, r);
        char err[256];
        if (prepared_once && c4j_conv2d_backward_input_prepare(&d, r, f, c.prep, err, sizeof err) != C4J_OK)
            die("prepare", err);
        const double t = median_seconds(run_input, &c);
        printf("%-22s   dX %-17s %9.4f ms %7.1f GFLOP/s  est %9.4f ms  est/real %.2f  %lld units%s\n", s->name,
               r == 0 ? "gather" : name, t * 1e3, flops / t * 1e-9, est * 1e3, est / t, (long long)c.units,
               r == auto_in ? "  <- AUTO" : "");
        if (t < best_in) best_in = t;
        if (r == auto_in) auto_in_t = t;
        c4j_free(c.prep);
        c4j_free(c.ws);
    }
    for (int ri = 0; ri <= C4J_ALGO_DIRECT_DENSE + 1; ri++) {
        const int r = ri == C4J_ALGO_DIRECT_DENSE + 1 ? C4J_BWD_WINOGRAD_FUSED : ri;
        const double est = c4j_conv2d_backward_filter_estimate_seconds(&d, r);
        if (est < 0) continue;
        bctx c = {&d, r, x, f, dy, NULL, dx, dw, db, NULL, 0, NULL, 0, 0, 0};
        c.parts_len = c4j_conv2d_backward_filter_partial_floats(&d, r);
        c.parts = c.parts_len > 0 ? malloc(sizeof(float) * (size_t)c.parts_len) : NULL;
        c.ws_bytes = c4j_conv2d_backward_filter_workspace_bytes(&d, r);
        c.ws = c4j_alloc((size_t)c.ws_bytes + 64, 0);
        c.units = c4j_conv2d_backward_filter_units(&d, r);
        c.red_units = c4j_conv2d_backward_filter_reduce_units(&d, r);
        const double t = median_seconds(run_filter, &c);
        printf("%-22s   dW %-17s %9.4f ms %7.1f GFLOP/s  est %9.4f ms  est/real %.2f  %lld units, ws %lld KiB%s\n",
               s->name, r == C4J_BWD_WINOGRAD_FUSED ? "winograd_fused" : ROUTE_NAMES[r], t * 1e3, flops / t * 1e-9,
               est * 1e3, est / t, (long long)c.units,
               (long long)(c.ws_bytes / 1024), r == auto_f ? "  <- AUTO" : "");
        if (t < best_f) best_f = t;
        if (r == auto_f) auto_f_t = t;
        free(c.parts);
        c4j_free(c.ws);
    }
    printf("%-22s backward AUTO %.4f ms (best routes %.4f ms): backward/forward GFLOP/s %.2f (best %.2f)\n", s->name,
           (auto_in_t + auto_f_t) * 1e3, (best_in + best_f) * 1e3, 2 * t_fwd / (auto_in_t + auto_f_t),
           2 * t_fwd / (best_in + best_f));
    const double t_seq = sequence_seconds(&d, auto_in, auto_f, x, f, dy, dx, dw, db);
    printf("%-22s backward AUTO in sequence %.4f ms: backward/forward GFLOP/s %.2f\n", s->name, t_seq * 1e3,
           2 * t_fwd / t_seq);
    /* --sequence IN:F,...: other route pairs in sequence, alternated with AUTO's (rounds of each) */
    for (int round = 0; seq_pairs != NULL && round < seq_rounds; round++) {
        const char *p = seq_pairs;
        while (*p) {
            int ri = -1, rf = -1, used = 0;
            if (sscanf(p, "%d:%d%n", &ri, &rf, &used) != 2) break;
            p += used;
            if (*p == ',') p++;
            if (c4j_conv2d_backward_input_estimate_seconds(&d, ri) < 0 ||
                c4j_conv2d_backward_filter_estimate_seconds(&d, rf) < 0)
                continue;
            const double ta = sequence_seconds(&d, auto_in, auto_f, x, f, dy, dx, dw, db);
            const double tb = sequence_seconds(&d, ri, rf, x, f, dy, dx, dw, db);
            printf("%-22s round %d in sequence AUTO %d:%d %.4f ms, %d:%d %.4f ms (%.3f x)\n", s->name, round,
                   auto_in, auto_f, ta * 1e3, ri, rf, tb * 1e3, tb / ta);
        }
    }
    printf("\n");
    free(x); free(f); free(dy); free(dx); c4j_free(dw); free(db); free(y);
}

int main(int argc, char **argv) {
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--shapes") == 0 && i + 1 < argc) only = argv[++i];
        else if (strcmp(argv[i], "--min-time") == 0 && i + 1 < argc) min_time = atof(argv[++i]);
        else if (strcmp(argv[i], "--cpu") == 0) cpu_time = 1;
        else if (strcmp(argv[i], "--prepared") == 0) prepared_once = 1;
        else if (strcmp(argv[i], "--sequence") == 0 && i + 1 < argc) seq_pairs = argv[++i];
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) seq_rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--measured") == 0) c4j_cost_measure_with(t_blas());
        else {
            fprintf(stderr, "usage: %s [--shapes a,b] [--min-time S] [--cpu] [--prepared] [--measured] [--sequence IN:F,... [--rounds R]]\n", argv[0]);
            return 2;
        }
    }
    t_blas();
    for (int i = 0; i < T_N_PEER_LAYERS; i++)
        if (t_wanted(only, T_PEER_LAYERS[i].name)) bench_shape(&T_PEER_LAYERS[i]);
    for (size_t i = 0; i < sizeof EXTRA / sizeof EXTRA[0]; i++)
        if (t_wanted(only, EXTRA[i].name)) bench_shape(&EXTRA[i]);
    return 0;
}
