/*
 * Backward pass of the convolution: dL/d(input), dL/d(filter) and dL/d(bias) from dL/d(output).
 *
 * Input gradient (also the transposed convolution). Instead of computing patch gradients and
 * scatter-adding them (col2im), which makes neighbouring work units write the same input pixels,
 * every input-gradient pixel is *gathered*: it is a sum over the taps that reach it,
 *
 *   dX[n, ih, iw, g*cg + c] = sum over taps (kh, kw) and o < cout_g of
 *                             dY[n, oh, ow, g*cout_g + o] * W[fkh, fkw, c, g*cout_g + o]
 *   with oh = (ih + pad_top - kh*dilation_h) / stride_h when that divides exactly (same for w).
 *
 * Which taps divide exactly depends only on the input coordinate modulo the stride, its "phase":
 * tap kh reaches the rows ih = kh*dilation_h - pad_top (mod stride_h). Input pixels are grouped by
 * phase (ph, pw); within a phase every pixel has the same tap set, so a tile of pixels of one
 * phase is one im2col-style gather of dY rows (zeros where the output position is outside the
 * output) and one sgemm with that phase's rows of the filter. Each tap belongs to exactly one
 * phase, so the per-phase filter rows are a permutation of the filter: the "prepared" filter
 * (c4j_conv2d_backward_input_prepare) holds them, transposed to [tap, o] x [c] and with the
 * flipped kernel already applied. No multiply is wasted on the zeros a strided transposed
 * convolution would insert, and every pixel is written by exactly one unit.
 *
 * Filter gradient: dW_g[K, cout_g] = sum over output pixels of patch^T x dY, accumulated by sgemm
 * (beta = 1) over patch tiles in a fixed order. Units are blocks of dW (groups x chunks of filter
 * taps x chunks of output channels) small enough to stay in cache, times ranges of output pixels:
 * blocks alone are often too few for the threads (a 3x3x64x64 filter is one block), so the pixels
 * are split into a number of ranges fixed by the descriptor; range 0 sums into dW, range r > 0
 * into its own partial copy, and a reduction adds the copies in order r = 1, 2, ... So no two
 * units write the same element, sgemm gets large blocks (the patch tile is gathered once per
 * block, the dY rows packed once per block), and the order of every sum is fixed.
 *
 * Bias gradient: db[o] = sum of dY[., ., ., o], computed as ones[1, m] x dY rows by sgemm (blocks
 * of a fixed number of rows, so the order of the sum depends only on dY's layout) in the units
 * that own the first tap chunk, each pixel range into its part of the partial copy like dW.
 *
 * Other routes (see conv4j.h): for stride 1 the input gradient is also the forward convolution of
 * dY with the channel-transposed, rotated filter, run by a forward algorithm (Winograd, FFT, ...)
 * through conv2d.c's entry points, with the transposed filter and its forward-prepared form in the
 * `prepared` buffer; the filter gradient of 3x3 stride-1 layers runs as Winograd F(3x3, m x m)
 * in backward_winograd.c, with the same pixel-range partial sums and reduction as here. The cost
 * model (estimates of every route, per call, filter preparation included) picks one for AUTO.
 *
 * Every unit sums in a fixed order that depends only on the descriptor, so results are
 * bit-identical for any thread count. Workspaces are one tile, independent of the batch size;
 * the partial copies of dW are at most BW_MIN_UNITS of them and BW_MAX_PARTIAL_FLOATS in all.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* Same L2-sized tiles as the forward pass (gemm_tiled.c). */
#define BW_TILE_TARGET_FLOATS (96 * 1024)
#define BW_TILE_MIN_ROWS 32
#define BW_TILE_MAX_ROWS 1024
/* Bias gradient: rows summed per sgemm, fixed so that the sum's order depends only on dY's layout
   (the bias gradient alone and with the filter gradient agree bit for bit) */
#define BW_BIAS_ROWS C4J_BIAS_ROWS
/* Filter gradient: the dW block of one unit (taps x output channels) stays within this many
   floats, so its sgemm accumulation runs in cache; not fewer channels than BW_MIN_COLS */
#define BW_C_BLOCK_FLOATS (64 * 1024)
#define BW_MIN_COLS 64
/* fewer units than this and the output pixels are split into ranges of at least BW_MIN_SPLIT_ROWS,
   each with its own partial dW (at most BW_MAX_PARTIAL_FLOATS floats of them in all) */
#define BW_MIN_UNITS 16
#define BW_MIN_SPLIT_ROWS 256
#define BW_MAX_PARTIAL_FLOATS (16 * 1024 * 1024)
/* elements per unit of the reduction of the partials */
#define BW_REDUCE_FLOATS (16 * 1024)

static inline int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}
static inline int64_t pmod(int64_t a, int64_t b) {
    int64_t r = a % b;
    return r < 0 ? r + b : r;
}
static int64_t gcd64(int64_t a, int64_t b) {
    while (b != 0) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}
static inline int64_t align_bytes(int64_t bytes) { return (bytes + 63) / 64 * 64; }

static inline void copy_floats(float *restrict dst, const float *restrict src, int64_t n) {
    if (n >= 32) {
        memcpy(dst, src, (size_t)n * sizeof(float));
    } else {
        for (int64_t i = 0; i < n; i++) dst[i] = src[i];
    }
}

/* dst[j * ldd + i] = src[i * lds + j] for i < rows, j < cols, in 16 x 16 blocks: both sides are
   read or written in runs of 16 floats, where an element-wise transpose of a filter with hundreds of
   channels misses the cache (and the TLB) on every write. */
void c4j_transpose(const float *restrict src, int64_t lds, int64_t rows, int64_t cols, float *restrict dst,
                   int64_t ldd) {
    enum { B = 16 };
    for (int64_t i0 = 0; i0 < rows; i0 += B) {
        const int64_t ni = C4J_MIN(B, rows - i0);
        for (int64_t j0 = 0; j0 < cols; j0 += B) {
            const int64_t nj = C4J_MIN(B, cols - j0);
            if (ni == B && nj == B) {
                float t[B][B];
                for (int i = 0; i < B; i++)
                    for (int j = 0; j < B; j++) t[j][i] = src[(i0 + i) * lds + j0 + j];
                for (int j = 0; j < B; j++)
                    for (int i = 0; i < B; i++) dst[(j0 + j) * ldd + i0 + i] = t[j][i];
            } else {
                for (int64_t j = 0; j < nj; j++)
                    for (int64_t i = 0; i < ni; i++) dst[(j0 + j) * ldd + i0 + i] = src[(i0 + i) * lds + j0 + j];
            }
        }
    }
}

/* ================================================================== input gradient */

/* One spatial axis of the input-gradient problem. */
typedef struct {
    int64_t in, out, k, stride, dil, pad;
} axis;

static axis axis_h(const c4j_conv2d_desc *d) {
    axis a = {d->in_h, d->out_h, d->kernel_h, d->stride_h, d->dilation_h, d->pad_top};
    return a;
}
static axis axis_w(const c4j_conv2d_desc *d) {
    axis a = {d->in_w, d->out_w, d->kernel_w, d->stride_w, d->dilation_w, d->pad_left};
    return a;
}

/* The phase (input coordinate modulo the stride) that tap k reaches. */
static inline int64_t tap_phase(const axis *a, int64_t k) { return pmod(k * a->dil - a->pad, a->stride); }
/* For tap k: output index = phase-local input index + tap_base (i.e. in = phase + i*stride). */
static inline int64_t tap_base(const axis *a, int64_t k) { return -floor_div(k * a->dil - a->pad, a->stride); }
/* Phases that have pixels, and the pixels of phase p. */
static inline int64_t n_phases(const axis *a) { return C4J_MIN(a->stride, a->in); }
static inline int64_t phase_len(const axis *a, int64_t p) { return (a->in - p + a->stride - 1) / a->stride; }

/* Most taps any phase has: taps k*dil mod stride repeat with period stride/gcd(dil, stride). */
static int64_t max_phase_taps(const axis *a) {
    int64_t period = a->stride / gcd64(a->dil, a->stride);
    return C4J_MIN(a->k, c4j_ceil_div(a->k, period));
}

