/*
 * FFT convolution (C4J_ALGO_FFT): accuracy on the large-kernel layer shapes, measured as
 *   max |fft - double reference| / (1 + sum over the window of |x * w|)
 * (the metric of the project's golden tolerance, 1e-5), plus what test_forward cannot see with its
 * small random shapes: large kernels and channel counts that are not multiples of the 16 SIMD
 * lanes, dilation, groups, flip, strided views, any split of the work units giving bit-identical
 * output, one prepared filter serving every input size, and the applicability limits.
 */
#include <math.h>
#include <string.h>

#include "testlib.h"

/*
 * Bounds asserted here. The golden tolerance is 1e-5 in the per-window metric above. FFT rounding
 * error is not per window: it is about eps * log2(F) times the size of the whole tile's signal,
 * spread over the tile. On layer shapes (SAME or VALID padding, so every window is at least about
 * a quarter full) that is < 1e-7 of the window sum, and FFT_LAYER_BOUND holds with a wide margin.
 * A window that is mostly or entirely padding (padding beyond half the kernel, as in the random
 * cases) has a small sum |x*w| of its own but the absolute error of its tile, so there the golden
 * metric reaches ~1e-5 with tens of channels and large kernels: FFT does NOT meet the golden
 * tolerance on such outputs. What does hold everywhere is the error relative to the layer's
 * scale, |fft - ref| / (1 + max over the output of sum |x*w|): FFT_SCALE_BOUND. The per-window
 * metric is still bounded by FFT_WINDOW_BOUND, the tolerance test_forward uses for transforms.
 */
#define FFT_LAYER_BOUND 6e-7 /* the README's promised bound */
#define FFT_SCALE_BOUND 1e-6
#define FFT_WINDOW_BOUND 1e-4

static const c4j_blas *blas;

/* double reference of every output (with bias/activation) and sum |x*w| per output */
static void reference(const c4j_conv2d_desc *d, const float *in, const float *f, const float *bias, double *want,
                      double *abs_sum) {
    const int64_t cg = d->in_c / d->groups, og = d->out_c / d->groups;
    double *acc = malloc(sizeof(double) * (size_t)d->out_c), *ab = malloc(sizeof(double) * (size_t)d->out_c);
    for (int64_t n = 0; n < d->batch; n++)
        for (int64_t oh = 0; oh < d->out_h; oh++)
            for (int64_t ow = 0; ow < d->out_w; ow++) {
                for (int64_t o = 0; o < d->out_c; o++) acc[o] = ab[o] = 0;
                for (int64_t kh = 0; kh < d->kernel_h; kh++)
                    for (int64_t kw = 0; kw < d->kernel_w; kw++) {
                        int64_t ih = oh * d->stride_h + kh * d->dilation_h - d->pad_top;
                        int64_t iw = ow * d->stride_w + kw * d->dilation_w - d->pad_left;
                        if (ih < 0 || ih >= d->in_h || iw < 0 || iw >= d->in_w) continue;
                        int64_t fh = d->flip ? d->kernel_h - 1 - kh : kh, fw = d->flip ? d->kernel_w - 1 - kw : kw;
                        for (int64_t g = 0; g < d->groups; g++)
                            for (int64_t c = 0; c < cg; c++) {
                                const double x = in[n * d->in_stride[0] + ih * d->in_stride[1] + iw * d->in_stride[2] +
                                                    (g * cg + c) * d->in_stride[3]];
                                const float *wr = f + ((fh * d->kernel_w + fw) * cg + c) * d->out_c + g * og;
                                for (int64_t o = 0; o < og; o++) {
                                    const double p = x * wr[o];
                                    acc[g * og + o] += p;
                                    ab[g * og + o] += fabs(p);
                                }
                            }
                    }
                for (int64_t o = 0; o < d->out_c; o++) {
                    double v = acc[o] + (d->has_bias ? bias[o] : 0.0);
                    if (d->activation == C4J_ACT_RELU) v = v > 0 ? v : 0;
                    if (d->activation == C4J_ACT_RELU6) v = v > 0 ? (v < 6 ? v : 6) : 0;
                    const int64_t e = n * d->out_stride[0] + oh * d->out_stride[1] + ow * d->out_stride[2] + o;
                    want[e] = v;
                    abs_sum[e] = ab[o] + (d->has_bias ? fabs(bias[o]) : 0.0);
                }
            }
    free(acc);
    free(ab);
}

