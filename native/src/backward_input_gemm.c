/*
 * Input gradient (also the transposed convolution) by stride phases: the C4J_BWD_GEMM route of
 * c4j_conv2d_backward_input. Instead of computing patch gradients and scatter-adding them
 * (col2im), which makes neighbouring work units write the same input pixels,
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
 * Units are tiles of one phase of one group, in a fixed order; the workspace is one tile,
 * independent of the batch size.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* Same L2-sized tiles as the filter gradient (backward_filter_gemm.c). */
#define BX_TILE_TARGET_FLOATS (96 * 1024)
#define BX_TILE_MIN_ROWS 32
#define BX_TILE_MAX_ROWS 1024
/* Per float: copying a gathered dY row (memcpy-sized runs, cache to cache); measured on the
   benchmark layers (native/bench/backward_bench.c), good enough to rank routes. */
#define GATHER_NS 0.08

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


/* A run of n floats: memcpy from 32 on; below, 8-float vector copies and a scalar tail that stay
   loops (GCC would make a plain loop a memmove call, which cost a third of tiny_3x3_8x8x4's input
   gradient: 24-float runs per pixel). */
typedef float bx_v8 __attribute__((vector_size(32), aligned(4)));
static inline __attribute__((optimize("no-tree-loop-distribute-patterns"))) void
copy_floats(float *restrict dst, const float *restrict src, int64_t n) {
    if (n >= 32) {
        memcpy(dst, src, (size_t)n * sizeof(float));
        return;
    }
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) *(bx_v8 *)(void *)(dst + i) = *(const bx_v8 *)(const void *)(src + i);
    for (; i < n; i++) dst[i] = src[i];
}

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
    t.tile_rows = C4J_MAX(BX_TILE_MIN_ROWS, C4J_MIN(BX_TILE_MAX_ROWS, BX_TILE_TARGET_FLOATS / t.kp_max));
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
c4j_status c4j_bxg_supported(const c4j_conv2d_desc *d, char *err, size_t err_len) {
    int64_t k;
    if (__builtin_mul_overflow(d->kernel_h * d->kernel_w, c4j_cout_g(d), &k) || k > INT_MAX)
        return c4j_fail(C4J_ERR_UNSUPPORTED, err, err_len, "kernel_h*kernel_w*out_c/groups too large");
    return C4J_OK;
}

int64_t c4j_bxg_units(const c4j_conv2d_desc *d) {
    if (d->batch == 0 || c4j_bxg_supported(d, NULL, 0) != C4J_OK) return 0;
    bx_tiling t = make_bx_tiling(d);
    return d->groups * bx_units_per_group(d, &t);
}

/* workspace layout: gathered tile | output tile (strided input views) | tap bases (h then w) */
static int64_t bx_tile_bytes(const bx_tiling *t) { return align_bytes(t->tile_rows * t->kp_max * 4); }
static int64_t bx_out_bytes(const bx_tiling *t) { return align_bytes(t->tile_rows * t->cg * 4); }

int64_t c4j_bxg_workspace(const c4j_conv2d_desc *d) {
    if (c4j_bxg_supported(d, NULL, 0) != C4J_OK) return -1;
    bx_tiling t = make_bx_tiling(d);
    return bx_tile_bytes(&t) + bx_out_bytes(&t) + align_bytes((d->kernel_h + d->kernel_w) * 8);
}

c4j_status c4j_bxg_prepare(const c4j_conv2d_desc *d, const float *filter, float *prepared, char *err,
                             size_t err_len) {
    c4j_status st = c4j_bxg_supported(d, err, err_len);
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

void c4j_bxg_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *dy, const float *prepared,
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

double c4j_bxg_estimate(const c4j_conv2d_desc *d) {
    if (c4j_bxg_supported(d, NULL, 0) != C4J_OK) return -1;
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
    return (double)d->groups * s;
}

/* ------------------------------------------------------------------ input-gradient table row */

static int bxg_applies(const c4j_conv2d_desc *d) { return c4j_bxg_supported(d, NULL, 0) == C4J_OK; }

static int64_t bxg_prepared_floats(const c4j_conv2d_desc *d) { return c4j_filter_floats(d); }

static double bxg_estimate_row(const c4j_conv2d_desc *d, int include_prepare) {
    const double run = c4j_bxg_estimate(d);
    if (run < 0) return run;
    return c4j_bw_small_groups_factor(d, C4J_BWD_GEMM) *
           (run + (include_prepare ? (double)c4j_filter_floats(d) * C4J_BW_REARRANGE_NS * 1e-9 : 0));
}

static c4j_status bxg_run_row(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *dy, const float *prepared,
                              float *dx, void *workspace, int64_t workspace_bytes, int64_t u0, int64_t u1, char *err,
                              size_t err_len) {
    (void)workspace_bytes;
    (void)err;
    (void)err_len;
    c4j_bxg_run(blas, d, dy, prepared, dx, workspace, u0, u1);
    return C4J_OK;
}

const c4j_input_gradient_route c4j_bx_gemm = {"gemm",           C4J_BWD_GEMM,     1,
                                              bxg_applies,      c4j_bxg_units,    c4j_bxg_workspace,
                                              bxg_prepared_floats, c4j_bxg_prepare, bxg_estimate_row,
                                              bxg_run_row, NULL, NULL};
