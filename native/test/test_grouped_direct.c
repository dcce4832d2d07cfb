/*
 * The grouped / depthwise direct kernel (grouped_direct.c) of every instruction set this machine
 * has, against the plain double reference over random geometries: depthwise with and without a
 * channel multiplier, small groups, channel counts that are no multiple of any vector width,
 * strides, dilations, paddings wider than the kernel, flip, bias, activations, strided input and
 * output views. Nothing outside the output view may be written, and any split of the units must
 * give the same bits. Includes grouped_direct.c to reach the per-width kernels.
 *
 * With arguments `bench [layers]` it times every algorithm that runs the peer harness's grouped
 * layers (and a few more) against its estimate instead, in thread CPU time, one thread; with
 * GD_ONLY set, only the direct kernel; GD_SHAPES=FILE.csv: the layers of a CSV in the peer
 * harness's format instead; GD_BOUND: also the 2-thread bound of the executor's claims from
 * per-unit times; GD_PROFILE: each layer run for another second (for a profiler).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* every call GD(row_strips) makes, counted below (see GD_ROW_HOOK in grouped_direct.c) */
static void tally_add(int64_t snb, int64_t taps, int64_t nb, int64_t nr, int64_t ow);
#define GD_ROW_HOOK(snb, taps, nb, nr, ow) tally_add(snb, taps, nb, nr, ow)

#include "../src/grouped_direct.c"
#include "testlib.h"

/* The strip kernels' work as they do it: each run and lone border pixel GD(row_strips) makes,
   counted with the estimate's own per-run and per-pixel counts (count_run, count_pixel) and
   multiplied by the row's kernel rows, while tally.d is set */
static struct {
    const c4j_conv2d_desc *d;
    int64_t snb;        /* the run of the width under test */
    int other_width;    /* a call from another width's kernel */
    gd_row_ops ops;     /* multiply-adds and loads times kernel rows; runs and lone pixels */
} tally;

static void tally_add(int64_t snb, int64_t taps, int64_t nb, int64_t nr, int64_t ow) {
    if (tally.d == NULL) return;
    if (snb != tally.snb) tally.other_width = 1;
    gd_row_ops r = {0, 0, 0};
    if (nb == 0) count_pixel(tally.d, ow, &r);
    else
        for (int64_t k = 0; k < nr; k++) count_run(tally.d, nb, &r);
    tally.ops.fmas += r.fmas * (double)taps, tally.ops.loads += r.loads * (double)taps, tally.ops.calls += r.calls;
}

/* the strip run of each width: portable, AVX2, AVX-512 (GD_SNB of each inclusion) */
static const int64_t SNB_OF_ISA[3] = {4, 4, GD_SNB_MAX};

/* The estimate counts the strip kernels' runs (strip_row_ops, per output row, times tap_rows'
   kernel rows) by mirroring GD(row_strips); this ties the two: the runs and pixels the kernel made
   in a whole layer (tally) against the count for a row times rows, images and channel blocks. */
static void check_tally(const c4j_conv2d_desc *d, int isa, const char *what) {
    const gd_row_ops r = strip_row_ops(d, SNB_OF_ISA[isa]);
    const double per_row = (double)(d->batch * blocks(d)), rows = tap_rows(d) * per_row;
    T_CHECK(!tally.other_width, "%s isa %d: a run of another width", what, isa);
    T_CHECK(tally.ops.calls == r.calls * (double)d->out_h * per_row && tally.ops.fmas == r.fmas * rows &&
                tally.ops.loads == r.loads * rows,
            "%s isa %d: the estimate counts %g runs, %g multiply-adds, %g loads; the kernel made %g, %g, %g", what, isa,
            r.calls * (double)d->out_h * per_row, r.fmas * rows, r.loads * rows, tally.ops.calls, tally.ops.fmas,
            tally.ops.loads);
}

enum { GUARD = 37 };

