/*
 * Backward pass of the convolution: dL/d(input), dL/d(filter) and dL/d(bias) from dL/d(output).
 * The entry points of conv4j.h, which check their arguments and hand the units to a route:
 *   input gradient:  backward_input_gemm.c (stride phases, C4J_BWD_GEMM), backward_scatter.c
 *                    (C4J_BWD_SCATTER), backward_input_forward.c (a forward algorithm, stride 1;
 *                    strided: backward_input_s2d.c),
 *                    backward_input_taps.c (C4J_BWD_TAPS, stride 1);
 *   filter gradient: backward_filter_gemm.c (C4J_BWD_GEMM), backward_winograd.c,
 *                    backward_filter_fft.c (C4J_ALGO_FFT) and grouped_direct_backward.c, each with
 *                    pixel ranges summed separately and added up by backward_reduce.c; the bias
 *                    gradient rides along (backward_bias.c).
 * AUTO is resolved by backward_route.c.
 */
#include <stdint.h>
#include <string.h>

#include "internal.h"

static c4j_status check_call(const c4j_blas *blas, const c4j_conv2d_desc *d, int64_t units, int64_t need,
                             void *workspace, int64_t workspace_bytes, int64_t u0, int64_t u1, char *err,
                             size_t err_len) {
    if (blas == NULL || blas->sgemm == NULL) return c4j_fail(C4J_ERR_BLAS, err, err_len, "no BLAS bound");
    if (d == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "null descriptor");
    if (u0 < 0 || u1 > units || u0 > u1)
        return c4j_fail(C4J_ERR_ARG, err, err_len, "unit range [%lld, %lld) outside [0, %lld)", (long long)u0,
                        (long long)u1, (long long)units);
    if (u0 < u1 && need > 0 &&
        (workspace == NULL || workspace_bytes < need || ((uintptr_t)workspace & 63u) != 0))
        return c4j_fail(C4J_ERR_ARG, err, err_len, "workspace of %lld bytes (64-byte aligned) needed, got %lld",
                        (long long)need, (long long)workspace_bytes);
    return C4J_OK;
}

/* ------------------------------------------------------------------ input gradient */

/* The row of route (AUTO resolved) when it can run d, else NULL. */
static const c4j_input_gradient_route *input_route(const c4j_conv2d_desc *d, int route) {
    if (route == C4J_BWD_AUTO) route = c4j_conv2d_backward_input_route(d);
    const c4j_input_gradient_route *r = c4j_input_gradient_route_of(route);
    return r != NULL && r->applies(d) ? r : NULL;
}

int64_t c4j_conv2d_backward_input_units(const c4j_conv2d_desc *d, int route) {
    const c4j_input_gradient_route *r = input_route(d, route);
    return r == NULL ? 0 : r->units(d);
}

int64_t c4j_conv2d_backward_input_workspace_bytes(const c4j_conv2d_desc *d, int route) {
    const c4j_input_gradient_route *r = input_route(d, route);
    return r == NULL ? -1 : r->workspace(d);
}

int64_t c4j_conv2d_backward_input_prepared_floats(const c4j_conv2d_desc *d, int route) {
    const c4j_input_gradient_route *r = input_route(d, route);
    return r == NULL ? -1 : r->prepared_floats(d);
}

c4j_status c4j_conv2d_backward_input_prepare(const c4j_conv2d_desc *d, int route, const float *filter, float *prepared,
                                             char *err, size_t err_len) {
    if (d == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "null descriptor");
    const c4j_input_gradient_route *r = input_route(d, route);
    if (filter == NULL || prepared == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "null filter or prepared buffer");
    if (r == NULL)
        return c4j_fail(C4J_ERR_UNSUPPORTED, err, err_len, "input-gradient route %d cannot run this convolution", route);
    return r->prepare(d, filter, prepared, err, err_len);
}

