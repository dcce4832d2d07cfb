/*
 * The core's second line of defence: hostile descriptors, extents, unit ranges and workspaces.
 * Every call must either be refused with a status (and leave the output untouched) or be in bounds
 * and correct. Buffers are malloc'ed to their exact size, so under CONV4J_SANITIZE AddressSanitizer
 * turns any read or write past them into a failure; without it, canaries around the output catch
 * stray writes.
 */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "../src/internal.h"
#include "testlib.h"

static const c4j_algo ALGOS[] = {C4J_ALGO_GEMM_DIRECT, C4J_ALGO_GEMM_TILED, C4J_ALGO_WINOGRAD_2X2,
                                 C4J_ALGO_WINOGRAD_4X4, C4J_ALGO_FFT, C4J_ALGO_GROUPED_DIRECT, C4J_ALGO_GEMM_NCHW,
                                 C4J_ALGO_WINOGRAD_1D, C4J_ALGO_DIRECT_DENSE, C4J_ALGO_DIRECT_NARROW};
#define N_ALGOS (sizeof ALGOS / sizeof ALGOS[0])

static const int64_t HOSTILE[] = {-1, 0, 1, 2, 3, 7, INT_MAX, (int64_t)INT_MAX + 1, (int64_t)UINT_MAX,
                                  (int64_t)1 << 32, (int64_t)1 << 62, INT64_MAX, INT64_MIN,
                                  INT64_MAX / 2 + 1, -(int64_t)INT_MAX};
#define N_HOSTILE (sizeof HOSTILE / sizeof HOSTILE[0])

#define GUARD 32
static const uint32_t CANARY = 0x7fa5a5a5u; /* a NaN pattern no result can produce */

static int accepted, refused, ran;

/* The fixed buffers every mutated descriptor is checked against (exact sizes). */
typedef struct {
    float *in, *filter, *bias, *out_mem, *out;
    int64_t in_len, f_len, b_len, out_len;
} buffers;

static void fill_canary(float *p, int64_t n) {
    for (int64_t i = 0; i < n; i++) memcpy(&p[i], &CANARY, 4);
}

static int is_canary(const float *p) {
    uint32_t b;
    memcpy(&b, p, 4);
    return b == CANARY;
}

/* Is element e of the output memory covered by the view of d? */
static int in_out_view(const c4j_conv2d_desc *d, int64_t e) {
    /* brute force over the (small) view: the view is injective and tiny when accepted */
    for (int64_t n = 0; n < d->batch; n++)
        for (int64_t h = 0; h < d->out_h; h++)
            for (int64_t w = 0; w < d->out_w; w++) {
                int64_t base = n * d->out_stride[0] + h * d->out_stride[1] + w * d->out_stride[2];
                for (int64_t o = 0; o < d->out_c; o++) /* channels in planes too (out_stride[3] > 1) */
                    if (e == base + o * d->out_stride[3]) return 1;
            }
    return 0;
}

/* Runs every algorithm on d against the buffers: refused, or in bounds and equal to the reference. */
/* The sizing entry points take any consistent descriptor, before it is checked against buffers (the
   JNI layer sizes plans that way, an empty batch included): none may trap (a division by the batch
   once did). */
static void plan_consistent(const c4j_conv2d_desc *d) {
    if (c4j_conv2d_check(d, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, NULL, 0) != C4J_OK) return;
    for (size_t a = 0; a < N_ALGOS; a++) {
        const int ok = c4j_conv2d_supports(d, ALGOS[a]) == C4J_OK;
        const int64_t units = c4j_conv2d_units(d, ALGOS[a]);
        T_CHECK(ok || units == 0, "units %lld for an unsupported algorithm %d", (long long)units, ALGOS[a]);
        (void)c4j_conv2d_workspace_bytes(d, ALGOS[a]);
        (void)c4j_conv2d_prepared_floats(d, ALGOS[a]);
        (void)c4j_conv2d_estimate_seconds(d, ALGOS[a], 1);
    }
}