/* taps of phase p: count, how many taps have a smaller phase, and the taps in descending order
   with their bases (ascending) written to base[] when base != NULL */
static int64_t phase_taps(const axis *a, int64_t p, int64_t *before, int64_t *base) {
    int64_t n = 0, b = 0;
    for (int64_t k = a->k - 1; k >= 0; k--) {
        int64_t ph = tap_phase(a, k);
        if (ph == p) {
            if (base != NULL) base[n] = tap_base(a, k);
            n++;
        } else if (ph < p) {
            b++;
        }
    }
    if (before != NULL) *before = b;
    return n;
}

typedef struct {
    int64_t cg, cout_g;
    int64_t kp_max;     /* longest gathered row: most taps of a phase times cout_g */
    int64_t tile_rows;  /* input pixels per tile */
} bx_tiling;

static bx_tiling make_bx_tiling(const c4j_conv2d_desc *d) {
    bx_tiling t;
    axis ah = axis_h(d), aw = axis_w(d);
    t.cg = c4j_cin_g(d);
    t.cout_g = c4j_cout_g(d);
    t.kp_max = C4J_MAX(1, max_phase_taps(&ah) * max_phase_taps(&aw) * t.cout_g);
    t.tile_rows = C4J_MAX(BW_TILE_MIN_ROWS, C4J_MIN(BW_TILE_MAX_ROWS, BW_TILE_TARGET_FLOATS / t.kp_max));
    return t;
}

static int64_t bx_phase_tiles(const c4j_conv2d_desc *d, const bx_tiling *t, const axis *ah, const axis *aw,
                              int64_t ph, int64_t pw) {
    return c4j_ceil_div(d->batch * phase_len(ah, ph) * phase_len(aw, pw), t->tile_rows);
}

static int64_t bx_units_per_group(const c4j_conv2d_desc *d, const bx_tiling *t) {
    axis ah = axis_h(d), aw = axis_w(d);
    int64_t units = 0;
    for (int64_t ph = 0; ph < n_phases(&ah); ph++)
        for (int64_t pw = 0; pw < n_phases(&aw); pw++) units += bx_phase_tiles(d, t, &ah, &aw, ph, pw);
    return units;
}

/* Sizes the core's ints must hold, beyond what c4j_conv2d_check guarantees. */
static c4j_status bx_supported(const c4j_conv2d_desc *d, char *err, size_t err_len) {
    int64_t k;
    if (__builtin_mul_overflow(d->kernel_h * d->kernel_w, c4j_cout_g(d), &k) || k > INT_MAX)
        return c4j_fail(C4J_ERR_UNSUPPORTED, err, err_len, "kernel_h*kernel_w*out_c/groups too large");
    return C4J_OK;
}

static int64_t bx_units(const c4j_conv2d_desc *d) {
    if (d->batch == 0 || bx_supported(d, NULL, 0) != C4J_OK) return 0;
    bx_tiling t = make_bx_tiling(d);
    return d->groups * bx_units_per_group(d, &t);
}

/* workspace layout: gathered tile | output tile (strided input views) | tap bases (h then w) */
static int64_t bx_tile_bytes(const bx_tiling *t) { return align_bytes(t->tile_rows * t->kp_max * 4); }
static int64_t bx_out_bytes(const bx_tiling *t) { return align_bytes(t->tile_rows * t->cg * 4); }

static int64_t bx_workspace_bytes(const c4j_conv2d_desc *d) {
    if (bx_supported(d, NULL, 0) != C4J_OK) return -1;
    bx_tiling t = make_bx_tiling(d);
    return bx_tile_bytes(&t) + bx_out_bytes(&t) + align_bytes((d->kernel_h + d->kernel_w) * 8);
}

static c4j_status bx_prepare(const c4j_conv2d_desc *d, const float *filter, float *prepared, char *err,
                             size_t err_len) {
    c4j_status st = bx_supported(d, err, err_len);
    if (st != C4J_OK) return st;
    const axis ah = axis_h(d), aw = axis_w(d);
    const int64_t KH = d->kernel_h, KW = d->kernel_w, cg = c4j_cin_g(d), og = c4j_cout_g(d);
    const int64_t blk = og * cg; /* one (tap, o) x c block */
    for (int64_t kh = 0; kh < KH; kh++) {
        const int64_t ph = tap_phase(&ah, kh);
        int64_t before_h, idx_h = 0;
        const int64_t nh = phase_taps(&ah, ph, &before_h, NULL);
        for (int64_t k = kh + 1; k < KH; k++) idx_h += tap_phase(&ah, k) == ph; /* position, descending */
        const int64_t fkh = d->flip ? KH - 1 - kh : kh;
        for (int64_t kw = 0; kw < KW; kw++) {
            const int64_t pw = tap_phase(&aw, kw);
            int64_t before_w, idx_w = 0;
            const int64_t nw = phase_taps(&aw, pw, &before_w, NULL);
            for (int64_t k = kw + 1; k < KW; k++) idx_w += tap_phase(&aw, k) == pw;
            const int64_t fkw = d->flip ? KW - 1 - kw : kw;
            /* phase (ph, pw) starts after all taps of smaller ph, then those of smaller pw in ph */
            const int64_t row = before_h * KW + nh * before_w + idx_h * nw + idx_w;
            const float *src = filter + (fkh * KW + fkw) * cg * d->out_c;
            for (int64_t g = 0; g < d->groups; g++)
                c4j_transpose(src + g * og, d->out_c, cg, og, prepared + g * KH * KW * blk + row * blk, cg);
        }
    }
    return C4J_OK;
}

/* The current phase of a unit walk. */
typedef struct {
    int64_t g, ph, pw, tile, tiles;
    int64_t nh, nw, len_h, len_w;
    const int64_t *base_h, *base_w;
    const float *wt; /* this group's and phase's prepared filter rows */
} bx_pos;

static void bx_enter_phase(const c4j_conv2d_desc *d, const bx_tiling *t, const axis *ah, const axis *aw,
                           const float *prepared, int64_t *bases, bx_pos *p) {
    int64_t before_h, before_w;
    p->nh = phase_taps(ah, p->ph, &before_h, bases);
    p->nw = phase_taps(aw, p->pw, &before_w, bases + d->kernel_h);
    p->base_h = bases;
    p->base_w = bases + d->kernel_h;
    p->len_h = phase_len(ah, p->ph);
    p->len_w = phase_len(aw, p->pw);
    p->tiles = bx_phase_tiles(d, t, ah, aw, p->ph, p->pw);
    const int64_t blk = t->cout_g * t->cg;
    p->wt = prepared + p->g * d->kernel_h * d->kernel_w * blk + (before_h * d->kernel_w + p->nh * before_w) * blk;
}

/* Gathers the dY rows of input pixels [r0, r0 + m) of the current phase into tile (row length kp). */
static void bx_gather(const c4j_conv2d_desc *d, const bx_tiling *t, const bx_pos *p, const float *dy, int64_t r0,
                      int64_t m, int64_t kp, float *restrict tile) {
    const int64_t og = t->cout_g, nw = p->nw;
    const int64_t s0 = d->out_stride[0], s1 = d->out_stride[1], s2 = d->out_stride[2];
    const int64_t plane = p->len_h * p->len_w;
    /* stride 1, dilation 1 along w, dense pixels: a row of taps is one contiguous run of dY */
    const int runs = d->stride_w == 1 && d->dilation_w == 1 && s2 == og && nw == d->kernel_w;
    int64_t n = r0 / plane, i = (r0 % plane) / p->len_w, j = r0 % p->len_w;
    for (int64_t r = 0; r < m; r++) {
        float *row = tile + r * kp;
        const float *img = dy + n * s0 + p->g * og;
        for (int64_t a = 0; a < p->nh; a++) {
            float *dst_row = row + a * nw * og;
            const int64_t oh = i + p->base_h[a];
            if (oh < 0 || oh >= d->out_h) {
                memset(dst_row, 0, (size_t)(nw * og) * sizeof(float));
                continue;
            }
            const float *src_row = img + oh * s1;
            if (runs) {
                /* taps b in [lo, hi) land inside the output row: ow = j + base_w[0] + b */
                const int64_t ow0 = j + p->base_w[0];
                int64_t lo = ow0 < 0 ? C4J_MIN(nw, -ow0) : 0;
                int64_t hi = C4J_MIN(nw, d->out_w - ow0);
                if (hi < lo) hi = lo;
                if (lo > 0) memset(dst_row, 0, (size_t)(lo * og) * sizeof(float));
                if (hi > lo) copy_floats(dst_row + lo * og, src_row + (ow0 + lo) * s2, (hi - lo) * og);
                if (hi < nw) memset(dst_row + hi * og, 0, (size_t)((nw - hi) * og) * sizeof(float));
                continue;
            }
            for (int64_t b = 0; b < nw; b++) {
                const int64_t ow = j + p->base_w[b];
                float *dst = dst_row + b * og;
                if (ow < 0 || ow >= d->out_w) memset(dst, 0, (size_t)og * sizeof(float));
                else copy_floats(dst, src_row + ow * s2, og);
            }
        }
        if (++j == p->len_w) {
            j = 0;
            if (++i == p->len_h) {
                i = 0;
                n++;
            }
        }
    }
}