typedef struct {
    float *in, *f, *bias, *prep, *out_mem, *out;
    double *want, *abs_sum;
    int64_t in_len, f_len, out_len;
} bufs;

#define GUARD 64
static const uint32_t CANARY = 0x7fa5a5a5u;

static void alloc_bufs(const c4j_conv2d_desc *d, bufs *b, uint64_t *rng) {
    const int64_t in_dim[4] = {d->batch, d->in_h, d->in_w, d->in_c};
    const int64_t out_dim[4] = {d->batch, d->out_h, d->out_w, d->out_c};
    b->in_len = t_view_len(in_dim, d->in_stride);
    b->out_len = t_view_len(out_dim, d->out_stride);
    b->f_len = d->kernel_h * d->kernel_w * (d->in_c / d->groups) * d->out_c;
    b->in = malloc(sizeof(float) * (size_t)b->in_len);
    b->f = malloc(sizeof(float) * (size_t)b->f_len);
    b->bias = malloc(sizeof(float) * (size_t)d->out_c);
    b->out_mem = malloc(sizeof(float) * (size_t)(b->out_len + 2 * GUARD));
    b->out = b->out_mem + GUARD;
    b->want = calloc((size_t)b->out_len, sizeof(double));
    b->abs_sum = calloc((size_t)b->out_len, sizeof(double));
    t_fill(b->in, b->in_len, rng);
    t_fill(b->f, b->f_len, rng);
    t_fill(b->bias, d->out_c, rng);
    int64_t pf = c4j_conv2d_prepared_floats(d, C4J_ALGO_FFT);
    b->prep = pf > 0 ? malloc(sizeof(float) * (size_t)pf) : NULL;
    reference(d, b->in, b->f, b->bias, b->want, b->abs_sum);
}

static void free_bufs(bufs *b) {
    free(b->in); free(b->f); free(b->bias); free(b->prep); free(b->out_mem); free(b->want); free(b->abs_sum);
}

static void fill_canary(bufs *b) {
    for (int64_t i = 0; i < b->out_len + 2 * GUARD; i++) memcpy(&b->out_mem[i], &CANARY, 4);
}

/* runs units [u0, u1) of the FFT convolution on b (prepared filter already in b->prep) */
static c4j_status forward_units(const c4j_conv2d_desc *d, bufs *b, void *ws, int64_t ws_bytes, int64_t u0, int64_t u1) {
    char err[256];
    c4j_status st = c4j_conv2d_forward(blas, d, C4J_ALGO_FFT, b->in, b->f, b->prep, b->bias, b->out, ws, ws_bytes, u0,
                                       u1, err, sizeof err);
    T_CHECK(st == C4J_OK, "forward: %s", err);
    return st;
}

/* max error in the golden metric over the output view (and, in *scaled, relative to the largest
   window sum); flags writes outside the view */
static double max_error(const c4j_conv2d_desc *d, const bufs *b, const char *what, double *scaled) {
    double worst = 0, scale = 0, worst_abs = 0;
    int outside = 0;
    for (int64_t e = 0; e < b->out_len; e++) scale = fmax(scale, b->abs_sum[e]);
    for (int64_t i = 0; i < b->out_len + 2 * GUARD; i++) {
        const int64_t e = i - GUARD;
        int inside = 0;
        if (e >= 0 && e < b->out_len) {
            int64_t r = e % d->out_stride[0];
            const int64_t nn = e / d->out_stride[0], oh = r / d->out_stride[1];
            r %= d->out_stride[1];
            const int64_t ow = r / d->out_stride[2], o = r % d->out_stride[2];
            inside = nn < d->batch && oh < d->out_h && ow < d->out_w && o < d->out_c;
        }
        if (!inside) {
            uint32_t bits;
            memcpy(&bits, &b->out_mem[i], 4);
            if (bits != CANARY) outside++;
            continue;
        }
        const double abs_err = fabs((double)b->out[e] - b->want[e]), err = abs_err / (1.0 + b->abs_sum[e]);
        if (!(err <= worst)) worst = err; /* NaN propagates */
        if (!(abs_err <= worst_abs)) worst_abs = abs_err;
    }
    T_CHECK(outside == 0, "%s: %d writes outside the output view", what, outside);
    if (scaled) *scaled = worst_abs / (1.0 + scale);
    return worst;
}

