/* Descriptor and bounds check of the N-d engine: every entry point's second line of defence. */
#include "nd_internal.h"

#include <limits.h>

/* Largest element index a view reaches, or -1 on overflow (all dims >= 1, strides >= 0 checked). */
static int64_t reach(const int64_t *dims, const int64_t *strides, int count) {
    int64_t r = 0;
    for (int i = 0; i < count; i++) {
        int64_t step;
        if (__builtin_mul_overflow(dims[i] - 1, strides[i], &step) || __builtin_add_overflow(r, step, &r)) return -1;
    }
    return r;
}

static c4j_status need(int64_t v, int64_t lo, const char *what, int64_t axis, char *err, size_t err_len) {
    if (v < lo || v > INT_MAX) {
        if (axis >= 0)
            return c4j_fail(C4J_ERR_ARG, err, err_len, "%s[%lld] = %lld outside [%lld, %d]", what, (long long)axis,
                            (long long)v, (long long)lo, INT_MAX);
        return c4j_fail(C4J_ERR_ARG, err, err_len, "%s = %lld outside [%lld, %d]", what, (long long)v, (long long)lo,
                        INT_MAX);
    }
    return C4J_OK;
}

#define NEED(v, lo, what, axis)                                                  \
    do {                                                                         \
        c4j_status s_ = need((v), (lo), (what), (axis), err, err_len);           \
        if (s_ != C4J_OK) return s_;                                             \
    } while (0)

c4j_status c4j_nd_check(const c4j_nd_desc *d, int64_t in_avail, int64_t filter_avail, int64_t bias_avail,
                        int64_t out_avail, char *err, size_t err_len) {
    if (d == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "descriptor is NULL");
    if (d->rank < 1 || d->rank > 3) return c4j_fail(C4J_ERR_ARG, err, err_len, "rank %lld not in [1, 3]", (long long)d->rank);
    if (c4j_nd_elem_bytes(d) == 0) return c4j_fail(C4J_ERR_ARG, err, err_len, "dtype %lld unknown", (long long)d->dtype);
    NEED(d->batch, 0, "batch", -1);
    NEED(d->in_c, 1, "in_c", -1);
    NEED(d->out_c, 1, "out_c", -1);
    NEED(d->groups, 1, "groups", -1);
    if (d->in_c % d->groups != 0 || d->out_c % d->groups != 0)
        return c4j_fail(C4J_ERR_ARG, err, err_len, "groups %lld must divide in_c %lld and out_c %lld",
                        (long long)d->groups, (long long)d->in_c, (long long)d->out_c);
    for (int a = 0; a < C4J_ND_AXES; a++) {
        NEED(d->in_size[a], 1, "in_size", a);
        NEED(d->kernel[a], 1, "kernel", a);
        NEED(d->out_size[a], 1, "out_size", a);
        NEED(d->stride[a], 1, "stride", a);
        NEED(d->dilation[a], 1, "dilation", a);
        NEED(d->pad[a], 0, "pad", a);
        if (a < C4J_ND_AXES - d->rank &&
            (d->in_size[a] != 1 || d->kernel[a] != 1 || d->out_size[a] != 1 || d->pad[a] != 0))
            return c4j_fail(C4J_ERR_ARG, err, err_len, "axis %d is unused at rank %lld but not of size 1", a,
                            (long long)d->rank);
    }
    for (int i = 0; i < C4J_ND_AXES + 2; i++)
        if (d->in_stride[i] < 0 || d->out_stride[i] < 0)
            return c4j_fail(C4J_ERR_ARG, err, err_len, "stride %d of a view is negative", i);
    if (d->flip < 0 || d->flip > 1 || d->has_bias < 0 || d->has_bias > 1 || d->activation < C4J_ACT_NONE ||
        d->activation > C4J_ACT_RELU6)
        return c4j_fail(C4J_ERR_ARG, err, err_len, "flip, has_bias or activation out of range");
    int64_t taps = c4j_nd_taps(d), filter;
    if (__builtin_mul_overflow(taps, c4j_nd_cin_g(d), &filter) || __builtin_mul_overflow(filter, d->out_c, &filter))
        return c4j_fail(C4J_ERR_ARG, err, err_len, "filter size overflows");
    if (filter > filter_avail)
        return c4j_fail(C4J_ERR_BOUNDS, err, err_len, "filter needs %lld elements, %lld available", (long long)filter,
                        (long long)filter_avail);
    if (d->has_bias && d->out_c > bias_avail)
        return c4j_fail(C4J_ERR_BOUNDS, err, err_len, "bias needs %lld elements, %lld available", (long long)d->out_c,
                        (long long)bias_avail);
    if (d->batch == 0) return C4J_OK;
    int64_t in_dims[5] = {d->batch, d->in_size[0], d->in_size[1], d->in_size[2], d->in_c};
    int64_t out_dims[5] = {d->batch, d->out_size[0], d->out_size[1], d->out_size[2], d->out_c};
    int64_t ir = reach(in_dims, d->in_stride, 5), orr = reach(out_dims, d->out_stride, 5);
    if (ir < 0 || ir >= in_avail)
        return c4j_fail(C4J_ERR_BOUNDS, err, err_len, "input view reaches element %lld, %lld available", (long long)ir,
                        (long long)in_avail);
    if (orr < 0 || orr >= out_avail)
        return c4j_fail(C4J_ERR_BOUNDS, err, err_len, "output view reaches element %lld, %lld available", (long long)orr,
                        (long long)out_avail);
    return C4J_OK;
}
