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
 * that side at once, which alias in the cache and defeat the prefetcher (13 ns per float on a
 * 224x224x64 image). Here the far side is walked in runs of RUN floats, one whole cache line each,
 * while the near side's block, RUN rows of it, stays in L1 (0.3 ns per float on 0.1-1 M floats, about
 * 1 ns on 3 M; runs of 32 to 256 floats were 1.5-5x slower).
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
    for (int64_t n = 0; n < dim[0]; n++)
        for (int64_t r = 0; r < rows; r++) {
            const float *s = src + n * src_stride[0] + r * ss1;
            float *o = dst + n * dst_stride[0] + r * ds1;
            if (to_first) {
                to_planes(s, src_stride[2], cols, dim[3], o, dst_stride[3]);
                continue;
            }
            if (to_last) {
                from_planes(s, src_stride[3], dim[3], cols, o, dst_stride[2]);
                continue;
            }
            for (int64_t w = 0; w < cols; w++)
                for (int64_t c = 0; c < dim[3]; c++) o[w * dst_stride[2] + c * dst_stride[3]] = s[w * src_stride[2] + c * src_stride[3]];
        }
    return C4J_OK;
}
