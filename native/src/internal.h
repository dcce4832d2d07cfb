/* Helpers shared by the core's translation units (not part of the public API). */
#ifndef CONV4J_INTERNAL_H
#define CONV4J_INTERNAL_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "conv4j.h"

#define C4J_MIN(a, b) ((a) < (b) ? (a) : (b))
#define C4J_MAX(a, b) ((a) > (b) ? (a) : (b))

/* printf-style message into a caller's buffer (which may be NULL); returns `status` */
c4j_status c4j_fail(c4j_status status, char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ceil(a / b) for a >= 0, b > 0 */
static inline int64_t c4j_ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* filter channels per group and output channels per group */
static inline int64_t c4j_cin_g(const c4j_conv2d_desc *d) { return d->in_c / d->groups; }
static inline int64_t c4j_cout_g(const c4j_conv2d_desc *d) { return d->out_c / d->groups; }

/* floats of the HWIO filter */
static inline int64_t c4j_filter_floats(const c4j_conv2d_desc *d) {
    return d->kernel_h * d->kernel_w * c4j_cin_g(d) * d->out_c;
}

/* The fused activations as the reference defines them (Java's Math.max/Math.min): NaN stays NaN,
   -0.0 and negatives become +0.0, and ReLU6 caps +Inf at 6. The comparisons are written so a NaN
   fails them and passes through (max(x, 0) written as x > 0 ? x : 0 would turn NaN into 0). */
static inline __attribute__((always_inline)) float c4j_relu(float v) { return v <= 0.0f ? 0.0f : v; }
static inline __attribute__((always_inline)) float c4j_relu6(float v) {
    v = v <= 0.0f ? 0.0f : v;
    return v >= 6.0f ? 6.0f : v;
}

/* Bias and fused activation over `rows` output rows of `cols` channels starting at channel c0. */
void c4j_epilogue_rows(const c4j_conv2d_desc *d, const float *bias, float *out, int64_t rows,
                       int64_t row_stride, int64_t c0, int64_t cols);

/* Seconds one single-threaded sgemm of this shape takes: measured on this machine when the process
   bound its BLAS for that (c4j_cost_measure_with), else the built-in model (cost.c). */
double c4j_cost_sgemm(int64_t m, int64_t k, int64_t n);
/* The built-in model alone: for blocking choices that must not depend on a timing. */
double c4j_cost_sgemm_model(int64_t m, int64_t k, int64_t n);
/* The measured time of the shape (timed once per process), or -1 (cost_measure.c). */
double c4j_cost_sgemm_measured(int64_t m, int64_t k, int64_t n);
/* The same with A transposed (A^T x B, A stored K x M): the filter gradient's patches^T x dY, whose
   time differs from the plain form's on small shapes; without a measured cost model, the
   plain form's model, the only one the built-in table has. */
double c4j_cost_sgemm_at(int64_t m, int64_t k, int64_t n);
double c4j_cost_sgemm_at_measured(int64_t m, int64_t k, int64_t n);
/* Thread CPU seconds this process spent timing sgemm shapes for the cost model (plan_probe). */
double c4j_cost_sgemm_spent(void);
int c4j_cost_is_measured(void);
/* CPU seconds of the calling thread (cost_measure.c), the clock every measured estimate uses: time
   the thread spent descheduled, which on a busy machine is a property of the moment and not of the
   work, does not count. */
double c4j_thread_seconds(void);
/* The direct kernels' probe fit (cost_measure.c): seconds per multiply-add and per step from two
   timed layers (t seconds for m multiply-adds and s steps each), the 2x2 solve; a multiply-add
   cost not above 0 falls back to ta / ma, a step cost not above 0 to 0. */
void c4j_fit_mac_and_step(double ta, double ma, double sa, double tb, double mb, double sb, double *mac, double *step);
/* The direct kernels' probes' buffer of floats (cost_measure.c), zeroed and 64-byte aligned as a
   convolution's tensors are; free() it; NULL when memory is short. */
float *c4j_probe_buffer(int64_t floats);
/* The BLAS the cost model measures with (c4j_cost_measure_with), or NULL (cost_measure.c). */
const c4j_blas *c4j_cost_blas(void);
/* A buffer obtained as c4j_alloc obtains it (huge pages from 2 MiB), outside its counters and
   failure hook, zeroed by writing every page (not left to a fresh mapping's zero page): the
   planner's trial runs routes on buffers like theirs without being part of any convolution's
   accounted memory (alloc.c). */
void *c4j_alloc_uncounted(size_t bytes);
void c4j_free_uncounted(void *p);
/* Benchmarks only: 0 allocates every buffer 64-byte aligned without huge-page advice (alloc.c). */
void c4j_set_huge_pages(int on);

/* The planner's trial (cost_trial.c): single-thread seconds of each forward route ids[i] (at most
   C4J_TRIAL_MAX; estimates[i] its estimate) run on d's geometry, measured at the first ask and kept
   for the process; 0 when there is no measured cost model or the trial cannot run. */
#define C4J_TRIAL_MAX 10
/* The planner's band and margin for it (planner.c, choose; every direction): a transform estimated
   below C4J_TRIAL_LOW x the best exact route wins, at C4J_TRIAL_HIGH x or more loses, as does an
   exact route; in between the trial decides, the transform winning below C4J_TRIAL_MARGIN x the
   exact one (each the first in table order that no other of its kind ran below its margin of). */
#define C4J_TRIAL_LOW 0.5
#define C4J_TRIAL_HIGH 1.25
#define C4J_TRIAL_MARGIN 0.95
/* Among the transforms in the band, the first in table order unless another ran below this x it:
   two transforms about as fast (Winograd F(2x2) and F(4x4) on a deep layer) round differently,
   and a busy machine's cache traffic moves their times (F(4x4)'s 9 MB filter on a deep layer ran
   1.26-1.92 ms in successive processes at load 6-9). */
#define C4J_TRIAL_SWAP_MARGIN 0.85
int c4j_cost_trial(const c4j_conv2d_desc *d, int n, const int *ids, const double *estimates, double *seconds);
/* The same for a direction: C4J_DIR_FORWARD (c4j_cost_trial); C4J_DIR_INPUT_GRADIENT(_PREPARED),
   whose ids are input-gradient routes timed with (without) their filter preparation; or
   C4J_DIR_FILTER_GRADIENT, filter-gradient routes timed with their reduction. */
int c4j_cost_trial_direction(const c4j_conv2d_desc *d, int direction, int n, const int *ids, const double *estimates,
                             double *seconds);
/* d's geometry on dense views without bias, activation and flip: what the trial of d runs, its
   key, and what the forward planner asks "transform or exact" about. */
c4j_conv2d_desc c4j_trial_geometry(const c4j_conv2d_desc *d);
/* Tests only: a route's trial time is timer(geometry, direction, id, estimate) instead of a run;
   NULL runs routes again. Forgets every verdict. */
typedef double (*c4j_trial_timer)(const c4j_conv2d_desc *g, int direction, int id, double estimate);
void c4j_cost_trial_set_timer(c4j_trial_timer timer);
/* Thread CPU seconds this process's trials spent on their buffers and on running routes (plan_probe). */
void c4j_cost_trial_spent(double *setup, double *runs);

/* Rows per call when an M-row sgemm is issued in row pieces (cost.c), and the time of doing so. */
int64_t c4j_sgemm_piece_rows(const c4j_blas *blas, int64_t m, int64_t k, int64_t n);
double c4j_cost_sgemm_pieces(int64_t m, int64_t k, int64_t n, int64_t piece);

/*
 * The fields every row of the three route tables (forward, input gradient, filter gradient)
 * starts with, in this order, so that a row's positional initializer begins the same way in each
 * table and the fields' meaning (below, at the forward row) is written once.
 */
#define C4J_ROUTE_ROW_HEAD                      \
    const char *name;                           \
    int id;                                     \
    int exact;                                  \
    int (*applies)(const c4j_conv2d_desc *d);   \
    int64_t (*units)(const c4j_conv2d_desc *d); \
    int64_t (*workspace)(const c4j_conv2d_desc *d);

/*
 * One 2-D forward algorithm: a row of the forward table (conv2d_table.c), defined in the
 * algorithm's own file. Adding an algorithm is one new file defining such a row and one line in
 * the table (plus its id in conv4j.h's c4j_algo and Java's Algorithm enum, which names it).
 *   name:            lower-case name, as Algorithm.java spells it;
 *   id:              its c4j_algo value, which names it across JNI;
 *   exact:           1 when every output is a plain sum of products (rounding as a float32 dot
 *                    product); 0 for a transform (Winograd, FFT), whose rounding error is larger;
 *   applies:         1 when it can run the convolution;
 *   units:           independent pieces of work, fixed by the descriptor alone (never by threads);
 *   workspace:       bytes one call of run needs, for any unit range;
 *   prepared_floats: floats of its prepared (transformed) filter; NULL when it reads the filter as is;
 *   prepare:         writes the prepared filter (NULL with prepared_floats);
 *   estimate:        single-thread seconds, preparing the filter included when include_prepare;
 *   run:             units [u0, u1).
 * The table walk (conv2d.c) checks applies, units, workspace and buffers before any of the rest.
 */
typedef struct {
    C4J_ROUTE_ROW_HEAD
    int64_t (*prepared_floats)(const c4j_conv2d_desc *d);
    void (*prepare)(const c4j_conv2d_desc *d, const float *filter, float *prepared);
    double (*estimate)(const c4j_conv2d_desc *d, int include_prepare);
    void (*run)(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *filter,
                const float *prepared, const float *bias, float *out, void *workspace, int64_t u0, int64_t u1);
} c4j_conv2d_algorithm;

extern const c4j_conv2d_algorithm c4j_conv2d_gemm_direct;  /* gemm_direct.c */
extern const c4j_conv2d_algorithm c4j_conv2d_gemm_tiled;   /* gemm_tiled.c */
extern const c4j_conv2d_algorithm c4j_conv2d_winograd_2x2; /* winograd.c */
extern const c4j_conv2d_algorithm c4j_conv2d_winograd_4x4; /* winograd.c */
extern const c4j_conv2d_algorithm c4j_conv2d_winograd_k2;  /* winograd.c */
extern const c4j_conv2d_algorithm c4j_conv2d_fft;          /* fft.c */
extern const c4j_conv2d_algorithm c4j_conv2d_grouped_direct; /* grouped_direct.c */
extern const c4j_conv2d_algorithm c4j_conv2d_gemm_nchw;     /* gemm_nchw.c */
extern const c4j_conv2d_algorithm c4j_conv2d_winograd_1d;  /* winograd_1d.c */
extern const c4j_conv2d_algorithm c4j_conv2d_direct_dense; /* direct_dense.c */
extern const c4j_conv2d_algorithm c4j_conv2d_direct_narrow; /* direct_narrow.c */
/* Input rows oh0 * stride_h - pad_top onwards, `rows` of them, zero-padded to `width` columns of in_c floats,
   into dst (stage_rows.c). */
void c4j_stage_input_rows(const c4j_conv2d_desc *d, const float *img, int64_t oh0, int64_t rows, int64_t width,
                          float *dst);
int c4j_winograd_1d_applicable(const c4j_conv2d_desc *d);

/* The forward table (conv2d_table.c): its rows in order, and the row of a c4j_algo (NULL if none). */
int c4j_conv2d_forward_rows(void);
const c4j_conv2d_algorithm *c4j_conv2d_forward_row(int index);
const c4j_conv2d_algorithm *c4j_conv2d_forward_algorithm(int id);

/* An sgemm-based estimate on a layer of small groups carries c4j_small_groups_factor (see there);
   negative estimates (not applicable) pass through. */
double c4j_small_groups_adjusted(const c4j_conv2d_desc *d, double seconds);

/* Winograd and the FFT run strided layers through s2d.c, as stride-1 ones on a space-to-depth copy. */
int c4j_s2d_applicable(const c4j_conv2d_desc *d, c4j_algo algo);
static inline int c4j_via_s2d(const c4j_conv2d_desc *d, c4j_algo algo) {
    return (d->stride_h != 1 || d->stride_w != 1) && c4j_s2d_applicable(d, algo);
}

/* Estimated single-thread seconds of each algorithm (and of preparing its filter). */
double c4j_gemm_direct_estimate(const c4j_conv2d_desc *d);
double c4j_gemm_tiled_estimate(const c4j_conv2d_desc *d);
double c4j_fft_estimate(const c4j_conv2d_desc *d);
double c4j_fft_prepare_estimate(const c4j_conv2d_desc *d);
double c4j_winograd_estimate(const c4j_conv2d_desc *d, c4j_algo algo);
double c4j_winograd_prepare_estimate(const c4j_conv2d_desc *d, c4j_algo algo);

/* Algorithm entry points (their table rows call them). */
int64_t c4j_gemm_direct_units(const c4j_conv2d_desc *d);
void c4j_gemm_direct_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in,
                         const float *filter, const float *bias, float *out, int64_t u0, int64_t u1);

