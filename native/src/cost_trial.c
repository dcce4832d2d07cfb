/*
 * The planner's trial (planner.c): when a transform route's estimate and the best exact route's
 * lie too close for the estimates to rank them (a transform's estimate times its sgemm calls but
 * models its transforms, and errs up to about 2x), the candidates run once on the layer's own
 * geometry, one after the other on the calling thread, and their thread CPU time decides. The
 * forward pass's candidates are forward algorithms; the input gradient's are its routes, each
 * timed with its filter preparation when the direction's estimates count it (a plain call pays it
 * on every training step, C4J_DIR_INPUT_GRADIENT) and without it otherwise (a filter prepared once,
 * C4J_DIR_INPUT_GRADIENT_PREPARED); the filter gradient's are its routes, each timed with the
 * reduction of its pixel ranges' partial sums.
 *
 * What is timed: each route's run on a dense copy of the descriptor's geometry (same sizes,
 * kernel, strides and padding; the views' strides, bias, activation and flip are not part of it:
 * every entry point of one convolution must find the same verdict), with
 * its prepared filter left as zeros (the forward estimates leave the filter transform out too), on
 * made-up values. A route whose estimate exceeds TRIAL_SECONDS runs only some of its units,
 * spread over the layer, and its time is scaled by units / units timed (see sample). The
 * candidates take turns, one warm-up and TRIAL_REPS timed rounds: with at most a few
 * milliseconds per candidate and round, the first plan of a layer costs some tens of
 * milliseconds more (the sgemm shapes its estimates time cost as much).
 *
 * The verdicts are the process's knowledge of its own machine, hence global like the measured
 * sgemm table (cost_measure.c): kept per geometry and candidate set for the life of the process,
 * measured exactly once (the lock is held while measuring, so concurrent first plans neither
 * disturb each other nor measure twice), so one convolution gets one route in every later plan
 * and through every entry point. The table is bounded; once full, new layers go without a trial
 * (and stay so). Nothing here depends on the thread count: the route, hence the bits, are the
 * same for any number of threads.
 */
#include <pthread.h>
#include <stdlib.h>

#include "internal.h"

#define SLOTS 1024                 /* power of two */
#define MAX_ENTRIES 768            /* load factor 3/4 */
#define TRIAL_SECONDS 2e-3         /* estimated work per candidate per round, at most (then units are sampled) */
#define TRIAL_CHUNKS 6             /* runs of consecutive units a round is timed in */
#define TRIAL_REPS 5               /* timed rounds (after one warm-up), each chunk's fastest kept */
#define TRIAL_MIN_ROUND 50e-6      /* a chunk repeats within its timing until about this much work (clock granularity) */
#define TRIAL_MAX_REPEAT 1000
#define TRIAL_MAX_FLOATS ((int64_t)1 << 25) /* 128 MiB of operands at most; larger layers go without */

typedef struct {
    c4j_conv2d_desc geometry; /* batch == 0: empty slot */
    int direction;            /* C4J_DIR_*: the ids are forward algorithms or input-gradient routes */
    int n, ids[C4J_TRIAL_MAX];
    int ok; /* 0: the trial could not run (memory short, a route not applicable to the dense copy) */
    double seconds[C4J_TRIAL_MAX];
} entry;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static entry g_table[SLOTS];
static int g_entries;
/* thread CPU seconds the trials spent on their buffers (allocating, writing) and on running the
   routes (warm-up and timed rounds), for c4j_cost_trial_spent */
static double g_setup, g_runs;
/* Tests only (c4j_cost_trial_set_timer): the time a route "takes", instead of running it. */
static c4j_trial_timer g_timer;

void c4j_cost_trial_set_timer(c4j_trial_timer timer) {
    pthread_mutex_lock(&g_lock);
    g_timer = timer;
    memset(g_table, 0, sizeof g_table);
    g_entries = 0;
    pthread_mutex_unlock(&g_lock);
}