static void check(const c4j_conv2d_desc *d, int isa, uint64_t *rng, const char *what) {
    const int64_t in_dim[4] = {d->batch, d->in_h, d->in_w, d->in_c};
    const int64_t out_dim[4] = {d->batch, d->out_h, d->out_w, d->out_c};
    const int64_t in_len = t_view_len(in_dim, d->in_stride), out_len = t_view_len(out_dim, d->out_stride);
    const int64_t f_len = c4j_filter_floats(d);
    float *in = malloc(sizeof(float) * (size_t)in_len), *f = malloc(sizeof(float) * (size_t)f_len);
    float *bias = malloc(sizeof(float) * (size_t)d->out_c);
    float *mem = malloc(sizeof(float) * (size_t)(out_len + 2 * GUARD)), *out = mem + GUARD;
    float *first = malloc(sizeof(float) * (size_t)out_len);
    double *want = calloc((size_t)out_len, sizeof(double));
    const int64_t ws_bytes = c4j_gd_workspace(d);
    float *ws = c4j_alloc((size_t)(ws_bytes > 0 ? ws_bytes : 64), 0); /* 0 bytes: the filter read in place */
    if (!in || !f || !bias || !mem || !first || !want || !ws) {
        T_CHECK(0, "%s: out of memory", what);
        exit(1);
    }
    t_fill(in, in_len, rng);
    t_fill(f, f_len, rng);
    t_fill(bias, d->out_c, rng);
    t_reference(d, in, f, bias, want);
    const int64_t units = c4j_gd_units(d);
    for (int split = 0; split < 2; split++) {
        for (int64_t i = 0; i < out_len + 2 * GUARD; i++) mem[i] = NAN;
        /* view elements get a sentinel; everything else must keep NaN (gaps of a strided view) */
        if (split == 0) {
            memset(&tally, 0, sizeof tally);
            tally.d = runs_strips(d) ? d : NULL, tally.snb = SNB_OF_ISA[isa];
            run_isa(isa, d, in, f, bias, out, ws, 0, units);
            if (tally.d != NULL) check_tally(d, isa, what);
            tally.d = NULL;
        } else {
            const int64_t cut = units > 1 ? t_rand_range(rng, 1, units - 1) : units;
            run_isa(isa, d, in, f, bias, out, ws, cut, units);
            run_isa(isa, d, in, f, bias, out, ws, 0, cut);
        }
        const double worst = t_check_output_view(d, mem, GUARD, out_len, want, what, isa);
        T_CHECK(worst < 2e-5 * (double)(d->kernel_h * d->kernel_w * c4j_cin_g(d)), "%s isa %d split %d: error %g", what,
                isa, split, worst);
        if (split == 0) memcpy(first, out, sizeof(float) * (size_t)out_len);
        else T_CHECK(memcmp(first, out, sizeof(float) * (size_t)out_len) == 0, "%s isa %d: unit split changed bits", what, isa);
    }
#ifdef C4J_HAVE_X86_GD
    /* the AVX2 and AVX-512 kernels fuse every multiply-add and sum each lane in one order, so they
       give the same bits: a layer's result does not depend on which of the two the CPU runs */
    if (isa == 2) {
        for (int64_t i = 0; i < out_len + 2 * GUARD; i++) mem[i] = NAN;
        run_isa(1, d, in, f, bias, out, ws, 0, units);
        T_CHECK(memcmp(first, out, sizeof(float) * (size_t)out_len) == 0, "%s: AVX2 and AVX-512 bits differ", what);
    }
#endif
    free(in), free(f), free(bias), free(mem), free(first), free(want);
    c4j_free(ws);
}

static int isa_available(int isa) {
    if (isa == 0) return 1;
#ifdef C4J_HAVE_X86_GD
    return best_isa() >= isa;
#else
    return 0;
#endif
}