/* Prepares, runs all units at once and in other splits (must be bit-identical), returns the error. */
static double run_fft(const c4j_conv2d_desc *d, bufs *b, const char *what, double *scaled) {
    char err[256];
    T_CHECK(c4j_conv2d_supports(d, C4J_ALGO_FFT) == C4J_OK, "%s: FFT refuses it", what);
    T_CHECK(c4j_conv2d_check(d, b->in_len, b->f_len, d->out_c, b->out_len, err, sizeof err) == C4J_OK, "%s", err);
    T_CHECK(c4j_conv2d_prepare(d, C4J_ALGO_FFT, b->f, b->prep, err, sizeof err) == C4J_OK, "%s: %s", what, err);
    const int64_t units = c4j_conv2d_units(d, C4J_ALGO_FFT);
    const int64_t ws_bytes = c4j_conv2d_workspace_bytes(d, C4J_ALGO_FFT);
    T_CHECK(units >= 1 && ws_bytes > 0 && ws_bytes <= 16 << 20, "%s: %lld units, %lld workspace bytes", what,
            (long long)units, (long long)ws_bytes);
    void *ws = c4j_alloc((size_t)ws_bytes, 0);
    fill_canary(b);
    forward_units(d, b, ws, ws_bytes, 0, units);
    const double e = max_error(d, b, what, scaled);
    /* one unit at a time, last first, with a dirty workspace: same bits */
    float *first = malloc(sizeof(float) * (size_t)b->out_len);
    memcpy(first, b->out, sizeof(float) * (size_t)b->out_len);
    memset(ws, 0xff, (size_t)ws_bytes);
    fill_canary(b);
    for (int64_t u = units; u-- > 0;) forward_units(d, b, ws, ws_bytes, u, u + 1);
    T_CHECK(memcmp(first, b->out, sizeof(float) * (size_t)b->out_len) == 0, "%s: unit split changed the result", what);
    /* two ranges split anywhere (inside a block's slices too: the block's forward transforms are
       then done by both), the second range first */
    const int64_t cuts[4] = {1, units / 3, units / 2, units - 1};
    for (int i = 0; i < 4; i++) {
        if (cuts[i] <= 0 || cuts[i] >= units || (i > 0 && cuts[i] == cuts[i - 1])) continue;
        fill_canary(b);
        forward_units(d, b, ws, ws_bytes, cuts[i], units);
        forward_units(d, b, ws, ws_bytes, 0, cuts[i]);
        T_CHECK(memcmp(first, b->out, sizeof(float) * (size_t)b->out_len) == 0, "%s: split at %lld changed the result",
                what, (long long)cuts[i]);
    }
    /* ConvExecutor's chunks for 3 threads: min(units, 12) contiguous ranges, in reverse order */
    const int64_t chunks = units < 12 ? units : 12;
    fill_canary(b);
    for (int64_t c = chunks; c-- > 0;) forward_units(d, b, ws, ws_bytes, units * c / chunks, units * (c + 1) / chunks);
    T_CHECK(memcmp(first, b->out, sizeof(float) * (size_t)b->out_len) == 0, "%s: %lld chunks changed the result", what,
            (long long)chunks);
    free(first);
    c4j_free(ws);
    return e;
}

static c4j_conv2d_desc same_desc(int64_t n, int64_t h, int64_t w, int64_t c, int64_t k, int64_t cout) {
    c4j_conv2d_desc d;
    const int64_t pad = k - 1;
    t_dense_desc(&d, n, h, w, c, k, k, cout, 1, 1, 1, 1, 1, pad / 2, pad - pad / 2, pad / 2, pad - pad / 2);
    return d;
}

