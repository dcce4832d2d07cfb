/*
 * The vector kernels of fft.c, included there once per instruction set (a C template): before each
 * inclusion fft.c defines
 *   FK_ISA     suffix of every name defined here (portable, avx2, avx512)
 *   FK_V       SIMD lanes = channels per vector (4, 8, 16); the tile buffer holds complex vectors
 *              of FK_V real parts followed by FK_V imaginary parts
 *   FK_TARGET  the target attribute of the functions (empty for the portable build)
 *   FK_MASKED  (optional) AVX-512 masked loads and stores for partial channel blocks, packed
 *              tiles' pixels and the packed stores into A
 * Every width gives the same results up to rounding; GCC lowers vectors wider than the target's
 * registers poorly, hence one instantiation per width instead of one 16-lane kernel everywhere.
 * With at most FK_V / 2 input channels per group, FK_V / Cin_g tiles share the forward vectors
 * (pack_of), so the widths differ in how tiles are packed, not in any tile's values.
 *
 * The transforms are bound by vector loads and stores, so the passes next to memory other than
 * the tile buffer are fused with it: the forward's last column pass writes A (FK(dif_last_to_a)),
 * the inverse's first column pass reads C (FK(dit_first_from_c)) and its last row pass writes the
 * output pixels (FK(dit_last_to_out)).
 */
#define FK_CAT2(a, b) a##_##b
#define FK_CAT(a, b) FK_CAT2(a, b)
#define FK(name) FK_CAT(name, FK_ISA)
#define FK_CV (2 * FK_V)
#define FAI static inline __attribute__((always_inline)) FK_TARGET

typedef float FK(vec) __attribute__((vector_size(FK_V * sizeof(float))));
#define VLD(p) (*(const FK(vec) *)(const void *)(p))
#define VST(p, v) (*(FK(vec) *)(void *)(p) = (v))

#include "fft_simd_passes.h"

/* ------------------------------------------------------------------ one unit */

/*
 * The transforms of a tile buffer whose rows [j0, j1) hold z[n] = x[2n] + i x[2n+1] of their input
 * rows (other rows are zero): row FFTs and split steps in place on those rows, then the column
 * transforms over all rows, whose last pass stores the spectra into A (ad).
 */
FAI void FK(forward_rows_cols)(const tile_ctx *t, int64_t j0, int64_t j1, const FK(a_dst) *ad) {
    const fft_plan *p = t->p;
    const int64_t fh = p->fh, fw = p->fw, hw = p->hw, nfw = p->nfw, rs = nfw * FK_CV;
    const int64_t step = FFT_MAX / fw;
    float *sp = t->sp;
    if (j1 > j0) {
        FK(fft_dif)(sp + j0 * rs, hw, FK_CV, rs, j1 - j0, 0);
        /*
         * Split step, in place on the bit-reversed positions: 2 X[k] = E + W^k O with
         * E = Z[k] + conj(Z[hw-k]), O = -i (Z[k] - conj(Z[hw-k])), and 2 X[hw-k] = conj(E - W^k O).
         * X[0] and X[hw] (real) come from Z[0] alone; X[hw] goes to the extra point hw.
         */
        for (int64_t j = j0; j < j1; j++) {
            float *x0 = sp + j * rs, *xh = x0 + hw * FK_CV;
            const FK(vec) ar = VLD(x0), ai = VLD(x0 + FK_V), zero = ar - ar;
            VST(x0, (ar + ai) + (ar + ai));
            VST(x0 + FK_V, zero);
            VST(xh, (ar - ai) + (ar - ai));
            VST(xh + FK_V, zero);
        }
        for (int64_t k = 1; k <= hw / 2; k++) {
            const float wr = TW[k * step][0], wi = TW[k * step][1];
            const int64_t pa = t->rev[k] * FK_CV, pb = t->rev[hw - k] * FK_CV;
            for (int64_t j = j0; j < j1; j++) {
                float *zr = sp + j * rs;
                const FK(vec) ar = VLD(zr + pa), ai = VLD(zr + pa + FK_V);
                const FK(vec) br = VLD(zr + pb), bi = VLD(zr + pb + FK_V);
                const FK(vec) er = ar + br, ei = ai - bi;
                const FK(vec) or_ = ai + bi, oi = br - ar;
                const FK(vec) pr = or_ * wr - oi * wi, pi = or_ * wi + oi * wr;
                VST(zr + pb, er - pr); /* for k = hw/2 this is overwritten by the same X[k] */
                VST(zr + pb + FK_V, pi - ei);
                VST(zr + pa, er + pr);
                VST(zr + pa + FK_V, ei + pi);
            }
        }
    }
    if (j0 > 0) memset(sp, 0, (size_t)(j0 * rs) * sizeof(float));
    if (j1 < fh) memset(sp + j1 * rs, 0, (size_t)((fh - j1) * rs) * sizeof(float));
    FK(fft_dif)(sp, fh, rs, FK_CV, nfw, 1);
    FK(dif_last_to_a)(t, ad);
}

