/* Bias and fused activation, applied to output rows right after their sgemm while still in cache. */
#include "internal.h"

void c4j_epilogue_rows(const c4j_conv2d_desc *d, const float *bias, float *out, int64_t rows,
                       int64_t row_stride, int64_t c0, int64_t cols) {
    const int act = (int)d->activation;
    if (!d->has_bias && act == C4J_ACT_NONE) return;
    const float *b = d->has_bias ? bias + c0 : NULL;
    for (int64_t r = 0; r < rows; r++) {
        float *o = out + r * row_stride;
        if (b != NULL)
            for (int64_t c = 0; c < cols; c++) o[c] += b[c];
        if (act == C4J_ACT_RELU) {
            for (int64_t c = 0; c < cols; c++) o[c] = c4j_relu(o[c]);
        } else if (act == C4J_ACT_RELU6) {
            for (int64_t c = 0; c < cols; c++) o[c] = c4j_relu6(o[c]);
        }
    }
}
