/*
 * Winograd benchmark: GEMM_TILED vs WINOGRAD_2X2 vs WINOGRAD_4X4 on real 3x3 layers (dense NHWC,
 * SAME padding, one thread), and plain sgemm of the same im2col product (M = N*OH*OW,
 * K = 9*Cin, N = Cout) in the same run for reference. Reports the median time and the effective
 * rate 2*N*OH*OW*Cout*9*Cin / time, so all columns are comparable (Winograd does fewer flops).
 * "in sgemm" is the share of the Winograd time spent inside sgemm calls; the rest is the
 * transforms, gathers and epilogue.
 *
 * usage: winograd_bench [min_seconds_per_measurement] [layer name substring] [cpu | mt]
 * "cpu" times with the thread's CPU clock instead of the wall clock (less sensitive to other
 * processes taking the core, not to them sharing caches and memory bandwidth).
 * "mt" prints another table instead: each Winograd algorithm's units, its single-thread cost
 * estimate, and its wall time on 1 and on 2 threads (timed alternately in the same loop), with
 * the units split over the 2 threads the way io.conv4j.internal.ConvExecutor splits them: no
 * second thread below 4 MFLOP per thread, else ranges of consecutive units that the threads claim
 * one at a time, each a share of what is left (ceil(left / 2) units, at most half of all units),
 * each thread with its own workspace.
 * OpenBLAS runs one thread (OPENBLAS_NUM_THREADS=1 unless set otherwise). Other heavy processes on
 * the machine distort the medians: the load average is printed before and after.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "testlib.h"

typedef struct {
    const char *name;
    int64_t n, h, w, cin, cout;
} layer;

static const layer LAYERS[] = {
    {"56x56x64->64", 1, 56, 56, 64, 64},       {"28x28x128->128", 1, 28, 28, 128, 128},
    {"14x14x256->256", 1, 14, 14, 256, 256},   {"7x7x512->512", 1, 7, 7, 512, 512},
    {"224x224x64->64", 1, 224, 224, 64, 64},   {"b32 28x28x128->128", 32, 28, 28, 128, 128},
    {"8x8x4->8", 1, 8, 8, 4, 8},
};

static const c4j_blas *real_blas;
static double sgemm_seconds;

static void timed_sgemm(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                        const float *b, int ldb, float beta, float *c, int ldc) {
    const double t0 = t_now();
    real_blas->sgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    sgemm_seconds += t_now() - t0;
}

static void print_load(const char *when) {
    FILE *f = fopen("/proc/loadavg", "r");
    char line[128] = "?";
    if (f != NULL) {
        if (fgets(line, sizeof line, f) == NULL) line[0] = '\0';
        fclose(f);
    }
    printf("load average %s: %s", when, line);
}

static int use_cpu_clock;

static double now(void) {
    if (!use_cpu_clock) return t_now();
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

#define MAX_RUNS 101
#define C4J_MIN_I(a, b) ((a) < (b) ? (a) : (b))
#define C4J_MAX_I(a, b) ((a) > (b) ? (a) : (b))

typedef void (*run_fn)(void *ctx);

/* median seconds of at least 5 runs and at least min_s in total (after one warm-up run) */
static double median_time(run_fn fn, void *ctx, double min_s) {
    double t[MAX_RUNS];
    int n = 0;
    fn(ctx);
    const double start = t_now();
    while (n < MAX_RUNS && (n < 5 || t_now() - start < min_s)) {
        const double t0 = now();
        fn(ctx);
        t[n++] = now() - t0;
    }
    qsort(t, (size_t)n, sizeof t[0], t_cmp_double);
    return t[n / 2];
}

/* ------------------------------------------------------------------ two threads, ConvExecutor's split */

#define MT_THREADS 2
#define MT_MIN_FLOPS_PER_THREAD 4e6

typedef struct {
    t_forward *c;
    int64_t units;
    atomic_llong next, done; /* units claimed, units run */
    atomic_int active;       /* threads inside mt_work */
} mt_job;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned gen; /* bumped for each job the worker should join */
    int stop;
    mt_job *job;
    void *ws; /* the worker's own workspace */
} mt = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, NULL, NULL};

