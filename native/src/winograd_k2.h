/*
 * Input and output transforms of Winograd F(4x4,2x2) (C4J_ALGO_WINOGRAD_K2), points 0, 1, -1, 1/2
 * and inf: a 5x5 input window, 25 transform points, a 4x4 output tile. Of the sets of four finite
 * points tried ({0, 1, -1} with 1/2, 2, -1/2 or -2; {0, 1, 1/2, -1/2}), 1/2 gave the smallest
 * largest error over random float32 data. The rows of BT are scaled to small integers and the
 * scale moved into G (GK2 in winograd.c, applied in double):
 *
 *   BT = [1 -2 -1  2  0]   v0 = x0 - x2 + 2A      with A = x3 - x1
 *        [0 -1  1  2  0]   v1 = A + x2 + x3
 *        [0  1 -3  2  0]   v2 = v1 + 2 x1 - 4 x2
 *        [0 -1  0  1  0]   v3 = A
 *        [0  1 -2 -1  2]   v4 = 2 (x4 - x2) - A
 *
 *   AT = [1 1  1   1   0]  y0 = m0 + s + m3       with s = m1 + m2, d = m1 - m2
 *        [0 1 -1 1/2   0]  y1 = d + m3 / 2
 *        [0 1  1 1/4   0]  y2 = s + m3 / 4
 *        [0 1 -1 1/8   1]  y3 = d + m3 / 8 + m4
 *
 * Included by winograd.c after its F(2x2) and F(4x4) kernels (CB, HOT, C4J_IVDEP, epi, the EPI_*
 * modes and EPI_DISPATCH come from there); the loops have the same form as theirs.
 */
#ifndef CONV4J_WINOGRAD_K2_H
#define CONV4J_WINOGRAD_K2_H

#define BTK2(x0, x1, x2, x3, x4, v0, v1, v2, v3, v4) \
    do {                                             \
        const float A_ = (x3) - (x1);                \
        v0 = (x0) - (x2) + 2.0f * A_;                \
        v1 = A_ + (x2) + (x3);                       \
        v2 = v1 + 2.0f * (x1) - 4.0f * (x2);         \
        v3 = A_;                                     \
        v4 = 2.0f * ((x4) - (x2)) - A_;              \
    } while (0)

/* pixel (r, s) of the window at px[5r+s][c]; point (i, j) goes to dst[(5i+j)*ds + c] */
HOT static void in_k2(const float *const *px, float *restrict dst, int64_t ds, int64_t nc) {
    float t[5][5][CB];
    for (int j = 0; j < 5; j++) {
        const float *restrict s0 = px[j], *restrict s1 = px[5 + j], *restrict s2 = px[10 + j],
                              *restrict s3 = px[15 + j], *restrict s4 = px[20 + j];
        C4J_IVDEP
        for (int64_t c = 0; c < nc; c++) {
            float v0, v1, v2, v3, v4;
            BTK2(s0[c], s1[c], s2[c], s3[c], s4[c], v0, v1, v2, v3, v4);
            t[0][j][c] = v0;
            t[1][j][c] = v1;
            t[2][j][c] = v2;
            t[3][j][c] = v3;
            t[4][j][c] = v4;
        }
    }
    for (int i = 0; i < 5; i++) {
        float *restrict d0 = dst + (5 * i) * ds, *restrict d1 = d0 + ds, *restrict d2 = d1 + ds,
                        *restrict d3 = d2 + ds, *restrict d4 = d3 + ds;
        C4J_IVDEP
        for (int64_t c = 0; c < nc; c++) {
            float v0, v1, v2, v3, v4;
            BTK2(t[i][0][c], t[i][1][c], t[i][2][c], t[i][3][c], t[i][4][c], v0, v1, v2, v3, v4);
            d0[c] = v0;
            d1[c] = v1;
            d2[c] = v2;
            d3[c] = v3;
            d4[c] = v4;
        }
    }
}

#define ATK2(x0, x1, x2, x3, x4, y0, y1, y2, y3)        \
    do {                                                \
        const float s_ = (x1) + (x2), d_ = (x1) - (x2); \
        y0 = (x0) + s_ + (x3);                          \
        y1 = d_ + 0.5f * (x3);                          \
        y2 = s_ + 0.25f * (x3);                         \
        y3 = d_ + 0.125f * (x3) + (x4);                 \
    } while (0)

static inline __attribute__((always_inline)) void out_k2_row(const float (*restrict t)[CB], float *restrict o0,
                                                             float *restrict o1, float *restrict o2,
                                                             float *restrict o3, const float *restrict b,
                                                             int64_t nc, int mode) {
    C4J_IVDEP
    for (int64_t c = 0; c < nc; c++) {
        float y0, y1, y2, y3;
        ATK2(t[0][c], t[1][c], t[2][c], t[3][c], t[4][c], y0, y1, y2, y3);
        o0[c] = epi(y0, b, c, mode);
        o1[c] = epi(y1, b, c, mode);
        o2[c] = epi(y2, b, c, mode);
        o3[c] = epi(y3, b, c, mode);
    }
}

/* src point (i, j) at src[(5i+j)*ss + c]; output (i, j) to out[4i+j][c] */
HOT static void out_k2(const float *restrict src, int64_t ss, float *const *out, const float *restrict b,
                       int mode, int64_t nc) {
    float t[4][5][CB];
    for (int j = 0; j < 5; j++) {
        const float *restrict m0 = src + j * ss, *restrict m1 = m0 + 5 * ss, *restrict m2 = m1 + 5 * ss,
                              *restrict m3 = m2 + 5 * ss, *restrict m4 = m3 + 5 * ss;
        C4J_IVDEP
        for (int64_t c = 0; c < nc; c++) {
            float y0, y1, y2, y3;
            ATK2(m0[c], m1[c], m2[c], m3[c], m4[c], y0, y1, y2, y3);
            t[0][j][c] = y0;
            t[1][j][c] = y1;
            t[2][j][c] = y2;
            t[3][j][c] = y3;
        }
    }
    for (int i = 0; i < 4; i++) {
        float *o0 = out[4 * i], *o1 = out[4 * i + 1], *o2 = out[4 * i + 2], *o3 = out[4 * i + 3];
        EPI_DISPATCH(mode, out_k2_row, t[i], o0, o1, o2, o3, b, nc);
    }
}

#endif
