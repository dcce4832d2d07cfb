/*
 * FFT convolution for large kernels (C4J_ALGO_FFT), stride 1, by overlap-save tiles.
 *
 * The output is cut into tiles of MH x MW pixels; each is computed from an FH x FW input tile
 * (FH = MH + KH - 1, FW = MW + KW - 1, powers of two, KH/KW the kernel extent with dilation) by
 * circular cross-correlation, which equals the linear one on the first MH x MW pixels. Per unit
 * (one group, one block of consecutive tiles ordered n, tile row, tile column, and one slice of
 * output channels; see "Work units" in fft_plan.h):
 *
 *   1. every tile's input channels are transformed: real FFT along w (FW/2-point complex FFT of
 *      the even/odd samples plus the usual split step), complex FFT along h over the FW/2 + 1
 *      columns of the half spectrum. SIMD lanes are channels (NHWC: channels are adjacent; 16 with
 *      AVX-512, 8 with AVX2, 4 otherwise, see fft_simd.h), so every butterfly works on vectors of
 *      channels; with at most half a vector of input channels (RGB input), several tiles share
 *      one vector (tile q in lanes q * Cin_g...), so 3 channels fill 15 of 16 lanes instead of 3.
 *      The result of tile t at frequency f is row t of A_f = [T x 2*Cin_g] ([Xr | Xi]);
 *   2. per frequency, one sgemm with the slice's columns of the prepared B_f does the complex
 *      products summed over the channels (two equivalent forms, see FFT_STACKED_PAIRS);
 *   3. per tile and vector of the slice's output channels, the inverse (columns, then only the
 *      rows that are kept), crop, bias and activation (c4j_epilogue_rows), store into the output
 *      view.
 *
 * No bit-reversal pass: forward transforms are decimation in frequency (natural order in,
 * bit-reversed out), inverse ones decimation in time (bit-reversed in, natural out), the split
 * steps of the real transform work in place on bit-reversed positions, and the prepared filter is
 * stored in the same permuted frequency order. The filter transform U is conj(DFT(w))
 * (cross-correlation; the flipped kernel for flip = 1, taps spread out for dilation), computed in
 * double and scaled by 1 / (2 * FH * FW), which undoes the unnormalised transforms.
 *
 * FH and FW depend on the kernel extent and the channel counts only (fft_plan.c: fft_pick), never
 * on the input size, so one prepared filter serves every input size with the same filter and
 * options. The workspace holds A and C for one batch of tiles (one block, or several blocks that
 * share the streaming of a large B) plus one tile buffer; it is bounded (16 MiB) whatever the
 * batch size. The prepared filter has FH * (FW/2 + 1) * 4 (block form) or 2 (stacked) floats per
 * input/output channel pair, 10-20x the raw filter for 9x9 to 11x11 kernels.
 *
 * Runs: stride 1; any dilation (taps spread out in the prepared filter) while the kernel extent is
 * at most FFT_MAX_KERNEL (48) per dimension; any padding, groups, flip, bias, activation, input
 * strides (channels need not be adjacent) and output view; channel counts while one tile's
 * spectra fit the workspace (with Cin_g = Cout_g: up to about 4800 with 16x16 tiles, 1270 with
 * 32x32, 310 with 64x64; a smaller size is taken when the preferred one does not fit).
 *
 * Accuracy: the rounding error is about eps * log2(FH * FW) times the size of the tile's signal,
 * not of each window's, so relative to the golden metric |err| / (1 + sum over the window |x*w|)
 * it is ~1e-7 on ordinary layers but reaches ~1e-5 on outputs whose window is almost all padding.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "fft_plan.h"

/* exp(-2 pi i j / 64): double values rounded to float */
static const float TW[FFT_MAX][2] = {
    {1.000000000e+00f, 0.000000000e+00f}, {9.951847267e-01f, -9.801714033e-02f},
    {9.807852804e-01f, -1.950903220e-01f}, {9.569403357e-01f, -2.902846773e-01f},
    {9.238795325e-01f, -3.826834324e-01f}, {8.819212643e-01f, -4.713967368e-01f},
    {8.314696123e-01f, -5.555702330e-01f}, {7.730104534e-01f, -6.343932842e-01f},
    {7.071067812e-01f, -7.071067812e-01f}, {6.343932842e-01f, -7.730104534e-01f},
    {5.555702330e-01f, -8.314696123e-01f}, {4.713967368e-01f, -8.819212643e-01f},
    {3.826834324e-01f, -9.238795325e-01f}, {2.902846773e-01f, -9.569403357e-01f},
    {1.950903220e-01f, -9.807852804e-01f}, {9.801714033e-02f, -9.951847267e-01f},
    {0.000000000e+00f, -1.000000000e+00f}, {-9.801714033e-02f, -9.951847267e-01f},
    {-1.950903220e-01f, -9.807852804e-01f}, {-2.902846773e-01f, -9.569403357e-01f},
    {-3.826834324e-01f, -9.238795325e-01f}, {-4.713967368e-01f, -8.819212643e-01f},
    {-5.555702330e-01f, -8.314696123e-01f}, {-6.343932842e-01f, -7.730104534e-01f},
    {-7.071067812e-01f, -7.071067812e-01f}, {-7.730104534e-01f, -6.343932842e-01f},
    {-8.314696123e-01f, -5.555702330e-01f}, {-8.819212643e-01f, -4.713967368e-01f},
    {-9.238795325e-01f, -3.826834324e-01f}, {-9.569403357e-01f, -2.902846773e-01f},
    {-9.807852804e-01f, -1.950903220e-01f}, {-9.951847267e-01f, -9.801714033e-02f},
    {-1.000000000e+00f, 0.000000000e+00f}, {-9.951847267e-01f, 9.801714033e-02f},
    {-9.807852804e-01f, 1.950903220e-01f}, {-9.569403357e-01f, 2.902846773e-01f},
    {-9.238795325e-01f, 3.826834324e-01f}, {-8.819212643e-01f, 4.713967368e-01f},
    {-8.314696123e-01f, 5.555702330e-01f}, {-7.730104534e-01f, 6.343932842e-01f},
    {-7.071067812e-01f, 7.071067812e-01f}, {-6.343932842e-01f, 7.730104534e-01f},
    {-5.555702330e-01f, 8.314696123e-01f}, {-4.713967368e-01f, 8.819212643e-01f},
    {-3.826834324e-01f, 9.238795325e-01f}, {-2.902846773e-01f, 9.569403357e-01f},
    {-1.950903220e-01f, 9.807852804e-01f}, {-9.801714033e-02f, 9.951847267e-01f},
    {0.000000000e+00f, 1.000000000e+00f}, {9.801714033e-02f, 9.951847267e-01f},
    {1.950903220e-01f, 9.807852804e-01f}, {2.902846773e-01f, 9.569403357e-01f},
    {3.826834324e-01f, 9.238795325e-01f}, {4.713967368e-01f, 8.819212643e-01f},
    {5.555702330e-01f, 8.314696123e-01f}, {6.343932842e-01f, 7.730104534e-01f},
    {7.071067812e-01f, 7.071067812e-01f}, {7.730104534e-01f, 6.343932842e-01f},
    {8.314696123e-01f, 5.555702330e-01f}, {8.819212643e-01f, 4.713967368e-01f},
    {9.238795325e-01f, 3.826834324e-01f}, {9.569403357e-01f, 2.902846773e-01f},
    {9.807852804e-01f, 1.950903220e-01f}, {9.951847267e-01f, 9.801714033e-02f},
};