/* Address of input-gradient pixel r of the current phase (channel g*cg). */
static inline int64_t bx_pixel(const c4j_conv2d_desc *d, const bx_tiling *t, const bx_pos *p, int64_t r) {
    const int64_t plane = p->len_h * p->len_w;
    const int64_t n = r / plane, i = (r % plane) / p->len_w, j = r % p->len_w;
    return n * d->in_stride[0] + (p->ph + i * d->stride_h) * d->in_stride[1] +
           (p->pw + j * d->stride_w) * d->in_stride[2] + p->g * t->cg * d->in_stride[3];
}

/* Writes `m` rows of `cols` values (row stride ld) to input-gradient pixels [r0, r0 + m). */
static void bx_store(const c4j_conv2d_desc *d, const bx_tiling *t, const bx_pos *p, const float *src, int64_t ld,
                     int64_t r0, int64_t m, float *dx) {
    const int64_t sc = d->in_stride[3];
    for (int64_t r = 0; r < m; r++) {
        float *dst = dx + bx_pixel(d, t, p, r0 + r);
        const float *s = src == NULL ? NULL : src + r * ld;
        if (s == NULL) {
            if (sc == 1) memset(dst, 0, (size_t)t->cg * sizeof(float));
            else for (int64_t c = 0; c < t->cg; c++) dst[c * sc] = 0.0f;
        } else {
            for (int64_t c = 0; c < t->cg; c++) dst[c * sc] = s[c];
        }
    }
}

static void bx_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *dy, const float *prepared,
                   float *dx, void *workspace, int64_t u0, int64_t u1) {
    const bx_tiling t = make_bx_tiling(d);
    const axis ah = axis_h(d), aw = axis_w(d);
    const int64_t per_group = bx_units_per_group(d, &t);
    float *tile = (float *)workspace;
    float *otile = (float *)((char *)workspace + bx_tile_bytes(&t));
    int64_t *bases = (int64_t *)((char *)workspace + bx_tile_bytes(&t) + bx_out_bytes(&t));
    const int64_t sn = d->in_stride[0], sh = d->in_stride[1], sw = d->in_stride[2];
    /* sgemm can write straight into dX when channels are contiguous and pixels evenly spaced */
    const int64_t ldc = d->stride_w * sw;
    const int direct = (d->in_stride[3] == 1 || t.cg == 1) && ldc >= t.cg && ldc <= INT_MAX;

    /* find the phase and tile of unit u0 */
    bx_pos p;
    p.g = u0 / per_group;
    int64_t rem = u0 % per_group;
    p.ph = 0;
    p.pw = 0;
    for (;;) {
        int64_t tiles = bx_phase_tiles(d, &t, &ah, &aw, p.ph, p.pw);
        if (rem < tiles) break;
        rem -= tiles;
        if (++p.pw == n_phases(&aw)) {
            p.pw = 0;
            p.ph++;
        }
    }
    bx_enter_phase(d, &t, &ah, &aw, prepared, bases, &p);
    p.tile = rem;

    for (int64_t u = u0; u < u1; u++) {
        const int64_t rows = d->batch * p.len_h * p.len_w;
        const int64_t r0 = p.tile * t.tile_rows;
        const int64_t m = C4J_MIN(t.tile_rows, rows - r0);
        const int64_t kp = p.nh * p.nw * t.cout_g;
        if (kp == 0) {
            bx_store(d, &t, &p, NULL, 0, r0, m, dx); /* no tap reaches these pixels (stride > kernel) */
        } else {
            /* one tap at offset 0 and the phase as large as the output (a 1x1 kernel, no padding):
               the gathered rows would be dY's own rows, read in place when evenly spaced */
            const int64_t s2 = d->out_stride[2];
            const int in_place = p.nh == 1 && p.nw == 1 && p.base_h[0] == 0 && p.base_w[0] == 0 &&
                                 p.len_h == d->out_h && p.len_w == d->out_w && d->out_stride[1] == d->out_w * s2 &&
                                 d->out_stride[0] == d->out_h * d->out_stride[1] && s2 <= INT_MAX;
            const float *a = in_place ? dy + r0 * s2 + p.g * t.cout_g : tile;
            const int64_t lda = in_place ? s2 : kp;
            if (!in_place) bx_gather(d, &t, &p, dy, r0, m, kp, tile);
            const int uniform_h = d->stride_h * sh == p.len_w * ldc;
            const int uniform_n = uniform_h && sn == p.len_h * d->stride_h * sh;
            const int64_t plane = p.len_h * p.len_w;
            /* straight into dX when that takes few sgemm calls: each call packs the filter rows again,
               so short runs of evenly spaced pixels (a strided phase's image rows) go through otile */
            if (direct && (uniform_n || m <= (uniform_h ? plane : p.len_w) || (uniform_h ? plane : p.len_w) >= 256)) {
                int64_t r = r0;
                while (r < r0 + m) {
                    int64_t end;
                    if (uniform_n) end = r0 + m;
                    else if (uniform_h) end = C4J_MIN(r0 + m, (r / plane + 1) * plane);
                    else end = C4J_MIN(r0 + m, r - r % p.len_w + p.len_w);
                    blas->sgemm(C4J_ROW_MAJOR, C4J_NO_TRANS, C4J_NO_TRANS, (int)(end - r), (int)t.cg, (int)kp, 1.0f,
                                a + (r - r0) * lda, (int)lda, p.wt, (int)t.cg, 0.0f, dx + bx_pixel(d, &t, &p, r),
                                (int)ldc);
                    r = end;
                }
            } else {
                blas->sgemm(C4J_ROW_MAJOR, C4J_NO_TRANS, C4J_NO_TRANS, (int)m, (int)t.cg, (int)kp, 1.0f, a, (int)lda,
                            p.wt, (int)t.cg, 0.0f, otile, (int)t.cg);
                bx_store(d, &t, &p, otile, t.cg, r0, m, dx);
            }
        }
        /* next unit: next tile, else next phase, else next group */
        if (u + 1 < u1 && ++p.tile == p.tiles) {
            p.tile = 0;
            if (++p.pw == n_phases(&aw)) {
                p.pw = 0;
                if (++p.ph == n_phases(&ah)) {
                    p.ph = 0;
                    p.g++;
                }
            }
            bx_enter_phase(d, &t, &ah, &aw, prepared, bases, &p);
        }
    }
}

/* ================================================================== filter and bias gradients */

typedef struct {
    int64_t rows, cg, cout_g, taps;
    int64_t taps_per_chunk, t_chunks; /* filter taps (kh, kw) per unit */
    int64_t n_chunk, n_chunks;        /* output channels per unit */
    int64_t r_chunks;                 /* output-pixel ranges summed separately, then reduced */
    int64_t kc_max;                   /* patch columns per unit: taps_per_chunk * cg */
    int64_t tile_rows;
    int64_t filter_floats;            /* |dW| */
} bw_tiling;

