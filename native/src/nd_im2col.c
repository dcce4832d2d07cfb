/*
 * The one N-d im2col of the N-d engine and its inverse, plus the row copies around a GEMM tile.
 * Type-agnostic where bytes are only moved (gather, loads), typed where they are added (scatter,
 * epilogue): the element type comes from the descriptor.
 */
#include "nd_internal.h"


int64_t c4j_nd_tile_rows(const c4j_nd_desc *d) {
    int64_t row_bytes = c4j_nd_patch_cols(d) * c4j_nd_elem_bytes(d);
    int64_t rows = (1024 * 1024) / (row_bytes > 0 ? row_bytes : 1);
    rows = C4J_MAX(64, C4J_MIN(1024, rows));
    int64_t pixels = c4j_nd_out_pixels(d);
    return C4J_MAX(1, C4J_MIN(rows, pixels));
}

double c4j_nd_cost_gemm(const c4j_nd_desc *d, int64_t m, int64_t k, int64_t n) {
    double t = c4j_cost_sgemm(m, k, n);
    return d->dtype == C4J_F64 ? 2.0 * t : t; /* dgemm moves and multiplies half as many lanes */
}

/* Output pixel index -> coordinates */
static void pixel_coords(const c4j_nd_desc *d, int64_t p, int64_t o[3]) {
    o[2] = p % d->out_size[2];
    p /= d->out_size[2];
    o[1] = p % d->out_size[1];
    o[0] = p / d->out_size[1];
}

static void next_pixel(const c4j_nd_desc *d, int64_t o[3]) {
    if (++o[2] < d->out_size[2]) return;
    o[2] = 0;
    if (++o[1] < d->out_size[1]) return;
    o[1] = 0;
    ++o[0];
}

/* Element offset of tap t's input element for output pixel o, or -1 when it reads padding. */
static int64_t tap_offset(const c4j_nd_desc *d, const int64_t o[3], int64_t t) {
    int64_t k[3];
    k[2] = t % d->kernel[2];
    t /= d->kernel[2];
    k[1] = t % d->kernel[1];
    k[0] = t / d->kernel[1];
    int64_t off = 0;
    for (int a = 0; a < 3; a++) {
        int64_t kk = d->flip ? d->kernel[a] - 1 - k[a] : k[a];
        int64_t i = o[a] * d->stride[a] - d->pad[a] + kk * d->dilation[a];
        if (i < 0 || i >= d->in_size[a]) return -1;
        off += i * d->in_stride[1 + a];
    }
    return off;
}

void c4j_nd_gather(const c4j_nd_desc *d, const void *in, int64_t n, int64_t g, int64_t p0, int64_t rows, int64_t t0,
                   int64_t t1, void *col, int64_t ld) {
    const int64_t eb = c4j_nd_elem_bytes(d), cg = c4j_nd_cin_g(d), sc = d->in_stride[4];
    const size_t run = (size_t)(cg * eb);
    const char *base = (const char *)in + (n * d->in_stride[0] + g * cg * sc) * eb;
    const int whole_rows = sc == 1 && d->in_stride[3] == cg && d->dilation[2] == 1 && !d->flip && t0 == 0 &&
                           t1 == c4j_nd_taps(d);
    int64_t o[3];
    pixel_coords(d, p0, o);
    for (int64_t r = 0; r < rows; r++, next_pixel(d, o)) {
        char *dst = (char *)col + r * ld * eb;
        int64_t first[3], inside = 1;
        for (int a = 0; a < 3; a++) {
            first[a] = o[a] * d->stride[a] - d->pad[a];
            inside &= first[a] >= 0 && first[a] + (d->kernel[a] - 1) * d->dilation[a] < d->in_size[a];
        }
        /* taps in row-major order, input coordinates stepped along; bounds only checked near the edges */
        int64_t t = 0;
        if (inside && whole_rows) { /* the last axis' taps are one contiguous run of the input: one copy each */
            for (int64_t k0 = 0; k0 < d->kernel[0]; k0++)
                for (int64_t k1 = 0; k1 < d->kernel[1]; k1++, dst += run * d->kernel[2]) {
                    int64_t i0 = first[0] + k0 * d->dilation[0], i1 = first[1] + k1 * d->dilation[1];
                    memcpy(dst, base + (i0 * d->in_stride[1] + i1 * d->in_stride[2] + first[2] * d->in_stride[3]) * eb,
                           run * (size_t)d->kernel[2]);
                }
            continue;
        }
        for (int64_t k0 = 0; k0 < d->kernel[0]; k0++) {
            int64_t i0 = first[0] + (d->flip ? d->kernel[0] - 1 - k0 : k0) * d->dilation[0];
            int ok0 = inside || (i0 >= 0 && i0 < d->in_size[0]);
            for (int64_t k1 = 0; k1 < d->kernel[1]; k1++) {
                int64_t i1 = first[1] + (d->flip ? d->kernel[1] - 1 - k1 : k1) * d->dilation[1];
                int ok1 = ok0 && (inside || (i1 >= 0 && i1 < d->in_size[1]));
                int64_t off01 = i0 * d->in_stride[1] + i1 * d->in_stride[2];
                for (int64_t k2 = 0; k2 < d->kernel[2]; k2++, t++) {
                    if (t < t0 || t >= t1) continue;
                    int64_t i2 = first[2] + (d->flip ? d->kernel[2] - 1 - k2 : k2) * d->dilation[2];
                    if (!(ok1 && (inside || (i2 >= 0 && i2 < d->in_size[2])))) {
                        memset(dst, 0, run);
                    } else {
                        const char *src = base + (off01 + i2 * d->in_stride[3]) * eb;
                        if (sc == 1) memcpy(dst, src, run);
                        else
                            for (int64_t c = 0; c < cg; c++) memcpy(dst + c * eb, src + c * sc * eb, (size_t)eb);
                    }
                    dst += run;
                }
            }
        }
    }
}

