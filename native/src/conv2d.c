/* Forward convolution: algorithm applicability, work units, and dispatch. */
#include <limits.h>
#include <stdint.h>

#include "internal.h"

c4j_status c4j_conv2d_supports(const c4j_conv2d_desc *d, c4j_algo algo) {
    switch (algo) {
    case C4J_ALGO_GEMM_TILED:
        return C4J_OK;
    case C4J_ALGO_GEMM_DIRECT: {
        /* each output pixel is one input pixel row read in place: no padding, no virtual zeros,
           channels contiguous, and a row step BLAS accepts as lda (>= K) */
        const int64_t lda = d->stride_w * d->in_stride[2];
        int ok = d->kernel_h == 1 && d->kernel_w == 1 && d->pad_top == 0 && d->pad_left == 0 &&
                 (d->in_stride[3] == 1 || c4j_cin_g(d) == 1) && lda >= c4j_cin_g(d) && lda <= INT_MAX &&
                 (d->out_h - 1) * d->stride_h < d->in_h && (d->out_w - 1) * d->stride_w < d->in_w;
        return ok ? C4J_OK : C4J_ERR_UNSUPPORTED;
    }
    case C4J_ALGO_GROUPED_DIRECT:
        return c4j_gd_applicable(d) ? C4J_OK : C4J_ERR_UNSUPPORTED;
    case C4J_ALGO_FFT:
        return c4j_fft_supported(d) || c4j_s2d_applicable(d, algo) ? C4J_OK : C4J_ERR_UNSUPPORTED;
    case C4J_ALGO_WINOGRAD_2X2:
    case C4J_ALGO_WINOGRAD_4X4:
        return c4j_winograd_applicable(d, algo) || c4j_s2d_applicable(d, algo) ? C4J_OK : C4J_ERR_UNSUPPORTED;
    default:
        return C4J_ERR_UNSUPPORTED;
    }
}

/* Winograd and the FFT run strided convolutions through s2d.c (space to depth), others natively. */
static int via_s2d(const c4j_conv2d_desc *d, c4j_algo algo) {
    return (d->stride_h != 1 || d->stride_w != 1) && c4j_s2d_applicable(d, algo);
}

int64_t c4j_conv2d_units(const c4j_conv2d_desc *d, c4j_algo algo) {
    if (d->batch == 0 || c4j_conv2d_supports(d, algo) != C4J_OK) return 0;
    if (via_s2d(d, algo)) return c4j_s2d_units(d, algo);
    switch (algo) {
    case C4J_ALGO_GEMM_DIRECT: return c4j_gemm_direct_units(d);
    case C4J_ALGO_GEMM_TILED: return c4j_gemm_tiled_units(d);
    case C4J_ALGO_GROUPED_DIRECT: return c4j_gd_units(d);
    case C4J_ALGO_FFT: return c4j_fft_units(d);
    case C4J_ALGO_WINOGRAD_2X2:
    case C4J_ALGO_WINOGRAD_4X4: return c4j_winograd_units(d, algo);
    default: return 0;
    }
}

int64_t c4j_conv2d_workspace_bytes(const c4j_conv2d_desc *d, c4j_algo algo) {
    if (c4j_conv2d_supports(d, algo) != C4J_OK) return -1;
    if (via_s2d(d, algo)) return c4j_s2d_workspace(d, algo);
    switch (algo) {
    case C4J_ALGO_GEMM_DIRECT: return 0;
    case C4J_ALGO_GEMM_TILED: return c4j_gemm_tiled_workspace(d);
    case C4J_ALGO_GROUPED_DIRECT: return c4j_gd_workspace(d);
    case C4J_ALGO_FFT: return c4j_fft_workspace(d);
    case C4J_ALGO_WINOGRAD_2X2:
    case C4J_ALGO_WINOGRAD_4X4: return c4j_winograd_workspace(d, algo);
    default: return -1;
    }
}

int64_t c4j_conv2d_prepared_floats(const c4j_conv2d_desc *d, c4j_algo algo) {
    if (via_s2d(d, algo)) return c4j_s2d_prepared_floats(d, algo);
    switch (algo) {
    case C4J_ALGO_FFT: return c4j_conv2d_supports(d, algo) == C4J_OK ? c4j_fft_prepared_floats(d) : 0;
    case C4J_ALGO_WINOGRAD_2X2:
    case C4J_ALGO_WINOGRAD_4X4:
        /* U = G g G^T per transform point: depends on the filter, groups, channels and flip only */
        return c4j_conv2d_supports(d, algo) == C4J_OK ? c4j_winograd_prepared_floats(d, algo) : 0;
    default: return 0; /* the GEMM algorithms read the HWIO filter as it is */
    }
}