/* the large-kernel layer shapes of the benchmark, random data in [-1, 1] */
static void layer_shapes(uint64_t *rng) {
    /* min_units: the benchmark layers that had one or two units (whole layer in one block) must
       give a second thread work; how many more is the cost model's call */
    static const struct {
        const char *name;
        int64_t n, h, w, c, k, cout, valid, min_units;
    } S[] = {
        {"seed_n4_64x64x3to16", 4, 64, 64, 3, 5, 16, 1, 4}, /* VALID; 5 tiles per packed vector */
        {"bigk_11x11_64x16", 1, 64, 64, 16, 11, 16, 0, 2},
        {"k7_56x56x32to32", 1, 56, 56, 32, 7, 32, 0, 2},
        {"k9_32x32x64to64", 1, 32, 32, 64, 9, 64, 0, 1},
        {"k11_64x64x3to16", 1, 64, 64, 3, 11, 16, 0, 2},
        {"k11_n4_32x32x16", 4, 32, 32, 16, 11, 16, 0, 1},
        {"k5_64x64x32to32", 1, 64, 64, 32, 5, 32, 0, 1},
        {"k3_56x56x64to64", 1, 56, 56, 64, 3, 64, 0, 2},     /* stacked, output-channel slices */
        {"k7_n4_56x56x32to32", 4, 56, 56, 32, 7, 32, 0, 1},  /* many tile blocks, batches of blocks */
        {"k9_24x24x24to40", 1, 24, 24, 24, 9, 40, 0, 1},     /* a partial column group: 16 + 16 + 8 */
        {"k11_64x64x1to8", 1, 64, 64, 1, 11, 8, 0, 1},      /* 16 tiles per packed vector */
        {"k5_64x64x5to24", 2, 64, 64, 5, 5, 24, 0, 1},      /* 3 tiles per packed vector, 1 lane spare */
        {"k7_48x48x8to16", 1, 48, 48, 8, 7, 16, 0, 1},      /* 2 tiles per packed vector */
    };
    for (size_t i = 0; i < sizeof S / sizeof S[0]; i++) {
        c4j_conv2d_desc d = same_desc(S[i].n, S[i].h, S[i].w, S[i].c, S[i].k, S[i].cout);
        if (S[i].valid)
            t_dense_desc(&d, S[i].n, S[i].h, S[i].w, S[i].c, S[i].k, S[i].k, S[i].cout, 1, 1, 1, 1, 1, 0, 0, 0, 0);
        bufs b;
        alloc_bufs(&d, &b, rng);
        double scaled;
        const double e = run_fft(&d, &b, S[i].name, &scaled);
        printf("%-20s max |fft - ref| / (1 + sum|x*w|) = %.3e   (golden tolerance 1e-5, asserted %.0e; %lld units)\n",
               S[i].name, e, FFT_LAYER_BOUND, (long long)c4j_conv2d_units(&d, C4J_ALGO_FFT));
        T_CHECK(e <= FFT_LAYER_BOUND, "%s: error %.3e over %.0e", S[i].name, e, FFT_LAYER_BOUND);
        T_CHECK(c4j_conv2d_units(&d, C4J_ALGO_FFT) >= S[i].min_units, "%s: %lld units, at least %lld expected",
                S[i].name, (long long)c4j_conv2d_units(&d, C4J_ALGO_FFT), (long long)S[i].min_units);
        free_bufs(&b);
    }
}

/* Small layers with few tiles (tens of microseconds): two threads must get a fair share.
   ConvExecutor's claims (ceil(left / 2), at most floor(units / 2)) run 3 units as 2 + 1, so a
   blocking of 3 leaves two threads 1.5x short of what 2 or 4 units give; the blockings used to
   be scored on 2-16 threads alike and took 3 on these layers. */