int64_t c4j_conv2d_backward_input_prepare_units(const c4j_conv2d_desc *d, int route) {
    const c4j_input_gradient_route *r = input_route(d, route);
    return r == NULL ? 0 : r->prepare_part == NULL ? 1 : r->prepare_units(d);
}

c4j_status c4j_conv2d_backward_input_prepare_units_run(const c4j_conv2d_desc *d, int route, const float *filter,
                                                       float *prepared, int64_t unit_begin, int64_t unit_end,
                                                       char *err, size_t err_len) {
    if (d == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "null descriptor");
    const int64_t units = c4j_conv2d_backward_input_prepare_units(d, route);
    if (units <= 0)
        return c4j_fail(C4J_ERR_UNSUPPORTED, err, err_len, "input-gradient route %d cannot run this convolution", route);
    if (unit_begin < 0 || unit_end > units || unit_begin > unit_end)
        return c4j_fail(C4J_ERR_ARG, err, err_len, "unit range [%lld, %lld) outside [0, %lld)", (long long)unit_begin,
                        (long long)unit_end, (long long)units);
    const c4j_input_gradient_route *r = input_route(d, route);
    if (r->prepare_part == NULL) return unit_begin < unit_end ? c4j_conv2d_backward_input_prepare(d, route, filter, prepared, err, err_len) : C4J_OK;
    if (filter == NULL || prepared == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "null filter or prepared buffer");
    r->prepare_part(d, filter, prepared, unit_begin, unit_end);
    return C4J_OK;
}

c4j_status c4j_conv2d_backward_input(const c4j_blas *blas, const c4j_conv2d_desc *d, int route, const float *grad_out,
                                     const float *prepared, float *grad_in, void *workspace, int64_t workspace_bytes,
                                     int64_t unit_begin, int64_t unit_end, char *err, size_t err_len) {
    if (d == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "null descriptor");
    const c4j_input_gradient_route *r = input_route(d, route);
    if (r == NULL)
        return c4j_fail(C4J_ERR_UNSUPPORTED, err, err_len, "input-gradient route %d cannot run this convolution", route);
    c4j_status st = check_call(blas, d, r->units(d), r->workspace(d), workspace, workspace_bytes, unit_begin, unit_end,
                               err, err_len);
    if (st != C4J_OK || unit_begin == unit_end) return st;
    if (grad_out == NULL || prepared == NULL || grad_in == NULL)
        return c4j_fail(C4J_ERR_ARG, err, err_len, "null buffer");
    return r->run(blas, d, grad_out, prepared, grad_in, workspace, workspace_bytes, unit_begin, unit_end, err, err_len);
}

/* ------------------------------------------------------------------ filter and bias gradients */

/* The row of route (AUTO resolved) when it can run d, else NULL. */
static const c4j_filter_gradient_route *filter_route(const c4j_conv2d_desc *d, int route) {
    if (route == C4J_BWD_AUTO) route = c4j_conv2d_backward_filter_route(d);
    const c4j_filter_gradient_route *r = c4j_filter_gradient_route_of(route);
    return r != NULL && r->applies(d) ? r : NULL;
}

int64_t c4j_conv2d_backward_filter_units(const c4j_conv2d_desc *d, int route) {
    const c4j_filter_gradient_route *r = filter_route(d, route);
    return r == NULL ? 0 : r->units(d);
}

int64_t c4j_conv2d_backward_filter_workspace_bytes(const c4j_conv2d_desc *d, int route) {
    const c4j_filter_gradient_route *r = filter_route(d, route);
    return r == NULL ? -1 : r->workspace(d);
}

int64_t c4j_conv2d_backward_filter_partial_floats(const c4j_conv2d_desc *d, int route) {
    const c4j_filter_gradient_route *r = filter_route(d, route);
    return r == NULL ? -1 : (r->ranges(d) - 1) * (c4j_filter_floats(d) + d->out_c);
}

