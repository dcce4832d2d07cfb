/*
 * The planner (planner.c): for random layers and every direction, the route AUTO takes obeys the
 * one rule (the cheapest exact route unless a transform route is below C4J_TRANSFORM_MARGIN x it
 * and below plain im2col + sgemm; transforms out under exact_only), the reasoning names every row,
 * and the backward entry points' AUTO is the planner's choice.
 */
#include <string.h>

#include "testlib.h"


static double estimate(const c4j_conv2d_desc *d, int dir, int id) {
    if (dir == C4J_DIR_FORWARD) return c4j_conv2d_estimate_seconds(d, (c4j_algo)id, 0);
    if (dir == C4J_DIR_INPUT_GRADIENT) return c4j_conv2d_backward_input_estimate_seconds(d, id);
    return c4j_conv2d_backward_filter_estimate_seconds(d, id);
}

static void check(const c4j_conv2d_desc *d, int dir, int exact_only, int case_no) {
    char why[4096];
    const int chosen = c4j_conv2d_plan(d, dir, exact_only, why, sizeof why);
    double best_exact = -1, chosen_s = -1;
    int chosen_exact = -1;
    for (int i = 0; i < c4j_conv2d_routes(dir); i++) {
        int id, exact;
        const char *name;
        T_CHECK(c4j_conv2d_route_info(dir, i, &id, &exact, &name), "row %d", i);
        T_CHECK(strstr(why, name) != NULL, "case %d dir %d: %s not in the reasoning: %s", case_no, dir, name, why);
        const double s = estimate(d, dir, id);
        if (exact && s >= 0 && (best_exact < 0 || s < best_exact)) best_exact = s;
        if (id == chosen) {
            chosen_s = s;
            chosen_exact = exact;
        }
    }
    T_CHECK(chosen_s >= 0, "case %d dir %d: route %d chosen but not applicable: %s", case_no, dir, chosen, why);
    if (chosen_exact) {
        T_CHECK(chosen_s == best_exact, "case %d dir %d: a slower exact route: %s", case_no, dir, why);
    } else {
        T_CHECK(!exact_only, "case %d dir %d: a transform under exact_only", case_no, dir);
        T_CHECK(chosen_s < C4J_TRANSFORM_MARGIN * best_exact, "case %d dir %d: no margin: %s", case_no, dir, why);
    }
    if (dir == C4J_DIR_INPUT_GRADIENT && !exact_only)
        T_CHECK(c4j_conv2d_backward_input_units(d, C4J_BWD_AUTO) == c4j_conv2d_backward_input_units(d, chosen), "case %d",
                case_no);
    if (dir == C4J_DIR_FILTER_GRADIENT && !exact_only)
        T_CHECK(c4j_conv2d_backward_filter_route(d) == chosen, "case %d", case_no);
}

int main(void) {
    uint64_t st = 4242;
    for (int c = 0; c < 400; c++) {
        c4j_conv2d_desc d;
        const int64_t g = t_rand_range(&st, 0, 4) == 0 ? t_rand_range(&st, 2, 8) : 1;
        const int64_t cg = t_rand_range(&st, 1, 64), og = t_rand_range(&st, 1, 64);
        int64_t k = t_rand_range(&st, 1, 7);
        if (t_rand_range(&st, 0, 1)) k = 3;
        const int64_t s = t_rand_range(&st, 0, 3) == 0 ? 2 : 1;
        const int64_t h = t_rand_range(&st, k, 40), w = t_rand_range(&st, k, 40);
        const int64_t p = t_rand_range(&st, 0, k);
        t_dense_desc(&d, t_rand_range(&st, 1, 3), h, w, g * cg, k, k, g * og, g, s, s, 1, 1, p, p, p, p);
        for (int dir = C4J_DIR_FORWARD; dir <= C4J_DIR_FILTER_GRADIENT; dir++)
            for (int exact_only = 0; exact_only <= 1; exact_only++) check(&d, dir, exact_only, c);
    }
    /* The cost model off (this test never measures), the direct filter gradient's estimate on
       seed_5x5_n4 and r50_conv1_7x7s2 (3 input channels, its steps dominate: measured 2-4x slower
       than the GEMM and FFT routes there) must not make it AUTO's choice */
    for (int i = 0; i < T_N_PEER_LAYERS; i++) {
        const t_layer *l = &T_PEER_LAYERS[i];
        if (strcmp(l->name, "seed_5x5_n4") != 0 && strcmp(l->name, "r50_conv1_7x7s2") != 0) continue;
        c4j_conv2d_desc d;
        t_layer_desc(l, &d);
        T_CHECK(c4j_conv2d_backward_filter_route(&d) != C4J_ALGO_DIRECT_DENSE, "%s: direct filter gradient chosen",
                l->name);
    }
    T_CHECK(c4j_conv2d_plan(NULL, C4J_DIR_FORWARD, 0, NULL, 0) == -1, "NULL descriptor");
    T_CHECK(c4j_conv2d_routes(7) == 0, "unknown direction");
    if (t_failures) fprintf(stderr, "%d failures\n", t_failures);
    else printf("planner: OK\n");
    return t_failures != 0;
}
