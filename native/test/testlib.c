#include "testlib.h"

#include <math.h>
#include <string.h>
#include <time.h>

int t_failures;

const c4j_blas *t_blas(void) {
    static c4j_blas blas;
    static int opened;
    if (!opened) {
        char err[512];
        const char *path = getenv("CONV4J_OPENBLAS_LIB");
        if (path == NULL || path[0] == '\0') path = CONV4J_OPENBLAS_LIB;
        if (c4j_blas_open(path, "auto", &blas, err, sizeof err) != C4J_OK) {
            fprintf(stderr, "cannot bind BLAS: %s\n", err);
            exit(2);
        }
        if (blas.set_num_threads) blas.set_num_threads(1);
        opened = 1;
    }
    return &blas;
}

uint64_t t_rand(uint64_t *s) {
    /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int64_t t_rand_range(uint64_t *s, int64_t lo, int64_t hi) {
    return lo + (int64_t)(t_rand(s) % (uint64_t)(hi - lo + 1));
}

void t_fill(float *p, int64_t n, uint64_t *s) {
    for (int64_t i = 0; i < n; i++) p[i] = (float)((double)(t_rand(s) >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

void t_dense_desc(c4j_conv2d_desc *d, int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw,
                  int64_t cout, int64_t groups, int64_t sh, int64_t sw, int64_t dh, int64_t dw,
                  int64_t pt, int64_t pb, int64_t pl, int64_t pr) {
    memset(d, 0, sizeof *d);
    d->batch = n; d->in_h = h; d->in_w = w; d->in_c = c;
    d->in_stride[3] = 1; d->in_stride[2] = c; d->in_stride[1] = w * c; d->in_stride[0] = h * w * c;
    d->kernel_h = kh; d->kernel_w = kw; d->out_c = cout; d->groups = groups;
    d->stride_h = sh; d->stride_w = sw; d->dilation_h = dh; d->dilation_w = dw;
    d->pad_top = pt; d->pad_left = pl;
    d->out_h = (h + pt + pb - ((kh - 1) * dh + 1)) / sh + 1;
    d->out_w = (w + pl + pr - ((kw - 1) * dw + 1)) / sw + 1;
    d->out_stride[3] = 1; d->out_stride[2] = cout; d->out_stride[1] = d->out_w * cout;
    d->out_stride[0] = d->out_h * d->out_w * cout;
}

void t_reference(const c4j_conv2d_desc *d, const float *in, const float *filter, const float *bias,
                 double *out) {
    const int64_t cg = d->in_c / d->groups, og = d->out_c / d->groups;
    for (int64_t n = 0; n < d->batch; n++)
        for (int64_t oh = 0; oh < d->out_h; oh++)
            for (int64_t ow = 0; ow < d->out_w; ow++)
                for (int64_t o = 0; o < d->out_c; o++) {
                    const int64_t g = o / og;
                    double acc = d->has_bias ? bias[o] : 0.0;
                    for (int64_t kh = 0; kh < d->kernel_h; kh++)
                        for (int64_t kw = 0; kw < d->kernel_w; kw++) {
                            int64_t ih = oh * d->stride_h + kh * d->dilation_h - d->pad_top;
                            int64_t iw = ow * d->stride_w + kw * d->dilation_w - d->pad_left;
                            if (ih < 0 || ih >= d->in_h || iw < 0 || iw >= d->in_w) continue;
                            int64_t fh = d->flip ? d->kernel_h - 1 - kh : kh;
                            int64_t fw = d->flip ? d->kernel_w - 1 - kw : kw;
                            for (int64_t c = 0; c < cg; c++) {
                                double x = in[n * d->in_stride[0] + ih * d->in_stride[1] +
                                              iw * d->in_stride[2] + (g * cg + c) * d->in_stride[3]];
                                double wv = filter[((fh * d->kernel_w + fw) * cg + c) * d->out_c + o];
                                acc += x * wv;
                            }
                        }
                    if (d->activation == C4J_ACT_RELU) acc = acc > 0 ? acc : 0;
                    if (d->activation == C4J_ACT_RELU6) acc = acc > 0 ? (acc < 6 ? acc : 6) : 0;
                    out[n * d->out_stride[0] + oh * d->out_stride[1] + ow * d->out_stride[2] + o * d->out_stride[3]] = acc;
                }
}

int64_t t_view_len(const int64_t dim[4], const int64_t stride[4]) {
    int64_t reach = 0;
    for (int i = 0; i < 4; i++) reach += (dim[i] - 1) * stride[i];
    return reach + 1;
}

double t_check_output_view(const c4j_conv2d_desc *d, const float *mem, int64_t guard, int64_t out_len,
                           const double *want, const char *what, int isa) {
    const float *out = mem + guard;
    for (int64_t i = 0; i < guard; i++) {
        T_CHECK(isnan(mem[i]) && isnan(out[out_len + i]), "%s isa %d: wrote outside the output", what, isa);
    }
    double worst = 0;
    int64_t written = 0;
    for (int64_t n = 0; n < d->batch; n++)
        for (int64_t oh = 0; oh < d->out_h; oh++)
            for (int64_t ow = 0; ow < d->out_w; ow++)
                for (int64_t o = 0; o < d->out_c; o++) {
                    const int64_t e =
                        n * d->out_stride[0] + oh * d->out_stride[1] + ow * d->out_stride[2] + o * d->out_stride[3];
                    const double err = fabs((double)out[e] - want[e]) / (1.0 + fabs(want[e]));
                    if (!(err <= worst)) worst = err;
                    written++;
                }
    int64_t touched = 0;
    for (int64_t i = 0; i < out_len; i++) touched += !isnan(out[i]);
    T_CHECK(touched == written, "%s isa %d: %lld elements written, %lld in the view", what, isa, (long long)touched,
            (long long)written);
    return worst;
}

double t_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int t_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double t_median_seconds(void (*body)(void *ctx), void *ctx, double min_time) {
    for (int i = 0; i < 3; i++) body(ctx);
    double t0 = t_now();
    body(ctx);
    double est = t_now() - t0;
    long reps = (long)ceil(min_time / (est > 1e-9 ? est : 1e-9));
    if (reps < 5) reps = 5;
    if (reps > 100000) reps = 100000;
    double *t = malloc(sizeof(double) * (size_t)reps);
    if (t == NULL) return -1;
    for (long r = 0; r < reps; r++) {
        double a = t_now();
        body(ctx);
        t[r] = t_now() - a;
    }
    qsort(t, (size_t)reps, sizeof(double), t_cmp_double);
    double med = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
    free(t);
    return med;
}

const t_layer T_PEER_LAYERS[] = {
    {"seed_5x5_n4", 4, 64, 64, 3, 5, 5, 16, 1, 0},
    {"r50_conv1_7x7s2", 1, 224, 224, 3, 7, 7, 64, 2, 1},
    {"r50_3x3_56x64", 1, 56, 56, 64, 3, 3, 64, 1, 1},
    {"r50_1x1_56x64to256", 1, 56, 56, 64, 1, 1, 256, 1, 1},
    {"r50_3x3_28x128", 1, 28, 28, 128, 3, 3, 128, 1, 1},
    {"r50_3x3_14x256", 1, 14, 14, 256, 3, 3, 256, 1, 1},
    {"r50_3x3_7x512", 1, 7, 7, 512, 3, 3, 512, 1, 1},
    {"r50_1x1s2_56x256to512", 1, 56, 56, 256, 1, 1, 512, 2, 1},
    {"vgg16_3x3_224x64", 1, 224, 224, 64, 3, 3, 64, 1, 1},
    {"b32_3x3_28x128", 32, 28, 28, 128, 3, 3, 128, 1, 1},
    {"tiny_3x3_8x8x4", 1, 8, 8, 4, 3, 3, 8, 1, 1},
    {"bigk_11x11_64x16", 1, 64, 64, 16, 11, 11, 16, 1, 1},
};
const int T_N_PEER_LAYERS = (int)(sizeof T_PEER_LAYERS / sizeof T_PEER_LAYERS[0]);

static int64_t non_negative(int64_t v) { return v > 0 ? v : 0; }

void t_layer_desc(const t_layer *s, c4j_conv2d_desc *d) {
    const int64_t oh = s->same ? (s->h + s->stride - 1) / s->stride : (s->h - s->kh) / s->stride + 1;
    const int64_t ow = s->same ? (s->w + s->stride - 1) / s->stride : (s->w - s->kw) / s->stride + 1;
    /* SAME: total padding max((out - 1) * stride + k - in, 0), the odd pixel at the bottom/right */
    const int64_t ph = s->same ? non_negative((oh - 1) * s->stride + s->kh - s->h) : 0;
    const int64_t pw = s->same ? non_negative((ow - 1) * s->stride + s->kw - s->w) : 0;
    t_dense_desc(d, s->n, s->h, s->w, s->c, s->kh, s->kw, s->cout, 1, s->stride, s->stride, 1, 1, ph / 2, ph - ph / 2,
                 pw / 2, pw - pw / 2);
}

int t_wanted(const char *list, const char *name) {
    if (list == NULL) return 1;
    const size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return 1;
    return 0;
}

void t_forward_range(const t_forward *c, void *ws, int64_t ws_bytes, int64_t u0, int64_t u1) {
    char err[256];
    if (c4j_conv2d_forward(c->blas, c->d, c->algo, c->in, c->filter, c->prepared, NULL, c->out, ws, ws_bytes, u0, u1,
                           err, sizeof err) != C4J_OK) {
        fprintf(stderr, "forward failed: %s\n", err);
        exit(1);
    }
}

void t_forward_all(void *c) {
    const t_forward *f = c;
    t_forward_range(f, f->ws, f->ws_bytes, 0, f->units);
}

void t_sgemm_run(void *p) {
    const t_sgemm *g = p;
    t_blas()->sgemm(C4J_ROW_MAJOR, C4J_NO_TRANS, C4J_NO_TRANS, g->m, g->n, g->k, 1.0f, g->a, g->k, g->b, g->n, 0.0f, g->c,
                    g->n);
}