/* where a tile's input lies: image origin (group's channels), and the tile's top-left input pixel */
typedef struct {
    const float *img;
    int64_t iy0, ix0;
} FK(tile_at);

/* rows [*j0, *j1) and columns [*i0, *i1) of the tile inside the image (empty: *j0 == *j1) */
FAI void FK(inside)(const c4j_conv2d_desc *d, const fft_plan *p, const FK(tile_at) *a, int64_t *j0, int64_t *j1,
                    int64_t *i0, int64_t *i1) {
    *j0 = C4J_MIN(p->fh, C4J_MAX(0, -a->iy0));
    *j1 = C4J_MAX(*j0, C4J_MIN(p->fh, d->in_h - a->iy0));
    *i0 = C4J_MIN(p->fw, C4J_MAX(0, -a->ix0));
    *i1 = C4J_MAX(*i0, C4J_MIN(p->fw, d->in_w - a->ix0));
    if (*i1 == *i0) *j1 = *j0;
}

/*
 * Forward transform of one input tile into row a_t of every A_f (A_f = a_t + f * a_step), one
 * vector of FK_V input channels at a time. Row j of the tile buffer first holds
 * z[n] = x[2n] + i x[2n+1] of input row j, then (in place) its half spectrum, then the column
 * transforms run over all rows.
 */
FAI void FK(forward_tile)(const tile_ctx *t, const FK(tile_at) *at, float *a_t, int64_t a_step) {
    const c4j_conv2d_desc *d = t->d;
    const fft_plan *p = t->p;
    const int64_t fw = p->fw, rs = p->nfw * FK_CV;
    const int64_t s1 = d->in_stride[1], s2 = d->in_stride[2], sc = d->in_stride[3];
    float *sp = t->sp;
    int64_t j0, j1, i0, i1;
    FK(inside)(d, p, at, &j0, &j1, &i0, &i1);
    for (int64_t b = 0; b * FK_V < p->cin_g; b++) {
        const int64_t nb = C4J_MIN(FK_V, p->cin_g - b * FK_V);
        const float *src = at->img + b * FK_V * sc;
        for (int64_t j = j0; j < j1; j++) {
            float *zr = sp + j * rs;
            const float *srow = src + (at->iy0 + j) * s1;
            /* pixel i is the real (even i) or imaginary part of point i / 2: lanes at zr + i * FK_V */
            memset(zr, 0, (size_t)(i0 * FK_V) * sizeof(float));
            for (int64_t i = i0; i < i1; i++) FK(load)(zr + i * FK_V, srow + (at->ix0 + i) * s2, sc, nb);
            memset(zr + i1 * FK_V, 0, (size_t)((fw - i1) * FK_V) * sizeof(float));
        }
        const FK(a_dst) ad = {a_t + b * FK_V, a_step, p->cin_g, nb, 0}; /* per frequency, [Xr | Xi] */
        FK(forward_rows_cols)(t, j0, j1, &ad);
    }
}

#ifdef FK_MASKED
/*
 * Forward transform of np <= FK_V / cin_g consecutive tiles of a block whose cin_g channels
 * together fit one vector: tile q in lanes [q cin_g, (q + 1) cin_g), so one transform serves them
 * all (with 3 channels, 5 tiles per 16 lanes instead of one). Rows outside every tile's image part
 * are not transformed (zero); a row inside some tiles only is zero in the other tiles' lanes. Their
 * rows of A are consecutive: a_t is the first tile's. AVX-512 only: without masked loads and
 * two-source permutes, gathering and scattering the packed lanes costs more than it saves (the
 * 8-lane build measured 1.8x slower on the seed layer), so the narrower builds keep one tile per
 * vector.
 */
