/*
 * Route choice of the backward pass (C4J_BWD_AUTO): the estimate of every route of each gradient,
 * per call, with the filter's rearrangement and preparation included (in training the filter
 * changes every step), and the cheapest route that beats the GEMM route by ROUTE_MARGIN.
 */
#include <stdint.h>

#include "internal.h"

/*
 * On layers of small groups (where the grouped direct kernels apply) the sgemm routes ran much
 * slower than estimated, one product of a few rows and columns per group and tap: with 1 to 4
 * input channels per group the GEMM routes of both gradients 6-37x (geometric mean about 16), the
 * scatter route 2-4x (thread CPU time, the depthwise and 32-group layers of the peer benchmark).
 * Their estimates there carry that factor, falling with the channels per group as in the forward
 * pass (c4j_small_groups_factor, used as it is for the Winograd filter gradient).
 */
static double small_groups_factor(const c4j_conv2d_desc *d, int route) {
    if (!c4j_gd_applicable(d)) return 1.0;
    if (route != C4J_BWD_GEMM && route != C4J_BWD_SCATTER) return c4j_small_groups_factor(d);
    const double hi = route == C4J_BWD_GEMM ? 16.0 : 4.0, f = 4.0 * hi / (double)c4j_cin_g(d);
    return f > hi ? hi : f < 1.5 ? 1.5 : f;
}

double c4j_conv2d_backward_input_estimate_seconds(const c4j_conv2d_desc *d, int route) {
    c4j_conv2d_desc f;
    if (d == NULL) return -1;
    if (route == C4J_BWD_GEMM) return small_groups_factor(d, route) * c4j_bxg_estimate(d);
    if (route == C4J_BWD_TAPS) return c4j_bxt_applicable(d) ? small_groups_factor(d, C4J_BWD_GEMM) * c4j_bxt_estimate(d) : -1;
    if (route == C4J_BWD_SCATTER)
        return c4j_bxs_applicable(d) ? small_groups_factor(d, route) * c4j_bxs_estimate(d) +
                                           (double)c4j_filter_floats(d) * C4J_BW_REARRANGE_NS * 1e-9
                                     : -1;
    if (!c4j_bxf_route(d, route, &f)) return -1;
    return c4j_bxf_estimate(d, &f, route);
}

/* Another route replaces a GEMM route only when its estimate is at least this much smaller: the
   estimates are within about 20% of the measured times, and the GEMM routes degrade least. */
#define ROUTE_MARGIN 0.85

int c4j_conv2d_backward_input_route(const c4j_conv2d_desc *d) {
    int best = C4J_BWD_GEMM;
    double best_s = c4j_conv2d_backward_input_estimate_seconds(d, C4J_BWD_GEMM);
    if (best_s > 0) best_s *= ROUTE_MARGIN;
    const int cand[8] = {C4J_BWD_TAPS, C4J_BWD_SCATTER, C4J_ALGO_GEMM_DIRECT, C4J_ALGO_GEMM_TILED, C4J_ALGO_WINOGRAD_2X2,
                         C4J_ALGO_WINOGRAD_4X4, C4J_ALGO_FFT, C4J_ALGO_GROUPED_DIRECT};
    for (int i = 0; i < 8; i++) {
        const int r = cand[i];
        const double s = c4j_conv2d_backward_input_estimate_seconds(d, r);
        if (s >= 0 && (best_s < 0 || s < best_s)) {
            best = r;
            best_s = s;
        }
    }
    return best;
}

double c4j_conv2d_backward_filter_estimate_seconds(const c4j_conv2d_desc *d, int route) {
    if (d == NULL || !c4j_bw_route_ok(d, route)) return -1;
    if (route == C4J_BWD_GEMM) return small_groups_factor(d, route) * c4j_bwg_estimate(d);
    const int64_t r = c4j_bw_route_ranges(d, route);
    const double run = route == C4J_ALGO_GROUPED_DIRECT ? c4j_gdw_estimate(d)
                       : route == C4J_ALGO_FFT          ? c4j_bwf_estimate(d)
                                                        : small_groups_factor(d, route) * c4j_bwino_estimate(d, (c4j_algo)route);
    return run + (double)(r - 1) * (double)(c4j_filter_floats(d) + d->out_c) * C4J_BW_REDUCE_NS * 1e-9;
}

int c4j_conv2d_backward_filter_route(const c4j_conv2d_desc *d) {
    int best = C4J_BWD_GEMM;
    double best_s = c4j_conv2d_backward_filter_estimate_seconds(d, C4J_BWD_GEMM);
    if (best_s > 0) best_s *= ROUTE_MARGIN;
    const int cand[4] = {C4J_ALGO_WINOGRAD_4X4, C4J_ALGO_WINOGRAD_2X2, C4J_ALGO_GROUPED_DIRECT, C4J_ALGO_FFT};
    for (int i = 0; i < 4; i++) {
        const double s = c4j_conv2d_backward_filter_estimate_seconds(d, cand[i]);
        if (s >= 0 && (best_s < 0 || s < best_s)) {
            best = cand[i];
            best_s = s;
        }
    }
    return best;
}