c4j_status c4j_conv2d_prepare(const c4j_conv2d_desc *d, c4j_algo algo, const float *filter,
                              float *prepared, char *err, size_t err_len) {
    if (c4j_conv2d_supports(d, algo) != C4J_OK)
        return c4j_fail(C4J_ERR_UNSUPPORTED, err, err_len, "algorithm %d cannot run this convolution",
                        (int)algo);
    if (c4j_conv2d_prepared_floats(d, algo) == 0) return C4J_OK;
    if (filter == NULL || prepared == NULL)
        return c4j_fail(C4J_ERR_ARG, err, err_len, "null filter or prepared buffer");
    if (via_s2d(d, algo)) {
        c4j_s2d_prepare(d, algo, filter, prepared);
        return C4J_OK;
    }
    switch (algo) {
    case C4J_ALGO_FFT: c4j_fft_prepare(d, filter, prepared); return C4J_OK;
    case C4J_ALGO_WINOGRAD_2X2:
    case C4J_ALGO_WINOGRAD_4X4:
        c4j_winograd_prepare(d, algo, filter, prepared);
        return C4J_OK;
    default: break;
    }
    return c4j_fail(C4J_ERR_UNSUPPORTED, err, err_len, "algorithm %d has no prepared form", (int)algo);
}

c4j_status c4j_conv2d_forward(const c4j_blas *blas, const c4j_conv2d_desc *d, c4j_algo algo,
                              const float *in, const float *filter, const float *prepared,
                              const float *bias, float *out, void *workspace, int64_t workspace_bytes,
                              int64_t unit_begin, int64_t unit_end, char *err, size_t err_len) {
    if (blas == NULL || blas->sgemm == NULL)
        return c4j_fail(C4J_ERR_BLAS, err, err_len, "no BLAS bound");
    if (c4j_conv2d_supports(d, algo) != C4J_OK)
        return c4j_fail(C4J_ERR_UNSUPPORTED, err, err_len, "algorithm %d cannot run this convolution",
                        (int)algo);
    const int64_t units = c4j_conv2d_units(d, algo);
    if (unit_begin < 0 || unit_end > units || unit_begin > unit_end)
        return c4j_fail(C4J_ERR_ARG, err, err_len, "unit range [%lld, %lld) outside [0, %lld)",
                        (long long)unit_begin, (long long)unit_end, (long long)units);
    if (unit_begin == unit_end) return C4J_OK;
    const int64_t need = c4j_conv2d_workspace_bytes(d, algo);
    if (need > 0 && (workspace == NULL || workspace_bytes < need || ((uintptr_t)workspace & 63u) != 0))
        return c4j_fail(C4J_ERR_ARG, err, err_len, "workspace of %lld bytes (64-byte aligned) needed, got %lld",
                        (long long)need, (long long)workspace_bytes);
    const int64_t prep = c4j_conv2d_prepared_floats(d, algo);
    if (prep > 0 && prepared == NULL)
        return c4j_fail(C4J_ERR_ARG, err, err_len, "algorithm %d needs the prepared filter", (int)algo);
    if (via_s2d(d, algo)) {
        c4j_s2d_run(blas, d, algo, in, prepared, bias, out, workspace, unit_begin, unit_end);
        return C4J_OK;
    }
    switch (algo) {
    case C4J_ALGO_GEMM_DIRECT:
        c4j_gemm_direct_run(blas, d, in, filter, bias, out, unit_begin, unit_end);
        return C4J_OK;
    case C4J_ALGO_GEMM_TILED:
        c4j_gemm_tiled_run(blas, d, in, filter, bias, out, workspace, unit_begin, unit_end);
        return C4J_OK;
    case C4J_ALGO_GROUPED_DIRECT:
        c4j_gd_run(d, in, filter, bias, out, workspace, unit_begin, unit_end);
        return C4J_OK;
    case C4J_ALGO_FFT:
        c4j_fft_run(blas, d, in, prepared, bias, out, workspace, unit_begin, unit_end);
        return C4J_OK;
    case C4J_ALGO_WINOGRAD_2X2:
    case C4J_ALGO_WINOGRAD_4X4:
        c4j_winograd_run(blas, d, algo, in, prepared, bias, out, workspace, unit_begin, unit_end);
        return C4J_OK;
    default:
        return C4J_ERR_UNSUPPORTED;
    }
}

static double estimate_seconds(const c4j_conv2d_desc *d, c4j_algo algo, int include_prepare) {
    if (via_s2d(d, algo)) return c4j_s2d_estimate(d, algo, include_prepare);
    switch (algo) {
    case C4J_ALGO_GEMM_DIRECT: return c4j_gemm_direct_estimate(d);
    case C4J_ALGO_GEMM_TILED: return c4j_gemm_tiled_estimate(d);
    case C4J_ALGO_GROUPED_DIRECT: return c4j_gd_estimate(d);
    case C4J_ALGO_FFT: return c4j_fft_estimate(d) + (include_prepare ? c4j_fft_prepare_estimate(d) : 0);
    case C4J_ALGO_WINOGRAD_2X2:
    case C4J_ALGO_WINOGRAD_4X4:
        return c4j_winograd_estimate(d, algo) + (include_prepare ? c4j_winograd_prepare_estimate(d, algo) : 0);
    default: return -1;
    }
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

double c4j_conv2d_estimate_seconds(const c4j_conv2d_desc *d, c4j_algo algo, int include_prepare) {
    if (c4j_conv2d_supports(d, algo) != C4J_OK) return -1;
    if (d->batch == 0) return 0;
    const double s = estimate_seconds(d, algo, include_prepare);
    if (s < 0 || algo == C4J_ALGO_GROUPED_DIRECT || !c4j_gd_applicable(d)) return s;
    return s * c4j_small_groups_factor(d);
}