/* bit reversal of i < n (n a power of two) */
static int64_t bitrev(int64_t i, int64_t n) {
    int64_t r = 0;
    for (int64_t b = 1; b < n; b <<= 1) {
        r = (r << 1) | (i & 1);
        i >>= 1;
    }
    return r;
}

/* Where horizontal frequency k (0..hw) sits in a spectrum row: the row transform leaves k < hw at
   bit-reversed positions and the split step adds k = hw at the end. */
static int64_t column_of(int64_t k, int64_t hw) { return k < hw ? bitrev(k, hw) : hw; }

/*
 * B_f for every group and frequency: [g][f][kb][2 * cout_g], f = r * nfw + column_of(k): row r
 * holds vertical frequency bitrev(r). The columns are FFT_SLICE-channel groups, each [Ur | Ui] of
 * its channels (a slice of output channels is a contiguous range of columns; with at most 16
 * channels this is plain [Ur | Ui]). Rows c < cin_g are input channel c; the block form adds rows
 * cin_g + c = [-Ui | Ur] per group. U = conj(sum over taps of w * exp(-2 pi i (u y / fh +
 * k x / fw))) / (2 fh fw), computed in double per (input, output channel): taps along w, then h.
 */
/*
 * The filter's spectra, B_f (see above): for each output channel, the DFT of its kernel along w
 * (row[a][k]), then along h, in double and rounded once. Output channels of one input channel are
 * contiguous in the HWIO filter and in B_f's rows, so the work runs on vectors of 8 of them (at
 * most FFT_PREP_BLOCK at once, a short block padded with zeros), one frequency column k at a time
 * (its KH row DFTs, then every h frequency of it), each sum in the same order for every channel;
 * the h frequencies u and u + fh/2 come from one pass (even and odd taps summed apart). The angles
 * are looked up in tables (no division in the loops). The arithmetic is cloned for AVX-512 and
 * AVX2 (the input gradient prepares the filter on every training step); those clones fuse
 * multiply-adds, so the prepared filter may differ in the last bit from a CPU without FMA, but it
 * is the same for every entry point and thread count on one machine.
 */
