/*
 * The register-blocked kernel of direct_dense.c, included there once per instruction set (a C
 * template, as grouped_direct_simd.h): before each inclusion direct_dense.c defines
 *   DD_ISA     suffix of every name defined here (portable, avx2, avx512)
 *   DD_V       lanes per vector (4, 8, 16)
 *   DD_NV      vectors of output channels per pass (a pass covers DD_NV * DD_V lanes of a block)
 *   DD_NB      output pixels per tile
 *   DD_TARGET  the target attribute of the functions (empty for the portable build)
 * DD_NB x DD_NV accumulators, DD_NV filter vectors and one broadcast input value must fit the
 * vector registers: 12 x 2 + 2 + 1 of AVX-512's 32, 6 x 2 + 2 + 1 of AVX2's 16. Each step (one
 * input channel of one tap) loads DD_NV filter vectors and DD_NB input scalars for DD_NB x DD_NV
 * multiply-adds. Every width sums an output in the same order (taps row by row, input channels in
 * order, then the bias), so widths differ only in which channels share a vector.
 */
#define DD_CAT2(a, b) a##_##b
#define DD_CAT(a, b) DD_CAT2(a, b)
#define DD(name) DD_CAT(name, DD_ISA)
#define DAI static inline __attribute__((always_inline)) DD_TARGET

typedef float DD(vec) __attribute__((vector_size(DD_V * sizeof(float))));
typedef float DD(uvec) __attribute__((vector_size(DD_V * sizeof(float)), aligned(4)));
typedef int32_t DD(ivec) __attribute__((vector_size(DD_V * sizeof(float))));

/* bias, then the fused activation (c4j_relu / c4j_relu6 on vectors: NaN passes through), then
   `lanes` channels stored */
DAI void DD(finish)(DD(vec) acc, const float *bias, int act, float *o, int64_t lanes) {
    if (bias != NULL) {
        if (lanes >= DD_V) {
            acc += *(const DD(uvec) *)(const void *)bias;
        } else {
            float b[DD_V] = {0};
            memcpy(b, bias, sizeof(float) * (size_t)lanes);
            acc += *(const DD(uvec) *)(const void *)b;
        }
    }
    if (act != C4J_ACT_NONE) {
        const DD(vec) zero = {0};
        const DD(ivec) neg = acc <= zero; /* as c4j_relu: -0 becomes +0, NaN passes */
        acc = (DD(vec))((DD(ivec))acc & ~neg);
        if (act == C4J_ACT_RELU6) {
            const DD(vec) six = zero + 6.0f;
            const DD(ivec) big = acc >= six;
            acc = (DD(vec))(((DD(ivec))acc & ~big) | ((DD(ivec))six & big));
        }
    }
    if (lanes >= DD_V) {
        *(DD(uvec) *)(void *)o = acc;
    } else {
        float t[DD_V];
        *(DD(uvec) *)(void *)t = acc;
        memcpy(o, t, sizeof(float) * (size_t)lanes);
    }
}

/*
 * nb output pixels x nv vectors of output channels (constants where inlined). Each pixel reads its
 * window from its own start p0[j] (input in place, or the unit's zero-padded copy of it), so
 * pixels of the next output row and border pixels run the same loop as the interior.
 */
DAI void DD(tile)(const dd_tile *t, const int nb, const int nv) {
    DD(vec) acc[DD_NB][DD_NV];
    _Pragma("GCC unroll 16") for (int j = 0; j < nb; j++) {
        _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) acc[j][v] = (DD(vec)){0};
    }
    const int64_t values = t->values;
    const float *w = t->w;
    for (int64_t kh = 0; kh < t->kh; kh++) {
        for (int64_t kw = 0; kw < t->kw; kw++, w += values * DD_CB) {
            const int64_t off = kh * t->hoff + kw * t->woff;
            const float *p[DD_NB];
            _Pragma("GCC unroll 16") for (int j = 0; j < nb; j++) p[j] = t->p0[j] + off;
            for (int64_t c = 0; c < values; c++) {
                DD(vec) wv[DD_NV];
                _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++)
                    wv[v] = *(const DD(uvec) *)(const void *)(w + c * DD_CB + v * DD_V);
                _Pragma("GCC unroll 16") for (int j = 0; j < nb; j++) {
                    const float x = p[j][c];
                    _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) acc[j][v] += x * wv[v];
                }
            }
        }
    }
    _Pragma("GCC unroll 16") for (int j = 0; j < nb; j++) {
        _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) {
            const int64_t lanes = t->lanes - v * DD_V;
            if (lanes > 0)
                DD(finish)(acc[j][v], t->bias != NULL ? t->bias + v * DD_V : NULL, t->act, t->o[j] + v * DD_V, lanes);
        }
    }
}

