/*
 * FFT convolution for large kernels (C4J_ALGO_FFT), stride 1, by overlap-save tiles.
 *
 * The output is cut into tiles of MH x MW pixels; each is computed from an FH x FW input tile
 * (FH = MH + KH - 1, FW = MW + KW - 1, powers of two, KH/KW the kernel extent with dilation) by
 * circular cross-correlation, which equals the linear one on the first MH x MW pixels. Per unit
 * (one group and one block of consecutive tiles, ordered n, tile row, tile column):
 *
 *   1. every tile's input channels are transformed: real FFT along w (FW/2-point complex FFT of
 *      the even/odd samples plus the usual split step), complex FFT along h over the FW/2 + 1
 *      columns of the half spectrum. SIMD lanes are 16 channels (NHWC: channels are adjacent), so
 *      every butterfly works on vectors of channels. The result of tile t at frequency f is row t
 *      of A_f = [T x 2*Cin_g] (real parts, then imaginary parts, per block of 16 channels);
 *   2. per frequency, one sgemm C_f = A_f * B_f with the prepared B_f = [[Ur, Ui], [-Ui, Ur]]
 *      ([2*Cin_g x 2*Cout_g], same block order) does the complex products summed over channels;
 *   3. per tile and block of 16 output channels, the inverse (columns, then only the rows that
 *      are kept), crop, bias and activation (c4j_epilogue_rows), store into the output view.
 *
 * No bit-reversal pass: the forward transforms are decimation in frequency (natural order in,
 * bit-reversed out), the inverse ones decimation in time (bit-reversed in, natural out), and the
 * prepared filter is stored in the same permuted frequency order. The filter transform U is
 * conj(DFT(w)) (cross-correlation; the flipped kernel for flip = 1, taps spread out for dilation),
 * computed in double and scaled by 1 / (2 * FH * FW), which undoes the unnormalised transforms.
 *
 * FH and FW depend on the kernel extent and the channel counts only (a cost model, fft_pick), never
 * on the input size, so the prepared filter is valid for any input size with the same filter and
 * options. The workspace holds A and C for one block plus two tile buffers; it does not depend on
 * the batch size and is at most 16 MiB.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

#define FFT_V 16            /* SIMD lanes: channels per vector */
#define FFT_CV (2 * FFT_V)  /* floats per complex vector: FFT_V real parts, then FFT_V imaginary */
#define FFT_MAX 64          /* largest FFT size per dimension (the twiddle table's size) */
#define FFT_MIN 8
#define FFT_MAX_KERNEL 48   /* largest kernel extent (dilation included) per dimension */
#define FFT_WS_MAX_FLOATS ((int64_t)4 * 1024 * 1024) /* 16 MiB */

/* tiles per block: A and C of a block should stay near L2, but sgemm wants enough rows */
#define FFT_BLOCK_TARGET_FLOATS ((int64_t)384 * 1024)
#define FFT_BLOCK_MIN_TILES 8
#define FFT_BLOCK_MAX_TILES 64

/* relative costs for the size choice: one lane of one butterfly-pass point vs. one sgemm MAC */
#define FFT_COST_TRANSFORM 1.0
#define FFT_COST_MAC 0.25

typedef float fvec __attribute__((vector_size(FFT_V * sizeof(float))));

#define LD(p) (*(const fvec *)(const void *)(p))
#define ST(p, v) (*(fvec *)(void *)(p) = (v))
#define AI static inline __attribute__((always_inline))

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

/* ------------------------------------------------------------------ plan */

typedef struct {
    int64_t kh, kw;                /* kernel extent, dilation included */
    int64_t fh, fw, hw;            /* FFT sizes; hw = fw / 2 complex points per row transform */
    int64_t mh, mw;                /* output tile */
    int64_t nfw, nfreq;            /* hw + 1 half-spectrum columns; fh * nfw frequencies */
    int64_t cin_g, cout_g, ka, nc; /* channels per group; sgemm K = 2 * cin_g, N = 2 * cout_g */
    int64_t bin, bout;             /* blocks of FFT_V input / output channels */
    int64_t tiles_y, tiles_x, total, tb, blocks;
    int64_t a_floats, c_floats, z_floats, s_floats; /* workspace parts */
} fft_plan;

