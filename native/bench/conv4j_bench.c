/*
 * Benchmark of the native core alone (no JVM): every algorithm that can run a shape, single
 * thread, against the plain OpenBLAS sgemm of the same im2col GEMM (M = N*OH*OW, K = KH*KW*Cin,
 * N = Cout, patch matrix built outside the timed region) measured in the same run.
 *
 *   conv4j_bench [SHAPES.csv] [--shapes a,b] [--algos a,b] [--threads 1,2] [--spin] [--min-time SECONDS]
 *
 * --threads times every algorithm once per listed thread count (same run, same buffers). With more
 * than one thread the units are shared out the way Java's ConvExecutor does it: min(threads, units)
 * threads, each claiming a share of the units left (ceil(left / threads), at most floor(units /
 * threads): guided self-scheduling;
 * --claims fixed: the earlier min(units, 4 per thread) equal chunks), the caller working
 * alongside persistent workers that sleep on a condition variable between calls, each thread with
 * its own workspace. Results do not depend on the split (units are fixed by the descriptor).
 * --spin makes a worker poll (sched_yield) for 2 ms after each job before it sleeps, which leaves
 * the wake-up latency of a sleeping thread (tens of microseconds on some machines) out of the
 * back-to-back timed calls. --serial runs each split's claims one after another on the calling thread
 * instead, each timed, the threads' clocks simulated, and prints their sum against one call of all
 * units (the work the split adds) and the makespan (fastest of the repetitions): what the split
 * allows, measurable where the other cores are busy with other processes.
 *
 * SHAPES.csv has the columns of ../shared/bench/shapes.csv (name,N,H,W,Cin,KH,KW,Cout,stride,padding);
 * without it a built-in list of the same layer shapes is used. Data and timing policy follow the
 * peer harness: 3 warm-up calls, then max(5, ceil(min_time / estimate)) timed calls, median.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>

#include "../test/testlib.h"

/* beyond the peer layers (T_PEER_LAYERS), for runs without a shapes file */
static const t_layer EXTRA[] = {
    /* more large kernels, for where FFT overtakes the tiled GEMM */
    {"bigk_11x11_64x3to16", 1, 64, 64, 3, 11, 11, 16, 1, 1},
    {"bigk_11x11_n4_64x16", 4, 64, 64, 16, 11, 11, 16, 1, 1},
    {"bigk_9x9_32x64", 1, 32, 32, 64, 9, 9, 64, 1, 1},
    {"bigk_7x7_56x32", 1, 56, 56, 32, 7, 7, 32, 1, 1},
    {"bigk_7x7_n4_56x32", 4, 56, 56, 32, 7, 7, 32, 1, 1},
    {"bigk_5x5_64x32", 1, 64, 64, 32, 5, 5, 32, 1, 1},
    {"bigk_5x5_32x128", 1, 32, 32, 128, 5, 5, 128, 1, 1},
    {"bigk_3x3_64x32", 1, 64, 64, 32, 3, 3, 32, 1, 1},
    /* strided layers that space to depth (s2d.c) turns into Winograd or FFT ones */
    {"s2_5x5_56x32to64", 1, 56, 56, 32, 5, 5, 64, 2, 1},
    {"s4_11x11_227x3to96", 1, 227, 227, 3, 11, 11, 96, 4, 0},
    {"s2_3x3_56x128", 1, 56, 56, 128, 3, 3, 128, 2, 1},
};

static const struct {
    c4j_algo id;
    const char *name;
} ALGOS[] = {{C4J_ALGO_GEMM_DIRECT, "gemm_direct"}, {C4J_ALGO_GEMM_TILED, "gemm_tiled"},
             {C4J_ALGO_WINOGRAD_2X2, "winograd_2x2"}, {C4J_ALGO_WINOGRAD_4X4, "winograd_4x4"},
             {C4J_ALGO_FFT, "fft"}, {C4J_ALGO_WINOGRAD_1D, "winograd_1d"},
             {C4J_ALGO_DIRECT_DENSE, "direct_dense"}, {C4J_ALGO_DIRECT_NARROW, "direct_narrow"},
             {C4J_ALGO_WINOGRAD_K2, "winograd_k2"}};

static double min_time = 0.5;

typedef void (*body_fn)(void *ctx);

/* the peer harness's timing policy (testlib) */
static double median_seconds(body_fn body, void *ctx) { return t_median_seconds(body, ctx, min_time); }

/* ------------------------------------------------------------------ ConvExecutor-like pool */