#define FFT_PREP_BLOCK 16 /* divides FFT_SLICE: a block never straddles a column group */
#define PREP_V 8           /* lanes of a double vector; a block is 1 or 2 of them */

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(CONV4J_NO_CLONES)
#define PREP_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define PREP_CLONES
#endif

typedef double prep_vd __attribute__((vector_size(PREP_V * sizeof(double))));
typedef float prep_vf __attribute__((vector_size(PREP_V * sizeof(float))));

/* what every block of one preparation shares: plan, angle tables, bit reversals */
typedef struct {
    const fft_plan *p;
    const c4j_conv2d_desc *d;
    double ch[FFT_MAX], sh[FFT_MAX], cw[FFT_MAX], sw[FFT_MAX];
    int64_t col[FFT_MAX / 2 + 1];
    uint8_t ang_h[FFT_MAX][FFT_MAX_KERNEL]; /* (rev[r] * a * dh) mod fh per tap a */
    double scale;
} prep_tables;

/* lanes [0, no) of NV vectors to dst (no <= NV * PREP_V) */
static inline __attribute__((always_inline)) void store_vectors(float *dst, const prep_vf *v, int64_t no,
                                                                const int NV) {
    if (no == NV * PREP_V) memcpy(dst, v, (size_t)NV * sizeof(prep_vf));
    else
        for (int64_t j = 0; j < no; j++) dst[j] = v[j / PREP_V][j % PREP_V];
}

/* one frequency (storage row r, column k) of the block: U = conj(re + i im) * scale into B_f */
static inline __attribute__((always_inline)) void store_spectrum(const prep_tables *t, const prep_vd *re,
                                                                 const prep_vd *im, int64_t g, int64_t c, int64_t o_re,
                                                                 int64_t o_im, int64_t r, int64_t k, int64_t no,
                                                                 const int NV, float *prepared) {
    const fft_plan *p = t->p;
    prep_vf ur[2], ui[2], nui[2];
    for (int q = 0; q < NV; q++) {
        ur[q] = __builtin_convertvector(re[q] * t->scale, prep_vf);
        ui[q] = __builtin_convertvector(-(im[q] * t->scale), prep_vf); /* conjugate */
        nui[q] = -ui[q];
    }
    float *bf = prepared + (g * p->nfreq + r * p->nfw + t->col[k]) * p->kb * p->nc;
    store_vectors(bf + c * p->nc + o_re, ur, no, NV);
    store_vectors(bf + c * p->nc + o_im, ui, no, NV);
    if (!p->stacked) {
        store_vectors(bf + (p->cin_g + c) * p->nc + o_re, nui, no, NV);
        store_vectors(bf + (p->cin_g + c) * p->nc + o_im, ur, no, NV);
    }
}

