/*
 * The planner of the 2-D engine: AUTO in every direction (forward, input gradient, filter
 * gradient) takes its route here, by one rule over the direction's table (conv2d_table.c):
 *   - every row that applies is costed by its own estimate (single-thread seconds; sgemm calls
 *     timed on this machine, the rest modelled). Forward estimates leave the filter transform
 *     out: the plan is a function of the convolution alone, whichever entry point asks (a
 *     prepared filter or a layer pays the transform once; a plain call pays it per call). The
 *     backward routes transform the filter on every call (in training it changes every step), so
 *     their estimates include it, except in C4J_DIR_INPUT_GRADIENT_PREPARED (a filter prepared once
 *     per weight version);
 *   - transform routes (Winograd, FFT: not exact) are left out under exact_only, and when the
 *     padding a window reads exceeds half the kernel extent (their rounding error follows a whole
 *     tile's magnitude, which for windows lying mostly in wide padding can exceed the golden
 *     tolerance);
 *   - the cheapest exact route wins unless a transform route beats it, and a transform route never
 *     wins unless estimated below plain im2col + one sgemm of the same GEMM. Below C4J_TRIAL_LOW x
 *     the best exact estimate it wins; from there to C4J_TRIAL_HIGH x the candidates run once on
 *     the layer's geometry (trial_choice, cost_trial.c) and the measured times decide, in every
 *     direction. Without a measured cost model: a transform route needs an estimate below
 *     C4J_TRANSFORM_MARGIN x the exact one (only its sgemm calls are timed, its transforms are
 *     modelled, so its estimate errs more: a 7x1 layer estimated 0.650 ms by the FFT against
 *     0.656 ms by the tiled GEMM took 1.17 ms by the FFT; with that margin alone, seed_5x5_n4's FFT
 *     input gradient, estimated 0.89 x the scatter route, ran in half its time and was not taken).
 * The reasoning, every estimate included, is written for explain()/plan().
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "internal.h"

/*
 * On layers of small groups (where the grouped direct kernels apply) the sgemm routes ran much
 * slower than estimated, one product of a few rows and columns per group and tap: with 1 to 4
 * input channels per group the GEMM routes of both gradients 6-37x (geometric mean about 16), the
 * scatter route 2-4x (thread CPU time, the depthwise and 32-group layers of the peer benchmark).
 * Their estimates there carry that factor, falling with the channels per group as in the forward
 * pass (c4j_small_groups_factor, used as it is for the Winograd filter gradient).
 */
double c4j_bw_small_groups_factor(const c4j_conv2d_desc *d, int route) {
    if (!c4j_gd_applicable(d)) return 1.0;
    if (route != C4J_BWD_GEMM && route != C4J_BWD_SCATTER) return c4j_small_groups_factor(d);
    const double hi = route == C4J_BWD_GEMM ? 16.0 : 4.0, f = 4.0 * hi / (double)c4j_cin_g(d);
    return f > hi ? hi : f < 1.5 ? 1.5 : f;
}

/* include_prepare 0: the filter rearranged (transformed) already, C4J_DIR_INPUT_GRADIENT_PREPARED */
static double input_estimate(const c4j_conv2d_desc *d, int route, int include_prepare) {
    if (d == NULL) return -1;
    const c4j_input_gradient_route *r = c4j_input_gradient_route_of(route);
    return r != NULL && r->applies(d) ? r->estimate(d, include_prepare) : -1;
}

double c4j_conv2d_backward_input_estimate_seconds(const c4j_conv2d_desc *d, int route) {
    return input_estimate(d, route, 1);
}

double c4j_conv2d_backward_filter_estimate_seconds(const c4j_conv2d_desc *d, int route) {
    if (d == NULL) return -1;
    const c4j_filter_gradient_route *r = c4j_filter_gradient_route_of(route);
    return r != NULL && r->applies(d) ? r->estimate(d) : -1;
}

/* ------------------------------------------------------------------ the planner */

static int direction_rows(int direction) {
    switch (direction) {
    case C4J_DIR_FORWARD: return c4j_conv2d_forward_rows();
    case C4J_DIR_INPUT_GRADIENT:
    case C4J_DIR_INPUT_GRADIENT_PREPARED: return c4j_input_gradient_rows();
    case C4J_DIR_FILTER_GRADIENT: return c4j_filter_gradient_rows();
    default: return 0;
    }
}

