/*
 * The cost model's common ground: how long one single-threaded cblas_sgemm of a given shape
 * takes. In a process that bound its BLAS (the JNI layer does), the shape is timed on this
 * machine the first time it is asked for (cost_measure.c). Otherwise, and for the blocking
 * choices that must not depend on a timing (c4j_cost_sgemm_model), it is interpolated (in log
 * space) from a built-in table measured on one reference machine (cost_table.h, made by
 * native/bench/sgemm_table.c; AMD EPYC Zen 5, OpenBLAS 0.3.31 SkylakeX kernels), which ranks
 * shapes the way that CPU did and is right nowhere else. Each algorithm estimates its own time
 * from its real blocking with it (see c4j_conv2d_estimate_seconds).
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

double c4j_cost_sgemm_model(int64_t m, int64_t k, int64_t n) {
    if (m <= 0 || k <= 0 || n <= 0) return 0;
    double gflops = table_gflops(grid_pos(C4J_GRID_M, C4J_GRID_NM, (double)m), grid_pos(C4J_GRID_K, C4J_GRID_NK, (double)k),
                                 grid_pos(C4J_GRID_N, C4J_GRID_NN, (double)n));
    /* below the grid, sgemm does the smallest shape's work for less: per-call cost dominates */
    if (m < C4J_GRID_M[0]) gflops *= (double)m / C4J_GRID_M[0];
    if (n < C4J_GRID_N[0]) gflops *= (double)n / C4J_GRID_N[0];
    if (k < C4J_GRID_K[0]) gflops *= (double)k / C4J_GRID_K[0];
    return 2.0 * (double)m * (double)k * (double)n / (gflops * 1e9);
}

double c4j_cost_sgemm(int64_t m, int64_t k, int64_t n) {
    if (m <= 0 || k <= 0 || n <= 0) return 0;
    const double measured = c4j_cost_sgemm_measured(m, k, n);
    return measured > 0 ? measured : c4j_cost_sgemm_model(m, k, n);
}

double c4j_cost_sgemm_at(int64_t m, int64_t k, int64_t n) {
    if (m <= 0 || k <= 0 || n <= 0) return 0;
    const double measured = c4j_cost_sgemm_at_measured(m, k, n);
    return measured > 0 ? measured : c4j_cost_sgemm_model(m, k, n);
}

/*
 * Rows per sgemm call when an M x K by K x N product (row-major, no transposes, alpha 1, beta 0)
 * may be issued as several calls on row pieces; each row's result is the same either way.
 * OpenBLAS's AVX-512 builds run such products straight from the caller's arrays, without packing,
 * when they are small (sgemm_direct); for a narrow C that can beat the packed kernel of one large
 * call, or lose to it, depending on the CPU. With measured sgemm times (cost_measure.c) the
 * fastest of pieces of 96, 64, 48 or 32 rows is taken when it beats one call by PIECE_MARGIN:
 * pieces switch OpenBLAS to another code path, and on a busy machine timings of two paths within
 * a few percent of each other rank them by chance (a 1x1 stride-2 layer whose plan went to
 * pieces ran 1.5x slower in one process than in the next), so near-ties keep the one call.
 * Without measured times, the rule fitted
 * on the reference machine: pieces under about 2^20 multiply-adds for N <= 64 (1.1-1.3x there).
 * With several OpenBLAS threads, one call (it parallelises a large call, not small ones). The
 * piece depends on the shape, the CPU and OpenBLAS's thread setting (blas; NULL for the default,
 * one thread, as the cost model assumes), never on conv4j's thread count.
 */
#define PIECE_MAX_MACS ((int64_t)1 << 20)
#define PIECE_MAX_N 64
#define PIECE_MARGIN 0.9

int64_t c4j_sgemm_piece_rows(const c4j_blas *blas, int64_t m, int64_t k, int64_t n) {
    static const int64_t CANDIDATES[] = {96, 64, 48, 32};
    if (m <= CANDIDATES[0]) return m;
    if (blas != NULL && blas->get_num_threads != NULL && blas->get_num_threads() > 1) return m;
    if (c4j_cost_is_measured()) {
        int64_t best = m;
        double best_s = PIECE_MARGIN * c4j_cost_sgemm(m, k, n);
        for (size_t i = 0; i < sizeof CANDIDATES / sizeof CANDIDATES[0]; i++) {
            const double s = c4j_cost_sgemm_pieces(m, k, n, CANDIDATES[i]);
            if (s < best_s) {
                best_s = s;
                best = CANDIDATES[i];
            }
        }
        return best;
    }
    if (n > PIECE_MAX_N || !c4j_cpu_has_avx512()) return m;
    for (size_t i = 0; i < sizeof CANDIDATES / sizeof CANDIDATES[0]; i++)
        if (CANDIDATES[i] * k * n <= PIECE_MAX_MACS) return CANDIDATES[i];
    return m;
}

double c4j_cost_sgemm_pieces(int64_t m, int64_t k, int64_t n, int64_t piece) {
    if (piece <= 0 || piece >= m) return c4j_cost_sgemm(m, k, n);
    return (double)(m / piece) * c4j_cost_sgemm(piece, k, n) + c4j_cost_sgemm(m % piece, k, n);
}