static void two_thread_shares(void) {
    static const struct {
        const char *name;
        int64_t n, h, w, c, k, cout, valid;
    } S[] = {
        {"n3_25x25x23to31_k3", 3, 25, 25, 23, 3, 31, 0},
        {"n7_17x29x5to9_k5", 7, 17, 29, 5, 5, 9, 1},
        {"n2_27x27x8to16_k7", 2, 27, 27, 8, 7, 16, 0}, /* was one unit: nothing for a second thread */
    };
    for (size_t i = 0; i < sizeof S / sizeof S[0]; i++) {
        c4j_conv2d_desc d = same_desc(S[i].n, S[i].h, S[i].w, S[i].c, S[i].k, S[i].cout);
        if (S[i].valid)
            t_dense_desc(&d, S[i].n, S[i].h, S[i].w, S[i].c, S[i].k, S[i].k, S[i].cout, 1, 1, 1, 1, 1, 0, 0, 0, 0);
        const int64_t units = c4j_conv2d_units(&d, C4J_ALGO_FFT);
        /* the busier thread's units when 2 threads claim as ConvExecutor does, units taken as equal */
        int64_t busy[2] = {0, 0};
        for (int64_t u = 0; u < units;) {
            const int64_t half = (units - u + 1) / 2, cap = units / 2 > 1 ? units / 2 : 1;
            const int64_t t = busy[1] < busy[0], k = half < cap ? half : cap;
            busy[t] += k;
            u += k;
        }
        const double share = (double)(busy[0] > busy[1] ? busy[0] : busy[1]) / (double)units;
        printf("%-20s %lld units, the busier of 2 threads runs %.2f of them\n", S[i].name, (long long)units, share);
        T_CHECK(units >= 2 && share <= 0.6, "%s: %lld units, %.2f on one of 2 threads", S[i].name, (long long)units, share);
    }
}

/* random convolutions with large, odd-sized kernels and everything FFT supports */
static void random_cases(uint64_t *rng, int count) {
    double worst = 0, worst_scaled = 0;
    int ran = 0, over_golden = 0;
    for (int i = 0; i < count; i++) {
        c4j_conv2d_desc d;
        const int64_t kh = t_rand_range(rng, 1, 17), kw = t_rand_range(rng, 1, 17);
        int64_t dh = i % 5 == 0 ? t_rand_range(rng, 2, 3) : 1, dw = i % 7 == 0 ? t_rand_range(rng, 2, 3) : 1;
        if ((kh - 1) * dh + 1 > 48) dh = 2; /* kernel extent within FFT's 48 */
        if ((kw - 1) * dw + 1 > 48) dw = 2;
        const int64_t groups = i % 4 == 0 ? t_rand_range(rng, 2, 3) : 1;
        int64_t cg = t_rand_range(rng, 1, i % 3 == 0 ? 40 : 8), og = t_rand_range(rng, 1, i % 3 == 1 ? 40 : 8);
        int64_t n = t_rand_range(rng, 1, 3), h = t_rand_range(rng, 1, 40), w = t_rand_range(rng, 1, 70);
        if (i % 6 == 5) { /* enough channel pairs for the stacked product form */
            cg = t_rand_range(rng, 45, 70);
            og = t_rand_range(rng, 46, 70);
            h = t_rand_range(rng, 1, 20);
            w = t_rand_range(rng, 1, 30);
        }
        const int64_t ekh = (kh - 1) * dh + 1, ekw = (kw - 1) * dw + 1;
        int64_t pt = t_rand_range(rng, 0, ekh + 2), pb = t_rand_range(rng, 0, ekh + 2);
        int64_t pl = t_rand_range(rng, 0, ekw + 2), pr = t_rand_range(rng, 0, ekw + 2);
        if (h + pt + pb < ekh) pb = ekh - h - pt;
        if (w + pl + pr < ekw) pr = ekw - w - pl;
        t_dense_desc(&d, n, h, w, groups * cg, kh, kw, groups * og, groups, 1, 1, dh, dw, pt, pb, pl, pr);
        d.flip = i % 3 == 2;
        d.has_bias = i % 2;
        d.activation = i % 5 == 3 ? C4J_ACT_RELU : i % 5 == 4 ? C4J_ACT_RELU6 : C4J_ACT_NONE;
        const int64_t c = d.in_c;
        if (i % 4 == 1) { /* spare channels and pixels */
            const int64_t cpad = c + t_rand_range(rng, 0, 5), wpad = w + t_rand_range(rng, 0, 3);
            d.in_stride[2] = cpad; d.in_stride[1] = wpad * cpad; d.in_stride[0] = h * wpad * cpad + 7;
        } else if (i % 4 == 2) { /* NCHW: channel stride h*w (the gather path) */
            d.in_stride[3] = h * w; d.in_stride[2] = 1; d.in_stride[1] = w; d.in_stride[0] = c * h * w;
        } else if (i % 8 == 3) { /* broadcast: zero strides */
            d.in_stride[0] = 0; d.in_stride[1] = 0;
        }
        if (i % 2) {
            d.out_stride[2] = d.out_c + t_rand_range(rng, 0, 4);
            d.out_stride[1] = d.out_w * d.out_stride[2] + 3;
            d.out_stride[0] = d.out_h * d.out_stride[1] + 1;
        }
        if (c4j_conv2d_supports(&d, C4J_ALGO_FFT) != C4J_OK) {
            T_CHECK(0, "case %d: FFT refuses %lldx%lld dilation %lld,%lld", i, (long long)kh, (long long)kw,
                    (long long)dh, (long long)dw);
            continue;
        }
        bufs b;
        alloc_bufs(&d, &b, rng);
        char what[64];
        snprintf(what, sizeof what, "random case %d", i);
        double scaled;
        const double e = run_fft(&d, &b, what, &scaled);
        T_CHECK(e <= FFT_WINDOW_BOUND && scaled <= FFT_SCALE_BOUND,
                "%s (k %lldx%lld dil %lld,%lld groups %lld cin %lld cout %lld): error %.3e, %.3e of the scale", what,
                (long long)kh, (long long)kw, (long long)dh, (long long)dw, (long long)groups, (long long)d.in_c,
                (long long)d.out_c, e, scaled);
        worst = fmax(worst, e);
        worst_scaled = fmax(worst_scaled, scaled);
        over_golden += e > 1e-5;
        ran++;
        free_bufs(&b);
    }
    printf("%d random large-kernel cases (padding up to the kernel extent + 2):\n"
           "  max |fft - ref| / (1 + sum|x*w|) = %.3e (asserted %.0e; %d cases over the golden 1e-5)\n"
           "  max |fft - ref| / (1 + max sum|x*w|) = %.3e (asserted %.0e)\n",
           ran, worst, FFT_WINDOW_BOUND, over_golden, worst_scaled, FFT_SCALE_BOUND);
}