int c4j_conv2d_routes(int direction) { return direction_rows(direction); }

int c4j_conv2d_route_info(int direction, int index, int *id, int *exact, const char **name) {
    const char *n = NULL;
    int i = 0, e = 0;
    if (index < 0 || index >= direction_rows(direction)) return 0;
    if (direction == C4J_DIR_FORWARD) {
        const c4j_conv2d_algorithm *a = c4j_conv2d_forward_row(index);
        n = a->name, i = a->id, e = a->exact;
    } else if (direction == C4J_DIR_INPUT_GRADIENT || direction == C4J_DIR_INPUT_GRADIENT_PREPARED) {
        const c4j_input_gradient_route *r = c4j_input_gradient_row(index);
        n = r->name, i = r->id, e = r->exact;
    } else {
        const c4j_filter_gradient_route *r = c4j_filter_gradient_row(index);
        n = r->name, i = r->id, e = r->exact;
    }
    if (id != NULL) *id = i;
    if (exact != NULL) *exact = e;
    if (name != NULL) *name = n;
    return 1;
}

static double route_estimate(const c4j_conv2d_desc *d, int direction, int id) {
    if (direction == C4J_DIR_FORWARD) return c4j_conv2d_estimate_seconds(d, (c4j_algo)id, 0);
    if (direction == C4J_DIR_INPUT_GRADIENT) return input_estimate(d, id, 1);
    if (direction == C4J_DIR_INPUT_GRADIENT_PREPARED) return input_estimate(d, id, 0);
    return c4j_conv2d_backward_filter_estimate_seconds(d, id);
}

/* Plain im2col + one sgemm per group of the direction's GEMM (the same multiply-adds). */
static double floor_seconds(const c4j_conv2d_desc *d, int direction) {
    if (direction != C4J_DIR_INPUT_GRADIENT && direction != C4J_DIR_INPUT_GRADIENT_PREPARED)
        return c4j_conv2d_roofline_seconds(d);
    return (double)d->groups *
           c4j_cost_sgemm(d->batch * d->in_h * d->in_w, d->kernel_h * d->kernel_w * c4j_cout_g(d), c4j_cin_g(d));
}

/* Padding that some window reads, on any side, wider than half the dilated kernel extent. */
static int wide_padding(const c4j_conv2d_desc *d) {
    const int64_t eh = (d->kernel_h - 1) * d->dilation_h + 1, ew = (d->kernel_w - 1) * d->dilation_w + 1;
    const int64_t bottom = (d->out_h - 1) * d->stride_h + eh - d->in_h - d->pad_top;
    const int64_t right = (d->out_w - 1) * d->stride_w + ew - d->in_w - d->pad_left;
    return d->pad_top > eh / 2 || bottom > eh / 2 || d->pad_left > ew / 2 || right > ew / 2;
}

/* Appends to a caller's buffer, truncating (the buffer may be NULL). */
typedef struct {
    char *buf;
    size_t len, used;
} text;

