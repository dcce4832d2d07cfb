/*
 * Staging of input rows for the direct kernels (DIRECT_DENSE, DIRECT_NARROW): a unit copies the
 * input rows its output rows read into a zero-padded buffer of `width` columns, so that its inner
 * loops read every tap without a bounds check, whatever the padding and the input's view.
 */
#include <string.h>

#include "internal.h"

void c4j_stage_input_rows(const c4j_conv2d_desc *d, const float *img, int64_t oh0, int64_t rows, int64_t width,
                          float *dst) {
    const int64_t cin = d->in_c;
    /* staged columns [x0, x1) hold input columns [x0 - pad_left, x1 - pad_left) */
    const int64_t x0 = C4J_MIN(width, d->pad_left), x1 = C4J_MAX(x0, C4J_MIN(width, d->pad_left + d->in_w));
    /* channels contiguous (or one channel): a pixel is one run of cin floats */
    const int packed = d->in_stride[3] == 1 || cin == 1;
    for (int64_t r = 0; r < rows; r++) {
        const int64_t ih = oh0 * d->stride_h - d->pad_top + r;
        float *row = dst + r * width * cin;
        if (ih < 0 || ih >= d->in_h) {
            memset(row, 0, sizeof(float) * (size_t)(width * cin));
            continue;
        }
        memset(row, 0, sizeof(float) * (size_t)(x0 * cin));
        const float *src = img + ih * d->in_stride[1] + (x1 > x0 ? (x0 - d->pad_left) * d->in_stride[2] : 0);
        if (packed && d->in_stride[2] == cin) {
            memcpy(row + x0 * cin, src, sizeof(float) * (size_t)((x1 - x0) * cin));
        } else if (packed) {
            for (int64_t x = x0; x < x1; x++) memcpy(row + x * cin, src + (x - x0) * d->in_stride[2], sizeof(float) * (size_t)cin);
        } else if (d->in_stride[2] == 1) { /* channel planes (NCHW): each plane's run of the row, in turn */
            for (int64_t c = 0; c < cin; c++)
                for (int64_t x = x0; x < x1; x++) row[x * cin + c] = src[(x - x0) + c * d->in_stride[3]];
        } else {
            for (int64_t x = x0; x < x1; x++)
                for (int64_t c = 0; c < cin; c++) row[x * cin + c] = src[(x - x0) * d->in_stride[2] + c * d->in_stride[3]];
        }
        memset(row + x1 * cin, 0, sizeof(float) * (size_t)((width - x1) * cin));
    }
}
