/*
 * Winograd input-transform kernels shared by the forward algorithm (winograd.c) and the filter
 * gradient (backward_winograd.c), which transform input tiles the same way: BT D B for the points
 * of F(2x2,3x3) and of F(4x4,3x3) ({0, 1, -1, 1/2, -2, inf}, rows scaled to integers).
 *
 * The kernels work on nc <= CB channels, contiguous in memory, of one tile; every loop over c is a
 * plain vector loop. Hot, so cloned for AVX-512 and AVX2+FMA and picked at load time; the default
 * clone keeps the library running on any x86-64. Include after defining CB.
 */
#ifndef CONV4J_WINOGRAD_INPUT_H
#define CONV4J_WINOGRAD_INPUT_H

#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(CONV4J_NO_CLONES)
#define HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define HOT
#endif
/* the channel loops write several streams (and read the kernel's own temporaries): no loop-carried
   dependence, which GCC cannot prove for more than a few pointers without runtime checks */
#if defined(__GNUC__) && !defined(__clang__)
#define C4J_IVDEP _Pragma("GCC ivdep")
#else
#define C4J_IVDEP
#endif

/* F(2,3) input: pixel (r, s) of the window at px[4r+s][c]; point (i, j) goes to dst[(4i+j)*ds + c] */
HOT static void in_f2(const float *const *px, float *restrict dst, int64_t ds, int64_t nc) {
    float t[4][4][CB];
    for (int j = 0; j < 4; j++) {
        const float *restrict s0 = px[j], *restrict s1 = px[4 + j], *restrict s2 = px[8 + j],
                              *restrict s3 = px[12 + j];
        C4J_IVDEP
        for (int64_t c = 0; c < nc; c++) {
            t[0][j][c] = s0[c] - s2[c];
            t[1][j][c] = s1[c] + s2[c];
            t[2][j][c] = s2[c] - s1[c];
            t[3][j][c] = s1[c] - s3[c];
        }
    }
    for (int i = 0; i < 4; i++) {
        float *restrict d0 = dst + (4 * i) * ds, *restrict d1 = d0 + ds, *restrict d2 = d1 + ds,
                        *restrict d3 = d2 + ds;
        C4J_IVDEP
        for (int64_t c = 0; c < nc; c++) {
            const float x0 = t[i][0][c], x1 = t[i][1][c], x2 = t[i][2][c], x3 = t[i][3][c];
            d0[c] = x0 - x2;
            d1[c] = x1 + x2;
            d2[c] = x2 - x1;
            d3[c] = x1 - x3;
        }
    }
}

/*
 * BT for points 0, 1, -1, 1/2, -2, inf (rows scaled to integers):
 *   [2 -3 -4  3  2  0]   v0 = 2(d0 - d2 + B) + 3A        with A = d3 - d1, B = d4 - d2
 *   [0 -2  1  5  2  0]   v1 = 2(A + B) + 3(d2 + d3)
 *   [0  2 -5  1  2  0]   v2 = 2(B - A) + 3(d3 - d2)
 *   [0 -2 -1  2  1  0]   v3 = 2A + B
 *   [0  1 -2 -1  2  0]   v4 = 2B - A
 *   [0  2 -3 -4  3  2]   v5 = 2(d5 - d3 - A) + 3B
 */
#define BT4(x0, x1, x2, x3, x4, x5, v0, v1, v2, v3, v4, v5)           \
    do {                                                              \
        const float A_ = (x3) - (x1), B_ = (x4) - (x2);               \
        v0 = 2.0f * ((x0) - (x2) + B_) + 3.0f * A_;                   \
        v1 = 2.0f * (A_ + B_) + 3.0f * ((x2) + (x3));                 \
        v2 = 2.0f * (B_ - A_) + 3.0f * ((x3) - (x2));                 \
        v3 = 2.0f * A_ + B_;                                          \
        v4 = 2.0f * B_ - A_;                                          \
        v5 = 2.0f * ((x5) - (x3) - A_) + 3.0f * B_;                   \
    } while (0)

/* F(4,3) input: pixel (r, s) at px[6r+s][c]; point (i, j) goes to dst[(6i+j)*ds + c] */
HOT static void in_f4(const float *const *px, float *restrict dst, int64_t ds, int64_t nc) {
    float t[6][6][CB];
    for (int j = 0; j < 6; j++) {
        const float *restrict s0 = px[j], *restrict s1 = px[6 + j], *restrict s2 = px[12 + j],
                              *restrict s3 = px[18 + j], *restrict s4 = px[24 + j], *restrict s5 = px[30 + j];
        C4J_IVDEP
        for (int64_t c = 0; c < nc; c++) {
            float v0, v1, v2, v3, v4, v5;
            BT4(s0[c], s1[c], s2[c], s3[c], s4[c], s5[c], v0, v1, v2, v3, v4, v5);
            t[0][j][c] = v0;
            t[1][j][c] = v1;
            t[2][j][c] = v2;
            t[3][j][c] = v3;
            t[4][j][c] = v4;
            t[5][j][c] = v5;
        }
    }
    for (int i = 0; i < 6; i++) {
        float *restrict d0 = dst + (6 * i) * ds, *restrict d1 = d0 + ds, *restrict d2 = d1 + ds,
                        *restrict d3 = d2 + ds, *restrict d4 = d3 + ds, *restrict d5 = d4 + ds;
        C4J_IVDEP
        for (int64_t c = 0; c < nc; c++) {
            float v0, v1, v2, v3, v4, v5;
            BT4(t[i][0][c], t[i][1][c], t[i][2][c], t[i][3][c], t[i][4][c], t[i][5][c], v0, v1, v2, v3,
                v4, v5);
            d0[c] = v0;
            d1[c] = v1;
            d2[c] = v2;
            d3[c] = v3;
            d4[c] = v4;
            d5[c] = v5;
        }
    }
}

#endif
