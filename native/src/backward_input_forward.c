/*
 * Input gradient by a forward algorithm: the routes of c4j_conv2d_backward_input named by a c4j_algo.
 *
 * For stride 1: dX[n, ih, iw, g*cg + c] = sum over taps and o of dY[n, ih + k'h*dil_h - p'h, ...,
 * g*og + o] * W'[k'h, k'w, o, g*cg + c], a forward convolution of dY (the input view) into dX (the
 * output view) with padding p' = (K - 1) * dil - pad, the filter W'[kh, kw, o, g*cg + c] =
 * W[kh, kw, c, g*og + o] (HWIO with cout_g input and in_c output channels) and the kernel
 * rotation toggled: tap k' of the forward convolution meets tap K - 1 - k' of the original one.
 * 0 when that descriptor is not a valid forward convolution (stride > 1, pad > (K - 1) * dil, a
 * dX view whose channels are not contiguous). Strided layers reach the transforms' rows through
 * space to depth instead (backward_input_s2d.c).
 *
 * The prepared buffer holds [forward-prepared filter (aligned to 16 floats) | W'], or for Winograd
 * (whose run reads only its transformed filter) that transform alone, computed from W in place.
 */
#include <stdint.h>
#include <string.h>

#include "internal.h"

static int bx_forward_desc(const c4j_conv2d_desc *d, c4j_conv2d_desc *f) {
    if (d->stride_h != 1 || d->stride_w != 1) return 0;
    memset(f, 0, sizeof *f);
    f->batch = d->batch;
    f->in_h = d->out_h;
    f->in_w = d->out_w;
    f->in_c = d->out_c;
    memcpy(f->in_stride, d->out_stride, sizeof f->in_stride);
    f->kernel_h = d->kernel_h;
    f->kernel_w = d->kernel_w;
    f->out_c = d->in_c;
    f->groups = d->groups;
    f->stride_h = f->stride_w = 1;
    f->dilation_h = d->dilation_h;
    f->dilation_w = d->dilation_w;
    f->pad_top = (d->kernel_h - 1) * d->dilation_h - d->pad_top;
    f->pad_left = (d->kernel_w - 1) * d->dilation_w - d->pad_left;
    f->out_h = d->in_h;
    f->out_w = d->in_w;
    memcpy(f->out_stride, d->in_stride, sizeof f->out_stride);
    if (d->in_c == 1) f->out_stride[3] = 1;
    f->flip = !d->flip;
    f->activation = C4J_ACT_NONE;
    f->has_bias = 0;
    return c4j_conv2d_check(f, INT64_MAX, INT64_MAX, 0, INT64_MAX, NULL, 0) == C4J_OK;
}

static int64_t align16(int64_t n) { return (n + 15) / 16 * 16; }

/* route is a forward algorithm that can run the transposed convolution of d */
int c4j_bxf_route(const c4j_conv2d_desc *d, int route, c4j_conv2d_desc *f) {
    if (route < C4J_ALGO_GEMM_DIRECT || route > C4J_ALGO_GROUPED_DIRECT) return 0;
    return bx_forward_desc(d, f) && c4j_conv2d_supports(f, (c4j_algo)route) == C4J_OK;
}

/* Winograd transforms W' straight from W (f is stride 1, so never through space to depth) */
static int transforms_in_place(int route) {
    return route == C4J_ALGO_WINOGRAD_2X2 || route == C4J_ALGO_WINOGRAD_4X4;
}

/* prepared buffer of a forward route: [forward-prepared filter (align16) | W'] */
int64_t c4j_bxf_prepared_floats(const c4j_conv2d_desc *f, int route) {
    const int64_t transformed = c4j_conv2d_prepared_floats(f, (c4j_algo)route);
    return transforms_in_place(route) ? transformed : align16(transformed) + c4j_filter_floats(f);
}

