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
 * No bit-reversal pass: forward transforms are decimation in frequency (natural order in,
 * bit-reversed out), inverse ones decimation in time (bit-reversed in, natural out), the split
 * steps of the real transform work in place on bit-reversed positions, and the prepared filter is
 * stored in the same permuted frequency order. The filter transform U is conj(DFT(w))
 * (cross-correlation; the flipped kernel for flip = 1, taps spread out for dilation), computed in
 * double and scaled by 1 / (2 * FH * FW), which undoes the unnormalised transforms.
 *
 * FH and FW depend on the kernel extent and the channel counts only (cost model, fft_pick), never
 * on the input size, so one prepared filter serves every input size with the same filter and
 * options. The workspace holds A and C for one block of tiles plus one tile buffer; it is bounded
 * (16 MiB) whatever the batch size.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

#define FFT_V 16            /* SIMD lanes: channels per vector */
#define FFT_CV (2 * FFT_V)  /* floats per complex vector: FFT_V real parts, then FFT_V imaginary */
#define FFT_MIN 8           /* FFT sizes per dimension: 8, 16, 32, 64 */
#define FFT_MAX 64          /* (the twiddle table's size) */
#define FFT_MAX_KERNEL 48   /* largest kernel extent (dilation included) per dimension */
#define FFT_WS_MAX_FLOATS ((int64_t)4 * 1024 * 1024) /* 16 MiB */

/* Tiles per block: sgemm wants many rows (M = tiles), and each block streams all of B once, but A
   and C of a block should stay near L2. */
#define FFT_BLOCK_TARGET_FLOATS ((int64_t)384 * 1024)
#define FFT_BLOCK_MIN_TILES 8
#define FFT_BLOCK_MAX_TILES 64

/*
 * The complex products over channels as one real sgemm per frequency, in one of two forms. A tile's
 * row of A_f is [Xr | Xi] (2 * cin_g floats) in both.
 *   block:   [T x 2 Cin] [[Ur, Ui], [-Ui, Ur]] = [T x 2 Cout] = [Yr | Yi] directly;
 *   stacked: the row read as two rows Xr, Xi: [2T x Cin] [Ur | Ui] = [2T x 2 Cout], and
 *            Yr = Xr Ur - Xi Ui, Yi = Xr Ui + Xi Ur are added up when the inverse reads them.
 * Same flops; stacked halves B (the prepared filter and what each block streams) and doubles M,
 * which wins once B is large: measured 1.6x on 128 -> 128 channels, 7% on 64 -> 64, but 10-20%
 * slower on 16 and 32 channels, whose small B stays in cache.
 */
#define FFT_STACKED_PAIRS 2048 /* stacked when cin_g * cout_g reaches this */

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
    int64_t cin_g, cout_g, nc;     /* channels per group; nc = 2 * cout_g (sgemm N) */
    int64_t stacked;               /* product form, see FFT_STACKED_PAIRS */
    int64_t kb;                    /* sgemm K: rows of B_f (cin_g stacked, else 2 * cin_g) */
    int64_t crow;                  /* floats of C_f per tile (2 * nc stacked, else nc) */
    int64_t bin, bout;             /* blocks of FFT_V input / output channels */
    int64_t tiles_y, tiles_x, total, tb, blocks;
    int64_t a_step, c_step;        /* floats from A_f to A_f+1, C_f to C_f+1 */
    int64_t a_floats, c_floats, s_floats; /* workspace parts */
} fft_plan;

static int64_t extent(int64_t k, int64_t dil) { return (k - 1) * dil + 1; }

/*
 * Estimated time (ns, single thread, AVX-512) of FH x FW tiles on a nominal 64 x 64 output: the
 * FFT size cannot depend on the input size (the prepared filter must fit every input), so the
 * choice assumes a typical large-kernel layer and pays the cropped tile margin of that size.
 *   transforms: ~0.6 ns per point and butterfly level per 16 input channels, 0.45 per 16 output
 *               channels (fewer rows are transformed back); small and large sizes are slower
 *   products:   8 * Cin * Cout flops per frequency at ~150 GFLOP/s
 *   B:          the prepared matrices are streamed once per block: free when they stay in L2,
 *               L3 or memory bandwidth otherwise
 * Measured on Zen 5 (see the report of the change that added it); the constants only need to rank
 * the candidate sizes.
 */
