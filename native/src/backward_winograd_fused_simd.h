/*
 * The kernels of backward_winograd_fused.c, included there once per instruction set (a C
 * template, as backward_filter_direct_simd.h): before each inclusion the file defines
 *   FW_ISA     suffix of every name defined here (portable, avx2, avx512)
 *   FW_V       lanes per vector (4, 8, 16)
 *   FW_NV      vectors of output channels per pass (FW_NV x FW_V divides FW_CO)
 *   FW_TARGET  the target attribute of the functions (empty for the portable build)
 * FW_ROWS x FW_NV accumulators, FW_NV dY vectors and one broadcast fit the vector registers:
 * 6 x 4 + 4 + 1 of AVX-512's 32, 6 x 2 + 2 + 1 of AVX2's 16 (the direct filter-gradient kernel's
 * tile, for the same reason: 6 broadcasts per 24 multiply-adds).
 */
#define FW_CAT2(a, b) a##_##b
#define FW_CAT(a, b) FW_CAT2(a, b)
#define FW(name) FW_CAT(name, FW_ISA)
#define FWI static inline __attribute__((always_inline)) FW_TARGET

typedef float FW(vec) __attribute__((vector_size(FW_V * sizeof(float))));
typedef float FW(uvec) __attribute__((vector_size(FW_V * sizeof(float)), aligned(4)));

/*
 * Point sums of nb input channels (rows) x one pass of FW_NV vectors of output lanes: for each
 * point xi, S[j][v][xi] = sum over tiles t, in order, of V[xi][t][j] * E[xi][t][v]. Panels: V at
 * the block's first channel, vs floats per point, vt per tile; E at the pass's first lane, rows of
 * FW_CO floats (zero past the block's channels), es floats per point. The sums of one point never
 * leave the registers until all tiles are in; S (FW_PTS x FW_ROWS x FW_NV vectors) stays in L1.
 */
FWI void FW(sums)(const float *V, int64_t vs, int64_t vt, const float *E, int64_t es, int64_t tiles, float *S,
                  const int nb) {
    for (int xi = 0; xi < FW_PTS; xi++) {
        FW(vec) acc[FW_ROWS][FW_NV];
        _Pragma("GCC unroll 8") for (int j = 0; j < nb; j++)
            _Pragma("GCC unroll 4") for (int v = 0; v < FW_NV; v++) acc[j][v] = (FW(vec)){0};
        const float *x = V + xi * vs, *y = E + xi * es;
        for (int64_t t = 0; t < tiles; t++, x += vt, y += FW_CO) {
            FW(vec) yv[FW_NV];
            _Pragma("GCC unroll 4") for (int v = 0; v < FW_NV; v++) yv[v] = *(const FW(uvec) *)(const void *)(y + v * FW_V);
            _Pragma("GCC unroll 8") for (int j = 0; j < nb; j++) {
                const float xv = x[j];
                _Pragma("GCC unroll 4") for (int v = 0; v < FW_NV; v++) acc[j][v] += xv * yv[v];
            }
        }
        /* S[j][v][xi]: G'^T S G' then reads each vector's 36 sums contiguously */
        _Pragma("GCC unroll 8") for (int j = 0; j < nb; j++)
            _Pragma("GCC unroll 4") for (int v = 0; v < FW_NV; v++)
                *(FW(vec) *)(void *)(S + ((j * FW_NV + v) * FW_PTS + xi) * FW_V) = acc[j][v];
    }
}

#define FW_VARIANT(name, NB)                                                                                    \
    static __attribute__((noinline)) FW_TARGET void FW(name)(const float *V, int64_t vs, int64_t vt,            \
                                                             const float *E, int64_t es, int64_t tiles,         \
                                                             float *S) {                                        \
        FW(sums)(V, vs, vt, E, es, tiles, S, NB);                                                               \
    }
FW_VARIANT(sums6, FW_ROWS)
FW_VARIANT(sums4, 4)
FW_VARIANT(sums2, 2)
FW_VARIANT(sums1, 1)
#undef FW_VARIANT

/* w = G'^T S G' for one vector of lanes of one row (s: its 36 sums, one vector each, in point
   order); tap (k, l) to out[3k + l] + off, `lanes` of them (a whole vector when full) */