FAI void FK(forward_pack)(const tile_ctx *t, const FK(tile_at) *at, int64_t np, float *a_t, int64_t a_step) {
    const c4j_conv2d_desc *d = t->d;
    const fft_plan *p = t->p;
    const int64_t fw = p->fw, rs = p->nfw * FK_CV, cin = p->cin_g;
    const int64_t s1 = d->in_stride[1], s2 = d->in_stride[2], sc = d->in_stride[3];
    float *sp = t->sp;
    int64_t j0[FK_V], j1[FK_V], i0[FK_V], i1[FK_V], r0 = p->fh, r1 = 0;
    for (int64_t q = 0; q < np; q++) {
        FK(inside)(d, p, &at[q], &j0[q], &j1[q], &i0[q], &i1[q]);
        if (j1[q] > j0[q]) {
            r0 = C4J_MIN(r0, j0[q]);
            r1 = C4J_MAX(r1, j1[q]);
        }
    }
    if (r1 <= r0) r0 = r1 = 0;
    if (sc == 1) {
        /* each pixel's vector built in a register: tile q's channels merged into lanes q * cin...
           by a masked load from its pixel address shifted down by q * cin floats (the lanes below
           are masked off, so nothing outside the pixel is read) */
        for (int64_t j = r0; j < r1; j++) {
            float *zr = sp + j * rs;
            uintptr_t base[FK_V];
            __mmask16 mq[FK_V];
            int64_t lo[FK_V], hi[FK_V], na = 0;
            for (int64_t q = 0; q < np; q++) {
                if (j < j0[q] || j >= j1[q]) continue;
                base[na] = (uintptr_t)(at[q].img + (at[q].iy0 + j) * s1 + at[q].ix0 * s2) - (uintptr_t)(q * cin) * sizeof(float);
                mq[na] = (__mmask16)(((1u << cin) - 1u) << (q * cin));
                lo[na] = i0[q];
                hi[na++] = i1[q];
            }
            /* the loads are independent (zero-masked) and blended after, so they overlap */
            for (int64_t i = 0; i < fw; i++) {
                __m512 v = _mm512_setzero_ps();
                for (int64_t k = 0; k < na; k++)
                    if (i >= lo[k] && i < hi[k])
                        v = _mm512_mask_mov_ps(
                            v, mq[k], _mm512_maskz_loadu_ps(mq[k], (const void *)(base[k] + (uintptr_t)(i * s2) * sizeof(float))));
                _mm512_store_ps(zr + i * FK_V, v);
            }
        }
        const FK(a_dst) ad = {a_t, a_step, cin, cin, np};
        FK(forward_rows_cols)(t, r0, r1, &ad);
        return;
    }
    /* channels not adjacent: lane by lane */
    for (int64_t j = r0; j < r1; j++) {
        float *zr = sp + j * rs;
        memset(zr, 0, (size_t)(fw * FK_V) * sizeof(float));
        for (int64_t q = 0; q < np; q++) {
            if (j < j0[q] || j >= j1[q]) continue;
            const float *srow = at[q].img + (at[q].iy0 + j) * s1 + at[q].ix0 * s2;
            for (int64_t i = i0[q]; i < i1[q]; i++) FK(load_part)(zr + i * FK_V + q * cin, srow + i * s2, sc, cin);
        }
    }
    const FK(a_dst) ad = {a_t, a_step, cin, cin, np};
    FK(forward_rows_cols)(t, r0, r1, &ad);
}
#endif

/*
 * The inverse transforms of one vector of lanes: the products (cs) into the tile buffer, column
 * transforms, the split step on rows [0, vh), row transforms, the pixels out (od). Packed, the
 * lanes of several tiles go through the same transforms (lanes never mix), vh being the most
 * rows any of them keeps.
 */
