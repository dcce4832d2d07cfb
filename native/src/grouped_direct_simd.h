/*
 * The vector kernel of grouped_direct.c, included there once per instruction set (a C template,
 * as fft_simd.h): before each inclusion grouped_direct.c defines
 *   GD_ISA     suffix of every name defined here (portable, avx2, avx512)
 *   GD_V       lanes = output channels per vector (4, 8, 16)
 *   GD_TARGET  the target attribute of the functions (empty for the portable build)
 *   GD_BLOCK_PV vectors a broadcast block computes at once: 2 where 32 vector registers hold its
 *              2 x GD_NB accumulators (AVX-512), else 1 (see GD(pixel_run))
 * Every width picks the same kernel for a layer (the choice depends on the layer alone), and each
 * kernel sums an output in one order, so widths differ only in which channels share a vector.
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
        return;
    }
    /* a channel tail: a masked store where the width has one (a memcpy through the stack was a
       call per pixel, most of the time of layers narrower than a vector) */
#if GD_V == 16
    _mm512_mask_storeu_ps(o, (__mmask16)((1u << lanes) - 1), (__m512)acc);
#elif GD_V == 8
    const GD(ivec) first = {0, 1, 2, 3, 4, 5, 6, 7};
    _mm256_maskstore_ps(o, (__m256i)(first < lanes), (__m256)acc);
#else
    for (int l = 0; l < lanes; l++) o[l] = acc[l];
#endif
}

/*
 * nb output pixels of one row, `step` input pixels apart, all with taps [kh0, kh1) x [kw0, kw1)
 * inside the input: ih0 / iw0 are the first pixel's input coordinates of tap (0, 0). cg is the
 * number of input channels per group (a constant where inlined for 1). v: lane offset in the block.
 */
GAI void GD(pixels)(const gd_unit *u, int nb, int64_t cg, const int bcast, int64_t ih0, int64_t kh0, int64_t kh1,
                    int64_t iw0, int64_t kw0, int64_t kw1, int64_t v, float *o, int lanes) {
    GD(vec) acc[GD_NB];
    _Pragma("GCC unroll 16") for (int j = 0; j < nb; j++) acc[j] = (GD(vec)){0};
    const int64_t step = u->step;
    /* broadcasting, the vector's lanes read their group's input channels in place */
    const int64_t xo = bcast ? (u->o0 + v) / u->cout_g * cg * u->cs : v;
    for (int64_t kh = kh0; kh < kh1; kh++) {
        const float *srow = u->src + (ih0 + kh * u->dh - u->row0) * u->rs + xo;
        const float *wrow = u->w + kh * u->kw * cg * u->wl + v;
        for (int64_t kw = kw0; kw < kw1; kw++) {
            const float *s = srow + (iw0 + kw * u->dw) * u->ps;
            const float *wp = wrow + kw * cg * u->wl;
            for (int64_t c = 0; c < cg; c++) {
                const GD(vec) wv = *(const GD(uvec) *)(const void *)(wp + c * u->wl);
                const float *sc = s + c * u->cs;
                if (bcast) {
                    _Pragma("GCC unroll 16") for (int j = 0; j < nb; j++) acc[j] += sc[j * step] * wv;
                } else {
                    _Pragma("GCC unroll 16") for (int j = 0; j < nb; j++) acc[j] += *(const GD(uvec) *)(const void *)(sc + j * step) * wv;
                }
            }
        }
    }
    const float *bias = u->bias != NULL ? u->bias + v : NULL;
    _Pragma("GCC unroll 16") for (int j = 0; j < nb; j++) GD(finish)(u, acc[j], bias, o + j * u->ostep, lanes);
}

/* one copy of the kernel per register block and per cg == 1 or not, each with its constants
   folded in: inlined into one function, GCC merges the copies and keeps a runtime-length
   accumulator array in memory */
#define GD_VARIANT(name, NB, CG, BC)                                                                           \
    static __attribute__((noinline)) GD_TARGET void GD(name)(const gd_unit *u, int64_t ih0, int64_t kh0,       \
                                                            int64_t kh1, int64_t iw0, int64_t kw0, int64_t kw1, \
                                                            int64_t v, float *o, int lanes) {                   \
        GD(pixels)(u, NB, CG, BC, ih0, kh0, kh1, iw0, kw0, kw1, v, o, lanes);                               \
    }