static void mt_work(mt_job *j, void *ws) {
    long long b = atomic_load(&j->next);
    while (b < j->units) {
        const int64_t share = (j->units - b + MT_THREADS - 1) / MT_THREADS;
        const int64_t e = b + C4J_MIN_I(share, C4J_MAX_I(1, j->units / MT_THREADS));
        if (!atomic_compare_exchange_weak(&j->next, &b, e)) continue; /* b now holds the new next */
        t_forward_range(j->c, ws, j->c->ws_bytes, b, e);
        atomic_fetch_add(&j->done, e - b);
        b = atomic_load(&j->next);
    }
}

static void *mt_worker(void *arg) {
    (void)arg;
    unsigned seen = 0;
    for (;;) {
        pthread_mutex_lock(&mt.mu);
        while (mt.gen == seen && !mt.stop) pthread_cond_wait(&mt.cv, &mt.mu);
        if (mt.stop) {
            pthread_mutex_unlock(&mt.mu);
            return NULL;
        }
        seen = mt.gen;
        mt_job *j = mt.job; /* NULL when the caller already finished it alone */
        if (j != NULL) atomic_fetch_add(&j->active, 1);
        pthread_mutex_unlock(&mt.mu);
        if (j != NULL) {
            mt_work(j, mt.ws);
            atomic_fetch_sub(&j->active, 1);
        }
    }
}

/* one convolution on up to MT_THREADS threads (the caller's workspace is c->ws) */
static void run_conv_mt(void *p) {
    t_forward *c = p;
    const double flops = 2.0 * (double)c->d->batch * (double)c->d->out_h * (double)c->d->out_w *
                         (double)c->d->out_c * 9.0 * (double)(c->d->in_c / c->d->groups);
    int64_t want = C4J_MIN_I(C4J_MIN_I(MT_THREADS, c->units), C4J_MAX_I(1, (int64_t)(flops / MT_MIN_FLOPS_PER_THREAD)));
    if (want == 1) {
        t_forward_all(c);
        return;
    }
    mt_job j;
    j.c = c;
    j.units = c->units;
    atomic_init(&j.next, 0);
    atomic_init(&j.done, 0);
    atomic_init(&j.active, 0);
    pthread_mutex_lock(&mt.mu);
    mt.job = &j;
    mt.gen++;
    pthread_cond_signal(&mt.cv);
    pthread_mutex_unlock(&mt.mu);
    mt_work(&j, c->ws);
    while (atomic_load(&j.done) < j.units) sched_yield();
    /* j lives on this stack: a worker that has not picked it up yet never will, one that has is
       at most one failed claim away from leaving it */
    pthread_mutex_lock(&mt.mu);
    mt.job = NULL;
    pthread_mutex_unlock(&mt.mu);
    while (atomic_load(&j.active) > 0) sched_yield();
}

/* medians of 1-thread and 2-thread wall times, timed alternately */
static void median_pair(t_forward *c, double min_s, double *t1, double *t2) {
    double a[MAX_RUNS], b[MAX_RUNS];
    int n = 0;
    t_forward_all(c);
    run_conv_mt(c);
    const double start = t_now();
    while (n < MAX_RUNS && (n < 7 || t_now() - start < 2 * min_s)) {
        double t0 = t_now();
        t_forward_all(c);
        a[n] = t_now() - t0;
        t0 = t_now();
        run_conv_mt(c);
        b[n++] = t_now() - t0;
    }
    qsort(a, (size_t)n, sizeof a[0], t_cmp_double);
    qsort(b, (size_t)n, sizeof b[0], t_cmp_double);
    *t1 = a[n / 2];
    *t2 = b[n / 2];
}