/* B_f's entries in frequency column k of input channel c of group g and output channels
   o0 .. o0 + no of the group (no <= NV * PREP_V); fo points at the filter element (tap 0, c, o0) */
static inline __attribute__((always_inline)) void prepare_lanes(const prep_tables *t, const float *fo, int64_t g,
                                                                int64_t c, int64_t o0, int64_t no, int64_t k,
                                                                float *prepared, const int NV) {
    const fft_plan *p = t->p;
    const c4j_conv2d_desc *d = t->d;
    const int64_t KH = d->kernel_h, KW = d->kernel_w, dw = d->dilation_w, dh = d->dilation_h;
    /* column group of FFT_SLICE channels: [Ur | Ui] of its channels */
    const int64_t grp = o0 / FFT_SLICE, o_re = grp * 2 * FFT_SLICE + o0 % FFT_SLICE;
    const int64_t o_im = o_re + C4J_MIN(FFT_SLICE, p->cout_g - grp * FFT_SLICE);
    uint8_t ang_w[FFT_MAX_KERNEL];
    prep_vd v[FFT_MAX_KERNEL][2];      /* one kernel row of the block, zero-padded lanes */
    prep_vd row[FFT_MAX_KERNEL][2][2]; /* DFT along w of each kernel row (re, im), column k */
    {
        for (int64_t b = 0; b < KW; b++) ang_w[b] = (uint8_t)((k * b * dw) % p->fw);
        for (int64_t a = 0; a < KH; a++) {
            const int64_t fa = d->flip ? KH - 1 - a : a;
            for (int64_t b = 0; b < KW; b++) {
                const int64_t fb = d->flip ? KW - 1 - b : b;
                const float *src = fo + (fa * KW + fb) * p->cin_g * d->out_c;
                prep_vf f[2] = {{0}, {0}};
                if (no == NV * PREP_V) memcpy(f, src, (size_t)NV * sizeof(prep_vf));
                else
                    for (int64_t j = 0; j < no; j++) f[j / PREP_V][j % PREP_V] = src[j];
                for (int q = 0; q < NV; q++) v[b][q] = __builtin_convertvector(f[q], prep_vd);
            }
            for (int q = 0; q < NV; q++) {
                prep_vd re = {0}, im = {0};
                for (int64_t b = 0; b < KW; b++) {
                    re += v[b][q] * t->cw[ang_w[b]];
                    im -= v[b][q] * t->sw[ang_w[b]];
                }
                row[a][0][q] = re;
                row[a][1][q] = im;
            }
        }
        /* storage rows r and r + 1 (r even) hold vertical frequencies u and u + fh / 2, whose
           angles differ by pi per unit of a * dh: one pass gives both, the taps with an even
           a * dh summed apart from the odd ones (half the multiplies of two passes) */
        const int64_t step = p->fh > 1 ? 2 : 1;
        for (int64_t r = 0; r < p->fh; r += step) {
            prep_vd er[2] = {{0}, {0}}, ei[2] = {{0}, {0}}, od_r[2] = {{0}, {0}}, od_i[2] = {{0}, {0}};
            for (int64_t a = 0; a < KH; a++) {
                /* row[a][k] * exp(-i angle) */
                const double cv = t->ch[t->ang_h[r][a]], sv = t->sh[t->ang_h[r][a]];
                const int odd = (int)((a * dh) % 2);
                for (int q = 0; q < NV; q++) {
                    const prep_vd xr = row[a][0][q] * cv + row[a][1][q] * sv;
                    const prep_vd xi = row[a][1][q] * cv - row[a][0][q] * sv;
                    if (odd) {
                        od_r[q] += xr;
                        od_i[q] += xi;
                    } else {
                        er[q] += xr;
                        ei[q] += xi;
                    }
                }
            }
            prep_vd re[2], im[2];
            for (int q = 0; q < NV; q++) {
                re[q] = er[q] + od_r[q];
                im[q] = ei[q] + od_i[q];
            }
            store_spectrum(t, re, im, g, c, o_re, o_im, r, k, no, NV, prepared);
            if (step == 2) {
                for (int q = 0; q < NV; q++) {
                    re[q] = er[q] - od_r[q];
                    im[q] = ei[q] - od_i[q];
                }
                store_spectrum(t, re, im, g, c, o_re, o_im, r + 1, k, no, NV, prepared);
            }
        }
    }
}