GD_VARIANT(block_dw, GD_NB, 1, 0)
GD_VARIANT(four_dw, 4, 1, 0)
GD_VARIANT(two_dw, 2, 1, 0)
GD_VARIANT(one_dw, 1, 1, 0)
GD_VARIANT(block_g, GD_NB, u->cg, 0)
GD_VARIANT(four_g, 4, u->cg, 0)
GD_VARIANT(two_g, 2, u->cg, 0)
GD_VARIANT(one_g, 1, u->cg, 0)
GD_VARIANT(block_b, GD_NB, u->cg, 1)
GD_VARIANT(four_b, 4, u->cg, 1)
GD_VARIANT(two_b, 2, u->cg, 1)
GD_VARIANT(one_b, 1, u->cg, 1)
#undef GD_VARIANT

typedef void (*GD(kernel))(const gd_unit *, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, float *,
                           int);

/*
 * NP output pixels for PV vectors of the block at once, at lanes v, v + GD_V, ..., each at most
 * vmax (reading the input in place, the vectors past the last one repeat the last, moved back to
 * end at the block's last channel, and store the same bits again): a short run's few accumulators
 * are chains of dependent multiply-adds, each waiting for the last (border pixels with clipped
 * taps, a row's last interior pixels), while PV vectors per pixel give the core NP * PV
 * independent chains. Each vector sums its taps in GD(pixels)'s order, so the bits are the same
 * as one vector at a time. o: the first pixel's lane 0.
 */
GAI void GD(run_vectors)(const gd_unit *u, const int NP, const int PV, int64_t cg, const int bcast, int64_t ih0,
                         int64_t kh0, int64_t kh1, int64_t iw0, int64_t kw0, int64_t kw1, int64_t v, int64_t vmax,
                         float *o) {
    GD(vec) acc[GD_NB][GD_PV];
    int64_t lane[GD_PV], xo[GD_PV];
    const int64_t step = u->step;
    _Pragma("GCC unroll 8") for (int p = 0; p < PV; p++) {
        _Pragma("GCC unroll 8") for (int j = 0; j < NP; j++) acc[j][p] = (GD(vec)){0};
        lane[p] = C4J_MIN(v + p * GD_V, vmax);
        xo[p] = bcast ? (u->o0 + lane[p]) / u->cout_g * cg * u->cs : lane[p];
    }
    for (int64_t kh = kh0; kh < kh1; kh++) {
        const int64_t srow = (ih0 + kh * u->dh - u->row0) * u->rs;
        const float *wrow = u->w + kh * u->kw * cg * u->wl;
        for (int64_t kw = kw0; kw < kw1; kw++) {
            const float *s = u->src + srow + (iw0 + kw * u->dw) * u->ps;
            const float *wp = wrow + kw * cg * u->wl;
            for (int64_t c = 0; c < cg; c++) {
                _Pragma("GCC unroll 8") for (int p = 0; p < PV; p++) {
                    const GD(vec) wv = *(const GD(uvec) *)(const void *)(wp + c * u->wl + lane[p]);
                    const float *sc = s + xo[p] + c * u->cs;
                    _Pragma("GCC unroll 8") for (int j = 0; j < NP; j++) {
                        if (bcast) acc[j][p] += sc[j * step] * wv;
                        else acc[j][p] += *(const GD(uvec) *)(const void *)(sc + j * step) * wv;
                    }
                }
            }
        }
    }
    _Pragma("GCC unroll 8") for (int j = 0; j < NP; j++)
        _Pragma("GCC unroll 8") for (int p = 0; p < PV; p++)
            GD(finish)(u, acc[j][p], u->bias != NULL ? u->bias + lane[p] : NULL, o + j * u->ostep + lane[p], GD_V);
}

#define GD_RUN_VECTORS(name, NP, PV, CG, BC)                                                                  \
    static __attribute__((noinline)) GD_TARGET void GD(name)(const gd_unit *u, int64_t ih0, int64_t kh0,       \
                                                            int64_t kh1, int64_t iw0, int64_t kw0, int64_t kw1, \
                                                            int64_t v, int64_t vmax, float *o) {                \
        GD(run_vectors)(u, NP, PV, CG, BC, ih0, kh0, kh1, iw0, kw0, kw1, v, vmax, o);                       \
    }
