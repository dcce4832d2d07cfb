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
double c4j_bw_small_groups_factor(const c4j_conv2d_desc *d, int route) {
    if (!c4j_gd_applicable(d)) return 1.0;
    if (route != C4J_BWD_GEMM && route != C4J_BWD_SCATTER) return c4j_small_groups_factor(d);
    const double hi = route == C4J_BWD_GEMM ? 16.0 : 4.0, f = 4.0 * hi / (double)c4j_cin_g(d);
    return f > hi ? hi : f < 1.5 ? 1.5 : f;
}

double c4j_conv2d_backward_input_estimate_seconds(const c4j_conv2d_desc *d, int route) {
    if (d == NULL) return -1;
    const c4j_input_gradient_route *r = c4j_input_gradient_route_of(route);
    return r != NULL && r->applies(d) ? r->estimate(d) : -1;
}

double c4j_conv2d_backward_filter_estimate_seconds(const c4j_conv2d_desc *d, int route) {
    if (d == NULL) return -1;
    const c4j_filter_gradient_route *r = c4j_filter_gradient_route_of(route);
    return r != NULL && r->applies(d) ? r->estimate(d) : -1;
}

/* Another route replaces a GEMM route only when its estimate is at least this much smaller: the
   estimates are within about 20% of the measured times, and the GEMM routes degrade least. */
#define ROUTE_MARGIN 0.85

int c4j_conv2d_backward_input_route(const c4j_conv2d_desc *d) {
    int best = C4J_BWD_GEMM;
    double best_s = c4j_conv2d_backward_input_estimate_seconds(d, C4J_BWD_GEMM);
    if (best_s > 0) best_s *= ROUTE_MARGIN;
    for (int i = 1; i < c4j_input_gradient_rows(); i++) {
        const int r = c4j_input_gradient_row(i)->id;
        const double s = c4j_conv2d_backward_input_estimate_seconds(d, r);
        if (s >= 0 && (best_s < 0 || s < best_s)) {
            best = r;
            best_s = s;
        }
    }
    return best;
}

int c4j_conv2d_backward_filter_route(const c4j_conv2d_desc *d) {
    int best = C4J_BWD_GEMM;
    double best_s = c4j_conv2d_backward_filter_estimate_seconds(d, C4J_BWD_GEMM);
    if (best_s > 0) best_s *= ROUTE_MARGIN;
    for (int i = 1; i < c4j_filter_gradient_rows(); i++) {
        const int r = c4j_filter_gradient_row(i)->id;
        const double s = c4j_conv2d_backward_filter_estimate_seconds(d, r);
        if (s >= 0 && (best_s < 0 || s < best_s)) {
            best = r;
            best_s = s;
        }
    }
    return best;
}
