/*
 * conv4j native core: the plain C API (no JNI anywhere in the core).
 *
 * A convolution is described by a c4j_conv2d_desc: a strided NHWC input view, a contiguous HWIO
 * filter, the geometry (strides, dilations, top/left padding, output size) and a strided NHWC
 * output view whose channel stride is 1. Padding is virtual: input coordinates outside
 * [0, in_h) x [0, in_w) read as zero, so pad_bottom/pad_right are implied by out_h/out_w.
 *
 * The contraction runs as sgemm calls through the c4j_blas table (bound with dlopen, see
 * c4j_blas_open), except for grouped layers with few input channels per group (depthwise):
 * those are no contraction over channels and C4J_ALGO_GROUPED_DIRECT runs them as vector
 * multiply-adds over channels (grouped_direct.c).
 *
 * Work is split into "units" (independent pieces of the output, see c4j_conv2d_units) so that the
 * caller can spread a convolution over threads. The decomposition depends only on the descriptor
 * and the algorithm, never on the thread count, so every thread count gives bit-identical results.
 *
 * Every entry point re-checks its descriptor against the element counts the caller says are
 * available behind each pointer (c4j_conv2d_check); the Java layer validates first and this is the
 * cheap second line of defence. Nothing is written to the output unless the checks pass.
 */
#ifndef CONV4J_H
#define CONV4J_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define C4J_API __attribute__((visibility("default")))
#else
#define C4J_API
#endif

typedef enum {
    C4J_OK = 0,
    C4J_ERR_ARG = 1,         /* the descriptor is inconsistent (message says which field) */
    C4J_ERR_BOUNDS = 2,      /* a view reaches outside the memory it was given */
    C4J_ERR_NOMEM = 3,       /* a workspace allocation failed */
    C4J_ERR_BLAS = 4,        /* no usable BLAS bound */
    C4J_ERR_UNSUPPORTED = 5  /* the algorithm cannot run this descriptor */
} c4j_status;

typedef enum { C4J_ACT_NONE = 0, C4J_ACT_RELU = 1, C4J_ACT_RELU6 = 2 } c4j_activation;

/* Algorithms. Numbers are part of the JNI contract (io.conv4j.Algorithm#nativeId). */
typedef enum {
    C4J_ALGO_GEMM_DIRECT = 1,   /* 1x1, unpadded: sgemm straight on the input rows, no copy */
    C4J_ALGO_GEMM_TILED = 2,    /* patch tiles sized for L2 (im2col per tile), one sgemm per tile */
    C4J_ALGO_WINOGRAD_2X2 = 3,  /* F(2x2,3x3), stride 1, dilation 1: 16 batched sgemm per tile block */
    C4J_ALGO_WINOGRAD_4X4 = 4,  /* F(4x4,3x3): 36 batched sgemm per tile block */
    C4J_ALGO_FFT = 5,           /* tiled FFT (overlap-save) for large kernels, products as sgemm */
    C4J_ALGO_GROUPED_DIRECT = 6, /* groups > 1 with <= 16 input channels per group (depthwise): a direct
                                   kernel vectorised over output channels, no sgemm */
    C4J_ALGO_GEMM_NCHW = 7,     /* channels-first data (input rows and output channel planes contiguous):
                                   per row block, patches [KH*KW*Cin/g, pixels] gathered as runs of input
                                   rows and one sgemm writing the NCHW output planes in place */
    C4J_ALGO_WINOGRAD_1D = 8,   /* 1-D Winograd F(m, r) along one kernel axis at stride 1 (1xK, Kx1 first of all):
                                   alpha batched sgemm per tile block, the other axis's taps in the contraction */
    C4J_ALGO_DIRECT_DENSE = 9,  /* one group, channels-last input: a register-blocked direct kernel over the input
                                   in place and a filter packed in blocks of output channels, no sgemm */
    C4J_ALGO_DIRECT_NARROW = 10, /* one group, at most 16 output channels: a direct kernel along output rows of a
                                   zero-padded copy of the input rows, vectors sized to the output channels, no sgemm;
                                   also writes channels-first output (channel planes) in place */
    C4J_ALGO_WINOGRAD_K2 = 11   /* F(4x4,2x2) for a 2x2 kernel at stride 1: 25 batched sgemm per tile block; strided
                                   3x3 and 4x4 kernels (stride 2) by space to depth */
} c4j_algo;