static void random_case(uint64_t *rng, int i) {
    c4j_conv2d_desc d;
    const int kind = i % 4; /* depthwise, depthwise with multiplier, small groups, channel view */
    /* every other case in the strip kernels' range (depthwise lanes: column stride 1 or 2,
       column dilation 1, up to 8 taps per row); 9 taps and the rest run the per-pixel kernel */
    const int strip = i % 8 >= 4;
    const int64_t kh = t_rand_range(rng, 1, 7), kw = kind == 2 ? t_rand_range(rng, 1, 3) : t_rand_range(rng, 1, 9);
    const int64_t sh = t_rand_range(rng, 1, 3), sw = t_rand_range(rng, 1, strip ? 2 : 3);
    const int64_t dh = t_rand_range(rng, 1, 2), dw = strip ? 1 : t_rand_range(rng, 1, 3);
    int64_t groups, cin, cout;
    if (kind == 2) {
        groups = t_rand_range(rng, 2, 9);
        cin = groups * t_rand_range(rng, 1, 5), cout = groups * t_rand_range(rng, 1, 5);
        if (i % 16 >= 8) { /* whole 16-lane vectors per group: the broadcast kernel */
            groups = t_rand_range(rng, 2, 5);
            cin = groups * t_rand_range(rng, 2, 16), cout = groups * 16 * t_rand_range(rng, 1, 2);
        }
    } else {
        groups = cin = t_rand_range(rng, 1, i % 16 == 0 ? 600 : 150); /* sometimes several wide blocks */
        if (groups == 1) groups = cin = 2;
        cout = cin * (kind == 1 ? t_rand_range(rng, 2, 3) : 1);
    }
    const int64_t h = t_rand_range(rng, 1, 20), w = t_rand_range(rng, 1, 30);
    const int64_t eh = (kh - 1) * dh + 1, ew = (kw - 1) * dw + 1;
    const int64_t pt = t_rand_range(rng, 0, eh), pl = t_rand_range(rng, 0, ew);
    const int64_t pb = t_rand_range(rng, 0, eh), pr = t_rand_range(rng, 0, ew);
    if (h + pt + pb < eh || w + pl + pr < ew) return;
    t_dense_desc(&d, t_rand_range(rng, 1, 3), h, w, cin, kh, kw, cout, groups, sh, sw, dh, dw, pt, pb, pl, pr);
    d.flip = t_rand_range(rng, 0, 1);
    d.has_bias = t_rand_range(rng, 0, 1);
    d.activation = t_rand_range(rng, 0, 2);
    if (kind == 3 || (kind == 2 && i % 32 >= 24)) { /* a channel slice of a wider tensor, and an output with gaps between pixels */
        d.in_stride[3] = 2, d.in_stride[2] = 2 * cin + 3, d.in_stride[1] = d.in_stride[2] * w, d.in_stride[0] = d.in_stride[1] * h;
        d.out_stride[2] = cout + 5, d.out_stride[1] = d.out_stride[2] * d.out_w + 1,
        d.out_stride[0] = d.out_stride[1] * d.out_h;
    }
    char what[200];
    snprintf(what, sizeof what, "n%lld %lldx%lld c%lld->%lld g%lld k%lldx%lld s%lldx%lld d%lldx%lld p%lld,%lld,%lld,%lld flip%lld bias%lld act%lld view%d",
             (long long)d.batch, (long long)h, (long long)w, (long long)cin, (long long)cout, (long long)groups,
             (long long)kh, (long long)kw, (long long)sh, (long long)sw, (long long)dh, (long long)dw, (long long)pt,
             (long long)pb, (long long)pl, (long long)pr, (long long)d.flip, (long long)d.has_bias,
             (long long)d.activation, d.in_stride[3] != 1);
    for (int isa = 0; isa <= 2; isa++)
        if (isa_available(isa)) check(&d, isa, rng, what);
}

