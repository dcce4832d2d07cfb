/*
 * Forward convolution entry points (conv4j.h): walks of the forward table (conv2d_table.c). Every
 * algorithm-specific answer comes from its row; here are only the checks every call needs.
 */
#include <limits.h>
#include <stdint.h>

#include "internal.h"

/* The row of algo when it can run d, else NULL. */
static const c4j_conv2d_algorithm *applying(const c4j_conv2d_desc *d, c4j_algo algo) {
    const c4j_conv2d_algorithm *a = c4j_conv2d_forward_algorithm((int)algo);
    /* only the channels-first row and the narrow direct kernel (each output channel stored alone)
       write an output whose channels are not contiguous */
    if (a != NULL && a->id != C4J_ALGO_GEMM_NCHW && a->id != C4J_ALGO_DIRECT_NARROW && d->out_stride[3] != 1 &&
        d->out_c > 1)
        return NULL;
    return a != NULL && a->applies(d) ? a : NULL;
}

c4j_status c4j_conv2d_supports(const c4j_conv2d_desc *d, c4j_algo algo) {
    return applying(d, algo) != NULL ? C4J_OK : C4J_ERR_UNSUPPORTED;
}

int64_t c4j_conv2d_units(const c4j_conv2d_desc *d, c4j_algo algo) {
    const c4j_conv2d_algorithm *a = applying(d, algo);
    return d->batch == 0 || a == NULL ? 0 : a->units(d);
}

int64_t c4j_conv2d_workspace_bytes(const c4j_conv2d_desc *d, c4j_algo algo) {
    const c4j_conv2d_algorithm *a = applying(d, algo);
    return a == NULL ? -1 : a->workspace(d);
}

int64_t c4j_conv2d_prepared_floats(const c4j_conv2d_desc *d, c4j_algo algo) {
    const c4j_conv2d_algorithm *a = applying(d, algo);
    return a == NULL || a->prepared_floats == NULL ? 0 : a->prepared_floats(d);
}

c4j_status c4j_conv2d_prepare(const c4j_conv2d_desc *d, c4j_algo algo, const float *filter,
                              float *prepared, char *err, size_t err_len) {
    const c4j_conv2d_algorithm *a = applying(d, algo);
    if (a == NULL)
        return c4j_fail(C4J_ERR_UNSUPPORTED, err, err_len, "algorithm %d cannot run this convolution",
                        (int)algo);
    if (c4j_conv2d_prepared_floats(d, algo) == 0) return C4J_OK;
    if (filter == NULL || prepared == NULL)
        return c4j_fail(C4J_ERR_ARG, err, err_len, "null filter or prepared buffer");
    a->prepare(d, filter, prepared);
    return C4J_OK;
}

c4j_status c4j_conv2d_forward(const c4j_blas *blas, const c4j_conv2d_desc *d, c4j_algo algo,
                              const float *in, const float *filter, const float *prepared,
                              const float *bias, float *out, void *workspace, int64_t workspace_bytes,
                              int64_t unit_begin, int64_t unit_end, char *err, size_t err_len) {
    if (blas == NULL || blas->sgemm == NULL)
        return c4j_fail(C4J_ERR_BLAS, err, err_len, "no BLAS bound");
    const c4j_conv2d_algorithm *a = applying(d, algo);
    if (a == NULL)
        return c4j_fail(C4J_ERR_UNSUPPORTED, err, err_len, "algorithm %d cannot run this convolution",
                        (int)algo);
    const int64_t units = c4j_conv2d_units(d, algo);
    if (unit_begin < 0 || unit_end > units || unit_begin > unit_end)
        return c4j_fail(C4J_ERR_ARG, err, err_len, "unit range [%lld, %lld) outside [0, %lld)",
                        (long long)unit_begin, (long long)unit_end, (long long)units);
    if (unit_begin == unit_end) return C4J_OK;
    const int64_t need = a->workspace(d);
    if (need > 0 && (workspace == NULL || workspace_bytes < need || ((uintptr_t)workspace & 63u) != 0))
        return c4j_fail(C4J_ERR_ARG, err, err_len, "workspace of %lld bytes (64-byte aligned) needed, got %lld",
                        (long long)need, (long long)workspace_bytes);
    if (c4j_conv2d_prepared_floats(d, algo) > 0 && prepared == NULL)
        return c4j_fail(C4J_ERR_ARG, err, err_len, "algorithm %d needs the prepared filter", (int)algo);
    a->run(blas, d, in, filter, prepared, bias, out, workspace, unit_begin, unit_end);
    return C4J_OK;
}

double c4j_conv2d_roofline_seconds(const c4j_conv2d_desc *d) {
    return (double)d->groups * c4j_cost_sgemm(d->batch * d->out_h * d->out_w, d->kernel_h * d->kernel_w * c4j_cin_g(d),
                                              c4j_cout_g(d));
}

/*
 * The sgemm algorithms' models cost each group as a dense layer of its own; on layers of many
 * small groups (where the grouped direct kernel applies) they ran 1.2-10x (geometric mean about
 * 4) slower than estimated with 1 to 4 input channels per group (tiled, Winograd and FFT on the
 * depthwise and 32-group layers of the peer benchmark, test_grouped_direct bench), their
 * transforms and gathers being per group with channel vectors mostly empty, and about 1.5-2x
 * with 16. Their estimates there carry that factor: 4 up to 4 channels per group, then 16 / cg,
 * at least 1.5.
 */
double c4j_small_groups_factor(const c4j_conv2d_desc *d) {
    const double f = 16.0 / (double)c4j_cin_g(d);
    return f > 4.0 ? 4.0 : f < 1.5 ? 1.5 : f;
}

double c4j_small_groups_adjusted(const c4j_conv2d_desc *d, double seconds) {
    if (seconds < 0 || !c4j_gd_applicable(d)) return seconds;
    return seconds * c4j_small_groups_factor(d);
}

double c4j_conv2d_estimate_seconds(const c4j_conv2d_desc *d, c4j_algo algo, int include_prepare) {
    const c4j_conv2d_algorithm *a = applying(d, algo);
    if (a == NULL) return -1;
    if (d->batch == 0) return 0;
    return a->estimate(d, include_prepare);
}