/* d's geometry on dense NHWC views: what a trial runs, and its key. */
c4j_conv2d_desc c4j_trial_geometry(const c4j_conv2d_desc *d) {
    c4j_conv2d_desc g = *d;
    g.in_stride[3] = 1, g.in_stride[2] = d->in_c, g.in_stride[1] = d->in_w * d->in_c, g.in_stride[0] = d->in_h * g.in_stride[1];
    g.out_stride[3] = 1, g.out_stride[2] = d->out_c, g.out_stride[1] = d->out_w * d->out_c;
    g.out_stride[0] = d->out_h * g.out_stride[1];
    /* the same work either way, within a few percent for every route: the key must be the same
       for a plain call (which plans without the bias) and a prepared filter (with it) */
    g.flip = 0, g.has_bias = 0, g.activation = C4J_ACT_NONE;
    return g;
}

static size_t slot_of(const c4j_conv2d_desc *g, int direction, int n, const int *ids) {
    const int64_t *f = (const int64_t *)g;
    uint64_t h = (0x9E3779B97F4A7C15ull ^ (uint64_t)direction) * 0x100000001B3ull;
    for (int i = 0; i < C4J_DESC_FIELDS; i++) h = (h ^ (uint64_t)f[i]) * 0x100000001B3ull;
    for (int i = 0; i < n; i++) h = (h ^ (uint64_t)ids[i]) * 0x100000001B3ull;
    return (size_t)(h ^ (h >> 29)) & (SLOTS - 1);
}

static int same_key(const entry *e, const c4j_conv2d_desc *g, int direction, int n, const int *ids) {
    if (e->direction != direction || e->n != n || memcmp(&e->geometry, g, sizeof *g) != 0) return 0;
    for (int i = 0; i < n; i++)
        if (e->ids[i] != ids[i]) return 0;
    return 1;
}

/* One candidate's buffers and the pieces of it a round times. */
typedef struct {
    const c4j_conv2d_algorithm *a;      /* a forward trial's route, or */
    const c4j_input_gradient_route *bx; /* an input-gradient trial's, or */
    const c4j_filter_gradient_route *bw; /* a filter-gradient trial's */
    int with_prepare;                   /* bx: each round also prepares the filter, whole; bw: reduces the ranges */
    double prepare_best;                /* its fastest preparation or reduction (seconds) */
    float *prepared;                    /* bw: the partial sums of its pixel ranges */
    void *workspace;
    int64_t units, timed;            /* all units, and how many a round runs */
    int chunks;
    int64_t begin[TRIAL_CHUNKS], end[TRIAL_CHUNKS];
    int64_t repeat[TRIAL_CHUNKS];    /* runs of a chunk per timing (short chunks: clock granularity) */
    double best[TRIAL_CHUNKS];       /* fastest run of each chunk over the rounds */
} candidate;

/*
 * The units a round of c runs: all of them, or about units x TRIAL_SECONDS / estimate, in up to
 * TRIAL_CHUNKS runs of consecutive units spread evenly (the first at unit 0), so border and
 * interior units both count. Each chunk is timed on its own and keeps its fastest round: a short
 * interval is less likely to hold an interruption (on a busy machine another process evicting
 * the caches between two time slices), and one undisturbed round per chunk is enough.
 */
static void sample(candidate *c, double estimate) {
    int64_t want = c->units;
    if (estimate > TRIAL_SECONDS) want = C4J_MAX(1, (int64_t)((double)c->units * TRIAL_SECONDS / estimate));
    c->chunks = (int)C4J_MIN(TRIAL_CHUNKS, want);
    const int64_t per = want / c->chunks;
    c->timed = 0;
    for (int i = 0; i < c->chunks; i++) {
        c->begin[i] = (int64_t)i * c->units / c->chunks;
        c->end[i] = want == c->units ? (int64_t)(i + 1) * c->units / c->chunks : C4J_MIN(c->units, c->begin[i] + per);
        c->timed += c->end[i] - c->begin[i];
        const double chunk = estimate * (double)(c->end[i] - c->begin[i]) / (double)c->units;
        c->repeat[i] = chunk >= TRIAL_MIN_ROUND ? 1
                                                : C4J_MIN(TRIAL_MAX_REPEAT, (int64_t)(TRIAL_MIN_ROUND / C4J_MAX(chunk, 1e-9)) + 1);
        c->best[i] = -1;
    }
}

