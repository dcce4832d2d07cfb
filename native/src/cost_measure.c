/*
 * The cost model measured on the machine it runs on. Once c4j_cost_measure_with() has named the
 * BLAS of the process, c4j_cost_sgemm() times each sgemm shape the first time an estimate asks
 * for it (a few calls of that exact shape, the fastest kept, in the thread's CPU time) instead of reading the built-in
 * shape table, which only ranks shapes the way one reference CPU did. The measured times are
 * kept for the life of the process and never measured again, so every later estimate, and every
 * decision made from them (the algorithm AUTO picks, the sgemm row pieces of the tiled GEMM), is
 * the same for the rest of the process; another process on a busy machine may measure
 * differently. Only the estimates and the choice of algorithm and sgemm call sizes depend on the
 * measurement, never the split into work units, so results stay bit-identical for any thread count.
 *
 * The table is the process's knowledge of its own BLAS, hence global: it is shared by every plan
 * so that one convolution gets one route through every entry point. It is bounded; once full,
 * new shapes fall back to the built-in model (and stay there), so no value ever changes.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

#define SLOTS 8192           /* power of two */
#define MAX_ENTRIES 6144     /* load factor 3/4 */
#define MAX_MEASURED_MACS ((int64_t)1 << 23) /* larger shapes: a row slice, scaled (sgemm is linear in M there) */
/* A slice keeps at least this many rows: with fewer, sgemm runs a shape of another kind (edge
   kernels, OpenBLAS's unpacked small-matrix path) and a deep shape (K in the thousands) measured
   as 16 rows came out 1.7x slower per row than the real call, inflating every estimate built on it. */
#define MIN_SLICE_ROWS 64
#define MIN_SECONDS 150e-6   /* repeat small shapes until this much time was measured (the best call is kept) */
#define MAX_REPS 25

typedef struct {
    int64_t m, k, n; /* m == 0: empty slot */
    int at;          /* A transposed (the filter gradient's patches^T x dY) */
    double seconds;
} entry;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static const c4j_blas *g_blas; /* NULL: the built-in model */
static entry g_table[SLOTS];
static int g_entries;
static double g_spent; /* thread CPU seconds spent timing shapes, for c4j_cost_sgemm_spent */

void c4j_cost_measure_with(const c4j_blas *blas) {
    pthread_mutex_lock(&g_lock);
    g_blas = blas != NULL && blas->sgemm != NULL ? blas : NULL;
    pthread_mutex_unlock(&g_lock);
}

int c4j_cost_is_measured(void) {
    pthread_mutex_lock(&g_lock);
    const int on = g_blas != NULL;
    pthread_mutex_unlock(&g_lock);
    return on;
}

const c4j_blas *c4j_cost_blas(void) {
    pthread_mutex_lock(&g_lock);
    const c4j_blas *blas = g_blas;
    pthread_mutex_unlock(&g_lock);
    return blas;
}

/* Reading the thread's CPU clock is a system call on some kernels (about a microsecond at worst),
   so short calls are timed in batches. */
double c4j_thread_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define BATCH_SECONDS 20e-6 /* at least this much work between two clock reads */
#define MAX_BATCH 1000

static void call_sgemm(const c4j_blas *blas, int at, int64_t m, int64_t k, int64_t n, const float *a, const float *b,
                       float *c) {
    blas->sgemm(C4J_ROW_MAJOR, at ? C4J_TRANS : C4J_NO_TRANS, C4J_NO_TRANS, (int)m, (int)n, (int)k, 1.0f, a,
                (int)(at ? m : k), b, (int)n, 0.0f, c, (int)n);
}

/* Fastest call of the shape (the best batch's mean, after one warm-up call); -1 when memory is
   short. Plain malloc, not c4j_alloc: measuring is not part of any convolution's accounted memory. */
