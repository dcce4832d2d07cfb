/*
 * The register-blocked kernel of backward_filter_direct.c, included there once per instruction set
 * (a C template, as direct_dense_simd.h): before each inclusion the file defines
 *   FD_ISA     suffix of every name defined here (portable, avx2, avx512)
 *   FD_V       lanes per vector (4, 8, 16)
 *   FD_NV      vectors of output channels per pass
 *   FD_NB      input channels (rows of dW) per tile
 *   FD_TARGET  the target attribute of the functions (empty for the portable build)
 * FD_NB x FD_NV accumulators, FD_NV dY vectors and one broadcast input value fit the vector
 * registers: 6 x 4 + 4 + 1 of AVX-512's 32 (6 broadcasts per 24 multiply-adds: 12 x 2 ran
 * about 12% slower on the 7x512 layer), 6 x 2 + 2 + 1 of AVX2's 16. Each step (one output
 * pixel) loads FD_NV vectors of the packed dY row and broadcasts FD_NB input values of that
 * pixel's window for FD_NB x FD_NV multiply-adds. Every dW element is summed over the pixels in
 * their order (images, rows, columns), whatever the tile width.
 */
#define FD_CAT2(a, b) a##_##b
#define FD_CAT(a, b) FD_CAT2(a, b)
#define FD(name) FD_CAT(name, FD_ISA)
#define FDI static inline __attribute__((always_inline)) FD_TARGET

typedef float FD(vec) __attribute__((vector_size(FD_V * sizeof(float))));
typedef float FD(uvec) __attribute__((vector_size(FD_V * sizeof(float)), aligned(4)));

/* `lanes` of acc into o (all of them when lanes >= FD_V) */
FDI void FD(store)(FD(vec) acc, float *o, int64_t lanes) {
    if (lanes >= FD_V) {
        *(FD(uvec) *)(void *)o = acc;
    } else {
        float t[FD_V];
        *(FD(uvec) *)(void *)t = acc;
        memcpy(o, t, sizeof(float) * (size_t)lanes);
    }
}

FDI FD(vec) FD(load)(const float *o, int64_t lanes) {
    if (lanes >= FD_V) return *(const FD(uvec) *)(const void *)o;
    float t[FD_V] = {0};
    memcpy(t, o, sizeof(float) * (size_t)lanes);
    return *(const FD(uvec) *)(const void *)t;
}

/*
 * nb rows of dW (input channels) x nv vectors of output channels over the tile's runs of pixels:
 * each run is a stretch of one output row whose windows all hold this tap, its input values
 * read in place (channel stride cs, pixel step xstep), its dY values from the packed rows.
 */
FDI void FD(tile)(const fd_tile *t, const int nb, const int nv) {
    FD(vec) acc[FD_NB][FD_NV];
    _Pragma("GCC unroll 16") for (int j = 0; j < nb; j++) {
        _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) {
            const int64_t lanes = t->lanes - v * FD_V; /* <= 0: a vector past the pass's lanes */
            acc[j][v] = t->accumulate && lanes > 0 ? FD(load)(t->dw + j * t->ldw + v * FD_V, lanes) : (FD(vec)){0};
        }
    }
    const int64_t cs = t->cs, xstep = t->xstep, ystep = t->ystep;
    for (int64_t r = 0; r < t->nruns; r++) {
        const fd_run *run = &t->runs[r];
        const float *x = run->x + t->xoff;
        const float *y = run->dy + t->yoff;
        for (int64_t p = 0; p < run->count; p++, x += xstep, y += ystep) {
            FD(vec) yv[FD_NV];
            _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) yv[v] = *(const FD(uvec) *)(const void *)(y + v * FD_V);
            _Pragma("GCC unroll 16") for (int j = 0; j < nb; j++) {
                const float xv = x[j * cs];
                _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) acc[j][v] += xv * yv[v];
            }
        }
    }
    _Pragma("GCC unroll 16") for (int j = 0; j < nb; j++) {
        _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) {
            const int64_t lanes = t->lanes - v * FD_V;
            if (lanes > 0) FD(store)(acc[j][v], t->dw + j * t->ldw + v * FD_V, lanes);
        }
    }
}

/* one copy per tile height and vector count, each with its constants folded in */
#define FD_VARIANT(name, NB, NV)                                                                        \
    static __attribute__((noinline)) FD_TARGET void FD(name)(const fd_tile *t) { FD(tile)(t, NB, NV); }
FD_VARIANT(full, FD_NB, FD_NV)
FD_VARIANT(full1, FD_NB, 1)
FD_VARIANT(four, 4, FD_NV)
FD_VARIANT(four1, 4, 1)
FD_VARIANT(two, 2, FD_NV)
FD_VARIANT(two1, 2, 1)
FD_VARIANT(one, 1, FD_NV)
FD_VARIANT(one1, 1, 1)
#undef FD_VARIANT

/*
 * Input channels [0, channels) of the tile's chunk (t->xoff and t->dw at its first channel) for
 * output channels [0, cols) of the packed dY: tiles of FD_NB channels, then of 4, 2 and 1; each
 * runs every pass of FD_NV vectors.
 */
static FD_TARGET void FD(chunk)(fd_tile *t, int64_t channels, int64_t cols) {
    const int64_t pass_lanes = FD_NV * FD_V, xoff = t->xoff;
    float *const dw = t->dw;
    for (int64_t c = 0; c < channels;) {
        const int64_t left = channels - c, nb = left >= FD_NB ? FD_NB : left >= 4 ? 4 : left >= 2 ? 2 : 1;
        for (int64_t l0 = 0; l0 < cols; l0 += pass_lanes) {
            t->lanes = C4J_MIN(pass_lanes, cols - l0);
            t->xoff = xoff + c * t->cs;
            t->yoff = l0;
            t->dw = dw + c * t->ldw + l0;
            const int narrow = t->lanes <= FD_V;
            if (nb == FD_NB) {
                if (narrow) FD(full1)(t);
                else FD(full)(t);
            } else if (nb == 4) {
                if (narrow) FD(four1)(t);
                else FD(four)(t);
            } else if (nb == 2) {
                if (narrow) FD(two1)(t);
                else FD(two)(t);
            } else {
                if (narrow) FD(one1)(t);
                else FD(one)(t);
            }
        }
        c += nb;
    }
    t->xoff = xoff;
    t->dw = dw;
}

/* this width's tile: what the estimate counts */
enum { FD(tile_rows) = FD_NB, FD(pass_lanes) = FD_NV * FD_V, FD(lanes) = FD_V };

#undef FD_ISA
#undef FD_V
#undef FD_NV
#undef FD_NB
#undef FD_TARGET