/* one prepared filter for every input size: its size and contents depend on the filter and options only */
static void prepared_independent_of_input(uint64_t *rng) {
    c4j_conv2d_desc a = same_desc(1, 64, 64, 20, 11, 24), b = same_desc(3, 23, 97, 20, 11, 24);
    a.flip = b.flip = 1;
    const int64_t pa = c4j_conv2d_prepared_floats(&a, C4J_ALGO_FFT), pb = c4j_conv2d_prepared_floats(&b, C4J_ALGO_FFT);
    T_CHECK(pa > 0 && pa == pb, "prepared floats %lld vs %lld", (long long)pa, (long long)pb);
    bufs ba, bb;
    alloc_bufs(&a, &ba, rng);
    alloc_bufs(&b, &bb, rng);
    memcpy(bb.f, ba.f, sizeof(float) * (size_t)ba.f_len);
    reference(&b, bb.in, bb.f, bb.bias, bb.want, bb.abs_sum);
    T_CHECK(c4j_conv2d_prepare(&a, C4J_ALGO_FFT, ba.f, ba.prep, NULL, 0) == C4J_OK, "prepare");
    T_CHECK(c4j_conv2d_prepare(&b, C4J_ALGO_FFT, bb.f, bb.prep, NULL, 0) == C4J_OK, "prepare");
    T_CHECK(memcmp(ba.prep, bb.prep, sizeof(float) * (size_t)pa) == 0, "prepared filter depends on the input size");
    /* run b with a's prepared filter */
    const int64_t ws_bytes = c4j_conv2d_workspace_bytes(&b, C4J_ALGO_FFT);
    void *ws = c4j_alloc((size_t)ws_bytes, 0);
    fill_canary(&bb);
    char err[256];
    T_CHECK(c4j_conv2d_forward(blas, &b, C4J_ALGO_FFT, bb.in, bb.f, ba.prep, bb.bias, bb.out, ws, ws_bytes, 0,
                               c4j_conv2d_units(&b, C4J_ALGO_FFT), err, sizeof err) == C4J_OK, "%s", err);
    T_CHECK(max_error(&b, &bb, "shared prepared", NULL) <= FFT_LAYER_BOUND, "shared prepared filter");
    /* the workspace is bounded whatever the batch */
    c4j_conv2d_desc big = same_desc(1000, 64, 64, 20, 11, 24);
    T_CHECK(c4j_conv2d_workspace_bytes(&big, C4J_ALGO_FFT) <= 16 << 20, "workspace grows with the batch");
    c4j_free(ws);
    free_bufs(&ba);
    free_bufs(&bb);
}

