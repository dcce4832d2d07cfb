/*
 * Copies one strided 4-D float view into another of the same dimensions: how an output computed
 * channels last reaches a channels-first (NCHW) tensor, and how a channels-first input becomes a
 * channels-last copy for the routes that read channels contiguously. When one side has its channels
 * contiguous and the other its pixels, each image is a matrix transpose, done in cache blocks
 * instead of element by element with one of the two sides strided.
 */
#include "internal.h"

/*
 * Blocked transposes for whole images, where one side's rows are far apart (a channel plane, often a
 * multiple of 4 KiB): c4j_transpose's 16x16 blocks then touch one cache line in each of 16 rows of
 * that side at once, which alias in the cache and defeat the prefetcher. Here the far side is walked
 * in runs of RUN floats, one whole cache line each, while the near side's block, RUN rows of it,
 * stays in L1 (runs of 32 to 256 floats were 1.5-5x slower). With AVX-512 the whole 16x16 blocks go
 * through registers instead (block16 below, 2-4x faster) and these loops copy only the strips left.
 */
enum { RUN = 16 };

/* [pixels, C] (pixel stride lds) to [C, pixels] (channel stride ldd): runs along the written planes */
static void to_planes(const float *restrict src, int64_t lds, int64_t pixels, int64_t c, float *restrict dst, int64_t ldd) {
    for (int64_t p0 = 0; p0 < pixels; p0 += RUN) {
        const int64_t np = C4J_MIN(RUN, pixels - p0);
        for (int64_t ch = 0; ch < c; ch++) {
            const float *s = src + p0 * lds + ch;
            float *restrict o = dst + ch * ldd + p0;
            for (int64_t p = 0; p < np; p++) o[p] = s[p * lds];
        }
    }
}

/* [C, pixels] (channel stride lds) to [pixels, C] (pixel stride ldd): runs along the read planes */
static void from_planes(const float *restrict src, int64_t lds, int64_t c, int64_t pixels, float *restrict dst, int64_t ldd) {
    for (int64_t p0 = 0; p0 < pixels; p0 += RUN) {
        const int64_t np = C4J_MIN(RUN, pixels - p0);
        for (int64_t ch = 0; ch < c; ch++) {
            const float *restrict s = src + ch * lds + p0;
            float *o = dst + p0 * ldd + ch;
            for (int64_t p = 0; p < np; p++) o[p * ldd] = s[p];
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define C4J_HAVE_AVX512_TRANSPOSE 1

/*
 * Whole 16x16 blocks in registers (AVX-512): dst[j * ldd + i] = src[i * lds + j] for i, j < 16.
 * Each of the 16 rows read and written is one 64-byte run, used whole at once, so neither side
 * needs to stay in cache between blocks and the far side's 4 KiB aliasing no longer matters.
 */
__attribute__((target("avx512f"))) static inline void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xee);
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xee);
    }
    for (int h = 0; h < 16; h += 8)
        for (int k = 0; k < 4; k++) {
            t[h + k] = _mm512_shuffle_f32x4(r[h + k], r[h + 4 + k], 0x88);
            t[h + 4 + k] = _mm512_shuffle_f32x4(r[h + k], r[h + 4 + k], 0xdd);
        }
    for (int k = 0; k < 8; k++) {
        r[k] = _mm512_shuffle_f32x4(t[k], t[k + 8], 0x88);
        r[k + 8] = _mm512_shuffle_f32x4(t[k], t[k + 8], 0xdd);
    }
}

__attribute__((target("avx512f"))) static void block16(const float *restrict src, int64_t lds, float *restrict dst,
                                                      int64_t ldd) {
    __m512 r[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + i * lds);
    transpose16(r);
    for (int j = 0; j < 16; j++) _mm512_storeu_ps(dst + j * ldd, r[j]);
}

/* Narrower than a block: each pixel's c channels read with a mask (lanes past c are zeros, never
   read from memory), so a narrow layer's planes are written 16 floats at a time, not one. */