/* the public entry point: applicability, units, workspace, and a NaN through the activation */
static void public_api(void) {
    c4j_conv2d_desc d;
    t_dense_desc(&d, 1, 5, 5, 20, 3, 3, 20, 20, 1, 1, 1, 1, 1, 1, 1, 1);
    T_CHECK(c4j_conv2d_supports(&d, C4J_ALGO_GROUPED_DIRECT) == C4J_OK, "depthwise not supported");
    T_CHECK(c4j_conv2d_estimate_seconds(&d, C4J_ALGO_GROUPED_DIRECT, 0) > 0, "no estimate");
    d.activation = C4J_ACT_RELU6;
    float in[5 * 5 * 20], f[9 * 20], out[5 * 5 * 20];
    for (int i = 0; i < 500; i++) in[i] = (float)(i % 7) - 3.0f;
    for (int i = 0; i < 180; i++) f[i] = 1.0f;
    in[2 * 100 + 2 * 20 + 3] = NAN;
    const int64_t ws_bytes = c4j_conv2d_workspace_bytes(&d, C4J_ALGO_GROUPED_DIRECT);
    void *ws = c4j_alloc((size_t)ws_bytes, 0);
    char err[256];
    c4j_status st = c4j_conv2d_forward(t_blas(), &d, C4J_ALGO_GROUPED_DIRECT, in, f, NULL, NULL, out, ws, ws_bytes, 0,
                                       c4j_conv2d_units(&d, C4J_ALGO_GROUPED_DIRECT), err, sizeof err);
    T_CHECK(st == C4J_OK, "forward: %s", err);
    T_CHECK(isnan(out[2 * 100 + 2 * 20 + 3]) && isnan(out[1 * 100 + 1 * 20 + 3]), "NaN did not pass through ReLU6");
    T_CHECK(!isnan(out[2 * 100 + 2 * 20 + 4]) && out[0] >= 0 && out[0] <= 6, "ReLU6 of a finite value");
    c4j_free(ws);
    t_dense_desc(&d, 1, 5, 5, 40, 3, 3, 40, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    T_CHECK(c4j_conv2d_supports(&d, C4J_ALGO_GROUPED_DIRECT) != C4J_OK, "dense layer accepted");
    t_dense_desc(&d, 1, 5, 5, 68, 3, 3, 68, 2, 1, 1, 1, 1, 1, 1, 1, 1);
    T_CHECK(c4j_conv2d_supports(&d, C4J_ALGO_GROUPED_DIRECT) != C4J_OK, "34 channels per group accepted");
}

/* Bands of output rows: they cover the rows in order, hold at most band_rows each, and differ by
   at most one row, so that the executor's first claim (half the units) holds half the rows; for
   depthwise, grouped and staged layers of 1 to 120 rows, batch 1 and 2 */
static void band_properties(void) {
    for (int64_t h = 1; h <= 120; h++)
        for (int kind = 0; kind < 3; kind++)
            for (int64_t n = 1; n <= 2; n++) {
                c4j_conv2d_desc d;
                const int64_t c = kind == 0 ? 576 : kind == 1 ? 256 : 40;
                t_dense_desc(&d, n, h, 9, c, 3, 3, kind == 2 ? 2 * c : c, kind == 1 ? 16 : c, 1, 1, 1, 1, 1, 1, 1, 1);
                int64_t lo = INT64_MAX, hi = 0;
                const int64_t nb = bands(&d);
                for (int64_t k = 0; k < nb; k++) {
                    const int64_t rows = band_start(h, nb, k + 1) - band_start(h, nb, k);
                    lo = C4J_MIN(lo, rows), hi = C4J_MAX(hi, rows);
                }
                T_CHECK(band_start(h, nb, 0) == 0 && band_start(h, nb, nb) == h, "h %lld kind %d: bands do not cover the rows",
                        (long long)h, kind);
                T_CHECK(lo >= 1 && hi <= band_rows(&d) && hi - lo <= 1, "h %lld kind %d n %lld: band rows %lld..%lld (at most %lld)",
                        (long long)h, kind, (long long)n, (long long)lo, (long long)hi, (long long)band_rows(&d));
            }
}

typedef struct {
    const char *name;
    int64_t n, h, w, c, k, cout, stride, groups;
    int64_t kw; /* kernel columns where not k (1xK), else 0 */
} gd_layer;

static int same_padding(const gd_layer *s, const int *same, const gd_layer *list) {
    return same == NULL ? 1 : same[s - list];
}

static const gd_layer LAYERS[] = {
    {"mbv2_dw3x3_112x32", 1, 112, 112, 32, 3, 32, 1, 32, 0},   {"mbv2_dw3x3s2_112x96", 1, 112, 112, 96, 3, 96, 2, 96, 0},
    {"mbv2_dw3x3_14x576", 1, 14, 14, 576, 3, 576, 1, 576, 0},  {"convnext_dw7x7_56x96", 1, 56, 56, 96, 7, 96, 1, 96, 0},
    {"resnext_g32_3x3_56x128", 1, 56, 56, 128, 3, 128, 1, 32, 0}, {"b8_dw3x3_28x192", 8, 28, 28, 192, 3, 192, 1, 192, 0},
    /* not in the peer list: a 5x5/2, a channel multiplier, 16 channels per group, odd sizes */
    {"eff_dw5x5s2_28x240", 1, 28, 28, 240, 5, 240, 2, 240, 0},   {"dw3x3_mult2_56x32", 1, 56, 56, 32, 3, 64, 1, 32, 0},
    {"g8_3x3_28x128", 1, 28, 28, 128, 3, 128, 1, 8, 0},          {"b3_dw3x3_17x37", 3, 17, 17, 37, 3, 37, 1, 37, 0},
    {"g4_5x5_14x64_s2", 2, 14, 14, 64, 5, 32, 2, 4, 0},        {"l1_dw3x3_16x64", 1, 16, 40, 64, 3, 64, 1, 64, 0},
    /* 16 input and output channels per group (the broadcast kernel), stride 1 and 2 */
    {"g32_3x3_14x512", 1, 14, 14, 512, 3, 512, 1, 32, 0},      {"g8_3x3s2_56x128", 1, 56, 56, 128, 3, 128, 2, 8, 0},
    /* 1xK depthwise, and 16 groups of 16 at stride 2 against stride 1 */
    {"dw1x7_28x64", 2, 28, 28, 64, 1, 64, 1, 64, 7},         {"dw1x5_20x40", 2, 20, 20, 40, 1, 40, 1, 40, 5},
    {"g16_3x3s2_28x256", 1, 28, 28, 256, 3, 256, 2, 16, 0},     {"g16_3x3_28x256", 1, 28, 28, 256, 3, 256, 1, 16, 0},
};

/* seconds of thread CPU time per call of body(ctx), best of 7 rounds of 5 */
static double cpu_seconds(void (*body)(void *), void *ctx) {
    double best = 1e30;
    for (int r = 0; r < 7; r++) {
        struct timespec a, b;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
        for (int k = 0; k < 5; k++) body(ctx);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
        const double t = ((double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec)) / 5;
        if (t < best) best = t;
    }
    return best;
}

/* layers from a CSV in the peer harness's format (name,N,H,W,Cin,KH,KW,Cout,stride,padding,groups),
   SAME or VALID padding; returns the count read, at most max */
static int read_layers(const char *path, gd_layer *out, int max, int *same) {
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    char line[512];
    int n = 0;
    while (n < max && fgets(line, sizeof line, fp) != NULL) {
        gd_layer *s = &out[n];
        static char names[256][64];
        char pad[16];
        long long v[9], g = 1;
        const int got = sscanf(line, "%63[^,],%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%15[^,\n],%lld", names[n], &v[0],
                               &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], pad, &g);
        if (got < 10) continue; /* the header */
        s->name = names[n];
        s->n = v[0], s->h = v[1], s->w = v[2], s->c = v[3], s->k = v[4], s->kw = v[5], s->cout = v[6], s->stride = v[7];
        s->groups = got == 11 ? g : 1;
        same[n++] = strcmp(pad, "VALID") != 0;
    }
    fclose(fp);
    return n;
}