#define MAX_THREADS 64
static int n_threads_max = 1;       /* workers started: the largest --threads value - 1 */
static pthread_t workers[MAX_THREADS];
static void *worker_ws[MAX_THREADS + 1]; /* per thread (0 = caller), grown on demand */
static int64_t worker_ws_bytes[MAX_THREADS + 1];
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cv = PTHREAD_COND_INITIALIZER;
static long pool_gen;               /* bumped per job; workers with index < pool_want - 1 join */
static int pool_want;
static t_forward *pool_job;
static atomic_llong pool_next, pool_done; /* units claimed, units run */

static void ensure_ws(int t, int64_t bytes) {
    if (worker_ws_bytes[t] >= bytes) return;
    c4j_free(worker_ws[t]);
    worker_ws[t] = c4j_alloc((size_t)bytes, 0);
    worker_ws_bytes[t] = bytes;
}

/* --claims fixed: the split before guided claims, min(units, 4 per thread) equal chunks */
static int fixed_chunks;

/* The end of the claim that starts at unit `next` of `units` on `want` threads: as ConvExecutor,
   a share of what is left, ceil(left / want) units but at most floor(units / want) (guided
   self-scheduling), or with --claims
   fixed the chunk of min(units, 4 per thread) equal ones that starts there. */
static int64_t pool_claim_end(int64_t next, int64_t units, int want) {
    if (want <= 1) return units;
    if (!fixed_chunks) {
        const int64_t share = (units - next + want - 1) / want, fair = units / want > 0 ? units / want : 1;
        return next + (share < fair ? share : fair);
    }
    const int64_t chunks = units < 4 * want ? units : 4 * want;
    int64_t k = next * chunks / units;
    while (units * (k + 1) / chunks <= next) k++;
    return units * (k + 1) / chunks;
}

static void pool_work(int t) {
    t_forward *c = pool_job;
    long long b = atomic_load(&pool_next);
    while (b < c->units) {
        const int64_t e = pool_claim_end(b, c->units, pool_want);
        if (!atomic_compare_exchange_weak(&pool_next, &b, e)) continue; /* b now holds the new next */
        t_forward_range(c, worker_ws[t], worker_ws_bytes[t], b, e);
        atomic_fetch_add(&pool_done, e - b);
        b = atomic_load(&pool_next);
    }
}

static int spin_workers; /* --spin: workers poll instead of sleeping (no wake-up latency) */
static atomic_long pool_gen_seen;

static void *worker_main(void *arg) {
    const int t = (int)(intptr_t)arg; /* 1.. */
    long seen = 0;
    for (;;) {
        if (spin_workers && seen > 0) { /* poll for the next job for up to 2 ms, then sleep */
            const double until = t_now() + 2e-3;
            long g;
            while ((g = atomic_load(&pool_gen_seen)) == seen && t_now() < until) sched_yield();
            if (g != seen) {
                seen = g;
                if (t < pool_want) pool_work(t);
                continue;
            }
        }
        pthread_mutex_lock(&pool_mu);
        while (pool_gen == seen) pthread_cond_wait(&pool_cv, &pool_mu);
        seen = pool_gen;
        const int join = t < pool_want;
        pthread_mutex_unlock(&pool_mu);
        if (join) pool_work(t);
    }
    return NULL;
}

static void start_pool(int threads) {
    n_threads_max = threads;
    for (int t = 1; t < threads; t++) pthread_create(&workers[t - 1], NULL, worker_main, (void *)(intptr_t)t);
}

/* all units of c on `threads` threads */
static int pool_threads = 1;
static void run_conv_threads(void *p) {
    t_forward *c = p;
    const int want = (int)(c->units < pool_threads ? c->units : pool_threads);
    if (want <= 1) {
        t_forward_all(c);
        return;
    }
    for (int t = 0; t < want; t++) ensure_ws(t, c->ws_bytes > 0 ? c->ws_bytes : 64);
    pool_job = c;
    atomic_store(&pool_next, 0);
    atomic_store(&pool_done, 0);
    pthread_mutex_lock(&pool_mu);
    pool_want = want;
    pool_gen++;
    atomic_store(&pool_gen_seen, pool_gen);
    pthread_cond_broadcast(&pool_cv);
    pthread_mutex_unlock(&pool_mu);
    pool_work(0);
    while (atomic_load(&pool_done) < c->units) sched_yield();
}

/* --serial: the claims of a `threads` split run one after another on the calling thread, each
   timed, the threads' clocks simulated (the thread free first claims next; the caller first on a
   tie), so the work a split adds (per-call set-up, shared stages redone) and its balance can be
   measured on a machine whose other cores are busy. Fastest of the repetitions. */
static int serial_split;
static double serial_sum, serial_span;