static bw_tiling make_bw_tiling(const c4j_conv2d_desc *d) {
    bw_tiling t;
    t.rows = d->batch * d->out_h * d->out_w;
    t.cg = c4j_cin_g(d);
    t.cout_g = c4j_cout_g(d);
    t.taps = d->kernel_h * d->kernel_w;
    t.filter_floats = t.taps * t.cg * d->out_c;
    /* the dW block a unit accumulates stays in cache: as many taps as fit, then fewer channels */
    t.taps_per_chunk = C4J_MAX(1, C4J_MIN(t.taps, BW_C_BLOCK_FLOATS / C4J_MAX(1, t.cg * t.cout_g)));
    t.t_chunks = c4j_ceil_div(t.taps, t.taps_per_chunk);
    t.taps_per_chunk = c4j_ceil_div(t.taps, t.t_chunks); /* even chunks */
    t.n_chunk = t.cout_g;
    if (t.taps_per_chunk * t.cg * t.cout_g > BW_C_BLOCK_FLOATS) {
        int64_t cols = c4j_ceil_div(BW_C_BLOCK_FLOATS / (t.taps_per_chunk * t.cg), 16) * 16;
        t.n_chunk = C4J_MIN(t.cout_g, C4J_MAX(BW_MIN_COLS, cols));
    }
    t.n_chunks = c4j_ceil_div(t.cout_g, t.n_chunk);
    /* too few units for the threads: split the output pixels too, each range summing into its own
       copy of dW (the first into dW itself), added up afterwards in a fixed order */
    const int64_t base = d->groups * t.t_chunks * t.n_chunks;
    int64_t r = C4J_MIN(c4j_ceil_div(BW_MIN_UNITS, base), t.rows / BW_MIN_SPLIT_ROWS);
    r = C4J_MIN(r, 1 + BW_MAX_PARTIAL_FLOATS / (t.filter_floats + d->out_c));
    t.r_chunks = C4J_MAX(1, r);
    t.kc_max = t.taps_per_chunk * t.cg;
    t.tile_rows = C4J_MAX(BW_TILE_MIN_ROWS, C4J_MIN(BW_TILE_MAX_ROWS, BW_TILE_TARGET_FLOATS / t.kc_max));
    return t;
}

static int64_t bw_units(const c4j_conv2d_desc *d) {
    bw_tiling t = make_bw_tiling(d);
    return d->groups * t.t_chunks * t.n_chunks * t.r_chunks;
}

static int64_t bw_partial_floats(const c4j_conv2d_desc *d) {
    bw_tiling t = make_bw_tiling(d);
    return (t.r_chunks - 1) * (t.filter_floats + d->out_c);
}

static int64_t bw_tile_bytes(const bw_tiling *t) { return align_bytes(t->tile_rows * t->kc_max * 4); }

static int64_t bw_workspace_bytes(const c4j_conv2d_desc *d) {
    bw_tiling t = make_bw_tiling(d);
    return bw_tile_bytes(&t) + align_bytes(BW_BIAS_ROWS * 4);
}

/*
 * Writes the patch columns of filter taps [t0, t1) (filter order: tap t = (bh, bw), which meets
 * input tap (KH-1-bh, KW-1-bw) for the flipped kernel) for output pixels [r0, r0 + m) of group g.
 */
static void bw_gather(const c4j_conv2d_desc *d, const float *in, int64_t g, int64_t r0, int64_t m, int64_t t0,
                      int64_t t1, float *restrict tile) {
    const int64_t cg = c4j_cin_g(d), KH = d->kernel_h, KW = d->kernel_w, kc = (t1 - t0) * cg;
    const int64_t sn = d->in_stride[0], sh = d->in_stride[1], sw = d->in_stride[2], sc = d->in_stride[3];
    const int64_t hw = d->out_h * d->out_w;
    const int runs = !d->flip && d->dilation_w == 1 && sc == 1 && sw == cg;
    int64_t n = r0 / hw, oh = (r0 % hw) / d->out_w, ow = r0 % d->out_w;
    for (int64_t i = 0; i < m; i++) {
        float *row = tile + i * kc;
        const float *img = in + n * sn + g * cg * sc;
        const int64_t ih0 = oh * d->stride_h - d->pad_top;
        const int64_t iw0 = ow * d->stride_w - d->pad_left;
        for (int64_t bh = t0 / KW; bh * KW < t1; bh++) {
            const int64_t b0 = C4J_MAX(0, t0 - bh * KW), b1 = C4J_MIN(KW, t1 - bh * KW);
            float *dst_row = row + (bh * KW + b0 - t0) * cg;
            const int64_t kh = d->flip ? KH - 1 - bh : bh;
            const int64_t ih = ih0 + kh * d->dilation_h;
            if (ih < 0 || ih >= d->in_h) {
                memset(dst_row, 0, (size_t)((b1 - b0) * cg) * sizeof(float));
                continue;
            }
            const float *src_row = img + ih * sh;
            if (runs) {
                /* taps kw = bw in [lo, hi) are inside the image: one copy, zeros around it */
                const int64_t lo = C4J_MIN(b1, C4J_MAX(b0, -iw0));
                const int64_t hi = C4J_MAX(lo, C4J_MIN(b1, d->in_w - iw0));
                if (lo > b0) memset(dst_row, 0, (size_t)((lo - b0) * cg) * sizeof(float));
                if (hi > lo) copy_floats(dst_row + (lo - b0) * cg, src_row + (iw0 + lo) * sw, (hi - lo) * cg);
                if (hi < b1) memset(dst_row + (hi - b0) * cg, 0, (size_t)((b1 - hi) * cg) * sizeof(float));
                continue;
            }
            for (int64_t bw = b0; bw < b1; bw++) {
                const int64_t kw = d->flip ? KW - 1 - bw : bw;
                const int64_t iw = iw0 + kw * d->dilation_w;
                float *dst = dst_row + (bw - b0) * cg;
                if (iw < 0 || iw >= d->in_w) {
                    memset(dst, 0, (size_t)cg * sizeof(float));
                } else if (sc == 1) {
                    copy_floats(dst, src_row + iw * sw, cg);
                } else {
                    const float *src = src_row + iw * sw;
                    for (int64_t c = 0; c < cg; c++) dst[c] = src[c * sc];
                }
            }
        }
        if (++ow == d->out_w) {
            ow = 0;
            if (++oh == d->out_h) {
                oh = 0;
                n++;
            }
        }
    }
}

/* Bias gradient of channels [c0, c0 + cols) over output pixels [row_begin, row_end), added to
   b_out[0, cols): ones[1, m] x dY rows, one sgemm per block of BW_BIAS_ROWS pixels (cut at
   multiples of BW_BIAS_ROWS, and at output rows when dY's pixels are not evenly spaced), so the
   order of the sum depends only on dY's layout and the range. `ones`: BW_BIAS_ROWS ones. */
void c4j_bw_bias_rows(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *dy, int64_t c0, int64_t cols,
                      int64_t row_begin, int64_t row_end, const float *ones, float *b_out) {
    const int64_t hw = d->out_h * d->out_w, ldb = d->out_stride[2];
    const int dy_uniform = d->out_stride[1] == d->out_w * ldb && d->out_stride[0] == d->out_h * d->out_stride[1];
    int64_t r = row_begin;
    while (r < row_end) {
        const int64_t n = r / hw, oh = (r % hw) / d->out_w, ow = r % d->out_w;
        const int64_t block_end = C4J_MIN(row_end, (r / BW_BIAS_ROWS + 1) * BW_BIAS_ROWS);
        const int64_t end = dy_uniform ? block_end : C4J_MIN(block_end, r - ow + d->out_w);
        const float *b = dy + n * d->out_stride[0] + oh * d->out_stride[1] + ow * ldb + c0;
        blas->sgemm(C4J_ROW_MAJOR, C4J_NO_TRANS, C4J_NO_TRANS, 1, (int)cols, (int)(end - r), 1.0f, ones, BW_BIAS_ROWS, b,
                    (int)ldb, 1.0f, b_out, (int)cols);
        r = end;
    }
}

