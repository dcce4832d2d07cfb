/*
 * The FFT kernels of every instruction set this machine has (fft_simd.h is instantiated for 4, 8
 * and 16 lanes, and c4j_fft_run picks the widest), each run directly on the same convolutions:
 * small and large channel counts (tiles packed into one vector with AVX-512 or not), slices,
 * both product forms, few output channels (tiles packed into one inverse vector with AVX-512,
 * which must give the bits of one tile per vector), padding, dilation, groups, strided views. Every width must match the double
 * reference within FFT's layer bound, write nothing outside the output view and be independent of
 * how the units are split. Includes fft.c to reach the per-width entry points.
 */
#include <math.h>
#include <string.h>

#include "../src/fft.c"
#include "testlib.h"

typedef void (*run_fn)(const c4j_blas *, const c4j_conv2d_desc *, const fft_plan *, const float *, const float *,
                       const float *, float *, float *, int64_t, int64_t);

static double max_rel_error(const c4j_conv2d_desc *d, const float *in, const float *f, const float *bias,
                            const float *out, const double *want) {
    const int64_t cg = d->in_c / d->groups;
    double worst = 0;
    for (int64_t n = 0; n < d->batch; n++)
        for (int64_t oh = 0; oh < d->out_h; oh++)
            for (int64_t ow = 0; ow < d->out_w; ow++)
                for (int64_t o = 0; o < d->out_c; o++) {
                    double s = d->has_bias ? fabs(bias[o]) : 0;
                    for (int64_t kh = 0; kh < d->kernel_h; kh++)
                        for (int64_t kw = 0; kw < d->kernel_w; kw++) {
                            const int64_t ih = oh + kh * d->dilation_h - d->pad_top, iw = ow + kw * d->dilation_w - d->pad_left;
                            if (ih < 0 || ih >= d->in_h || iw < 0 || iw >= d->in_w) continue;
                            const int64_t fh = d->flip ? d->kernel_h - 1 - kh : kh, fw = d->flip ? d->kernel_w - 1 - kw : kw;
                            for (int64_t c = 0; c < cg; c++)
                                s += fabs((double)in[n * d->in_stride[0] + ih * d->in_stride[1] + iw * d->in_stride[2] +
                                                     ((o / (d->out_c / d->groups)) * cg + c) * d->in_stride[3]] *
                                          f[((fh * d->kernel_w + fw) * cg + c) * d->out_c + o]);
                        }
                    const int64_t e = n * d->out_stride[0] + oh * d->out_stride[1] + ow * d->out_stride[2] + o;
                    const double err = fabs((double)out[e] - want[e]) / (1.0 + s);
                    if (!(err <= worst)) worst = err;
                }
    return worst;
}

static void check(const c4j_blas *blas, c4j_conv2d_desc *d, const char *what, uint64_t *rng) {
    fft_plan p;
    if (!c4j_fft_make_plan(d, &p)) {
        T_CHECK(0, "%s: no plan", what);
        return;
    }
    const int64_t in_dim[4] = {d->batch, d->in_h, d->in_w, d->in_c}, out_dim[4] = {d->batch, d->out_h, d->out_w, d->out_c};
    const int64_t in_len = t_view_len(in_dim, d->in_stride), out_len = t_view_len(out_dim, d->out_stride);
    const int64_t f_len = d->kernel_h * d->kernel_w * (d->in_c / d->groups) * d->out_c;
    float *in = malloc(sizeof(float) * (size_t)in_len), *f = malloc(sizeof(float) * (size_t)f_len);
    enum { GUARD = 64 };
    float *bias = malloc(sizeof(float) * (size_t)d->out_c);
    float *out_mem = malloc(sizeof(float) * (size_t)(out_len + 2 * GUARD)), *out = out_mem + GUARD;
    float *first = malloc(sizeof(float) * (size_t)out_len);
    double *want = calloc((size_t)out_len, sizeof(double));
    t_fill(in, in_len, rng);
    t_fill(f, f_len, rng);
    t_fill(bias, d->out_c, rng);
    t_reference(d, in, f, bias, want);
    float *prep = c4j_alloc((size_t)c4j_fft_prepared_floats(d) * sizeof(float), 0);
    c4j_fft_prepare(d, f, prep);
    const int64_t ws_bytes = c4j_fft_workspace(d), units = c4j_fft_units(d);
    float *ws = c4j_alloc((size_t)ws_bytes, 0);
    struct {
        const char *name;
        run_fn run;
        int ok;
    } isa[3] = {{"portable (4 lanes)", run_portable, 1}};
    int n_isa = 1;
#ifdef C4J_HAVE_X86_FFT
    __builtin_cpu_init();
    isa[n_isa].name = "avx2 (8 lanes)";
    isa[n_isa].run = run_avx2;
    isa[n_isa++].ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    isa[n_isa].name = "avx512 (16 lanes)";
    isa[n_isa].run = run_avx512;
    isa[n_isa++].ok = c4j_cpu_has_avx512();
#endif
    for (int k = 0; k < n_isa; k++) {
        if (!isa[k].ok) continue;
        /* a NaN pattern everywhere: the output view must be written whole, nothing around it */
        const uint32_t canary = 0x7fa5a5a5u;
        for (int64_t i = 0; i < out_len + 2 * GUARD; i++) memcpy(&out_mem[i], &canary, 4);
        isa[k].run(blas, d, &p, in, prep, bias, out, ws, 0, units);
        int outside = 0;
        for (int64_t i = 0; i < out_len + 2 * GUARD; i++) {
            const int64_t e = i - GUARD;
            int64_t r = e, inside = e >= 0 && e < out_len;
            if (inside) {
                const int64_t nn = r / d->out_stride[0];
                r %= d->out_stride[0];
                const int64_t oh = r / d->out_stride[1];
                r %= d->out_stride[1];
                inside = nn < d->batch && oh < d->out_h && r / d->out_stride[2] < d->out_w && r % d->out_stride[2] < d->out_c;
            }
            uint32_t bits;
            memcpy(&bits, &out_mem[i], 4);
            outside += !inside && bits != canary;
        }
        T_CHECK(outside == 0, "%s, %s: %d writes outside the output view", what, isa[k].name, outside);
        const double e = max_rel_error(d, in, f, bias, out, want);
        T_CHECK(e <= 1e-6, "%s, %s: error %.3e", what, isa[k].name, e);
        memcpy(first, out, sizeof(float) * (size_t)out_len);
        memset(ws, 0xff, (size_t)ws_bytes);
        for (int64_t u = units; u-- > 0;) isa[k].run(blas, d, &p, in, prep, bias, out, ws, u, u + 1);
        T_CHECK(memcmp(first, out, sizeof(float) * (size_t)out_len) == 0, "%s, %s: unit split changed the result",
                what, isa[k].name);
        if (k == 2 && p.pack_out > 1) {
            /* the packed inverse must give every output the bits of the one-tile-per-vector one */
            fft_plan single = p;
            single.pack_out = 1;
            isa[k].run(blas, d, &single, in, prep, bias, out, ws, 0, units);
            T_CHECK(memcmp(first, out, sizeof(float) * (size_t)out_len) == 0,
                    "%s, %s: the packed inverse changed the result", what, isa[k].name);
        }
        printf("%-34s %-18s %3lld units, pack %2lld/%2lld, %lld slices: max error %.2e\n", what, isa[k].name,
               (long long)units, (long long)(k == 2 ? pack_of(p.cin_g, 16) : 1),
               (long long)(k == 2 ? p.pack_out : 1), (long long)p.slices, e);
    }
    c4j_free(prep);
    c4j_free(ws);
    free(in); free(f); free(bias); free(out_mem); free(first); free(want);
}