static int64_t extent(int64_t k, int64_t dil) { return (k - 1) * dil + 1; }

/* cost per output pixel of FH x FW tiles (arbitrary units; only the order matters) */
static double fft_cost(int64_t fh, int64_t fw, int64_t kh, int64_t kw, int64_t cin, int64_t cout) {
    const int64_t mh = fh - kh + 1, mw = fw - kw + 1;
    const int64_t lanes = (c4j_ceil_div(cin, FFT_V) + c4j_ceil_div(cout, FFT_V)) * FFT_V;
    const double logs = log2((double)(fh * fw));
    const double transform = FFT_COST_TRANSFORM * (double)(fh * fw) * logs * (double)lanes;
    const double products = FFT_COST_MAC * (double)(fh * (fw / 2 + 1)) * 4.0 * (double)cin * (double)cout;
    return (transform + products) / (double)(mh * mw);
}

/* FFT sizes from the kernel extent and channel counts only (the prepared filter depends on them) */
static void fft_pick(int64_t kh, int64_t kw, int64_t cin, int64_t cout, int64_t *fh, int64_t *fw) {
    double best = -1;
    *fh = *fw = FFT_MAX;
    for (int64_t h = FFT_MIN; h <= FFT_MAX; h *= 2) {
        if (h < kh) continue;
        for (int64_t w = FFT_MIN; w <= FFT_MAX; w *= 2) {
            if (w < kw) continue;
            double c = fft_cost(h, w, kh, kw, cin, cout);
            if (best < 0 || c < best) {
                best = c;
                *fh = h;
                *fw = w;
            }
        }
    }
}

static int64_t round16(int64_t floats) { return c4j_ceil_div(floats, 16) * 16; }

/* returns 0 when the convolution does not fit (kernel too large, one tile over the workspace) */
static int make_plan(const c4j_conv2d_desc *d, fft_plan *p) {
    memset(p, 0, sizeof *p);
    if (d->stride_h != 1 || d->stride_w != 1) return 0;
    p->kh = extent(d->kernel_h, d->dilation_h);
    p->kw = extent(d->kernel_w, d->dilation_w);
    if (p->kh > FFT_MAX_KERNEL || p->kw > FFT_MAX_KERNEL) return 0;
    p->cin_g = c4j_cin_g(d);
    p->cout_g = c4j_cout_g(d);
    fft_pick(p->kh, p->kw, p->cin_g, p->cout_g, &p->fh, &p->fw);
    p->hw = p->fw / 2;
    p->mh = p->fh - p->kh + 1;
    p->mw = p->fw - p->kw + 1;
    p->nfw = p->hw + 1;
    p->nfreq = p->fh * p->nfw;
    p->ka = 2 * p->cin_g;
    p->nc = 2 * p->cout_g;
    p->bin = c4j_ceil_div(p->cin_g, FFT_V);
    p->bout = c4j_ceil_div(p->cout_g, FFT_V);
    p->tiles_y = c4j_ceil_div(d->out_h, p->mh);
    p->tiles_x = c4j_ceil_div(d->out_w, p->mw);
    p->total = d->batch * p->tiles_y * p->tiles_x;
    p->z_floats = round16(p->fh * p->hw * FFT_CV);
    p->s_floats = round16(p->nfreq * FFT_CV);
    /* one tile's spectra, in and out; sgemm's int arguments */
    if (p->ka > (int64_t)1 << 24 || p->nc > (int64_t)1 << 24) return 0;
    const int64_t per_tile = p->nfreq * (p->ka + p->nc);
    const int64_t room = FFT_WS_MAX_FLOATS - p->z_floats - p->s_floats - 32;
    if (per_tile > room) return 0;
    int64_t tb = C4J_MAX(FFT_BLOCK_MIN_TILES, C4J_MIN(FFT_BLOCK_MAX_TILES, FFT_BLOCK_TARGET_FLOATS / per_tile));
    tb = C4J_MIN(tb, room / per_tile);
    tb = C4J_MAX(1, C4J_MIN(tb, p->total));
    p->blocks = p->total > 0 ? c4j_ceil_div(p->total, tb) : 0;
    p->tb = p->total > 0 ? c4j_ceil_div(p->total, p->blocks) : tb;
    p->a_floats = round16(p->tb * p->nfreq * p->ka);
    p->c_floats = round16(p->tb * p->nfreq * p->nc);
    return 1;
}

