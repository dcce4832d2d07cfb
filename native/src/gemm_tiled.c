/*
 * General convolution as tiles of the patch matrix: for a block of output pixels the patch rows
 * (im2col restricted to the block, padding as zeros, dilation, groups and the flipped kernel all
 * handled while gathering) are written to a workspace sized for L2 and contracted with the filter
 * while hot, by one sgemm or, for narrow outputs, by one per small row piece (c4j_sgemm_piece_rows).
 * The workspace is one tile, whatever the batch size.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/*
 * Tile size. sgemm blocks K itself, so a tile need not fit L2 whole; what matters is that M (rows)
 * is large enough for an efficient sgemm (>= 128 when possible) while the tile stays cache-sized
 * for small K. The workspace bound caps very large K.
 */
#define TILE_TARGET_FLOATS (256 * 1024)
#define TILE_MIN_ROWS 128
#define TILE_MAX_ROWS 1024
#define TILE_MAX_FLOATS (4 * 1024 * 1024) /* 16 MiB */
/*
 * Units are fixed by the descriptor (never by the thread count: sgemm's rounding depends on the
 * block shape). Large layers get at least TILE_TARGET_UNITS row tiles of >= TILE_MIN_ROWS rows so
 * a few threads balance; with fewer than TILE_SPLIT_UNITS units the output channels are split
 * too. Smaller tiles cost single-thread speed, hence the modest targets.
 */
#define TILE_TARGET_UNITS 8
#define TILE_SPLIT_UNITS 4
#define TILE_MIN_COLS 64

/*
 * Tiles of one group hold near-equal row counts in whole 16-row blocks (the sgemm kernel's row
 * block): `base` rows each, 16 more for the first `big`, and the last one also the rows % 16
 * left over. Rounding every tile up to 16 instead left the last tile the remainder, and with
 * 6 tiles of 784 rows (144 x 5 + 64) two threads claiming them could split the rows at best
 * 432 / 352 (1.81x); 144 + 128 x 5 splits them 400 / 384.
 */
typedef struct {
    int64_t rows, k, cout_g;
    int64_t tile_rows, m_tiles;   /* the largest tile's output pixels, tiles per group */
    int64_t base, big;            /* rows of a tile: see above */
    int64_t n_chunk, n_chunks;    /* output channels per unit, chunks per tile */
} tiling;

static int64_t tile_begin(const tiling *t, int64_t mt) { return mt * t->base + 16 * C4J_MIN(mt, t->big); }
static int64_t tile_size(const tiling *t, int64_t mt) {
    return mt + 1 == t->m_tiles ? t->rows - tile_begin(t, mt) : t->base + (mt < t->big ? 16 : 0);
}

static tiling make_tiling(const c4j_conv2d_desc *d) {
    tiling t;
    t.rows = d->batch * d->out_h * d->out_w;
    t.k = d->kernel_h * d->kernel_w * c4j_cin_g(d);
    t.cout_g = c4j_cout_g(d);
    t.n_chunk = t.cout_g;
    t.n_chunks = 1;
    if (t.rows == 0) { /* empty batch: no tiles, no workspace (and no division by a zero tile size) */
        t.tile_rows = t.m_tiles = t.base = t.big = 0;
        return t;
    }
    int64_t target = C4J_MAX(TILE_MIN_ROWS, C4J_MIN(TILE_MAX_ROWS, TILE_TARGET_FLOATS / t.k));
    target = C4J_MAX(16, C4J_MIN(target, TILE_MAX_FLOATS / t.k));
    t.m_tiles = c4j_ceil_div(t.rows, target);
    if (d->groups * t.m_tiles < TILE_TARGET_UNITS)
        t.m_tiles = C4J_MAX(t.m_tiles, C4J_MIN(c4j_ceil_div(TILE_TARGET_UNITS, d->groups), t.rows / TILE_MIN_ROWS));
    /* near-equal tiles of whole 16-row blocks; with fewer rows than 16 per tile, fewer tiles */
    t.m_tiles = C4J_MAX(1, C4J_MIN(t.m_tiles, c4j_ceil_div(t.rows, 16)));
    t.base = t.rows / t.m_tiles / 16 * 16;
    t.big = (t.rows - t.base * t.m_tiles) / 16;
    t.tile_rows = C4J_MAX(tile_size(&t, 0), tile_size(&t, t.m_tiles - 1));
    t.n_chunk = t.cout_g;
    int64_t units = d->groups * t.m_tiles;
    if (units < TILE_SPLIT_UNITS && t.cout_g >= 2 * TILE_MIN_COLS) {
        int64_t want = c4j_ceil_div(TILE_SPLIT_UNITS, units);
        int64_t chunk = c4j_ceil_div(c4j_ceil_div(t.cout_g, want), 16) * 16;
        t.n_chunk = C4J_MAX(TILE_MIN_COLS, chunk);
    }
    t.n_chunks = c4j_ceil_div(t.cout_g, t.n_chunk);
    return t;
}

