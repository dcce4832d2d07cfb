/*
 * The vector kernels of fft.c, included there once per instruction set (a C template): before each
 * inclusion fft.c defines
 *   FK_ISA     suffix of every name defined here (portable, avx2, avx512)
 *   FK_V       SIMD lanes = channels per vector (4, 8, 16); the tile buffer holds complex vectors
 *              of FK_V real parts followed by FK_V imaginary parts
 *   FK_TARGET  the target attribute of the functions (empty for the portable build)
 *   FK_MASKED  (optional) AVX-512 masked loads and stores for partial channel blocks
 * Every width gives the same results up to rounding; GCC lowers vectors wider than the target's
 * registers poorly, hence one instantiation per width instead of one 16-lane kernel everywhere.
 */
#define FK_CAT2(a, b) a##_##b
#define FK_CAT(a, b) FK_CAT2(a, b)
#define FK(name) FK_CAT(name, FK_ISA)
#define FK_CV (2 * FK_V)
#define FAI static inline __attribute__((always_inline)) FK_TARGET

typedef float FK(vec) __attribute__((vector_size(FK_V * sizeof(float))));
#define VLD(p) (*(const FK(vec) *)(const void *)(p))
#define VST(p, v) (*(FK(vec) *)(void *)(p) = (v))

/* ------------------------------------------------------------------ transforms on vectors of channels */

/*
 * A batch of `w` complex FFTs of n points (n a power of two, 2..FFT_MAX): point k of transform c is
 * the complex vector at p + k * s + c * ws (real parts, then imaginary parts at + FK_V).
 * Radix-4 passes (two radix-2 stages fused), plus one radix-2 pass when log2(n) is odd; butterflies
 * whose twiddles are all 1 (j = 0) skip the multiplications.
 */

/* forward, decimation in frequency: natural order in, bit-reversed out */
FAI void FK(fft_dif)(float *p, int64_t n, int64_t s, int64_t ws, int64_t w) {
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
                    const FK(vec) a0r = VLD(x0 + o), a0i = VLD(x0 + o + FK_V);
                    const FK(vec) a1r = VLD(x1 + o), a1i = VLD(x1 + o + FK_V);
                    const FK(vec) a2r = VLD(x2 + o), a2i = VLD(x2 + o + FK_V);
                    const FK(vec) a3r = VLD(x3 + o), a3i = VLD(x3 + o + FK_V);
                    const FK(vec) t0r = a0r + a2r, t0i = a0i + a2i;
                    const FK(vec) t1r = a1r + a3r, t1i = a1i + a3i;
                    const FK(vec) t2r = a0r - a2r, t2i = a0i - a2i;
                    const FK(vec) t3r = a1i - a3i, t3i = a3r - a1r; /* -i (x1 - x3) */
                    VST(x0 + o, t0r + t1r);
                    VST(x0 + o + FK_V, t0i + t1i);
                    if (j == 0) {
                        VST(x1 + o, t0r - t1r);
                        VST(x1 + o + FK_V, t0i - t1i);
                        VST(x2 + o, t2r + t3r);
                        VST(x2 + o + FK_V, t2i + t3i);
                        VST(x3 + o, t2r - t3r);
                        VST(x3 + o + FK_V, t2i - t3i);
                        continue;
                    }
                    FK(vec) ur = t0r - t1r, ui = t0i - t1i;
                    VST(x1 + o, ur * w2r - ui * w2i);
                    VST(x1 + o + FK_V, ur * w2i + ui * w2r);
                    ur = t2r + t3r;
                    ui = t2i + t3i;
                    VST(x2 + o, ur * w1r - ui * w1i);
                    VST(x2 + o + FK_V, ur * w1i + ui * w1r);
                    ur = t2r - t3r;
                    ui = t2i - t3i;
                    VST(x3 + o, ur * w3r - ui * w3i);
                    VST(x3 + o + FK_V, ur * w3i + ui * w3r);
                }
            }
        }
    }
    if (L == 2) {
        for (int64_t blk = 0; blk < n; blk += 2) {
            float *x0 = p + blk * s, *x1 = x0 + s;
            for (int64_t c = 0; c < w; c++) {
                const int64_t o = c * ws;
                const FK(vec) a0r = VLD(x0 + o), a0i = VLD(x0 + o + FK_V);
                const FK(vec) a1r = VLD(x1 + o), a1i = VLD(x1 + o + FK_V);
                VST(x0 + o, a0r + a1r);
                VST(x0 + o + FK_V, a0i + a1i);
                VST(x1 + o, a0r - a1r);
                VST(x1 + o + FK_V, a0i - a1i);
            }
        }
    }
}

