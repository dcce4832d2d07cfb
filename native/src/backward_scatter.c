/*
 * Input gradient by patch gradients and a deterministic scatter ("col2im"), route C4J_BWD_SCATTER.
 *
 * The gather route (backward.c) makes one sgemm per phase tile with N = cin_g: for the first layer
 * of a network (3 input channels) that is an sgemm with three columns, a few percent of sgemm's
 * speed. Here the contraction over output channels runs the other way round: the patch gradients
 *     P[pixel, (tap, c)] = sum over o of dY[pixel, o] * W[tap, c, o]
 * are one sgemm with N = kernel_h * kernel_w * cin_g (147 for a 7x7 RGB layer) and K = cout_g,
 * and each input pixel then adds up the patch-gradient entries of the taps that reach it.
 *
 * Units are bands of input rows of one image and group, so no two units write the same pixel: a
 * unit computes P for every output row whose window reaches its band (rows near the band's edges
 * are computed by both neighbours: the band height keeps that overhead near a quarter), adds the
 * entries that land in the band into a band buffer, in the order (output pixel, tap) whatever the
 * bands are, and writes the band to the input-gradient view. The prepared filter is W transposed
 * per group to [o][tap, c], so P's rows come out tap-major as the scatter reads them.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* patch gradients of one sgemm (floats), and the band buffer at most */
#define BXS_P_FLOATS (256 * 1024)
#define BXS_BAND_FLOATS (1024 * 1024)
#define BXS_WS_MAX_BYTES (16 << 20)
/* fewer units than this should be an even number (two threads share them evenly) */
#define BXS_MIN_UNITS 16
/* per float: adding a patch-gradient entry into the band, zeroing and writing out the band */
#define SCATTER_NS 0.25
#define RUN_NS 1.0
#define STORE_NS 0.3

typedef struct {
    int64_t cg, og, taps, n_cols;   /* n_cols = taps * cg: a patch-gradient row */
    int64_t band, bands;            /* input rows per band, bands per image */
    int64_t rows_chunk;             /* output rows per sgemm */
    int64_t p_floats, b_floats;
} bxs_plan;

/* output rows whose windows reach input rows [ih0, ih1): [*lo, *hi) */
static void out_rows(const c4j_conv2d_desc *d, int64_t ih0, int64_t ih1, int64_t *lo, int64_t *hi) {
    /* oh*s + kh*dil - pad in [ih0, ih1) for some kh in [0, K): oh in [(ih0 + pad - (K-1)*dil) / s, (ih1 - 1 + pad) / s] */
    const int64_t a = ih0 + d->pad_top - (d->kernel_h - 1) * d->dilation_h, b = ih1 - 1 + d->pad_top;
    int64_t l = a <= 0 ? 0 : c4j_ceil_div(a, d->stride_h);
    int64_t h = b < 0 ? -1 : b / d->stride_h;
    if (h > d->out_h - 1) h = d->out_h - 1;
    *lo = l;
    *hi = h + 1 > l ? h + 1 : l;
}

static int make_plan(const c4j_conv2d_desc *d, bxs_plan *p) {
    memset(p, 0, sizeof *p);
    p->cg = c4j_cin_g(d);
    p->og = c4j_cout_g(d);
    p->taps = d->kernel_h * d->kernel_w;
    if (p->taps > INT_MAX / p->cg || p->og > INT_MAX) return 0;
    p->n_cols = p->taps * p->cg;
    const int64_t row_floats = d->out_w * p->n_cols;
    if (row_floats > BXS_WS_MAX_BYTES / 8) return 0; /* one output row of patch gradients must fit */
    p->rows_chunk = C4J_MAX(1, BXS_P_FLOATS / row_floats);
    /* bands: the window reach (K - 1) * dil at most a quarter of the band, at least one stride */
    const int64_t reach = (d->kernel_h - 1) * d->dilation_h;
    int64_t band = C4J_MAX(C4J_MAX(4 * reach, d->stride_h), 8);
    const int64_t pix_floats = d->in_w * p->cg;
    band = C4J_MAX(1, C4J_MIN(band, BXS_BAND_FLOATS / C4J_MAX(1, pix_floats)));
    band = C4J_MIN(band, d->in_h);
    p->bands = c4j_ceil_div(d->in_h, band);
    /* an odd number of units below BXS_MIN_UNITS (7 bands of a 56-row layer at batch 1) leaves one
       of two threads idle for the last band: one band more, if the bands stay that high */
    const int64_t units = d->groups * d->batch * p->bands, lowest = C4J_MAX(C4J_MAX(4 * reach, d->stride_h), 1);
    if (units > 1 && units < BXS_MIN_UNITS && units % 2 == 1 && c4j_ceil_div(d->in_h, p->bands + 1) >= lowest)
        p->bands++;
    p->band = c4j_ceil_div(d->in_h, p->bands); /* even bands */
    p->bands = c4j_ceil_div(d->in_h, p->band);
    p->p_floats = (p->rows_chunk * row_floats + 15) / 16 * 16;
    p->b_floats = (p->band * pix_floats + 15) / 16 * 16;
    if ((p->p_floats + p->b_floats) * 4 > BXS_WS_MAX_BYTES) return 0;
    return 1;
}