int64_t c4j_gemm_tiled_units(const c4j_conv2d_desc *d) {
    tiling t = make_tiling(d);
    return d->groups * t.m_tiles * t.n_chunks;
}

int64_t c4j_gemm_tiled_workspace(const c4j_conv2d_desc *d) {
    tiling t = make_tiling(d);
    return t.tile_rows * t.k * (int64_t)sizeof(float);
}

/*
 * Copies of short runs (a few channels, or a kernel row of them) dominate the gather for small
 * Cin. The gather is compiled twice: a portable version, and one for AVX-512 CPUs whose copies
 * are single masked 16-float moves; c4j_cpu_has_avx512() picks one per call. Both write exactly
 * the same values.
 */
typedef void (*copy_fn)(float *restrict dst, const float *restrict src, int64_t n);
typedef void (*zero_fn)(float *restrict dst, int64_t n);

static inline __attribute__((always_inline)) void copy_portable(float *restrict dst, const float *restrict src,
                                                                 int64_t n) {
    if (n >= 32) {
        memcpy(dst, src, (size_t)n * sizeof(float));
    } else {
        for (int64_t i = 0; i < n; i++) dst[i] = src[i];
    }
}

static inline __attribute__((always_inline)) void zero_portable(float *restrict dst, int64_t n) {
    memset(dst, 0, (size_t)n * sizeof(float));
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define C4J_HAVE_AVX512_GATHER 1

__attribute__((target("avx512f"))) static inline __attribute__((always_inline)) void
copy_avx512(float *restrict dst, const float *restrict src, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_loadu_ps(src + i));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);
        _mm512_mask_storeu_ps(dst + i, m, _mm512_maskz_loadu_ps(m, src + i));
    }
}

__attribute__((target("avx512f"))) static inline __attribute__((always_inline)) void zero_avx512(float *restrict dst,
                                                                                                 int64_t n) {
    const __m512 z = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, z);
    if (i < n) _mm512_mask_storeu_ps(dst + i, (__mmask16)((1u << (n - i)) - 1u), z);
}
#endif

/*
 * The common NHWC case (no flip, one group, dilation_w 1, channels contiguous and pixels packed):
 * for a fixed kernel row, the KW taps of a patch are one contiguous input run of KW*C floats. Along
 * an output row the runs advance by stride_w*C, so the interior of the row is a tight loop of
 * fixed-length copies; only the few pixels whose window crosses the left/right border are clipped.
 */
/* One patch's kernel row at an image border: the taps outside the image are zeros. */
static inline __attribute__((always_inline)) void copy_clipped(const c4j_conv2d_desc *d, const float *src_row,
                                                               int64_t ow, float *o, copy_fn copy, zero_fn zero) {
    const int64_t C = d->in_c, KW = d->kernel_w;
    const int64_t iw0 = ow * d->stride_w - d->pad_left;
    int64_t lo = iw0 < 0 ? C4J_MIN(KW, -iw0) : 0;
    int64_t hi = C4J_MIN(KW, d->in_w - iw0);
    if (hi < lo) hi = lo;
    if (lo > 0) zero(o, lo * C);
    if (hi > lo) copy(o + lo * C, src_row + (iw0 + lo) * C, (hi - lo) * C);
    if (hi < KW) zero(o + hi * C, (KW - hi) * C);
}