int64_t c4j_gemm_tiled_units(const c4j_conv2d_desc *d);
int64_t c4j_gemm_tiled_workspace(const c4j_conv2d_desc *d);
void c4j_gemm_tiled_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in,
                        const float *filter, const float *bias, float *out, float *workspace, int64_t u0,
                        int64_t u1);

/* Channels-first im2col + sgemm (C4J_ALGO_GEMM_NCHW), gemm_nchw.c; reads the raw HWIO filter */
int c4j_gemm_nchw_applicable(const c4j_conv2d_desc *d);
int64_t c4j_gemm_nchw_units(const c4j_conv2d_desc *d);
int64_t c4j_gemm_nchw_workspace(const c4j_conv2d_desc *d);
double c4j_gemm_nchw_estimate(const c4j_conv2d_desc *d);
void c4j_gemm_nchw_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *filter,
                       const float *bias, float *out, float *workspace, int64_t u0, int64_t u1);

/* FFT (overlap-save tiles, stride 1): fft.c */
int c4j_fft_supported(const c4j_conv2d_desc *d);
int64_t c4j_fft_units(const c4j_conv2d_desc *d);
int64_t c4j_fft_tile_rows(const c4j_conv2d_desc *d); /* output rows per tile; depends on kernel and channels only */
int64_t c4j_fft_workspace(const c4j_conv2d_desc *d);
int64_t c4j_fft_prepared_floats(const c4j_conv2d_desc *d);
void c4j_fft_prepare(const c4j_conv2d_desc *d, const float *filter, float *prepared);
void c4j_fft_prepare_range(const c4j_conv2d_desc *d, const float *filter, float *prepared, int64_t s0, int64_t s1);
void c4j_fft_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *prepared,
                 const float *bias, float *out, float *workspace, int64_t u0, int64_t u1);