static int main_mt(double min_s, const char *only) {
    printf("OpenBLAS %s, core %s; wall-clock medians of >= 7 alternating runs and >= %.1f s each; units split "
           "over %d threads as ConvExecutor does\n",
           real_blas->get_config ? real_blas->get_config() : "?",
           real_blas->get_corename ? real_blas->get_corename() : "?", min_s, MT_THREADS);
    printf("%-20s %-4s | %6s %9s | %9s %9s %6s\n", "layer", "algo", "units", "est ms", "1T ms", "2T ms", "2T/1T");
    pthread_t th;
    if (pthread_create(&th, NULL, mt_worker, NULL) != 0) return 1;
    uint64_t rng = 42;
    for (size_t l = 0; l < sizeof LAYERS / sizeof LAYERS[0]; l++) {
        const layer *L = &LAYERS[l];
        if (only && !strstr(L->name, only)) continue;
        c4j_conv2d_desc d;
        t_dense_desc(&d, L->n, L->h, L->w, L->cin, 3, 3, L->cout, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        const int64_t in_len = L->n * L->h * L->w * L->cin, f_len = 9 * L->cin * L->cout;
        const int64_t out_len = L->n * d.out_h * d.out_w * L->cout;
        float *in = c4j_alloc(sizeof(float) * (size_t)in_len, 0), *f = c4j_alloc(sizeof(float) * (size_t)f_len, 0);
        float *out = c4j_alloc(sizeof(float) * (size_t)out_len, 0);
        t_fill(in, in_len, &rng);
        t_fill(f, f_len, &rng);
        for (c4j_algo algo = C4J_ALGO_WINOGRAD_2X2; algo <= C4J_ALGO_WINOGRAD_4X4; algo++) {
            char err[256];
            const int64_t pf = c4j_conv2d_prepared_floats(&d, algo);
            float *prep = c4j_alloc(sizeof(float) * (size_t)pf, 0);
            if (c4j_conv2d_prepare(&d, algo, f, prep, err, sizeof err) != C4J_OK) {
                fprintf(stderr, "prepare: %s\n", err);
                return 1;
            }
            t_forward c = {real_blas, &d, algo, in, f, prep, out, NULL, 0, 0};
            c.units = c4j_conv2d_units(&d, algo);
            c.ws_bytes = c4j_conv2d_workspace_bytes(&d, algo);
            c.ws = c4j_alloc((size_t)c.ws_bytes, 0);
            mt.ws = c4j_alloc((size_t)c.ws_bytes, 0);
            double t1, t2;
            median_pair(&c, min_s, &t1, &t2);
            printf("%-20s %-4s | %6lld %9.4f | %9.4f %9.4f %6.2f\n", L->name, algo == C4J_ALGO_WINOGRAD_2X2 ? "2x2" : "4x4",
                   (long long)c.units, c4j_conv2d_estimate_seconds(&d, algo, 0) * 1e3, t1 * 1e3, t2 * 1e3, t1 / t2);
            fflush(stdout);
            c4j_free(mt.ws);
            mt.ws = NULL;
            c4j_free(c.ws);
            c4j_free(prep);
        }
        c4j_free(in);
        c4j_free(f);
        c4j_free(out);
    }
    pthread_mutex_lock(&mt.mu);
    mt.stop = 1;
    pthread_cond_signal(&mt.cv);
    pthread_mutex_unlock(&mt.mu);
    pthread_join(th, NULL);
    return 0;
}

int main(int argc, char **argv) {
    const double min_s = argc > 1 ? atof(argv[1]) : 1.0;
    const char *only = argc > 2 && argv[2][0] != '\0' ? argv[2] : NULL;
    use_cpu_clock = argc > 3 && strcmp(argv[3], "cpu") == 0;
    setenv("OPENBLAS_NUM_THREADS", "1", 0); /* before OpenBLAS loads: no idle worker threads spinning */
    real_blas = t_blas();
    print_load("before");
    if (argc > 3 && strcmp(argv[3], "mt") == 0) {
        const int rc = main_mt(min_s, only);
        print_load("after");
        return rc;
    }
    c4j_blas timed = *real_blas;
    timed.sgemm = timed_sgemm;
    printf("OpenBLAS %s, core %s, 1 thread; median of >= 5 runs and >= %.1f s (%s clock); ms and effective "
           "GFLOP/s\n",
           real_blas->get_config ? real_blas->get_config() : "?",
           real_blas->get_corename ? real_blas->get_corename() : "?", min_s, use_cpu_clock ? "thread CPU" : "wall");
    printf("%-20s | %16s | %16s | %16s %6s | %16s %6s | %6s %6s | %6s %6s\n", "layer", "sgemm im2col", "gemm_tiled",
           "winograd_2x2", "sgemm%", "winograd_4x4", "sgemm%", "2x2/tl", "4x4/tl", "2x2/sg", "4x4/sg");
    uint64_t rng = 42;
    for (size_t l = 0; l < sizeof LAYERS / sizeof LAYERS[0]; l++) {
        const layer *L = &LAYERS[l];
        if (only && !strstr(L->name, only)) continue;
        c4j_conv2d_desc d;
        t_dense_desc(&d, L->n, L->h, L->w, L->cin, 3, 3, L->cout, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        const double flops = 2.0 * L->n * d.out_h * d.out_w * L->cout * 9 * L->cin;
        const int64_t in_len = L->n * L->h * L->w * L->cin, f_len = 9 * L->cin * L->cout;
        const int64_t out_len = L->n * d.out_h * d.out_w * L->cout;
        float *in = c4j_alloc(sizeof(float) * (size_t)in_len, 0), *f = c4j_alloc(sizeof(float) * (size_t)f_len, 0);
        float *out = c4j_alloc(sizeof(float) * (size_t)out_len, 0);
        t_fill(in, in_len, &rng);
        t_fill(f, f_len, &rng);

        /* plain sgemm of the im2col product, same shapes */
        t_sgemm g = {(int)(L->n * d.out_h * d.out_w), (int)L->cout, (int)(9 * L->cin), NULL, f, out};
        float *a = c4j_alloc(sizeof(float) * (size_t)g.m * (size_t)g.k, 0);
        t_fill(a, (int64_t)g.m * g.k, &rng);
        g.a = a;
        const double t_gemm = median_time(t_sgemm_run, &g, min_s);
        c4j_free(a);

        double t_algo[3], share[3] = {0, 0, 0};
        const c4j_algo algos[3] = {C4J_ALGO_GEMM_TILED, C4J_ALGO_WINOGRAD_2X2, C4J_ALGO_WINOGRAD_4X4};
        for (int k = 0; k < 3; k++) {
            char err[256];
            t_forward c = {real_blas, &d, algos[k], in, f, NULL, out, NULL, 0, 0};
            const int64_t pf = c4j_conv2d_prepared_floats(&d, algos[k]);
            float *prep = pf > 0 ? c4j_alloc(sizeof(float) * (size_t)pf, 0) : NULL;
            double t_prep = 0;
            for (int rep = 0; prep && rep < 2; rep++) { /* the second time, without first-touch page faults */
                const double tp0 = t_now();
                if (c4j_conv2d_prepare(&d, algos[k], f, prep, err, sizeof err) != C4J_OK) {
                    fprintf(stderr, "prepare: %s\n", err);
                    return 1;
                }
                t_prep = t_now() - tp0;
            }
            c.prepared = prep;
            c.units = c4j_conv2d_units(&d, algos[k]);
            c.ws_bytes = c4j_conv2d_workspace_bytes(&d, algos[k]);
            c.ws = c.ws_bytes > 0 ? c4j_alloc((size_t)c.ws_bytes, 0) : NULL;
            t_algo[k] = median_time(t_forward_all, &c, min_s);
            /* one more run through the timing wrapper for the sgemm share */
            c.blas = &timed;
            sgemm_seconds = 0;
            const double t0 = t_now();
            t_forward_all(&c);
            share[k] = sgemm_seconds / (t_now() - t0);
            if (k > 0)
                fprintf(stderr, "  [%s %s: %lld units, workspace %lld bytes, prepared %lld floats in %.2f ms]\n",
                        L->name, k == 1 ? "2x2" : "4x4", (long long)c.units, (long long)c.ws_bytes, (long long)pf,
                        t_prep * 1e3);
            c4j_free(c.ws);
            c4j_free(prep);
        }
        printf("%-20s | %8.4f %7.1f | %8.4f %7.1f | %8.4f %7.1f %5.0f%% | %8.4f %7.1f %5.0f%% | %6.2f %6.2f | %6.2f %6.2f\n",
               L->name, t_gemm * 1e3, flops / t_gemm * 1e-9, t_algo[0] * 1e3, flops / t_algo[0] * 1e-9,
               t_algo[1] * 1e3, flops / t_algo[1] * 1e-9, share[1] * 100, t_algo[2] * 1e3, flops / t_algo[2] * 1e-9,
               share[2] * 100, t_algo[0] / t_algo[1], t_algo[0] / t_algo[2], t_gemm / t_algo[1], t_gemm / t_algo[2]);
        fflush(stdout);
        c4j_free(in);
        c4j_free(f);
        c4j_free(out);
    }
    print_load("after");
    printf("ratios: x/tl = GEMM_TILED time / Winograd time, x/sg = plain im2col sgemm time / Winograd time (> 1: Winograd faster)\n");
    return 0;
}