static double fft_cost(int64_t fh, int64_t fw, int64_t kh, int64_t kw, int64_t cin, int64_t cout, int64_t stacked) {
    const int64_t nominal = 64;
    const int64_t mh = fh - kh + 1, mw = fw - kw + 1;
    const double tiles = (double)(c4j_ceil_div(nominal, mh) * c4j_ceil_div(nominal, mw));
    const double nfreq = (double)(fh * (fw / 2 + 1));
    double per_point = 0.6 * (double)c4j_ceil_div(cin, FFT_V) + 0.45 * (double)c4j_ceil_div(cout, FFT_V);
    if (fh == FFT_MIN || fw == FFT_MIN) per_point *= 1.5; /* loop overhead of 4-point rows */
    if (fh * fw >= 64 * 64) per_point *= 1.4;            /* the tile buffer leaves L1 and L2 */
    const double transform = (double)(fh * fw) * log2((double)(fh * fw)) * per_point;
    const double products = 8.0 * (double)cin * (double)cout * nfreq / 150.0;
    const double b_bytes = (stacked ? 8.0 : 16.0) * (double)cin * (double)cout * nfreq;
    const double b_ns_per_byte = b_bytes <= 1024.0 * 1024.0 ? 0.0 : b_bytes <= 16.0 * 1024 * 1024 ? 1.0 / 60 : 1.0 / 20;
    const double blocks = ceil(tiles / FFT_BLOCK_MAX_TILES);
    return tiles * (transform + products) + blocks * b_bytes * b_ns_per_byte;
}

/* FFT sizes from the kernel extent and channel counts only (the prepared filter depends on them) */
static void fft_pick(int64_t kh, int64_t kw, int64_t cin, int64_t cout, int64_t stacked, int64_t *fh, int64_t *fw) {
    double best = -1;
    *fh = *fw = FFT_MAX;
    for (int64_t h = FFT_MIN; h <= FFT_MAX; h *= 2) {
        if (h < kh) continue;
        for (int64_t w = FFT_MIN; w <= FFT_MAX; w *= 2) {
            if (w < kw) continue;
            double c = fft_cost(h, w, kh, kw, cin, cout, stacked);
            if (best < 0 || c < best) {
                best = c;
                *fh = h;
                *fw = w;
            }
        }
    }
}

static int64_t round16(int64_t floats) { return c4j_ceil_div(floats, 16) * 16; }

/* A tile's frequencies are written (and read back) one per A_f / C_f: a step of an odd number of
   cache lines spreads them over all L1 sets instead of one when tb * ka is a power of two. */
static int64_t matrix_step(int64_t floats) {
    const int64_t s = round16(floats);
    return (s / 16) % 2 ? s : s + 16;
}

