/*
 * The 2-D engine's table of forward algorithms. Each row is defined in its algorithm's own file
 * (see c4j_conv2d_algorithm in internal.h); conv2d.c's entry points and the planner (plan2d.c)
 * walk this table and nothing else. The order is the order the planner lists them in.
 */
#include "internal.h"

static const c4j_conv2d_algorithm *const FORWARD[] = {
    &c4j_conv2d_gemm_direct, &c4j_conv2d_gemm_tiled, &c4j_conv2d_winograd_2x2,
    &c4j_conv2d_winograd_4x4, &c4j_conv2d_fft, &c4j_conv2d_grouped_direct,
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