GD_RUN_VECTORS(one_pv_dw, 1, GD_PV, 1, 0)
GD_RUN_VECTORS(one_pv_g, 1, GD_PV, u->cg, 0)
GD_RUN_VECTORS(one_pv_b, 1, GD_PV, u->cg, 1)
GD_RUN_VECTORS(two_pv_dw, 2, GD_PV, 1, 0)
GD_RUN_VECTORS(two_pv_g, 2, GD_PV, u->cg, 0)
GD_RUN_VECTORS(two_pv_b, 2, GD_PV, u->cg, 1)
GD_RUN_VECTORS(four_pv_dw, 4, GD_PV / 2, 1, 0)
GD_RUN_VECTORS(four_pv_g, 4, GD_PV / 2, u->cg, 0)
GD_RUN_VECTORS(four_pv_b, 4, GD_PV / 2, u->cg, 1)
/* a broadcast block: two vectors (groups) per pixel give 2 x GD_NB independent chains where one
   vector gave GD_NB, each product waiting on its broadcast load */
GD_RUN_VECTORS(block_pv_b, GD_NB, GD_BLOCK_PV, u->cg, 1)
#undef GD_RUN_VECTORS

typedef void (*GD(run_vectors_fn))(const gd_unit *, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                                   int64_t, float *);

/* x in a register: keeps GCC from folding each of the strip's input loads into every multiply-add
   that uses it (one load per product again); only where 32 vector registers hold the window */
GAI GD(vec) GD(pin)(GD(vec) x) {
#if GD_PIN_LOADS
    __asm__("" : "+v"(x));
#endif
    return x;
}

/*
 * nr runs of NB (GD_SNB or half that) pixels of one row, for every vector of the block, lanes with cg input
 * channels each (1: depthwise; more: staged rows, [iw][c][lanes]), KW taps per kernel row and a
 * column stride of SW, all constants but a cg above 1. For each kernel row and input channel a
 * run loads the (NB - 1) * SW + KW input vectors it reads once and multiplies them from
 * registers: KW products per load instead of one. CHECKED runs may reach past the row's ends:
 * input columns outside it load as zeros (padding), so border pixels run the same code; their
 * first `npix` pixels are stored. Vectors in the inner loop over a tile of runs: the input window
 * of a tile stays in L1 for every vector. Sums taps row by row, within a row input channel by
 * channel (then the row's taps), then the bias: with one channel, the order of GD(pixels).
 */
GAI void GD(strip)(const gd_unit *u, const int NB, const int KW, const int SW, const int CHECKED, const int64_t cg,
                   int64_t ih0, int64_t kh0, int64_t kh1, int64_t iw0, int64_t nr, int npix, float *o) {
    enum { NX = (GD_SNB - 1) * 2 + 8 }; /* enough for NB <= GD_SNB, SW <= 2 and KW <= 8 */
    const int64_t ps = u->ps, rs = u->rs * u->dh, wl = u->wl, ostep = u->ostep;
    const float *s_row = u->src + (ih0 + kh0 * u->dh - u->row0) * u->rs;
    const float *w_row = u->w + kh0 * KW * cg * wl;
    const int lanes_last = (int)(u->cw - (u->cw - 1) / GD_V * GD_V);
    for (int64_t r0 = 0; r0 < nr; r0 += GD_TILE) {
        const int64_t r1 = C4J_MIN(nr, r0 + GD_TILE);
        for (int64_t v0 = 0; v0 < u->cw; v0 += GD_V) {
            /* reading in place, a last partial vector moves back to end at the block's last lane */
            const int64_t v = u->overlap_tail && v0 + GD_V > u->cw ? u->cw - GD_V : v0;
            const int lanes = v0 + GD_V <= u->cw || u->overlap_tail ? GD_V : lanes_last;
            const float *bias = u->bias != NULL ? u->bias + v : NULL;
            for (int64_t r = r0; r < r1; r++) {
                const int64_t iw = iw0 + r * NB * SW;
                /* a checked run's window columns outside the row read a zero vector instead: a
                   pointer select per load, not a branch, as the column's place in the window
                   changes from run to run */
                int64_t inside[NX];
                _Pragma("GCC unroll 32") for (int i = 0; i < (NB - 1) * SW + KW; i++)
                    inside[i] = !CHECKED || (iw + i >= 0 && iw + i < u->in_w);
                GD(vec) acc[GD_SNB];
                _Pragma("GCC unroll 16") for (int j = 0; j < NB; j++) acc[j] = (GD(vec)){0};
                const float *s = s_row + iw * ps + v, *w = w_row + v;
                for (int64_t kh = kh0; kh < kh1; kh++, s += rs, w += KW * cg * wl)
                    for (int64_t c = 0; c < cg; c++) {
                        GD(vec) x[NX];
                        _Pragma("GCC unroll 32") for (int i = 0; i < (NB - 1) * SW + KW; i++) {
                            const float *p = s + i * ps + c * u->cs;
                            if (CHECKED) p = inside[i] ? p : GD_ZEROS;
                            x[i] = GD(pin)(*(const GD(uvec) *)(const void *)p);
                        }
                        _Pragma("GCC unroll 8") for (int kw = 0; kw < KW; kw++) {
                            const GD(vec) wv = *(const GD(uvec) *)(const void *)(w + (kw * cg + c) * wl);
                            _Pragma("GCC unroll 16") for (int j = 0; j < NB; j++) acc[j] += x[j * SW + kw] * wv;
                        }
                    }
                float *op = o + (r * NB) * ostep + v;
                _Pragma("GCC unroll 16") for (int j = 0; j < NB; j++) {
                    if (CHECKED && j >= npix) break;
                    GD(finish)(u, acc[j], bias, op + j * ostep, lanes);
                }
            }
        }
    }
}