static inline __attribute__((always_inline)) void gather_row_runs(const c4j_conv2d_desc *d, const float *img,
                                                                  int64_t oh, int64_t ow0, int64_t count,
                                                                  int64_t k, float *restrict dst0, copy_fn copy,
                                                                  zero_fn zero) {
    const int64_t C = d->in_c, KW = d->kernel_w, L = KW * C, sw = d->stride_w, pl = d->pad_left;
    const int64_t W = d->in_w;
    /* interior: iw0 = ow*sw - pl >= 0 and iw0 + KW <= W */
    const int64_t end = ow0 + count;
    int64_t in_lo = c4j_ceil_div(pl, sw), in_hi = W - KW + pl >= 0 ? (W - KW + pl) / sw + 1 : 0;
    in_lo = C4J_MIN(C4J_MAX(in_lo, ow0), end);
    in_hi = C4J_MAX(C4J_MIN(in_hi, end), in_lo);
    for (int64_t kh = 0; kh < d->kernel_h; kh++) {
        const int64_t ih = oh * d->stride_h - d->pad_top + kh * d->dilation_h;
        float *dst = dst0 + kh * L;
        if (ih < 0 || ih >= d->in_h) {
            for (int64_t j = 0; j < count; j++) zero(dst + j * k, L);
            continue;
        }
        const float *src_row = img + ih * d->in_stride[1];
        /* left border, interior, right border */
        for (int64_t ow = ow0; ow < in_lo; ow++) copy_clipped(d, src_row, ow, dst + (ow - ow0) * k, copy, zero);
        for (int64_t ow = in_lo; ow < in_hi; ow++) copy(dst + (ow - ow0) * k, src_row + (ow * sw - pl) * C, L);
        for (int64_t ow = in_hi; ow < end; ow++) copy_clipped(d, src_row, ow, dst + (ow - ow0) * k, copy, zero);
    }
}

/*
 * The 2-D im2col, shared by the forward tiles and the filter gradient (backward_filter_gemm.c):
 * writes the patch columns of filter taps [t0, t1) for patch rows [r0, r0 + m) of group g into
 * tile (row length ld). Filter tap t = (bh, bw) is column block t - t0; it reads input tap
 * (bh, bw), or (KH-1-bh, KW-1-bw) for the flipped kernel, matching filter row order.
 */
