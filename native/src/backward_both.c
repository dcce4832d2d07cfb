/*
 * Both gradients in one call (c4j_conv2d_backward_both): on a microsecond layer the caller's two
 * executor jobs and two JNI crossings cost as much as the kernels themselves. The pair's units
 * are the filter gradient's (with the bias) followed by the input gradient's, each run through the
 * very entry point the two-call path uses, so the bits are the same for any split. A filter
 * gradient with partial sums needs its reduction after all its units: not a pair.
 */
#include <stdint.h>

#include "internal.h"

/* The two descriptors describe one convolution: they may differ only in the input view (the
   input for dW, the input gradient for dX) and has_bias (dX has none). */
static int same_convolution(const c4j_conv2d_desc *f, const c4j_conv2d_desc *i) {
    if (f->batch != i->batch || f->in_h != i->in_h || f->in_w != i->in_w || f->in_c != i->in_c ||
        f->kernel_h != i->kernel_h || f->kernel_w != i->kernel_w || f->out_c != i->out_c || f->groups != i->groups ||
        f->stride_h != i->stride_h || f->stride_w != i->stride_w || f->dilation_h != i->dilation_h ||
        f->dilation_w != i->dilation_w || f->pad_top != i->pad_top || f->pad_left != i->pad_left ||
        f->out_h != i->out_h || f->out_w != i->out_w || f->flip != i->flip || f->activation != i->activation)
        return 0;
    for (int k = 0; k < 4; k++)
        if (f->out_stride[k] != i->out_stride[k]) return 0;
    return !i->has_bias;
}

/* Units of each gradient when the pair can run as one call, else 0 (then *uf and *ui are 0). */
static int64_t both_units(const c4j_conv2d_desc *df, int filter_route, const c4j_conv2d_desc *di, int input_route,
                          int64_t *uf, int64_t *ui) {
    *uf = *ui = 0;
    if (df == NULL || di == NULL || !same_convolution(df, di) || df->batch <= 0) return 0;
    /* partial sums need a reduction after every filter unit: a second job */
    if (c4j_conv2d_backward_filter_partial_floats(df, filter_route) != 0) return 0;
    const int64_t f = c4j_conv2d_backward_filter_units(df, filter_route), i = c4j_conv2d_backward_input_units(di, input_route);
    if (f <= 0 || i <= 0 || f > INT64_MAX - i) return 0;
    *uf = f;
    *ui = i;
    return f + i;
}

int64_t c4j_conv2d_backward_both_units(const c4j_conv2d_desc *df, int filter_route, const c4j_conv2d_desc *di,
                                       int input_route) {
    int64_t uf, ui;
    return both_units(df, filter_route, di, input_route, &uf, &ui);
}

int64_t c4j_conv2d_backward_both_workspace_bytes(const c4j_conv2d_desc *df, int filter_route,
                                                 const c4j_conv2d_desc *di, int input_route) {
    if (c4j_conv2d_backward_both_units(df, filter_route, di, input_route) <= 0) return -1;
    const int64_t f = c4j_conv2d_backward_filter_workspace_bytes(df, filter_route);
    const int64_t i = c4j_conv2d_backward_input_workspace_bytes(di, input_route);
    if (f < 0 || i < 0) return -1;
    return f > i ? f : i; /* a range runs its filter units, then its input units: one workspace serves both */
}

c4j_status c4j_conv2d_backward_both(const c4j_blas *blas, const c4j_conv2d_desc *df, int filter_route,
                                    const c4j_conv2d_desc *di, int input_route, const float *in,
                                    const float *grad_out, float *grad_filter, float *grad_bias,
                                    const float *prepared, float *grad_in, void *workspace, int64_t workspace_bytes,
                                    int64_t unit_begin, int64_t unit_end, char *err, size_t err_len) {
    if (df == NULL || di == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "null descriptor");
    int64_t uf, ui;
    const int64_t units = both_units(df, filter_route, di, input_route, &uf, &ui);
    if (units <= 0)
        return c4j_fail(C4J_ERR_UNSUPPORTED, err, err_len,
                        "routes %d (filter) and %d (input) cannot run this convolution's gradients in one call",
                        filter_route, input_route);
    if (unit_begin < 0 || unit_end > units || unit_begin > unit_end)
        return c4j_fail(C4J_ERR_ARG, err, err_len, "unit range [%lld, %lld) outside [0, %lld)", (long long)unit_begin,
                        (long long)unit_end, (long long)units);
    if (unit_begin == unit_end) return C4J_OK;
    if (grad_filter == NULL || grad_in == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "both gradients are needed");
    c4j_status st = C4J_OK;
    if (unit_begin < uf) /* units [0, uf): the filter gradient's own */
        st = c4j_conv2d_backward_filter(blas, df, filter_route, in, grad_out, grad_filter, grad_bias, NULL, 0, workspace,
                                        workspace_bytes, unit_begin, unit_end < uf ? unit_end : uf, err, err_len);
    if (st != C4J_OK || unit_end <= uf) return st;
    /* units [uf, uf + ui): the input gradient's */
    return c4j_conv2d_backward_input(blas, di, input_route, grad_out, prepared, grad_in, workspace, workspace_bytes,
                                     (unit_begin > uf ? unit_begin : uf) - uf, unit_end - uf, err, err_len);
}