#define GD_STRIP1(name, NB, KW, SW, CHECKED, CG)                                                              \
    static __attribute__((noinline)) GD_TARGET void GD(name##_##KW##_##SW)(                                  \
        const gd_unit *u, int64_t ih0, int64_t kh0, int64_t kh1, int64_t iw0, int64_t nr, int npix, float *o) {  \
        GD(strip)(u, NB, KW, SW, CHECKED, CG, ih0, kh0, kh1, iw0, nr, npix, o);                               \
    }
/* full runs (interior and border) and, for a row's last few pixels, border runs of half the width */
#define GD_STRIP(KW, SW)                                                                                     \
    GD_STRIP1(strip, GD_SNB, KW, SW, 0, 1)                                                                   \
    GD_STRIP1(edge, GD_SNB, KW, SW, 1, 1)                                                                    \
    GD_STRIP1(hedge, GD_SNB / 2, KW, SW, 1, 1)                                                               \
    GD_STRIP1(hstrip, GD_SNB / 2, KW, SW, 0, 1)                                                              \
    GD_STRIP1(gstrip, GD_SNB, KW, SW, 0, u->cg)                                                              \
    GD_STRIP1(gedge, GD_SNB, KW, SW, 1, u->cg)                                                               \
    GD_STRIP1(hgedge, GD_SNB / 2, KW, SW, 1, u->cg)                                                          \
    GD_STRIP1(hgstrip, GD_SNB / 2, KW, SW, 0, u->cg)
GD_STRIP(1, 1)
GD_STRIP(2, 1)
GD_STRIP(3, 1)
GD_STRIP(4, 1)
GD_STRIP(5, 1)
GD_STRIP(6, 1)
GD_STRIP(7, 1)
GD_STRIP(8, 1)
GD_STRIP(1, 2)
GD_STRIP(2, 2)
GD_STRIP(3, 2)
GD_STRIP(4, 2)
GD_STRIP(5, 2)
GD_STRIP(6, 2)
GD_STRIP(7, 2)
GD_STRIP(8, 2)
#undef GD_STRIP
#undef GD_STRIP1

typedef void (*GD(strip_fn))(const gd_unit *, int64_t, int64_t, int64_t, int64_t, int64_t, int, float *);

/* the strip kernels of one geometry: interior runs, border runs (padded columns), half-width
   border runs for a row's last few pixels and half-width interior runs */
typedef struct {
    GD(strip_fn) inner, edge, half, inner_half;
} GD(strip_set);

