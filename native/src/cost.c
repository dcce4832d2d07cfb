/*
 * The cost model's common ground: how long one single-threaded cblas_sgemm of a given shape
 * takes, interpolated (in log space) from a table measured on this project's reference machine
 * (cost_table.h, made by native/bench/sgemm_table.c; AMD EPYC Zen 5, OpenBLAS 0.3.31 SkylakeX
 * kernels). Each algorithm estimates its own time from its real blocking with it (see
 * c4j_conv2d_estimate_seconds); the estimates only need to rank algorithms, so the absolute
 * speed of another machine does not matter as long as the shape effects are alike.
 */
#include <math.h>

#include "cost_grid.h"
#include "cost_table.h"
#include "internal.h"

/* position of v on a sorted grid as a fractional index, clamped to the grid */
static double grid_pos(const int *grid, int n, double v) {
    if (v <= grid[0]) return 0;
    if (v >= grid[n - 1]) return n - 1;
    int i = 0;
    while (v > grid[i + 1]) i++;
    return i + (log(v) - log(grid[i])) / (log(grid[i + 1]) - log(grid[i]));
}

static double table_gflops(double pm, double pk, double pn) {
    int im = (int)pm, ik = (int)pk, in = (int)pn;
    if (im >= C4J_GRID_NM - 1) im = C4J_GRID_NM - 2;
    if (ik >= C4J_GRID_NK - 1) ik = C4J_GRID_NK - 2;
    if (in >= C4J_GRID_NN - 1) in = C4J_GRID_NN - 2;
    double fm = pm - im, fk = pk - ik, fn = pn - in, g = 0;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < 2; c++) {
                double w = (a ? fm : 1 - fm) * (b ? fk : 1 - fk) * (c ? fn : 1 - fn);
                if (w > 0) g += w * log(C4J_SGEMM_GFLOPS[im + a][ik + b][in + c]);
            }
    return exp(g);
}

double c4j_cost_sgemm(int64_t m, int64_t k, int64_t n) {
    if (m <= 0 || k <= 0 || n <= 0) return 0;
    double gflops = table_gflops(grid_pos(C4J_GRID_M, C4J_GRID_NM, (double)m), grid_pos(C4J_GRID_K, C4J_GRID_NK, (double)k),
                                 grid_pos(C4J_GRID_N, C4J_GRID_NN, (double)n));
    /* below the grid, sgemm does the smallest shape's work for less: per-call cost dominates */
    if (m < C4J_GRID_M[0]) gflops *= (double)m / C4J_GRID_M[0];
    if (n < C4J_GRID_N[0]) gflops *= (double)n / C4J_GRID_N[0];
    if (k < C4J_GRID_K[0]) gflops *= (double)k / C4J_GRID_K[0];
    return 2.0 * (double)m * (double)k * (double)n / (gflops * 1e9);
}
