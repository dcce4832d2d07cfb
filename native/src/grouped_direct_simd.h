/*
 * The vector kernel of grouped_direct.c, included there once per instruction set (a C template,
 * as fft_simd.h): before each inclusion grouped_direct.c defines
 *   GD_ISA     suffix of every name defined here (portable, avx2, avx512)
 *   GD_V       lanes = output channels per vector (4, 8, 16)
 *   GD_TARGET  the target attribute of the functions (empty for the portable build)
 * Every width sums each output in the same order (taps in row-major order, then the group's input
 * channels, then the bias), so widths differ only in which channels share a vector.
 */
#define GD_CAT2(a, b) a##_##b
#define GD_CAT(a, b) GD_CAT2(a, b)
#define GD(name) GD_CAT(name, GD_ISA)
#define GAI static inline __attribute__((always_inline)) GD_TARGET

typedef float GD(vec) __attribute__((vector_size(GD_V * sizeof(float))));
typedef float GD(uvec) __attribute__((vector_size(GD_V * sizeof(float)), aligned(4)));
typedef int32_t GD(ivec) __attribute__((vector_size(GD_V * sizeof(float))));

/* bias, then the fused activation (c4j_relu / c4j_relu6 on vectors: NaN passes through), then
   `lanes` channels stored */
GAI void GD(finish)(const gd_unit *u, GD(vec) acc, const float *bias, float *o, int lanes) {
    if (bias != NULL) acc += *(const GD(uvec) *)(const void *)bias;
    if (u->act != C4J_ACT_NONE) {
        const GD(vec) zero = {0};
        const GD(ivec) neg = acc <= zero; /* as c4j_relu: -0 becomes +0, NaN passes */
        acc = (GD(vec))((GD(ivec))acc & ~neg);
        if (u->act == C4J_ACT_RELU6) {
            const GD(vec) six = zero + 6.0f;
            const GD(ivec) big = acc >= six;
            acc = (GD(vec))(((GD(ivec))acc & ~big) | ((GD(ivec))six & big));
        }
    }
    if (lanes == GD_V) {
        *(GD(uvec) *)(void *)o = acc;
    } else {
        float t[GD_V];
        *(GD(uvec) *)(void *)t = acc;
        memcpy(o, t, sizeof(float) * (size_t)lanes);
    }
}

/*
 * nb output pixels of one row, `step` input pixels apart, all with taps [kh0, kh1) x [kw0, kw1)
 * inside the input: ih0 / iw0 are the first pixel's input coordinates of tap (0, 0). cg is the
 * number of input channels per group (a constant where inlined for 1). v: lane offset in the block.
 */
GAI void GD(pixels)(const gd_unit *u, int nb, int64_t cg, int64_t ih0, int64_t kh0, int64_t kh1, int64_t iw0,
                    int64_t kw0, int64_t kw1, int64_t v, float *o, int lanes) {
    GD(vec) acc[GD_NB];
    _Pragma("GCC unroll 16") for (int j = 0; j < nb; j++) acc[j] = (GD(vec)){0};
    const int64_t step = u->step;
    for (int64_t kh = kh0; kh < kh1; kh++) {
        const float *srow = u->src + (ih0 + kh * u->dh - u->row0) * u->rs + v;
        const float *wrow = u->w + kh * u->kw * cg * u->cwp + v;
        for (int64_t kw = kw0; kw < kw1; kw++) {
            const float *s = srow + (iw0 + kw * u->dw) * u->ps;
            const float *wp = wrow + kw * cg * u->cwp;
            for (int64_t c = 0; c < cg; c++) {
                const GD(vec) wv = *(const GD(uvec) *)(const void *)(wp + c * u->cwp);
                const float *sc = s + c * u->cs;
                _Pragma("GCC unroll 16") for (int j = 0; j < nb; j++) acc[j] += *(const GD(uvec) *)(const void *)(sc + j * step) * wv;
            }
        }
    }
    const float *bias = u->bias != NULL ? u->bias + v : NULL;
    _Pragma("GCC unroll 16") for (int j = 0; j < nb; j++) GD(finish)(u, acc[j], bias, o + j * u->ostep, lanes);
}

/* one copy of the kernel per register block and per cg == 1 or not, each with its constants
   folded in: inlined into one function, GCC merges the copies and keeps a runtime-length
   accumulator array in memory */
#define GD_VARIANT(name, NB, CG)                                                                           \
    static __attribute__((noinline)) GD_TARGET void GD(name)(const gd_unit *u, int64_t ih0, int64_t kh0,       \
                                                            int64_t kh1, int64_t iw0, int64_t kw0, int64_t kw1, \
                                                            int64_t v, float *o, int lanes) {                   \
        GD(pixels)(u, NB, CG, ih0, kh0, kh1, iw0, kw0, kw1, v, o, lanes);                                   \
    }
GD_VARIANT(block_dw, GD_NB, 1)
GD_VARIANT(four_dw, 4, 1)
GD_VARIANT(two_dw, 2, 1)
GD_VARIANT(one_dw, 1, 1)
GD_VARIANT(block_g, GD_NB, u->cg)
GD_VARIANT(four_g, 4, u->cg)
GD_VARIANT(two_g, 2, u->cg)
GD_VARIANT(one_g, 1, u->cg)
#undef GD_VARIANT

typedef void (*GD(kernel))(const gd_unit *, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, float *,
                           int);

/* one output row of the unit's channel block; the interior pixels (every tap inside the input) in
   blocks of GD_NB, the border pixels one at a time with their taps clipped */