int64_t c4j_conv2d_backward_filter_reduce_units(const c4j_conv2d_desc *d, int route) {
    const c4j_filter_gradient_route *r = filter_route(d, route);
    return r == NULL ? 0 : c4j_bw_reduce_units(d, r->ranges(d));
}

static c4j_status check_partials(const c4j_conv2d_desc *d, int route, const float *partials, int64_t partials_avail,
                                 char *err, size_t err_len) {
    const int64_t need = c4j_conv2d_backward_filter_partial_floats(d, route);
    if (need > 0 && (partials == NULL || partials_avail < need))
        return c4j_fail(C4J_ERR_BOUNDS, err, err_len, "partial sums need %lld floats but %lld are available",
                        (long long)need, (long long)(partials == NULL ? 0 : partials_avail));
    return C4J_OK;
}

static c4j_status check_bias_args(const c4j_conv2d_desc *d, const float *grad_bias, char *err, size_t err_len) {
    if (grad_bias != NULL && !d->has_bias)
        return c4j_fail(C4J_ERR_ARG, err, err_len, "bias gradient given but has_bias is 0");
    if (d->has_bias && grad_bias == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "has_bias but no bias gradient");
    return C4J_OK;
}

c4j_status c4j_conv2d_backward_filter(const c4j_blas *blas, const c4j_conv2d_desc *d, int route, const float *in,
                                      const float *grad_out, float *grad_filter, float *grad_bias, float *partials,
                                      int64_t partials_avail, void *workspace, int64_t workspace_bytes,
                                      int64_t unit_begin, int64_t unit_end, char *err, size_t err_len) {
    if (d == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "null descriptor");
    const c4j_filter_gradient_route *r = filter_route(d, route);
    if (r == NULL)
        return c4j_fail(C4J_ERR_UNSUPPORTED, err, err_len, "filter-gradient route %d cannot run this convolution", route);
    c4j_status st = check_call(blas, d, r->units(d), r->workspace(d), workspace, workspace_bytes, unit_begin, unit_end,
                               err, err_len);
    if (st != C4J_OK || unit_begin == unit_end) return st;
    st = check_bias_args(d, grad_bias, err, err_len);
    if (st != C4J_OK) return st;
    if (grad_filter != NULL && in == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "filter gradient needs the input");
    if (d->batch > 0 && grad_out == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "null output gradient");
    st = check_partials(d, route, partials, partials_avail, err, err_len);
    if (st != C4J_OK) return st;
    r->run(blas, d, in, grad_out, grad_filter, grad_bias, partials, workspace, unit_begin, unit_end);
    return C4J_OK;
}

c4j_status c4j_conv2d_backward_filter_reduce(const c4j_conv2d_desc *d, int route, float *grad_filter, float *grad_bias,
                                             const float *partials, int64_t partials_avail, int64_t unit_begin,
                                             int64_t unit_end, char *err, size_t err_len) {
    if (d == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "null descriptor");
    const c4j_filter_gradient_route *r = filter_route(d, route);
    if (r == NULL)
        return c4j_fail(C4J_ERR_UNSUPPORTED, err, err_len, "filter-gradient route %d cannot run this convolution", route);
    const int64_t units = c4j_bw_reduce_units(d, r->ranges(d));
    if (unit_begin < 0 || unit_end > units || unit_begin > unit_end)
        return c4j_fail(C4J_ERR_ARG, err, err_len, "unit range [%lld, %lld) outside [0, %lld)", (long long)unit_begin,
                        (long long)unit_end, (long long)units);
    if (unit_begin == unit_end) return C4J_OK;
    c4j_status st = check_bias_args(d, grad_bias, err, err_len);
    if (st != C4J_OK) return st;
    st = check_partials(d, route, partials, partials_avail, err, err_len);
    if (st != C4J_OK) return st;
    c4j_bw_reduce_ranges(d, r->ranges(d), grad_filter, grad_bias, partials, unit_begin, unit_end);
    return C4J_OK;
}

