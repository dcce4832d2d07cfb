/*
 * Forward convolution of every algorithm against the plain double reference, over random
 * geometries and strided input/output views; the memory around and between the output elements
 * must stay untouched, and all multiply-adds of the contraction must go through sgemm (none of
 * them for the direct kernel).
 */
#include <math.h>
#include <string.h>

#include "testlib.h"

static const c4j_blas *real_blas;
static double sgemm_macs;

static void counting_sgemm(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a,
                           int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    sgemm_macs += (double)m * n * k;
    real_blas->sgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static const c4j_algo ALGOS[] = {C4J_ALGO_GEMM_DIRECT, C4J_ALGO_GEMM_TILED, C4J_ALGO_WINOGRAD_2X2,
                                 C4J_ALGO_WINOGRAD_4X4, C4J_ALGO_FFT, C4J_ALGO_WINOGRAD_1D, C4J_ALGO_DIRECT_DENSE,
                                 C4J_ALGO_DIRECT_NARROW, C4J_ALGO_WINOGRAD_K2};
#define N_ALGOS (sizeof ALGOS / sizeof ALGOS[0])
static int runs_per_algo[C4J_ALGO_WINOGRAD_K2 + 1];

/* |got - want| <= tol_scale * (1 + sum over the window of |x*w|), computed by a second reference */
static double window_abs_sum(const c4j_conv2d_desc *d, const float *in, const float *f, int64_t n,
                             int64_t oh, int64_t ow, int64_t o) {
    const int64_t cg = d->in_c / d->groups, og = d->out_c / d->groups, g = o / og;
    double s = 0;
    for (int64_t kh = 0; kh < d->kernel_h; kh++)
        for (int64_t kw = 0; kw < d->kernel_w; kw++) {
            int64_t ih = oh * d->stride_h + kh * d->dilation_h - d->pad_top;
            int64_t iw = ow * d->stride_w + kw * d->dilation_w - d->pad_left;
            if (ih < 0 || ih >= d->in_h || iw < 0 || iw >= d->in_w) continue;
            int64_t fh = d->flip ? d->kernel_h - 1 - kh : kh, fw = d->flip ? d->kernel_w - 1 - kw : kw;
            for (int64_t c = 0; c < cg; c++)
                s += fabs((double)in[n * d->in_stride[0] + ih * d->in_stride[1] + iw * d->in_stride[2] +
                                     (g * cg + c) * d->in_stride[3]] *
                          f[((fh * d->kernel_w + fw) * cg + c) * d->out_c + o]);
        }
    return s;
}

static void check_case(c4j_conv2d_desc *dp, uint64_t *rng, int case_no);
static int wide_images;   /* second pass: rows wider than a tile, so tiles start and end mid-row */
static int wide_channels; /* third pass: over 64 output channels per group, so Winograd units split them */

static void run_case(uint64_t *rng, int case_no) {
    c4j_conv2d_desc d;
    int64_t n = t_rand_range(rng, 1, 3), h = t_rand_range(rng, 1, 14), w = t_rand_range(rng, 1, 14);
    if (wide_images) {
        n = t_rand_range(rng, 1, 2);
        h = t_rand_range(rng, 4, 12);
        w = t_rand_range(rng, 120, 300);
    }
    int64_t groups = t_rand_range(rng, 1, 3);
    int64_t cg = t_rand_range(rng, 1, 6), og = t_rand_range(rng, 1, 7);
    int64_t kh = t_rand_range(rng, 1, 5), kw = t_rand_range(rng, 1, 5);
    int64_t sh = t_rand_range(rng, 1, 3), sw = t_rand_range(rng, 1, 3);
    int64_t dh = t_rand_range(rng, 1, 2), dw = t_rand_range(rng, 1, 2);
    if (wide_channels) {
        og = t_rand_range(rng, 65, 140);
        groups = t_rand_range(rng, 1, 2);
    }
    if (case_no % 4 == 0 || (wide_channels && case_no % 4 != 1)) { kh = kw = 3; sh = sw = dh = dw = 1; } /* Winograd */
    if (case_no % 4 == 1) { kh = kw = 1; }                               /* 1x1 */
    int64_t pt = t_rand_range(rng, 0, 3), pb = t_rand_range(rng, 0, 3);
    int64_t pl = t_rand_range(rng, 0, 3), pr = t_rand_range(rng, 0, 3);
    if (case_no % 8 == 1) pt = pb = pl = pr = 0;
    if (h + pt + pb < (kh - 1) * dh + 1 || w + pl + pr < (kw - 1) * dw + 1) return;
    t_dense_desc(&d, n, h, w, groups * cg, kh, kw, groups * og, groups, sh, sw, dh, dw, pt, pb, pl, pr);
    d.flip = case_no % 3 == 2;
    d.has_bias = case_no % 5 < 2;
    d.activation = case_no % 7 == 3 ? C4J_ACT_RELU : case_no % 7 == 4 ? C4J_ACT_RELU6 : C4J_ACT_NONE;
    check_case(&d, rng, case_no);
}

/* Runs every algorithm on d (dense filter [kh,kw,cin/groups,cout]) with views chosen by case_no. */
static void check_case(c4j_conv2d_desc *dp, uint64_t *rng, int case_no) {
    c4j_conv2d_desc d = *dp;
    const int64_t h = d.in_h, w = d.in_w, kh = d.kernel_h, kw = d.kernel_w, cg = d.in_c / d.groups;
    /* strided views: spare channels/pixels in the input, permuted (NCHW) input, padded output */
    int layout = (int)(case_no % 3);
    const int64_t c = d.in_c;
    if (layout == 1) {
        int64_t cpad = c + t_rand_range(rng, 0, 3), wpad = w + t_rand_range(rng, 0, 2);
        d.in_stride[2] = cpad; d.in_stride[1] = wpad * cpad; d.in_stride[0] = h * wpad * cpad + 5;
    } else if (layout == 2) {
        d.in_stride[3] = h * w; d.in_stride[2] = 1; d.in_stride[1] = w; d.in_stride[0] = c * h * w;
    }
    if (case_no % 2) {
        int64_t extra = t_rand_range(rng, 0, 4);
        d.out_stride[2] = d.out_c + extra; d.out_stride[1] = d.out_w * d.out_stride[2] + 3;
        d.out_stride[0] = d.out_h * d.out_stride[1] + 1;
    }
    const int64_t in_dim[4] = {d.batch, d.in_h, d.in_w, d.in_c};
    const int64_t out_dim[4] = {d.batch, d.out_h, d.out_w, d.out_c};
    const int64_t in_len = t_view_len(in_dim, d.in_stride), out_len = t_view_len(out_dim, d.out_stride);
    const int64_t f_len = kh * kw * cg * d.out_c;
    float *in = malloc(sizeof(float) * in_len), *f = malloc(sizeof(float) * f_len);
    float *bias = malloc(sizeof(float) * d.out_c);
    const int64_t guard = 64;
    float *out_mem = malloc(sizeof(float) * (out_len + 2 * guard)), *out = out_mem + guard;
    double *want = calloc((size_t)out_len, sizeof(double));
    t_fill(in, in_len, rng); t_fill(f, f_len, rng); t_fill(bias, d.out_c, rng);
    t_reference(&d, in, f, bias, want);

    char err[256];
    T_CHECK(c4j_conv2d_check(&d, in_len, f_len, d.out_c, out_len, err, sizeof err) == C4J_OK, "%s", err);
    /* one element short must be refused */
    T_CHECK(c4j_conv2d_check(&d, in_len - 1, f_len, d.out_c, out_len, NULL, 0) == C4J_ERR_BOUNDS, "in");
    T_CHECK(c4j_conv2d_check(&d, in_len, f_len, d.out_c, out_len - 1, NULL, 0) == C4J_ERR_BOUNDS, "out");
    T_CHECK(c4j_conv2d_check(&d, in_len, f_len - 1, d.out_c, out_len, NULL, 0) == C4J_ERR_BOUNDS, "filter");

    c4j_blas counting = *real_blas;
    counting.sgemm = counting_sgemm;
    for (size_t a = 0; a < N_ALGOS; a++) {
        if (c4j_conv2d_supports(&d, ALGOS[a]) != C4J_OK) continue;
        runs_per_algo[ALGOS[a]]++;
        const uint32_t canary = 0x7fa5a5a5u; /* a NaN pattern no result can produce by accident */
        for (int64_t i = 0; i < out_len + 2 * guard; i++) memcpy(&out_mem[i], &canary, 4);
        int64_t pf = c4j_conv2d_prepared_floats(&d, ALGOS[a]);
        float *prep = pf > 0 ? malloc(sizeof(float) * pf) : NULL;
        if (prep) T_CHECK(c4j_conv2d_prepare(&d, ALGOS[a], f, prep, err, sizeof err) == C4J_OK, "%s", err);
        int64_t units = c4j_conv2d_units(&d, ALGOS[a]);
        int64_t ws_bytes = c4j_conv2d_workspace_bytes(&d, ALGOS[a]);
        void *ws = ws_bytes > 0 ? c4j_alloc((size_t)ws_bytes, 0) : NULL;
        sgemm_macs = 0;
        /* run the units in two ranges, as two threads would */
        c4j_status st = c4j_conv2d_forward(&counting, &d, ALGOS[a], in, f, prep, bias, out, ws, ws_bytes, 0, units / 2, err, sizeof err);
        if (st == C4J_OK)
            st = c4j_conv2d_forward(&counting, &d, ALGOS[a], in, f, prep, bias, out, ws, ws_bytes, units / 2, units, err, sizeof err);
        T_CHECK(st == C4J_OK, "algo %d: %s", ALGOS[a], err);
        if (ALGOS[a] == C4J_ALGO_DIRECT_DENSE || ALGOS[a] == C4J_ALGO_DIRECT_NARROW) {
            T_CHECK(sgemm_macs == 0, "direct kernel %d: sgemm did %.0f MACs", ALGOS[a], sgemm_macs);
        } else if (ALGOS[a] == C4J_ALGO_GEMM_DIRECT || ALGOS[a] == C4J_ALGO_GEMM_TILED) {
            double expect = (double)d.batch * d.out_h * d.out_w * d.out_c * kh * kw * cg;
            T_CHECK(sgemm_macs == expect, "algo %d: sgemm did %.0f MACs, the convolution has %.0f",
                    ALGOS[a], sgemm_macs, expect);
        } else if (ALGOS[a] == C4J_ALGO_WINOGRAD_2X2 || ALGOS[a] == C4J_ALGO_WINOGRAD_4X4 ||
                   ALGOS[a] == C4J_ALGO_WINOGRAD_K2) {
            /* one product per transform point (alpha = m + r - 1 per side) of every m x m output tile */
            const int64_t m = ALGOS[a] == C4J_ALGO_WINOGRAD_2X2 ? 2 : 4, r = ALGOS[a] == C4J_ALGO_WINOGRAD_K2 ? 2 : 3;
            /* strided: the stride-1 convolution of s2d.c, stride_h * stride_w times the channels */
            const int64_t c_eff = d.stride_h * d.stride_w * cg;
            double expect = (double)d.batch * ((d.out_h + m - 1) / m) * ((d.out_w + m - 1) / m) * (m + r - 1) *
                            (m + r - 1) * c_eff * d.out_c;
            /* strided: bands of rows may each end in a partial tile row (at most doubling the tiles) */
            const int banded = d.stride_h * d.stride_w > 1;
            T_CHECK(banded ? sgemm_macs >= expect && sgemm_macs <= 2 * expect : sgemm_macs == expect,
                    "algo %d: sgemm did %.0f MACs, expected %.0f", ALGOS[a], sgemm_macs, expect);
        } else {
            /* FFT: one product per frequency, tile and channel pair whatever the split (consecutive
               units of a block share its forward transforms, never its products) */
            T_CHECK(sgemm_macs > 0, "algo %d ran no sgemm", ALGOS[a]);
            const double split_macs = sgemm_macs;
            sgemm_macs = 0;
            st = c4j_conv2d_forward(&counting, &d, ALGOS[a], in, f, prep, bias, out, ws, ws_bytes, 0, units, err,
                                    sizeof err);
            T_CHECK(st == C4J_OK && sgemm_macs == split_macs, "algo %d: %.0f MACs in one call, %.0f split", ALGOS[a],
                    sgemm_macs, split_macs);
            for (int64_t u = 0; u < units; u++)
                st = c4j_conv2d_forward(&counting, &d, ALGOS[a], in, f, prep, bias, out, ws, ws_bytes, u, u + 1, err,
                                        sizeof err);
            T_CHECK(st == C4J_OK && sgemm_macs == 2 * split_macs, "algo %d: %.0f MACs unit by unit, %.0f split",
                    ALGOS[a], sgemm_macs - split_macs, split_macs);
        }
        const int transform = (ALGOS[a] >= C4J_ALGO_WINOGRAD_2X2 && ALGOS[a] < C4J_ALGO_DIRECT_DENSE) ||
                              ALGOS[a] == C4J_ALGO_WINOGRAD_K2;
        const double tol = transform ? 1e-4 : 1e-5;
        int bad = 0;
        for (int64_t i = 0; i < out_len + 2 * guard && bad < 3; i++) {
            uint32_t bits;
            memcpy(&bits, &out_mem[i], 4);
            int64_t e = i - guard;
            /* is e an element of the output view? */
            int inside = 0;
            int64_t nn = 0, oh = 0, ow = 0, o = 0;
            if (e >= 0 && e < out_len) {
                nn = e / d.out_stride[0];
                int64_t r = e % d.out_stride[0];
                oh = r / d.out_stride[1]; r %= d.out_stride[1];
                ow = r / d.out_stride[2]; o = r % d.out_stride[2];
                inside = nn < d.batch && oh < d.out_h && ow < d.out_w && o < d.out_c;
            }
            if (!inside) {
                if (bits != canary) { bad++; T_CHECK(0, "algo %d wrote outside the output at %lld", ALGOS[a], (long long)e); }
                continue;
            }
            double lim = tol * (1.0 + window_abs_sum(&d, in, f, nn, oh, ow, o) + fabs(bias[o]));
            if (!(fabs(out[e] - want[e]) <= lim)) {
                bad++;
                T_CHECK(0, "case %d algo %d at n=%lld oh=%lld ow=%lld o=%lld: got %g want %g", case_no,
                        ALGOS[a], (long long)nn, (long long)oh, (long long)ow, (long long)o, out[e], want[e]);
            }
        }
        free(prep);
        c4j_free(ws);
    }
    free(in); free(f); free(bias); free(out_mem); free(want);
}

int main(void) {
    real_blas = t_blas();
    uint64_t rng = 12345;
    for (int i = 0; i < 1200; i++) run_case(&rng, i);
    wide_images = 1;
    for (int i = 0; i < 200; i++) run_case(&rng, i);
    wide_images = 0;
    wide_channels = 1;
    for (int i = 0; i < 60; i++) run_case(&rng, i);
    /* strided layers that Winograd (kernel 2s+1 .. 3s: 3x3 after space to depth) and the FFT run
       through s2d.c, with padding, flip, bias, activation and the views of check_case */
    for (int i = 0; i < 150; i++) {
        c4j_conv2d_desc s;
        const int64_t sh = t_rand_range(&rng, 2, 4), sw = t_rand_range(&rng, 2, 4);
        const int64_t kh = i % 2 ? 2 * sh + t_rand_range(&rng, 1, sh) : t_rand_range(&rng, sh + 1, 3 * sh + 2);
        const int64_t kw = i % 2 ? 2 * sw + t_rand_range(&rng, 1, sw) : t_rand_range(&rng, sw + 1, 3 * sw + 2);
        const int64_t h = t_rand_range(&rng, kh, 40), w = t_rand_range(&rng, kw, 40);
        const int64_t pt = t_rand_range(&rng, 0, kh / 2), pb = t_rand_range(&rng, 0, kh / 2);
        const int64_t pl = t_rand_range(&rng, 0, kw / 2), pr = t_rand_range(&rng, 0, kw / 2);
        t_dense_desc(&s, t_rand_range(&rng, 1, 2), h, w, t_rand_range(&rng, 1, 6), kh, kw, t_rand_range(&rng, 1, 20), 1,
                     sh, sw, 1, 1, pt, pb, pl, pr);
        s.flip = i % 3 == 1;
        s.has_bias = i % 4 < 2;
        s.activation = i % 5 == 3 ? C4J_ACT_RELU6 : C4J_ACT_NONE;
        T_CHECK(c4j_conv2d_supports(&s, C4J_ALGO_FFT) == C4J_OK, "strided case %d: FFT not applicable", i);
        if (i % 2) T_CHECK(c4j_conv2d_supports(&s, C4J_ALGO_WINOGRAD_4X4) == C4J_OK, "strided case %d: no Winograd", i);
        check_case(&s, &rng, i);
    }
    /* 1xK and Kx1 kernels of 2 to 9 taps (1-D Winograd with every window size), rows longer than a
       tile, over 64 output channels in some (several panels), other-axis stride and dilation, and
       strides 2-3 along the kernel (stride phases) */
    for (int i = 0; i < 200; i++) {
        c4j_conv2d_desc s;
        const int64_t sk = i % 3 == 2 ? t_rand_range(&rng, 2, 3) : 1; /* stride along the kernel: phases */
        const int64_t k = t_rand_range(&rng, sk + 1, sk == 1 ? 9 : 3 * sk), across = i % 5 == 4 ? t_rand_range(&rng, 2, 3) : 1;
        const int64_t sa = t_rand_range(&rng, 1, 2), da = across > 1 ? t_rand_range(&rng, 1, 2) : 1;
        const int64_t len = t_rand_range(&rng, k, 40), other = t_rand_range(&rng, (across - 1) * da + 1, 9);
        const int64_t pk = t_rand_range(&rng, 0, k / 2), pk2 = t_rand_range(&rng, 0, k / 2);
        const int64_t cin = t_rand_range(&rng, 1, i % 3 ? 20 : 90), cout = t_rand_range(&rng, 1, i % 4 ? 20 : 140);
        if (i % 2)
            t_dense_desc(&s, t_rand_range(&rng, 1, 2), other, len, cin, across, k, cout, 1, sa, sk, da, 1, 0, 0, pk, pk2);
        else
            t_dense_desc(&s, t_rand_range(&rng, 1, 2), len, other, cin, k, across, cout, 1, sk, sa, 1, da, pk, pk2, 0, 0);
        s.flip = i % 3 == 1;
        s.has_bias = i % 4 < 2;
        s.activation = i % 5 == 3 ? C4J_ACT_RELU : C4J_ACT_NONE;
        /* up to 7 taps per phase every layer qualifies; 8-9 need 10 points, kept to 16+ contraction rows */
        if ((k + sk - 1) / sk <= 7)
            T_CHECK(c4j_conv2d_supports(&s, C4J_ALGO_WINOGRAD_1D) == C4J_OK, "1-D case %d: not applicable", i);
        check_case(&s, &rng, i);
    }
    /* Winograd F(4x4,2x2): 2x2 kernels at stride 1, and 3x3 and 4x4 ones at stride 2 (2x2 after
       space to depth; 4x3 and 3x4 too), with padding, flip, bias, activation, the views of
       check_case and over 64 output channels in some (several panels) */
    for (int i = 0; i < 160; i++) {
        c4j_conv2d_desc s;
        const int64_t st = i % 4 == 0 ? 1 : 2, kh = st == 1 ? 2 : t_rand_range(&rng, 3, 4),
                      kw = st == 1 ? 2 : t_rand_range(&rng, 3, 4);
        const int64_t h = t_rand_range(&rng, kh, 37), w = t_rand_range(&rng, kw, 37);
        const int64_t pt = t_rand_range(&rng, 0, kh / 2), pb = t_rand_range(&rng, 0, kh / 2);
        const int64_t pl = t_rand_range(&rng, 0, kw / 2), pr = t_rand_range(&rng, 0, kw / 2);
        const int64_t cin = t_rand_range(&rng, 1, i % 3 ? 12 : 70), cout = t_rand_range(&rng, 1, i % 5 ? 20 : 140);
        t_dense_desc(&s, t_rand_range(&rng, 1, 3), h, w, cin, kh, kw, cout, 1, st, st, 1, 1, pt, pb, pl, pr);
        s.flip = i % 3 == 1;
        s.has_bias = i % 4 < 2;
        s.activation = i % 5 == 3 ? C4J_ACT_RELU6 : i % 5 == 4 ? C4J_ACT_RELU : C4J_ACT_NONE;
        T_CHECK(c4j_conv2d_supports(&s, C4J_ALGO_WINOGRAD_K2) == C4J_OK, "2x2 case %d: F(4x4,2x2) not applicable", i);
        check_case(&s, &rng, i);
    }
    /* X2 rows of 1000 columns x 256 channels: a band holds a few output rows, so the image is cut into
       bands (and the last one is shorter) */
    {
        c4j_conv2d_desc s;
        t_dense_desc(&s, 1, 23, 2000, 64, 5, 5, 3, 1, 2, 2, 1, 1, 2, 2, 2, 2);
        s.has_bias = 1;
        check_case(&s, &rng, 0);
    }
    /* regression: a tile of 768 rows ends one pixel into an output row whose first three windows
       are clipped by the left padding (the gather once wrote past the tile there) */
    c4j_conv2d_desc r;
    t_dense_desc(&r, 1, 2, 767, 3, 7, 7, 8, 1, 1, 1, 1, 1, 3, 3, 3, 3);
    check_case(&r, &rng, 0);
    for (size_t a = 0; a < N_ALGOS; a++)
        printf("algo %d: %d cases\n", ALGOS[a], runs_per_algo[ALGOS[a]]);
    T_CHECK(runs_per_algo[C4J_ALGO_GEMM_TILED] > 300, "too few tiled cases");
    T_CHECK(runs_per_algo[C4J_ALGO_GEMM_DIRECT] > 30, "too few direct cases");
    T_CHECK(runs_per_algo[C4J_ALGO_WINOGRAD_2X2] > 250, "too few Winograd 2x2 cases");
    T_CHECK(runs_per_algo[C4J_ALGO_WINOGRAD_4X4] > 250, "too few Winograd 4x4 cases");
    T_CHECK(runs_per_algo[C4J_ALGO_WINOGRAD_1D] > 400, "too few 1-D Winograd cases");
    T_CHECK(runs_per_algo[C4J_ALGO_WINOGRAD_K2] > 150, "too few Winograd F(4x4,2x2) cases");
    T_CHECK(runs_per_algo[C4J_ALGO_DIRECT_DENSE] > 450, "too few direct kernel cases");
    T_CHECK(runs_per_algo[C4J_ALGO_DIRECT_NARROW] > 100, "too few narrow kernel cases");
    T_CHECK(c4j_allocated_bytes() == 0, "%lld bytes still allocated", (long long)c4j_allocated_bytes());
    if (t_failures) fprintf(stderr, "%d failures\n", t_failures);
    return t_failures ? 1 : 0;
}