int c4j_fft_supported(const c4j_conv2d_desc *d) {
    fft_plan p;
    return make_plan(d, &p);
}

int64_t c4j_fft_units(const c4j_conv2d_desc *d) {
    fft_plan p;
    if (!make_plan(d, &p)) return 0;
    return d->groups * p.blocks;
}

int64_t c4j_fft_workspace(const c4j_conv2d_desc *d) {
    fft_plan p;
    if (!make_plan(d, &p)) return -1;
    return (p.a_floats + p.c_floats + p.z_floats + p.s_floats) * (int64_t)sizeof(float);
}

int64_t c4j_fft_prepared_floats(const c4j_conv2d_desc *d) {
    fft_plan p;
    if (!make_plan(d, &p)) return 0;
    return d->groups * p.nfreq * p.ka * p.nc;
}

/* bit reversal of i < n (n a power of two) */
static int64_t bitrev(int64_t i, int64_t n) {
    int64_t r = 0;
    for (int64_t b = 1; b < n; b <<= 1) {
        r = (r << 1) | (i & 1);
        i >>= 1;
    }
    return r;
}

/* row (or column) of channel c of a group with `count` channels in the block layout of A, B, C */
static int64_t lane_pos(int64_t c, int64_t imag, int64_t count) {
    const int64_t b = c / FFT_V, nb = C4J_MIN(FFT_V, count - b * FFT_V);
    return b * FFT_CV + imag * nb + c % FFT_V;
}

/*
 * B_f for every group and frequency: [g][f][2 * cin_g][2 * cout_g], f = r * nfw + k where row r
 * holds vertical frequency bitrev(r). U = conj(sum over taps of w * exp(-2 pi i (u y / fh + k x / fw)))
 * / (2 fh fw), computed in double per (input, output channel): taps along w, then along h.
 */
void c4j_fft_prepare(const c4j_conv2d_desc *d, const float *filter, float *prepared) {
    fft_plan p;
    if (!make_plan(d, &p)) return;
    const int64_t KH = d->kernel_h, KW = d->kernel_w, dh = d->dilation_h, dw = d->dilation_w;
    double ch[FFT_MAX], sh[FFT_MAX], cw[FFT_MAX], sw[FFT_MAX];
    for (int64_t i = 0; i < p.fh; i++) {
        ch[i] = cos(2.0 * M_PI * (double)i / (double)p.fh);
        sh[i] = sin(2.0 * M_PI * (double)i / (double)p.fh);
    }
    for (int64_t i = 0; i < p.fw; i++) {
        cw[i] = cos(2.0 * M_PI * (double)i / (double)p.fw);
        sw[i] = sin(2.0 * M_PI * (double)i / (double)p.fw);
    }
    int64_t rev[FFT_MAX];
    for (int64_t r = 0; r < p.fh; r++) rev[r] = bitrev(r, p.fh);
    const double scale = 1.0 / (2.0 * (double)p.fh * (double)p.fw);
    double row[FFT_MAX_KERNEL][FFT_MAX / 2 + 1][2]; /* DFT along w of each kernel row */
    const int64_t bsize = p.ka * p.nc;
    for (int64_t g = 0; g < d->groups; g++)
        for (int64_t c = 0; c < p.cin_g; c++)
            for (int64_t o = 0; o < p.cout_g; o++) {
                const int64_t col_re = lane_pos(o, 0, p.cout_g), col_im = lane_pos(o, 1, p.cout_g);
                const int64_t row_re = lane_pos(c, 0, p.cin_g), row_im = lane_pos(c, 1, p.cin_g);
                for (int64_t a = 0; a < KH; a++) {
                    const int64_t fa = d->flip ? KH - 1 - a : a;
                    for (int64_t k = 0; k < p.nfw; k++) {
                        double re = 0, im = 0;
                        for (int64_t b = 0; b < KW; b++) {
                            const int64_t fb = d->flip ? KW - 1 - b : b;
                            const double v = filter[((fa * KW + fb) * p.cin_g + c) * d->out_c + g * p.cout_g + o];
                            const int64_t ang = (k * b * dw) % p.fw;
                            re += v * cw[ang];
                            im -= v * sw[ang];
                        }
                        row[a][k][0] = re;
                        row[a][k][1] = im;
                    }
                }
                for (int64_t r = 0; r < p.fh; r++) {
                    const int64_t u = rev[r];
                    for (int64_t k = 0; k < p.nfw; k++) {
                        double re = 0, im = 0;
                        for (int64_t a = 0; a < KH; a++) {
                            const int64_t ang = (u * a * dh) % p.fh;
                            /* row[a][k] * exp(-i angle) */
                            re += row[a][k][0] * ch[ang] + row[a][k][1] * sh[ang];
                            im += row[a][k][1] * ch[ang] - row[a][k][0] * sh[ang];
                        }
                        const float ur = (float)(re * scale), ui = (float)(-im * scale); /* conjugate */
                        float *bf = prepared + (g * p.nfreq + r * p.nfw + k) * bsize;
                        bf[row_re * p.nc + col_re] = ur;
                        bf[row_re * p.nc + col_im] = ui;
                        bf[row_im * p.nc + col_re] = -ui;
                        bf[row_im * p.nc + col_im] = ur;
                    }
                }
            }
}

