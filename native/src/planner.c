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
 *   - the cheapest exact route wins unless a transform route is estimated below
 *     C4J_TRANSFORM_MARGIN x it (only its sgemm calls are timed, its transforms are modelled, so
 *     its estimate errs more: a 7x1 layer estimated 0.650 ms by the FFT against 0.656 ms by the
 *     tiled GEMM took 1.17 ms by the FFT) and below plain im2col + one sgemm of the same GEMM.
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

int c4j_conv2d_plan(const c4j_conv2d_desc *d, int direction, int exact_only, char *why, size_t why_len) {
    text t = {why, why_len, 0};
    if (why != NULL && why_len > 0) why[0] = 0;
    const int rows = direction_rows(direction);
    if (d == NULL || rows == 0) return -1;
    const int strided = d->stride_h != 1 || d->stride_w != 1, wide = wide_padding(d);
    int exact = -1, transform = -1, first_exact = -1;
    double exact_s = 0, transform_s = 0;
    say(&t, "cost model, estimated single-thread time%s (a transform route needs < %.1f x the best exact one and "
            "less than plain im2col + sgemm): ",
        direction == C4J_DIR_FORWARD || direction == C4J_DIR_INPUT_GRADIENT_PREPARED ? " without the filter transform"
                                                                                     : " incl. filter rearrangement",
        C4J_TRANSFORM_MARGIN);
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
        say(&t, "%.3f ms%s", s * 1e3, direction == C4J_DIR_FORWARD && !is_exact && strided ? " (space to depth)" : "");
        if (is_exact && (exact < 0 || s < exact_s)) {
            exact = id;
            exact_s = s;
        } else if (!is_exact && (transform < 0 || s < transform_s)) {
            transform = id;
            transform_s = s;
        }
    }
    const double floor = floor_seconds(d, direction);
    say(&t, "; plain im2col + sgemm %.3f ms", floor * 1e3);
    if (exact < 0) return first_exact; /* the GEMM routes apply to every convolution */
    return transform >= 0 && transform_s < C4J_TRANSFORM_MARGIN * exact_s && transform_s < floor ? transform : exact;
}

int c4j_conv2d_backward_input_route(const c4j_conv2d_desc *d) {
    return c4j_conv2d_plan(d, C4J_DIR_INPUT_GRADIENT, 0, NULL, 0);
}

int c4j_conv2d_backward_filter_route(const c4j_conv2d_desc *d) {
    return c4j_conv2d_plan(d, C4J_DIR_FILTER_GRADIENT, 0, NULL, 0);
}