static void bw_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *dy, float *dw,
                   float *db, float *partials, void *workspace, int64_t u0, int64_t u1) {
    const bw_tiling t = make_bw_tiling(d);
    float *tile = (float *)workspace;
    float *ones = (float *)((char *)workspace + bw_tile_bytes(&t));
    for (int64_t i = 0; db != NULL && i < BW_BIAS_ROWS; i++) ones[i] = 1.0f;
    const int64_t hw = d->out_h * d->out_w;
    const int64_t ldb = d->out_stride[2];
    const int dy_uniform = d->out_stride[1] == d->out_w * ldb && d->out_stride[0] == d->out_h * d->out_stride[1];
    /* a 1x1 kernel at stride 1 without padding over evenly spaced input pixels: the patch rows are
       the input's own rows, read in place */
    const int64_t sw_in = d->in_stride[2];
    const int x_in_place = t.taps == 1 && d->pad_top == 0 && d->pad_left == 0 && d->stride_h == 1 &&
                           d->stride_w == 1 && d->in_h == d->out_h && d->in_w == d->out_w &&
                           (d->in_stride[3] == 1 || t.cg == 1) && d->in_stride[1] == d->in_w * sw_in &&
                           d->in_stride[0] == d->in_h * d->in_stride[1] && sw_in >= t.cg && sw_in <= INT_MAX;
    /* unit order: group, tap chunk, row range, channel chunk (fastest: units that share a gather) */
    const int64_t per_t = t.r_chunks * t.n_chunks, per_group = t.t_chunks * per_t;

    int64_t u = u0;
    while (u < u1) {
        /* units u .. ue differ only in their output-channel chunk: one gather serves them all */
        const int64_t g = u / per_group, tc = (u % per_group) / per_t, rc = (u % per_t) / t.n_chunks;
        const int64_t nc0 = u % t.n_chunks;
        const int64_t ue = C4J_MIN(u1, u - nc0 + t.n_chunks), nc1 = nc0 + (ue - u);
        const int64_t t0 = tc * t.taps_per_chunk, t1 = C4J_MIN(t.taps, t0 + t.taps_per_chunk);
        const int64_t kc = (t1 - t0) * t.cg;
        const int64_t row_begin = t.rows * rc / t.r_chunks, row_end = t.rows * (rc + 1) / t.r_chunks;
        /* row range 0 sums into the outputs, the others into their own partial copies */
        float *part = rc == 0 ? NULL : partials + (rc - 1) * (t.filter_floats + d->out_c);
        float *w_out = dw == NULL ? NULL : rc == 0 ? dw : part;
        float *b_out = db == NULL || tc != 0 ? NULL : rc == 0 ? db : part + t.filter_floats;
        float *dw_rows = w_out == NULL ? NULL : w_out + t0 * t.cg * d->out_c;
        for (int64_t nc = nc0; nc < nc1; nc++) {
            const int64_t c0 = g * t.cout_g + nc * t.n_chunk, cols = C4J_MIN(t.n_chunk, t.cout_g - nc * t.n_chunk);
            if (dw_rows != NULL)
                for (int64_t k = 0; k < kc; k++) memset(dw_rows + k * d->out_c + c0, 0, (size_t)cols * sizeof(float));
            if (b_out != NULL) memset(b_out + c0, 0, (size_t)cols * sizeof(float));
        }
        for (int64_t r0 = row_begin; dw_rows != NULL && r0 < row_end; r0 += t.tile_rows) {
            const int64_t m = C4J_MIN(t.tile_rows, row_end - r0);
            const float *a = x_in_place ? in + r0 * sw_in + g * t.cg * d->in_stride[3] : tile;
            const int64_t lda = x_in_place ? sw_in : kc;
            if (!x_in_place) bw_gather(d, in, g, r0, m, t0, t1, tile);
            for (int64_t nc = nc0; nc < nc1; nc++) {
                const int64_t c0 = g * t.cout_g + nc * t.n_chunk;
                const int64_t cols = C4J_MIN(t.n_chunk, t.cout_g - nc * t.n_chunk);
                /* one sgemm per tile when dY rows are evenly spaced, else one per output row */
                int64_t r = r0;
                while (r < r0 + m) {
                    const int64_t n = r / hw, oh = (r % hw) / d->out_w, ow = r % d->out_w;
                    const int64_t end = dy_uniform ? r0 + m : C4J_MIN(r0 + m, r - ow + d->out_w);
                    const float *b = dy + n * d->out_stride[0] + oh * d->out_stride[1] + ow * ldb + c0;
                    blas->sgemm(C4J_ROW_MAJOR, C4J_TRANS, C4J_NO_TRANS, (int)kc, (int)cols, (int)(end - r), 1.0f,
                                a + (r - r0) * lda, (int)lda, b, (int)ldb, 1.0f, dw_rows + c0, (int)d->out_c);
                    r = end;
                }
            }
        }
        /* bias: a pass over this chunk of dY */
        for (int64_t nc = nc0; b_out != NULL && nc < nc1; nc++) {
            const int64_t c0 = g * t.cout_g + nc * t.n_chunk;
            const int64_t cols = C4J_MIN(t.n_chunk, t.cout_g - nc * t.n_chunk);
            c4j_bw_bias_rows(blas, d, dy, c0, cols, row_begin, row_end, ones, b_out + c0);
        }
        u = ue;
    }
}

/* ------------------------------------------------------------------ reduction of the row ranges */

static int64_t reduce_units_for(const c4j_conv2d_desc *d, int64_t r_chunks) {
    if (r_chunks <= 1) return 0;
    return c4j_ceil_div(c4j_filter_floats(d) + d->out_c, BW_REDUCE_FLOATS);
}

/* dW[i] += partial_1[i] + ... + partial_{R-1}[i], in that order, for elements of units [u0, u1);
   partial r sits at partials + (r - 1) * (|dW| + out_c), the bias gradient after dW. The loop over
   r is the outer one (vector adds over i); each element still sums in the order r = 1, 2, ... */
static void add_partials(float *restrict acc, const float *partials, int64_t len, int64_t r_chunks, int64_t i0,
                         int64_t i1) {
    for (int64_t r = 1; r < r_chunks; r++) {
        const float *restrict p = partials + (r - 1) * len;
        for (int64_t i = i0; i < i1; i++) acc[i - i0] += p[i];
    }
}

static void reduce_ranges(const c4j_conv2d_desc *d, int64_t r_chunks, float *dw, float *db, const float *partials,
                          int64_t u0, int64_t u1) {
    const int64_t ff = c4j_filter_floats(d), len = ff + d->out_c;
    const int64_t i0 = u0 * BW_REDUCE_FLOATS, i1 = C4J_MIN(len, u1 * BW_REDUCE_FLOATS);
    if (dw != NULL && i0 < ff) add_partials(dw + i0, partials, len, r_chunks, i0, C4J_MIN(i1, ff));
    if (db != NULL && i1 > ff) add_partials(db + C4J_MAX(i0, ff) - ff, partials, len, r_chunks, C4J_MAX(i0, ff), i1);
}

/* ================================================================== input gradient by a forward algorithm */

/*
 * For stride 1: dX[n, ih, iw, g*cg + c] = sum over taps and o of dY[n, ih + k'h*dil_h - p'h, ...,
 * g*og + o] * W'[k'h, k'w, o, g*cg + c], a forward convolution of dY (the input view) into dX (the
 * output view) with padding p' = (K - 1) * dil - pad, the filter W'[kh, kw, o, g*cg + c] =
 * W[kh, kw, c, g*og + o] (HWIO with cout_g input and in_c output channels) and the kernel
 * rotation toggled: tap k' of the forward convolution meets tap K - 1 - k' of the original one.
 * 0 when that descriptor is not a valid forward convolution (stride > 1, pad > (K - 1) * dil, a
 * dX view whose channels are not contiguous).
 */
