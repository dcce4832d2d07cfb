/*
 * The transforms of the Winograd filter gradient F(3x3, m x m) shared by the sgemm route
 * (backward_winograd.c) and the fused one (backward_winograd_fused.c): dY's E' = A E A^T and the
 * coefficients of G^T. Include after winograd_input.h (HOT, C4J_IVDEP) and after defining CB.
 */
#ifndef CONV4J_BACKWARD_WINOGRAD_H
#define CONV4J_BACKWARD_WINOGRAD_H

#include <stdint.h>

/*
 * dY transforms E' = A E A^T with A = AT^T: pixel (i, j) of the m x m tile at px[m*i+j][c]; point
 * (a, b) goes to dst[(alpha*a+b)*ds + c].
 *   F(3x3, 2x2), AT = [1 1 1 0; 0 1 -1 -1]:  a0 = e0, a1 = e0 + e1, a2 = e0 - e1, a3 = -e1
 *   F(3x3, 4x4), AT rows 1, x, x^2, x^3 at the points 0, 1, -1, 1/2, -2 (and inf for the last):
 *     a0 = e0, a1 = e0 + e1 + e2 + e3, a2 = e0 - e1 + e2 - e3, a3 = e0 + e1/2 + e2/4 + e3/8,
 *     a4 = e0 - 2 e1 + 4 e2 - 8 e3, a5 = e3   (Horner in powers of two: exact scalings)
 */
#define A2(e0, e1, a0, a1, a2, a3) \
    do {                           \
        a0 = (e0);                 \
        a1 = (e0) + (e1);          \
        a2 = (e0) - (e1);          \
        a3 = -(e1);                \
    } while (0)

#define A4(e0, e1, e2, e3, a0, a1, a2, a3, a4, a5)                  \
    do {                                                            \
        const float s02_ = (e0) + (e2), s13_ = (e1) + (e3);         \
        a0 = (e0);                                                  \
        a1 = s02_ + s13_;                                           \
        a2 = s02_ - s13_;                                           \
        a3 = (((e3) * 0.5f + (e2)) * 0.5f + (e1)) * 0.5f + (e0);    \
        a4 = (((e3) * -2.0f + (e2)) * -2.0f + (e1)) * -2.0f + (e0); \
        a5 = (e3);                                                  \
    } while (0)

HOT static void dy_f2(const float *const *px, float *restrict dst, int64_t ds, int64_t nc) {
    float t[4][2][CB];
    for (int j = 0; j < 2; j++) {
        const float *restrict e0 = px[j], *restrict e1 = px[2 + j];
        C4J_IVDEP
        for (int64_t c = 0; c < nc; c++) {
            float a0, a1, a2, a3;
            A2(e0[c], e1[c], a0, a1, a2, a3);
            t[0][j][c] = a0;
            t[1][j][c] = a1;
            t[2][j][c] = a2;
            t[3][j][c] = a3;
        }
    }
    for (int i = 0; i < 4; i++) {
        float *restrict d0 = dst + (4 * i) * ds, *restrict d1 = d0 + ds, *restrict d2 = d1 + ds,
                        *restrict d3 = d2 + ds;
        C4J_IVDEP
        for (int64_t c = 0; c < nc; c++) {
            float a0, a1, a2, a3;
            A2(t[i][0][c], t[i][1][c], a0, a1, a2, a3);
            d0[c] = a0;
            d1[c] = a1;
            d2[c] = a2;
            d3[c] = a3;
        }
    }
}

HOT static void dy_f4(const float *const *px, float *restrict dst, int64_t ds, int64_t nc) {
    float t[6][4][CB];
    for (int j = 0; j < 4; j++) {
        const float *restrict e0 = px[j], *restrict e1 = px[4 + j], *restrict e2 = px[8 + j],
                              *restrict e3 = px[12 + j];
        C4J_IVDEP
        for (int64_t c = 0; c < nc; c++) {
            float a0, a1, a2, a3, a4, a5;
            A4(e0[c], e1[c], e2[c], e3[c], a0, a1, a2, a3, a4, a5);
            t[0][j][c] = a0;
            t[1][j][c] = a1;
            t[2][j][c] = a2;
            t[3][j][c] = a3;
            t[4][j][c] = a4;
            t[5][j][c] = a5;
        }
    }
    for (int i = 0; i < 6; i++) {
        float *restrict d0 = dst + (6 * i) * ds, *restrict d1 = d0 + ds, *restrict d2 = d1 + ds,
                        *restrict d3 = d2 + ds, *restrict d4 = d3 + ds, *restrict d5 = d4 + ds;
        C4J_IVDEP
        for (int64_t c = 0; c < nc; c++) {
            float a0, a1, a2, a3, a4, a5;
            A4(t[i][0][c], t[i][1][c], t[i][2][c], t[i][3][c], a0, a1, a2, a3, a4, a5);
            d0[c] = a0;
            d1[c] = a1;
            d2[c] = a2;
            d3[c] = a3;
            d4[c] = a4;
            d5[c] = a5;
        }
    }
}

/*
 * G^T (alpha x 3 -> 3) with G of winograd.c (the scale of BT's integer rows included):
 *   F(3x3, 2x2): G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   F(3x3, 4x4): G = [1/2 0 0; 1/6 1/6 1/6; -1/6 1/6 -1/6; -16/15 -8/15 -4/15; 1/30 -1/15 2/15; 0 0 1/2]
 * In float: on the benchmark layers the error is the same as with the sums in double (see
 * native/tools/winograd_dw_points.py), and it keeps this per-unit step small next to the products.
 */
#define GT2(m0, m1, m2, m3, t0, t1, t2)              \
    do {                                             \
        const float h_ = 0.5f * ((m1) + (m2));       \
        t0 = (m0) + h_;                              \
        t1 = 0.5f * ((m1) - (m2));                   \
        t2 = h_ + (m3);                              \
    } while (0)
#define GT4(m0, m1, m2, m3, m4, m5, t0, t1, t2)                                         \
    do {                                                                                \
        const float d_ = ((m1) - (m2)) * (1.0f / 6), s_ = ((m1) + (m2)) * (1.0f / 6);   \
        t0 = 0.5f * (m0) + d_ - (16.0f / 15) * (m3) + (1.0f / 30) * (m4);               \
        t1 = s_ - (8.0f / 15) * (m3) - (1.0f / 15) * (m4);                              \
        t2 = d_ - (4.0f / 15) * (m3) + (2.0f / 15) * (m4) + 0.5f * (m5);                \
    } while (0)

#endif