int main(void) {
    const c4j_blas *blas = t_blas();
    uint64_t rng = 777;
    static const struct {
        const char *name;
        int64_t n, h, w, c, k, cout, groups, dil, pad;
    } S[] = {
        {"seed 4x64x64x3 5x5->16 VALID", 4, 64, 64, 3, 5, 16, 1, 1, 0},
        {"1x64x64x3 11x11->16", 1, 64, 64, 3, 11, 16, 1, 1, 10},
        {"1x40x40x1 9x9->5", 1, 40, 40, 1, 9, 5, 1, 1, 8},
        {"2x30x50x2 7x7->3, dilation 2", 2, 30, 50, 2, 7, 3, 1, 2, 14},
        {"1x33x33x5 5x5->24", 1, 33, 33, 5, 5, 24, 1, 1, 4},
        {"1x28x28x16 7x7->80, 2 groups", 1, 28, 28, 16, 7, 80, 2, 1, 6},
        {"1x24x24x20 9x9->20", 1, 24, 24, 20, 9, 20, 1, 1, 8},
        {"1x20x20x64 5x5->64 (stacked)", 1, 20, 20, 64, 5, 64, 1, 1, 4},
        {"1x12x12x48 3x3->72 (stacked)", 1, 12, 12, 48, 3, 72, 1, 1, 2},
        {"3x9x70x3 11x11->16 (padding)", 3, 9, 70, 3, 11, 16, 1, 1, 13},
        /* few output channels: several tiles per inverse vector */
        {"2x37x45x16 5x5->1", 2, 37, 45, 16, 5, 1, 1, 1, 4},
        {"3x31x27x8 7x7->8, 2 groups", 3, 31, 27, 8, 7, 8, 2, 1, 6},
        {"1x14x22x300 3x3->7 (stacked)", 1, 14, 22, 300, 3, 7, 1, 1, 2},
        {"4x19x23x16 5x5->3, dilation 2", 4, 19, 23, 16, 5, 3, 1, 2, 8},
    };
    for (size_t i = 0; i < sizeof S / sizeof S[0]; i++) {
        c4j_conv2d_desc d;
        const int64_t pt = S[i].pad / 2, pb = S[i].pad - pt;
        t_dense_desc(&d, S[i].n, S[i].h, S[i].w, S[i].c, S[i].k, S[i].k, S[i].cout, S[i].groups, 1, 1, S[i].dil, S[i].dil,
                     pt, pb, pt, pb);
        d.has_bias = i % 2;
        d.flip = i % 3 == 1;
        d.activation = i % 4 == 3 ? C4J_ACT_RELU : C4J_ACT_NONE;
        if (i % 3 == 2) { /* spare input channels and an output row gap */
            const int64_t cpad = d.in_c + 3;
            d.in_stride[2] = cpad; d.in_stride[1] = d.in_w * cpad; d.in_stride[0] = d.in_h * d.in_w * cpad;
            d.out_stride[1] = d.out_w * d.out_stride[2] + 5; d.out_stride[0] = d.out_h * d.out_stride[1];
        } else if (i % 5 == 4) { /* NCHW input */
            d.in_stride[3] = d.in_h * d.in_w; d.in_stride[2] = 1; d.in_stride[1] = d.in_w; d.in_stride[0] = d.in_c * d.in_h * d.in_w;
        }
        check(blas, &d, S[i].name, &rng);
    }
    T_CHECK(c4j_allocated_bytes() == 0, "%lld bytes still allocated", (long long)c4j_allocated_bytes());
    if (t_failures) fprintf(stderr, "%d failures\n", t_failures);
    return t_failures ? 1 : 0;
}