/* W' of bx_forward_desc from the HWIO filter W of d */
static void transpose_filter(const c4j_conv2d_desc *d, const float *w, float *wt) {
    const int64_t taps = d->kernel_h * d->kernel_w, cg = c4j_cin_g(d), og = c4j_cout_g(d);
    const int64_t ic = d->in_c, oc = d->out_c;
    for (int64_t t = 0; t < taps; t++)
        for (int64_t g = 0; g < d->groups; g++)
            c4j_transpose(w + t * cg * oc + g * og, oc, cg, og, wt + t * og * ic + g * cg, ic);
}

c4j_status c4j_bxf_prepare(const c4j_conv2d_desc *d, const c4j_conv2d_desc *f, int route, const float *filter,
                           float *prepared, char *err, size_t err_len) {
    if (transforms_in_place(route)) {
        c4j_winograd_prepare_transposed(d, f, (c4j_algo)route, filter, prepared, 0, c4j_winograd_prepare_units(f, route));
        return C4J_OK;
    }
    float *wt = prepared + align16(c4j_conv2d_prepared_floats(f, (c4j_algo)route));
    transpose_filter(d, filter, wt);
    return c4j_conv2d_prepare(f, (c4j_algo)route, wt, prepared, err, err_len);
}

/* The FFT's preparation in units of f's (group, input channel) pairs, each unit transposing the
   rows of W' it reads itself: about FFT_PREPARE_UNIT_SECONDS of estimated work each (the spectra's
   DFT sums, 1.0 of the 11x11 layer's 1.4 ms input gradient), at most FFT_PREPARE_MAX_UNITS; a
   function of the descriptor only */
#define FFT_PREPARE_UNIT_SECONDS 100e-6
#define FFT_PREPARE_MAX_UNITS 8

static int fft_splits(const c4j_conv2d_desc *f, int route) {
    return route == C4J_ALGO_FFT && !c4j_via_s2d(f, C4J_ALGO_FFT);
}

static int64_t fft_prepare_units(const c4j_conv2d_desc *f) {
    const int64_t pairs = f->groups * c4j_cin_g(f);
    const int64_t by_work = (int64_t)(c4j_fft_prepare_estimate(f) / FFT_PREPARE_UNIT_SECONDS);
    return C4J_MAX(1, C4J_MIN(C4J_MIN(by_work, FFT_PREPARE_MAX_UNITS), pairs));
}

/* the rows of W' (see transpose_filter) of f's (group, input channel) pairs [s0, s1), group-major:
   W'[t][o][g*cg + c] = W[t][c][g*og + o] */
static void transpose_rows(const c4j_conv2d_desc *d, const float *w, float *wt, int64_t s0, int64_t s1) {
    const int64_t taps = d->kernel_h * d->kernel_w, cg = c4j_cin_g(d), og = c4j_cout_g(d);
    const int64_t ic = d->in_c, oc = d->out_c;
    for (int64_t t = 0; t < taps; t++)
        for (int64_t s = s0; s < s1; s++) {
            const int64_t g = s / og, o = s % og;
            const float *src = w + t * cg * oc + g * og + o;
            float *dst = wt + t * og * ic + o * ic + g * cg;
            for (int64_t c = 0; c < cg; c++) dst[c] = src[c * oc];
        }
}

/* Winograd's and the FFT's preparation in parallel units; the others' as one */
int64_t c4j_bxf_prepare_units(const c4j_conv2d_desc *f, int route) {
    if (transforms_in_place(route)) return c4j_winograd_prepare_units(f, (c4j_algo)route);
    return fft_splits(f, route) ? fft_prepare_units(f) : 1;
}

