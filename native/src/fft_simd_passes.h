/*
 * The transforms of fft_simd.h on vectors of FK_V channels: butterflies, loads and stores between
 * lanes and memory, and the fused first and last passes next to A, C and the output pixels.
 * Included by fft_simd.h only, once per instruction set, with its FK_* macros defined.
 */
/* (*r + i *im) *= (wr + i wi): one twiddle factor on a vector of complex points */
FAI void FK(cmul)(FK(vec) *r, FK(vec) *im, float wr, float wi) {
    const FK(vec) t = *r * wr - *im * wi;
    *im = *r * wi + *im * wr;
    *r = t;
}

/* Four complex vectors, points 0..3 of one radix-4 butterfly. */
typedef struct {
    FK(vec) r[4], i[4];
} FK(quad);

/* The radix-4 butterfly of the inverse (DIT) transforms, in place on points whose twiddles are
   already applied: z0 + z1 + (z2 + z3), (z0 - z1) + i (z2 - z3), (z0 + z1) - (z2 + z3),
   (z0 - z1) - i (z2 - z3). One helper for the transform and its fused first and last passes. */
FAI void FK(dit4)(FK(quad) *z) {
    const FK(vec) a0r = z->r[0] + z->r[1], a0i = z->i[0] + z->i[1];
    const FK(vec) a1r = z->r[0] - z->r[1], a1i = z->i[0] - z->i[1];
    const FK(vec) c2r = z->r[2] + z->r[3], c2i = z->i[2] + z->i[3];
    const FK(vec) c3r = z->r[2] - z->r[3], c3i = z->i[2] - z->i[3];
    z->r[0] = a0r + c2r, z->i[0] = a0i + c2i;
    z->r[1] = a1r - c3i, z->i[1] = a1i + c3r; /* a1 + i c3 */
    z->r[2] = a0r - c2r, z->i[2] = a0i - c2i;
    z->r[3] = a1r + c3i, z->i[3] = a1i - c3r; /* a1 - i c3 */
}

/* The twiddles of a DIT butterfly's points 1..3 (w1 = conj W^j, w2 = conj W^2j, w3 = conj W^3j):
   its inputs are in bit-reversed order, so point 1 takes W^2j and point 2 takes W^j. */
FAI void FK(twiddle3)(FK(quad) *z, float w1r, float w1i, float w2r, float w2i, float w3r, float w3i) {
    FK(cmul)(&z->r[1], &z->i[1], w2r, w2i);
    FK(cmul)(&z->r[2], &z->i[2], w1r, w1i);
    FK(cmul)(&z->r[3], &z->i[3], w3r, w3i);
}

/* the butterfly's four points at x0..x3 (real lanes, then FK_V imaginary lanes); written out
   point by point, as in dit4, so that the quad stays in registers */
FAI FK(quad) FK(load4)(const float *x0, const float *x1, const float *x2, const float *x3) {
    return (FK(quad)){{VLD(x0), VLD(x1), VLD(x2), VLD(x3)},
                      {VLD(x0 + FK_V), VLD(x1 + FK_V), VLD(x2 + FK_V), VLD(x3 + FK_V)}};
}

FAI void FK(store4)(float *x0, float *x1, float *x2, float *x3, const FK(quad) *z) {
    VST(x0, z->r[0]), VST(x0 + FK_V, z->i[0]);
    VST(x2, z->r[2]), VST(x2 + FK_V, z->i[2]);
    VST(x1, z->r[1]), VST(x1 + FK_V, z->i[1]);
    VST(x3, z->r[3]), VST(x3 + FK_V, z->i[3]);
}

/* a radix-2 pass over pairs of adjacent points (x0 + x1, x0 - x1): the last pass of the forward
   transform and the first of the inverse when log2(n) is odd; no twiddles either way */