static inline __attribute__((always_inline)) void gather_impl(const c4j_conv2d_desc *d, const float *in, int64_t g,
                                                              int64_t r0, int64_t m, int64_t t0, int64_t t1,
                                                              int64_t ld, float *restrict tile, copy_fn copy,
                                                              zero_fn zero) {
    const int64_t cg = c4j_cin_g(d);
    const int64_t KH = d->kernel_h, KW = d->kernel_w;
    const int64_t sn = d->in_stride[0], sh = d->in_stride[1], sw = d->in_stride[2], sc = d->in_stride[3];
    const int64_t hw = d->out_h * d->out_w;
    /* a kernel row of taps is one contiguous input run */
    const int runs = !d->flip && d->dilation_w == 1 && sc == 1 && sw == cg;
    const int row_runs = runs && d->groups == 1 && t0 == 0 && t1 == KH * KW;
    int64_t r = r0;
    while (r < r0 + m) {
        /* one output row segment at a time: pixels (n, oh, ow0 .. ow0+count-1) */
        const int64_t n = r / hw, oh = (r % hw) / d->out_w, ow0 = r % d->out_w;
        const int64_t count = C4J_MIN(r0 + m - r, d->out_w - ow0);
        const float *img = in + n * sn + g * cg * sc;
        float *seg = tile + (r - r0) * ld;
        r += count;
        if (row_runs) {
            gather_row_runs(d, img, oh, ow0, count, ld, seg, copy, zero);
            continue;
        }
        for (int64_t j = 0; j < count; j++) {
            float *row = seg + j * ld;
            const int64_t ih0 = oh * d->stride_h - d->pad_top;
            const int64_t iw0 = (ow0 + j) * d->stride_w - d->pad_left;
            for (int64_t bh = t0 / KW; bh * KW < t1; bh++) {
                const int64_t b0 = C4J_MAX(0, t0 - bh * KW), b1 = C4J_MIN(KW, t1 - bh * KW);
                float *dst_row = row + (bh * KW + b0 - t0) * cg;
                const int64_t ih = ih0 + (d->flip ? KH - 1 - bh : bh) * d->dilation_h;
                if (ih < 0 || ih >= d->in_h) {
                    zero(dst_row, (b1 - b0) * cg);
                    continue;
                }
                const float *src_row = img + ih * sh;
                if (runs) {
                    /* taps kw = bw in [lo, hi) are inside the image: one copy, zeros around it */
                    const int64_t lo = C4J_MIN(b1, C4J_MAX(b0, -iw0));
                    const int64_t hi = C4J_MAX(lo, C4J_MIN(b1, d->in_w - iw0));
                    if (lo > b0) zero(dst_row, (lo - b0) * cg);
                    if (hi > lo) copy(dst_row + (lo - b0) * cg, src_row + (iw0 + lo) * sw, (hi - lo) * cg);
                    if (hi < b1) zero(dst_row + (hi - b0) * cg, (b1 - hi) * cg);
                    continue;
                }
                for (int64_t bw = b0; bw < b1; bw++) {
                    const int64_t iw = iw0 + (d->flip ? KW - 1 - bw : bw) * d->dilation_w;
                    float *dst = dst_row + (bw - b0) * cg;
                    if (iw < 0 || iw >= d->in_w) {
                        zero(dst, cg);
                    } else if (sc == 1) {
                        copy(dst, src_row + iw * sw, cg);
                    } else {
                        const float *src = src_row + iw * sw;
                        for (int64_t c = 0; c < cg; c++) dst[c] = src[c * sc];
                    }
                }
            }
        }
    }
}

static void gather_tile_portable(const c4j_conv2d_desc *d, const float *in, int64_t g, int64_t r0, int64_t m,
                                 int64_t t0, int64_t t1, int64_t ld, float *restrict tile) {
    gather_impl(d, in, g, r0, m, t0, t1, ld, tile, copy_portable, zero_portable);
}

#ifdef C4J_HAVE_AVX512_GATHER
__attribute__((target("avx512f"))) static void gather_tile_avx512(const c4j_conv2d_desc *d, const float *in, int64_t g,
                                                                  int64_t r0, int64_t m, int64_t t0, int64_t t1,
                                                                  int64_t ld, float *restrict tile) {
    gather_impl(d, in, g, r0, m, t0, t1, ld, tile, copy_avx512, zero_avx512);
}
#endif

void c4j_im2col(const c4j_conv2d_desc *d, const float *in, int64_t g, int64_t r0, int64_t m, int64_t t0, int64_t t1,
                int64_t ld, float *restrict tile, int avx512) {
#ifdef C4J_HAVE_AVX512_GATHER
    if (avx512) {
        gather_tile_avx512(d, in, g, r0, m, t0, t1, ld, tile);
        return;
    }
#endif
    (void)avx512;
    gather_tile_portable(d, in, g, r0, m, t0, t1, ld, tile);
}