FAI void FK(inverse_vector)(const tile_ctx *t, const FK(c_src) *cs, const FK(o_dst) *od, int64_t vh, const int packed) {
    const fft_plan *p = t->p;
    const int64_t fh = p->fh, hw = p->hw, nfw = p->nfw, rs = nfw * FK_CV;
    const int64_t step = FFT_MAX / p->fw;
    float *sp = t->sp;
    FK(dit_first_from_c)(t, cs, packed);
    FK(fft_dit)(sp, fh, rs, FK_CV, nfw, 1, 0);
    /*
     * Rows kept, in place: Z'[k] = E + i conj(W^k) D with E = X[k] + conj(X[hw-k]),
     * D = X[k] - conj(X[hw-k]); Z'[hw-k] = conj(E) + i conj(conj(W^k) D). Then z = IDFT(Z')
     * holds 2 hw (x[2n] + i x[2n+1]).
     */
    for (int64_t j = 0; j < vh; j++) {
        float *x0 = sp + j * rs, *xh = x0 + hw * FK_CV;
        const FK(vec) xr = VLD(x0), xi = VLD(x0 + FK_V), yr = VLD(xh), yi = VLD(xh + FK_V);
        const FK(vec) er = xr + yr, ei = xi - yi, dr = xr - yr, di = xi + yi;
        VST(x0, er - di);
        VST(x0 + FK_V, ei + dr);
    }
    for (int64_t k = 1; k <= hw / 2; k++) {
        const float wr = TW[k * step][0], wi = TW[k * step][1];
        const int64_t pa = t->rev[k] * FK_CV, pb = t->rev[hw - k] * FK_CV;
        for (int64_t j = 0; j < vh; j++) {
            float *zr = sp + j * rs;
            const FK(vec) xr = VLD(zr + pa), xi = VLD(zr + pa + FK_V), yr = VLD(zr + pb), yi = VLD(zr + pb + FK_V);
            const FK(vec) er = xr + yr, ei = xi - yi, dr = xr - yr, di = xi + yi;
            const FK(vec) pr = dr * wr + di * wi, pi = di * wr - dr * wi; /* conj(W^k) D */
            VST(zr + pb, er + pi);      /* conj(E) + i conj(P) */
            VST(zr + pb + FK_V, pr - ei);
            VST(zr + pa, er - pi);      /* E + i P */
            VST(zr + pa + FK_V, ei + pr);
        }
    }
    FK(fft_dit)(sp, hw, FK_CV, rs, vh, 0, 1);
    FK(dit_last_to_out)(t, od, vh, packed); /* pixel i = x[i] */
}

/*
 * Inverse transform of one tile for the output channels [o0, o0 + n) of the group (a slice) into
 * the output pixels [0, vh) x [0, vw) of the tile at out (channel o0 of the group); bias and
 * activation for channels c_base... The tile's products are at c_t, frequency f at c_t + f * 2 n
 * (nc_s = 2 n columns in FFT_SLICE-channel groups): [Yr | Yi] per group, or when stacked the row
 * Xr [Ur | Ui] there and the row Xi [Ur | Ui] c_stride floats on.
 */
FAI void FK(inverse_tile)(const tile_ctx *t, const float *c_t, int64_t c_stride, int64_t n, float *out, int64_t vh,
                          int64_t vw, int64_t c_base, const float *bias) {
    const c4j_conv2d_desc *d = t->d;
    const fft_plan *p = t->p;
    const int64_t os1 = d->out_stride[1], os2 = d->out_stride[2];
    for (int64_t b = 0; b * FK_V < n; b++) {
        const int64_t o = b * FK_V, nb = C4J_MIN(FK_V, n - o);
        /* the vector's columns: its group's real parts, then imaginary parts */
        const int64_t grp = o / FFT_SLICE, re = grp * 2 * FFT_SLICE + o % FFT_SLICE;
        const int64_t im = re + C4J_MIN(FFT_SLICE, n - grp * FFT_SLICE);
        const FK(c_src) cs = {c_t, 2 * n, re, im, c_stride, nb, p->stacked, 0, 0};
        const FK(o_dst) od = {{out + o}, {vh}, {vw}, os1, os2, nb, 0};
        FK(inverse_vector)(t, &cs, &od, vh, 0);
        for (int64_t j = 0; j < vh; j++) c4j_epilogue_rows(d, bias, out + j * os1 + o, vw, os2, c_base + o, nb);
    }
}