static void run_conv_serial(void *p) {
    t_forward *c = p;
    const int want = (int)(c->units < pool_threads ? c->units : pool_threads);
    ensure_ws(0, c->ws_bytes > 0 ? c->ws_bytes : 64);
    double clock[MAX_THREADS] = {0}, sum = 0;
    for (int64_t next = 0; next < c->units;) {
        int t = 0;
        for (int i = 1; i < want; i++) if (clock[i] < clock[t]) t = i;
        const int64_t end = pool_claim_end(next, c->units, want);
        const double a = t_now();
        t_forward_range(c, worker_ws[0], worker_ws_bytes[0], next, end);
        const double e = t_now() - a;
        clock[t] += e;
        sum += e;
        next = end;
    }
    double span = 0;
    for (int i = 0; i < want; i++) span = clock[i] > span ? clock[i] : span;
    if (serial_sum == 0 || sum < serial_sum) serial_sum = sum;
    if (serial_span == 0 || span < serial_span) serial_span = span;
}

static const char *only_algos;
static int thread_counts[8] = {1}, n_thread_counts = 1;

static void bench_shape(const t_layer *s) {
    c4j_conv2d_desc d;
    t_layer_desc(s, &d);
    const int64_t oh = d.out_h, ow = d.out_w;
    const int64_t in_len = s->n * s->h * s->w * s->c, f_len = s->kh * s->kw * s->c * s->cout;
    const int64_t out_len = s->n * oh * ow * s->cout, m = s->n * oh * ow, k = s->kh * s->kw * s->c;
    float *in = malloc(sizeof(float) * in_len), *f = malloc(sizeof(float) * f_len);
    float *out = malloc(sizeof(float) * out_len), *col = malloc(sizeof(float) * m * k);
    for (int64_t i = 0; i < in_len; i++) in[i] = (float)((i * 37 + 11) % 101 - 50) / 50.0f;
    for (int64_t i = 0; i < f_len; i++) f[i] = (float)((i * 53 + 7) % 97 - 48) / 480.0f;
    const double flops = 2.0 * (double)m * (double)k * (double)s->cout;

    /* baseline: the same GEMM on a ready-made patch matrix (built here, untimed) */
    for (int64_t r = 0; r < m; r++) {
        int64_t nn = r / (oh * ow), y = (r / ow) % oh, x = r % ow;
        for (int64_t a = 0; a < s->kh; a++)
            for (int64_t b = 0; b < s->kw; b++) {
                int64_t ih = y * s->stride + a - d.pad_top, iw = x * s->stride + b - d.pad_left;
                for (int64_t c = 0; c < s->c; c++)
                    col[r * k + (a * s->kw + b) * s->c + c] =
                        ih < 0 || ih >= s->h || iw < 0 || iw >= s->w ? 0.0f : in[((nn * s->h + ih) * s->w + iw) * s->c + c];
            }
    }
    t_sgemm g = {(int)m, (int)s->cout, (int)k, col, f, out};
    double t_gemm = median_seconds(t_sgemm_run, &g);
    printf("%-24s %-14s %10.4f ms %8.1f GFLOP/s  x%.2f\n", s->name, "sgemm(im2col)", t_gemm * 1e3, flops / t_gemm * 1e-9, 1.0);

    for (size_t a = 0; a < sizeof ALGOS / sizeof ALGOS[0]; a++) {
        if (c4j_conv2d_supports(&d, ALGOS[a].id) != C4J_OK || !t_wanted(only_algos, ALGOS[a].name)) continue;
        t_forward c = {t_blas(), &d, ALGOS[a].id, in, f, NULL, out, NULL, 0, c4j_conv2d_units(&d, ALGOS[a].id)};
        c.ws_bytes = c4j_conv2d_workspace_bytes(&d, ALGOS[a].id);
        c.ws = c.ws_bytes > 0 ? c4j_alloc((size_t)c.ws_bytes, 0) : NULL;
        int64_t pf = c4j_conv2d_prepared_floats(&d, ALGOS[a].id);
        float *prep = pf > 0 ? c4j_alloc((size_t)pf * sizeof(float), 0) : NULL;
        if (prep != NULL) c4j_conv2d_prepare(&d, ALGOS[a].id, f, prep, NULL, 0);
        c.prepared = prep;
        double t1 = 0;
        for (int i = 0; i < n_thread_counts; i++) {
            pool_threads = thread_counts[i];
            char label[32];
            if (serial_split) { /* one call (1 thread) timed the same way, as t1 */
                serial_sum = serial_span = 0;
                median_seconds(run_conv_serial, &c);
                if (pool_threads == 1) t1 = serial_sum;
                snprintf(label, sizeof label, "%s/%dt", ALGOS[a].name, pool_threads);
                printf("%-24s %-14s claims summed %.4f ms (x%.2f of one call), makespan %.4f ms, speed-up bound %.2f\n",
                       s->name, label, serial_sum * 1e3, serial_sum / t1, serial_span * 1e3, t1 / serial_span);
                continue;
            }
            const double t = median_seconds(run_conv_threads, &c);
            if (i == 0) t1 = t;
            if (pool_threads == 1) snprintf(label, sizeof label, "%s", ALGOS[a].name);
            else snprintf(label, sizeof label, "%s/%dt", ALGOS[a].name, pool_threads);
            if (pool_threads == 1)
                printf("%-24s %-14s %10.4f ms %8.1f GFLOP/s  x%.2f   (workspace %lld KiB, %lld units)\n", s->name, label,
                       t * 1e3, flops / t * 1e-9, t_gemm / t, (long long)(c.ws_bytes / 1024), (long long)c.units);
            else
                printf("%-24s %-14s %10.4f ms %8.1f GFLOP/s  x%.2f   (speed-up %.2f over %d thread%s)\n", s->name, label,
                       t * 1e3, flops / t * 1e-9, t_gemm / t, t1 / t, thread_counts[0], thread_counts[0] > 1 ? "s" : "");
        }
        c4j_free(c.ws);
        c4j_free(prep);
    }
    free(in);
    free(f);
    free(out);
    free(col);
}