/* Winograd F(2x2,3x3) (C4J_ALGO_WINOGRAD_2X2), F(4x4,3x3) (C4J_ALGO_WINOGRAD_4X4) and F(4x4,2x2)
   (C4J_ALGO_WINOGRAD_K2), winograd.c, the prepared filter in winograd_filter.c. c4j_winograd_tile:
   output rows (and columns) per tile; _taps: kernel taps per side; _window: input window side
   (tile + taps - 1); _panel_width: output channels per panel of the prepared filter */
int c4j_winograd_tile(c4j_algo algo);
int c4j_winograd_taps(c4j_algo algo);
int c4j_winograd_window(c4j_algo algo);
int64_t c4j_winograd_panel_width(int64_t cin_g, int64_t cout_g);
int c4j_winograd_applicable(const c4j_conv2d_desc *d, c4j_algo algo);
int64_t c4j_winograd_units(const c4j_conv2d_desc *d, c4j_algo algo);
int64_t c4j_winograd_workspace(const c4j_conv2d_desc *d, c4j_algo algo);
int64_t c4j_winograd_prepared_floats(const c4j_conv2d_desc *d, c4j_algo algo);
void c4j_winograd_prepare(const c4j_conv2d_desc *d, c4j_algo algo, const float *filter, float *prepared);
/* the prepared filter of f, the forward convolution computing d's input gradient
   (backward_input_forward.c), from d's filter as it is */