/* the strip kernels of this unit's geometry, or none (see runs_strips in grouped_direct.c) */
static GD_TARGET int GD(strips_for)(const gd_unit *u, GD(strip_set) *set) {
    static const GD(strip_fn) fn[8][2][8] = {
        {
        {GD(strip_1_1), GD(strip_2_1), GD(strip_3_1), GD(strip_4_1), GD(strip_5_1), GD(strip_6_1), GD(strip_7_1), GD(strip_8_1)},
        {GD(strip_1_2), GD(strip_2_2), GD(strip_3_2), GD(strip_4_2), GD(strip_5_2), GD(strip_6_2), GD(strip_7_2), GD(strip_8_2)}},
        {
        {GD(edge_1_1), GD(edge_2_1), GD(edge_3_1), GD(edge_4_1), GD(edge_5_1), GD(edge_6_1), GD(edge_7_1), GD(edge_8_1)},
        {GD(edge_1_2), GD(edge_2_2), GD(edge_3_2), GD(edge_4_2), GD(edge_5_2), GD(edge_6_2), GD(edge_7_2), GD(edge_8_2)}},
        {
        {GD(hedge_1_1), GD(hedge_2_1), GD(hedge_3_1), GD(hedge_4_1), GD(hedge_5_1), GD(hedge_6_1), GD(hedge_7_1), GD(hedge_8_1)},
        {GD(hedge_1_2), GD(hedge_2_2), GD(hedge_3_2), GD(hedge_4_2), GD(hedge_5_2), GD(hedge_6_2), GD(hedge_7_2), GD(hedge_8_2)}},
        {
        {GD(hstrip_1_1), GD(hstrip_2_1), GD(hstrip_3_1), GD(hstrip_4_1), GD(hstrip_5_1), GD(hstrip_6_1), GD(hstrip_7_1), GD(hstrip_8_1)},
        {GD(hstrip_1_2), GD(hstrip_2_2), GD(hstrip_3_2), GD(hstrip_4_2), GD(hstrip_5_2), GD(hstrip_6_2), GD(hstrip_7_2), GD(hstrip_8_2)}},
        {
        {GD(gstrip_1_1), GD(gstrip_2_1), GD(gstrip_3_1), GD(gstrip_4_1), GD(gstrip_5_1), GD(gstrip_6_1), GD(gstrip_7_1), GD(gstrip_8_1)},
        {GD(gstrip_1_2), GD(gstrip_2_2), GD(gstrip_3_2), GD(gstrip_4_2), GD(gstrip_5_2), GD(gstrip_6_2), GD(gstrip_7_2), GD(gstrip_8_2)}},
        {
        {GD(gedge_1_1), GD(gedge_2_1), GD(gedge_3_1), GD(gedge_4_1), GD(gedge_5_1), GD(gedge_6_1), GD(gedge_7_1), GD(gedge_8_1)},
        {GD(gedge_1_2), GD(gedge_2_2), GD(gedge_3_2), GD(gedge_4_2), GD(gedge_5_2), GD(gedge_6_2), GD(gedge_7_2), GD(gedge_8_2)}},
        {
        {GD(hgedge_1_1), GD(hgedge_2_1), GD(hgedge_3_1), GD(hgedge_4_1), GD(hgedge_5_1), GD(hgedge_6_1), GD(hgedge_7_1), GD(hgedge_8_1)},
        {GD(hgedge_1_2), GD(hgedge_2_2), GD(hgedge_3_2), GD(hgedge_4_2), GD(hgedge_5_2), GD(hgedge_6_2), GD(hgedge_7_2), GD(hgedge_8_2)}},
        {
        {GD(hgstrip_1_1), GD(hgstrip_2_1), GD(hgstrip_3_1), GD(hgstrip_4_1), GD(hgstrip_5_1), GD(hgstrip_6_1), GD(hgstrip_7_1), GD(hgstrip_8_1)},
        {GD(hgstrip_1_2), GD(hgstrip_2_2), GD(hgstrip_3_2), GD(hgstrip_4_2), GD(hgstrip_5_2), GD(hgstrip_6_2), GD(hgstrip_7_2), GD(hgstrip_8_2)}}};
    if (!u->strips) return 0;
    const int s = u->sw == 2, k = (int)((u->kw - 1) & 7); /* runs_strips: stride 1 or 2, 1 to 8 taps */
    const int g = u->cg > 1 ? 4 : 0;
    set->inner = fn[g][s][k], set->edge = fn[g + 1][s][k], set->half = fn[g + 2][s][k];
    set->inner_half = fn[g + 3][s][k];
    return 1;
}

/* `run` output pixels of a row from column ow (a run of 1 where the pixel's taps reach the
   padding, which it skips), every vector of the block: the input window of the run stays in L1
   for every vector */