/* returns 0 when the convolution does not fit (kernel too large, one tile over the workspace) */
static int make_plan(const c4j_conv2d_desc *d, fft_plan *p) {
    memset(p, 0, sizeof *p);
    if (d->stride_h != 1 || d->stride_w != 1) return 0;
    p->kh = extent(d->kernel_h, d->dilation_h);
    p->kw = extent(d->kernel_w, d->dilation_w);
    if (p->kh > FFT_MAX_KERNEL || p->kw > FFT_MAX_KERNEL) return 0;
    p->cin_g = c4j_cin_g(d);
    p->cout_g = c4j_cout_g(d);
    /* sgemm's int arguments (and the workspace bound below) */
    if (p->cin_g > (int64_t)1 << 20 || p->cout_g > (int64_t)1 << 20) return 0;
    p->stacked = p->cin_g * p->cout_g >= FFT_STACKED_PAIRS;
    fft_pick(p->kh, p->kw, p->cin_g, p->cout_g, p->stacked, &p->fh, &p->fw);
    p->hw = p->fw / 2;
    p->mh = p->fh - p->kh + 1;
    p->mw = p->fw - p->kw + 1;
    p->nfw = p->hw + 1;
    p->nfreq = p->fh * p->nfw;
    p->nc = 2 * p->cout_g;
    p->kb = p->stacked ? p->cin_g : 2 * p->cin_g;
    p->crow = p->stacked ? 2 * p->nc : p->nc;
    p->bin = c4j_ceil_div(p->cin_g, FFT_V);
    p->bout = c4j_ceil_div(p->cout_g, FFT_V);
    p->tiles_y = c4j_ceil_div(d->out_h, p->mh);
    p->tiles_x = c4j_ceil_div(d->out_w, p->mw);
    p->total = d->batch * p->tiles_y * p->tiles_x;
    p->s_floats = round16(p->nfreq * FFT_CV);
    /* one tile's spectra, in and out, must fit next to the tile buffer (steps add 32 floats each) */
    const int64_t per_tile = p->nfreq * (2 * p->cin_g + p->crow);
    const int64_t room = FFT_WS_MAX_FLOATS - p->s_floats - 64 * p->nfreq;
    if (per_tile > room) return 0;
    /* A and C of a block near L2, or as large as B when B is larger: B is streamed once per block */
    const int64_t b_floats = p->nfreq * p->kb * p->nc;
    int64_t tb = C4J_MAX(FFT_BLOCK_TARGET_FLOATS, b_floats) / per_tile;
    tb = C4J_MAX(FFT_BLOCK_MIN_TILES, C4J_MIN(FFT_BLOCK_MAX_TILES, tb));
    tb = C4J_MIN(tb, room / per_tile);
    tb = C4J_MAX(1, C4J_MIN(tb, p->total));
    p->blocks = p->total > 0 ? c4j_ceil_div(p->total, tb) : 0;
    p->tb = p->total > 0 ? c4j_ceil_div(p->total, p->blocks) : tb; /* even blocks */
    p->a_step = matrix_step(p->tb * 2 * p->cin_g);
    p->c_step = matrix_step(p->tb * p->crow);
    p->a_floats = p->nfreq * p->a_step;
    p->c_floats = p->nfreq * p->c_step;
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
    return (p.a_floats + p.c_floats + p.s_floats) * (int64_t)sizeof(float);
}

int64_t c4j_fft_prepared_floats(const c4j_conv2d_desc *d) {
    fft_plan p;
    if (!make_plan(d, &p)) return 0;
    return d->groups * p.nfreq * p.kb * p.nc;
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

/* Where horizontal frequency k (0..hw) sits in a spectrum row: the row transform leaves k < hw at
   bit-reversed positions and the split step adds k = hw at the end. */
static int64_t column_of(int64_t k, int64_t hw) { return k < hw ? bitrev(k, hw) : hw; }

/*
 * B_f for every group and frequency: [g][f][kb][2 * cout_g], f = r * nfw + column_of(k): row r
 * holds vertical frequency bitrev(r). Rows c < cin_g are [Ur | Ui] of input channel c; the block
 * form adds rows cin_g + c = [-Ui | Ur]. U = conj(sum over taps of w * exp(-2 pi i (u y / fh +
 * k x / fw))) / (2 fh fw), computed in double per (input, output channel): taps along w, then h.
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
    int64_t rev[FFT_MAX], col[FFT_MAX / 2 + 1];
    for (int64_t r = 0; r < p.fh; r++) rev[r] = bitrev(r, p.fh);
    for (int64_t k = 0; k < p.nfw; k++) col[k] = column_of(k, p.hw);
    const double scale = 1.0 / (2.0 * (double)p.fh * (double)p.fw);
    double row[FFT_MAX_KERNEL][FFT_MAX / 2 + 1][2]; /* DFT along w of each kernel row */
    const int64_t bsize = p.kb * p.nc;
    for (int64_t g = 0; g < d->groups; g++)
        for (int64_t c = 0; c < p.cin_g; c++)
            for (int64_t o = 0; o < p.cout_g; o++) {
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
                        float *bf = prepared + (g * p.nfreq + r * p.nfw + col[k]) * bsize;
                        bf[c * p.nc + o] = ur;
                        bf[c * p.nc + p.cout_g + o] = ui;
                        if (!p.stacked) {
                            bf[(p.cin_g + c) * p.nc + o] = -ui;
                            bf[(p.cin_g + c) * p.nc + p.cout_g + o] = ur;
                        }
                    }
                }
            }
}

/* ------------------------------------------------------------------ transforms on vectors of channels */