int64_t c4j_winograd_prepare_units(const c4j_conv2d_desc *f, c4j_algo algo);
void c4j_winograd_prepare_transposed(const c4j_conv2d_desc *d, const c4j_conv2d_desc *f, c4j_algo algo,
                                     const float *filter, float *prepared, int64_t u0, int64_t u1);
void c4j_winograd_run(const c4j_blas *blas, const c4j_conv2d_desc *d, c4j_algo algo, const float *in,
                      const float *prepared, const float *bias, float *out, float *workspace, int64_t u0,
                      int64_t u1);

/* Strided convolutions through Winograd or the FFT as stride-1 ones on a space-to-depth copy
   (s2d.c): the same entry points as the algorithm they wrap */
int c4j_s2d_applicable(const c4j_conv2d_desc *d, c4j_algo algo);
int64_t c4j_s2d_band_rows(int64_t rows, int64_t th, int64_t batch, int64_t fit);
int64_t c4j_s2d_units(const c4j_conv2d_desc *d, c4j_algo algo);
int64_t c4j_s2d_workspace(const c4j_conv2d_desc *d, c4j_algo algo);
int64_t c4j_s2d_prepared_floats(const c4j_conv2d_desc *d, c4j_algo algo);
void c4j_s2d_prepare(const c4j_conv2d_desc *d, c4j_algo algo, const float *filter, float *prepared);
void c4j_s2d_run(const c4j_blas *blas, const c4j_conv2d_desc *d, c4j_algo algo, const float *in,
                 const float *prepared, const float *bias, float *out, float *workspace, int64_t u0, int64_t u1);