static void exercise(const c4j_conv2d_desc *d, buffers *b, const char *what) {
    char err[256] = "";
    plan_consistent(d);
    c4j_status st = c4j_conv2d_check(d, b->in_len, b->f_len, b->b_len, b->out_len, err, sizeof err);
    if (st != C4J_OK) {
        T_CHECK(st == C4J_ERR_ARG || st == C4J_ERR_BOUNDS, "%s: unexpected status %d", what, st);
        T_CHECK(err[0] != '\0', "%s: refusal without a message", what);
        refused++;
        return;
    }
    accepted++;
    /* accepted: the output is injective and within out_len, so the reference fits one array */
    double *want = calloc((size_t)b->out_len, sizeof(double));
    t_reference(d, b->in, b->filter, b->bias, want);
    for (size_t a = 0; a < N_ALGOS; a++) {
        if (c4j_conv2d_supports(d, ALGOS[a]) != C4J_OK) {
            T_CHECK(c4j_conv2d_units(d, ALGOS[a]) == 0, "%s: units for an unsupported algorithm", what);
            continue;
        }
        int64_t units = c4j_conv2d_units(d, ALGOS[a]);
        int64_t wsb = c4j_conv2d_workspace_bytes(d, ALGOS[a]);
        int64_t pf = c4j_conv2d_prepared_floats(d, ALGOS[a]);
        T_CHECK(units >= (d->batch > 0) && wsb >= 0 && pf >= 0, "%s: algo %d units %lld ws %lld", what, ALGOS[a],
                (long long)units, (long long)wsb);
        T_CHECK(wsb <= ((int64_t)1 << 30), "%s: algo %d workspace %lld bytes is not bounded", what, ALGOS[a],
                (long long)wsb);
        float *prep = pf > 0 ? malloc((size_t)pf * sizeof(float)) : NULL;
        if (prep) T_CHECK(c4j_conv2d_prepare(d, ALGOS[a], b->filter, prep, err, sizeof err) == C4J_OK, "%s", err);
        void *ws = wsb > 0 ? c4j_alloc((size_t)wsb, 0) : NULL;
        fill_canary(b->out_mem, b->out_len + 2 * GUARD);
        st = c4j_conv2d_forward(t_blas(), d, ALGOS[a], b->in, b->filter, prep, b->bias, b->out, ws, wsb, 0, units,
                                err, sizeof err);
        T_CHECK(st == C4J_OK, "%s: algo %d refused an accepted descriptor: %s", what, ALGOS[a], err);
        ran++;
        int bad = 0;
        for (int64_t i = -GUARD; i < b->out_len + GUARD && bad < 2; i++) {
            int inside = i >= 0 && i < b->out_len && d->batch > 0 && in_out_view(d, i);
            if (!inside) {
                if (!is_canary(&b->out[i])) {
                    bad++;
                    T_CHECK(0, "%s: algo %d wrote outside the output view at %lld", what, ALGOS[a], (long long)i);
                }
            } else if (!(fabs(b->out[i] - want[i]) <= 1e-4 * (1 + fabs(want[i])) * 64)) {
                bad++;
                T_CHECK(0, "%s: algo %d element %lld got %g want %g", what, ALGOS[a], (long long)i, b->out[i],
                        want[i]);
            }
        }
        free(prep);
        c4j_free(ws);
    }
    free(want);
}