/* Number of int64 fields in c4j_conv2d_desc, in declaration order (the JNI layer copies a long[]). */
#define C4J_DESC_FIELDS 27

typedef struct {
    int64_t batch, in_h, in_w, in_c;    /* logical input view, NHWC */
    int64_t in_stride[4];               /* element strides of the input view: n, h, w, c (>= 0) */
    int64_t kernel_h, kernel_w;         /* filter is contiguous [kernel_h, kernel_w, in_c/groups, out_c] */
    int64_t out_c, groups;
    int64_t stride_h, stride_w;
    int64_t dilation_h, dilation_w;
    int64_t pad_top, pad_left;          /* virtual zeros; bottom/right follow from out_h/out_w */
    int64_t out_h, out_w;
    int64_t out_stride[4];              /* element strides of the output view: n, h, w, c (c must be 1,
                                           or w must be 1: channels first, run by C4J_ALGO_GEMM_NCHW and
                                           C4J_ALGO_DIRECT_NARROW only) */
    int64_t flip;                       /* 1: true convolution (kernel rotated 180 degrees) */
    int64_t activation;                 /* c4j_activation, applied after the bias */
    int64_t has_bias;                   /* 1: bias[out_c] is added */
} c4j_conv2d_desc;

/* ------------------------------------------------------------------ BLAS binding */

typedef void (*c4j_sgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                             const float *a, int lda, const float *b, int ldb, float beta, float *c,
                             int ldc);

typedef void (*c4j_dgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k, double alpha,
                             const double *a, int lda, const double *b, int ldb, double beta, double *c,
                             int ldc);

/* Functions of the BLAS conv4j runs on. Only sgemm is required; dgemm (float64 convolutions) and
   the rest are optional. */
typedef struct {
    void *handle;                        /* dlopen handle (NULL when filled by hand) */
    c4j_sgemm_fn sgemm;                  /* cblas_sgemm */
    void (*set_num_threads)(int);        /* openblas_set_num_threads, may be NULL */
    int (*get_num_threads)(void);        /* openblas_get_num_threads, may be NULL */
    char *(*get_config)(void);           /* openblas_get_config, may be NULL */
    char *(*get_corename)(void);         /* openblas_get_corename, may be NULL */
    char forced_coretype[32];            /* OPENBLAS_CORETYPE conv4j set while loading, or "" */
    c4j_dgemm_fn dgemm;                  /* cblas_dgemm, may be NULL (then float64 is refused) */
} c4j_blas;

/* CBLAS constants (ABI-stable values) so the core needs no cblas.h. */
enum { C4J_ROW_MAJOR = 101, C4J_NO_TRANS = 111, C4J_TRANS = 112 };

/*
 * dlopen()s the BLAS at `path` (RTLD_NOW | RTLD_LOCAL) and binds the functions above.
 * coretype: NULL or "" leaves the environment and OpenBLAS's own CPU detection alone; "auto"
 * selects the AVX-512 (SkylakeX) kernels when this CPU has AVX-512 (OpenBLAS 0.3.31 does not
 * recognise e.g. AMD Zen 5 and falls back to its AVX2 Haswell kernels, about 1.8x slower there);
 * any other value is used as the core name. OpenBLAS reads OPENBLAS_CORETYPE once, while loading,
 * so conv4j sets it just around dlopen and then restores the previous value: the library bound
 * here is conv4j's private copy, and other OpenBLAS users in the process see no change.
 * Not thread-safe with respect to other environment changes: call once, at start-up.
 */
C4J_API c4j_status c4j_blas_open(const char *path, const char *coretype, c4j_blas *out, char *err,
                                 size_t err_len);
C4J_API void c4j_blas_close(c4j_blas *blas);

/* 1 when this CPU (and OS) supports the AVX-512 subsets OpenBLAS's SkylakeX kernels use. */
C4J_API int c4j_cpu_has_avx512(void);

/* ------------------------------------------------------------------ memory */

/* 64-byte aligned allocation, counted, zero-filled when `zero`. NULL on failure or bytes == 0. */
C4J_API void *c4j_alloc(size_t bytes, int zero);
C4J_API void c4j_free(void *p);
/* bytes currently allocated through c4j_alloc, and the peak since start (or the last reset) */
C4J_API int64_t c4j_allocated_bytes(void);
C4J_API int64_t c4j_peak_allocated_bytes(void);
C4J_API void c4j_reset_peak_allocated_bytes(void);
/* Test hook: make the next `count` calls to c4j_alloc fail (0 turns injection off). */
C4J_API void c4j_fail_next_allocations(int count);