int c4j_bxs_applicable(const c4j_conv2d_desc *d) {
    bxs_plan p;
    return make_plan(d, &p);
}

int64_t c4j_bxs_units(const c4j_conv2d_desc *d) {
    bxs_plan p;
    if (d->batch == 0 || !make_plan(d, &p)) return 0;
    return d->groups * d->batch * p.bands;
}

int64_t c4j_bxs_workspace(const c4j_conv2d_desc *d) {
    bxs_plan p;
    return make_plan(d, &p) ? (p.p_floats + p.b_floats) * 4 : -1;
}

/* Wt[g][o][tap * cg + c] = W[tap][c][g * og + o] */
void c4j_bxs_prepare(const c4j_conv2d_desc *d, const float *filter, float *prepared) {
    const int64_t cg = c4j_cin_g(d), og = c4j_cout_g(d), taps = d->kernel_h * d->kernel_w, oc = d->out_c;
    for (int64_t g = 0; g < d->groups; g++)
        for (int64_t t = 0; t < taps; t++)
            c4j_transpose(filter + t * cg * oc + g * og, oc, cg, og, prepared + g * og * taps * cg + t * cg, taps * cg);
}

void c4j_bxs_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *dy, const float *prepared, float *dx,
                 void *workspace, int64_t u0, int64_t u1) {
    bxs_plan p;
    if (!make_plan(d, &p)) return; /* unreachable: the entry point checked the route */
    float *P = (float *)workspace, *band = P + p.p_floats;
    const int64_t KH = d->kernel_h, KW = d->kernel_w, cg = p.cg, nc = p.n_cols;
    const int64_t s0 = d->out_stride[0], s1 = d->out_stride[1], s2 = d->out_stride[2];
    const int dy_rows_uniform = s1 == d->out_w * s2;
    /* along w, unrotated and undilated taps meet consecutive input pixels */
    const int runs = !d->flip && d->dilation_w == 1;
    for (int64_t u = u0; u < u1; u++) {
        const int64_t g = u / (d->batch * p.bands), n = (u / p.bands) % d->batch, b = u % p.bands;
        const int64_t ih0 = b * p.band, ih1 = C4J_MIN(d->in_h, ih0 + p.band);
        const float *wt = prepared + g * p.og * nc;
        memset(band, 0, (size_t)((ih1 - ih0) * d->in_w * cg) * sizeof(float));
        int64_t oh_lo, oh_hi;
        out_rows(d, ih0, ih1, &oh_lo, &oh_hi);
        for (int64_t r0 = oh_lo; r0 < oh_hi; r0 += p.rows_chunk) {
            const int64_t r1 = C4J_MIN(oh_hi, r0 + p.rows_chunk);
            /* patch gradients of output rows [r0, r1): P = dY rows x Wt */
            const float *a = dy + n * s0 + g * p.og;
            if (dy_rows_uniform) {
                blas->sgemm(C4J_ROW_MAJOR, C4J_NO_TRANS, C4J_NO_TRANS, (int)((r1 - r0) * d->out_w), (int)nc, (int)p.og,
                            1.0f, a + r0 * s1, (int)s2, wt, (int)nc, 0.0f, P, (int)nc);
            } else {
                for (int64_t r = r0; r < r1; r++)
                    blas->sgemm(C4J_ROW_MAJOR, C4J_NO_TRANS, C4J_NO_TRANS, (int)d->out_w, (int)nc, (int)p.og, 1.0f,
                                a + r * s1, (int)s2, wt, (int)nc, 0.0f, P + (r - r0) * d->out_w * nc, (int)nc);
            }
            /* each entry whose input pixel lies in the band, in (output pixel, tap) order */
            for (int64_t oh = r0; oh < r1; oh++)
                for (int64_t ow = 0; ow < d->out_w; ow++) {
                    const float *prow = P + ((oh - r0) * d->out_w + ow) * nc;
                    for (int64_t kh = 0; kh < KH; kh++) {
                        const int64_t ih = oh * d->stride_h + kh * d->dilation_h - d->pad_top;
                        if (ih < ih0 || ih >= ih1) continue;
                        const int64_t fkh = d->flip ? KH - 1 - kh : kh;
                        float *brow = band + (ih - ih0) * d->in_w * cg;
                        if (runs) {
                            /* taps kw in [lo, hi) land on consecutive pixels: one run of floats */
                            const int64_t iw0 = ow * d->stride_w - d->pad_left;
                            const int64_t lo = C4J_MAX(0, -iw0), hi = C4J_MIN(KW, d->in_w - iw0);
                            const float *restrict src = prow + (fkh * KW + lo) * cg;
                            float *restrict dst = brow + (iw0 + lo) * cg;
                            for (int64_t i = 0; i < (hi - lo) * cg; i++) dst[i] += src[i];
                            continue;
                        }
                        for (int64_t kw = 0; kw < KW; kw++) {
                            const int64_t iw = ow * d->stride_w + kw * d->dilation_w - d->pad_left;
                            if (iw < 0 || iw >= d->in_w) continue;
                            const int64_t fkw = d->flip ? KW - 1 - kw : kw;
                            const float *restrict src = prow + (fkh * KW + fkw) * cg;
                            float *restrict dst = brow + iw * cg;
                            for (int64_t c = 0; c < cg; c++) dst[c] += src[c];
                        }
                    }
                }
        }
        /* the band into the input-gradient view */
        const int64_t sn = d->in_stride[0], sh = d->in_stride[1], sw = d->in_stride[2], sc = d->in_stride[3];
        for (int64_t ih = ih0; ih < ih1; ih++)
            for (int64_t iw = 0; iw < d->in_w; iw++) {
                const float *src = band + ((ih - ih0) * d->in_w + iw) * cg;
                float *dst = dx + n * sn + ih * sh + iw * sw + g * cg * sc;
                if (sc == 1) memcpy(dst, src, (size_t)cg * sizeof(float));
                else for (int64_t c = 0; c < cg; c++) dst[c * sc] = src[c];
            }
    }
}

