/*
 * The prepared filter of the Winograd routes (winograd.c): U = G g G^T per transform point for
 * every (input, output) channel pair, computed in double and rounded once, laid out
 * [group][panel][xi][Cin_g][panel width] (panels from c4j_winograd_panel_width). The forward
 * routes prepare it from the HWIO filter; the input gradient (backward_input_forward.c) prepares
 * it from the same filter read transposed, in units that run in parallel. The matrices G carry
 * the scale taken out of the integer rows of BT in winograd_input.h / winograd_k2.h.
 */
#include <stdint.h>

#include "internal.h"

int64_t c4j_winograd_prepared_floats(const c4j_conv2d_desc *d, c4j_algo algo) {
    const int64_t a = c4j_winograd_window(algo);
    return a * a * c4j_cin_g(d) * d->out_c;
}

/* ------------------------------------------------------------------ filter transform (double) */

static const double G2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};

/* points 0, 1, -1, 1/2, -2, inf; rows scaled to match the integer rows of BT below */
static const double G4[6][3] = {
    {1.0 / 2, 0, 0},
    {1.0 / 6, 1.0 / 6, 1.0 / 6},
    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
    {-16.0 / 15, -8.0 / 15, -4.0 / 15},
    {1.0 / 30, -1.0 / 15, 2.0 / 15},
    {0, 0, 1.0 / 2},
};

/* the transform of the filter is double arithmetic over 64 lanes: cloned for AVX-512 and AVX2 (2-4x
   faster than the baseline's two-lane SSE2 on deep layers, where it is paid per training step) */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(CONV4J_NO_CLONES)
#define FILTER_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FILTER_CLONES
#endif

/* F(4,2), points 0, 1, -1, 1/2, inf; rows scaled to match the integer rows of BT in winograd_k2.h
   (third column unused) */
static const double GK2[5][3] = {{1, 0, 0}, {0.5, 0.5, 0}, {-1.0 / 6, 1.0 / 6, 0}, {-8.0 / 3, -4.0 / 3, 0}, {0, 0.5, 0}};

/* u[xi * xi_stride + o] = (G w[.][.][o] G^T)[xi] for o < no and the r x r taps of w, in double and
   rounded once */
FILTER_CLONES static void transform_kernels(int alpha, int r, const float (*w)[3][64], int64_t no, float *u,
                                            int64_t xi_stride) {
    const double(*G)[3] = r == 2 ? GK2 : alpha == 6 ? G4 : G2;
    double t[6][3][64];
    for (int i = 0; i < alpha; i++)
        for (int b = 0; b < r; b++)
            for (int64_t o = 0; o < no; o++) {
                double v = 0;
                for (int a = 0; a < r; a++) v += G[i][a] * w[a][b][o];
                t[i][b][o] = v;
            }
    for (int i = 0; i < alpha; i++)
        for (int j = 0; j < alpha; j++) {
            float *ui = u + (i * alpha + j) * xi_stride;
            for (int64_t o = 0; o < no; o++) {
                double v = 0;
                for (int b = 0; b < r; b++) v += t[i][b][o] * G[j][b];
                ui[o] = (float)v;
            }
        }
}

/* input channels staged together, so a filter read across output channels (the transposed one)
   uses whole cache lines; the stage (8 x 9 x 64 floats) stays in L1 */
#define STAGE_C 8

/*
 * U[g][panel][xi][c][o - panel start] = (G w G^T)[xi] for the (optionally 180-degree rotated) 3x3
 * kernel w of (c, o), 64 output channels at a time so the loops over o vectorise. Element (tap t,
 * group g, input channel c, output channel o of the group) of the filter is
 * filter[t * st + g * sg + c * sc + o * so]: HWIO as it is (so = 1), or read transposed (sc = 1,
 * the input gradient's). Only stages [s0, s1) of STAGE_C input channels (group-major) are written.
 */