void c4j_gemm_tiled_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in,
                        const float *filter, const float *bias, float *out, float *tile, int64_t u0,
                        int64_t u1) {
    const tiling t = make_tiling(d);
    const int64_t hw = d->out_h * d->out_w;
    const int64_t ldc = d->out_stride[2];
    const int out_uniform = d->out_stride[1] == d->out_w * ldc && d->out_stride[0] == d->out_h * d->out_stride[1];
    int64_t built = -1; /* (group, tile) whose patches are in `tile` */
    const int avx512 = c4j_cpu_has_avx512();

    for (int64_t u = u0; u < u1; u++) {
        const int64_t gt = u / t.n_chunks, nc = u % t.n_chunks;
        const int64_t g = gt / t.m_tiles, mt = gt % t.m_tiles;
        const int64_t r0 = tile_begin(&t, mt);
        const int64_t m = tile_size(&t, mt);
        const int64_t c0 = g * t.cout_g + nc * t.n_chunk;
        const int64_t cols = C4J_MIN(t.n_chunk, t.cout_g - nc * t.n_chunk);
        if (built != gt) {
            c4j_im2col(d, in, g, r0, m, 0, d->kernel_h * d->kernel_w, t.k, tile, avx512);
            built = gt;
        }
        /* one sgemm per piece of the tile (c4j_sgemm_piece_rows: a fixed function of the tile's
           shape), cut further at output row ends when output rows are not evenly spaced */
        const int64_t piece = c4j_sgemm_piece_rows(blas, t.tile_rows, t.k, cols);
        int64_t r = r0;
        while (r < r0 + m) {
            const int64_t n = r / hw, oh = (r % hw) / d->out_w, ow = r % d->out_w;
            const int64_t piece_end = C4J_MIN(r0 + m, r0 + ((r - r0) / piece + 1) * piece);
            const int64_t seg_end = out_uniform ? piece_end : C4J_MIN(piece_end, r - ow + d->out_w);
            float *c = out + n * d->out_stride[0] + oh * d->out_stride[1] + ow * ldc + c0;
            blas->sgemm(C4J_ROW_MAJOR, C4J_NO_TRANS, C4J_NO_TRANS, (int)(seg_end - r), (int)cols, (int)t.k,
                        1.0f, tile + (r - r0) * t.k, (int)t.k, filter + c0, (int)d->out_c, 0.0f, c,
                        (int)ldc);
            c4j_epilogue_rows(d, bias, c, seg_end - r, ldc, c0, cols);
            r = seg_end;
        }
    }
}

/*
 * Estimated single-thread seconds: one sgemm per unit, plus the gather, which costs per float
 * copied and per contiguous run (a kernel row of taps in the common NHWC case, else one tap).
 */
double c4j_gemm_tiled_estimate(const c4j_conv2d_desc *d) {
    const tiling t = make_tiling(d);
    if (t.rows == 0) return 0;
    const int64_t cg = c4j_cin_g(d);
    const int row_runs = !d->flip && d->groups == 1 && d->dilation_w == 1 && d->in_stride[3] == 1 && d->in_stride[2] == cg;
    const double runs_per_row = (double)d->kernel_h * (row_runs ? 1.0 : (double)d->kernel_w);
    const double gather = (double)t.rows * ((double)t.k * 0.02e-9 + runs_per_row * 0.5e-9);
    double gemm = 0;
    for (int64_t nc = 0; nc < t.n_chunks; nc++) {
        const int64_t cols = C4J_MIN(t.n_chunk, t.cout_g - nc * t.n_chunk);
        const int64_t piece = c4j_sgemm_piece_rows(NULL, t.tile_rows, t.k, cols);
        const int64_t last = t.m_tiles - 1;
        gemm += (double)C4J_MIN(t.big, last) * c4j_cost_sgemm_pieces(t.base + 16, t.k, cols, piece) +
                (double)(last - C4J_MIN(t.big, last)) * c4j_cost_sgemm_pieces(t.base, t.k, cols, piece) +
                c4j_cost_sgemm_pieces(tile_size(&t, last), t.k, cols, piece);
    }
    return (double)d->groups * (gather + gemm);
}

/* ------------------------------------------------------------------ forward table row */

static int tiled_applies(const c4j_conv2d_desc *d) {
    (void)d;
    return 1; /* any convolution */
}

static double tiled_estimate(const c4j_conv2d_desc *d, int include_prepare) {
    (void)include_prepare;
    return c4j_small_groups_adjusted(d, c4j_gemm_tiled_estimate(d));
}

static void tiled_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *filter,
                      const float *prepared, const float *bias, float *out, void *workspace, int64_t u0, int64_t u1) {
    (void)prepared;
    c4j_gemm_tiled_run(blas, d, in, filter, bias, out, (float *)workspace, u0, u1);
}

const c4j_conv2d_algorithm c4j_conv2d_gemm_tiled = {
    "gemm_tiled", C4J_ALGO_GEMM_TILED, 1, tiled_applies, c4j_gemm_tiled_units, c4j_gemm_tiled_workspace, NULL, NULL,
    tiled_estimate, tiled_run};