__attribute__((target("avx512f"))) void c4j_pixels16_to_planes(const float *restrict src, int64_t lds, int64_t c,
                                                               float *restrict dst, int64_t ldd) {
    const __mmask16 m = (__mmask16)(c >= 16 ? 0xffffu : (1u << c) - 1u);
    __m512 r[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_maskz_loadu_ps(m, src + i * lds);
    transpose16(r);
    for (int j = 0; j < c && j < 16; j++) _mm512_storeu_ps(dst + j * ldd, r[j]);
}

/* to_planes with whole blocks in registers; the strips left over (fewer than 16 wide) as before.
   16 channels at a time walk the whole pixel range: the planes side then advances as 16 sequential
   streams, which the prefetcher follows, instead of one stream per channel of the image (64-512),
   which left the next line of most planes a miss on every block. */
__attribute__((target("avx512f"))) static void to_planes_avx512(const float *restrict src, int64_t lds, int64_t pixels,
                                                               int64_t c, float *restrict dst, int64_t ldd) {
    const int64_t p16 = pixels / 16 * 16, c16 = c / 16 * 16;
    for (int64_t c0 = 0; c0 < c16; c0 += 16)
        for (int64_t p0 = 0; p0 < p16; p0 += 16) block16(src + p0 * lds + c0, lds, dst + c0 * ldd + p0, ldd);
    if (c16 < c) to_planes(src + c16, lds, p16, c - c16, dst + c16 * ldd, ldd);
    if (p16 < pixels) to_planes(src + p16 * lds, lds, pixels - p16, c, dst + p16, ldd);
}

/* from_planes likewise (16 planes read as sequential streams) */
__attribute__((target("avx512f"))) static void from_planes_avx512(const float *restrict src, int64_t lds, int64_t c,
                                                                 int64_t pixels, float *restrict dst, int64_t ldd) {
    const int64_t p16 = pixels / 16 * 16, c16 = c / 16 * 16;
    for (int64_t c0 = 0; c0 < c16; c0 += 16)
        for (int64_t p0 = 0; p0 < p16; p0 += 16) block16(src + c0 * lds + p0, lds, dst + p0 * ldd + c0, ldd);
    if (c16 < c) from_planes(src + c16 * lds, lds, c - c16, p16, dst + c16, ldd);
    if (p16 < pixels) from_planes(src + p16, lds, c, pixels - p16, dst + p16 * ldd, ldd);
}
#endif

/* the largest index a view reaches (dimensions >= 1, strides >= 0), or -1 when it overflows */
static int64_t reach(const int64_t dim[4], const int64_t stride[4]) {
    int64_t r = 0;
    for (int i = 0; i < 4; i++) {
        if (dim[i] == 0) return 0;
        int64_t step;
        if (__builtin_mul_overflow(dim[i] - 1, stride[i], &step) || __builtin_add_overflow(r, step, &r)) return -1;
    }
    return r;
}

c4j_status c4j_copy_view(const float *src, int64_t src_avail, const int64_t src_stride[4], float *dst, int64_t dst_avail,
                         const int64_t dst_stride[4], const int64_t dim[4], char *err, size_t err_len) {
    for (int i = 0; i < 4; i++)
        if (dim[i] < 0 || src_stride[i] < 0 || dst_stride[i] < 0)
            return c4j_fail(C4J_ERR_ARG, err, err_len, "negative dimension or stride in axis %d", i);
    if (dim[0] == 0 || dim[1] == 0 || dim[2] == 0 || dim[3] == 0) return C4J_OK;
    const int64_t rs = reach(dim, src_stride), rd = reach(dim, dst_stride);
    if (src == NULL || dst == NULL || rs < 0 || rd < 0 || rs >= src_avail || rd >= dst_avail)
        return c4j_fail(C4J_ERR_BOUNDS, err, err_len, "copy reaches beyond its buffers (source %lld of %lld, destination %lld of %lld floats)",
                        (long long)rs, (long long)src_avail, (long long)rd, (long long)dst_avail);
    /* pixels (axes 1 and 2) as one axis where both views step through them evenly */
    int64_t rows = dim[1], cols = dim[2], ss1 = src_stride[1], ds1 = dst_stride[1];
    if (src_stride[1] == dim[2] * src_stride[2] && dst_stride[1] == dim[2] * dst_stride[2]) {
        cols = dim[1] * dim[2];
        rows = 1;
        ss1 = ds1 = 0;
    }
    /* [pixels, C] to [C, pixels] (channels last to first), or back */
    const int to_first = src_stride[3] == 1 && dst_stride[2] == 1 && dst_stride[3] > 1;
    const int to_last = !to_first && src_stride[2] == 1 && src_stride[3] > 1 && dst_stride[3] == 1;
    void (*first)(const float *restrict, int64_t, int64_t, int64_t, float *restrict, int64_t) = to_planes;
    void (*last)(const float *restrict, int64_t, int64_t, int64_t, float *restrict, int64_t) = from_planes;
#ifdef C4J_HAVE_AVX512_TRANSPOSE
    if (c4j_cpu_has_avx512()) {
        first = to_planes_avx512;
        last = from_planes_avx512;
    }
#endif
    for (int64_t n = 0; n < dim[0]; n++)
        for (int64_t r = 0; r < rows; r++) {
            const float *s = src + n * src_stride[0] + r * ss1;
            float *o = dst + n * dst_stride[0] + r * ds1;
            if (to_first) {
                first(s, src_stride[2], cols, dim[3], o, dst_stride[3]);
                continue;
            }
            if (to_last) {
                last(s, src_stride[3], dim[3], cols, o, dst_stride[2]);
                continue;
            }
            for (int64_t w = 0; w < cols; w++)
                for (int64_t c = 0; c < dim[3]; c++) o[w * dst_stride[2] + c * dst_stride[3]] = s[w * src_stride[2] + c * src_stride[3]];
        }
    return C4J_OK;
}