static void prepare_from(const c4j_conv2d_desc *d, c4j_algo algo, const float *filter, int64_t st, int64_t sg,
                         int64_t sc, int64_t so, float *prepared, int64_t s0, int64_t s1) {
    const int r = c4j_winograd_taps(algo), alpha = c4j_winograd_window(algo), npts = alpha * alpha;
    const int64_t cin_g = c4j_cin_g(d), cout_g = c4j_cout_g(d), P = c4j_winograd_panel_width(cin_g, cout_g);
    const int64_t stages = c4j_ceil_div(cin_g, STAGE_C);
    float w[STAGE_C][3][3][64];
    for (int64_t s = s0; s < s1; s++) {
        const int64_t g = s / stages, c0 = s % stages * STAGE_C;
        const int64_t nc = C4J_MIN(STAGE_C, cin_g - c0);
        for (int64_t p0 = 0; p0 < cout_g; p0 += P) {
            const int64_t pw = C4J_MIN(P, cout_g - p0);
            float *panel = prepared + g * npts * cin_g * cout_g + p0 * npts * cin_g;
            for (int64_t o0 = p0; o0 < p0 + pw; o0 += 64) {
                const int64_t no = C4J_MIN(64, p0 + pw - o0);
                for (int kh = 0; kh < r; kh++)
                    for (int kw = 0; kw < r; kw++) {
                        const int fh = d->flip ? r - 1 - kh : kh, fw = d->flip ? r - 1 - kw : kw;
                        const float *f = filter + (fh * r + fw) * st + g * sg + c0 * sc + o0 * so;
                        if (so == 1) {
                            for (int64_t c = 0; c < nc; c++)
                                for (int64_t o = 0; o < no; o++) w[c][kh][kw][o] = f[c * sc + o];
                        } else {
                            for (int64_t o = 0; o < no; o++)
                                for (int64_t c = 0; c < nc; c++) w[c][kh][kw][o] = f[c * sc + o * so];
                        }
                    }
                for (int64_t c = 0; c < nc; c++)
                    transform_kernels(alpha, r, (const float(*)[3][64])w[c], no, panel + (c0 + c) * pw + (o0 - p0),
                                      cin_g * pw);
            }
        }
    }
}

static int64_t prepare_stages(const c4j_conv2d_desc *d) { return d->groups * c4j_ceil_div(c4j_cin_g(d), STAGE_C); }

void c4j_winograd_prepare(const c4j_conv2d_desc *d, c4j_algo algo, const float *filter, float *prepared) {
    const int64_t cin_g = c4j_cin_g(d), oc = d->out_c;
    prepare_from(d, algo, filter, cin_g * oc, c4j_cout_g(d), oc, 1, prepared, 0, prepare_stages(d));
}

/* Units of c4j_winograd_prepare_transposed: about PREPARE_UNIT_FLOATS of U each, at most
   PREPARE_MAX_UNITS; a function of the descriptor only, and every element of U is computed by one
   unit the same way, so any split gives the same bits. */
#define PREPARE_UNIT_FLOATS (256 * 1024)
#define PREPARE_MAX_UNITS 8

int64_t c4j_winograd_prepare_units(const c4j_conv2d_desc *f, c4j_algo algo) {
    const int64_t by_size = c4j_winograd_prepared_floats(f, algo) / PREPARE_UNIT_FLOATS;
    return C4J_MAX(1, C4J_MIN(C4J_MIN(by_size, PREPARE_MAX_UNITS), prepare_stages(f)));
}

/*
 * The same U for f, the forward convolution that computes the input gradient of d (stride 1; see
 * backward_input_forward.c), straight from d's HWIO filter W: f's filter is W'[t][o][g*cg + c] =
 * W[t][c][g*og + o], read here in place rather than transposed into a copy first. Units [u0, u1) of
 * c4j_winograd_prepare_units(f), which run in parallel (the filter changes every training step).
 */
void c4j_winograd_prepare_transposed(const c4j_conv2d_desc *d, const c4j_conv2d_desc *f, c4j_algo algo,
                                     const float *filter, float *prepared, int64_t u0, int64_t u1) {
    const int64_t cg = c4j_cin_g(d), og = c4j_cout_g(d), oc = d->out_c;
    const int64_t stages = prepare_stages(f), units = c4j_winograd_prepare_units(f, algo);
    prepare_from(f, algo, filter, cg * oc, og, 1, oc, prepared, stages * u0 / units, stages * u1 / units);
}

/* Preparing: G g G^T in double for every (input, output) channel pair, about 1 ns per point. */
double c4j_winograd_prepare_estimate(const c4j_conv2d_desc *d, c4j_algo algo) {
    const double a = c4j_winograd_window(algo);
    return a * a * (double)c4j_cin_g(d) * (double)d->out_c * 1e-9;
}

