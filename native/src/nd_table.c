/*
 * The N-d engine's algorithm tables (one per direction) and the entry points that use them. The
 * planner is here: AUTO takes the cheapest estimate among the rows that apply. To add an
 * algorithm, write a file that defines a c4j_nd_algorithm and add it to its direction's table.
 */
#include "nd_internal.h"

static const c4j_nd_algorithm *const FORWARD[] = {&c4j_nd_gemm_forward};
static const c4j_nd_algorithm *const BACKWARD_INPUT[] = {&c4j_nd_gemm_backward_input};
static const c4j_nd_algorithm *const BACKWARD_FILTER[] = {&c4j_nd_gemm_backward_filter};

static const struct {
    const c4j_nd_algorithm *const *rows;
    int count;
} TABLES[] = {
    {FORWARD, (int)(sizeof FORWARD / sizeof *FORWARD)},
    {BACKWARD_INPUT, (int)(sizeof BACKWARD_INPUT / sizeof *BACKWARD_INPUT)},
    {BACKWARD_FILTER, (int)(sizeof BACKWARD_FILTER / sizeof *BACKWARD_FILTER)},
};

static const c4j_nd_algorithm *row(int direction, int algo) {
    if (direction < 0 || direction > C4J_ND_BACKWARD_FILTER) return NULL;
    if (algo < 0 || algo >= TABLES[direction].count) return NULL;
    return TABLES[direction].rows[algo];
}

int64_t c4j_nd_elem_bytes(const c4j_nd_desc *d) {
    return d->dtype == C4J_F32 ? 4 : d->dtype == C4J_F64 ? 8 : 0;
}

const char *c4j_nd_algo_name(int direction, int algo) {
    const c4j_nd_algorithm *a = row(direction, algo);
    return a != NULL ? a->name : NULL;
}

int c4j_nd_applies(const c4j_nd_desc *d, int direction, int algo) {
    const c4j_nd_algorithm *a = row(direction, algo);
    return a != NULL && c4j_nd_check(d, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, NULL, 0) == C4J_OK && a->applies(d);
}

int64_t c4j_nd_units(const c4j_nd_desc *d, int direction, int algo) {
    return c4j_nd_applies(d, direction, algo) ? row(direction, algo)->units(d) : 0;
}

int64_t c4j_nd_workspace_bytes(const c4j_nd_desc *d, int direction, int algo) {
    return c4j_nd_applies(d, direction, algo) ? row(direction, algo)->workspace(d) : -1;
}

double c4j_nd_estimate_seconds(const c4j_nd_desc *d, int direction, int algo) {
    return c4j_nd_applies(d, direction, algo) ? row(direction, algo)->estimate(d) : -1;
}

int c4j_nd_choose(const c4j_nd_desc *d, int direction) {
    if (direction < 0 || direction > C4J_ND_BACKWARD_FILTER) return -1;
    int best = -1;
    double best_s = 0;
    for (int i = 0; i < TABLES[direction].count; i++) {
        double s = c4j_nd_estimate_seconds(d, direction, i);
        if (s >= 0 && (best < 0 || s < best_s)) {
            best = i;
            best_s = s;
        }
    }
    return best;
}

c4j_status c4j_nd_run(const c4j_blas *blas, const c4j_nd_desc *d, int direction, int algo, const void *a,
                      const void *b, void *bias, void *c, void *workspace, int64_t workspace_bytes, int64_t u0,
                      int64_t u1, char *err, size_t err_len) {
    if (blas == NULL || blas->sgemm == NULL) return c4j_fail(C4J_ERR_BLAS, err, err_len, "no BLAS bound");
    if (d->dtype == C4J_F64 && blas->dgemm == NULL)
        return c4j_fail(C4J_ERR_BLAS, err, err_len, "the bound BLAS has no cblas_dgemm: float64 is unavailable");
    if (algo == C4J_ND_AUTO) algo = c4j_nd_choose(d, direction);
    if (!c4j_nd_applies(d, direction, algo))
        return c4j_fail(C4J_ERR_UNSUPPORTED, err, err_len, "algorithm %d of direction %d cannot run this descriptor",
                        algo, direction);
    const c4j_nd_algorithm *alg = row(direction, algo);
    int64_t units = alg->units(d);
    if (u0 < 0 || u1 > units || u0 > u1)
        return c4j_fail(C4J_ERR_ARG, err, err_len, "unit range [%lld, %lld) outside [0, %lld)", (long long)u0,
                        (long long)u1, (long long)units);
    if (u0 == u1) return C4J_OK;
    int64_t need = alg->workspace(d);
    if (need > 0 && (workspace == NULL || workspace_bytes < need))
        return c4j_fail(C4J_ERR_BOUNDS, err, err_len, "workspace of %lld bytes, %lld needed", (long long)workspace_bytes,
                        (long long)need);
    if (a == NULL && !(direction == C4J_ND_BACKWARD_FILTER && c == NULL))
        return c4j_fail(C4J_ERR_ARG, err, err_len, "first operand is NULL");
    if (b == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "second operand is NULL");
    if (d->has_bias && bias == NULL && direction != C4J_ND_BACKWARD_INPUT)
        return c4j_fail(C4J_ERR_ARG, err, err_len, "has_bias is set but the bias is NULL");
    if (c == NULL && direction != C4J_ND_BACKWARD_FILTER)
        return c4j_fail(C4J_ERR_ARG, err, err_len, "result is NULL");
    alg->run(blas, d, a, b, bias, c, workspace, u0, u1);
    return C4J_OK;
}

#define ACT_BACKWARD(T)                                                                           \
    do {                                                                                          \
        const T *y = out, *g = grad_out;                                                          \
        T *p = grad_pre;                                                                          \
        for (int64_t i = 0; i < count; i++) {                                                     \
            /* a NaN output passes its gradient (as PyTorch; c4j_activation_backward) */         \
            int pass = activation == C4J_ACT_RELU ? !(y[i] <= 0) : !(y[i] <= 0 || y[i] >= 6);    \
            p[i] = pass ? g[i] : 0;                                                               \
        }                                                                                         \
    } while (0)

c4j_status c4j_nd_activation_backward(int64_t dtype, int64_t activation, const void *out, const void *grad_out,
                                      void *grad_pre, int64_t count, char *err, size_t err_len) {
    if (activation < C4J_ACT_NONE || activation > C4J_ACT_RELU6)
        return c4j_fail(C4J_ERR_ARG, err, err_len, "activation %lld unknown", (long long)activation);
    if (dtype != C4J_F32 && dtype != C4J_F64) return c4j_fail(C4J_ERR_ARG, err, err_len, "dtype %lld unknown", (long long)dtype);
    if (count < 0) return c4j_fail(C4J_ERR_ARG, err, err_len, "count %lld negative", (long long)count);
    int64_t eb = dtype == C4J_F64 ? 8 : 4;
    if (activation == C4J_ACT_NONE) {
        if (grad_pre != grad_out && count > 0) memmove(grad_pre, grad_out, (size_t)(count * eb));
        return C4J_OK;
    }
    if (dtype == C4J_F64) ACT_BACKWARD(double);
    else ACT_BACKWARD(float);
    return C4J_OK;
}
