/*
 * Benchmark of the N-d engine (no JVM), one thread: 1-D and 3-D layers in float32 and float64 and the
 * seed's 2-D layer in float64, against the plain route of the same GEMM measured in the same run:
 * a whole-batch im2col (a plain loop, timed) followed by one sgemm/dgemm (M = N * output pixels,
 * K = taps * Cin, N = Cout), and that GEMM alone. For 1-D float32 layers it also times the 2-D
 * engine's tiled GEMM on the height-1 view, which is what the Java API runs for them.
 *
 *   nd_bench [--min-time SECONDS] [--layers a,b]
 *
 * Timing policy as conv4j_bench (testlib): 3 warm-up calls, then max(5, ceil(min_time / estimate))
 * timed calls, median.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../test/testlib.h"
#include "conv4j_nd.h"

typedef struct {
    const char *name;
    int rank, dtype;
    int64_t n, in[3], c, k[3], cout, stride, pad; /* unused leading axes: 1; same stride and pad on every used axis */
} layer;

static const layer LAYERS[] = {
    {"1d_audio_n8_w4096_c64_k9to64", 1, C4J_F32, 8, {1, 1, 4096}, 64, {1, 1, 9}, 64, 1, 4},
    {"1d_tcn_n16_w1024_c128_k3to128", 1, C4J_F32, 16, {1, 1, 1024}, 128, {1, 1, 3}, 128, 1, 1},
    {"1d_wave_n4_w16000_c32_k5s2to64", 1, C4J_F32, 4, {1, 1, 16000}, 32, {1, 1, 5}, 64, 2, 2},
    {"3d_c3d_8x28x28x64_k3to64", 3, C4J_F32, 1, {8, 28, 28}, 64, {3, 3, 3}, 64, 1, 1},
    {"3d_vol_32x32x32x16_k3to32", 3, C4J_F32, 1, {32, 32, 32}, 16, {3, 3, 3}, 32, 1, 1},
    {"3d_s2_16x56x56x32_k3to64", 3, C4J_F32, 1, {16, 56, 56}, 32, {3, 3, 3}, 64, 2, 1},
    {"f64_seed_n4_64x64x3_5x5to16", 2, C4J_F64, 4, {1, 64, 64}, 3, {1, 5, 5}, 16, 1, 0},
    {"f64_1d_tcn_n16_w1024_c128_k3to128", 1, C4J_F64, 16, {1, 1, 1024}, 128, {1, 1, 3}, 128, 1, 1},
    {"f64_2d_3x3_28x28x128to128", 2, C4J_F64, 1, {1, 28, 28}, 128, {1, 3, 3}, 128, 1, 1},
    {"f64_3d_vol_32x32x32x16_k3to32", 3, C4J_F64, 1, {32, 32, 32}, 16, {3, 3, 3}, 32, 1, 1},
};

static void make_desc(const layer *l, c4j_nd_desc *d) {
    memset(d, 0, sizeof *d);
    d->rank = l->rank;
    d->dtype = l->dtype;
    d->batch = l->n;
    d->in_c = l->c;
    d->out_c = l->cout;
    d->groups = 1;
    for (int a = 0; a < 3; a++) {
        int used = a >= 3 - l->rank;
        d->in_size[a] = l->in[a];
        d->kernel[a] = l->k[a];
        d->stride[a] = used ? l->stride : 1;
        d->dilation[a] = 1;
        d->pad[a] = used ? l->pad : 0;
        d->out_size[a] = (d->in_size[a] + 2 * d->pad[a] - d->kernel[a]) / d->stride[a] + 1;
    }
    int64_t in_dims[5] = {d->batch, d->in_size[0], d->in_size[1], d->in_size[2], d->in_c};
    int64_t out_dims[5] = {d->batch, d->out_size[0], d->out_size[1], d->out_size[2], d->out_c};
    d->in_stride[4] = d->out_stride[4] = 1;
    for (int i = 3; i >= 0; i--) {
        d->in_stride[i] = d->in_stride[i + 1] * in_dims[i + 1];
        d->out_stride[i] = d->out_stride[i + 1] * out_dims[i + 1];
    }
}

