/*
 * Copies one strided 4-D float view into another of the same dimensions: how an output computed
 * channels last reaches a channels-first (NCHW) tensor, and how a channels-first input becomes a
 * channels-last copy for the routes that read channels contiguously. When one side has its channels
 * contiguous and the other its pixels, each image is a matrix transpose, done in cache blocks
 * (c4j_transpose) instead of element by element with one of the two sides strided.
 */
#include "internal.h"

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
                c4j_transpose(s, src_stride[2], cols, dim[3], o, dst_stride[3]);
                continue;
            }
            if (to_last) {
                c4j_transpose(s, src_stride[3], dim[3], cols, o, dst_stride[2]);
                continue;
            }
            for (int64_t w = 0; w < cols; w++)
                for (int64_t c = 0; c < dim[3]; c++) o[w * dst_stride[2] + c * dst_stride[3]] = s[w * src_stride[2] + c * src_stride[3]];
        }
    return C4J_OK;
}