void c4j_bxf_prepare_part(const c4j_conv2d_desc *d, const c4j_conv2d_desc *f, int route, const float *filter,
                          float *prepared, int64_t u0, int64_t u1) {
    if (transforms_in_place(route)) {
        c4j_winograd_prepare_transposed(d, f, (c4j_algo)route, filter, prepared, u0, u1);
    } else if (fft_splits(f, route)) {
        const int64_t pairs = f->groups * c4j_cin_g(f), units = fft_prepare_units(f);
        const int64_t s0 = pairs * u0 / units, s1 = pairs * u1 / units;
        float *wt = prepared + align16(c4j_conv2d_prepared_floats(f, (c4j_algo)route));
        transpose_rows(d, filter, wt, s0, s1);
        c4j_fft_prepare_range(f, wt, prepared, s0, s1);
    } else if (u0 < u1) {
        c4j_bxf_prepare(d, f, route, filter, prepared, NULL, 0);
    }
}

c4j_status c4j_bxf_run(const c4j_blas *blas, const c4j_conv2d_desc *f, int route, const float *grad_out,
                       const float *prepared, float *grad_in, void *workspace, int64_t workspace_bytes,
                       int64_t unit_begin, int64_t unit_end, char *err, size_t err_len) {
    /* Winograd's run reads only the transform: the filter argument is not used */
    const float *wt =
        transforms_in_place(route) ? prepared : prepared + align16(c4j_conv2d_prepared_floats(f, (c4j_algo)route));
    return c4j_conv2d_forward(blas, f, (c4j_algo)route, grad_out, wt, prepared, NULL, grad_in, workspace,
                              workspace_bytes, unit_begin, unit_end, err, err_len);
}

/* Single-thread seconds of the route, with include_prepare the filter's transpose and preparation:
   a plain call pays them every time (in training the filter changes every step); the forward cost
   model's Winograd preparation estimates (1 ns per prepared float) measure 0.4-0.55x here, where
   Winograd reads the filter in place (no transpose). */
double c4j_bxf_estimate(const c4j_conv2d_desc *d, const c4j_conv2d_desc *f, int route, int include_prepare) {
    const double run = c4j_conv2d_estimate_seconds(f, (c4j_algo)route, 0);
    if (!include_prepare) return run;
    const double prep = c4j_conv2d_estimate_seconds(f, (c4j_algo)route, 1) - run;
    const double scale = route == C4J_ALGO_FFT || route == C4J_ALGO_GEMM_DIRECT || route == C4J_ALGO_GEMM_TILED ||
                                 route == C4J_ALGO_GROUPED_DIRECT
                             ? 1.0
                             : 0.55;
    const double rearrange = transforms_in_place(route) ? 0 : (double)c4j_filter_floats(d) * C4J_BW_REARRANGE_NS * 1e-9;
    return run + scale * prep + rearrange;
}

/* ------------------------------------------------------------------ input-gradient table rows */

/* one row per forward algorithm: the same functions with the algorithm's id; a strided layer, which
   has no such forward convolution, through space to depth where the algorithm is a transform
   (backward_input_s2d.c) */