typedef struct {
    const c4j_nd_desc *d;
    const void *x, *w;
    void *y, *ws, *cols;
    int64_t ws_bytes, units, m, k;
    c4j_conv2d_desc d2;
    int64_t units2;
} ctx_t;

static void run_nd(void *p) {
    ctx_t *c = p;
    char err[200];
    if (c4j_nd_run(t_blas(), c->d, C4J_ND_FORWARD, 0, c->x, c->w, NULL, c->y, c->ws, c->ws_bytes, 0, c->units, err,
                   sizeof err) != C4J_OK) {
        fprintf(stderr, "nd_bench: %s\n", err);
        exit(1);
    }
}

static void run_2d(void *p) {
    ctx_t *c = p;
    char err[200];
    if (c4j_conv2d_forward(t_blas(), &c->d2, C4J_ALGO_GEMM_TILED, c->x, c->w, NULL, NULL, c->y, c->ws,
                           c4j_conv2d_workspace_bytes(&c->d2, C4J_ALGO_GEMM_TILED), 0, c->units2, err, sizeof err) != C4J_OK) {
        fprintf(stderr, "nd_bench: %s\n", err);
        exit(1);
    }
}

/* The plain whole-batch im2col: one row per output pixel, taps then channels, zeros for padding. */
static void im2col(const ctx_t *c) {
    const c4j_nd_desc *d = c->d;
    const size_t eb = d->dtype == C4J_F64 ? 8 : 4;
    char *row = c->cols;
    for (int64_t n = 0; n < d->batch; n++)
        for (int64_t o0 = 0; o0 < d->out_size[0]; o0++)
            for (int64_t o1 = 0; o1 < d->out_size[1]; o1++)
                for (int64_t o2 = 0; o2 < d->out_size[2]; o2++)
                    for (int64_t k0 = 0; k0 < d->kernel[0]; k0++)
                        for (int64_t k1 = 0; k1 < d->kernel[1]; k1++)
                            for (int64_t k2 = 0; k2 < d->kernel[2]; k2++, row += d->in_c * eb) {
                                int64_t i0 = o0 * d->stride[0] - d->pad[0] + k0, i1 = o1 * d->stride[1] - d->pad[1] + k1;
                                int64_t i2 = o2 * d->stride[2] - d->pad[2] + k2;
                                if (i0 < 0 || i1 < 0 || i2 < 0 || i0 >= d->in_size[0] || i1 >= d->in_size[1] ||
                                    i2 >= d->in_size[2]) {
                                    memset(row, 0, d->in_c * eb);
                                    continue;
                                }
                                int64_t off = n * d->in_stride[0] + i0 * d->in_stride[1] + i1 * d->in_stride[2] +
                                              i2 * d->in_stride[3];
                                memcpy(row, (const char *)c->x + off * eb, d->in_c * eb);
                            }
}

static void gemm(const ctx_t *c) {
    const c4j_nd_desc *d = c->d;
    if (d->dtype == C4J_F64)
        t_blas()->dgemm(C4J_ROW_MAJOR, C4J_NO_TRANS, C4J_NO_TRANS, (int)c->m, (int)d->out_c, (int)c->k, 1.0, c->cols,
                        (int)c->k, c->w, (int)d->out_c, 0.0, c->y, (int)d->out_c);
    else
        t_blas()->sgemm(C4J_ROW_MAJOR, C4J_NO_TRANS, C4J_NO_TRANS, (int)c->m, (int)d->out_c, (int)c->k, 1.0f, c->cols,
                        (int)c->k, c->w, (int)d->out_c, 0.0f, c->y, (int)d->out_c);
}

static void run_im2col_gemm(void *p) {
    im2col(p);
    gemm(p);
}

static void run_gemm(void *p) { gemm(p); }