GAI void GD(pixel_run)(const gd_unit *u, int dw, int64_t ih0, int64_t kh0, int64_t kh1, int64_t ow, int64_t run,
                       int interior, float *orow) {
    const int64_t iw0 = ow * u->sw - u->pl;
    int64_t kw0 = 0, kw1 = u->kw;
    if (!interior) {
        const gd_taps t = gd_inside_taps(iw0, u->dw, u->kw, u->in_w);
        kw0 = t.lo, kw1 = t.hi;
    }
    GD(kernel) k = run == GD_NB ? (dw ? GD(block_dw) : u->bcast ? GD(block_b) : GD(block_g))
                   : run == 4   ? (dw ? GD(four_dw) : u->bcast ? GD(four_b) : GD(four_g))
                   : run == 2   ? (dw ? GD(two_dw) : u->bcast ? GD(two_b) : GD(two_g))
                                : (dw ? GD(one_dw) : u->bcast ? GD(one_b) : GD(one_g));
    float *o = orow + ow * u->ostep;
    /* short runs: whole vectors several at a time, for independent chains */
    int64_t v0 = 0;
    const int pv = run == GD_NB ? GD_BLOCK_PV : run == 4 ? GD_PV / 2 : GD_PV;
    GD(run_vectors_fn) rv = run == 1 ? (dw ? GD(one_pv_dw) : u->bcast ? GD(one_pv_b) : GD(one_pv_g))
                            : run == 2 ? (dw ? GD(two_pv_dw) : u->bcast ? GD(two_pv_b) : GD(two_pv_g))
                            : run == 4 ? (dw ? GD(four_pv_dw) : u->bcast ? GD(four_pv_b) : GD(four_pv_g))
                            : u->bcast && GD_BLOCK_PV > 1 ? GD(block_pv_b)
                                                          : NULL;
    if (rv != NULL && u->overlap_tail) /* every vector whole, the last moved back: all of them */
        for (; v0 < u->cw; v0 += pv * GD_V) rv(u, ih0, kh0, kh1, iw0, kw0, kw1, v0, u->cw - GD_V, o);
    else if (rv != NULL)
        for (; v0 + pv * GD_V <= u->cw; v0 += pv * GD_V) rv(u, ih0, kh0, kh1, iw0, kw0, kw1, v0, v0 + (pv - 1) * GD_V, o);
    for (; v0 < u->cw; v0 += GD_V) {
        /* reading the input in place, a last partial vector moves back to end at the block's
           last channel: its lanes overlap the previous vector's, computed again bit for bit */
        const int64_t v = u->overlap_tail && v0 + GD_V > u->cw ? u->cw - GD_V : v0;
        k(u, ih0, kh0, kh1, iw0, kw0, kw1, v, o + v, (int)C4J_MIN(GD_V, u->cw - v));
    }
}

/* one output row by the strip kernels: runs of GD_SNB pixels, the interior ones unchecked; the
   row's last pixels, if at most half a run, in a half run, else in a run moved back to end at the
   row's last pixel (its overlap computed again bit for bit; each pixel sums its products in the
   same order in any run); on a row narrower than a run, only the row's pixels are stored */