/* Units [u0, u1) of c. A forward trial runs g from in to out; an input-gradient trial runs the
   gradient of g from dY (out) into dX (in). */
static void run_units(const c4j_blas *blas, const c4j_conv2d_desc *g, float *in, const float *filter, float *out,
                      const candidate *c, int64_t u0, int64_t u1) {
    if (c->a != NULL)
        c->a->run(blas, g, in, filter, c->prepared, NULL, out, c->workspace, u0, u1);
    else if (c->bx != NULL)
        c->bx->run(blas, g, out, c->prepared, in, c->workspace, c->bx->workspace(g), u0, u1, NULL, 0);
    else /* the filter gradient into the filter buffer, which no filter-gradient candidate reads */
        c->bw->run(blas, g, in, out, (float *)filter, NULL, c->prepared, c->workspace, u0, u1);
}

/* The part of c's work a round times whole: the input gradient's filter preparation, or the
   filter gradient's reduction of its ranges */
static void run_whole(const c4j_conv2d_desc *g, const float *filter, const candidate *c) {
    if (c->bx != NULL) {
        c->bx->prepare(g, filter, c->prepared, NULL, 0);
    } else {
        const int64_t ranges = c->bw->ranges(g);
        c4j_bw_reduce_ranges(g, ranges, (float *)filter, NULL, c->prepared, 0, c4j_bw_reduce_units(g, ranges));
    }
}

/* One round of c: each chunk timed on its own (thread CPU time), its fastest kept; the filter
   preparation, when counted, timed whole. */
static void run_round(const c4j_blas *blas, const c4j_conv2d_desc *g, float *in, const float *filter, float *out,
                      candidate *c) {
    if (c->with_prepare) {
        const double t0 = c4j_thread_seconds();
        run_whole(g, filter, c);
        const double t = c4j_thread_seconds() - t0;
        if (c->prepare_best < 0 || t < c->prepare_best) c->prepare_best = t;
    }
    for (int i = 0; i < c->chunks; i++) {
        const double t0 = c4j_thread_seconds();
        for (int64_t r = 0; r < c->repeat[i]; r++) run_units(blas, g, in, filter, out, c, c->begin[i], c->end[i]);
        const double t = (c4j_thread_seconds() - t0) / (double)c->repeat[i];
        if (c->best[i] < 0 || t < c->best[i]) c->best[i] = t;
    }
}

/* Single-thread seconds of the whole layer: the chunks' fastest runs, scaled to all units, and the
   preparation when counted. */
static double candidate_seconds(const candidate *c) {
    double sum = 0;
    for (int i = 0; i < c->chunks; i++) sum += c->best[i];
    return sum * (double)c->units / (double)c->timed + (c->with_prepare ? c->prepare_best : 0);
}

/* Buffers as a convolution's own: from 2 MiB mapped for huge pages like its tensors, workspace and
   prepared filter (c4j_alloc), since a route that streams a large transformed filter or workspace
   runs faster on them (r50_3x3_7x512's forward 0.72-0.86x the time) and the trial must time each
   route as it will run; not counted, as measuring is not part of any convolution's memory. */
static void *aligned(int64_t bytes) { return c4j_alloc_uncounted((size_t)C4J_MAX(bytes, 64)); }

/* c's route for ids[i] in direction; 0 when it cannot run g */
static int bind(candidate *c, const c4j_conv2d_desc *g, int direction, int id) {
    if (direction == C4J_DIR_FORWARD) {
        c->a = c4j_conv2d_forward_algorithm(id);
        return c->a != NULL && c->a->applies(g);
    }
    c->prepare_best = -1;
    if (direction == C4J_DIR_FILTER_GRADIENT) {
        c->bw = c4j_filter_gradient_route_of(id);
        c->with_prepare = c->bw != NULL && c->bw->applies(g) && c->bw->ranges(g) > 1;
        return c->bw != NULL && c->bw->applies(g) && c->bw->workspace(g) >= 0;
    }
    c->bx = c4j_input_gradient_route_of(id);
    c->with_prepare = direction == C4J_DIR_INPUT_GRADIENT;
    c->prepare_best = -1;
    return c->bx != NULL && c->bx->applies(g) && c->bx->prepared_floats(g) >= 0 && c->bx->workspace(g) >= 0;
}