/* The best 2-thread makespan the executor's guided claims allow (each thread claims
   min(ceil(left / 2), floor(units / 2)) units; the thread free first claims next), from per-unit
   thread CPU times: a bound measurable while other processes use the other core. */
static double two_thread_bound(const double *unit_sec, int64_t units) {
    double clock[2] = {0, 0};
    for (int64_t next = 0; next < units;) {
        const int t = clock[1] < clock[0];
        const int64_t share = (units - next + 1) / 2, fair = units / 2 > 0 ? units / 2 : 1;
        const int64_t end = next + (units < 2 ? units : share < fair ? share : fair);
        for (int64_t i = next; i < end; i++) clock[t] += unit_sec[i];
        next = end;
    }
    return clock[0] > clock[1] ? clock[0] : clock[1];
}

/* per-unit thread CPU seconds of c into unit_sec: each unit run 20 times between two clock reads
   (a thread CPU clock read is a system call of about a microsecond in a VM, as long as a unit),
   best of 7 rounds */
static void unit_seconds(const t_forward *c, double *unit_sec) {
    enum { REPEAT = 20 };
    for (int64_t i = 0; i < c->units; i++) unit_sec[i] = 1e30;
    for (int r = 0; r < 7; r++)
        for (int64_t i = 0; i < c->units; i++) {
            struct timespec a, b;
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
            for (int k = 0; k < REPEAT; k++) t_forward_range(c, c->ws, c->ws_bytes, i, i + 1);
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
            const double t = ((double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec)) / REPEAT;
            if (t < unit_sec[i]) unit_sec[i] = t;
        }
}