#ifdef FK_MASKED
/*
 * The inverse of np <= FK_V / n consecutive tiles of a unit whose slice has n <= FK_V / 2 output
 * channels (p->pack_out): tile q in lanes [q n, (q + 1) n), so one set of transforms serves them
 * all (with 3 channels, 5 tiles per 16 lanes instead of 3 lanes of one). Tile q's products are
 * c_t + q * tile_step, its pixels at out[q] (vh[q] x vw[q]). Lanes never mix, so every output has
 * the bits the one-tile inverse gives it.
 */
FAI void FK(inverse_packed)(const tile_ctx *t, const float *c_t, int64_t tile_step, int64_t c_stride, int64_t n,
                            int64_t np, float *const *out, const int64_t *vh, const int64_t *vw, int64_t c_base,
                            const float *bias) {
    const c4j_conv2d_desc *d = t->d;
    const fft_plan *p = t->p;
    FK(o_dst) od;
    od.os1 = d->out_stride[1];
    od.os2 = d->out_stride[2];
    od.nb = n;
    od.np = np;
    int64_t rows = 0;
    for (int64_t q = 0; q < np; q++) {
        od.out[q] = out[q];
        od.vh[q] = vh[q];
        od.vw[q] = vw[q];
        rows = C4J_MAX(rows, vh[q]);
    }
    const FK(c_src) cs = {c_t, 2 * n, 0, n, c_stride, n, p->stacked, np, tile_step};
    FK(inverse_vector)(t, &cs, &od, rows, 1);
    for (int64_t q = 0; q < np; q++)
        for (int64_t j = 0; j < vh[q]; j++) c4j_epilogue_rows(d, bias, out[q] + j * od.os1, vw[q], od.os2, c_base, n);
}
#endif

/*
 * Units [u0, u1) in batches: consecutive units of one group whose blocks together have at most
 * p->cap tiles (a block is never cut). Per batch: every block's tiles forward into A (block k's
 * rows after the previous blocks'), then per frequency the sgemm of every unit (so B_f is read once
 * per batch), each unit's C_f after the previous units', then the inverse transforms. A unit's
 * values do not depend on the batch it is in.
 */