static int bx_forward_desc(const c4j_conv2d_desc *d, c4j_conv2d_desc *f) {
    if (d->stride_h != 1 || d->stride_w != 1) return 0;
    memset(f, 0, sizeof *f);
    f->batch = d->batch;
    f->in_h = d->out_h;
    f->in_w = d->out_w;
    f->in_c = d->out_c;
    memcpy(f->in_stride, d->out_stride, sizeof f->in_stride);
    f->kernel_h = d->kernel_h;
    f->kernel_w = d->kernel_w;
    f->out_c = d->in_c;
    f->groups = d->groups;
    f->stride_h = f->stride_w = 1;
    f->dilation_h = d->dilation_h;
    f->dilation_w = d->dilation_w;
    f->pad_top = (d->kernel_h - 1) * d->dilation_h - d->pad_top;
    f->pad_left = (d->kernel_w - 1) * d->dilation_w - d->pad_left;
    f->out_h = d->in_h;
    f->out_w = d->in_w;
    memcpy(f->out_stride, d->in_stride, sizeof f->out_stride);
    if (d->in_c == 1) f->out_stride[3] = 1;
    f->flip = !d->flip;
    f->activation = C4J_ACT_NONE;
    f->has_bias = 0;
    return c4j_conv2d_check(f, INT64_MAX, INT64_MAX, 0, INT64_MAX, NULL, 0) == C4J_OK;
}

static int64_t align16(int64_t n) { return (n + 15) / 16 * 16; }

/* route is a forward algorithm that can run the transposed convolution of d */
static int bx_forward_route(const c4j_conv2d_desc *d, int route, c4j_conv2d_desc *f) {
    if (route < C4J_ALGO_GEMM_DIRECT || route > C4J_ALGO_GROUPED_DIRECT) return 0;
    return bx_forward_desc(d, f) && c4j_conv2d_supports(f, (c4j_algo)route) == C4J_OK;
}

/* prepared buffer of a forward route: [forward-prepared filter (align16) | W'] */
static int64_t bx_forward_prepared_floats(const c4j_conv2d_desc *f, int route) {
    return align16(c4j_conv2d_prepared_floats(f, (c4j_algo)route)) + c4j_filter_floats(f);
}

/* W' of bx_forward_desc from the HWIO filter W of d */
static void bx_transpose_filter(const c4j_conv2d_desc *d, const float *w, float *wt) {
    const int64_t taps = d->kernel_h * d->kernel_w, cg = c4j_cin_g(d), og = c4j_cout_g(d);
    const int64_t ic = d->in_c, oc = d->out_c;
    for (int64_t t = 0; t < taps; t++)
        for (int64_t g = 0; g < d->groups; g++)
            c4j_transpose(w + t * cg * oc + g * og, oc, cg, og, wt + t * og * ic + g * cg, ic);
}

/* ================================================================== cost model */

/* Per float: copying a gathered patch row (memcpy-sized runs, cache to cache), rearranging the
   filter (a strided scatter), adding a partial sum in the reduction. Measured on the benchmark
   layers (native/bench/backward_bench.c), good enough to rank routes. */
#define GATHER_NS 0.08
#define REARRANGE_NS 0.4
#define REDUCE_NS 0.3

static double bx_gemm_estimate(const c4j_conv2d_desc *d) {
    if (bx_supported(d, NULL, 0) != C4J_OK) return -1;
    const bx_tiling t = make_bx_tiling(d);
    const axis ah = axis_h(d), aw = axis_w(d);
    double s = 0;
    for (int64_t ph = 0; ph < n_phases(&ah); ph++)
        for (int64_t pw = 0; pw < n_phases(&aw); pw++) {
            const int64_t rows = d->batch * phase_len(&ah, ph) * phase_len(&aw, pw);
            const int64_t kp = phase_taps(&ah, ph, NULL, NULL) * phase_taps(&aw, pw, NULL, NULL) * t.cout_g;
            const int64_t full = rows / t.tile_rows, last = rows % t.tile_rows;
            s += (double)full * c4j_cost_sgemm(t.tile_rows, kp, t.cg) + c4j_cost_sgemm(last, kp, t.cg);
            s += (double)rows * (double)kp * GATHER_NS * 1e-9;
        }
    return (double)d->groups * s + (double)c4j_filter_floats(d) * REARRANGE_NS * 1e-9;
}

static double bw_gemm_estimate(const c4j_conv2d_desc *d) {
    const bw_tiling t = make_bw_tiling(d);
    double s = 0;
    for (int64_t tc = 0; tc < t.t_chunks; tc++) {
        const int64_t taps = C4J_MIN(t.taps_per_chunk, t.taps - tc * t.taps_per_chunk), kc = taps * t.cg;
        const int64_t full = t.rows / t.tile_rows, last = t.rows % t.tile_rows;
        s += (double)t.rows * (double)kc * GATHER_NS * 1e-9;
        for (int64_t nc = 0; nc < t.n_chunks; nc++) {
            const int64_t cols = C4J_MIN(t.n_chunk, t.cout_g - nc * t.n_chunk);
            s += (double)full * c4j_cost_sgemm(kc, t.tile_rows, cols) + c4j_cost_sgemm(kc, last, cols);
        }
    }
    const double reduce = (double)(t.r_chunks - 1) * (double)(t.filter_floats + d->out_c) * REDUCE_NS * 1e-9;
    return (double)d->groups * s + reduce;
}

/*
 * On layers of small groups (where the grouped direct kernels apply) the sgemm routes ran much
 * slower than estimated, one product of a few rows and columns per group and tap: with 1 to 4
 * input channels per group the GEMM routes of both gradients 6-37x (geometric mean about 16), the
 * scatter route 2-4x (thread CPU time, the depthwise and 32-group layers of the peer benchmark).
 * Their estimates there carry that factor, falling with the channels per group as in the forward
 * pass (c4j_small_groups_factor, used as it is for the Winograd filter gradient).
 */
static double small_groups_factor(const c4j_conv2d_desc *d, int route) {
    if (!c4j_gd_applicable(d)) return 1.0;
    if (route != C4J_BWD_GEMM && route != C4J_BWD_SCATTER) return c4j_small_groups_factor(d);
    const double hi = route == C4J_BWD_GEMM ? 16.0 : 4.0, f = 4.0 * hi / (double)c4j_cin_g(d);
    return f > hi ? hi : f < 1.5 ? 1.5 : f;
}

/* ================================================================== entry points */

static c4j_status check_call(const c4j_blas *blas, const c4j_conv2d_desc *d, int64_t units, int64_t need,
                             void *workspace, int64_t workspace_bytes, int64_t u0, int64_t u1, char *err,
                             size_t err_len) {
    if (blas == NULL || blas->sgemm == NULL) return c4j_fail(C4J_ERR_BLAS, err, err_len, "no BLAS bound");
    if (d == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "null descriptor");
    if (u0 < 0 || u1 > units || u0 > u1)
        return c4j_fail(C4J_ERR_ARG, err, err_len, "unit range [%lld, %lld) outside [0, %lld)", (long long)u0,
                        (long long)u1, (long long)units);
    if (u0 < u1 && need > 0 &&
        (workspace == NULL || workspace_bytes < need || ((uintptr_t)workspace & 63u) != 0))
        return c4j_fail(C4J_ERR_ARG, err, err_len, "workspace of %lld bytes (64-byte aligned) needed, got %lld",
                        (long long)need, (long long)workspace_bytes);
    return C4J_OK;
}

/* ------------------------------------------------------------------ input gradient */

double c4j_conv2d_backward_input_estimate_seconds(const c4j_conv2d_desc *d, int route) {
    c4j_conv2d_desc f;
    if (d == NULL) return -1;
    if (route == C4J_BWD_GEMM) return small_groups_factor(d, route) * bx_gemm_estimate(d);
    if (route == C4J_BWD_SCATTER)
        return c4j_bxs_applicable(d) ? small_groups_factor(d, route) * c4j_bxs_estimate(d) +
                                           (double)c4j_filter_floats(d) * REARRANGE_NS * 1e-9
                                     : -1;
    if (!bx_forward_route(d, route, &f)) return -1;
    /* the filter is transposed and prepared on every call (in training it changes every step); the
       forward cost model's preparation estimates measure 0.55x (Winograd) and 1.4x (FFT) here */
    const double run = c4j_conv2d_estimate_seconds(&f, (c4j_algo)route, 0);
    const double prep = c4j_conv2d_estimate_seconds(&f, (c4j_algo)route, 1) - run;
    const double scale = route == C4J_ALGO_FFT ? 1.4
                         : route == C4J_ALGO_GEMM_DIRECT || route == C4J_ALGO_GEMM_TILED || route == C4J_ALGO_GROUPED_DIRECT
                             ? 1.0
                             : 0.55;
    return run + scale * prep + (double)c4j_filter_floats(d) * REARRANGE_NS * 1e-9;
}