int main(int argc, char **argv) {
    double min_time = 0.5;
    const char *wanted = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--min-time") == 0 && i + 1 < argc) min_time = atof(argv[++i]);
        else if (strcmp(argv[i], "--layers") == 0 && i + 1 < argc) wanted = argv[++i];
        else {
            fprintf(stderr, "usage: nd_bench [--min-time SECONDS] [--layers a,b]\n");
            return 2;
        }
    }
    printf("%-36s %6s %9s %9s %11s %9s %8s %8s %9s\n", "layer", "dtype", "nd_ms", "2d_ms", "im2col+mm", "mm_ms",
           "vs_i2c", "vs_mm", "GFLOP/s");
    uint64_t rng = 7;
    for (size_t li = 0; li < sizeof LAYERS / sizeof *LAYERS; li++) {
        const layer *l = &LAYERS[li];
        if (!t_wanted(wanted, l->name)) continue;
        c4j_nd_desc d;
        make_desc(l, &d);
        ctx_t c;
        memset(&c, 0, sizeof c);
        c.d = &d;
        size_t eb = l->dtype == C4J_F64 ? 8 : 4;
        int64_t in_n = d.batch * d.in_stride[0], out_n = d.batch * d.out_stride[0];
        int64_t taps = d.kernel[0] * d.kernel[1] * d.kernel[2];
        c.m = d.batch * d.out_size[0] * d.out_size[1] * d.out_size[2];
        c.k = taps * d.in_c;
        void *x = c4j_alloc(in_n * eb, 0), *w = c4j_alloc(c.k * d.out_c * eb, 0), *y = c4j_alloc(out_n * eb, 0);
        c.cols = c4j_alloc((size_t)(c.m * c.k) * eb, 0);
        if (!x || !w || !y || !c.cols) {
            fprintf(stderr, "nd_bench: out of memory for %s\n", l->name);
            return 1;
        }
        for (int64_t i = 0; i < in_n; i++) {
            double v = (double)(t_rand(&rng) % 2001) / 1000.0 - 1.0;
            if (eb == 8) ((double *)x)[i] = v; else ((float *)x)[i] = (float)v;
        }
        for (int64_t i = 0; i < c.k * d.out_c; i++) {
            double v = (double)(t_rand(&rng) % 2001) / 1000.0 - 1.0;
            if (eb == 8) ((double *)w)[i] = v; else ((float *)w)[i] = (float)v;
        }
        c.x = x;
        c.w = w;
        c.y = y;
        c.units = c4j_nd_units(&d, C4J_ND_FORWARD, 0);
        c.ws_bytes = c4j_nd_workspace_bytes(&d, C4J_ND_FORWARD, 0);
        int64_t ws2 = 0;
        int one_d_f32 = l->rank == 1 && l->dtype == C4J_F32;
        if (one_d_f32) {
            t_dense_desc(&c.d2, d.batch, 1, d.in_size[2], d.in_c, 1, d.kernel[2], d.out_c, 1, 1, d.stride[2], 1, 1, 0, 0,
                         d.pad[2], d.pad[2]);
            c.units2 = c4j_conv2d_units(&c.d2, C4J_ALGO_GEMM_TILED);
            ws2 = c4j_conv2d_workspace_bytes(&c.d2, C4J_ALGO_GEMM_TILED);
        }
        c.ws = c4j_alloc((size_t)(c.ws_bytes > ws2 ? c.ws_bytes : ws2) + 64, 0);
        double t_nd = t_median_seconds(run_nd, &c, min_time);
        double t_2d = one_d_f32 ? t_median_seconds(run_2d, &c, min_time) : -1;
        double t_i2c = t_median_seconds(run_im2col_gemm, &c, min_time);
        double t_mm = t_median_seconds(run_gemm, &c, min_time);
        double flops = 2.0 * (double)c.m * (double)c.k * (double)d.out_c;
        double best = one_d_f32 && t_2d < t_nd ? t_2d : t_nd;
        printf("%-36s %6s %9.3f %9s %11.3f %9.3f %8.2f %8.2f %9.1f\n", l->name, eb == 8 ? "f64" : "f32", t_nd * 1e3,
               one_d_f32 ? (char[16]){0} : "-", t_i2c * 1e3, t_mm * 1e3, t_i2c / best, t_mm / best, flops / best * 1e-9);
        if (one_d_f32) printf("%-36s %6s %9s %9.3f   (2-D engine, height-1 view: what the Java API runs)\n", "", "", "", t_2d * 1e3);
        fflush(stdout);
        c4j_free(x);
        c4j_free(w);
        c4j_free(y);
        c4j_free(c.cols);
        c4j_free(c.ws);
    }
    return 0;
}