GAI void GD(row_cg)(const gd_unit *u, int dw, int64_t oh, float *orow) {
    const int64_t ih0 = oh * u->sh - u->pt;
    const int64_t kh0 = ih0 < 0 ? c4j_ceil_div(-ih0, u->dh) : 0;
    const int64_t kh1 = C4J_MIN(u->kh, u->in_h - ih0 <= 0 ? 0 : c4j_ceil_div(u->in_h - ih0, u->dh));
    /* all vectors of the block for one run of pixels before the next run: the input window of
       the run stays in L1 for every vector */
    for (int64_t ow = 0; ow < u->out_w;) {
        const int64_t iw0 = ow * u->sw - u->pl;
        const int interior = ow >= u->ow_lo && ow < u->ow_hi;
        const int64_t left = u->ow_hi - ow;
        const int64_t run = !interior ? 1 : left >= GD_NB ? GD_NB : left >= 4 ? 4 : left >= 2 ? 2 : 1;
        int64_t kw0 = 0, kw1 = u->kw;
        if (!interior) {
            kw0 = iw0 < 0 ? c4j_ceil_div(-iw0, u->dw) : 0;
            kw1 = C4J_MAX(kw0, C4J_MIN(u->kw, u->in_w - iw0 <= 0 ? 0 : c4j_ceil_div(u->in_w - iw0, u->dw)));
        }
        GD(kernel) k = run == GD_NB ? (dw ? GD(block_dw) : GD(block_g))
                       : run == 4   ? (dw ? GD(four_dw) : GD(four_g))
                       : run == 2   ? (dw ? GD(two_dw) : GD(two_g))
                                    : (dw ? GD(one_dw) : GD(one_g));
        float *o = orow + ow * u->ostep;
        for (int64_t v0 = 0; v0 < u->cw; v0 += GD_V) {
            /* reading the input in place, a last partial vector moves back to end at the block's
               last channel: its lanes overlap the previous vector's, computed again bit for bit */
            const int64_t v = u->overlap_tail && v0 + GD_V > u->cw ? u->cw - GD_V : v0;
            k(u, ih0, kh0, kh1, iw0, kw0, kw1, v, o + v, (int)C4J_MIN(GD_V, u->cw - v));
        }
        ow += run;
    }
}

/*
 * Input rows [r0, r1) of image `img` as [row][iw][c][cwp]: lane l of channel c holds the input at
 * chan[l] + c (zero for lanes past cw). A vector's lanes read a short window of the pixel's
 * channels (a few groups), so with contiguous channels each staged vector is one or two vector
 * loads of that window and a shuffle; other views are copied element by element.
 */
static GD_TARGET void GD(stage)(const c4j_conv2d_desc *d, const float *img, int64_t r0, int64_t r1, const int32_t *chan,
                                int64_t cw, int64_t cwp, float *dst) {
    enum { NV = GD_BLOCK / GD_V };
    const int64_t cg = c4j_cin_g(d), cs = d->in_stride[3];
    int mode[NV];               /* 0 element by element, 1 one window vector, 2 two */
    int64_t lo[NV];             /* first channel of the window */
    GD(ivec) idx[NV][GD_MAX_CG], keep[NV];
    for (int k = 0; k * GD_V < cwp; k++) {
        const int64_t v = k * GD_V, valid = C4J_MIN(GD_V, cw - v);
        mode[k] = 0, lo[k] = 0;
        if (valid <= 0 || cs != 1) continue;
        const int64_t first = chan[v], span = chan[v + valid - 1] + cg - first;
        for (int w = 1; w <= 2 && mode[k] == 0; w++) {
            if (span > w * GD_V || d->in_c < w * GD_V) continue;
            mode[k] = w, lo[k] = C4J_MIN(first, d->in_c - w * GD_V);
        }
        for (int64_t c = 0; c < cg; c++)
            for (int l = 0; l < GD_V; l++) idx[k][c][l] = l < valid ? (int32_t)(chan[v + l] + c - lo[k]) : 0;
        for (int l = 0; l < GD_V; l++) keep[k][l] = l < valid ? -1 : 0;
    }
    for (int64_t r = r0; r < r1; r++)
        for (int64_t iw = 0; iw < d->in_w; iw++) {
            const float *px = img + r * d->in_stride[1] + iw * d->in_stride[2];
            float *o = dst + ((r - r0) * d->in_w + iw) * cg * cwp;
            for (int k = 0; k * GD_V < cwp; k++) {
                const int64_t v = k * GD_V;
                if (mode[k] == 1) {
                    const GD(vec) x = *(const GD(uvec) *)(const void *)(px + lo[k]);
                    for (int64_t c = 0; c < cg; c++)
                        *(GD(vec) *)(void *)(o + c * cwp + v) = (GD(vec))((GD(ivec))__builtin_shuffle(x, idx[k][c]) & keep[k]);
                } else if (mode[k] == 2) {
                    const GD(vec) x0 = *(const GD(uvec) *)(const void *)(px + lo[k]);
                    const GD(vec) x1 = *(const GD(uvec) *)(const void *)(px + lo[k] + GD_V);
                    for (int64_t c = 0; c < cg; c++)
                        *(GD(vec) *)(void *)(o + c * cwp + v) =
                            (GD(vec))((GD(ivec))__builtin_shuffle(x0, x1, idx[k][c]) & keep[k]);
                } else {
                    for (int64_t c = 0; c < cg; c++)
                        for (int64_t l = v; l < v + GD_V; l++) o[c * cwp + l] = l < cw ? px[chan[l] + c * cs] : 0.0f;
                }
            }
        }
}

static GD_TARGET void GD(rows)(const gd_unit *u, int64_t oh0, int64_t oh1, float *out_img) {
    for (int64_t oh = oh0; oh < oh1; oh++) GD(row_cg)(u, u->cg == 1, oh, out_img + oh * u->os_h);
}

#undef GD_ISA
#undef GD_V
#undef GD_TARGET
#undef GAI