GAI void GD(row_strips)(const gd_unit *u, const GD(strip_set) *set, int64_t oh, float *orow) {
    const int64_t ih0 = oh * u->sh - u->pt;
    const gd_taps t = gd_inside_taps(ih0, u->dh, u->kh, u->in_h);
    const int64_t kh0 = t.lo, kh1 = t.hi;
    if (u->lone_borders) {
        /* the border pixels alone with their taps clipped; the interior in unchecked runs, its
           last pixels in a half or a full run moved back to end at the last interior pixel (the
           overlap computed again bit for bit) */
        for (int64_t ow = 0; ow < u->ow_lo; ow++) {
            GD_ROW_HOOK(GD_SNB, kh1 - kh0, 0, 1, ow);
            GD(pixel_run)(u, u->cg == 1, ih0, kh0, kh1, ow, 1, 0, orow);
        }
        const int64_t nr = (u->ow_hi - u->ow_lo) / GD_SNB, rest = (u->ow_hi - u->ow_lo) % GD_SNB;
        const int64_t iw_lo = u->ow_lo * u->sw - u->pl;
        GD_ROW_HOOK(GD_SNB, kh1 - kh0, GD_SNB, nr, -1);
        set->inner(u, ih0, kh0, kh1, iw_lo, nr, GD_SNB, orow + u->ow_lo * u->ostep);
        if (rest > 0) {
            const int64_t first = u->ow_hi - (rest <= GD_SNB / 2 ? GD_SNB / 2 : GD_SNB);
            GD_ROW_HOOK(GD_SNB, kh1 - kh0, rest <= GD_SNB / 2 ? GD_SNB / 2 : GD_SNB, 1, -1);
            (rest <= GD_SNB / 2 ? set->inner_half : set->inner)(u, ih0, kh0, kh1, first * u->sw - u->pl, 1,
                                                                 rest <= GD_SNB / 2 ? GD_SNB / 2 : GD_SNB,
                                                                 orow + first * u->ostep);
        }
        for (int64_t ow = u->ow_hi; ow < u->out_w; ow++) {
            GD_ROW_HOOK(GD_SNB, kh1 - kh0, 0, 1, ow);
            GD(pixel_run)(u, u->cg == 1, ih0, kh0, kh1, ow, 1, 0, orow);
        }
        return;
    }
    for (int64_t ow = 0; ow < u->out_w;) {
        if (ow >= u->ow_lo && u->ow_hi - ow >= GD_SNB) {
            const int64_t nr = (u->ow_hi - ow) / GD_SNB;
            GD_ROW_HOOK(GD_SNB, kh1 - kh0, GD_SNB, nr, -1);
            set->inner(u, ih0, kh0, kh1, ow * u->sw - u->pl, nr, GD_SNB, orow + ow * u->ostep);
            ow += nr * GD_SNB;
            continue;
        }
        const int64_t left = u->out_w - ow;
        if (left <= GD_SNB / 2 && ow > 0) {
            GD_ROW_HOOK(GD_SNB, kh1 - kh0, GD_SNB / 2, 1, -1);
            set->half(u, ih0, kh0, kh1, ow * u->sw - u->pl, 1, (int)left, orow + ow * u->ostep);
            break;
        }
        int64_t first = ow, npix = C4J_MIN(GD_SNB, left);
        if (npix < GD_SNB && u->out_w >= GD_SNB) first = u->out_w - GD_SNB, npix = GD_SNB;
        GD_ROW_HOOK(GD_SNB, kh1 - kh0, GD_SNB, 1, -1);
        set->edge(u, ih0, kh0, kh1, first * u->sw - u->pl, 1, (int)npix, orow + first * u->ostep);
        ow = first + npix;
    }
}

/* one output row of the unit's channel block; the interior pixels (every tap inside the input) in
   blocks of GD_NB, the border pixels one at a time with their taps clipped */
GAI void GD(row_cg)(const gd_unit *u, int dw, int64_t oh, float *orow) {
    const int64_t ih0 = oh * u->sh - u->pt;
    const gd_taps t = gd_inside_taps(ih0, u->dh, u->kh, u->in_h);
    const int64_t kh0 = t.lo, kh1 = t.hi;
    for (int64_t ow = 0; ow < u->out_w;) {
        const int interior = ow >= u->ow_lo && ow < u->ow_hi;
        const int64_t left = u->ow_hi - ow;
        const int64_t run = !interior ? 1 : left >= GD_NB ? GD_NB : left >= 4 ? 4 : left >= 2 ? 2 : 1;
        GD(pixel_run)(u, dw, ih0, kh0, kh1, ow, run, interior, orow);
        ow += run;
    }
}

/*
 * Input rows [r0, r1) of image `img` as [row][iw][c][cwp]: lane l of channel c holds the input at
 * chan[l] + c (zero for lanes past cw). A vector's lanes read a short window of the pixel's
 * channels (a few groups), so with contiguous channels each staged vector is one or two vector
 * loads of that window and a shuffle; other views are copied element by element. An image with
 * fewer channels than the window reads the window from its first channel on, into the next
 * pixel's channels (the lanes it needs are the pixel's, the rest are masked to zero), except where
 * a window would reach past the image's last float: those pixels are copied element by element.
 */
/* the pixels of GD(stage), its windows found; CHECK: a pixel past `last` (floats from the image's
   first) is copied element by element, as its windows would reach past the image's end */