static void limits(void) {
    c4j_conv2d_desc d = same_desc(1, 64, 64, 4, 11, 4);
    T_CHECK(c4j_conv2d_supports(&d, C4J_ALGO_FFT) == C4J_OK, "11x11");
    d.stride_w = 2;
    d.out_w = 32;
    T_CHECK(c4j_conv2d_supports(&d, C4J_ALGO_FFT) == C4J_OK, "stride 2 refused (space to depth, s2d.c)");
    d.dilation_h = 2; /* strided and dilated: no space to depth */
    d.out_h = 44;
    T_CHECK(c4j_conv2d_supports(&d, C4J_ALGO_FFT) == C4J_ERR_UNSUPPORTED, "stride 2 with dilation 2 accepted");
    T_CHECK(c4j_conv2d_units(&d, C4J_ALGO_FFT) == 0, "units of an unsupported descriptor");
    T_CHECK(c4j_conv2d_workspace_bytes(&d, C4J_ALGO_FFT) == -1, "workspace of an unsupported descriptor");
    d = same_desc(1, 64, 64, 4, 48, 4);
    T_CHECK(c4j_conv2d_supports(&d, C4J_ALGO_FFT) == C4J_OK, "48x48 refused");
    d = same_desc(1, 64, 64, 4, 49, 4);
    T_CHECK(c4j_conv2d_supports(&d, C4J_ALGO_FFT) == C4J_ERR_UNSUPPORTED, "49x49 accepted");
    d = same_desc(1, 64, 64, 4, 17, 4);
    d.dilation_h = 3; /* extent 49 */
    d.out_h = 64 + 16 - 48;
    T_CHECK(c4j_conv2d_supports(&d, C4J_ALGO_FFT) == C4J_ERR_UNSUPPORTED, "extent 49 (dilated) accepted");
    /* the largest channel counts each size takes: the workspace stays within 16 MiB with any
       number of slices */
    for (int64_t c = 256; c <= 8192; c += c / 2) {
        for (int64_t k = 3; k <= 33; k += 15) {
            d = same_desc(2, 40, 40, c, k, c + 8);
            if (c4j_conv2d_supports(&d, C4J_ALGO_FFT) != C4J_OK) continue;
            T_CHECK(c4j_conv2d_workspace_bytes(&d, C4J_ALGO_FFT) <= 16 << 20, "%lld channels, %lldx%lld: %lld bytes",
                    (long long)c, (long long)k, (long long)k, (long long)c4j_conv2d_workspace_bytes(&d, C4J_ALGO_FFT));
        }
    }
    /* channel counts whose spectra exceed the 16 MiB workspace for a single tile */
    d = same_desc(1, 16, 16, 8192, 11, 8192);
    T_CHECK(c4j_conv2d_supports(&d, C4J_ALGO_FFT) == C4J_ERR_UNSUPPORTED, "huge channels accepted");
    /* the sgemm is the only multiply-add over channels: a forward without a prepared filter is refused */
    d = same_desc(1, 16, 16, 4, 5, 4);
    float in[16 * 16 * 4] = {0}, f[5 * 5 * 4 * 4] = {0}, out[16 * 16 * 4];
    char err[128];
    void *ws = c4j_alloc((size_t)c4j_conv2d_workspace_bytes(&d, C4J_ALGO_FFT), 0);
    T_CHECK(c4j_conv2d_forward(blas, &d, C4J_ALGO_FFT, in, f, NULL, NULL, out, ws,
                               c4j_conv2d_workspace_bytes(&d, C4J_ALGO_FFT), 0, 1, err, sizeof err) == C4J_ERR_ARG,
            "forward without prepared filter accepted");
    c4j_free(ws);
}

int main(void) {
    blas = t_blas();
    uint64_t rng = 20240611;
    layer_shapes(&rng);
    two_thread_shares();
    random_cases(&rng, 60);
    prepared_independent_of_input(&rng);
    limits();
    T_CHECK(c4j_allocated_bytes() == 0, "%lld bytes still allocated", (long long)c4j_allocated_bytes());
    if (t_failures) fprintf(stderr, "%d failures\n", t_failures);
    return t_failures ? 1 : 0;
}