/* ------------------------------------------------------------------ transforms on vectors of channels */

/*
 * A batch of `w` complex FFTs of n points (n a power of two, 2..FFT_MAX): point k of transform c is
 * the complex vector at p + k * s + c * ws (real parts, then imaginary parts at + FFT_V).
 * Radix-4 passes (two radix-2 stages fused), plus one trivial radix-2 pass when log2(n) is odd.
 */

/* forward, decimation in frequency: natural order in, bit-reversed out */
AI void fft_dif(float *p, int64_t n, int64_t s, int64_t ws, int64_t w) {
    int64_t L = n;
    for (; L >= 4; L >>= 2) {
        const int64_t q = L >> 2, step = FFT_MAX / L;
        for (int64_t j = 0; j < q; j++) {
            const float w1r = TW[j * step][0], w1i = TW[j * step][1];
            const float w2r = TW[2 * j * step][0], w2i = TW[2 * j * step][1];
            const float w3r = TW[3 * j * step][0], w3i = TW[3 * j * step][1];
            for (int64_t blk = 0; blk < n; blk += L) {
                float *x0 = p + (blk + j) * s, *x1 = x0 + q * s, *x2 = x1 + q * s, *x3 = x2 + q * s;
                for (int64_t c = 0; c < w; c++) {
                    const int64_t o = c * ws;
                    const fvec a0r = LD(x0 + o), a0i = LD(x0 + o + FFT_V);
                    const fvec a1r = LD(x1 + o), a1i = LD(x1 + o + FFT_V);
                    const fvec a2r = LD(x2 + o), a2i = LD(x2 + o + FFT_V);
                    const fvec a3r = LD(x3 + o), a3i = LD(x3 + o + FFT_V);
                    const fvec t0r = a0r + a2r, t0i = a0i + a2i;
                    const fvec t1r = a1r + a3r, t1i = a1i + a3i;
                    const fvec t2r = a0r - a2r, t2i = a0i - a2i;
                    const fvec t3r = a1i - a3i, t3i = a3r - a1r; /* -i (x1 - x3) */
                    ST(x0 + o, t0r + t1r);
                    ST(x0 + o + FFT_V, t0i + t1i);
                    fvec ur = t0r - t1r, ui = t0i - t1i;
                    ST(x1 + o, ur * w2r - ui * w2i);
                    ST(x1 + o + FFT_V, ur * w2i + ui * w2r);
                    ur = t2r + t3r;
                    ui = t2i + t3i;
                    ST(x2 + o, ur * w1r - ui * w1i);
                    ST(x2 + o + FFT_V, ur * w1i + ui * w1r);
                    ur = t2r - t3r;
                    ui = t2i - t3i;
                    ST(x3 + o, ur * w3r - ui * w3i);
                    ST(x3 + o + FFT_V, ur * w3i + ui * w3r);
                }
            }
        }
    }
    if (L == 2) {
        for (int64_t blk = 0; blk < n; blk += 2) {
            float *x0 = p + blk * s, *x1 = x0 + s;
            for (int64_t c = 0; c < w; c++) {
                const int64_t o = c * ws;
                const fvec a0r = LD(x0 + o), a0i = LD(x0 + o + FFT_V);
                const fvec a1r = LD(x1 + o), a1i = LD(x1 + o + FFT_V);
                ST(x0 + o, a0r + a1r);
                ST(x0 + o + FFT_V, a0i + a1i);
                ST(x1 + o, a0r - a1r);
                ST(x1 + o + FFT_V, a0i - a1i);
            }
        }
    }
}