static void hostile_calls(buffers *b, const c4j_conv2d_desc *good) {
    char err[256];
    const c4j_blas *blas = t_blas();
    int64_t units = c4j_conv2d_units(good, C4J_ALGO_GEMM_TILED);
    int64_t wsb = c4j_conv2d_workspace_bytes(good, C4J_ALGO_GEMM_TILED);
    char *ws_mem = c4j_alloc((size_t)wsb + 64, 0);
    const int64_t ranges[][2] = {{-1, units}, {0, units + 1}, {units, 0}, {INT64_MIN, 0}, {0, INT64_MAX},
                                 {INT64_MAX, INT64_MAX}, {units + 1, units + 1}};
    fill_canary(b->out_mem, b->out_len + 2 * GUARD);
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        c4j_status st = c4j_conv2d_forward(blas, good, C4J_ALGO_GEMM_TILED, b->in, b->filter, NULL, b->bias, b->out,
                                           ws_mem, wsb, ranges[i][0], ranges[i][1], err, sizeof err);
        T_CHECK(st == C4J_ERR_ARG, "unit range [%lld, %lld) accepted", (long long)ranges[i][0],
                (long long)ranges[i][1]);
    }
    /* workspace: missing, one byte short, misaligned */
    T_CHECK(c4j_conv2d_forward(blas, good, C4J_ALGO_GEMM_TILED, b->in, b->filter, NULL, b->bias, b->out, NULL, wsb, 0,
                               units, err, sizeof err) == C4J_ERR_ARG, "null workspace accepted");
    T_CHECK(c4j_conv2d_forward(blas, good, C4J_ALGO_GEMM_TILED, b->in, b->filter, NULL, b->bias, b->out, ws_mem,
                               wsb - 1, 0, units, err, sizeof err) == C4J_ERR_ARG, "short workspace accepted");
    T_CHECK(c4j_conv2d_forward(blas, good, C4J_ALGO_GEMM_TILED, b->in, b->filter, NULL, b->bias, b->out, ws_mem + 4,
                               wsb, 0, units, err, sizeof err) == C4J_ERR_ARG, "misaligned workspace accepted");
    /* no BLAS, unknown algorithms, null descriptor */
    c4j_blas none;
    memset(&none, 0, sizeof none);
    T_CHECK(c4j_conv2d_forward(&none, good, C4J_ALGO_GEMM_TILED, b->in, b->filter, NULL, b->bias, b->out, ws_mem,
                               wsb, 0, units, err, sizeof err) == C4J_ERR_BLAS, "missing sgemm accepted");
    T_CHECK(c4j_conv2d_forward(NULL, good, C4J_ALGO_GEMM_TILED, b->in, b->filter, NULL, b->bias, b->out, ws_mem,
                               wsb, 0, units, err, sizeof err) == C4J_ERR_BLAS, "null BLAS accepted");
    const int bad_algos[] = {-1, 0, 7, 1000, INT_MAX};
    for (size_t i = 0; i < sizeof bad_algos / sizeof bad_algos[0]; i++) {
        c4j_algo a = (c4j_algo)bad_algos[i];
        T_CHECK(c4j_conv2d_supports(good, a) == C4J_ERR_UNSUPPORTED, "algo %d supported", bad_algos[i]);
        T_CHECK(c4j_conv2d_units(good, a) == 0 && c4j_conv2d_workspace_bytes(good, a) == -1, "algo %d sized",
                bad_algos[i]);
        T_CHECK(c4j_conv2d_forward(blas, good, a, b->in, b->filter, NULL, b->bias, b->out, ws_mem, wsb, 0, 1, err,
                                   sizeof err) == C4J_ERR_UNSUPPORTED, "algo %d ran", bad_algos[i]);
    }
    T_CHECK(c4j_conv2d_check(NULL, 1, 1, 1, 1, err, sizeof err) == C4J_ERR_ARG, "null descriptor accepted");
    T_CHECK(c4j_conv2d_check(good, b->in_len, b->f_len, b->b_len, b->out_len, NULL, 0) == C4J_OK, "null err buffer");
    /* extents: each one element short, and negative */
    const int64_t e[4] = {b->in_len, b->f_len, b->b_len, b->out_len};
    for (int k = 0; k < 4; k++) {
        if (k == 2 && !good->has_bias) continue; /* the bias is not read then */
        int64_t x[4] = {e[0], e[1], e[2], e[3]};
        x[k] = e[k] - 1;
        T_CHECK(c4j_conv2d_check(good, x[0], x[1], x[2], x[3], err, sizeof err) == C4J_ERR_BOUNDS, "extent %d short", k);
        x[k] = -1;
        T_CHECK(c4j_conv2d_check(good, x[0], x[1], x[2], x[3], err, sizeof err) == C4J_ERR_BOUNDS, "extent %d = -1", k);
        x[k] = INT64_MIN;
        T_CHECK(c4j_conv2d_check(good, x[0], x[1], x[2], x[3], err, sizeof err) == C4J_ERR_BOUNDS, "extent %d min", k);
    }
    for (int64_t i = 0; i < b->out_len + 2 * GUARD; i++)
        T_CHECK(is_canary(&b->out_mem[i]), "a refused call wrote output element %lld", (long long)(i - GUARD));
    c4j_free(ws_mem);
}