double c4j_s2d_estimate(const c4j_conv2d_desc *d, c4j_algo algo, int include_prepare);

/* How much slower than their estimates the sgemm routes run on layers of small groups, where
   the grouped direct kernel applies (conv2d.c; measured, applied to those routes' estimates) */
double c4j_small_groups_factor(const c4j_conv2d_desc *d);

/* Grouped / depthwise direct kernel (C4J_ALGO_GROUPED_DIRECT), grouped_direct.c; reads the raw filter */
int c4j_gd_applicable(const c4j_conv2d_desc *d);
int64_t c4j_gd_units(const c4j_conv2d_desc *d);
int64_t c4j_gd_workspace(const c4j_conv2d_desc *d);
double c4j_gd_estimate(const c4j_conv2d_desc *d);
void c4j_gd_run(const c4j_conv2d_desc *d, const float *in, const float *filter, const float *bias, float *out,
                float *workspace, int64_t u0, int64_t u1);
/* input rows [r0, r1) of image img as [row][iw][cg][cwp], lane l of channel c holding the input channel
   that output channel o0 + l reads as its group's c-th (zero past cw <= 64) */
void c4j_gd_stage_rows(const c4j_conv2d_desc *d, const float *img, int64_t r0, int64_t r1, int64_t o0, int64_t cw,
                       int64_t cwp, float *dst);

/* Filter and bias gradients of the same layers (grouped_direct_backward.c), a filter-gradient
   route with the usual pixel ranges and partial sums (see c4j_conv2d_backward_filter) */
int64_t c4j_gdw_ranges(const c4j_conv2d_desc *d);
int64_t c4j_gdw_units(const c4j_conv2d_desc *d);
int64_t c4j_gdw_workspace(const c4j_conv2d_desc *d);
double c4j_gdw_estimate(const c4j_conv2d_desc *d);
void c4j_gdw_run(const c4j_conv2d_desc *d, const float *in, const float *dy, float *dw, float *db, float *partials,
                 float *workspace, int64_t u0, int64_t u1);

/* dst[j * ldd + i] = src[i * lds + j], i < rows, j < cols (cache-blocked; transpose.c) */
void c4j_transpose(const float *restrict src, int64_t lds, int64_t rows, int64_t cols, float *restrict dst,
                   int64_t ldd);
#if defined(__x86_64__) && defined(__GNUC__)
/* dst[j * ldd + p] = src[p * lds + j] for 16 pixels p and c <= 16 channels j (copy_view.c; AVX-512 only) */
void c4j_pixels16_to_planes(const float *restrict src, int64_t lds, int64_t c, float *restrict dst, int64_t ldd);
#endif

/* The widest kernels this CPU runs where a route has one per instruction set (blas.c): 2 AVX-512
   (c4j_cpu_has_avx512), 1 AVX2 with FMA, 0 the portable build (always 0 off x86-64). One answer
   for every such route (direct_dense.c, grouped_direct.c, fft.c), so they cannot disagree. */
int c4j_cpu_vector_tier(void);