/* inverse (conjugate twiddles, unnormalised), decimation in time: bit-reversed in, natural out */
AI void fft_dit(float *p, int64_t n, int64_t s, int64_t ws, int64_t w) {
    int64_t L = 4;
    if (__builtin_ctzll((unsigned long long)n) & 1) {
        for (int64_t blk = 0; blk < n; blk += 2) {
            float *x0 = p + blk * s, *x1 = x0 + s;
            for (int64_t c = 0; c < w; c++) {
                const int64_t o = c * ws;
                const fvec a0r = LD(x0 + o), a0i = LD(x0 + o + FFT_V);
                const fvec a1r = LD(x1 + o), a1i = LD(x1 + o + FFT_V);
                ST(x0 + o, a0r + a1r);
                ST(x0 + o + FFT_V, a0i + a1i);
                ST(x1 + o, a0r - a1r);
                ST(x1 + o + FFT_V, a0i - a1i);
            }
        }
        L = 8;
    }
    for (; L <= n; L <<= 2) {
        const int64_t q = L >> 2, step = FFT_MAX / L;
        for (int64_t j = 0; j < q; j++) {
            /* conjugates of W^j, W^2j, W^3j */
            const float w1r = TW[j * step][0], w1i = -TW[j * step][1];
            const float w2r = TW[2 * j * step][0], w2i = -TW[2 * j * step][1];
            const float w3r = TW[3 * j * step][0], w3i = -TW[3 * j * step][1];
            for (int64_t blk = 0; blk < n; blk += L) {
                float *x0 = p + (blk + j) * s, *x1 = x0 + q * s, *x2 = x1 + q * s, *x3 = x2 + q * s;
                for (int64_t c = 0; c < w; c++) {
                    const int64_t o = c * ws;
                    const fvec y0r = LD(x0 + o), y0i = LD(x0 + o + FFT_V);
                    const fvec y1r = LD(x1 + o), y1i = LD(x1 + o + FFT_V);
                    const fvec y2r = LD(x2 + o), y2i = LD(x2 + o + FFT_V);
                    const fvec y3r = LD(x3 + o), y3i = LD(x3 + o + FFT_V);
                    const fvec u1r = y1r * w2r - y1i * w2i, u1i = y1r * w2i + y1i * w2r;
                    const fvec u2r = y2r * w1r - y2i * w1i, u2i = y2r * w1i + y2i * w1r;
                    const fvec u3r = y3r * w3r - y3i * w3i, u3i = y3r * w3i + y3i * w3r;
                    const fvec a0r = y0r + u1r, a0i = y0i + u1i;
                    const fvec a1r = y0r - u1r, a1i = y0i - u1i;
                    const fvec c2r = u2r + u3r, c2i = u2i + u3i;
                    const fvec c3r = u2r - u3r, c3i = u2i - u3i;
                    ST(x0 + o, a0r + c2r);
                    ST(x0 + o + FFT_V, a0i + c2i);
                    ST(x2 + o, a0r - c2r);
                    ST(x2 + o + FFT_V, a0i - c2i);
                    ST(x1 + o, a1r - c3i); /* a1 + i c3 */
                    ST(x1 + o + FFT_V, a1i + c3r);
                    ST(x3 + o, a1r + c3i); /* a1 - i c3 */
                    ST(x3 + o + FFT_V, a1i - c3r);
                }
            }
        }
    }
}

/* ------------------------------------------------------------------ lanes <-> memory */

/* dst (FFT_V lanes) = nb channels at src with channel stride sc, zeros above */
typedef void (*load_fn)(float *restrict dst, const float *restrict src, int64_t sc, int64_t nb);
/* dst[0..nb) = the first nb lanes of src */
typedef void (*store_fn)(float *restrict dst, const float *restrict src, int64_t nb);