/*
 * dst = src for two strided 4-D float views of dimensions `dim` (element strides >= 0, `*_avail`
 * floats behind each pointer, checked): e.g. a channels-last result into a channels-first tensor,
 * by cache-blocked transposes when the source's last axis and the destination's third are contiguous.
 * The views must not overlap.
 */
C4J_API c4j_status c4j_copy_view(const float *src, int64_t src_avail, const int64_t src_stride[4], float *dst,
                                 int64_t dst_avail, const int64_t dst_stride[4], const int64_t dim[4], char *err,
                                 size_t err_len);

/* ------------------------------------------------------------------ forward convolution */

/*
 * Checks the descriptor and that every view stays inside the memory given: `*_avail` is the number
 * of floats readable (writable for out) from the pointer that will be passed. filter_avail is
 * checked against the raw HWIO filter. Writes a message naming the field to err (may be NULL).
 */
C4J_API c4j_status c4j_conv2d_check(const c4j_conv2d_desc *d, int64_t in_avail, int64_t filter_avail,
                                    int64_t bias_avail, int64_t out_avail, char *err, size_t err_len);

/* C4J_OK when `algo` can run `d` (stride/dilation/kernel restrictions), else C4J_ERR_UNSUPPORTED. */
C4J_API c4j_status c4j_conv2d_supports(const c4j_conv2d_desc *d, c4j_algo algo);

/* Number of independent work units of `algo` on `d` (>= 1 for a non-empty output). */
C4J_API int64_t c4j_conv2d_units(const c4j_conv2d_desc *d, c4j_algo algo);

/*
 * Workspace bytes one call of c4j_conv2d_forward needs (any unit range); bounded and independent
 * of the batch size. The core never allocates: the caller passes the workspace, so an allocation
 * failure surfaces before any output is written. -1 when the algorithm cannot run `d`.
 */
C4J_API int64_t c4j_conv2d_workspace_bytes(const c4j_conv2d_desc *d, c4j_algo algo);

/*
 * The cost model: estimated single-thread seconds of `algo` on `d` (plus preparing its filter
 * when include_prepare), from the algorithm's real blocking and sgemm times (see cost.c):
 * measured on this machine once c4j_cost_measure_with has named the BLAS, else a built-in table.
 * -1 when the algorithm cannot run `d`. Used to rank algorithms, not to promise times.
 */
C4J_API double c4j_conv2d_estimate_seconds(const c4j_conv2d_desc *d, c4j_algo algo, int include_prepare);

/*
 * The plain im2col + sgemm design's time on the same cost model: one single-threaded sgemm of
 * M = N*OH*OW, K = KH*KW*Cin/groups, N = Cout/groups per group, the patch matrix built for free.
 * The floor AUTO compares a transform route with (see c4j_conv2d_plan).
 */
C4J_API double c4j_conv2d_roofline_seconds(const c4j_conv2d_desc *d);

/*
 * From now on, time each sgemm shape the cost model asks for with this BLAS, once per process
 * (cost_measure.c), instead of reading the built-in table; NULL goes back to the table for shapes
 * not measured yet. Thread-safe; `blas` must stay valid while in use.
 */
C4J_API void c4j_cost_measure_with(const c4j_blas *blas);

/*
 * Floats of the prepared (transformed) filter for `algo`; 0 when the algorithm uses the raw HWIO
 * filter as it is. c4j_conv2d_prepare writes it from the raw filter.
 */
C4J_API int64_t c4j_conv2d_prepared_floats(const c4j_conv2d_desc *d, c4j_algo algo);
C4J_API c4j_status c4j_conv2d_prepare(const c4j_conv2d_desc *d, c4j_algo algo, const float *filter,
                                      float *prepared, char *err, size_t err_len);

/*
 * Runs units [unit_begin, unit_end) of the convolution. `filter` is the raw HWIO filter and
 * `prepared` the output of c4j_conv2d_prepare (required when prepared_floats > 0, else ignored).
 * bias may be NULL unless has_bias. workspace: c4j_conv2d_workspace_bytes bytes, 64-byte aligned.
 * The caller must have run c4j_conv2d_check with the true extents (the JNI layer does).
 */
C4J_API c4j_status c4j_conv2d_forward(const c4j_blas *blas, const c4j_conv2d_desc *d, c4j_algo algo,
                                      const float *in, const float *filter, const float *prepared,
                                      const float *bias, float *out, void *workspace,
                                      int64_t workspace_bytes, int64_t unit_begin, int64_t unit_end,
                                      char *err, size_t err_len);