#define BXF_ROW(NAME, ALGO, EXACT)                                                                                    \
    static int applies_##NAME(const c4j_conv2d_desc *d) {                                                             \
        c4j_conv2d_desc f;                                                                                            \
        return c4j_bxf_route(d, ALGO, &f) || c4j_bx_s2d_applicable(d, ALGO);                                             \
    }                                                                                                                 \
    static int64_t units_##NAME(const c4j_conv2d_desc *d) {                                                           \
        c4j_conv2d_desc f;                                                                                            \
        return c4j_bxf_route(d, ALGO, &f) ? c4j_conv2d_units(&f, ALGO) : c4j_bx_s2d_units(d, ALGO);                      \
    }                                                                                                                 \
    static int64_t workspace_##NAME(const c4j_conv2d_desc *d) {                                                       \
        c4j_conv2d_desc f;                                                                                            \
        return c4j_bxf_route(d, ALGO, &f) ? c4j_conv2d_workspace_bytes(&f, ALGO) : c4j_bx_s2d_workspace(d, ALGO);        \
    }                                                                                                                 \
    static int64_t prepared_##NAME(const c4j_conv2d_desc *d) {                                                        \
        c4j_conv2d_desc f;                                                                                            \
        return c4j_bxf_route(d, ALGO, &f) ? c4j_bxf_prepared_floats(&f, ALGO) : c4j_bx_s2d_prepared_floats(d, ALGO);     \
    }                                                                                                                 \
    static c4j_status prepare_##NAME(const c4j_conv2d_desc *d, const float *filter, float *prepared, char *err,       \
                                     size_t err_len) {                                                                \
        c4j_conv2d_desc f;                                                                                            \
        if (!c4j_bxf_route(d, ALGO, &f)) return c4j_bx_s2d_prepare(d, ALGO, filter, prepared, err, err_len);             \
        return c4j_bxf_prepare(d, &f, ALGO, filter, prepared, err, err_len);                                          \
    }                                                                                                                 \
    static int64_t prepare_units_##NAME(const c4j_conv2d_desc *d) {                                                   \
        c4j_conv2d_desc f;                                                                                            \
        return c4j_bxf_route(d, ALGO, &f) ? c4j_bxf_prepare_units(&f, ALGO) : c4j_bx_s2d_applicable(d, ALGO) ? 1 : 0;    \
    }                                                                                                                 \
    static void prepare_part_##NAME(const c4j_conv2d_desc *d, const float *filter, float *prepared, int64_t u0,       \
                                    int64_t u1) {                                                                     \
        c4j_conv2d_desc f;                                                                                            \
        if (c4j_bxf_route(d, ALGO, &f)) c4j_bxf_prepare_part(d, &f, ALGO, filter, prepared, u0, u1);                  \
        else if (u0 < u1) c4j_bx_s2d_prepare(d, ALGO, filter, prepared, NULL, 0);                                        \
    }                                                                                                                 \
    static double estimate_##NAME(const c4j_conv2d_desc *d, int include_prepare) {                                    \
        c4j_conv2d_desc f;                                                                                            \
        return c4j_bxf_route(d, ALGO, &f) ? c4j_bxf_estimate(d, &f, ALGO, include_prepare)                            \
                                          : c4j_bx_s2d_estimate(d, ALGO, include_prepare);                               \
    }                                                                                                                 \
    static c4j_status run_##NAME(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *dy,                     \
                                 const float *prepared, float *dx, void *workspace, int64_t workspace_bytes,          \
                                 int64_t u0, int64_t u1, char *err, size_t err_len) {                                 \
        c4j_conv2d_desc f;                                                                                            \
        if (!c4j_bxf_route(d, ALGO, &f))                                                                              \
            return c4j_bx_s2d_run(blas, d, ALGO, dy, prepared, dx, workspace, workspace_bytes, u0, u1, err, err_len);    \
        return c4j_bxf_run(blas, &f, ALGO, dy, prepared, dx, workspace, workspace_bytes, u0, u1, err, err_len);       \
    }                                                                                                                 \
    const c4j_input_gradient_route c4j_bx_##NAME = {#NAME,           ALGO,           EXACT,                           \
                                                    applies_##NAME,  units_##NAME,   workspace_##NAME,                \
                                                    prepared_##NAME, prepare_##NAME, estimate_##NAME,                 \
                                                    run_##NAME,      prepare_units_##NAME, prepare_part_##NAME};

BXF_ROW(gemm_direct, C4J_ALGO_GEMM_DIRECT, 1)
BXF_ROW(gemm_tiled, C4J_ALGO_GEMM_TILED, 1)
BXF_ROW(winograd_2x2, C4J_ALGO_WINOGRAD_2X2, 0)
BXF_ROW(winograd_4x4, C4J_ALGO_WINOGRAD_4X4, 0)
BXF_ROW(fft, C4J_ALGO_FFT, 0)
BXF_ROW(grouped_direct, C4J_ALGO_GROUPED_DIRECT, 1)
