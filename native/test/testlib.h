/* Small helpers for the core's C tests and benchmark: BLAS binding, data, a plain reference. */
#ifndef CONV4J_TESTLIB_H
#define CONV4J_TESTLIB_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "conv4j.h"

extern int t_failures;

#define T_CHECK(cond, ...)                                                  \
    do {                                                                    \
        if (!(cond)) {                                                      \
            if (++t_failures > 20) break;                                   \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
        }                                                                   \
    } while (0)

/* The OpenBLAS named at configure time (CONV4J_OPENBLAS_LIB), bound once; exits if it cannot be. */
const c4j_blas *t_blas(void);

/* deterministic pseudo-random numbers */
uint64_t t_rand(uint64_t *state);
int64_t t_rand_range(uint64_t *state, int64_t lo, int64_t hi); /* inclusive */
void t_fill(float *p, int64_t n, uint64_t *state);             /* uniform in [-1, 1) */

/* Fills a descriptor for a dense NHWC input / output from the usual parameters. */
void t_dense_desc(c4j_conv2d_desc *d, int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw,
                  int64_t cout, int64_t groups, int64_t sh, int64_t sw, int64_t dh, int64_t dw,
                  int64_t pt, int64_t pb, int64_t pl, int64_t pr);

/* Plain loop reference in double: writes the output view (out_stride of d) into out. */
void t_reference(const c4j_conv2d_desc *d, const float *in, const float *filter, const float *bias,
                 double *out);

/*
 * The checks of one kernel run into a guarded output buffer: mem holds guard NaNs, the out_len
 * elements the output view of d spans (all NaN before the run), then guard NaNs again. The run
 * must have written every element of the view and nothing else (the guards and the view's gaps
 * still NaN). Returns the largest |out - want| / (1 + |want|) over the view (want laid out as the
 * view, as t_reference writes it). what and isa name the case in failure messages.
 */
double t_check_output_view(const c4j_conv2d_desc *d, const float *mem, int64_t guard, int64_t out_len,
                           const double *want, const char *what, int isa);

/* Elements a dense buffer for a view needs: max reach + 1. */
int64_t t_view_len(const int64_t dim[4], const int64_t stride[4]);

double t_now(void);

/* qsort comparator for doubles */
int t_cmp_double(const void *a, const void *b);

/*
 * Median seconds per call of body(ctx) under the peer harness's policy: 3 warm-up calls, one call
 * to estimate, then max(5, ceil(min_time / estimate)) timed calls (at most 100000); -1 if out of
 * memory.
 */
double t_median_seconds(void (*body)(void *ctx), void *ctx, double min_time);

/* A forward convolution as the benchmarks time it: all of units on one thread with ws, or a range. */
typedef struct {
    const c4j_blas *blas;
    const c4j_conv2d_desc *d;
    c4j_algo algo;
    const float *in, *filter, *prepared;
    float *out;
    void *ws;
    int64_t ws_bytes, units;
} t_forward;

/* Units [u0, u1) of c with the given workspace; exits with the core's message if it refuses. */
void t_forward_range(const t_forward *c, void *ws, int64_t ws_bytes, int64_t u0, int64_t u1);

/* All units of a t_forward on the calling thread with its own workspace (a t_median_seconds body). */
void t_forward_all(void *c);

/* The baseline the benchmarks compare with: C = A B, row-major, dense, one cblas_sgemm call. */
typedef struct {
    int m, n, k;
    const float *a, *b;
    float *c;
} t_sgemm;

/* One call of a t_sgemm through t_blas() (a t_median_seconds body). */
void t_sgemm_run(void *g);

/* A layer as a row of the peer benchmark's shapes.csv: name,N,H,W,Cin,KH,KW,Cout,stride,padding. */
typedef struct {
    char name[64];
    int64_t n, h, w, c, kh, kw, cout, stride;
    int same; /* TensorFlow SAME padding, else VALID */
} t_layer;

/* The layers of ../shared/bench/shapes.csv, for benchmarks run without the file. */
extern const t_layer T_PEER_LAYERS[];
extern const int T_N_PEER_LAYERS;

/* Dense NHWC descriptor of a layer, one group, no dilation, the layer's padding. */
void t_layer_desc(const t_layer *s, c4j_conv2d_desc *d);

/* 1 when name is an entry of the comma-separated list (NULL: every name). */
int t_wanted(const char *list, const char *name);

#endif