AI void load_portable(float *restrict dst, const float *restrict src, int64_t sc, int64_t nb) {
    int64_t l = 0;
    if (sc == 1)
        for (; l < nb; l++) dst[l] = src[l];
    else
        for (; l < nb; l++) dst[l] = src[l * sc];
    for (; l < FFT_V; l++) dst[l] = 0.0f;
}

AI void store_portable(float *restrict dst, const float *restrict src, int64_t nb) {
    for (int64_t l = 0; l < nb; l++) dst[l] = src[l];
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define C4J_HAVE_AVX512_FFT 1

__attribute__((target("avx512f"))) AI void load_avx512(float *restrict dst, const float *restrict src, int64_t sc,
                                                       int64_t nb) {
    if (sc == 1) {
        const __mmask16 m = (__mmask16)((1u << nb) - 1u);
        _mm512_store_ps(dst, _mm512_maskz_loadu_ps(m, src));
    } else {
        load_portable(dst, src, sc, nb);
    }
}

__attribute__((target("avx512f"))) AI void store_avx512(float *restrict dst, const float *restrict src, int64_t nb) {
    _mm512_mask_storeu_ps(dst, (__mmask16)((1u << nb) - 1u), _mm512_load_ps(src));
}
#endif

/* ------------------------------------------------------------------ one unit */

typedef struct {
    const c4j_conv2d_desc *d;
    const fft_plan *p;
    float *zb, *sp;      /* tile buffers: [fh][hw] and [fh][nfw] complex vectors */
    int64_t rev[FFT_MAX]; /* bit reversal of hw */
} tile_ctx;

/* forward transform of one input tile (input origin iy0, ix0 in image img) into A row a_t */
AI void forward_tile(const tile_ctx *t, const float *img, int64_t iy0, int64_t ix0, float *a_t, load_fn load,
                     store_fn store) {
    const c4j_conv2d_desc *d = t->d;
    const fft_plan *p = t->p;
    const int64_t fh = p->fh, fw = p->fw, hw = p->hw, nfw = p->nfw;
    const int64_t s1 = d->in_stride[1], s2 = d->in_stride[2], sc = d->in_stride[3];
    float *zb = t->zb, *sp = t->sp;
    /* rows of the tile inside the image: [j0, j1) */
    const int64_t j0 = C4J_MIN(fh, C4J_MAX(0, -iy0)), j1 = C4J_MAX(j0, C4J_MIN(fh, d->in_h - iy0));
    const int64_t i0 = C4J_MIN(fw, C4J_MAX(0, -ix0)), i1 = C4J_MAX(i0, C4J_MIN(fw, d->in_w - ix0));
    for (int64_t b = 0; b < p->bin; b++) {
        const int64_t nb = C4J_MIN(FFT_V, p->cin_g - b * FFT_V);
        const float *src = img + b * FFT_V * sc;
        /* gather rows j0..j1 as z[n] = x[2n] + i x[2n+1] */
        for (int64_t j = j0; j < j1; j++) {
            float *zr = zb + j * hw * FFT_CV;
            const float *srow = src + (iy0 + j) * s1;
            for (int64_t i = 0; i < fw; i++) {
                float *dst = zr + (i >> 1) * FFT_CV + (i & 1) * FFT_V;
                if (i < i0 || i >= i1) memset(dst, 0, FFT_V * sizeof(float));
                else load(dst, srow + (ix0 + i) * s2, sc, nb);
            }
        }
        if (j1 > j0) {
            fft_dif(zb + j0 * hw * FFT_CV, hw, FFT_CV, hw * FFT_CV, j1 - j0);
            /* split step: X'[k] = 2 X[k] = E + W^k O, from Z[k] and Z[hw - k] */
            const int64_t step = FFT_MAX / fw;
            for (int64_t k = 0; k <= hw; k++) {
                const float wr = TW[k * step][0], wi = TW[k * step][1];
                const int64_t pa = t->rev[k & (hw - 1)] * FFT_CV, pb = t->rev[(hw - k) & (hw - 1)] * FFT_CV;
                for (int64_t j = j0; j < j1; j++) {
                    const float *zr = zb + j * hw * FFT_CV;
                    const fvec ar = LD(zr + pa), ai = LD(zr + pa + FFT_V);
                    const fvec br = LD(zr + pb), bi = LD(zr + pb + FFT_V);
                    const fvec er = ar + br, ei = ai - bi;
                    const fvec or_ = ai + bi, oi = br - ar;
                    float *x = sp + (j * nfw + k) * FFT_CV;
                    ST(x, er + or_ * wr - oi * wi);
                    ST(x + FFT_V, ei + oi * wr + or_ * wi);
                }
            }
        }
        if (j0 > 0) memset(sp, 0, (size_t)(j0 * nfw * FFT_CV) * sizeof(float));
        if (j1 < fh) memset(sp + j1 * nfw * FFT_CV, 0, (size_t)((fh - j1) * nfw * FFT_CV) * sizeof(float));
        fft_dif(sp, fh, nfw * FFT_CV, FFT_CV, nfw);
        /* into A: per frequency, nb real parts then nb imaginary parts */
        float *a = a_t + b * FFT_CV;
        for (int64_t f = 0; f < p->nfreq; f++) {
            store(a + f * p->ka, sp + f * FFT_CV, nb);
            store(a + f * p->ka + nb, sp + f * FFT_CV + FFT_V, nb);
        }
    }
}

/* inverse transform of tile row c_t into output rows/cols [0, vh) x [0, vw) at out (n, oy0, ox0) */
AI void inverse_tile(const tile_ctx *t, const float *c_t, float *out, int64_t vh, int64_t vw, int64_t c_base,
                     const float *bias, load_fn load, store_fn store) {
    const c4j_conv2d_desc *d = t->d;
    const fft_plan *p = t->p;
    const int64_t fh = p->fh, fw = p->fw, hw = p->hw, nfw = p->nfw;
    float *zb = t->zb, *sp = t->sp;
    const int64_t os1 = d->out_stride[1], os2 = d->out_stride[2];
    for (int64_t b = 0; b < p->bout; b++) {
        const int64_t nb = C4J_MIN(FFT_V, p->cout_g - b * FFT_V);
        const float *cb = c_t + b * FFT_CV;
        for (int64_t f = 0; f < p->nfreq; f++) {
            load(sp + f * FFT_CV, cb + f * p->nc, 1, nb);
            load(sp + f * FFT_CV + FFT_V, cb + f * p->nc + nb, 1, nb);
        }
        fft_dit(sp, fh, nfw * FFT_CV, FFT_CV, nfw);
        /* rows kept: Z'[k] = E + i W^-k D from X[k] and X[hw - k], stored bit-reversed */
        const int64_t step = FFT_MAX / fw;
        for (int64_t k = 0; k < hw; k++) {
            const float wr = TW[k * step][0], wi = TW[k * step][1];
            const int64_t pz = t->rev[k] * FFT_CV;
            for (int64_t j = 0; j < vh; j++) {
                const float *x = sp + (j * nfw + k) * FFT_CV, *y = sp + (j * nfw + hw - k) * FFT_CV;
                const fvec xr = LD(x), xi = LD(x + FFT_V), yr = LD(y), yi = LD(y + FFT_V);
                const fvec er = xr + yr, ei = xi - yi, dr = xr - yr, di = xi + yi;
                const fvec pr = dr * wr + di * wi, pi = di * wr - dr * wi; /* conj(W^k) D */
                float *z = zb + j * hw * FFT_CV + pz;
                ST(z, er - pi);
                ST(z + FFT_V, ei + pr);
            }
        }
        fft_dit(zb, hw, FFT_CV, hw * FFT_CV, vh);
        for (int64_t j = 0; j < vh; j++) {
            float *orow = out + j * os1 + b * FFT_V;
            const float *zr = zb + j * hw * FFT_CV;
            for (int64_t i = 0; i < vw; i++) store(orow + i * os2, zr + (i >> 1) * FFT_CV + (i & 1) * FFT_V, nb);
            c4j_epilogue_rows(d, bias, orow, vw, os2, c_base + b * FFT_V, nb);
        }
    }
}

AI void run_impl(const c4j_blas *blas, const c4j_conv2d_desc *d, const fft_plan *p, const float *in,
                 const float *prepared, const float *bias, float *out, float *ws, int64_t u0, int64_t u1,
                 load_fn load, store_fn store) {
    tile_ctx t;
    t.d = d;
    t.p = p;
    float *abuf = ws, *cbuf = ws + p->a_floats;
    t.zb = cbuf + p->c_floats;
    t.sp = t.zb + p->z_floats;
    for (int64_t k = 0; k < p->hw; k++) t.rev[k] = bitrev(k, p->hw);
    const int64_t per_img = p->tiles_y * p->tiles_x;
    const int64_t lda = p->nfreq * p->ka, ldc = p->nfreq * p->nc;
    for (int64_t u = u0; u < u1; u++) {
        const int64_t g = u / p->blocks, blk = u % p->blocks;
        const int64_t t0 = blk * p->tb, tn = C4J_MIN(p->tb, p->total - t0);
        for (int64_t i = 0; i < tn; i++) {
            const int64_t tile = t0 + i, n = tile / per_img, ty = (tile % per_img) / p->tiles_x,
                          tx = tile % p->tiles_x;
            const float *img = in + n * d->in_stride[0] + g * p->cin_g * d->in_stride[3];
            forward_tile(&t, img, ty * p->mh - d->pad_top, tx * p->mw - d->pad_left, abuf + i * lda, load, store);
        }
        const float *bg = prepared + g * p->nfreq * p->ka * p->nc;
        for (int64_t f = 0; f < p->nfreq; f++)
            blas->sgemm(C4J_ROW_MAJOR, C4J_NO_TRANS, C4J_NO_TRANS, (int)tn, (int)p->nc, (int)p->ka, 1.0f,
                        abuf + f * p->ka, (int)lda, bg + f * p->ka * p->nc, (int)p->nc, 0.0f, cbuf + f * p->nc,
                        (int)ldc);
        for (int64_t i = 0; i < tn; i++) {
            const int64_t tile = t0 + i, n = tile / per_img, ty = (tile % per_img) / p->tiles_x,
                          tx = tile % p->tiles_x;
            const int64_t oy0 = ty * p->mh, ox0 = tx * p->mw;
            const int64_t vh = C4J_MIN(p->mh, d->out_h - oy0), vw = C4J_MIN(p->mw, d->out_w - ox0);
            float *o = out + n * d->out_stride[0] + oy0 * d->out_stride[1] + ox0 * d->out_stride[2] + g * p->cout_g;
            inverse_tile(&t, cbuf + i * ldc, o, vh, vw, g * p->cout_g, bias, load, store);
        }
    }
}

static void run_portable(const c4j_blas *blas, const c4j_conv2d_desc *d, const fft_plan *p, const float *in,
                         const float *prepared, const float *bias, float *out, float *ws, int64_t u0, int64_t u1) {
    run_impl(blas, d, p, in, prepared, bias, out, ws, u0, u1, load_portable, store_portable);
}

#ifdef C4J_HAVE_AVX512_FFT
__attribute__((target("avx512f"))) static void run_avx512(const c4j_blas *blas, const c4j_conv2d_desc *d,
                                                          const fft_plan *p, const float *in, const float *prepared,
                                                          const float *bias, float *out, float *ws, int64_t u0,
                                                          int64_t u1) {
    run_impl(blas, d, p, in, prepared, bias, out, ws, u0, u1, load_avx512, store_avx512);
}

__attribute__((target("avx2,fma"))) static void run_avx2(const c4j_blas *blas, const c4j_conv2d_desc *d,
                                                         const fft_plan *p, const float *in, const float *prepared,
                                                         const float *bias, float *out, float *ws, int64_t u0,
                                                         int64_t u1) {
    run_impl(blas, d, p, in, prepared, bias, out, ws, u0, u1, load_portable, store_portable);
}
#endif

void c4j_fft_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *prepared,
                 const float *bias, float *out, float *workspace, int64_t u0, int64_t u1) {
    fft_plan p;
    if (!make_plan(d, &p)) return;
#ifdef C4J_HAVE_AVX512_FFT
    if (c4j_cpu_has_avx512()) {
        run_avx512(blas, d, &p, in, prepared, bias, out, workspace, u0, u1);
        return;
    }
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        run_avx2(blas, d, &p, in, prepared, bias, out, workspace, u0, u1);
        return;
    }
#endif
    run_portable(blas, d, &p, in, prepared, bias, out, workspace, u0, u1);
}