/*
 * A batch of `w` complex FFTs of n points (n a power of two, 2..FFT_MAX): point k of transform c is
 * the complex vector at p + k * s + c * ws (real parts, then imaginary parts at + FFT_V).
 * Radix-4 passes (two radix-2 stages fused), plus one radix-2 pass when log2(n) is odd; butterflies
 * whose twiddles are all 1 (j = 0) skip the multiplications.
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
                    if (j == 0) {
                        ST(x1 + o, t0r - t1r);
                        ST(x1 + o + FFT_V, t0i - t1i);
                        ST(x2 + o, t2r + t3r);
                        ST(x2 + o + FFT_V, t2i + t3i);
                        ST(x3 + o, t2r - t3r);
                        ST(x3 + o + FFT_V, t2i - t3i);
                        continue;
                    }
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
                    fvec u1r = LD(x1 + o), u1i = LD(x1 + o + FFT_V);
                    fvec u2r = LD(x2 + o), u2i = LD(x2 + o + FFT_V);
                    fvec u3r = LD(x3 + o), u3i = LD(x3 + o + FFT_V);
                    if (j != 0) {
                        fvec tr = u1r * w2r - u1i * w2i;
                        u1i = u1r * w2i + u1i * w2r;
                        u1r = tr;
                        tr = u2r * w1r - u2i * w1i;
                        u2i = u2r * w1i + u2i * w1r;
                        u2r = tr;
                        tr = u3r * w3r - u3i * w3i;
                        u3i = u3r * w3i + u3i * w3r;
                        u3r = tr;
                    }
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
    float *sp;                   /* tile buffer: [fh][nfw] complex vectors */
    int64_t rev[FFT_MAX / 2];    /* bit reversal of hw: where the row transform leaves k */
} tile_ctx;

/*
 * Forward transform of one input tile (origin iy0, ix0 in image img, group's channels) into row a_t
 * of every A_f (A_f = a_t + f * a_step). Row j of the tile buffer first holds z[n] = x[2n] + i x[2n+1]
 * of input row j, then (in place) its half spectrum, then the column transforms run over all rows.
 */
AI void forward_tile(const tile_ctx *t, const float *img, int64_t iy0, int64_t ix0, float *a_t, int64_t a_step,
                     load_fn load, store_fn store) {
    const c4j_conv2d_desc *d = t->d;
    const fft_plan *p = t->p;
    const int64_t fh = p->fh, fw = p->fw, hw = p->hw, nfw = p->nfw, rs = nfw * FFT_CV;
    const int64_t s1 = d->in_stride[1], s2 = d->in_stride[2], sc = d->in_stride[3];
    float *sp = t->sp;
    /* rows and columns of the tile inside the image: [j0, j1) x [i0, i1) */
    const int64_t j0 = C4J_MIN(fh, C4J_MAX(0, -iy0)), j1 = C4J_MAX(j0, C4J_MIN(fh, d->in_h - iy0));
    const int64_t i0 = C4J_MIN(fw, C4J_MAX(0, -ix0)), i1 = C4J_MAX(i0, C4J_MIN(fw, d->in_w - ix0));
    const int64_t step = FFT_MAX / fw;
    for (int64_t b = 0; b < p->bin; b++) {
        const int64_t nb = C4J_MIN(FFT_V, p->cin_g - b * FFT_V);
        const float *src = img + b * FFT_V * sc;
        for (int64_t j = j0; j < j1; j++) {
            float *zr = sp + j * rs;
            const float *srow = src + (iy0 + j) * s1;
            /* pixel i is the real (even i) or imaginary part of point i / 2: lanes at zr + i * FFT_V */
            memset(zr, 0, (size_t)(i0 * FFT_V) * sizeof(float));
            for (int64_t i = i0; i < i1; i++) load(zr + i * FFT_V, srow + (ix0 + i) * s2, sc, nb);
            memset(zr + i1 * FFT_V, 0, (size_t)((fw - i1) * FFT_V) * sizeof(float));
        }
        if (j1 > j0) {
            fft_dif(sp + j0 * rs, hw, FFT_CV, rs, j1 - j0);
            /*
             * Split step, in place on the bit-reversed positions: 2 X[k] = E + W^k O with
             * E = Z[k] + conj(Z[hw-k]), O = -i (Z[k] - conj(Z[hw-k])), and 2 X[hw-k] = conj(E - W^k O).
             * X[0] and X[hw] (real) come from Z[0] alone; X[hw] goes to the extra point hw.
             */
            for (int64_t j = j0; j < j1; j++) {
                float *x0 = sp + j * rs, *xh = x0 + hw * FFT_CV;
                const fvec ar = LD(x0), ai = LD(x0 + FFT_V), zero = ar - ar;
                ST(x0, (ar + ai) + (ar + ai));
                ST(x0 + FFT_V, zero);
                ST(xh, (ar - ai) + (ar - ai));
                ST(xh + FFT_V, zero);
            }
            for (int64_t k = 1; k <= hw / 2; k++) {
                const float wr = TW[k * step][0], wi = TW[k * step][1];
                const int64_t pa = t->rev[k] * FFT_CV, pb = t->rev[hw - k] * FFT_CV;
                for (int64_t j = j0; j < j1; j++) {
                    float *zr = sp + j * rs;
                    const fvec ar = LD(zr + pa), ai = LD(zr + pa + FFT_V);
                    const fvec br = LD(zr + pb), bi = LD(zr + pb + FFT_V);
                    const fvec er = ar + br, ei = ai - bi;
                    const fvec or_ = ai + bi, oi = br - ar;
                    const fvec pr = or_ * wr - oi * wi, pi = or_ * wi + oi * wr;
                    ST(zr + pb, er - pr); /* for k = hw/2 this is overwritten by the same X[k] */
                    ST(zr + pb + FFT_V, pi - ei);
                    ST(zr + pa, er + pr);
                    ST(zr + pa + FFT_V, ei + pi);
                }
            }
        }
        if (j0 > 0) memset(sp, 0, (size_t)(j0 * rs) * sizeof(float));
        if (j1 < fh) memset(sp + j1 * rs, 0, (size_t)((fh - j1) * rs) * sizeof(float));
        fft_dif(sp, fh, rs, FFT_CV, nfw);
        /* into A: per frequency, [Xr | Xi] */
        float *a = a_t + b * FFT_V;
        for (int64_t f = 0; f < p->nfreq; f++) {
            store(a + f * a_step, sp + f * FFT_CV, nb);
            store(a + f * a_step + p->cin_g, sp + f * FFT_CV + FFT_V, nb);
        }
    }
}