static void bench(const char *only) {
    /* estimates as conv4j makes them: from sgemm times measured in this process */
    c4j_cost_measure_with(t_blas());
    if (getenv("GD_ONLY") == NULL) {
        /* the machine's state right now: a large sgemm on the same clock */
        enum { S = 512 };
        float *a = calloc(S * S, sizeof(float)), *b = calloc(S * S, sizeof(float)), *c = calloc(S * S, sizeof(float));
        t_sgemm g = {S, S, S, a, b, c};
        printf("sgemm %d^3: %.1f GFLOP/s\n", S, 2.0 * S * S * S / cpu_seconds(t_sgemm_run, &g) * 1e-9);
        free(a), free(b), free(c);
    }
    /* GD_SHAPES: a CSV of layers instead of the built-in list */
    static gd_layer csv[256];
    static int same[256];
    const char *path = getenv("GD_SHAPES");
    const gd_layer *list = path != NULL ? csv : LAYERS;
    const size_t count = path != NULL ? (size_t)read_layers(path, csv, 256, same) : sizeof LAYERS / sizeof LAYERS[0];
    for (size_t i = 0; i < count; i++) {
        const gd_layer *s = &list[i];
        if (!t_wanted(only, s->name)) continue;
        const int64_t kw = s->kw > 0 ? s->kw : s->k;
        const int sm = same_padding(s, path != NULL ? same : NULL, list);
        const int64_t oh = sm ? (s->h + s->stride - 1) / s->stride : (s->h - s->k) / s->stride + 1;
        const int64_t ow = sm ? (s->w + s->stride - 1) / s->stride : (s->w - kw) / s->stride + 1;
        const int64_t ph = sm ? C4J_MAX((oh - 1) * s->stride + s->k - s->h, 0) : 0;
        const int64_t pw = sm ? C4J_MAX((ow - 1) * s->stride + kw - s->w, 0) : 0;
        c4j_conv2d_desc d;
        t_dense_desc(&d, s->n, s->h, s->w, s->c, s->k, kw, s->cout, s->groups, s->stride, s->stride, 1, 1, ph / 2,
                     ph - ph / 2, pw / 2, pw - pw / 2);
        uint64_t rng = 7;
        const int64_t in_len = d.batch * d.in_stride[0], out_len = d.batch * d.out_stride[0];
        /* 64-byte aligned, as conv4j's tensors are */
        float *in = c4j_alloc(sizeof(float) * (size_t)in_len, 0), *f = c4j_alloc(sizeof(float) * (size_t)c4j_filter_floats(&d), 0);
        float *out = c4j_alloc(sizeof(float) * (size_t)out_len, 0);
        t_fill(in, in_len, &rng);
        t_fill(f, c4j_filter_floats(&d), &rng);
        const double flops = 2.0 * (double)out_len * s->k * kw * (s->c / s->groups);
        /* every algorithm that runs the layer, against its estimate (the filter prepared once) */
        for (int a = C4J_ALGO_GEMM_DIRECT; a <= C4J_ALGO_GROUPED_DIRECT; a++) {
            if (c4j_conv2d_supports(&d, (c4j_algo)a) != C4J_OK) continue;
            if (getenv("GD_ONLY") != NULL && a != C4J_ALGO_GROUPED_DIRECT) continue;
            const int64_t ws_bytes = c4j_conv2d_workspace_bytes(&d, (c4j_algo)a);
            const int64_t prep_floats = c4j_conv2d_prepared_floats(&d, (c4j_algo)a);
            float *prep = prep_floats > 0 ? c4j_alloc(sizeof(float) * (size_t)prep_floats, 0) : NULL;
            if (prep != NULL) c4j_conv2d_prepare(&d, (c4j_algo)a, f, prep, NULL, 0);
            t_forward c = {t_blas(), &d, (c4j_algo)a, in, f, prep, out, c4j_alloc((size_t)ws_bytes, 0), ws_bytes,
                           c4j_conv2d_units(&d, (c4j_algo)a)};
            /* thread CPU time: the machine is shared */
            const double sec = cpu_seconds(t_forward_all, &c);
            if (getenv("GD_PROFILE") != NULL) /* long enough for a profiler */
                for (double t0 = t_now(); t_now() - t0 < 1.0;) t_forward_all(&c);
            printf("%-26s algo %d %8.4f ms %7.2f GFLOP/s  estimate %.4f ms  units %lld", s->name, a, sec * 1e3,
                   flops / sec * 1e-9, c4j_conv2d_estimate_seconds(&d, (c4j_algo)a, 0) * 1e3, (long long)c.units);
            if (getenv("GD_BOUND") != NULL && a == C4J_ALGO_GROUPED_DIRECT) {
                double *unit_sec = malloc(sizeof(double) * (size_t)c.units);
                unit_seconds(&c, unit_sec);
                double sum = 0;
                for (int64_t k = 0; k < c.units; k++) sum += unit_sec[k];
                const double span = two_thread_bound(unit_sec, c.units);
                printf("  units summed %.4f ms, 2-thread makespan %.4f ms, bound %.2fx", sum * 1e3, span * 1e3, sum / span);
                free(unit_sec);
            }
            printf("\n");
            c4j_free(c.ws);
            c4j_free(prep);
        }
        c4j_free(in), c4j_free(f), c4j_free(out);
    }
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "bench") == 0) {
        bench(argc > 2 ? argv[2] : NULL);
        return 0;
    }
    uint64_t rng = 20261206;
    public_api();
    band_properties();
    for (int i = 0; i < 400; i++) random_case(&rng, i);
    if (t_failures) fprintf(stderr, "%d failure(s)\n", t_failures);
    else printf("grouped direct: all cases passed (widths:%s%s%s)\n", " portable", isa_available(1) ? " avx2" : "",
                isa_available(2) ? " avx512" : "");
    return t_failures != 0;
}