/* The 2-D im2col (gemm_tiled.c): the patch columns of filter taps [t0, t1) (filter order, the
   flipped kernel's taps mirrored) for patch rows [r0, r0 + m) of group g, into tile with row
   length ld; zeros where a tap reads padding. avx512: c4j_cpu_has_avx512() (same values). */
void c4j_im2col(const c4j_conv2d_desc *d, const float *in, int64_t g, int64_t r0, int64_t m, int64_t t0, int64_t t1,
                int64_t ld, float *restrict tile, int avx512);

/* ---- backward pass (backward*.c) */

/*
 * The backward routes, as rows of two tables (conv2d_table.c) in the style of the forward one:
 * one row per route, defined in the route's own file. Adding a route is one file and one table
 * line. Estimates are per call, the filter's rearrangement or preparation and the reduction of
 * pixel ranges included (in training the filter changes every step). `id` names the route across
 * JNI: C4J_BWD_GEMM, C4J_BWD_SCATTER, or the c4j_algo of a forward algorithm (input gradient of a
 * stride-1 layer as a forward convolution) or of a Winograd filter gradient.
 */
typedef struct {
    C4J_ROUTE_ROW_HEAD
    int64_t (*prepared_floats)(const c4j_conv2d_desc *d);
    c4j_status (*prepare)(const c4j_conv2d_desc *d, const float *filter, float *prepared, char *err,
                          size_t err_len);
    /* single-thread seconds; include_prepare 0: without the filter's rearrangement or transform
       (a filter prepared once per weight version, see C4J_DIR_INPUT_GRADIENT_PREPARED) */
    double (*estimate)(const c4j_conv2d_desc *d, int include_prepare);
    c4j_status (*run)(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *dy, const float *prepared,
                      float *dx, void *workspace, int64_t workspace_bytes, int64_t u0, int64_t u1, char *err,
                      size_t err_len);
    /* a preparation split into independent units, run in parallel: their count, and units [u0, u1);
       NULL when `prepare` runs it whole (one unit) */
    int64_t (*prepare_units)(const c4j_conv2d_desc *d);
    void (*prepare_part)(const c4j_conv2d_desc *d, const float *filter, float *prepared, int64_t u0, int64_t u1);
} c4j_input_gradient_route;

/* Filter-gradient routes sum pixel ranges r > 0 into partial copies at partials + (r - 1) *
   (|dW| + out_c), added up by backward_reduce.c; `ranges` is 1 when there are none. */
typedef struct {
    C4J_ROUTE_ROW_HEAD
    int64_t (*ranges)(const c4j_conv2d_desc *d);
    double (*estimate)(const c4j_conv2d_desc *d);
    void (*run)(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *dy, float *dw,
                float *db, float *partials, void *workspace, int64_t u0, int64_t u1);
} c4j_filter_gradient_route;

extern const c4j_input_gradient_route c4j_bx_gemm;    /* backward_input_gemm.c */
extern const c4j_input_gradient_route c4j_bx_scatter; /* backward_scatter.c */
extern const c4j_input_gradient_route c4j_bx_taps;    /* backward_input_taps.c */
/* backward_input_forward.c: one per forward algorithm */
extern const c4j_input_gradient_route c4j_bx_gemm_direct, c4j_bx_gemm_tiled, c4j_bx_winograd_2x2,
    c4j_bx_winograd_4x4, c4j_bx_fft, c4j_bx_grouped_direct;
extern const c4j_filter_gradient_route c4j_bw_gemm;                         /* backward_filter_gemm.c */
extern const c4j_filter_gradient_route c4j_bw_winograd_4x4, c4j_bw_winograd_2x2; /* backward_winograd.c */
extern const c4j_filter_gradient_route c4j_bw_winograd_fused;               /* backward_winograd_fused.c */
extern const c4j_filter_gradient_route c4j_bw_grouped_direct;              /* grouped_direct_backward.c */
extern const c4j_filter_gradient_route c4j_bw_fft;                         /* backward_filter_fft.c */
extern const c4j_filter_gradient_route c4j_bw_direct;                      /* backward_filter_direct.c */

/* The two backward tables (conv2d_table.c): rows in order (the first is the general GEMM route)
   and the row of an id (NULL if none). */