/* ------------------------------------------------------------------ the planner */

/* The three directions of a convolution, each with its table of routes. Route ids: c4j_algo
   (forward), C4J_BWD_* or c4j_algo (gradients). */
#define C4J_DIR_FORWARD 0
#define C4J_DIR_INPUT_GRADIENT 1
#define C4J_DIR_FILTER_GRADIENT 2
/* The input gradient's table with estimates that leave the filter's rearrangement (transform) out,
   as the forward ones do: for a filter prepared once per weight version (PreparedFilter). */
#define C4J_DIR_INPUT_GRADIENT_PREPARED 3

/* A transform route (Winograd, FFT) replaces the best exact one only below this fraction of its
   estimate (and below plain im2col + sgemm). */
#define C4J_TRANSFORM_MARGIN 0.8

/*
 * AUTO, one rule for every direction (planner.c): the route of `direction` for `d`, a function of
 * the descriptor and exact_only alone (never of the entry point). exact_only: transform routes
 * are left out. The reasoning, every route's estimate included, goes to `why` (may be NULL,
 * truncated to why_len). -1 for a NULL descriptor or an unknown direction.
 */
C4J_API int c4j_conv2d_plan(const c4j_conv2d_desc *d, int direction, int exact_only, char *why, size_t why_len);

/* The routes of a direction's table: how many, and route `index`'s id, exactness (1: plain sums
   of products; 0: a transform) and lower-case name. 0 when index is out of range. */
C4J_API int c4j_conv2d_routes(int direction);
C4J_API int c4j_conv2d_route_info(int direction, int index, int *id, int *exact, const char **name);

/* ------------------------------------------------------------------ backward pass */

/*
 * One pass over a strided 4-D float view (strides in floats, >= 0; the caller has checked that
 * the view lies in its buffer): max_bits is the largest |x| as IEEE bits (0x7f800000 and above:
 * an infinity or NaN is present), nonzero the count of normal nonzero values and exp_sum the sum
 * of their biased exponents. The transform algorithms are kept for data whose range allows them.
 */
typedef struct {
    uint32_t max_bits;
    int64_t nonzero;
    int64_t exp_sum;
} c4j_range;
C4J_API c4j_status c4j_scan_range(const float *base, const int64_t shape[4], const int64_t stride[4], c4j_range *r);

/*
 * Gradients of a convolution described by `d`, given dL/d(output) ("grad_out", the view of the
 * output: out_stride, channel stride 1). The backward entry points take the gradient with respect
 * to the convolution's pre-activation result: when d->activation is not NONE, run
 * c4j_activation_backward on the upstream gradient first (the field activation is otherwise
 * ignored here). Work is split into units as in the forward pass (fixed by the descriptor and the
 * route, so any thread count gives bit-identical results); each entry point needs its own
 * workspace, bounded and independent of the batch size, passed in by the caller. The caller must
 * have run c4j_conv2d_check with the true extents: for the input gradient (in_avail = floats
 * behind grad_in, filter_avail = floats behind the prepared filter, which must also hold
 * prepared_floats, out_avail = floats behind grad_out), for the filter gradient (in_avail = input, filter_avail = grad_filter, bias_avail =
 * grad_bias, out_avail = grad_out). The JNI layer does.
 *
 * Routes. Each gradient can be computed in more than one way; every entry point takes the
 * `route` and all calls for one gradient must use the same one (sizes, prepared filter, partial
 * sums and units depend on it). C4J_BWD_AUTO is resolved by the cost model from the descriptor
 * alone (c4j_conv2d_backward_*_route), so it is the same for every call with that descriptor.
 *   input gradient:  C4J_BWD_GEMM, the stride-phase gather + sgemm (any geometry);
 *                    C4J_BWD_SCATTER, patch gradients dY x W^T by sgemm (N = taps x cin_g: for
 *                    few input channels) added up per input pixel in bands (any geometry); or a c4j_algo:
 *                    for stride 1, dX is the forward convolution of dY with the filter transposed
 *                    in its channel axes and rotated by 180 degrees, padded by
 *                    (kernel - 1) * dilation - pad, and that forward algorithm runs it; for
 *                    strides above 1, C4J_ALGO_FFT / C4J_ALGO_WINOGRAD_* run the input gradient
 *                    of the space-to-depth layer (dilation 1, one group, a kernel wider than the
 *                    stride) and copy it back to dX;
 *                    C4J_BWD_TAPS (stride 1): one sgemm per tap on the filter as it is (B
 *                    transposed), no rearranged filter (its prepared filter is the filter);
 *   filter gradient: C4J_BWD_GEMM, sgemm-accumulated blocks (any geometry); or
 *                    C4J_ALGO_WINOGRAD_4X4 / C4J_ALGO_WINOGRAD_2X2, Winograd F(3x3, 4x4) /
 *                    F(3x3, 2x2) over tiles of dY (3x3 kernel, stride 1, dilation 1); or
 *                    C4J_BWD_WINOGRAD_FUSED, the same F(3x3, 4x4) with all tiles' transforms of a
 *                    block of channels kept in L2 and the products summed in registers (few tiles:
 *                    deep layers at small batch; a transform route as the Winograd ones); or
 *                    C4J_ALGO_FFT, FFT tiles of the input and of dY, products per frequency summed
 *                    over tiles, one inverse transform per channel pair (dilation 1, one group,
 *                    kernels up to 32 taps; strided ones by space to depth, a kernel wider than
 *                    the stride).
 * Sizes and estimates are -1 (units 0) for a route that cannot run the descriptor.
 */