static double time_sgemm(const c4j_blas *blas, int at, int64_t m, int64_t k, int64_t n) {
    float *a = calloc((size_t)(m * k + k * n + m * n), sizeof(float));
    if (a == NULL) return -1;
    float *b = a + m * k, *c = b + k * n;
    call_sgemm(blas, at, m, k, n, a, b, c);
    double t0 = c4j_thread_seconds();
    call_sgemm(blas, at, m, k, n, a, b, c);
    const double first = c4j_thread_seconds() - t0;
    const int batch = first >= BATCH_SECONDS ? 1 : (int)C4J_MIN(MAX_BATCH, BATCH_SECONDS / C4J_MAX(first, 1e-9) + 1);
    double best = first, total = first;
    for (int rep = 0; rep < MAX_REPS && (rep < 3 || total < MIN_SECONDS); rep++) {
        t0 = c4j_thread_seconds();
        for (int i = 0; i < batch; i++) call_sgemm(blas, at, m, k, n, a, b, c);
        const double t = c4j_thread_seconds() - t0;
        total += t;
        if (t / batch < best) best = t / batch;
    }
    free(a);
    return best;
}

static size_t slot_of(int64_t m, int64_t k, int64_t n, int at) {
    uint64_t h = (uint64_t)m * 0x9E3779B97F4A7C15ull ^ (uint64_t)k * 0xC2B2AE3D27D4EB4Full ^
                 (uint64_t)n * 0x165667B19E3779F9ull ^ (uint64_t)at;
    return (size_t)(h ^ (h >> 29)) & (SLOTS - 1);
}

/*
 * Measured seconds of one sgemm of this shape, or -1 when measuring is off or the table is full.
 * The lock is held while measuring: two plans never time at once (they would disturb each other),
 * and a shape is measured exactly once.
 */
static double measured(int at, int64_t m, int64_t k, int64_t n) {
    if (m <= 0 || k <= 0 || n <= 0 || m > INT32_MAX || k > INT32_MAX || n > INT32_MAX) return -1;
    double result = -1;
    pthread_mutex_lock(&g_lock);
    if (g_blas != NULL) {
        size_t s = slot_of(m, k, n, at);
        while (g_table[s].m != 0 &&
               !(g_table[s].m == m && g_table[s].k == k && g_table[s].n == n && g_table[s].at == at))
            s = (s + 1) & (SLOTS - 1);
        if (g_table[s].m != 0) {
            result = g_table[s].seconds;
        } else if (g_entries < MAX_ENTRIES) {
            /* large shapes: time a slice of rows (whole 16-row blocks, as the kernels block M) */
            int64_t rows = m;
            if (m * k * n > MAX_MEASURED_MACS) rows = C4J_MIN(m, C4J_MAX(MIN_SLICE_ROWS, MAX_MEASURED_MACS / (k * n) / 16 * 16));
            const double t0 = c4j_thread_seconds();
            const double t = time_sgemm(g_blas, at, rows, k, n);
            g_spent += c4j_thread_seconds() - t0;
            if (t > 0) {
                result = t * (double)m / (double)rows;
                g_table[s].m = m;
                g_table[s].k = k;
                g_table[s].n = n;
                g_table[s].at = at;
                g_table[s].seconds = result;
                g_entries++;
            }
        }
    }
    pthread_mutex_unlock(&g_lock);
    return result;
}

double c4j_cost_sgemm_measured(int64_t m, int64_t k, int64_t n) { return measured(0, m, k, n); }

double c4j_cost_sgemm_at_measured(int64_t m, int64_t k, int64_t n) { return measured(1, m, k, n); }

double c4j_cost_sgemm_spent(void) {
    pthread_mutex_lock(&g_lock);
    const double s = g_spent;
    pthread_mutex_unlock(&g_lock);
    return s;
}

/* Aligned as the tensors of a real call are (c4j_alloc): calloc aligns to 16 bytes only, and where
   the heap put a probe differed between processes, so in some of them the probe's vector loads
   straddled cache lines and every estimate built on it came out slower, enough to leave the route
   out of a trial it wins (docs/results/2026-12-08_planner_first_plan_and_flips.md). */
float *c4j_probe_buffer(int64_t floats) {
    const size_t bytes = ((size_t)C4J_MAX(floats, 1) * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes);
    if (p != NULL) memset(p, 0, bytes);
    return p;
}

void c4j_fit_mac_and_step(double ta, double ma, double sa, double tb, double mb, double sb, double *mac, double *step) {
    const double det = ma * sb - mb * sa;
    double m = (ta * sb - tb * sa) / det, k = (ma * tb - mb * ta) / det;
    if (!(m > 0)) m = ta / ma;
    if (!(k > 0)) k = 0;
    *mac = m, *step = k;
}