int c4j_input_gradient_rows(void);
const c4j_input_gradient_route *c4j_input_gradient_row(int index);
const c4j_input_gradient_route *c4j_input_gradient_route_of(int id);
int c4j_filter_gradient_rows(void);
const c4j_filter_gradient_route *c4j_filter_gradient_row(int index);
const c4j_filter_gradient_route *c4j_filter_gradient_route_of(int id);

/* How much slower than estimated the sgemm-based backward routes run on layers of small groups
   (backward_route.c); 1 elsewhere. route: the row's id. */
double c4j_bw_small_groups_factor(const c4j_conv2d_desc *d, int route);

/* Per float, in the backward routes' estimates: rearranging the filter (a strided scatter), adding
   a partial sum in the reduction. Measured on the benchmark layers (native/bench/backward_bench.c). */
#define C4J_BW_REARRANGE_NS 0.4
#define C4J_BW_REDUCE_NS 0.3

/* Bias gradient (backward_bias.c): dY pixels per sgemm. */
#define C4J_BIAS_ROWS 1024
void c4j_bw_bias_rows(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *dy, int64_t c0, int64_t cols,
                      int64_t row_begin, int64_t row_end, const float *ones, float *b_out);

/* Reduction of a filter-gradient route's r_chunks pixel ranges (backward_reduce.c): units, and
   dW/db += the partial copies for units [u0, u1) */
#define C4J_BW_REDUCE_FLOATS (16 * 1024)
int64_t c4j_bw_reduce_units(const c4j_conv2d_desc *d, int64_t r_chunks);
void c4j_bw_reduce_ranges(const c4j_conv2d_desc *d, int64_t r_chunks, float *dw, float *db, const float *partials,
                          int64_t u0, int64_t u1);

/* Input gradient by stride phases (C4J_BWD_GEMM), backward_input_gemm.c; the prepared filter has
   the filter's size */
c4j_status c4j_bxg_supported(const c4j_conv2d_desc *d, char *err, size_t err_len);
int64_t c4j_bxg_units(const c4j_conv2d_desc *d);
int64_t c4j_bxg_workspace(const c4j_conv2d_desc *d);
c4j_status c4j_bxg_prepare(const c4j_conv2d_desc *d, const float *filter, float *prepared, char *err,
                           size_t err_len);
void c4j_bxg_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *dy, const float *prepared, float *dx,
                 void *workspace, int64_t u0, int64_t u1);
double c4j_bxg_estimate(const c4j_conv2d_desc *d);

/* Input gradient of a stride-1 layer by a forward algorithm `route` (backward_input_forward.c):
   c4j_bxf_route fills f, the forward convolution that computes it, and says whether route runs it */
int c4j_bxf_route(const c4j_conv2d_desc *d, int route, c4j_conv2d_desc *f);
int64_t c4j_bxf_prepared_floats(const c4j_conv2d_desc *f, int route);
c4j_status c4j_bxf_prepare(const c4j_conv2d_desc *d, const c4j_conv2d_desc *f, int route, const float *filter,
                           float *prepared, char *err, size_t err_len);
c4j_status c4j_bxf_run(const c4j_blas *blas, const c4j_conv2d_desc *f, int route, const float *grad_out,
                       const float *prepared, float *grad_in, void *workspace, int64_t workspace_bytes,
                       int64_t unit_begin, int64_t unit_end, char *err, size_t err_len);
double c4j_bxf_estimate(const c4j_conv2d_desc *d, const c4j_conv2d_desc *f, int route, int include_prepare);
int64_t c4j_bxf_prepare_units(const c4j_conv2d_desc *f, int route);
void c4j_bxf_prepare_part(const c4j_conv2d_desc *d, const c4j_conv2d_desc *f, int route, const float *filter,
                          float *prepared, int64_t u0, int64_t u1);
/* The same rows for strided layers through space to depth (backward_input_s2d.c): route a
   transform (Winograd, FFT) that runs the stride-1 input gradient of the space-to-depth layer;
   applicable 0, units 0, sizes and estimate -1 where it does not */
int c4j_bx_s2d_applicable(const c4j_conv2d_desc *d, int route);
int64_t c4j_bx_s2d_units(const c4j_conv2d_desc *d, int route);
int64_t c4j_bx_s2d_workspace(const c4j_conv2d_desc *d, int route);
int64_t c4j_bx_s2d_prepared_floats(const c4j_conv2d_desc *d, int route);
c4j_status c4j_bx_s2d_prepare(const c4j_conv2d_desc *d, int route, const float *filter, float *prepared, char *err,
                           size_t err_len);