static void allocation_checks(void) {
    int64_t before = c4j_allocated_bytes();
    T_CHECK(c4j_alloc(0, 0) == NULL, "zero-byte allocation");
    T_CHECK(c4j_alloc(SIZE_MAX, 0) == NULL, "SIZE_MAX allocation");
    T_CHECK(c4j_alloc(SIZE_MAX - 63, 1) == NULL, "SIZE_MAX - 63 allocation");
    T_CHECK(c4j_alloc((size_t)INT64_MAX, 0) == NULL, "INT64_MAX allocation");
    c4j_fail_next_allocations(2);
    T_CHECK(c4j_alloc(16, 0) == NULL && c4j_alloc(16, 0) == NULL, "injected failures did not fail");
    void *p = c4j_alloc(16, 1);
    T_CHECK(p != NULL && ((uintptr_t)p & 63u) == 0, "allocation after injection");
    T_CHECK(c4j_allocated_bytes() == before + 16, "counter %lld", (long long)c4j_allocated_bytes());
    c4j_free(p);
    c4j_free(NULL);
    c4j_fail_next_allocations(-5); /* negative turns injection off */
    p = c4j_alloc(8, 0);
    T_CHECK(p != NULL, "negative count must not fail allocations");
    c4j_free(p);
    T_CHECK(c4j_allocated_bytes() == before, "counter after frees %lld", (long long)c4j_allocated_bytes());
}

/* Allocates exact-size buffers for `good`, then exercises it, hostile calls and mutations of it. */
/* Buffers of 2 MiB or more (mapped on their own, advised for huge pages where the OS has them) and
   smaller ones, with the huge pages on and off: aligned, zeroed when asked, writable to their
   last byte, counted and released; a dirtied buffer freed and taken again comes back zeroed. */
static void large_allocation_checks(void) {
    const size_t sizes[] = {((size_t)2 << 20) - 64, (size_t)2 << 20, ((size_t)3 << 20) + 5, (size_t)9 << 20};
    for (int on = 1; on >= 0; on--) {
        c4j_set_huge_pages(on);
        for (int round = 0; round < 2; round++)
            for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
                const int64_t before = c4j_allocated_bytes();
                unsigned char *p = c4j_alloc(sizes[i], 1);
                T_CHECK(p != NULL && ((uintptr_t)p & 63u) == 0, "%zu bytes (huge pages %d): %p", sizes[i], on, (void *)p);
                if (p == NULL) continue;
                T_CHECK(c4j_allocated_bytes() == before + (int64_t)sizes[i], "%zu bytes: counter", sizes[i]);
                size_t nonzero = 0;
                for (size_t k = 0; k < sizes[i]; k++) nonzero += p[k] != 0;
                T_CHECK(nonzero == 0, "%zu bytes (huge pages %d, round %d): %zu bytes not zeroed", sizes[i], on, round,
                        nonzero);
                memset(p, 0xA5, sizes[i]); /* dirty it: the next round must not see it */
                c4j_free(p);
                T_CHECK(c4j_allocated_bytes() == before, "%zu bytes: not released", sizes[i]);
            }
    }
    c4j_set_huge_pages(1);
    c4j_fail_next_allocations(1);
    T_CHECK(c4j_alloc((size_t)4 << 20, 1) == NULL, "an injected failure on a large buffer");
    void *p = c4j_alloc((size_t)4 << 20, 0);
    T_CHECK(p != NULL, "a large buffer after the injected failure");
    c4j_free(p);
}