int main(int argc, char **argv) {
    const char *csv = NULL, *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--shapes") == 0 && i + 1 < argc) only = argv[++i];
        else if (strcmp(argv[i], "--min-time") == 0 && i + 1 < argc) min_time = atof(argv[++i]);
        else if (strcmp(argv[i], "--algos") == 0 && i + 1 < argc) only_algos = argv[++i];
        else if (strcmp(argv[i], "--spin") == 0) spin_workers = 1;
        else if (strcmp(argv[i], "--serial") == 0) serial_split = 1;
        else if (strcmp(argv[i], "--claims") == 0 && i + 1 < argc) fixed_chunks = strcmp(argv[++i], "fixed") == 0;
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            n_thread_counts = 0;
            for (char *p = argv[++i]; *p && n_thread_counts < 8;) {
                const int t = (int)strtol(p, &p, 10);
                if (t < 1 || t > MAX_THREADS) {
                    fprintf(stderr, "--threads: counts in [1, %d]\n", MAX_THREADS);
                    return 2;
                }
                thread_counts[n_thread_counts++] = t;
                if (*p == ',') p++;
            }
        }
        else if (argv[i][0] != '-') csv = argv[i];
        else {
            fprintf(stderr, "usage: %s [SHAPES.csv] [--shapes a,b] [--algos a,b] [--threads 1,2] [--spin] [--serial] [--claims guided|fixed] [--min-time S]\n",
                    argv[0]);
            return 2;
        }
    }
    const c4j_blas *blas = t_blas();
    int most = 1;
    for (int i = 0; i < n_thread_counts; i++) most = thread_counts[i] > most ? thread_counts[i] : most;
    start_pool(most);
    printf("# conv4j native core, OpenBLAS at 1 thread, BLAS: %s / %s\n", blas->get_config ? blas->get_config() : "?",
           blas->get_corename ? blas->get_corename() : "?");
    printf("# ratio x = plain sgemm time of the same im2col GEMM / algorithm time (same run)\n");
    if (csv == NULL) {
        for (int i = 0; i < T_N_PEER_LAYERS; i++)
            if (t_wanted(only, T_PEER_LAYERS[i].name)) bench_shape(&T_PEER_LAYERS[i]);
        for (size_t i = 0; i < sizeof EXTRA / sizeof EXTRA[0]; i++)
            if (t_wanted(only, EXTRA[i].name)) bench_shape(&EXTRA[i]);
        return 0;
    }
    FILE *fp = fopen(csv, "r");
    if (fp == NULL) {
        perror(csv);
        return 2;
    }
    char line[512];
    if (fgets(line, sizeof line, fp) == NULL) {
        fclose(fp);
        return 2;
    }
    while (fgets(line, sizeof line, fp) != NULL) {
        t_layer s;
        char pad[16];
        long long v[8];
        if (sscanf(line, "%63[^,],%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%15s", s.name, &v[0], &v[1], &v[2], &v[3], &v[4],
                   &v[5], &v[6], &v[7], pad) != 10)
            continue;
        s.n = v[0]; s.h = v[1]; s.w = v[2]; s.c = v[3]; s.kh = v[4]; s.kw = v[5]; s.cout = v[6]; s.stride = v[7];
        s.same = strncmp(pad, "SAME", 4) == 0;
        if (t_wanted(only, s.name)) bench_shape(&s);
    }
    fclose(fp);
    return 0;
}