static void say(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(text *t, const char *fmt, ...) {
    if (t->buf == NULL || t->used + 1 >= t->len) return;
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(t->buf + t->used, t->len - t->used, fmt, ap);
    va_end(ap);
    if (n > 0) t->used = C4J_MIN(t->len - 1, t->used + (size_t)n);
}

/*
 * The band of the forward pass and the input gradient: a transform estimated below C4J_TRIAL_LOW
 * x the best exact route wins on the estimates (their error, up to about 2x, cannot reverse that);
 * one estimated at C4J_TRIAL_HIGH x or more loses on them. In between, the estimates cannot rank the two (a fixed margin there was
 * a cliff: a layer whose FFT estimate lay within 0.2% of 0.8 x the tiled GEMM's ran either route
 * depending on each process's sgemm timings, 1.8x apart), so the exact route and every transform
 * in the band run once on the layer's geometry (cost_trial.c) and the transform (the best
 * estimated one, or another measured below C4J_TRIAL_SWAP_MARGIN x it) wins below C4J_TRIAL_MARGIN x
 * the exact route's measured time: exact routes round as a dot product, so
 * a near tie keeps them, and a layer can flip between processes only where the two measured
 * times lie within the timing noise of that ratio, that is where either route is about as fast.
 */

typedef struct {
    int id;
    double s;
    const char *name;
} costed;

/*
 * The filter gradient's plain im2col + sgemm is its GEMM route, whose sgemm (patches transposed
 * times dY, an inner dimension of the pixel count) the floor's estimate, a sgemm of the forward
 * pass's shape, puts at about half its real time on FFT layers (seed_5x5_n4: 0.42 ms against the
 * route's 0.80 ms, while the FFT filter gradient ran 0.65 ms and was never tried). Where that route
 * is the best exact one, a transform estimated above the floor but within C4J_TRIAL_HIGH x the
 * route joins the trial, and so meets plain im2col + sgemm measured rather than estimated: it can
 * win only by running below C4J_TRIAL_MARGIN x the GEMM route's time, never on its estimate.
 */
static int floor_by_trial(int direction, costed best_exact, double s) {
    return direction == C4J_DIR_FILTER_GRADIENT && best_exact.id == C4J_BWD_GEMM && s < C4J_TRIAL_HIGH * best_exact.s;
}

/* The rule with the trial: see C4J_TRIAL_LOW. cand[0] is the best exact route of direction,
   cand[1..n) the transforms below plain im2col + sgemm (floor) or admitted by floor_by_trial. */
static int trial_choice(const c4j_conv2d_desc *d, int direction, const costed *cand, int n, double floor, text *t) {
    if (n < 2) return cand[0].id;
    int below = -1; /* the best estimated transform below the floor */
    for (int i = 1; i < n; i++)
        if (cand[i].s < floor && (below < 0 || cand[i].s < cand[below].s)) below = i;
    int clear = 0; /* the best transform below C4J_TRIAL_LOW x the exact route, with a rival near it */
    if (below > 0 && cand[below].s < C4J_TRIAL_LOW * cand[0].s) {
        /* clear of the exact route, but not necessarily of the other transforms: their estimates
           err differently (alex_5x5_27x96to256: FFT estimated 2.9 ms, ran 5.3; WINOGRAD_1D
           estimated 3.3, ran 3.4), so in the forward pass a rival within C4J_TRIAL_HIGH x of it
           sends them to the trial below, which then picks among the transforms only */
        for (int i = 1; i < n && direction == C4J_DIR_FORWARD; i++)
            if (i != below && cand[i].s < C4J_TRIAL_HIGH * cand[below].s) clear = 1;
        say(t, "; %s below %.2f x %s on the estimates", cand[below].name, C4J_TRIAL_LOW, cand[0].name);
        if (!clear) return cand[below].id;
        say(t, ", another transform within %.2f x it", C4J_TRIAL_HIGH);
    }
    int ids[C4J_TRIAL_MAX], m = 0;
    double est[C4J_TRIAL_MAX], measured[C4J_TRIAL_MAX];
    const char *names[C4J_TRIAL_MAX];
    for (int i = 0; i < n && m < C4J_TRIAL_MAX; i++)
        if (i == 0 || cand[i].s < C4J_TRIAL_HIGH * cand[0].s) ids[m] = cand[i].id, est[m] = cand[i].s, names[m++] = cand[i].name;
    if (m < 2) return cand[0].id;
    if (!c4j_cost_trial_direction(d, direction, m, ids, est, measured)) {
        if (below < 0) return cand[0].id; /* above the floor: only a trial could take it */
        say(t, "; no trial (cost model not measured here, or no memory for it): %s needs < %.1f x %s",
            cand[below].name, C4J_TRANSFORM_MARGIN, cand[0].name);
        return cand[below].s < C4J_TRANSFORM_MARGIN * cand[0].s ? cand[below].id : cand[0].id;
    }
    say(t, "; run once on this geometry at first plan (thread CPU time):");
    /* among the transforms, the best estimated one unless another ran below C4J_TRIAL_SWAP_MARGIN
       x it: two transforms about as fast (Winograd F(2x2) and F(4x4) on a deep layer) must not
       swap between processes by timing noise, as they round differently */
    int fastest = 1;
    for (int i = 2; i < m; i++)
        if (est[i] < est[fastest]) fastest = i;
    const int by_estimate = fastest;
    for (int i = 0; i < m; i++) {
        say(t, "%s %s %.3f ms", i > 0 ? "," : "", names[i], measured[i] * 1e3);
        if (i > 0 && i != by_estimate && measured[i] < C4J_TRIAL_SWAP_MARGIN * measured[by_estimate] &&
            measured[i] < measured[fastest])
            fastest = i;
    }
    if (clear) {
        say(t, "; %s among the transforms", names[fastest]);
        return ids[fastest];
    }
    const int wins = measured[fastest] < C4J_TRIAL_MARGIN * measured[0];
    say(t, "; %s %s %.2f x %s", names[fastest], wins ? "below" : "not below", C4J_TRIAL_MARGIN, names[0]);
    return wins ? ids[fastest] : ids[0];
}

/*
 * Exact against exact in the forward pass: the best exact route by estimate, unless another one,
 * estimated within C4J_TRIAL_HIGH x it on the dense views of d's geometry, ran below
 * C4J_TRIAL_MARGIN x its time when all of them ran once on that geometry (cost_trial.c, the same
 * verdict for every entry point and view; the fastest of those below the margin wins). The
 * estimates of routes of different designs err differently (the tiled GEMM's models its patch
 * gather, which on a contraction of 9 products per output ran 1.45x its estimate, where a direct
 * kernel's is timed), and by more on a busy machine, where the sgemm routes' traffic through the
 * shared cache costs most: so every exact route in the band runs, not only the best two by
 * estimate (a third one left out could not win however fast it ran here). Returns best, or the
 * route taken with d's estimate.
 */
static costed exact_choice(const c4j_conv2d_desc *d, costed best, text *t) {
    const c4j_conv2d_desc g = c4j_trial_geometry(d);
    costed c[C4J_TRIAL_MAX]; /* the exact routes on the dense views, best estimate first */
    int n = 0;
    for (int i = 0; i < direction_rows(C4J_DIR_FORWARD); i++) {
        int id, is_exact;
        const char *name;
        c4j_conv2d_route_info(C4J_DIR_FORWARD, i, &id, &is_exact, &name);
        if (!is_exact || route_estimate(d, C4J_DIR_FORWARD, id) < 0) continue;
        const costed e = {id, route_estimate(&g, C4J_DIR_FORWARD, id), name};
        if (e.s < 0 || n == C4J_TRIAL_MAX) continue;
        int at = n++;
        for (; at > 0 && e.s < c[at - 1].s; at--) c[at] = c[at - 1];
        c[at] = e;
    }
    int m = 1; /* those within the band of the best */
    while (m < n && c[m].s < C4J_TRIAL_HIGH * c[0].s) m++;
    if (m < 2) return best;
    int ids[C4J_TRIAL_MAX];
    double est[C4J_TRIAL_MAX], measured[C4J_TRIAL_MAX];
    for (int i = 0; i < m; i++) ids[i] = c[i].id, est[i] = c[i].s;
    if (!c4j_cost_trial(d, m, ids, est, measured)) return best;
    int pick = 0;
    say(t, "; exact routes near a tie, run once on this geometry:");
    for (int i = 0; i < m; i++) {
        say(t, "%s %s %.3f ms", i > 0 ? "," : "", c[i].name, measured[i] * 1e3);
        if (i > 0 && measured[i] < C4J_TRIAL_MARGIN * measured[0] && measured[i] < measured[pick]) pick = i;
    }
    const costed chosen = {c[pick].id, route_estimate(d, C4J_DIR_FORWARD, c[pick].id), c[pick].name};
    return chosen;
}

int c4j_conv2d_plan(const c4j_conv2d_desc *d, int direction, int exact_only, char *why, size_t why_len) {
    text t = {why, why_len, 0};
    if (why != NULL && why_len > 0) why[0] = 0;
    const int rows = direction_rows(direction);
    if (d == NULL || rows == 0) return -1;
    const int strided = d->stride_h != 1 || d->stride_w != 1, wide = wide_padding(d);
    const int forward = direction == C4J_DIR_FORWARD;
    /* Every entry point of one convolution must take one route (or their bits differ): a plain
       call, a prepared filter (with its bias and activation), backward() (the filter gradient with
       the bias gradient beside it, which the direct route's estimate counts) and gradFilter()
       (without), a flipped kernel, a channel slice of a wider tensor. So the routes are ranked by
       their estimates on the dense geometry without those (as the trials run it), d deciding only
       which routes apply. */
    const c4j_conv2d_desc g = c4j_trial_geometry(d);
    int first_exact = -1;
    costed exact = {-1, 0, NULL}, transform = {-1, 0, NULL};
    int nt = 0; /* transform routes that apply */
    if (forward)
        say(&t, "cost model, estimated single-thread time without the filter transform (a transform route needs less "
                "than plain im2col + sgemm and, against the best exact route: below %.2f x it wins; from there to "
                "%.2f x, both run once on this geometry and it needs < %.2f x the exact one's time; without a "
                "measured cost model, < %.1f x the best exact one's estimate): ",
            C4J_TRIAL_LOW, C4J_TRIAL_HIGH, C4J_TRIAL_MARGIN, C4J_TRANSFORM_MARGIN);
    else
        say(&t, "cost model, estimated single-thread time%s (a transform route needs less than plain im2col + sgemm "
                "and, against the best exact route: below %.2f x it wins; from there to %.2f x, both run once on this "
                "geometry and it needs < %.2f x the exact one's time; without a measured cost model, < %.1f x the "
                "best exact one's estimate): ",
            direction == C4J_DIR_INPUT_GRADIENT_PREPARED ? " without the filter transform"
            : direction == C4J_DIR_FILTER_GRADIENT       ? " incl. the reduction of partial sums"
                                                         : " incl. filter rearrangement",
            C4J_TRIAL_LOW, C4J_TRIAL_HIGH, C4J_TRIAL_MARGIN, C4J_TRANSFORM_MARGIN);
    for (int i = 0; i < rows; i++) {
        int id, is_exact;
        const char *name;
        c4j_conv2d_route_info(direction, i, &id, &is_exact, &name);
        if (is_exact && first_exact < 0) first_exact = id;
        say(&t, "%s%s ", i > 0 ? "; " : "", name);
        if (!is_exact && exact_only) {
            say(&t, "excluded by exactOnly");
            continue;
        }
        if (!is_exact && wide) {
            say(&t, "excluded: padding wider than half the kernel");
            continue;
        }
        const double s = route_estimate(d, direction, id);
        if (s < 0) {
            say(&t, "not applicable");
            continue;
        }
        say(&t, "%.3f ms%s", s * 1e3, forward && !is_exact && strided ? " (space to depth)" : "");
        const double ranked = route_estimate(&g, direction, id);
        const costed c = {id, ranked >= 0 ? ranked : s, name};
        if (is_exact && (exact.id < 0 || c.s < exact.s)) exact = c;
        if (!is_exact && (transform.id < 0 || c.s < transform.s)) transform = c;
        if (!is_exact) nt++;
    }
    const double floor = floor_seconds(d, direction);
    say(&t, "; plain im2col + sgemm %.3f ms", floor * 1e3);
    if (exact.id < 0) return first_exact; /* the GEMM routes apply to every convolution */
    if (forward) exact = exact_choice(d, exact, &t);
    if (nt == 0) return exact.id;
    /* Transform or exact is a question about the geometry, asked on dense views of it: an input
       or output view changes some exact estimates (the tiled GEMM's), and a view and its
       contiguous copy must not land on either side of the band (they would round differently). */
    costed cand[C4J_TRIAL_MAX];
    int n = 1;
    cand[0].id = -1;
    for (int pass = 0; pass < 2; pass++) /* the best exact route, then the transforms against it */
        for (int i = 0; i < rows; i++) {
            int id, is_exact;
            const char *name;
            c4j_conv2d_route_info(direction, i, &id, &is_exact, &name);
            if (is_exact != (pass == 0) || route_estimate(d, direction, id) < 0) continue; /* d's view rules */
            const double s = route_estimate(&g, direction, id);
            const costed c = {id, s, name};
            if (s < 0) continue;
            if (is_exact && (cand[0].id < 0 || s < cand[0].s)) cand[0] = c;
            if (!is_exact && n < C4J_TRIAL_MAX && (s < floor || floor_by_trial(direction, cand[0], s))) cand[n++] = c;
        }
    if (cand[0].id < 0) return exact.id;
    if (memcmp(&g, d, sizeof g) != 0) say(&t, "; on dense views, best exact %s %.3f ms", cand[0].name, cand[0].s * 1e3);
    const int chosen = trial_choice(&g, direction, cand, n, floor, &t);
    return chosen == cand[0].id ? exact.id : chosen;
}

int c4j_conv2d_backward_input_route(const c4j_conv2d_desc *d) {
    return c4j_conv2d_plan(d, C4J_DIR_INPUT_GRADIENT, 0, NULL, 0);
}

int c4j_conv2d_backward_filter_route(const c4j_conv2d_desc *d) {
    return c4j_conv2d_plan(d, C4J_DIR_FILTER_GRADIENT, 0, NULL, 0);
}