static void fuzz_base(const c4j_conv2d_desc *good_in, uint64_t seed, int mutations) {
    uint64_t rng = seed;
    c4j_conv2d_desc good = *good_in;
    const int64_t in_dim[4] = {good.batch, good.in_h, good.in_w, good.in_c};
    const int64_t out_dim[4] = {good.batch, good.out_h, good.out_w, good.out_c};
    buffers b;
    b.in_len = t_view_len(in_dim, good.in_stride);
    b.f_len = good.kernel_h * good.kernel_w * (good.in_c / good.groups) * good.out_c;
    b.b_len = good.out_c;
    b.out_len = t_view_len(out_dim, good.out_stride);
    b.in = malloc((size_t)b.in_len * sizeof(float));
    b.filter = malloc((size_t)b.f_len * sizeof(float));
    b.bias = malloc((size_t)b.b_len * sizeof(float));
    b.out_mem = malloc((size_t)(b.out_len + 2 * GUARD) * sizeof(float));
    b.out = b.out_mem + GUARD;
    t_fill(b.in, b.in_len, &rng);
    t_fill(b.filter, b.f_len, &rng);
    t_fill(b.bias, b.b_len, &rng);

    int acc0 = accepted;
    exercise(&good, &b, "base case");
    T_CHECK(accepted == acc0 + 1, "the base case must run");
    hostile_calls(&b, &good);

    /* every field set to every hostile value */
    const int64_t *fields = (const int64_t *)&good;
    char what[96];
    for (int f = 0; f < C4J_DESC_FIELDS; f++)
        for (size_t v = 0; v < N_HOSTILE; v++) {
            c4j_conv2d_desc d = good;
            ((int64_t *)&d)[f] = HOSTILE[v];
            snprintf(what, sizeof what, "field %d = %lld", f, (long long)HOSTILE[v]);
            exercise(&d, &b, what);
        }
    /* random multi-field mutations: small changes (plausible but wrong) and hostile values */
    for (int i = 0; i < mutations; i++) {
        c4j_conv2d_desc d = good;
        int64_t *df = (int64_t *)&d;
        int changes = (int)t_rand_range(&rng, 1, 4);
        for (int c = 0; c < changes; c++) {
            int f = (int)t_rand_range(&rng, 0, C4J_DESC_FIELDS - 1);
            df[f] = t_rand_range(&rng, 0, 3) == 0 ? HOSTILE[t_rand_range(&rng, 0, N_HOSTILE - 1)]
                                                  : fields[f] + t_rand_range(&rng, -3, 3);
        }
        snprintf(what, sizeof what, "mutation %d", i);
        exercise(&d, &b, what);
    }
    free(b.in); free(b.filter); free(b.bias); free(b.out_mem);
}

int main(void) {
    allocation_checks();
    large_allocation_checks();

    /* general: 2x5x6x4 input with a spare channel, 3x2 kernel, 2 groups, padding, strided output */
    c4j_conv2d_desc general;
    t_dense_desc(&general, 2, 5, 6, 4, 3, 2, 6, 2, 1, 2, 1, 1, 1, 1, 1, 0);
    general.in_stride[2] = 5; general.in_stride[1] = 6 * 5; general.in_stride[0] = 5 * 6 * 5 + 3;
    general.out_stride[2] = 7; general.out_stride[1] = general.out_w * 7 + 2;
    general.out_stride[0] = general.out_h * general.out_stride[1];
    general.has_bias = 1;
    general.activation = C4J_ACT_RELU6;
    fuzz_base(&general, 777, 15000);

    /* 1x1 unpadded, strided 2x2, so the direct algorithm is in play too */
    c4j_conv2d_desc pointwise;
    t_dense_desc(&pointwise, 2, 6, 7, 3, 1, 1, 5, 1, 2, 2, 1, 1, 0, 0, 0, 0);
    pointwise.out_stride[2] = 6; pointwise.out_stride[1] = pointwise.out_w * 6;
    pointwise.out_stride[0] = pointwise.out_h * pointwise.out_stride[1] + 1;
    T_CHECK(c4j_conv2d_supports(&pointwise, C4J_ALGO_GEMM_DIRECT) == C4J_OK, "pointwise base must be direct");
    fuzz_base(&pointwise, 778, 15000);

    printf("descriptors accepted %d (algorithm runs %d), refused %d\n", accepted, ran, refused);
    T_CHECK(accepted > 1000 && refused > 10000 && ran > accepted, "mutations must both pass and fail the check");
    T_CHECK(c4j_allocated_bytes() == 0, "%lld bytes still allocated", (long long)c4j_allocated_bytes());
    if (t_failures) fprintf(stderr, "%d failures\n", t_failures);
    return t_failures ? 1 : 0;
}