FAI void FK(radix2_pass)(float *p, int64_t n, int64_t s, int64_t ws, int64_t w) {
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

/* ------------------------------------------------------------------ transforms on vectors of channels */

/*
 * A batch of `w` complex FFTs of n points (n a power of two, 2..FFT_MAX): point k of transform c is
 * the complex vector at p + k * s + c * ws (real parts, then imaginary parts at + FK_V).
 * Radix-4 passes (two radix-2 stages fused), plus one radix-2 pass when log2(n) is odd; butterflies
 * whose twiddles are all 1 (j = 0) skip the multiplications.
 */

/* forward, decimation in frequency: natural order in, bit-reversed out. skip_last leaves the last
   pass (radix-4 over groups of 4 points, or radix-2 over pairs when log2(n) is odd) to the caller
   (FK(dif_last_to_a)). */
FAI void FK(fft_dif)(float *p, int64_t n, int64_t s, int64_t ws, int64_t w, int skip_last) {
    const int odd = __builtin_ctzll((unsigned long long)n) & 1;
    int64_t L = n;
    for (; L >= 4; L >>= 2) {
        if (skip_last && !odd && L == 4) return;
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
    if (L == 2 && !skip_last) FK(radix2_pass)(p, n, s, ws, w);
}

/* inverse (conjugate twiddles, unnormalised), decimation in time: bit-reversed in, natural out.
   skip_first leaves the first pass (radix-2 when log2(n) is odd, else radix-4 over groups of 4
   points) to the caller (FK(dit_first_from_c)); skip_last the last (radix-4 over all n points) to
   FK(dit_last_to_out). */
FAI void FK(fft_dit)(float *p, int64_t n, int64_t s, int64_t ws, int64_t w, int skip_first, int skip_last) {
    int64_t L = 4;
    if (__builtin_ctzll((unsigned long long)n) & 1) {
        if (!skip_first) FK(radix2_pass)(p, n, s, ws, w);
        L = 8;
    } else if (skip_first) {
        L = 16;
    }
    for (; L <= n; L <<= 2) {
        if (skip_last && L == n) return;
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
                    FK(quad) z = FK(load4)(x0 + o, x1 + o, x2 + o, x3 + o);
                    if (j != 0) FK(twiddle3)(&z, w1r, w1i, w2r, w2i, w3r, w3i);
                    FK(dit4)(&z);
                    FK(store4)(x0 + o, x1 + o, x2 + o, x3 + o, &z);
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

/* dst[0..nb) = nb channels at src with channel stride sc (dst need not be aligned; the lanes
   around it are left alone) */
FAI void FK(load_part)(float *restrict dst, const float *restrict src, int64_t sc, int64_t nb) {
    for (int64_t l = 0; l < nb; l++) dst[l] = src[l * sc];
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

#ifdef FK_MASKED
/*
 * Packed lanes -> rows of A: re and im hold np tiles' cin channels in lanes q * cin + c; the rows
 * of consecutive tiles are consecutive in A, so dst gets [Xr | Xi] of tile 0, then of tile 1, ...:
 * 2 * np * cin <= 32 floats, two permutes of the lanes and two masked stores.
 */
FAI void FK(store_packed)(const tile_ctx *t, float *restrict dst, FK(vec) re, FK(vec) im, int64_t cin, int64_t np) {
    const int64_t n = 2 * np * cin;
    const __m512i lo = _mm512_load_si512((const void *)t->perm[0]), hi = _mm512_load_si512((const void *)t->perm[1]);
    _mm512_mask_storeu_ps(dst, (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u),
                          _mm512_permutex2var_ps((__m512)re, lo, (__m512)im));
    if (n > 16)
        _mm512_mask_storeu_ps(dst + 16, (__mmask16)((1u << (n - 16)) - 1u),
                              _mm512_permutex2var_ps((__m512)re, hi, (__m512)im));
}
#endif

/* nb lanes at src (unaligned), zeros above */
FAI FK(vec) FK(vload)(const float *src, int64_t nb) {
#ifdef FK_MASKED
    return (FK(vec))_mm512_maskz_loadu_ps((__mmask16)((1u << nb) - 1u), src);
#else
    FK(vec) v;
    if (nb == FK_V) {
        memcpy(&v, src, sizeof v);
        return v;
    }
    float tmp[FK_V] __attribute__((aligned(64))) = {0};
    for (int64_t l = 0; l < nb; l++) tmp[l] = src[l];
    return VLD(tmp);
#endif
}

/* dst[0..nb) = the first nb lanes of v */
FAI void FK(vstore)(float *dst, FK(vec) v, int64_t nb) {
#ifdef FK_MASKED
    _mm512_mask_storeu_ps(dst, (__mmask16)((1u << nb) - 1u), (__m512)v);
#else
    if (nb == FK_V) {
        memcpy(dst, &v, sizeof v);
        return;
    }
    float tmp[FK_V] __attribute__((aligned(64)));
    VST(tmp, v);
    for (int64_t l = 0; l < nb; l++) dst[l] = tmp[l];
#endif
}

/* ------------------------------------------------------------------ fused first and last passes */

/* Where the forward column transform's last pass puts its results: frequency f of the tile(s) goes
   to A_f (a_t + f * a_step), nb channels of one tile at lane 0 (np == 0) or np packed tiles. */
typedef struct {
    float *a_t;
    int64_t a_step, cin, nb, np;
} FK(a_dst);

FAI void FK(to_a)(const tile_ctx *t, const FK(a_dst) *ad, int64_t f, FK(vec) re, FK(vec) im) {
    float *a = ad->a_t + f * ad->a_step;
#ifdef FK_MASKED
    if (ad->np > 0) {
        FK(store_packed)(t, a, re, im, ad->cin, ad->np);
        return;
    }
#else
    (void)t;
#endif
    FK(vstore)(a, re, ad->nb);
    FK(vstore)(a + ad->cin, im, ad->nb);
}

/* The last DIF pass of the column transforms (fh points, nfw columns of the tile buffer, see
   fft_dif), its results stored straight into A instead of back into the tile buffer. */
FAI void FK(dif_last_to_a)(const tile_ctx *t, const FK(a_dst) *ad) {
    const fft_plan *p = t->p;
    const int64_t n = p->fh, nfw = p->nfw, rs = nfw * FK_CV;
    const float *sp = t->sp;
    if (__builtin_ctzll((unsigned long long)n) & 1) {
        for (int64_t blk = 0; blk < n; blk += 2)
            for (int64_t c = 0; c < nfw; c++) {
                const float *x0 = sp + blk * rs + c * FK_CV, *x1 = x0 + rs;
                const FK(vec) a0r = VLD(x0), a0i = VLD(x0 + FK_V), a1r = VLD(x1), a1i = VLD(x1 + FK_V);
                FK(to_a)(t, ad, blk * nfw + c, a0r + a1r, a0i + a1i);
                FK(to_a)(t, ad, (blk + 1) * nfw + c, a0r - a1r, a0i - a1i);
            }
        return;
    }
    for (int64_t blk = 0; blk < n; blk += 4)
        for (int64_t c = 0; c < nfw; c++) {
            const float *x0 = sp + blk * rs + c * FK_CV, *x1 = x0 + rs, *x2 = x1 + rs, *x3 = x2 + rs;
            const FK(vec) a0r = VLD(x0), a0i = VLD(x0 + FK_V), a1r = VLD(x1), a1i = VLD(x1 + FK_V);
            const FK(vec) a2r = VLD(x2), a2i = VLD(x2 + FK_V), a3r = VLD(x3), a3i = VLD(x3 + FK_V);
            const FK(vec) t0r = a0r + a2r, t0i = a0i + a2i;
            const FK(vec) t1r = a1r + a3r, t1i = a1i + a3i;
            const FK(vec) t2r = a0r - a2r, t2i = a0i - a2i;
            const FK(vec) t3r = a1i - a3i, t3i = a3r - a1r; /* -i (x1 - x3) */
            FK(to_a)(t, ad, blk * nfw + c, t0r + t1r, t0i + t1i);
            FK(to_a)(t, ad, (blk + 1) * nfw + c, t0r - t1r, t0i - t1i);
            FK(to_a)(t, ad, (blk + 2) * nfw + c, t2r + t3r, t2i + t3i);
            FK(to_a)(t, ad, (blk + 3) * nfw + c, t2r - t3r, t2i - t3i);
        }
}

/* Frequency f of one tile's products, one vector of output channels: block form [Yr | Yi] at re
   and im; stacked, Y = (Xr Ur - Xi Ui) + i (Xr Ui + Xi Ur) from the rows Xr and Xi (xi floats on).
   Packed (np > 0, AVX-512 only): np tiles of nb channels each, tile q's row tile_step floats after
   tile q - 1's, in lanes [q nb, (q + 1) nb). */
typedef struct {
    const float *c_t;
    int64_t nc, re, im, xi, nb, stacked, np, tile_step;
} FK(c_src);

#ifdef FK_MASKED
/* lanes [q nb, (q + 1) nb) = nb floats at src + q * step for q < np, zeros above: each tile's
   masked load from its address shifted down by q nb floats (the lanes below are masked off, so
   nothing outside the row is read); the loads are independent and blended after */
FAI FK(vec) FK(vload_packed)(const float *src, int64_t step, int64_t nb, int64_t np) {
    __m512 v = _mm512_setzero_ps();
    for (int64_t q = 0; q < np; q++) {
        const __mmask16 m = (__mmask16)(((1u << nb) - 1u) << (q * nb));
        const uintptr_t a = (uintptr_t)src + (uintptr_t)(q * step - q * nb) * sizeof(float);
        v = _mm512_mask_mov_ps(v, m, _mm512_maskz_loadu_ps(m, (const void *)a));
    }
    return (FK(vec))v;
}
#define FK_CLOAD(cs, src, packed)                                                                                 \
    ((packed) ? FK(vload_packed)(src, (cs)->tile_step, (cs)->nb, (cs)->np) : FK(vload)(src, (cs)->nb))
#else
#define FK_CLOAD(cs, src, packed) FK(vload)(src, (cs)->nb)
#endif

FAI void FK(from_c)(const FK(c_src) *cs, int64_t f, FK(vec) *re, FK(vec) *im, const int packed) {
    (void)packed;
    const float *r = cs->c_t + f * cs->nc;
    if (!cs->stacked) {
        *re = FK_CLOAD(cs, r + cs->re, packed);
        *im = FK_CLOAD(cs, r + cs->im, packed);
        return;
    }
    *re = FK_CLOAD(cs, r + cs->re, packed) - FK_CLOAD(cs, r + cs->xi + cs->im, packed);
    *im = FK_CLOAD(cs, r + cs->im, packed) + FK_CLOAD(cs, r + cs->xi + cs->re, packed);
}
#undef FK_CLOAD

/* The first DIT pass of the inverse column transforms (fh points, nfw columns, see fft_dit), its
   inputs read straight from C instead of the tile buffer. */
FAI void FK(dit_first_from_c)(const tile_ctx *t, const FK(c_src) *cs, const int packed) {
    const fft_plan *p = t->p;
    const int64_t n = p->fh, nfw = p->nfw, rs = nfw * FK_CV;
    float *sp = t->sp;
    if (__builtin_ctzll((unsigned long long)n) & 1) {
        for (int64_t blk = 0; blk < n; blk += 2)
            for (int64_t c = 0; c < nfw; c++) {
                float *x0 = sp + blk * rs + c * FK_CV, *x1 = x0 + rs;
                FK(vec) a0r, a0i, a1r, a1i;
                FK(from_c)(cs, blk * nfw + c, &a0r, &a0i, packed);
                FK(from_c)(cs, (blk + 1) * nfw + c, &a1r, &a1i, packed);
                VST(x0, a0r + a1r);
                VST(x0 + FK_V, a0i + a1i);
                VST(x1, a0r - a1r);
                VST(x1 + FK_V, a0i - a1i);
            }
        return;
    }
    for (int64_t blk = 0; blk < n; blk += 4)
        for (int64_t c = 0; c < nfw; c++) {
            float *x0 = sp + blk * rs + c * FK_CV, *x1 = x0 + rs, *x2 = x1 + rs, *x3 = x2 + rs;
            FK(quad) z;
            FK(from_c)(cs, blk * nfw + c, &z.r[0], &z.i[0], packed);
            FK(from_c)(cs, (blk + 1) * nfw + c, &z.r[1], &z.i[1], packed);
            FK(from_c)(cs, (blk + 2) * nfw + c, &z.r[2], &z.i[2], packed);
            FK(from_c)(cs, (blk + 3) * nfw + c, &z.r[3], &z.i[3], packed);
            FK(dit4)(&z);
            FK(store4)(x0, x1, x2, x3, &z);
        }
}

/* Where the inverse's last pass puts one vector of output channels: the tile's output pixels
   (out: its top-left pixel, vh x vw of them, nb channels at lane 0), or packed (np > 0, AVX-512
   only) np tiles' pixels, tile q's nb channels in lanes [q nb, (q + 1) nb). */
typedef struct {
    float *out[FK_V];
    int64_t vh[FK_V], vw[FK_V];
    int64_t os1, os2, nb, np;
} FK(o_dst);

/* pixel px of row r: lanes of v to the tile (or every packed tile) that has that pixel */
FAI void FK(to_out)(const FK(o_dst) *od, int64_t r, int64_t px, FK(vec) v, const int packed) {
#ifdef FK_MASKED
    if (packed) {
        for (int64_t q = 0; q < od->np; q++) {
            if (r >= od->vh[q] || px >= od->vw[q]) continue;
            const __mmask16 m = (__mmask16)(((1u << od->nb) - 1u) << (q * od->nb));
            const uintptr_t a = (uintptr_t)(od->out[q] + r * od->os1 + px * od->os2) - (uintptr_t)(q * od->nb) * sizeof(float);
            _mm512_mask_storeu_ps((void *)a, m, (__m512)v);
        }
        return;
    }
#endif
    (void)packed;
    if (px < od->vw[0]) FK(vstore)(od->out[0] + r * od->os1 + px * od->os2, v, od->nb);
}

/* The last DIT pass of the inverse row transforms (hw points, rows [0, vh), radix-4 over all
   points), its results stored straight into the output: point k holds pixels 2k and 2k + 1. */
FAI void FK(dit_last_to_out)(const tile_ctx *t, const FK(o_dst) *od, int64_t vh, const int packed) {
    const fft_plan *p = t->p;
    const int64_t n = p->hw, rs = p->nfw * FK_CV, q = n >> 2, step = FFT_MAX / n;
    const float *sp = t->sp;
    for (int64_t j = 0; j < q; j++) {
        const float w1r = TW[j * step][0], w1i = -TW[j * step][1];
        const float w2r = TW[2 * j * step][0], w2i = -TW[2 * j * step][1];
        const float w3r = TW[3 * j * step][0], w3i = -TW[3 * j * step][1];
        const int64_t px0 = 2 * j, px1 = 2 * (j + q), px2 = 2 * (j + 2 * q), px3 = 2 * (j + 3 * q);
        for (int64_t r = 0; r < vh; r++) {
            const float *x0 = sp + r * rs + j * FK_CV, *x1 = x0 + q * FK_CV, *x2 = x1 + q * FK_CV, *x3 = x2 + q * FK_CV;
            FK(quad) z = FK(load4)(x0, x1, x2, x3);
            if (j != 0) FK(twiddle3)(&z, w1r, w1i, w2r, w2i, w3r, w3i);
            FK(dit4)(&z);
            FK(to_out)(od, r, px0, z.r[0], packed);
            FK(to_out)(od, r, px0 + 1, z.i[0], packed);
            FK(to_out)(od, r, px2, z.r[2], packed);
            FK(to_out)(od, r, px2 + 1, z.i[2], packed);
            FK(to_out)(od, r, px1, z.r[1], packed);
            FK(to_out)(od, r, px1 + 1, z.i[1], packed);
            FK(to_out)(od, r, px3, z.r[3], packed);
            FK(to_out)(od, r, px3 + 1, z.i[3], packed);
        }
    }
}
