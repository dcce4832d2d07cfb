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
 *     the layer's geometry (choose, cost_trial.c) and the measured times decide, in every
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
 * The band, in every direction: a transform estimated below C4J_TRIAL_LOW x the best exact route
 * wins on the estimates (their error, up to about 2x, cannot reverse that); one estimated at
 * C4J_TRIAL_HIGH x or more loses on them, as does an exact route estimated at C4J_TRIAL_HIGH x the
 * best one or more. In between the estimates cannot rank the routes (a fixed margin there was a
 * cliff: a layer whose FFT estimate lay within 0.2% of 0.8 x the tiled GEMM's ran either route
 * depending on each process's sgemm timings, 1.8x apart), so every route in the band, exact or
 * transform, runs in one trial on the layer's geometry (cost_trial.c) and the measured times alone
 * decide (measured_pick): the estimates choose which routes run, never which one is the reference
 * the others are measured against. When the best estimated exact route was the reference, two
 * exact routes estimated within a few percent of each other (r50_1x1_56x64to256's GEMM_DIRECT and
 * GEMM_TILED) swapped the reference between processes, and with it the verdict, although neither
 * ran faster. The transform (the first in table order unless another ran below
 * C4J_TRIAL_SWAP_MARGIN x it) wins below C4J_TRIAL_MARGIN x the exact route's time: exact routes
 * round as a dot product, so a near tie keeps them, and a layer can flip between processes only
 * where two measured times lie within the timing noise of a margin.
 */

/* A route of the direction as a plan sees it. */
typedef struct {
    int id, exact;
    double s; /* its estimate on the dense geometry (d's own where it runs d's view only) */
    const char *name;
    int trial; /* it can run on the dense geometry, so a trial can time it */
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

/*
 * The route of set[0..n) (indices into measured, in table order) taken on measured times alone:
 * the first in table order that no other one ran below margin x its time. The fastest one
 * qualifies, so there is always one, and it ran at most 1 / margin x the fastest one's time;
 * near ties go to the table's order, the same in every process, and not to the estimates, which
 * differ between processes.
 */
static int measured_pick(const int *set, int n, const double *measured, double margin) {
    for (int i = 0; i < n; i++) {
        int beaten = 0;
        for (int j = 0; j < n && !beaten; j++) beaten = measured[set[j]] < margin * measured[set[i]];
        if (!beaten) return set[i];
    }
    return set[0];
}


/*
 * The verdict among the routes that apply: r[0..rows) in table order (s < 0: not a candidate),
 * best the best exact one by estimate. Returns the route id.
 */
static int choose(const c4j_conv2d_desc *d, int direction, const costed *r, int rows, costed best, double floor,
                  text *t) {
    /* the best transform estimated below plain im2col + sgemm */
    int below = -1;
    for (int i = 0; i < rows; i++)
        if (!r[i].exact && r[i].s >= 0 && r[i].trial && r[i].s < floor && (below < 0 || r[i].s < r[below].s)) below = i;
    int clear = 0; /* that transform below C4J_TRIAL_LOW x the exact route, with a rival near it */
    if (below >= 0 && r[below].s < C4J_TRIAL_LOW * best.s) {
        /* clear of the exact route, but not necessarily of the other transforms: their estimates
           err differently (alex_5x5_27x96to256: FFT estimated 2.9 ms, ran 5.3; WINOGRAD_1D
           estimated 3.3, ran 3.4), so where the estimates leave the filter transform out (the
           forward pass, a prepared filter's input gradient) a rival within C4J_TRIAL_HIGH x of it
           sends them to a trial among the transforms only. r50_3x3_7x512's prepared input
           gradient: Winograd F(2x2) estimated 0.94 x F(4x4), ran 1.35 x it */
        const int run_only = direction == C4J_DIR_FORWARD || direction == C4J_DIR_INPUT_GRADIENT_PREPARED;
        for (int i = 0; i < rows && run_only; i++)
            if (i != below && !r[i].exact && r[i].s >= 0 && r[i].trial && r[i].s < floor &&
                r[i].s < C4J_TRIAL_HIGH * r[below].s)
                clear = 1;
        say(t, "; %s below %.2f x %s on the estimates", r[below].name, C4J_TRIAL_LOW, best.name);
        if (!clear) return r[below].id;
        say(t, ", another transform within %.2f x it", C4J_TRIAL_HIGH);
    }
    /* the trial's candidates, in table order: the exact routes within the band of the best one
       (none when the transforms are clear of them), the transforms in the band */
    int ids[C4J_TRIAL_MAX], row_of[C4J_TRIAL_MAX], exact_set[C4J_TRIAL_MAX], transform_set[C4J_TRIAL_MAX];
    double est[C4J_TRIAL_MAX], measured[C4J_TRIAL_MAX];
    int m = 0, ne = 0, nt = 0;
    for (int i = 0; i < rows && m < C4J_TRIAL_MAX; i++) {
        if (r[i].s < 0 || !r[i].trial) continue;
        const int in_band = r[i].exact ? !clear && r[i].s < C4J_TRIAL_HIGH * best.s
                                       : (r[i].s < floor || floor_by_trial(direction, best, r[i].s)) &&
                                             r[i].s < C4J_TRIAL_HIGH * (clear ? r[below].s : best.s);
        if (!in_band) continue;
        if (r[i].exact) exact_set[ne++] = m;
        else transform_set[nt++] = m;
        ids[m] = r[i].id, est[m] = r[i].s, row_of[m++] = i;
    }
    if (m < 2 || (ne == 0 && !clear)) return best.id; /* nothing to rank, or only view-bound exact routes */
    if (!c4j_cost_trial_direction(d, direction, m, ids, est, measured)) {
        if (below < 0) return best.id; /* above the floor: only a trial could take it */
        say(t, "; no trial (cost model not measured here, or no memory for it): %s needs < %.1f x %s",
            r[below].name, C4J_TRANSFORM_MARGIN, best.name);
        return r[below].s < C4J_TRANSFORM_MARGIN * best.s ? r[below].id : best.id;
    }
    say(t, "; run once on this geometry at first plan (thread CPU time):");
    for (int i = 0; i < m; i++) say(t, "%s %s %.3f ms", i > 0 ? "," : "", r[row_of[i]].name, measured[i] * 1e3);
    const int transform = nt > 0 ? measured_pick(transform_set, nt, measured, C4J_TRIAL_SWAP_MARGIN) : -1;
    if (clear) {
        say(t, "; %s among the transforms (the first in table order that no other ran below %.2f x)",
            r[row_of[transform]].name, C4J_TRIAL_SWAP_MARGIN);
        return ids[transform];
    }
    const int exact = measured_pick(exact_set, ne, measured, C4J_TRIAL_MARGIN);
    if (ne > 1)
        say(t, "; %s among the exact routes (the first in table order that no other ran below %.2f x)",
            r[row_of[exact]].name, C4J_TRIAL_MARGIN);
    if (transform < 0) return ids[exact];
    const int wins = measured[transform] < C4J_TRIAL_MARGIN * measured[exact];
    say(t, "; %s %s %.2f x %s", r[row_of[transform]].name, wins ? "below" : "not below", C4J_TRIAL_MARGIN,
        r[row_of[exact]].name);
    return wins ? ids[transform] : ids[exact];
}

/* Whether route id of direction can run d (its table row's applies). */
static int route_applies(const c4j_conv2d_desc *d, int direction, int id) {
    if (direction == C4J_DIR_FORWARD) return c4j_conv2d_supports(d, (c4j_algo)id) == C4J_OK;
    if (direction == C4J_DIR_FILTER_GRADIENT) {
        const c4j_filter_gradient_route *r = c4j_filter_gradient_route_of(id);
        return r != NULL && r->applies(d);
    }
    const c4j_input_gradient_route *r = c4j_input_gradient_route_of(id);
    return r != NULL && r->applies(d);
}

#define PLAN_MAX_ROWS 32

int c4j_conv2d_plan(const c4j_conv2d_desc *d, int direction, int exact_only, char *why, size_t why_len) {
    text t = {why, why_len, 0};
    if (why != NULL && why_len > 0) why[0] = 0;
    const int rows = direction_rows(direction);
    if (d == NULL || rows == 0 || rows > PLAN_MAX_ROWS) return -1;
    const int strided = d->stride_h != 1 || d->stride_w != 1, wide = wide_padding(d);
    const int forward = direction == C4J_DIR_FORWARD;
    /* Every entry point of one convolution must take one route (or their bits differ): a plain
       call, a prepared filter (with its bias and activation), backward() (the filter gradient with
       the bias gradient beside it, which the direct route's estimate counts) and gradFilter()
       (without), a flipped kernel, a channel slice of a wider tensor. So every route is estimated
       once, on the dense geometry without those (as the trials run it), d deciding only which
       routes apply; those estimates are the ones shown. */
    const c4j_conv2d_desc g = c4j_trial_geometry(d);
    const int view = memcmp(&g, d, sizeof g) != 0;
    say(&t, "cost model, estimated single-thread time%s%s (a transform route needs less than plain im2col + sgemm "
            "and, against the best exact route: below %.2f x it wins; routes from there to %.2f x the best exact "
            "one run once on this geometry, and the exact route (the first in table order that no other ran below "
            "%.2f x) keeps it unless the transform ran below %.2f x it; without a measured cost model, a transform "
            "needs < %.1f x the best exact one's estimate): ",
        view ? " on dense views without bias, activation and flip" : "",
        forward                                      ? " without the filter transform"
        : direction == C4J_DIR_INPUT_GRADIENT_PREPARED ? " without the filter transform"
        : direction == C4J_DIR_FILTER_GRADIENT         ? " incl. the reduction of partial sums"
                                                       : " incl. filter rearrangement",
        C4J_TRIAL_LOW, C4J_TRIAL_HIGH, C4J_TRIAL_MARGIN, C4J_TRIAL_MARGIN, C4J_TRANSFORM_MARGIN);
    costed r[PLAN_MAX_ROWS];
    costed best = {-1, 1, 0, NULL, 0};
    int first_exact = -1;
    for (int i = 0; i < rows; i++) {
        int id, is_exact;
        const char *name;
        c4j_conv2d_route_info(direction, i, &id, &is_exact, &name);
        r[i] = (costed){id, is_exact, -1, name, 0};
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
        if (!route_applies(d, direction, id)) {
            say(&t, "not applicable");
            continue;
        }
        const double on_g = route_estimate(&g, direction, id);
        r[i].trial = on_g >= 0;
        r[i].s = on_g >= 0 ? on_g : route_estimate(d, direction, id);
        say(&t, "%.3f ms%s", r[i].s * 1e3, forward && !is_exact && strided ? " (space to depth)" : "");
        if (is_exact && r[i].s >= 0 && (best.id < 0 || r[i].s < best.s)) best = r[i];
    }
    const double floor = floor_seconds(&g, direction);
    say(&t, "; plain im2col + sgemm %.3f ms", floor * 1e3);
    if (best.id < 0) return first_exact; /* the GEMM routes apply to every convolution */
    return choose(&g, direction, r, rows, best, floor, &t);
}

int c4j_conv2d_backward_input_route(const c4j_conv2d_desc *d) {
    return c4j_conv2d_plan(d, C4J_DIR_INPUT_GRADIENT, 0, NULL, 0);
}

int c4j_conv2d_backward_filter_route(const c4j_conv2d_desc *d) {
    return c4j_conv2d_plan(d, C4J_DIR_FILTER_GRADIENT, 0, NULL, 0);
}