/* Another route replaces a GEMM route only when its estimate is at least this much smaller: the
   estimates are within about 20% of the measured times, and the GEMM routes degrade least. */
#define ROUTE_MARGIN 0.85

int c4j_conv2d_backward_input_route(const c4j_conv2d_desc *d) {
    int best = C4J_BWD_GEMM;
    double best_s = c4j_conv2d_backward_input_estimate_seconds(d, C4J_BWD_GEMM);
    if (best_s > 0) best_s *= ROUTE_MARGIN;
    const int cand[7] = {C4J_BWD_SCATTER, C4J_ALGO_GEMM_DIRECT, C4J_ALGO_GEMM_TILED, C4J_ALGO_WINOGRAD_2X2,
                         C4J_ALGO_WINOGRAD_4X4, C4J_ALGO_FFT, C4J_ALGO_GROUPED_DIRECT};
    for (int i = 0; i < 7; i++) {
        const int r = cand[i];
        const double s = c4j_conv2d_backward_input_estimate_seconds(d, r);
        if (s >= 0 && (best_s < 0 || s < best_s)) {
            best = r;
            best_s = s;
        }
    }
    return best;
}

static int bx_resolve(const c4j_conv2d_desc *d, int route) {
    return route == C4J_BWD_AUTO ? c4j_conv2d_backward_input_route(d) : route;
}

int64_t c4j_conv2d_backward_input_units(const c4j_conv2d_desc *d, int route) {
    c4j_conv2d_desc f;
    route = bx_resolve(d, route);
    if (route == C4J_BWD_GEMM) return bx_units(d);
    if (route == C4J_BWD_SCATTER) return c4j_bxs_units(d);
    return bx_forward_route(d, route, &f) ? c4j_conv2d_units(&f, (c4j_algo)route) : 0;
}

int64_t c4j_conv2d_backward_input_workspace_bytes(const c4j_conv2d_desc *d, int route) {
    c4j_conv2d_desc f;
    route = bx_resolve(d, route);
    if (route == C4J_BWD_GEMM) return bx_workspace_bytes(d);
    if (route == C4J_BWD_SCATTER) return c4j_bxs_workspace(d);
    return bx_forward_route(d, route, &f) ? c4j_conv2d_workspace_bytes(&f, (c4j_algo)route) : -1;
}

int64_t c4j_conv2d_backward_input_prepared_floats(const c4j_conv2d_desc *d, int route) {
    c4j_conv2d_desc f;
    route = bx_resolve(d, route);
    if (route == C4J_BWD_GEMM) return c4j_filter_floats(d);
    if (route == C4J_BWD_SCATTER) return c4j_bxs_applicable(d) ? c4j_filter_floats(d) : -1;
    return bx_forward_route(d, route, &f) ? bx_forward_prepared_floats(&f, route) : -1;
}

c4j_status c4j_conv2d_backward_input_prepare(const c4j_conv2d_desc *d, int route, const float *filter, float *prepared,
                                             char *err, size_t err_len) {
    c4j_conv2d_desc f;
    if (d == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "null descriptor");
    route = bx_resolve(d, route);
    if (filter == NULL || prepared == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "null filter or prepared buffer");
    if (route == C4J_BWD_GEMM) return bx_prepare(d, filter, prepared, err, err_len);
    if (route == C4J_BWD_SCATTER) {
        if (!c4j_bxs_applicable(d))
            return c4j_fail(C4J_ERR_UNSUPPORTED, err, err_len, "input-gradient route %d cannot run this convolution", route);
        c4j_bxs_prepare(d, filter, prepared);
        return C4J_OK;
    }
    if (!bx_forward_route(d, route, &f))
        return c4j_fail(C4J_ERR_UNSUPPORTED, err, err_len, "input-gradient route %d cannot run this convolution", route);
    float *wt = prepared + align16(c4j_conv2d_prepared_floats(&f, (c4j_algo)route));
    bx_transpose_filter(d, filter, wt);
    return c4j_conv2d_prepare(&f, (c4j_algo)route, wt, prepared, err, err_len);
}

c4j_status c4j_conv2d_backward_input(const c4j_blas *blas, const c4j_conv2d_desc *d, int route, const float *grad_out,
                                     const float *prepared, float *grad_in, void *workspace, int64_t workspace_bytes,
                                     int64_t unit_begin, int64_t unit_end, char *err, size_t err_len) {
    c4j_conv2d_desc f;
    if (d == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "null descriptor");
    route = bx_resolve(d, route);
    if (route == C4J_BWD_GEMM) {
        c4j_status st = bx_supported(d, err, err_len);
        if (st != C4J_OK) return st;
    } else if (route == C4J_BWD_SCATTER ? !c4j_bxs_applicable(d) : !bx_forward_route(d, route, &f)) {
        return c4j_fail(C4J_ERR_UNSUPPORTED, err, err_len, "input-gradient route %d cannot run this convolution", route);
    }
    c4j_status st = check_call(blas, d, c4j_conv2d_backward_input_units(d, route),
                               c4j_conv2d_backward_input_workspace_bytes(d, route), workspace, workspace_bytes,
                               unit_begin, unit_end, err, err_len);
    if (st != C4J_OK || unit_begin == unit_end) return st;
    if (grad_out == NULL || prepared == NULL || grad_in == NULL)
        return c4j_fail(C4J_ERR_ARG, err, err_len, "null buffer");
    if (route == C4J_BWD_GEMM) {
        bx_run(blas, d, grad_out, prepared, grad_in, workspace, unit_begin, unit_end);
        return C4J_OK;
    }
    if (route == C4J_BWD_SCATTER) {
        c4j_bxs_run(blas, d, grad_out, prepared, grad_in, workspace, unit_begin, unit_end);
        return C4J_OK;
    }
    const float *wt = prepared + align16(c4j_conv2d_prepared_floats(&f, (c4j_algo)route));
    return c4j_conv2d_forward(blas, &f, (c4j_algo)route, grad_out, wt, prepared, NULL, grad_in, workspace,
                              workspace_bytes, unit_begin, unit_end, err, err_len);
}

/* ------------------------------------------------------------------ filter and bias gradients */

static int bw_route_ok(const c4j_conv2d_desc *d, int route) {
    if (route == C4J_BWD_GEMM) return 1;
    if (route == C4J_ALGO_WINOGRAD_2X2 || route == C4J_ALGO_WINOGRAD_4X4) return c4j_bwino_applicable(d, (c4j_algo)route);
    if (route == C4J_ALGO_GROUPED_DIRECT) return c4j_gd_applicable(d);
    return 0;
}

/* pixel ranges summed separately (1: no partial sums) */
static int64_t bw_ranges(const c4j_conv2d_desc *d, int route) {
    if (route == C4J_BWD_GEMM) return make_bw_tiling(d).r_chunks;
    if (route == C4J_ALGO_GROUPED_DIRECT) return c4j_gdw_ranges(d);
    return c4j_bwino_ranges(d, (c4j_algo)route);
}

double c4j_conv2d_backward_filter_estimate_seconds(const c4j_conv2d_desc *d, int route) {
    if (d == NULL || !bw_route_ok(d, route)) return -1;
    if (route == C4J_BWD_GEMM) return small_groups_factor(d, route) * bw_gemm_estimate(d);
    const int64_t r = bw_ranges(d, route);
    const double run = route == C4J_ALGO_GROUPED_DIRECT ? c4j_gdw_estimate(d)
                                                        : small_groups_factor(d, route) * c4j_bwino_estimate(d, (c4j_algo)route);
    return run + (double)(r - 1) * (double)(c4j_filter_floats(d) + d->out_c) * REDUCE_NS * 1e-9;
}