#define C4J_BWD_AUTO (-1)
#define C4J_BWD_GEMM 0
#define C4J_BWD_SCATTER 16
#define C4J_BWD_TAPS 17
#define C4J_BWD_WINOGRAD_FUSED 18

/* The route AUTO takes (c4j_conv2d_plan's rule), and a route's estimated single-thread seconds
   per call, everything included (filter preparation, reduction); -1 when it cannot run. */
C4J_API int c4j_conv2d_backward_input_route(const c4j_conv2d_desc *d);
C4J_API int c4j_conv2d_backward_filter_route(const c4j_conv2d_desc *d);
C4J_API double c4j_conv2d_backward_input_estimate_seconds(const c4j_conv2d_desc *d, int route);
C4J_API double c4j_conv2d_backward_filter_estimate_seconds(const c4j_conv2d_desc *d, int route);

/*
 * dL/d(input), written to the input view of `d` (in_stride; every element of the view is written,
 * nothing else): also the transposed convolution of grad_out. GEMM route: each input pixel sums
 * over the taps that reach it, gathered by stride phase (see backward.c); units are disjoint sets
 * of input pixels. Forward routes: the forward algorithm's units on the transposed descriptor.
 * The filter is rearranged (and transformed, for Winograd and FFT) by
 * c4j_conv2d_backward_input_prepare into `prepared` (prepared_floats floats) before the units
 * run: on every call where the filter has changed; or in prepare_units independent parts, units
 * [unit_begin, unit_end) per c4j_conv2d_backward_input_prepare_units call (any split gives the same
 * bits). Units and workspace: 0 and -1 when the sizes exceed what the core's int arithmetic holds
 * or the route cannot run `d`.
 */
C4J_API int64_t c4j_conv2d_backward_input_units(const c4j_conv2d_desc *d, int route);
C4J_API int64_t c4j_conv2d_backward_input_workspace_bytes(const c4j_conv2d_desc *d, int route);
C4J_API int64_t c4j_conv2d_backward_input_prepared_floats(const c4j_conv2d_desc *d, int route);
C4J_API c4j_status c4j_conv2d_backward_input_prepare(const c4j_conv2d_desc *d, int route, const float *filter,
                                                     float *prepared, char *err, size_t err_len);
C4J_API int64_t c4j_conv2d_backward_input_prepare_units(const c4j_conv2d_desc *d, int route);
C4J_API c4j_status c4j_conv2d_backward_input_prepare_units_run(const c4j_conv2d_desc *d, int route,
                                                               const float *filter, float *prepared,
                                                               int64_t unit_begin, int64_t unit_end, char *err,
                                                               size_t err_len);
C4J_API c4j_status c4j_conv2d_backward_input(const c4j_blas *blas, const c4j_conv2d_desc *d, int route,
                                             const float *grad_out, const float *prepared, float *grad_in,
                                             void *workspace, int64_t workspace_bytes, int64_t unit_begin,
                                             int64_t unit_end, char *err, size_t err_len);