#define SCATTER_ADD(T)                                                                            \
    do {                                                                                          \
        T *dst_base = (T *)dx + n * d->in_stride[0] + g * cg * sc;                                \
        for (int64_t r = 0; r < rows; r++, next_pixel(d, o)) {                                    \
            const T *src = (const T *)col + r * ld;                                               \
            for (int64_t t = 0; t < taps; t++, src += cg) {                                       \
                int64_t off = tap_offset(d, o, t);                                                \
                if (off < 0) continue;                                                            \
                T *dst = dst_base + off;                                                          \
                for (int64_t c = 0; c < cg; c++) dst[c * sc] += src[c];                           \
            }                                                                                     \
        }                                                                                         \
    } while (0)

void c4j_nd_scatter_add(const c4j_nd_desc *d, const void *col, int64_t ld, int64_t n, int64_t g, int64_t p0,
                        int64_t rows, void *dx) {
    const int64_t cg = c4j_nd_cin_g(d), sc = d->in_stride[4], taps = c4j_nd_taps(d);
    int64_t o[3];
    pixel_coords(d, p0, o);
    if (d->dtype == C4J_F64) SCATTER_ADD(double);
    else SCATTER_ADD(float);
}

static int64_t out_offset(const c4j_nd_desc *d, int64_t n, const int64_t o[3]) {
    return n * d->out_stride[0] + o[0] * d->out_stride[1] + o[1] * d->out_stride[2] + o[2] * d->out_stride[3];
}

void c4j_nd_load_rows(const c4j_nd_desc *d, const void *view, int64_t n, int64_t p0, int64_t rows, void *tile) {
    const int64_t eb = c4j_nd_elem_bytes(d), oc = d->out_c, sc = d->out_stride[4];
    int64_t o[3];
    pixel_coords(d, p0, o);
    for (int64_t r = 0; r < rows; r++, next_pixel(d, o)) {
        const char *src = (const char *)view + out_offset(d, n, o) * eb;
        char *dst = (char *)tile + r * oc * eb;
        if (sc == 1) memcpy(dst, src, (size_t)(oc * eb));
        else
            for (int64_t c = 0; c < oc; c++) memcpy(dst + c * eb, src + c * sc * eb, (size_t)eb);
    }
}

/* NaN passes through both activations (a comparison with NaN is false, so it is kept). */
#define STORE_ROWS(T)                                                                             \
    do {                                                                                          \
        const T *b = (const T *)bias;                                                             \
        for (int64_t r = 0; r < rows; r++, next_pixel(d, o)) {                                    \
            const T *src = (const T *)tile + r * oc;                                              \
            T *dst = (T *)view + out_offset(d, n, o);                                             \
            for (int64_t c = 0; c < oc; c++) {                                                    \
                T v = src[c];                                                                     \
                if (epilogue && b != NULL) v += b[c];                                             \
                if (epilogue && act != C4J_ACT_NONE) {                                            \
                    if (v <= 0) v = 0; /* NaN fails both tests and stays; -0.0 becomes +0.0 */    \
                    if (act == C4J_ACT_RELU6 && v >= 6) v = 6;                                    \
                }                                                                                 \
                dst[c * sc] = v;                                                                  \
            }                                                                                     \
        }                                                                                         \
    } while (0)

void c4j_nd_store_rows(const c4j_nd_desc *d, const void *tile, const void *bias, int epilogue, int64_t n, int64_t p0,
                       int64_t rows, void *view) {
    const int64_t oc = d->out_c, sc = d->out_stride[4], act = d->activation;
    if (!d->has_bias) bias = NULL;
    int64_t o[3];
    pixel_coords(d, p0, o);
    if (d->dtype == C4J_F64) STORE_ROWS(double);
    else STORE_ROWS(float);
}

void c4j_nd_zero_image(const c4j_nd_desc *d, void *view, int64_t n) {
    const int64_t eb = c4j_nd_elem_bytes(d), *s = d->in_stride;
    char *base = (char *)view + n * s[0] * eb;
    for (int64_t i0 = 0; i0 < d->in_size[0]; i0++)
        for (int64_t i1 = 0; i1 < d->in_size[1]; i1++)
            for (int64_t i2 = 0; i2 < d->in_size[2]; i2++) {
                char *p = base + (i0 * s[1] + i1 * s[2] + i2 * s[3]) * eb;
                if (s[4] == 1) memset(p, 0, (size_t)(d->in_c * eb));
                else
                    for (int64_t c = 0; c < d->in_c; c++) memset(p + c * s[4] * eb, 0, (size_t)eb);
            }
}

void c4j_nd_gemm(const c4j_blas *blas, const c4j_nd_desc *d, int trans_a, int trans_b, int64_t m, int64_t n,
                 int64_t k, const void *a, int64_t lda, const void *b, int64_t ldb, double beta, void *c,
                 int64_t ldc) {
    int ta = trans_a ? C4J_TRANS : C4J_NO_TRANS, tb = trans_b ? C4J_TRANS : C4J_NO_TRANS;
    if (d->dtype == C4J_F64)
        blas->dgemm(C4J_ROW_MAJOR, ta, tb, (int)m, (int)n, (int)k, 1.0, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
    else
        blas->sgemm(C4J_ROW_MAJOR, ta, tb, (int)m, (int)n, (int)k, 1.0f, a, (int)lda, b, (int)ldb, (float)beta, c,
                    (int)ldc);
}
