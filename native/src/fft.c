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
 *      columns of the half spectrum. SIMD lanes are channels (NHWC: channels are adjacent; 16 with
 *      AVX-512, 8 with AVX2, 4 otherwise, see fft_simd.h), so every butterfly works on vectors of
 *      channels. The result of tile t at frequency f is row t of A_f = [T x 2*Cin_g] ([Xr | Xi]);
 *   2. per frequency, one sgemm with the prepared B_f does the complex products summed over the
 *      channels (two equivalent forms, see FFT_STACKED_PAIRS);
 *   3. per tile and vector of output channels, the inverse (columns, then only the rows that are
 *      kept), crop, bias and activation (c4j_epilogue_rows), store into the output view.
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
 * (16 MiB) whatever the batch size. The prepared filter has FH * (FW/2 + 1) * 4 (block form) or 2
 * (stacked) floats per input/output channel pair, 10-20x the raw filter for 9x9 to 11x11 kernels.
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

#define FFT_VMAX 16         /* widest SIMD: channels per vector (the tile buffer is sized for it) */
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
    int64_t tiles_y, tiles_x, total, tb, blocks;
    int64_t a_step, c_step;        /* floats from A_f to A_f+1, C_f to C_f+1 */
    int64_t a_floats, c_floats, s_floats; /* workspace parts */
} fft_plan;

static int64_t extent(int64_t k, int64_t dil) { return (k - 1) * dil + 1; }

static int64_t round16(int64_t floats) { return c4j_ceil_div(floats, 16) * 16; }

/* What the workspace and blocking need to know of one candidate FFT size (input size aside). */
typedef struct {
    int64_t nfreq, kb, crow;
    int64_t per_tile;   /* floats of A and C per tile */
    int64_t b_floats;   /* floats of B (all frequencies, one group) */
    int64_t s_floats;   /* the tile buffer */
    int64_t tb;         /* tiles per block, before capping by the tiles there are */
} fft_sizes;

/* 0 when one tile's spectra do not fit the workspace next to the tile buffer */
static int fft_size(int64_t fh, int64_t fw, int64_t cin, int64_t cout, int64_t stacked, fft_sizes *z) {
    z->nfreq = fh * (fw / 2 + 1);
    z->kb = stacked ? cin : 2 * cin;
    z->crow = stacked ? 4 * cout : 2 * cout;
    z->per_tile = z->nfreq * (2 * cin + z->crow);
    z->b_floats = z->nfreq * z->kb * 2 * cout;
    z->s_floats = round16(z->nfreq * 2 * FFT_VMAX);
    const int64_t room = FFT_WS_MAX_FLOATS - z->s_floats - 64 * z->nfreq; /* steps add 32 floats each */
    if (z->per_tile > room) return 0;
    /* A and C of a block near L2, or as large as B when B is larger: B is streamed once per block */
    int64_t tb = C4J_MAX(FFT_BLOCK_TARGET_FLOATS, z->b_floats) / z->per_tile;
    tb = C4J_MAX(FFT_BLOCK_MIN_TILES, C4J_MIN(FFT_BLOCK_MAX_TILES, tb));
    z->tb = C4J_MIN(tb, room / z->per_tile);
    return 1;
}

/*
 * Estimated time (ns, single thread, AVX-512) of FH x FW tiles on a nominal 64 x 64 output: the
 * FFT size cannot depend on the input size (the prepared filter must fit every input), so the
 * choice assumes a typical large-kernel layer and pays the cropped tile margin of that size.
 *   transforms: ~0.6 ns per point and butterfly level per 16 input channels, 0.45 per 16 output
 *               channels (fewer rows are transformed back); small and large sizes are slower
 *   products:   8 * Cin * Cout flops per frequency at ~150 GFLOP/s
 *   B:          the prepared matrices are streamed once per block: free when they stay in L2,
 *               L3 or memory bandwidth otherwise
 * Fitted to timings on Zen 5; the constants only need to rank the candidate sizes.
 */
static double fft_cost(int64_t fh, int64_t fw, int64_t kh, int64_t kw, int64_t cin, int64_t cout,
                       const fft_sizes *z) {
    const int64_t nominal = 64;
    const int64_t mh = fh - kh + 1, mw = fw - kw + 1;
    const int64_t tiles = c4j_ceil_div(nominal, mh) * c4j_ceil_div(nominal, mw);
    double per_point = 0.6 * (double)c4j_ceil_div(cin, FFT_VMAX) + 0.45 * (double)c4j_ceil_div(cout, FFT_VMAX);
    if (fh == FFT_MIN || fw == FFT_MIN) per_point *= 1.5; /* loop overhead of 4-point rows */
    if (fh * fw >= 64 * 64) per_point *= 1.4;            /* the tile buffer leaves L1 and L2 */
    const double transform = (double)(fh * fw) * log2((double)(fh * fw)) * per_point;
    const double products = 8.0 * (double)cin * (double)cout * (double)z->nfreq / 150.0;
    const double b_bytes = 4.0 * (double)z->b_floats;
    const double b_ns_per_byte = b_bytes <= 1024.0 * 1024 ? 0.0 : b_bytes <= 16.0 * 1024 * 1024 ? 1.0 / 60 : 1.0 / 20;
    const double blocks = (double)c4j_ceil_div(tiles, C4J_MIN(tiles, z->tb));
    return (double)tiles * (transform + products) + blocks * b_bytes * b_ns_per_byte;
}