/*
 * dL/d(filter) into the contiguous HWIO grad_filter (overwritten), and when d->has_bias the
 * bias gradient dL/d(bias) into grad_bias[out_c] (overwritten). grad_filter may be NULL (then
 * `in` is not read and only the bias gradient is computed, summed exactly as with the filter
 * gradient on the same route). Units write disjoint blocks of the gradients (GEMM route: groups x
 * filter-tap chunks x output-channel chunks, each small enough to stay in cache while sgemm
 * accumulates into it with beta = 1; Winograd: groups x output-channel slices) times ranges of
 * output pixels: when the blocks alone are too few to share among threads, the output pixels are
 * split into ranges, the first summing into grad_filter/grad_bias and each other one into its own
 * copy in `partials` (c4j_conv2d_backward_filter_partial_floats floats, 0 when there is one
 * range, passed in by the caller like the workspace). c4j_conv2d_backward_filter_reduce then adds
 * the copies, in a fixed order, into grad_filter/grad_bias: run it (all its units) after every
 * unit of c4j_conv2d_backward_filter has finished. Units exist even for an empty batch (they
 * write zeros). partials_avail: floats available behind partials.
 */
C4J_API int64_t c4j_conv2d_backward_filter_units(const c4j_conv2d_desc *d, int route);
C4J_API int64_t c4j_conv2d_backward_filter_workspace_bytes(const c4j_conv2d_desc *d, int route);
C4J_API int64_t c4j_conv2d_backward_filter_partial_floats(const c4j_conv2d_desc *d, int route);
C4J_API c4j_status c4j_conv2d_backward_filter(const c4j_blas *blas, const c4j_conv2d_desc *d, int route,
                                              const float *in, const float *grad_out, float *grad_filter,
                                              float *grad_bias, float *partials, int64_t partials_avail,
                                              void *workspace, int64_t workspace_bytes, int64_t unit_begin,
                                              int64_t unit_end, char *err, size_t err_len);
/*
 * Both gradients in one call: the filter gradient (desc df: the input view is the input, has_bias
 * as wanted) and the input gradient (desc di: the input view is the input gradient, no bias;
 * otherwise the same convolution and output-gradient view). Units: the filter gradient's units
 * (0 .. uf-1) followed by the input gradient's (uf ..), each run as c4j_conv2d_backward_filter and
 * c4j_conv2d_backward_input run it (the input gradient's filter prepared, as there), so any split
 * gives the bits of those two calls; 0 when the filter gradient needs partial sums (a reduction
 * after all its units), the batch is empty or the descriptors differ: then run the two apart.
 * One workspace of c4j_conv2d_backward_both_workspace_bytes serves both.
 */
C4J_API int64_t c4j_conv2d_backward_both_units(const c4j_conv2d_desc *df, int filter_route, const c4j_conv2d_desc *di,
                                               int input_route);
C4J_API int64_t c4j_conv2d_backward_both_workspace_bytes(const c4j_conv2d_desc *df, int filter_route,
                                                         const c4j_conv2d_desc *di, int input_route);
C4J_API c4j_status c4j_conv2d_backward_both(const c4j_blas *blas, const c4j_conv2d_desc *df, int filter_route,
                                            const c4j_conv2d_desc *di, int input_route, const float *in,
                                            const float *grad_out, float *grad_filter, float *grad_bias,
                                            const float *prepared, float *grad_in, void *workspace,
                                            int64_t workspace_bytes, int64_t unit_begin, int64_t unit_end, char *err,
                                            size_t err_len);
/* Units of the reduction (0 when there is nothing to reduce); each adds up a block of elements. */
C4J_API int64_t c4j_conv2d_backward_filter_reduce_units(const c4j_conv2d_desc *d, int route);
C4J_API c4j_status c4j_conv2d_backward_filter_reduce(const c4j_conv2d_desc *d, int route, float *grad_filter,
                                                     float *grad_bias, const float *partials,
                                                     int64_t partials_avail, int64_t unit_begin,
                                                     int64_t unit_end, char *err, size_t err_len);

/*
 * Derivative of the fused activation, from the forward output y: grad_pre[i] = grad_out[i] *
 * act'(y[i]) over `count` dense floats, with relu'(y) = [y > 0] and relu6'(y) = [0 < y < 6]
 * (TensorFlow's ReluGrad / Relu6Grad). grad_pre may be grad_out itself; out may be NULL for NONE.
 */
C4J_API c4j_status c4j_activation_backward(int64_t activation, const float *out, const float *grad_out,
                                           float *grad_pre, int64_t count, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif /* CONV4J_H */