/* inverse (conjugate twiddles, unnormalised), decimation in time: bit-reversed in, natural out */
FAI void FK(fft_dit)(float *p, int64_t n, int64_t s, int64_t ws, int64_t w) {
    int64_t L = 4;
    if (__builtin_ctzll((unsigned long long)n) & 1) {
        for (int64_t blk = 0; blk < n; blk += 2) {
            float *x0 = p + blk * s, *x1 = x0 + s;
            for (int64_t c = 0; c < w; c++) {
                const int64_t o = c * ws;
                const FK(vec) a0r = VLD(x0 + o), a0i = VLD(x0 + o + FK_V);
                const FK(vec) a1r = VLD(x1 + o), a1i = VLD(x1 + o + FK_V);
                VST(x0 + o, a0r + a1r);
                VST(x0 + o + FK_V, a0i + a1i);
                VST(x1 + o, a0r - a1r);
                VST(x1 + o + FK_V, a0i - a1i);
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
                    const FK(vec) y0r = VLD(x0 + o), y0i = VLD(x0 + o + FK_V);
                    FK(vec) u1r = VLD(x1 + o), u1i = VLD(x1 + o + FK_V);
                    FK(vec) u2r = VLD(x2 + o), u2i = VLD(x2 + o + FK_V);
                    FK(vec) u3r = VLD(x3 + o), u3i = VLD(x3 + o + FK_V);
                    if (j != 0) {
                        FK(vec) tr = u1r * w2r - u1i * w2i;
                        u1i = u1r * w2i + u1i * w2r;
                        u1r = tr;
                        tr = u2r * w1r - u2i * w1i;
                        u2i = u2r * w1i + u2i * w1r;
                        u2r = tr;
                        tr = u3r * w3r - u3i * w3i;
                        u3i = u3r * w3i + u3i * w3r;
                        u3r = tr;
                    }
                    const FK(vec) a0r = y0r + u1r, a0i = y0i + u1i;
                    const FK(vec) a1r = y0r - u1r, a1i = y0i - u1i;
                    const FK(vec) c2r = u2r + u3r, c2i = u2i + u3i;
                    const FK(vec) c3r = u2r - u3r, c3i = u2i - u3i;
                    VST(x0 + o, a0r + c2r);
                    VST(x0 + o + FK_V, a0i + c2i);
                    VST(x2 + o, a0r - c2r);
                    VST(x2 + o + FK_V, a0i - c2i);
                    VST(x1 + o, a1r - c3i); /* a1 + i c3 */
                    VST(x1 + o + FK_V, a1i + c3r);
                    VST(x3 + o, a1r + c3i); /* a1 - i c3 */
                    VST(x3 + o + FK_V, a1i - c3r);
                }
            }
        }
    }
}

/* ------------------------------------------------------------------ lanes <-> memory */

/* dst (FK_V lanes, aligned) = nb channels at src with channel stride sc, zeros above */
FAI void FK(load)(float *restrict dst, const float *restrict src, int64_t sc, int64_t nb) {
#ifdef FK_MASKED
    if (sc == 1) {
        _mm512_store_ps(dst, _mm512_maskz_loadu_ps((__mmask16)((1u << nb) - 1u), src));
        return;
    }
#else
    if (sc == 1 && nb == FK_V) {
        FK(vec) v;
        memcpy(&v, src, sizeof v);
        VST(dst, v);
        return;
    }
#endif
    int64_t l = 0;
    for (; l < nb; l++) dst[l] = src[l * sc];
    for (; l < FK_V; l++) dst[l] = 0.0f;
}