FWI void FW(taps_vec)(const float *s, float *const *out, int64_t off, int64_t lanes, const int full, const int nt) {
    FW(vec) t[6][3];
    _Pragma("GCC unroll 6") for (int i = 0; i < 6; i++) {
        FW(vec) m[6];
        _Pragma("GCC unroll 6") for (int b = 0; b < 6; b++)
            m[b] = *(const FW(vec) *)(const void *)(s + (6 * i + b) * FW_V);
        FW_GT(m[0], m[1], m[2], m[3], m[4], m[5], t[i][0], t[i][1], t[i][2]);
    }
    _Pragma("GCC unroll 3") for (int l = 0; l < 3; l++) {
        FW(vec) w[3];
        FW_GT(t[0][l], t[1][l], t[2][l], t[3][l], t[4][l], t[5][l], w[0], w[1], w[2]);
        _Pragma("GCC unroll 3") for (int k = 0; k < 3; k++) {
            float *dst = out[3 * k + l] + off;
            if (full && nt) {
                FW_STREAM(dst, w[k]);
            } else if (full) {
                *(FW(uvec) *)(void *)dst = w[k];
            } else {
                float tmp[FW_V];
                *(FW(uvec) *)(void *)tmp = w[k];
                memcpy(dst, tmp, sizeof(float) * (size_t)lanes);
            }
        }
    }
}

/* dW of rows [0, nb) and lanes [0, lanes) of the pass from its point sums S; row j's taps at
   out[tap] + j * rs; nt: whole vectors by non-temporal stores (out and rs aligned to them) */
FWI void FW(taps)(const float *S, int nb, int64_t lanes, float *const *out, int64_t rs, const int nt) {
    for (int j = 0; j < nb; j++) {
        for (int v = 0; v < FW_NV && v * FW_V < lanes; v++) {
            const float *s = S + (j * FW_NV + v) * FW_PTS * FW_V;
            if (lanes - v * FW_V >= FW_V) FW(taps_vec)(s, out, j * rs + v * FW_V, FW_V, 1, nt);
            else FW(taps_vec)(s, out, j * rs + v * FW_V, lanes - v * FW_V, 0, 0);
        }
    }
}

static __attribute__((noinline)) FW_TARGET void FW(taps_st)(const float *S, int nb, int64_t lanes, float *const *out,
                                                            int64_t rs) {
    FW(taps)(S, nb, lanes, out, rs, 0);
}
static __attribute__((noinline)) FW_TARGET void FW(taps_nt)(const float *S, int nb, int64_t lanes, float *const *out,
                                                            int64_t rs) {
    FW(taps)(S, nb, lanes, out, rs, 1);
}

/*
 * Rows [0, rows) of the chunk, lanes [0, cols) of the block: register blocks of FW_ROWS, then 4,
 * 2 and 1 rows, each pass of lanes summed and then transformed into dW while its S is in L1.
 * stream: dW by non-temporal stores where aligned. A vector's 9 taps go to 9 planes of dW
 * cin_g x out_c floats apart, a power of two on most deep layers: the lines of one pass fall in
 * a few sets of L1 and L2, evict each other (and any prefetch) and every store waits for its line
 * from beyond L2; written past the caches no line is read.
 */
static FW_TARGET void FW(chunk)(const float *V, int64_t vs, int64_t vt, const float *E, int64_t es, int64_t tiles,
                                int64_t rows, int64_t cols, float *S, float *const *out, int64_t rs, int stream) {
    float *o[9];
    int nt = stream && rs % FW_V == 0;
    for (int k = 0; k < 9; k++) nt = nt && ((uintptr_t)out[k] % (FW_V * sizeof(float))) == 0;
    for (int64_t c = 0; c < rows;) {
        const int64_t left = rows - c, nb = left >= FW_ROWS ? FW_ROWS : left >= 4 ? 4 : left >= 2 ? 2 : 1;
        for (int64_t l0 = 0; l0 < cols; l0 += FW_NV * FW_V) {
            const int64_t lanes = C4J_MIN(FW_NV * FW_V, cols - l0);
            for (int k = 0; k < 9; k++) o[k] = out[k] + c * rs + l0;
            const float *Vc = V + c, *El = E + l0;
            if (nb == FW_ROWS) FW(sums6)(Vc, vs, vt, El, es, tiles, S);
            else if (nb == 4) FW(sums4)(Vc, vs, vt, El, es, tiles, S);
            else if (nb == 2) FW(sums2)(Vc, vs, vt, El, es, tiles, S);
            else FW(sums1)(Vc, vs, vt, El, es, tiles, S);
            if (nt) FW(taps_nt)(S, (int)nb, lanes, o, rs);
            else FW(taps_st)(S, (int)nb, lanes, o, rs);
        }
        c += nb;
    }
    if (nt) FW_FENCE();
}

#undef FW_ISA
#undef FW_V
#undef FW_NV
#undef FW_TARGET
#undef FW_STREAM
#undef FW_FENCE