c4j_status c4j_bx_s2d_run(const c4j_blas *blas, const c4j_conv2d_desc *d, int route, const float *dy,
                       const float *prepared, float *dx, void *workspace, int64_t workspace_bytes, int64_t u0,
                       int64_t u1, char *err, size_t err_len);
double c4j_bx_s2d_estimate(const c4j_conv2d_desc *d, int route, int include_prepare);

/* Filter and bias gradients by sgemm (C4J_BWD_GEMM), backward_filter_gemm.c. Partial sums of
   ranges r > 0 at partials + (r - 1) * (|dW| + out_c). */
int64_t c4j_bwg_ranges(const c4j_conv2d_desc *d);
int64_t c4j_bwg_units(const c4j_conv2d_desc *d);
int64_t c4j_bwg_workspace(const c4j_conv2d_desc *d);
void c4j_bwg_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *dy, float *dw,
                 float *db, float *partials, void *workspace, int64_t u0, int64_t u1);
double c4j_bwg_estimate(const c4j_conv2d_desc *d);

/* filter gradient by FFT tiles, stride 1, dilation 1, one group (backward_filter_fft.c) */
int c4j_bwf_applicable(const c4j_conv2d_desc *d);
int64_t c4j_bwf_ranges(const c4j_conv2d_desc *d);
int64_t c4j_bwf_units(const c4j_conv2d_desc *d);
int64_t c4j_bwf_workspace(const c4j_conv2d_desc *d);
double c4j_bwf_estimate(const c4j_conv2d_desc *d);
void c4j_bwf_run(const c4j_conv2d_desc *d, const float *in, const float *dy, float *dw, float *db, float *partials,
                 void *workspace, int64_t u0, int64_t u1);

/* input gradient tap by tap on the HWIO filter, stride 1 (backward_input_taps.c) */
int c4j_bxt_applicable(const c4j_conv2d_desc *d);
int64_t c4j_bxt_units(const c4j_conv2d_desc *d);
int64_t c4j_bxt_workspace(const c4j_conv2d_desc *d);
double c4j_bxt_estimate(const c4j_conv2d_desc *d);
void c4j_bxt_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *dy, const float *filter, float *dx,
                 void *workspace, int64_t u0, int64_t u1);

/* Input gradient by patch gradients and a scatter into bands (C4J_BWD_SCATTER), backward_scatter.c;
   the prepared filter has the filter's size */
int c4j_bxs_applicable(const c4j_conv2d_desc *d);
int64_t c4j_bxs_units(const c4j_conv2d_desc *d);
int64_t c4j_bxs_workspace(const c4j_conv2d_desc *d);
void c4j_bxs_prepare(const c4j_conv2d_desc *d, const float *filter, float *prepared);
void c4j_bxs_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *dy, const float *prepared, float *dx,
                 void *workspace, int64_t u0, int64_t u1);
double c4j_bxs_estimate(const c4j_conv2d_desc *d);

/* Filter gradient by Winograd F(3x3, 4x4) (C4J_ALGO_WINOGRAD_4X4) or F(3x3, 2x2) (C4J_ALGO_WINOGRAD_2X2),
   backward_winograd.c. Partial sums of ranges r > 0 at partials + (r - 1) * (|dW| + out_c). */
int c4j_bwino_applicable(const c4j_conv2d_desc *d, c4j_algo algo);
int64_t c4j_bwino_units(const c4j_conv2d_desc *d, c4j_algo algo);
int64_t c4j_bwino_ranges(const c4j_conv2d_desc *d, c4j_algo algo);
int64_t c4j_bwino_workspace(const c4j_conv2d_desc *d, c4j_algo algo);
double c4j_bwino_estimate(const c4j_conv2d_desc *d, c4j_algo algo);
void c4j_bwino_run(const c4j_blas *blas, const c4j_conv2d_desc *d, c4j_algo algo, const float *in, const float *dy,
                   float *dw, float *db, float *partials, void *workspace, int64_t u0, int64_t u1);

#endif