static FK_TARGET void FK(run)(const c4j_blas *blas, const c4j_conv2d_desc *d, const fft_plan *p, const float *in,
                            const float *prepared, const float *bias, float *out, float *ws, int64_t u0,
                            int64_t u1) {
    tile_ctx t;
    t.d = d;
    t.p = p;
    float *abuf = ws, *cbuf = ws + p->a_floats;
    t.sp = cbuf + p->c_floats;
    for (int64_t k = 0; k < p->hw; k++) t.rev[k] = bitrev(k, p->hw);
#ifdef FK_MASKED
    const int64_t cin = p->cin_g, pack = pack_of(cin, FK_V), pack_out = p->pack_out;
#else
    const int64_t cin = p->cin_g, pack = 1, pack_out = 1; /* see FK(forward_pack), FK(inverse_packed) */
#endif
    for (int64_t j = 0; j < 2 * FFT_VMAX; j++) { /* store_packed: position j of [Xr | Xi] rows */
        const int64_t q = j / (2 * cin), h = (j / cin) % 2, c = j % cin, lane = q * cin + c;
        t.perm[j / FFT_VMAX][j % FFT_VMAX] = (int32_t)(lane < FFT_VMAX ? h * FFT_VMAX + lane : 0);
    }
    const int64_t per_img = p->tiles_y * p->tiles_x, per_group = p->blocks * p->slices, ms = p->stacked ? 2 : 1;
    const int64_t a_step = p->a_step;
    for (int64_t ub = u0; ub < u1;) {
        const int64_t g = ub / per_group;
        int64_t T0, t0, t1, ue = ub, last = -1, tiles = 0;
        block_range(p->total, p->blocks, ub % per_group / p->slices, &T0, &t1);
        for (; ue < u1 && ue / per_group == g; ue++) {
            const int64_t blk = ue % per_group / p->slices;
            if (blk == last) continue;
            block_range(p->total, p->blocks, blk, &t0, &t1);
            if (tiles > 0 && tiles + t1 - t0 > p->cap) break;
            tiles += t1 - t0;
            last = blk;
        }
        /* forward: tiles [T0, T0 + tiles), packed within each block */
        for (int64_t blk = ub % per_group / p->slices; blk <= last; blk++) {
            block_range(p->total, p->blocks, blk, &t0, &t1);
            for (int64_t i = t0; i < t1; i += pack) {
                const int64_t np = C4J_MIN(pack, t1 - i);
                FK(tile_at) at[FK_V];
                for (int64_t q = 0; q < np; q++) {
                    const int64_t tile = i + q, n = tile / per_img, ty = (tile % per_img) / p->tiles_x,
                                  tx = tile % p->tiles_x;
                    at[q].img = in + n * d->in_stride[0] + g * cin * d->in_stride[3];
                    at[q].iy0 = ty * p->mh - d->pad_top;
                    at[q].ix0 = tx * p->mw - d->pad_left;
                }
                float *a_t = abuf + (i - T0) * 2 * cin;
#ifdef FK_MASKED
                if (pack > 1) {
                    FK(forward_pack)(&t, at, np, a_t, a_step);
                    continue;
                }
#endif
                FK(forward_tile)(&t, at, a_t, a_step);
            }
        }
        /*
         * Products: per frequency, every unit of the batch. C is tile-major so that the inverse
         * reads a tile's spectrum in order: a unit's C_f starts f * nc_s into its part, row r
         * (tile r, or row r of the stacked pairs) c_stride floats further per row.
         */
        const float *bg = prepared + g * p->nfreq * p->kb * p->nc;
        for (int64_t f = 0; f < p->nfreq; f++) {
            int64_t coff = 0;
            for (int64_t u = ub; u < ue; u++) {
                int64_t o0, n;
                block_range(p->total, p->blocks, u % per_group / p->slices, &t0, &t1);
                slice_range(p, u % p->slices, &o0, &n);
                const int64_t m = ms * (t1 - t0), c_stride = matrix_step(p->nfreq * 2 * n);
                blas->sgemm(C4J_ROW_MAJOR, C4J_NO_TRANS, C4J_NO_TRANS, (int)m, (int)(2 * n), (int)p->kb, 1.0f,
                            abuf + f * a_step + (t0 - T0) * 2 * cin, (int)p->kb, bg + f * p->kb * p->nc + 2 * o0,
                            (int)p->nc, 0.0f, cbuf + coff + f * 2 * n, (int)c_stride);
                coff += m * c_stride;
            }
        }
        /* inverse transforms, unit by unit, pack_out tiles per vector where the slice is narrow */
        int64_t coff = 0;
        for (int64_t u = ub; u < ue; u++) {
            int64_t o0, n;
            block_range(p->total, p->blocks, u % per_group / p->slices, &t0, &t1);
            slice_range(p, u % p->slices, &o0, &n);
            const int64_t c_stride = matrix_step(p->nfreq * 2 * n);
            for (int64_t tile = t0; tile < t1; tile += pack_out) {
                const int64_t np = C4J_MIN(pack_out, t1 - tile);
                float *o[FK_V];
                int64_t vh[FK_V], vw[FK_V];
                for (int64_t q = 0; q < np; q++) {
                    const int64_t tq = tile + q, img = tq / per_img, ty = (tq % per_img) / p->tiles_x,
                                  tx = tq % p->tiles_x;
                    const int64_t oy0 = ty * p->mh, ox0 = tx * p->mw;
                    vh[q] = C4J_MIN(p->mh, d->out_h - oy0);
                    vw[q] = C4J_MIN(p->mw, d->out_w - ox0);
                    o[q] = out + img * d->out_stride[0] + oy0 * d->out_stride[1] + ox0 * d->out_stride[2] +
                           g * p->cout_g + o0;
                }
                const float *c_t = cbuf + coff + (tile - t0) * ms * c_stride;
#ifdef FK_MASKED
                if (np > 1) {
                    FK(inverse_packed)(&t, c_t, ms * c_stride, c_stride, n, np, o, vh, vw, g * p->cout_g + o0, bias);
                    continue;
                }
#endif
                FK(inverse_tile)(&t, c_t, c_stride, n, o[0], vh[0], vw[0], g * p->cout_g + o0, bias);
            }
            coff += (t1 - t0) * ms * c_stride;
        }
        ub = ue;
    }
}

#undef VST
#undef VLD
#undef FAI
#undef FK_CV
#undef FK
#undef FK_CAT
#undef FK_CAT2
#undef FK_MASKED
#undef FK_TARGET
#undef FK_V
#undef FK_ISA
