/*
 * conv4j N-d core: convolution of rank 1, 2 or 3 in float32 or float64 (plain C API, no JNI).
 *
 * A convolution is a c4j_nd_desc: a strided channels-last input view [N, S1..Sr, Cin], a
 * contiguous filter [K1..Kr, Cin/groups, Cout], the per-axis geometry (strides, dilations, begin
 * padding, output size) and a strided output view [N, O1..Or, Cout]. Spatial axes are always
 * three: a rank-r descriptor fills the first 3 - r axes with size 1, kernel 1, stride 1,
 * dilation 1, padding 0 (c4j_nd_check insists). Padding is virtual: coordinates outside the input
 * read as zero, so the end padding follows from the output size.
 *
 * Algorithms are rows of a table per direction (nd_table.c): each says whether it applies, its
 * units (independent pieces of work, fixed by the descriptor alone so any thread count gives the
 * same bits), its workspace and its estimated time, and runs a range of units. Every contraction
 * runs in the BLAS (sgemm for float32, dgemm for float64).
 */
#ifndef CONV4J_ND_H
#define CONV4J_ND_H

#include "conv4j.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { C4J_F32 = 0, C4J_F64 = 1 } c4j_dtype;

/* Directions of the N-d engine: one algorithm table each. */
typedef enum { C4J_ND_FORWARD = 0, C4J_ND_BACKWARD_INPUT = 1, C4J_ND_BACKWARD_FILTER = 2 } c4j_nd_direction;

/* Algorithm ids of the N-d tables (part of the JNI contract). */
typedef enum { C4J_ND_AUTO = -1, C4J_ND_GEMM = 0 } c4j_nd_algo;

#define C4J_ND_AXES 3
/* Number of int64 fields in c4j_nd_desc, in declaration order (the JNI layer copies a long[]). */
#define C4J_ND_DESC_FIELDS 37

typedef struct {
    int64_t rank;                       /* 1, 2 or 3: spatial axes the caller sees */
    int64_t dtype;                      /* c4j_dtype of every buffer */
    int64_t batch, in_c, out_c, groups;
    int64_t in_size[C4J_ND_AXES];       /* spatial input sizes */
    int64_t kernel[C4J_ND_AXES];        /* filter taps per axis; filter is [K0,K1,K2,in_c/groups,out_c] */
    int64_t out_size[C4J_ND_AXES];
    int64_t stride[C4J_ND_AXES];
    int64_t dilation[C4J_ND_AXES];
    int64_t pad[C4J_ND_AXES];           /* begin padding (virtual zeros) */
    int64_t in_stride[C4J_ND_AXES + 2]; /* element strides of the input view: n, axes 0..2, c */
    int64_t out_stride[C4J_ND_AXES + 2];/* element strides of the output view: n, axes 0..2, c */
    int64_t flip;                       /* 1: true convolution (kernel reversed in every axis) */
    int64_t activation;                 /* c4j_activation after the bias (forward only) */
    int64_t has_bias;
} c4j_nd_desc;

/* Bytes of one element of the descriptor's dtype (0 for an unknown dtype). */
C4J_API int64_t c4j_nd_elem_bytes(const c4j_nd_desc *d);

/*
 * Checks the descriptor and that every view stays inside the memory given: `*_avail` is the number
 * of elements (of the descriptor's dtype) readable or writable from the pointer that will be passed.
 * For the gradients the same call checks grad_in (in_avail), grad_filter (filter_avail),
 * grad_bias (bias_avail) and grad_out (out_avail). Message names the field.
 */
C4J_API c4j_status c4j_nd_check(const c4j_nd_desc *d, int64_t in_avail, int64_t filter_avail, int64_t bias_avail,
                                int64_t out_avail, char *err, size_t err_len);

/* The algorithm AUTO picks for a direction (the cheapest that applies), or -1 when none applies. */
C4J_API int c4j_nd_choose(const c4j_nd_desc *d, int direction);
/* Name of an algorithm of a direction's table, or NULL. */
C4J_API const char *c4j_nd_algo_name(int direction, int algo);
/* 1 when the algorithm applies to the descriptor (dtype included). */
C4J_API int c4j_nd_applies(const c4j_nd_desc *d, int direction, int algo);
/* Units (0 when it does not apply), workspace bytes and estimated single-thread seconds (-1 when not). */
C4J_API int64_t c4j_nd_units(const c4j_nd_desc *d, int direction, int algo);
C4J_API int64_t c4j_nd_workspace_bytes(const c4j_nd_desc *d, int direction, int algo);
C4J_API double c4j_nd_estimate_seconds(const c4j_nd_desc *d, int direction, int algo);

/*
 * Runs units [u0, u1) of one direction. Buffers by direction:
 *   forward:          a = input view, b = filter, bias (if has_bias), c = output view (written);
 *   backward input:   a = grad_out view (of the pre-activation result), b = filter, c = grad_in
 *                     (the input view; every element written): also the transposed convolution;
 *   backward filter:  a = input view, b = grad_out view, c = grad_filter (contiguous, overwritten;
 *                     may be NULL), bias = grad_bias (overwritten when has_bias).
 * Element type per the descriptor's dtype. The caller must have run c4j_nd_check with the true
 * extents (the JNI layer does).
 */
C4J_API c4j_status c4j_nd_run(const c4j_blas *blas, const c4j_nd_desc *d, int direction, int algo, const void *a,
                              const void *b, void *bias, void *c, void *workspace, int64_t workspace_bytes,
                              int64_t u0, int64_t u1, char *err, size_t err_len);

/* grad_pre[i] = grad_out[i] * act'(y[i]) over count dense elements of dtype (as c4j_activation_backward). */
C4J_API c4j_status c4j_nd_activation_backward(int64_t dtype, int64_t activation, const void *out, const void *grad_out,
                                              void *grad_pre, int64_t count, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif /* CONV4J_ND_H */
