/*
 * The cost model measured on this machine (cost_measure.c): once the BLAS is named, estimates
 * come from timings, every estimate of a shape is the same afterwards (one route per convolution
 * per process), also when asked from several threads at once, and convolutions whose sgemm row
 * pieces were chosen from timings still match the double reference.
 */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "../src/internal.h"
#include "testlib.h"

static const c4j_algo ALGOS[] = {C4J_ALGO_GEMM_DIRECT, C4J_ALGO_GEMM_TILED, C4J_ALGO_WINOGRAD_2X2,
                                 C4J_ALGO_WINOGRAD_4X4, C4J_ALGO_FFT};
enum { N_ALGOS = sizeof ALGOS / sizeof ALGOS[0], N_LAYERS = 6 };

static void layers(c4j_conv2d_desc d[N_LAYERS]) {
    t_dense_desc(&d[0], 1, 20, 20, 32, 1, 1, 48, 1, 1, 1, 1, 1, 0, 0, 0, 0);   /* 1x1 */
    t_dense_desc(&d[1], 2, 17, 17, 24, 1, 7, 40, 1, 1, 1, 1, 1, 0, 0, 3, 3);   /* 1x7 */
    t_dense_desc(&d[2], 1, 17, 13, 24, 7, 1, 24, 1, 1, 1, 1, 1, 3, 3, 0, 0);   /* 7x1 */
    t_dense_desc(&d[3], 2, 23, 23, 16, 3, 3, 32, 1, 2, 2, 1, 1, 0, 1, 0, 1);   /* 3x3 stride 2 */
    t_dense_desc(&d[4], 3, 19, 21, 8, 3, 3, 16, 1, 1, 1, 1, 1, 1, 1, 1, 1);    /* 3x3 */
    t_dense_desc(&d[5], 1, 30, 30, 5, 5, 5, 12, 1, 1, 1, 1, 1, 0, 0, 0, 0);    /* 5x5 */
}

static void estimates(const c4j_conv2d_desc d[N_LAYERS], double out[N_LAYERS][N_ALGOS + 1]) {
    for (int i = 0; i < N_LAYERS; i++) {
        for (int a = 0; a < N_ALGOS; a++) out[i][a] = c4j_conv2d_estimate_seconds(&d[i], ALGOS[a], 1);
        out[i][N_ALGOS] = c4j_conv2d_roofline_seconds(&d[i]);
    }
}

static void *estimate_thread(void *arg) {
    c4j_conv2d_desc d[N_LAYERS];
    layers(d);
    estimates(d, arg);
    return NULL;
}

static void check_forward(const c4j_conv2d_desc *d, c4j_algo algo) {
    if (c4j_conv2d_supports(d, algo) != C4J_OK) return;
    uint64_t st = 7;
    const int64_t in_n = t_view_len((const int64_t[]){d->batch, d->in_h, d->in_w, d->in_c}, d->in_stride);
    const int64_t out_n = d->batch * d->out_h * d->out_w * d->out_c;
    const int64_t w_n = d->kernel_h * d->kernel_w * (d->in_c / d->groups) * d->out_c;
    float *in = malloc((size_t)in_n * sizeof(float)), *w = malloc((size_t)w_n * sizeof(float));
    float *out = malloc((size_t)out_n * sizeof(float));
    double *ref = malloc((size_t)out_n * sizeof(double));
    const int64_t prep_n = c4j_conv2d_prepared_floats(d, algo), ws_n = c4j_conv2d_workspace_bytes(d, algo);
    float *prep = prep_n > 0 ? c4j_alloc((size_t)prep_n * sizeof(float), 0) : NULL;
    void *ws = ws_n > 0 ? c4j_alloc((size_t)ws_n, 0) : NULL;
    T_CHECK(in && w && out && ref && (prep_n == 0 || prep) && (ws_n == 0 || ws), "allocation");
    if (in && w && out && ref && (prep_n == 0 || prep) && (ws_n == 0 || ws)) {
        t_fill(in, in_n, &st);
        t_fill(w, w_n, &st);
        if (prep_n > 0) c4j_conv2d_prepare(d, algo, w, prep, NULL, 0);
        char err[256] = "";
        c4j_status s = c4j_conv2d_forward(t_blas(), d, algo, in, w, prep, NULL, out, ws, ws_n,
                                          0, c4j_conv2d_units(d, algo), err, sizeof err);
        T_CHECK(s == C4J_OK, "forward algo %d: %s", (int)algo, err);
        t_reference(d, in, w, NULL, ref);
        double worst = 0;
        for (int64_t i = 0; i < out_n; i++) worst = fmax(worst, fabs(out[i] - ref[i]));
        T_CHECK(worst < 1e-3, "algo %d: max error %g", (int)algo, worst);
    }
    free(in);
    free(w);
    free(out);
    free(ref);
    c4j_free(prep);
    c4j_free(ws);
}

int main(void) {
    c4j_conv2d_desc d[N_LAYERS];
    layers(d);
    static double model[N_LAYERS][N_ALGOS + 1], first[N_LAYERS][N_ALGOS + 1], again[2][N_LAYERS][N_ALGOS + 1];
    estimates(d, model);

    c4j_cost_measure_with(t_blas());
    estimates(d, first);
    /* the same shapes asked again, from two threads at once: the values measured first */
    pthread_t th[2];
    for (int i = 0; i < 2; i++) T_CHECK(pthread_create(&th[i], NULL, estimate_thread, again[i]) == 0, "thread");
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < N_LAYERS; i++)
        for (int a = 0; a <= N_ALGOS; a++) {
            T_CHECK((first[i][a] < 0) == (model[i][a] < 0), "layer %d algo %d: applicability changed", i, a);
            T_CHECK(first[i][a] < 0 || first[i][a] > 0, "layer %d algo %d: estimate %g", i, a, first[i][a]);
            for (int t = 0; t < 2; t++)
                T_CHECK(memcmp(&first[i][a], &again[t][i][a], sizeof(double)) == 0,
                        "layer %d algo %d: estimate %g then %g", i, a, first[i][a], again[t][i][a]);
        }

    /* the filter gradient's A-transposed sgemm is timed as its own shape: a table that mixed up the
       two forms would hand one form's time to the other, bit for bit; each is kept once timed */
    const double plain = c4j_cost_sgemm_measured(36, 64, 8), at = c4j_cost_sgemm_at_measured(36, 64, 8);
    T_CHECK(plain > 0 && at > 0, "sgemm 36 x 64 x 8 measured: plain %g, A transposed %g", plain, at);
    T_CHECK(memcmp(&plain, &at, sizeof plain) != 0, "A transposed got the plain form's time %g", at);
    const double at_again = c4j_cost_sgemm_at(36, 64, 8);
    T_CHECK(memcmp(&at, &at_again, sizeof at) == 0, "A transposed: %g then %g", at, at_again);

    /* row pieces chosen from timings: results still match the reference */
    for (int i = 0; i < N_LAYERS; i++)
        for (int a = 0; a < N_ALGOS; a++) check_forward(&d[i], ALGOS[a]);

    c4j_cost_measure_with(NULL);
    T_CHECK(c4j_cost_sgemm_at(36, 64, 8) == c4j_cost_sgemm_model(36, 64, 8), "A transposed without measuring");
    if (t_failures) fprintf(stderr, "%d failure(s)\n", t_failures);
    else printf("test_cost: ok\n");
    return t_failures ? 1 : 0;
}