int c4j_conv2d_backward_filter_route(const c4j_conv2d_desc *d) {
    int best = C4J_BWD_GEMM;
    double best_s = c4j_conv2d_backward_filter_estimate_seconds(d, C4J_BWD_GEMM);
    if (best_s > 0) best_s *= ROUTE_MARGIN;
    const int cand[3] = {C4J_ALGO_WINOGRAD_4X4, C4J_ALGO_WINOGRAD_2X2, C4J_ALGO_GROUPED_DIRECT};
    for (int i = 0; i < 3; i++) {
        const double s = c4j_conv2d_backward_filter_estimate_seconds(d, cand[i]);
        if (s >= 0 && (best_s < 0 || s < best_s)) {
            best = cand[i];
            best_s = s;
        }
    }
    return best;
}

static int bw_resolve(const c4j_conv2d_desc *d, int route) {
    return route == C4J_BWD_AUTO ? c4j_conv2d_backward_filter_route(d) : route;
}

int64_t c4j_conv2d_backward_filter_units(const c4j_conv2d_desc *d, int route) {
    route = bw_resolve(d, route);
    if (!bw_route_ok(d, route)) return 0;
    if (route == C4J_ALGO_GROUPED_DIRECT) return c4j_gdw_units(d);
    return route == C4J_BWD_GEMM ? bw_units(d) : c4j_bwino_units(d, (c4j_algo)route);
}

int64_t c4j_conv2d_backward_filter_workspace_bytes(const c4j_conv2d_desc *d, int route) {
    route = bw_resolve(d, route);
    if (!bw_route_ok(d, route)) return -1;
    if (route == C4J_ALGO_GROUPED_DIRECT) return c4j_gdw_workspace(d);
    return route == C4J_BWD_GEMM ? bw_workspace_bytes(d) : c4j_bwino_workspace(d, (c4j_algo)route);
}

int64_t c4j_conv2d_backward_filter_partial_floats(const c4j_conv2d_desc *d, int route) {
    route = bw_resolve(d, route);
    if (!bw_route_ok(d, route)) return -1;
    return route == C4J_BWD_GEMM ? bw_partial_floats(d)
                                 : (bw_ranges(d, route) - 1) * (c4j_filter_floats(d) + d->out_c);
}

int64_t c4j_conv2d_backward_filter_reduce_units(const c4j_conv2d_desc *d, int route) {
    route = bw_resolve(d, route);
    if (!bw_route_ok(d, route)) return 0;
    return reduce_units_for(d, bw_ranges(d, route));
}

static c4j_status check_partials(const c4j_conv2d_desc *d, int route, const float *partials, int64_t partials_avail,
                                 char *err, size_t err_len) {
    const int64_t need = c4j_conv2d_backward_filter_partial_floats(d, route);
    if (need > 0 && (partials == NULL || partials_avail < need))
        return c4j_fail(C4J_ERR_BOUNDS, err, err_len, "partial sums need %lld floats but %lld are available",
                        (long long)need, (long long)(partials == NULL ? 0 : partials_avail));
    return C4J_OK;
}

static c4j_status check_bias_args(const c4j_conv2d_desc *d, const float *grad_bias, char *err, size_t err_len) {
    if (grad_bias != NULL && !d->has_bias)
        return c4j_fail(C4J_ERR_ARG, err, err_len, "bias gradient given but has_bias is 0");
    if (d->has_bias && grad_bias == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "has_bias but no bias gradient");
    return C4J_OK;
}

c4j_status c4j_conv2d_backward_filter(const c4j_blas *blas, const c4j_conv2d_desc *d, int route, const float *in,
                                      const float *grad_out, float *grad_filter, float *grad_bias, float *partials,
                                      int64_t partials_avail, void *workspace, int64_t workspace_bytes,
                                      int64_t unit_begin, int64_t unit_end, char *err, size_t err_len) {
    if (d == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "null descriptor");
    route = bw_resolve(d, route);
    if (!bw_route_ok(d, route))
        return c4j_fail(C4J_ERR_UNSUPPORTED, err, err_len, "filter-gradient route %d cannot run this convolution", route);
    c4j_status st = check_call(blas, d, c4j_conv2d_backward_filter_units(d, route),
                               c4j_conv2d_backward_filter_workspace_bytes(d, route), workspace, workspace_bytes,
                               unit_begin, unit_end, err, err_len);
    if (st != C4J_OK || unit_begin == unit_end) return st;
    st = check_bias_args(d, grad_bias, err, err_len);
    if (st != C4J_OK) return st;
    if (grad_filter != NULL && in == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "filter gradient needs the input");
    if (d->batch > 0 && grad_out == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "null output gradient");
    st = check_partials(d, route, partials, partials_avail, err, err_len);
    if (st != C4J_OK) return st;
    if (route == C4J_BWD_GEMM)
        bw_run(blas, d, in, grad_out, grad_filter, grad_bias, partials, workspace, unit_begin, unit_end);
    else if (route == C4J_ALGO_GROUPED_DIRECT)
        c4j_gdw_run(d, in, grad_out, grad_filter, grad_bias, partials, workspace, unit_begin, unit_end);
    else
        c4j_bwino_run(blas, d, (c4j_algo)route, in, grad_out, grad_filter, grad_bias, partials, workspace, unit_begin,
                      unit_end);
    return C4J_OK;
}

c4j_status c4j_conv2d_backward_filter_reduce(const c4j_conv2d_desc *d, int route, float *grad_filter, float *grad_bias,
                                             const float *partials, int64_t partials_avail, int64_t unit_begin,
                                             int64_t unit_end, char *err, size_t err_len) {
    if (d == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "null descriptor");
    route = bw_resolve(d, route);
    if (!bw_route_ok(d, route))
        return c4j_fail(C4J_ERR_UNSUPPORTED, err, err_len, "filter-gradient route %d cannot run this convolution", route);
    const int64_t units = c4j_conv2d_backward_filter_reduce_units(d, route);
    if (unit_begin < 0 || unit_end > units || unit_begin > unit_end)
        return c4j_fail(C4J_ERR_ARG, err, err_len, "unit range [%lld, %lld) outside [0, %lld)", (long long)unit_begin,
                        (long long)unit_end, (long long)units);
    if (unit_begin == unit_end) return C4J_OK;
    c4j_status st = check_bias_args(d, grad_bias, err, err_len);
    if (st != C4J_OK) return st;
    st = check_partials(d, route, partials, partials_avail, err, err_len);
    if (st != C4J_OK) return st;
    reduce_ranges(d, bw_ranges(d, route), grad_filter, grad_bias, partials, unit_begin, unit_end);
    return C4J_OK;
}


c4j_status c4j_activation_backward(int64_t activation, const float *out, const float *grad_out, float *grad_pre,
                                   int64_t count, char *err, size_t err_len) {
    if (count < 0) return c4j_fail(C4J_ERR_ARG, err, err_len, "negative count %lld", (long long)count);
    if (count > 0 && (grad_out == NULL || grad_pre == NULL || (activation != C4J_ACT_NONE && out == NULL)))
        return c4j_fail(C4J_ERR_ARG, err, err_len, "null buffer");
    /* the derivative from the activation's output: relu' = [y > 0], relu6' = [0 < y < 6], except that
       a NaN output passes its gradient on, as PyTorch's threshold/hardtanh backward do, rather than
       hide the NaN behind a zero gradient; grad_pre may alias grad_out (element i is read before it
       is written) */
    switch (activation) {
    case C4J_ACT_NONE:
        if (grad_pre != grad_out) memmove(grad_pre, grad_out, (size_t)count * sizeof(float));
        return C4J_OK;
    case C4J_ACT_RELU:
        for (int64_t i = 0; i < count; i++) grad_pre[i] = out[i] <= 0.0f ? 0.0f : grad_out[i];
        return C4J_OK;
    case C4J_ACT_RELU6:
        for (int64_t i = 0; i < count; i++) grad_pre[i] = out[i] <= 0.0f || out[i] >= 6.0f ? 0.0f : grad_out[i];
        return C4J_OK;
    default:
        return c4j_fail(C4J_ERR_ARG, err, err_len, "unknown activation %lld", (long long)activation);
    }
}
