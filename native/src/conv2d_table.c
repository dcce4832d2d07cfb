/*
 * The 2-D engine's table of forward algorithms. Each row is defined in its algorithm's own file
 * (see c4j_conv2d_algorithm in internal.h); conv2d.c's entry points and the planner (plan2d.c)
 * walk this table and nothing else. The order is the order the planner lists them in.
 */
#include "internal.h"

static const c4j_conv2d_algorithm *const FORWARD[] = {
    &c4j_conv2d_gemm_direct, &c4j_conv2d_gemm_tiled, &c4j_conv2d_winograd_2x2,
    &c4j_conv2d_winograd_4x4, &c4j_conv2d_fft, &c4j_conv2d_grouped_direct, &c4j_conv2d_gemm_nchw,
    &c4j_conv2d_winograd_1d, &c4j_conv2d_direct_dense, &c4j_conv2d_direct_narrow,
    &c4j_conv2d_winograd_k2,
};

int c4j_conv2d_forward_rows(void) { return (int)(sizeof FORWARD / sizeof *FORWARD); }

const c4j_conv2d_algorithm *c4j_conv2d_forward_row(int index) {
    return index >= 0 && index < c4j_conv2d_forward_rows() ? FORWARD[index] : NULL;
}

const c4j_conv2d_algorithm *c4j_conv2d_forward_algorithm(int id) {
    for (int i = 0; i < c4j_conv2d_forward_rows(); i++)
        if (FORWARD[i]->id == id) return FORWARD[i];
    return NULL;
}

/* Input gradient: the general route first (the others are measured against it). */
static const c4j_input_gradient_route *const INPUT_GRADIENT[] = {
    &c4j_bx_gemm,         &c4j_bx_taps,         &c4j_bx_scatter,     &c4j_bx_gemm_direct, &c4j_bx_gemm_tiled,
    &c4j_bx_winograd_2x2, &c4j_bx_winograd_4x4, &c4j_bx_fft,         &c4j_bx_grouped_direct,
};

int c4j_input_gradient_rows(void) { return (int)(sizeof INPUT_GRADIENT / sizeof *INPUT_GRADIENT); }

const c4j_input_gradient_route *c4j_input_gradient_row(int index) {
    return index >= 0 && index < c4j_input_gradient_rows() ? INPUT_GRADIENT[index] : NULL;
}

const c4j_input_gradient_route *c4j_input_gradient_route_of(int id) {
    for (int i = 0; i < c4j_input_gradient_rows(); i++)
        if (INPUT_GRADIENT[i]->id == id) return INPUT_GRADIENT[i];
    return NULL;
}

/* Filter gradient: the general route first. */
static const c4j_filter_gradient_route *const FILTER_GRADIENT[] = {
    &c4j_bw_gemm, &c4j_bw_winograd_4x4, &c4j_bw_winograd_2x2, &c4j_bw_grouped_direct, &c4j_bw_fft,
    &c4j_bw_direct, &c4j_bw_winograd_fused,
};

int c4j_filter_gradient_rows(void) { return (int)(sizeof FILTER_GRADIENT / sizeof *FILTER_GRADIENT); }

const c4j_filter_gradient_route *c4j_filter_gradient_row(int index) {
    return index >= 0 && index < c4j_filter_gradient_rows() ? FILTER_GRADIENT[index] : NULL;
}

const c4j_filter_gradient_route *c4j_filter_gradient_route_of(int id) {
    for (int i = 0; i < c4j_filter_gradient_rows(); i++)
        if (FILTER_GRADIENT[i]->id == id) return FILTER_GRADIENT[i];
    return NULL;
}