/*
 * Inverse transform of row c_t of every C_f (C_f = c_t + f * c_step) into the output pixels
 * [0, vh) x [0, vw) of the tile at out; bias and activation for channels c_base...
 */
AI void inverse_tile(const tile_ctx *t, const float *c_t, int64_t c_step, float *out, int64_t vh, int64_t vw,
                     int64_t c_base, const float *bias, load_fn load, store_fn store) {
    const c4j_conv2d_desc *d = t->d;
    const fft_plan *p = t->p;
    const int64_t fh = p->fh, fw = p->fw, hw = p->hw, nfw = p->nfw, rs = nfw * FFT_CV;
    float *sp = t->sp;
    const int64_t os1 = d->out_stride[1], os2 = d->out_stride[2];
    const int64_t step = FFT_MAX / fw;
    for (int64_t b = 0; b < p->bout; b++) {
        const int64_t nb = C4J_MIN(FFT_V, p->cout_g - b * FFT_V);
        /* block form: [Yr | Yi]; stacked: Y = (Xr Ur - Xi Ui) + i (Xr Ui + Xi Ur) from the rows
           Xr [Ur | Ui] and Xi [Ur | Ui] */
        const float *cb = c_t + b * FFT_V;
        const int64_t co = p->cout_g, nc = p->nc;
        for (int64_t f = 0; f < p->nfreq && !p->stacked; f++) {
            load(sp + f * FFT_CV, cb + f * c_step, 1, nb);
            load(sp + f * FFT_CV + FFT_V, cb + f * c_step + co, 1, nb);
        }
        for (int64_t f = 0; f < p->nfreq && p->stacked; f++) {
            float *x = sp + f * FFT_CV;
            const float *r = cb + f * c_step;
            float q[4][FFT_V] __attribute__((aligned(64)));
            load(q[0], r, 1, nb);           /* Xr Ur */
            load(q[1], r + co, 1, nb);      /* Xr Ui */
            load(q[2], r + nc, 1, nb);      /* Xi Ur */
            load(q[3], r + nc + co, 1, nb); /* Xi Ui */
            ST(x, LD(q[0]) - LD(q[3]));
            ST(x + FFT_V, LD(q[1]) + LD(q[2]));
        }
        fft_dit(sp, fh, rs, FFT_CV, nfw);
        /*
         * Rows kept, in place: Z'[k] = E + i conj(W^k) D with E = X[k] + conj(X[hw-k]),
         * D = X[k] - conj(X[hw-k]); Z'[hw-k] = conj(E) + i conj(conj(W^k) D). Then z = IDFT(Z')
         * holds 2 hw (x[2n] + i x[2n+1]).
         */
        for (int64_t j = 0; j < vh; j++) {
            float *x0 = sp + j * rs, *xh = x0 + hw * FFT_CV;
            const fvec xr = LD(x0), xi = LD(x0 + FFT_V), yr = LD(xh), yi = LD(xh + FFT_V);
            const fvec er = xr + yr, ei = xi - yi, dr = xr - yr, di = xi + yi;
            ST(x0, er - di);
            ST(x0 + FFT_V, ei + dr);
        }
        for (int64_t k = 1; k <= hw / 2; k++) {
            const float wr = TW[k * step][0], wi = TW[k * step][1];
            const int64_t pa = t->rev[k] * FFT_CV, pb = t->rev[hw - k] * FFT_CV;
            for (int64_t j = 0; j < vh; j++) {
                float *zr = sp + j * rs;
                const fvec xr = LD(zr + pa), xi = LD(zr + pa + FFT_V), yr = LD(zr + pb), yi = LD(zr + pb + FFT_V);
                const fvec er = xr + yr, ei = xi - yi, dr = xr - yr, di = xi + yi;
                const fvec pr = dr * wr + di * wi, pi = di * wr - dr * wi; /* conj(W^k) D */
                ST(zr + pb, er + pi);      /* conj(E) + i conj(P) */
                ST(zr + pb + FFT_V, pr - ei);
                ST(zr + pa, er - pi);      /* E + i P */
                ST(zr + pa + FFT_V, ei + pr);
            }
        }
        fft_dit(sp, hw, FFT_CV, rs, vh);
        for (int64_t j = 0; j < vh; j++) {
            float *orow = out + j * os1 + b * FFT_V;
            const float *zr = sp + j * rs;
            for (int64_t i = 0; i < vw; i++) store(orow + i * os2, zr + i * FFT_V, nb); /* x[i] */
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
    t.sp = cbuf + p->c_floats;
    for (int64_t k = 0; k < p->hw; k++) t.rev[k] = bitrev(k, p->hw);
    const int64_t per_img = p->tiles_y * p->tiles_x;
    /* A_f: tile t at 2 t cin_g; C_f: tile t at t crow */
    const int64_t a_step = p->a_step, c_step = p->c_step;
    for (int64_t u = u0; u < u1; u++) {
        const int64_t g = u / p->blocks, blk = u % p->blocks;
        const int64_t t0 = blk * p->tb, tn = C4J_MIN(p->tb, p->total - t0);
        for (int64_t i = 0; i < tn; i++) {
            const int64_t tile = t0 + i, n = tile / per_img, ty = (tile % per_img) / p->tiles_x,
                          tx = tile % p->tiles_x;
            const float *img = in + n * d->in_stride[0] + g * p->cin_g * d->in_stride[3];
            forward_tile(&t, img, ty * p->mh - d->pad_top, tx * p->mw - d->pad_left, abuf + i * 2 * p->cin_g, a_step, load, store);
        }
        const float *bg = prepared + g * p->nfreq * p->kb * p->nc;
        const int64_t m = p->stacked ? 2 * tn : tn;
        for (int64_t f = 0; f < p->nfreq; f++)
            blas->sgemm(C4J_ROW_MAJOR, C4J_NO_TRANS, C4J_NO_TRANS, (int)m, (int)p->nc, (int)p->kb, 1.0f,
                        abuf + f * a_step, (int)p->kb, bg + f * p->kb * p->nc, (int)p->nc, 0.0f, cbuf + f * c_step,
                        (int)p->nc);
        for (int64_t i = 0; i < tn; i++) {
            const int64_t tile = t0 + i, n = tile / per_img, ty = (tile % per_img) / p->tiles_x,
                          tx = tile % p->tiles_x;
            const int64_t oy0 = ty * p->mh, ox0 = tx * p->mw;
            const int64_t vh = C4J_MIN(p->mh, d->out_h - oy0), vw = C4J_MIN(p->mw, d->out_w - ox0);
            float *o = out + n * d->out_stride[0] + oy0 * d->out_stride[1] + ox0 * d->out_stride[2] + g * p->cout_g;
            inverse_tile(&t, cbuf + i * p->crow, c_step, o, vh, vw, g * p->cout_g, bias, load, store);
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