/* dst[0..nb) = the first nb lanes of src (aligned) */
FAI void FK(store)(float *restrict dst, const float *restrict src, int64_t nb) {
#ifdef FK_MASKED
    _mm512_mask_storeu_ps(dst, (__mmask16)((1u << nb) - 1u), _mm512_load_ps(src));
#else
    if (nb == FK_V) {
        memcpy(dst, src, FK_V * sizeof(float));
        return;
    }
    for (int64_t l = 0; l < nb; l++) dst[l] = src[l];
#endif
}

/* ------------------------------------------------------------------ one unit */

/*
 * Forward transform of one input tile (origin iy0, ix0 in image img, group's channels) into row a_t
 * of every A_f (A_f = a_t + f * a_step). Row j of the tile buffer first holds z[n] = x[2n] + i x[2n+1]
 * of input row j, then (in place) its half spectrum, then the column transforms run over all rows.
 */
FAI void FK(forward_tile)(const tile_ctx *t, const float *img, int64_t iy0, int64_t ix0, float *a_t,
                          int64_t a_step) {
    const c4j_conv2d_desc *d = t->d;
    const fft_plan *p = t->p;
    const int64_t fh = p->fh, fw = p->fw, hw = p->hw, nfw = p->nfw, rs = nfw * FK_CV;
    const int64_t s1 = d->in_stride[1], s2 = d->in_stride[2], sc = d->in_stride[3];
    float *sp = t->sp;
    /* rows and columns of the tile inside the image: [j0, j1) x [i0, i1) */
    const int64_t j0 = C4J_MIN(fh, C4J_MAX(0, -iy0)), j1 = C4J_MAX(j0, C4J_MIN(fh, d->in_h - iy0));
    const int64_t i0 = C4J_MIN(fw, C4J_MAX(0, -ix0)), i1 = C4J_MAX(i0, C4J_MIN(fw, d->in_w - ix0));
    const int64_t step = FFT_MAX / fw;
    for (int64_t b = 0; b * FK_V < p->cin_g; b++) {
        const int64_t nb = C4J_MIN(FK_V, p->cin_g - b * FK_V);
        const float *src = img + b * FK_V * sc;
        for (int64_t j = j0; j < j1; j++) {
            float *zr = sp + j * rs;
            const float *srow = src + (iy0 + j) * s1;
            /* pixel i is the real (even i) or imaginary part of point i / 2: lanes at zr + i * FK_V */
            memset(zr, 0, (size_t)(i0 * FK_V) * sizeof(float));
            for (int64_t i = i0; i < i1; i++) FK(load)(zr + i * FK_V, srow + (ix0 + i) * s2, sc, nb);
            memset(zr + i1 * FK_V, 0, (size_t)((fw - i1) * FK_V) * sizeof(float));
        }
        if (j1 > j0) {
            FK(fft_dif)(sp + j0 * rs, hw, FK_CV, rs, j1 - j0);
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
        FK(fft_dif)(sp, fh, rs, FK_CV, nfw);
        /* into A: per frequency, [Xr | Xi] */
        float *a = a_t + b * FK_V;
        for (int64_t f = 0; f < p->nfreq; f++) {
            FK(store)(a + f * a_step, sp + f * FK_CV, nb);
            FK(store)(a + f * a_step + p->cin_g, sp + f * FK_CV + FK_V, nb);
        }
    }
}

/*
 * Inverse transform of row c_t of every C_f (C_f = c_t + f * c_step) into the output pixels
 * [0, vh) x [0, vw) of the tile at out; bias and activation for channels c_base...
 */
FAI void FK(inverse_tile)(const tile_ctx *t, const float *c_t, int64_t c_step, float *out, int64_t vh, int64_t vw,
                          int64_t c_base, const float *bias) {
    const c4j_conv2d_desc *d = t->d;
    const fft_plan *p = t->p;
    const int64_t fh = p->fh, fw = p->fw, hw = p->hw, nfw = p->nfw, rs = nfw * FK_CV;
    float *sp = t->sp;
    const int64_t os1 = d->out_stride[1], os2 = d->out_stride[2];
    const int64_t step = FFT_MAX / fw;
    for (int64_t b = 0; b * FK_V < p->cout_g; b++) {
        const int64_t nb = C4J_MIN(FK_V, p->cout_g - b * FK_V);
        /* block form: [Yr | Yi]; stacked: Y = (Xr Ur - Xi Ui) + i (Xr Ui + Xi Ur) from the rows
           Xr [Ur | Ui] and Xi [Ur | Ui] */
        const float *cb = c_t + b * FK_V;
        const int64_t co = p->cout_g, nc = p->nc;
        for (int64_t f = 0; f < p->nfreq && !p->stacked; f++) {
            FK(load)(sp + f * FK_CV, cb + f * c_step, 1, nb);
            FK(load)(sp + f * FK_CV + FK_V, cb + f * c_step + co, 1, nb);
        }
        for (int64_t f = 0; f < p->nfreq && p->stacked; f++) {
            float *x = sp + f * FK_CV;
            const float *r = cb + f * c_step;
            float q[4][FK_V] __attribute__((aligned(64)));
            FK(load)(q[0], r, 1, nb);           /* Xr Ur */
            FK(load)(q[1], r + co, 1, nb);      /* Xr Ui */
            FK(load)(q[2], r + nc, 1, nb);      /* Xi Ur */
            FK(load)(q[3], r + nc + co, 1, nb); /* Xi Ui */
            VST(x, VLD(q[0]) - VLD(q[3]));
            VST(x + FK_V, VLD(q[1]) + VLD(q[2]));
        }
        FK(fft_dit)(sp, fh, rs, FK_CV, nfw);
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
        FK(fft_dit)(sp, hw, FK_CV, rs, vh);
        for (int64_t j = 0; j < vh; j++) {
            float *orow = out + j * os1 + b * FK_V;
            const float *zr = sp + j * rs;
            for (int64_t i = 0; i < vw; i++) FK(store)(orow + i * os2, zr + i * FK_V, nb); /* x[i] */
            c4j_epilogue_rows(d, bias, orow, vw, os2, c_base + b * FK_V, nb);
        }
    }
}

static FK_TARGET void FK(run)(const c4j_blas *blas, const c4j_conv2d_desc *d, const fft_plan *p, const float *in,
                            const float *prepared, const float *bias, float *out, float *ws, int64_t u0,
                            int64_t u1) {
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
            FK(forward_tile)(&t, img, ty * p->mh - d->pad_top, tx * p->mw - d->pad_left, abuf + i * 2 * p->cin_g,
                             a_step);
        }
        const float *bg = prepared + g * p->nfreq * p->kb * p->nc;
        const int64_t m = p->stacked ? 2 * tn : tn;
        for (int64_t f = 0; f < p->nfreq; f++) {
            blas->sgemm(C4J_ROW_MAJOR, C4J_NO_TRANS, C4J_NO_TRANS, (int)m, (int)p->nc, (int)p->kb, 1.0f,
                        abuf + f * a_step, (int)p->kb, bg + f * p->kb * p->nc, (int)p->nc, 0.0f, cbuf + f * c_step,
                        (int)p->nc);
        }
        for (int64_t i = 0; i < tn; i++) {
            const int64_t tile = t0 + i, n = tile / per_img, ty = (tile % per_img) / p->tiles_x,
                          tx = tile % p->tiles_x;
            const int64_t oy0 = ty * p->mh, ox0 = tx * p->mw;
            const int64_t vh = C4J_MIN(p->mh, d->out_h - oy0), vw = C4J_MIN(p->mw, d->out_w - ox0);
            float *o = out + n * d->out_stride[0] + oy0 * d->out_stride[1] + ox0 * d->out_stride[2] + g * p->cout_g;
            FK(inverse_tile)(&t, cbuf + i * p->crow, c_step, o, vh, vw, g * p->cout_g, bias);
        }
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