GAI void GD(stage_rows)(const c4j_conv2d_desc *d, const float *img, int64_t r0, int64_t r1, const int32_t *chan,
                        int64_t cw, int64_t cwp, float *dst, const int *mode, const int64_t *lo,
                        GD(ivec) (*idx)[GD_MAX_CG], const GD(ivec) *keep, const int CHECK, int64_t last) {
    const int64_t cg = c4j_cin_g(d), cs = d->in_stride[3];
    for (int64_t r = r0; r < r1; r++)
        for (int64_t iw = 0; iw < d->in_w; iw++) {
            const int64_t at = r * d->in_stride[1] + iw * d->in_stride[2];
            const float *px = img + at;
            float *o = dst + ((r - r0) * d->in_w + iw) * cg * cwp;
            const int windows = !CHECK || at <= last; /* else the image's last pixels: copied */
            for (int k = 0; k * GD_V < cwp; k++) {
                const int64_t v = k * GD_V;
                if (windows && mode[k] == 1) {
                    const GD(vec) x = *(const GD(uvec) *)(const void *)(px + lo[k]);
                    for (int64_t c = 0; c < cg; c++)
                        *(GD(vec) *)(void *)(o + c * cwp + v) = (GD(vec))((GD(ivec))__builtin_shuffle(x, idx[k][c]) & keep[k]);
                } else if (windows && mode[k] == 2) {
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

static GD_TARGET void GD(stage)(const c4j_conv2d_desc *d, const float *img, int64_t r0, int64_t r1, const int32_t *chan,
                                int64_t cw, int64_t cwp, float *dst) {
    enum { NV = GD_BLOCK / GD_V };
    const int64_t cg = c4j_cin_g(d), cs = d->in_stride[3];
    int mode[NV];               /* 0 element by element, 1 one window vector, 2 two */
    int64_t lo[NV];             /* first channel of the window */
    int64_t reach = 0;          /* floats from a pixel's first channel to the furthest window's end */
    /* floats from the image's first to one past its last: a window may end there at most */
    const int64_t img_floats = (d->in_h - 1) * d->in_stride[1] + (d->in_w - 1) * d->in_stride[2] + (d->in_c - 1) * cs + 1;
    GD(ivec) idx[NV][GD_MAX_CG], keep[NV];
    for (int k = 0; k * GD_V < cwp; k++) {
        const int64_t v = k * GD_V, valid = C4J_MIN(GD_V, cw - v);
        mode[k] = 0, lo[k] = 0;
        if (valid <= 0 || cs != 1) continue;
        const int64_t first = chan[v], span = chan[v + valid - 1] + cg - first;
        for (int w = 1; w <= 2 && mode[k] == 0; w++) {
            if (span > w * GD_V) continue;
            /* inside the pixel's channels where they fill the window, else from channel 0 (every
               channel lies below in_c < w * GD_V then) */
            mode[k] = w, lo[k] = C4J_MAX(0, C4J_MIN(first, d->in_c - w * GD_V));
            reach = C4J_MAX(reach, lo[k] + w * GD_V);
        }
        for (int64_t c = 0; c < cg; c++)
            for (int l = 0; l < GD_V; l++) idx[k][c][l] = l < valid ? (int32_t)(chan[v + l] + c - lo[k]) : 0;
        for (int l = 0; l < GD_V; l++) keep[k][l] = l < valid ? -1 : 0;
    }
    /* every window inside the image (the image holds whole windows of channels): no check per pixel */
    if (reach <= d->in_c) GD(stage_rows)(d, img, r0, r1, chan, cw, cwp, dst, mode, lo, idx, keep, 0, 0);
    else GD(stage_rows)(d, img, r0, r1, chan, cw, cwp, dst, mode, lo, idx, keep, 1, img_floats - reach);
}

static GD_TARGET void GD(rows)(const gd_unit *u, int64_t oh0, int64_t oh1, float *out_img) {
    GD(strip_set) set;
    if (GD(strips_for)(u, &set)) {
        for (int64_t oh = oh0; oh < oh1; oh++) GD(row_strips)(u, &set, oh, out_img + oh * u->os_h);
        return;
    }
    for (int64_t oh = oh0; oh < oh1; oh++) GD(row_cg)(u, u->cg == 1, oh, out_img + oh * u->os_h);
}

#undef GD_ISA
#undef GD_V
#undef GD_SNB
#undef GD_PIN_LOADS
#undef GD_TILE
#undef GD_BLOCK_PV
#undef GD_TARGET
#undef GAI