/* one copy per tile width and vector count, each with its constants folded in */
#define DD_VARIANT(name, NB, NV)                                                                        \
    static __attribute__((noinline)) DD_TARGET void DD(name)(const dd_tile *t) { DD(tile)(t, NB, NV); }
DD_VARIANT(full, DD_NB, DD_NV)
DD_VARIANT(full1, DD_NB, 1)
DD_VARIANT(four, 4, DD_NV)
DD_VARIANT(four1, 4, 1)
DD_VARIANT(one, 1, DD_NV)
DD_VARIANT(one1, 1, 1)
#undef DD_VARIANT

/*
 * Output pixels [q0, q1) of one image (row-major over the output rows) for filter blocks [b0, b1),
 * reading src (see dd_source): tiles of DD_NB pixels, then of 4, then single pixels; each tile
 * runs every block's lanes pass by pass, its input pixels staying in L1 across blocks and passes.
 */
static DD_TARGET void DD(pixels)(dd_tile *t, const c4j_conv2d_desc *d, const dd_source *src, int64_t q0, int64_t q1,
                                 const float *prepared, int64_t b0, int64_t b1, const float *bias, float *oimg) {
    const int64_t pass_lanes = DD_NV * DD_V, bf = dd_block_floats(d);
    for (int64_t q = q0; q < q1;) {
        const int64_t left = q1 - q, nb = left >= DD_NB ? DD_NB : left >= 4 ? 4 : 1;
        float *o0[DD_NB];
        /* pixel q + j at (oh, ow), stepped along the row (no division per pixel) */
        int64_t oh = q / d->out_w, ow = q % d->out_w;
        for (int64_t j = 0; j < nb; j++) {
            t->p0[j] = src->base + (oh - src->oh0) * d->stride_h * src->rs + ow * d->stride_w * src->ps;
            o0[j] = oimg + oh * d->out_stride[1] + ow * d->out_stride[2];
            if (++ow == d->out_w) ow = 0, oh++;
        }
        for (int64_t b = b0; b < b1; b++) {
            const int64_t ob = b * DD_CB, cw = C4J_MIN(DD_CB, d->out_c - ob);
            for (int64_t l0 = 0; l0 < cw; l0 += pass_lanes) {
                t->lanes = C4J_MIN(pass_lanes, cw - l0);
                t->w = prepared + b * bf + l0;
                t->bias = bias != NULL ? bias + ob + l0 : NULL;
                for (int64_t j = 0; j < nb; j++) t->o[j] = o0[j] + ob + l0;
                const int narrow = t->lanes <= DD_V;
                if (nb == DD_NB) {
                    if (narrow) DD(full1)(t);
                    else DD(full)(t);
                } else if (nb == 4) {
                    if (narrow) DD(four1)(t);
                    else DD(four)(t);
                } else {
                    if (narrow) DD(one1)(t);
                    else DD(one)(t);
                }
            }
        }
        q += nb;
    }
}

/* this width's tile: what the estimate counts (see work in direct_dense.c) */
enum { DD(tile_pixels) = DD_NB, DD(pass_lanes) = DD_NV * DD_V, DD(lanes) = DD_V };

#undef DD_ISA
#undef DD_V
#undef DD_NV
#undef DD_NB
#undef DD_TARGET