static int64_t prepared_floats(const candidate *c, const c4j_conv2d_desc *g) {
    if (c->a != NULL) return c->a->prepared_floats != NULL ? c->a->prepared_floats(g) : 0;
    if (c->bw != NULL) return (c->bw->ranges(g) - 1) * (c4j_filter_floats(g) + g->out_c);
    return c->bx->prepared_floats(g);
}

static int64_t workspace_bytes(const candidate *c, const c4j_conv2d_desc *g) {
    return c->a != NULL ? c->a->workspace(g) : c->bx != NULL ? c->bx->workspace(g) : c->bw->workspace(g);
}

/* Runs the candidates on g; 0 when memory is short or a route cannot run the dense geometry. */
static int measure(const c4j_blas *blas, const c4j_conv2d_desc *g, int direction, int n, const int *ids,
                   const double *estimates, double *seconds) {
    const int64_t in_floats = g->batch * g->in_stride[0], out_floats = g->batch * g->out_stride[0];
    const int64_t filter_floats = c4j_filter_floats(g);
    candidate c[C4J_TRIAL_MAX];
    memset(c, 0, sizeof c);
    /* The candidates run one after the other, so they share one prepared filter and one workspace,
       each as large as the largest candidate's: a workspace is scratch each unit writes before it
       reads it, and a prepared filter is either never prepared (zeros, see below) or prepared by the
       candidate in the same round before its units run; the filter gradient's partial sums, which
       its reduction reads, may be another candidate's, as fast to add. Every trial buffer is written
       (c4j_alloc_uncounted), and a fresh mapping's first write costs a page fault and the kernel's
       zeroing of the page, so one buffer per candidate made a deep layer's set-up cost more than
       its rounds. */
    int64_t prepared_max = 0, workspace_max = 0;
    for (int i = 0; i < n; i++) {
        if (!bind(&c[i], g, direction, ids[i])) return 0;
        prepared_max = C4J_MAX(prepared_max, prepared_floats(&c[i], g));
        workspace_max = C4J_MAX(workspace_max, workspace_bytes(&c[i], g));
    }
    if (in_floats + out_floats + filter_floats + prepared_max + workspace_max / (int64_t)sizeof(float) > TRIAL_MAX_FLOATS)
        return 0;
    const double t_setup = c4j_thread_seconds();
    float *in = aligned(in_floats * (int64_t)sizeof(float)), *out = aligned(out_floats * (int64_t)sizeof(float));
    float *filter = aligned(filter_floats * (int64_t)sizeof(float));
    /* The prepared filters are left as zeros, not prepared: where the preparation is not part of the
       timed work (the forward pass, an input gradient with a prepared filter) it is no part of what a
       trial compares, and running every candidate's took most of a deep layer's trial (r50_3x3_7x512:
       Winograd F(2x2) and F(4x4) of 512 x 512 channels, 160 of 205 ms of thread CPU time); the routes'
       arithmetic takes as long on zeros (no branch on the values, and zeros are no subnormals). Where
       it is timed (C4J_DIR_INPUT_GRADIENT), each round prepares, the warm-up first. The zeros are
       written (c4j_alloc_uncounted), not left to a fresh mapping: untouched pages all read the
       kernel's one shared zero page, so a route streaming a large prepared filter ran from cache in
       the trial (alex's FFT, 27 MB of spectra, measured 3.2 ms there and 4.7 ms in steady state,
       and beat WINOGRAD_1D). */
    float *prepared = prepared_max > 0 ? aligned(prepared_max * (int64_t)sizeof(float)) : NULL;
    void *workspace = aligned(workspace_max);
    int ok = in != NULL && out != NULL && filter != NULL && (prepared_max == 0 || prepared != NULL) && workspace != NULL;
    if (ok) {
        for (int64_t i = 0; i < in_floats; i++) in[i] = (float)(i % 7 - 3) * 0.25f;
        for (int64_t i = 0; i < filter_floats; i++) filter[i] = (float)(i % 5 - 2) * 0.125f;
        memset(out, 0, (size_t)out_floats * sizeof(float));
        const double t_run = c4j_thread_seconds();
        g_setup += t_run - t_setup;
        for (int i = 0; i < n; i++) {
            c[i].prepared = prepared_floats(&c[i], g) > 0 ? prepared : NULL;
            c[i].workspace = workspace;
            c[i].units = c[i].a != NULL ? c[i].a->units(g) : c[i].bx != NULL ? c[i].bx->units(g) : c[i].bw->units(g);
            sample(&c[i], estimates[i]);
            run_round(blas, g, in, filter, out, &c[i]); /* warm-up: caches, lazily built tables */
            for (int k = 0; k < c[i].chunks; k++) c[i].best[k] = -1;
            c[i].prepare_best = -1;
        }
        for (int rep = 0; rep < TRIAL_REPS; rep++)
            for (int i = 0; i < n; i++) run_round(blas, g, in, filter, out, &c[i]);
        for (int i = 0; i < n; i++) seconds[i] = candidate_seconds(&c[i]);
        g_runs += c4j_thread_seconds() - t_run;
    }
    c4j_free_uncounted(prepared);
    c4j_free_uncounted(workspace);
    c4j_free_uncounted(in);
    c4j_free_uncounted(out);
    c4j_free_uncounted(filter);
    return ok;
}