/* the block's lanes as one vector of PREP_V doubles, or two (more than PREP_V output channels) */
PREP_CLONES static void prepare_block(const prep_tables *t, const float *fo, int64_t g, int64_t c, int64_t o0,
                                      int64_t no, int64_t k, float *prepared) {
    if (no > PREP_V) prepare_lanes(t, fo, g, c, o0, no, k, prepared, 2);
    else prepare_lanes(t, fo, g, c, o0, no, k, prepared, 1);
}

void c4j_fft_prepare(const c4j_conv2d_desc *d, const float *filter, float *prepared) {
    c4j_fft_prepare_range(d, filter, prepared, 0, d->groups * c4j_cin_g(d));
}

/* the spectra of (group, input channel) pairs [s0, s1), group-major */
void c4j_fft_prepare_range(const c4j_conv2d_desc *d, const float *filter, float *prepared, int64_t s0, int64_t s1) {
    fft_plan p;
    if (!c4j_fft_make_plan(d, &p)) return;
    prep_tables t;
    t.p = &p;
    t.d = d;
    for (int64_t i = 0; i < p.fh; i++) {
        t.ch[i] = cos(2.0 * M_PI * (double)i / (double)p.fh);
        t.sh[i] = sin(2.0 * M_PI * (double)i / (double)p.fh);
    }
    for (int64_t i = 0; i < p.fw; i++) {
        t.cw[i] = cos(2.0 * M_PI * (double)i / (double)p.fw);
        t.sw[i] = sin(2.0 * M_PI * (double)i / (double)p.fw);
    }
    for (int64_t k = 0; k < p.nfw; k++) t.col[k] = column_of(k, p.hw);
    for (int64_t r = 0; r < p.fh; r++)
        for (int64_t a = 0; a < d->kernel_h; a++)
            t.ang_h[r][a] = (uint8_t)((bitrev(r, p.fh) * a * d->dilation_h) % p.fh);
    t.scale = 1.0 / (2.0 * (double)p.fh * (double)p.fw);
    /* frequency column outermost: the writes of consecutive blocks go to the same fh matrices B_f
       (a few pages) instead of sweeping all of them (megabytes, a TLB miss per store) per block */
    for (int64_t k = 0; k < p.nfw; k++)
        for (int64_t s = s0; s < s1; s++) {
            const int64_t g = s / p.cin_g, c = s % p.cin_g;
            for (int64_t o0 = 0; o0 < p.cout_g; o0 += FFT_PREP_BLOCK)
                prepare_block(&t, filter + c * d->out_c + g * p.cout_g + o0, g, c, o0,
                              C4J_MIN(FFT_PREP_BLOCK, p.cout_g - o0), k, prepared);
        }
}
/* ------------------------------------------------------------------ vector kernels, one per width */