/* FFT sizes from the kernel extent and channel counts only (the prepared filter depends on them);
   0 when no size fits the workspace */
static int fft_pick(int64_t kh, int64_t kw, int64_t cin, int64_t cout, int64_t stacked, int64_t *fh, int64_t *fw) {
    double best = -1;
    for (int64_t h = FFT_MIN; h <= FFT_MAX; h *= 2) {
        if (h < kh) continue;
        for (int64_t w = FFT_MIN; w <= FFT_MAX; w *= 2) {
            fft_sizes z;
            if (w < kw || !fft_size(h, w, cin, cout, stacked, &z)) continue;
            const double c = fft_cost(h, w, kh, kw, cin, cout, &z);
            if (best < 0 || c < best) {
                best = c;
                *fh = h;
                *fw = w;
            }
        }
    }
    return best >= 0;
}

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
    if (!fft_pick(p->kh, p->kw, p->cin_g, p->cout_g, p->stacked, &p->fh, &p->fw)) return 0;
    fft_sizes z;
    if (!fft_size(p->fh, p->fw, p->cin_g, p->cout_g, p->stacked, &z)) return 0;
    p->hw = p->fw / 2;
    p->mh = p->fh - p->kh + 1;
    p->mw = p->fw - p->kw + 1;
    p->nfw = p->hw + 1;
    p->nfreq = z.nfreq;
    p->nc = 2 * p->cout_g;
    p->kb = z.kb;
    p->crow = z.crow;
    p->s_floats = z.s_floats;
    p->tiles_y = c4j_ceil_div(d->out_h, p->mh);
    p->tiles_x = c4j_ceil_div(d->out_w, p->mw);
    p->total = d->batch * p->tiles_y * p->tiles_x;
    int64_t tb = z.tb;
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
/* ------------------------------------------------------------------ vector kernels, one per width */

typedef struct {
    const c4j_conv2d_desc *d;
    const fft_plan *p;
    float *sp;                   /* tile buffer: [fh][nfw] complex vectors */
    int64_t rev[FFT_MAX / 2];    /* bit reversal of hw: where the row transform leaves k */
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
    if (!make_plan(d, &p)) return;
#ifdef C4J_HAVE_X86_FFT
#endif
#ifdef C4J_HAVE_X86_FFT
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

/*
 * Estimated single-thread seconds: the tiles' transforms (the constants of fft_cost), one sgemm
 * per frequency and block (from the measured sgemm table), and the prepared matrices streamed
 * once per block when they do not stay in cache.
 */
double c4j_fft_estimate(const c4j_conv2d_desc *d) {
    fft_plan p;
    if (!make_plan(d, &p)) return -1;
    double per_point = 0.6 * (double)c4j_ceil_div(p.cin_g, FFT_VMAX) + 0.45 * (double)c4j_ceil_div(p.cout_g, FFT_VMAX);
    if (p.fh == FFT_MIN || p.fw == FFT_MIN) per_point *= 1.5;
    if (p.fh * p.fw >= 64 * 64) per_point *= 1.4;
    const double transform_ns = (double)(p.fh * p.fw) * log2((double)(p.fh * p.fw)) * per_point;
    const int64_t m = p.stacked ? 2 * p.tb : p.tb, n = p.stacked ? 2 * p.cout_g : p.nc;
    const double products = (double)p.nfreq * c4j_cost_sgemm(m, p.kb, n);
    const double b_bytes = 4.0 * (double)p.nfreq * (double)p.kb * (double)n;
    const double b_ns_per_byte = b_bytes <= 1024.0 * 1024 ? 0.0 : b_bytes <= 16.0 * 1024 * 1024 ? 1.0 / 60 : 1.0 / 20;
    const double per_block = products + b_bytes * b_ns_per_byte * 1e-9;
    return (double)d->groups * ((double)p.total * transform_ns * 1e-9 + (double)p.blocks * per_block);
}

/* Preparing: a direct double-precision DFT of every (input, output) channel pair's kernel. */
double c4j_fft_prepare_estimate(const c4j_conv2d_desc *d) {
    fft_plan p;
    if (!make_plan(d, &p)) return -1;
    const double macs = (double)(d->kernel_h * d->kernel_w * p.nfw + p.fh * p.nfw * d->kernel_h);
    return (double)d->groups * (double)p.cin_g * (double)p.cout_g * macs * 1.5e-9;
}