/* sgemm per chunk of output rows of every band (rows near band edges twice), the scatter-adds,
   zeroing and writing out every band, and the filter's rearrangement */
double c4j_bxs_estimate(const c4j_conv2d_desc *d) {
    bxs_plan p;
    if (!make_plan(d, &p)) return -1;
    double s = 0;
    for (int64_t b = 0; b < p.bands; b++) {
        const int64_t ih0 = b * p.band, ih1 = C4J_MIN(d->in_h, ih0 + p.band);
        int64_t lo, hi;
        out_rows(d, ih0, ih1, &lo, &hi);
        const int64_t rows = hi - lo, full = rows / p.rows_chunk, last = rows % p.rows_chunk;
        s += (double)full * c4j_cost_sgemm(p.rows_chunk * d->out_w, p.og, p.n_cols) +
             c4j_cost_sgemm(last * d->out_w, p.og, p.n_cols);
    }
    /* every patch-gradient entry lands in one band (or in the padding), in runs of cin_g floats
       (kernel_w * cin_g when the taps along w meet consecutive pixels) */
    const double adds = (double)d->out_h * (double)d->out_w * (double)p.n_cols;
    const double runs = (double)d->out_h * (double)d->out_w * (double)(!d->flip && d->dilation_w == 1 ? d->kernel_h : p.taps);
    const double store = (double)d->in_h * (double)d->in_w * (double)p.cg * 2 * STORE_NS * 1e-9;
    return (double)d->groups * (double)d->batch * (s + (adds * SCATTER_NS + runs * RUN_NS) * 1e-9 + store);
}

/* ------------------------------------------------------------------ input-gradient table row */

static int64_t bxs_prepared_floats(const c4j_conv2d_desc *d) { return c4j_filter_floats(d); }

static c4j_status bxs_prepare_row(const c4j_conv2d_desc *d, const float *filter, float *prepared, char *err,
                                  size_t err_len) {
    (void)err;
    (void)err_len;
    c4j_bxs_prepare(d, filter, prepared);
    return C4J_OK;
}

static double bxs_estimate_row(const c4j_conv2d_desc *d, int include_prepare) {
    return c4j_bw_small_groups_factor(d, C4J_BWD_SCATTER) * c4j_bxs_estimate(d) +
           (include_prepare ? (double)c4j_filter_floats(d) * C4J_BW_REARRANGE_NS * 1e-9 : 0);
}

static c4j_status bxs_run_row(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *dy, const float *prepared,
                              float *dx, void *workspace, int64_t workspace_bytes, int64_t u0, int64_t u1, char *err,
                              size_t err_len) {
    (void)workspace_bytes;
    (void)err;
    (void)err_len;
    c4j_bxs_run(blas, d, dy, prepared, dx, workspace, u0, u1);
    return C4J_OK;
}

const c4j_input_gradient_route c4j_bx_scatter = {"scatter",          C4J_BWD_SCATTER,  1,
                                                 c4j_bxs_applicable, c4j_bxs_units,    c4j_bxs_workspace,
                                                 bxs_prepared_floats, bxs_prepare_row, bxs_estimate_row,
                                                 bxs_run_row, NULL, NULL};