typedef struct {
    const c4j_conv2d_desc *d;
    const fft_plan *p;
    float *sp;                   /* tile buffer: [fh][nfw] complex vectors */
    int64_t rev[FFT_MAX / 2];    /* bit reversal of hw: where the row transform leaves k */
    int32_t perm[2][FFT_VMAX] __attribute__((aligned(64))); /* packed lanes -> [Xr | Xi] rows */
} tile_ctx;

#define FK_ISA portable
#define FK_V 4
#define FK_TARGET
#include "fft_simd.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define C4J_HAVE_X86_FFT 1

#define FK_ISA avx2
#define FK_V 8
#define FK_TARGET __attribute__((target("avx2,fma")))
#include "fft_simd.h"

#define FK_ISA avx512
#define FK_V 16
#define FK_TARGET __attribute__((target("avx512f")))
#define FK_MASKED 1
#include "fft_simd.h"
#endif

void c4j_fft_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *prepared,
                 const float *bias, float *out, float *workspace, int64_t u0, int64_t u1) {
    fft_plan p;
    if (!c4j_fft_make_plan(d, &p)) return;
#ifdef C4J_HAVE_X86_FFT
    const int tier = c4j_cpu_vector_tier();
    if (tier == 2) {
        run_avx512(blas, d, &p, in, prepared, bias, out, workspace, u0, u1);
        return;
    }
    if (tier == 1) {
        run_avx2(blas, d, &p, in, prepared, bias, out, workspace, u0, u1);
        return;
    }
#endif
    run_portable(blas, d, &p, in, prepared, bias, out, workspace, u0, u1);
}

/* ------------------------------------------------------------------ forward table row */

/* Strided layers run through s2d.c (space to depth) as stride-1 ones of this algorithm. */
#define FFT_S2D(d) c4j_via_s2d(d, C4J_ALGO_FFT)

static int fft_applies(const c4j_conv2d_desc *d) {
    return c4j_fft_supported(d) || c4j_s2d_applicable(d, C4J_ALGO_FFT);
}
static int64_t fft_units(const c4j_conv2d_desc *d) {
    return FFT_S2D(d) ? c4j_s2d_units(d, C4J_ALGO_FFT) : c4j_fft_units(d);
}
static int64_t fft_workspace(const c4j_conv2d_desc *d) {
    return FFT_S2D(d) ? c4j_s2d_workspace(d, C4J_ALGO_FFT) : c4j_fft_workspace(d);
}
static int64_t fft_prepared(const c4j_conv2d_desc *d) {
    return FFT_S2D(d) ? c4j_s2d_prepared_floats(d, C4J_ALGO_FFT) : c4j_fft_prepared_floats(d);
}
static void fft_prepare_row(const c4j_conv2d_desc *d, const float *filter, float *prepared) {
    if (FFT_S2D(d)) c4j_s2d_prepare(d, C4J_ALGO_FFT, filter, prepared);
    else c4j_fft_prepare(d, filter, prepared);
}
static double fft_estimate_row(const c4j_conv2d_desc *d, int include_prepare) {
    const double s = FFT_S2D(d) ? c4j_s2d_estimate(d, C4J_ALGO_FFT, include_prepare)
                                : c4j_fft_estimate(d) + (include_prepare ? c4j_fft_prepare_estimate(d) : 0);
    return c4j_small_groups_adjusted(d, s);
}
static void fft_run_row(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *filter,
                        const float *prepared, const float *bias, float *out, void *workspace, int64_t u0, int64_t u1) {
    (void)filter;
    if (FFT_S2D(d)) c4j_s2d_run(blas, d, C4J_ALGO_FFT, in, prepared, bias, out, (float *)workspace, u0, u1);
    else c4j_fft_run(blas, d, in, prepared, bias, out, (float *)workspace, u0, u1);
}

const c4j_conv2d_algorithm c4j_conv2d_fft = {"fft", C4J_ALGO_FFT, 0, fft_applies, fft_units, fft_workspace,
                                              fft_prepared, fft_prepare_row, fft_estimate_row, fft_run_row};
