/*
 * One route per convolution for every entry point (planner.c, cost_trial.c). The entry points of
 * one layer hand the planner descriptors that differ in what the route must not depend on:
 *   - backward() with a bias computes the bias gradient beside the filter gradient (has_bias 1),
 *     gradFilter() does not (has_bias 0); a prepared filter plans the forward pass with its bias
 *     and activation, a plain call without; a flipped kernel (a transposed convolution);
 *   - a channel slice of a wider tensor (input, output or gradient views with longer rows).
 * Each must get the route of the plain dense descriptor in every direction, or the bits differ
 * between entry points (GoldenBackwardTest once saw backward()'s filter gradient and gradFilter()'s
 * one ulp apart on a depthwise layer).
 *
 * The trials run through a stand-in timer that gives every trial a different outcome (a route's
 * time is its estimate times a factor drawn from a counter), as noisy timings may in a real
 * process: a descriptor that reached a trial of its own, or ranked its candidates by other
 * estimates, shows as another route, deterministically.
 */
#include <string.h>

#include "../src/internal.h"
#include "testlib.h"

static uint64_t g_draws;

/* estimate x a factor in [0.55, 1.45), another one at every call */
static double noisy(const c4j_conv2d_desc *g, int direction, int id, double estimate) {
    (void)g, (void)direction, (void)id;
    uint64_t z = (++g_draws) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 31)) * 0xBF58476D1CE4E5B9ull;
    return estimate * (0.55 + 0.9 * (double)(z >> 11) / 9007199254740992.0);
}

/* Layers of every kind the planner ranks: dense, grouped and depthwise, strided, dilated, 1xK. */
static void random_layer(uint64_t *st, c4j_conv2d_desc *d) {
    const int64_t k = t_rand_range(st, 0, 2) == 0 ? 3 : t_rand_range(st, 1, 7);
    const int64_t kw = t_rand_range(st, 0, 4) == 0 ? 1 : k;
    const int64_t s = t_rand_range(st, 0, 3) == 0 ? 2 : 1, dil = t_rand_range(st, 0, 7) == 0 ? 2 : 1;
    const int64_t h = t_rand_range(st, (k - 1) * dil + 1, 40), w = t_rand_range(st, (kw - 1) * dil + 1, 40);
    const int64_t kind = t_rand_range(st, 0, 3); /* 0, 1: dense; 2: grouped; 3: depthwise (x1 or x2) */
    int64_t groups = 1, cin = t_rand_range(st, 1, 64), cout = t_rand_range(st, 1, 64);
    if (kind == 2) groups = t_rand_range(st, 2, 8), cin = groups * t_rand_range(st, 1, 8), cout = groups * t_rand_range(st, 1, 8);
    if (kind == 3) groups = cin = t_rand_range(st, 2, 96), cout = groups * t_rand_range(st, 1, 2);
    const int64_t p = t_rand_range(st, 0, (k - 1) * dil / 2), pw = t_rand_range(st, 0, (kw - 1) * dil / 2);
    t_dense_desc(d, t_rand_range(st, 1, 4), h, w, cin, k, kw, cout, groups, s, s, dil, dil, p, p, pw, pw);
}

/* d as a channel slice of wider tensors: the same elements, rows of other lengths */
static c4j_conv2d_desc channel_slice(const c4j_conv2d_desc *d) {
    c4j_conv2d_desc v = *d;
    v.in_stride[2] = d->in_c + 5, v.in_stride[1] = v.in_stride[2] * d->in_w + 3, v.in_stride[0] = v.in_stride[1] * d->in_h;
    v.out_stride[2] = d->out_c + 7, v.out_stride[1] = v.out_stride[2] * d->out_w;
    v.out_stride[0] = v.out_stride[1] * d->out_h + 1;
    return v;
}

static const char *direction_name(int direction) {
    return direction == C4J_DIR_FORWARD                   ? "forward"
           : direction == C4J_DIR_INPUT_GRADIENT          ? "input gradient"
           : direction == C4J_DIR_INPUT_GRADIENT_PREPARED ? "input gradient (prepared filter)"
                                                          : "filter gradient";
}

int main(void) {
    c4j_cost_trial_set_timer(noisy);
    uint64_t st = 2718;
    int checked = 0, with_trial = 0, differ[4][4] = {{0}};
    for (int c = 0; c < 1500; c++) {
        c4j_conv2d_desc d;
        random_layer(&st, &d);
        for (int direction = C4J_DIR_FORWARD; direction <= C4J_DIR_INPUT_GRADIENT_PREPARED; direction++) {
            char why[4096];
            const uint64_t before = g_draws;
            const int plain = c4j_conv2d_plan(&d, direction, 0, why, sizeof why);
            if (plain < 0) continue;
            checked++;
            if (g_draws > before) with_trial++;
            c4j_conv2d_desc other[4];
            const char *what[4] = {"with a bias", "with an activation", "flipped", "as a channel slice"};
            other[0] = d, other[0].has_bias = 1;
            other[1] = d, other[1].activation = C4J_ACT_RELU;
            other[2] = d, other[2].flip = 1;
            other[3] = channel_slice(&d);
            for (int i = 0; i < 4; i++) {
                char why_other[4096];
                const int route = c4j_conv2d_plan(&other[i], direction, 0, why_other, sizeof why_other);
                differ[direction][i] += route != plain;
                T_CHECK(route == plain,
                        "case %d (%lldx%lldx%lldx%lld, k %lldx%lld, cout %lld, groups %lld, stride %lld, dilation %lld),"
                        " %s: route %d %s, %d without:\n  %s\n  %s",
                        c, (long long)d.batch, (long long)d.in_h, (long long)d.in_w, (long long)d.in_c,
                        (long long)d.kernel_h, (long long)d.kernel_w, (long long)d.out_c, (long long)d.groups,
                        (long long)d.stride_h, (long long)d.dilation_h, direction_name(direction), route, what[i], plain,
                        why_other, why);
            }
        }
    }
    printf("entry points: %d plans (%d with a trial), each also with a bias, an activation, flipped and as a channel "
           "slice\n", checked, with_trial);
    for (int direction = C4J_DIR_FORWARD; direction <= C4J_DIR_INPUT_GRADIENT_PREPARED; direction++)
        printf("  %s: other routes %d with a bias, %d with an activation, %d flipped, %d as a channel slice\n",
               direction_name(direction), differ[direction][0], differ[direction][1], differ[direction][2],
               differ[direction][3]);
    T_CHECK(with_trial >= 100, "only %d plans went to a trial", with_trial);
    c4j_cost_trial_set_timer(NULL);
    if (t_failures) fprintf(stderr, "%d failures\n", t_failures);
    else printf("planner entry points: OK\n");
    return t_failures != 0;
}