void c4j_cost_trial_spent(double *setup, double *runs) {
    pthread_mutex_lock(&g_lock);
    *setup = g_setup, *runs = g_runs;
    pthread_mutex_unlock(&g_lock);
}

int c4j_cost_trial(const c4j_conv2d_desc *d, int n, const int *ids, const double *estimates, double *seconds) {
    return c4j_cost_trial_direction(d, C4J_DIR_FORWARD, n, ids, estimates, seconds);
}

int c4j_cost_trial_direction(const c4j_conv2d_desc *d, int direction, int n, const int *ids, const double *estimates,
                             double *seconds) {
    if (d == NULL || n < 1 || n > C4J_TRIAL_MAX || d->batch <= 0) return 0;
    if (direction != C4J_DIR_FORWARD && direction != C4J_DIR_INPUT_GRADIENT &&
        direction != C4J_DIR_INPUT_GRADIENT_PREPARED && direction != C4J_DIR_FILTER_GRADIENT)
        return 0;
    const c4j_blas *blas = c4j_cost_blas();
    const c4j_conv2d_desc g = c4j_trial_geometry(d);
    int ok = 0;
    pthread_mutex_lock(&g_lock);
    if (g_timer != NULL || blas != NULL) {
        size_t s = slot_of(&g, direction, n, ids);
        while (g_table[s].geometry.batch != 0 && !same_key(&g_table[s], &g, direction, n, ids))
            s = (s + 1) & (SLOTS - 1);
        entry *e = &g_table[s];
        if (e->geometry.batch == 0 && g_entries < MAX_ENTRIES) {
            /* a trial that could not run is kept as such too: the layer's plan must not change later */
            if (g_timer != NULL) {
                for (int i = 0; i < n; i++) e->seconds[i] = g_timer(&g, direction, ids[i], estimates[i]);
                e->ok = 1;
            } else {
                e->ok = measure(blas, &g, direction, n, ids, estimates, e->seconds);
            }
            e->geometry = g, e->direction = direction, e->n = n;
            for (int i = 0; i < n; i++) e->ids[i] = ids[i];
            g_entries++;
        }
        if (e->geometry.batch != 0 && e->ok) {
            ok = 1;
            for (int i = 0; i < n; i++) seconds[i] = e->seconds[i];
        }
    }
    pthread_mutex_unlock(&g_lock);
    return ok;
}
