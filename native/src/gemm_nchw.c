/*
 * Channels-first convolution (PyTorch's and ONNX's NCHW) as Caffe runs it, with no transpose of the
 * input or the output: per image and block of output rows, the patch matrix is gathered with one row
 * per filter tap and channel and one column per output pixel ([KH*KW*Cin/groups, pixels]); each of
 * its rows is a run of one input row, so the gather is a copy of contiguous runs. sgemm then writes
 * out[Cout, pixels] = W^T x patches straight into the channels-first output, whose pixels are
 * contiguous per channel. W is the HWIO filter read transposed (a [K, Cout] matrix), so a prepared
 * filter and the channels-last routes share one filter form. A 1x1 kernel at stride 1 without
 * padding needs no gather at all: each image's channel planes ARE the patch matrix.
 *
 * Units are (image, block of output rows, group, block of output channels), fixed by the
 * descriptor, so every thread count gives the same bits.
 */
#include <limits.h>
#include <string.h>

#include "internal.h"

/* Patch tile target (floats, 1 MiB) and bounds: sgemm blocks K itself; the columns are whole
   output rows, enough of them for an efficient sgemm (>= NCHW_MIN_COLS pixels when the image has them). */
#define NCHW_TILE_FLOATS (256 * 1024)
#define NCHW_MIN_COLS 256
#define NCHW_MAX_TILE_FLOATS (4 * 1024 * 1024)
/* Units enough for a few threads to balance; output channels are split below NCHW_SPLIT_UNITS. */
#define NCHW_TARGET_UNITS 8
#define NCHW_SPLIT_UNITS 4
#define NCHW_MIN_CHUNK 64

typedef struct {
    int64_t k;                  /* patch rows per group: KH*KW*Cin/groups */
    int64_t cout_g;
    int64_t tile_oh, oh_tiles;  /* output rows per tile, tiles per image */
    int64_t n_chunk, n_chunks;  /* output channels per unit, chunks per group */
    int in_place;               /* 1x1, stride 1, unpadded, dense planes: the image is the patch matrix */
} tiling;

/* The image's channel planes are [Cin, H*W] matrices that the 1x1 layer reads as they are. */
static int reads_in_place(const c4j_conv2d_desc *d) {
    return d->kernel_h == 1 && d->kernel_w == 1 && d->stride_h == 1 && d->stride_w == 1 && d->pad_top == 0 &&
           d->pad_left == 0 && d->out_h == d->in_h && d->out_w == d->in_w && (d->in_stride[1] == d->in_w || d->in_h == 1) &&
           d->in_stride[3] >= d->in_h * d->in_w;
}

static tiling make_tiling(const c4j_conv2d_desc *d) {
    tiling t;
    t.k = d->kernel_h * d->kernel_w * c4j_cin_g(d);
    t.cout_g = c4j_cout_g(d);
    t.in_place = reads_in_place(d);
    const int64_t ow = d->out_w;
    int64_t cols = C4J_MAX(NCHW_MIN_COLS, NCHW_TILE_FLOATS / t.k);
    cols = C4J_MIN(cols, C4J_MAX(ow, NCHW_MAX_TILE_FLOATS / t.k));
    t.tile_oh = C4J_MAX(1, C4J_MIN(d->out_h, cols / ow));
    t.oh_tiles = c4j_ceil_div(d->out_h, t.tile_oh);
    /* more, smaller row blocks while there are too few units and blocks stay >= NCHW_MIN_COLS pixels */
    const int64_t per_image = d->groups;
    if (d->batch * per_image * t.oh_tiles < NCHW_TARGET_UNITS) {
        const int64_t want = c4j_ceil_div(NCHW_TARGET_UNITS, d->batch * per_image);
        const int64_t most = C4J_MAX(1, d->out_h * ow / NCHW_MIN_COLS);
        const int64_t tiles = C4J_MIN(C4J_MIN(want, most), d->out_h);
        if (tiles > t.oh_tiles) {
            t.tile_oh = c4j_ceil_div(d->out_h, tiles);
            t.oh_tiles = c4j_ceil_div(d->out_h, t.tile_oh);
        }
    }
    t.n_chunk = t.cout_g;
    const int64_t units = d->batch * per_image * t.oh_tiles;
    if (units < NCHW_SPLIT_UNITS && t.cout_g >= 2 * NCHW_MIN_CHUNK) {
        const int64_t want = c4j_ceil_div(NCHW_SPLIT_UNITS, units);
        t.n_chunk = C4J_MAX(NCHW_MIN_CHUNK, c4j_ceil_div(c4j_ceil_div(t.cout_g, want), 16) * 16);
    }
    t.n_chunks = c4j_ceil_div(t.cout_g, t.n_chunk);
    return t;
}

int c4j_gemm_nchw_applicable(const c4j_conv2d_desc *d) {
    /* input rows and output planes contiguous (a stride of an axis of size 1 never moves an address,
       so any value passes there); the output's channel step must hold a row block's pixels (BLAS's
       ldc) unless there is one channel */
    const int64_t plane = d->out_h * d->out_w;
    return (d->in_stride[2] == 1 || d->in_w == 1) && (d->out_stride[2] == 1 || d->out_w == 1) &&
           (d->out_stride[1] == d->out_w || d->out_h == 1) && (d->out_stride[3] >= plane || d->out_c == 1) &&
           plane <= INT_MAX;
}

int64_t c4j_gemm_nchw_units(const c4j_conv2d_desc *d) {
    const tiling t = make_tiling(d);
    return d->batch * t.oh_tiles * d->groups * t.n_chunks;
}

int64_t c4j_gemm_nchw_workspace(const c4j_conv2d_desc *d) {
    const tiling t = make_tiling(d);
    return t.in_place ? 0 : t.k * t.tile_oh * d->out_w * (int64_t)sizeof(float);
}

/*
 * Patch rows of group g for output rows [oh0, oh0 + rows) of one image: row (fh, fw, c) in the HWIO
 * filter's order holds, for each output pixel, the input the tap (fh, fw) reads (the tap rotated by
 * 180 degrees for the flipped kernel), zero where it falls in the padding.
 */
static void gather(const c4j_conv2d_desc *d, const float *img, int64_t g, int64_t oh0, int64_t rows,
                   float *restrict tile) {
    const int64_t cg = c4j_cin_g(d), OW = d->out_w, cols = rows * OW;
    const int64_t sw = d->stride_w, sh = d->in_stride[1], sc = d->in_stride[3];
    for (int64_t fh = 0; fh < d->kernel_h; fh++) {
        const int64_t th = d->flip ? d->kernel_h - 1 - fh : fh;
        for (int64_t fw = 0; fw < d->kernel_w; fw++) {
            const int64_t tw = d->flip ? d->kernel_w - 1 - fw : fw;
            const int64_t iw0 = tw * d->dilation_w - d->pad_left; /* input column of output column 0 */
            /* output columns [lo, hi) read inside the image */
            const int64_t lo = iw0 >= 0 ? 0 : C4J_MIN(OW, c4j_ceil_div(-iw0, sw));
            const int64_t hi = d->in_w - 1 - iw0 < 0 ? lo : C4J_MAX(lo, C4J_MIN(OW, (d->in_w - 1 - iw0) / sw + 1));
            for (int64_t c = 0; c < cg; c++) {
                float *restrict dst = tile + ((fh * d->kernel_w + fw) * cg + c) * cols;
                const float *plane = img + (g * cg + c) * sc;
                for (int64_t r = 0; r < rows; r++, dst += OW) {
                    const int64_t ih = (oh0 + r) * d->stride_h - d->pad_top + th * d->dilation_h;
                    if (ih < 0 || ih >= d->in_h) {
                        memset(dst, 0, (size_t)OW * sizeof(float));
                        continue;
                    }
                    const float *src = plane + ih * sh + iw0 + lo * sw; /* output column lo's input */
                    if (lo > 0) memset(dst, 0, (size_t)lo * sizeof(float));
                    if (sw == 1) {
                        memcpy(dst + lo, src, (size_t)(hi - lo) * sizeof(float));
                    } else {
                        for (int64_t j = lo; j < hi; j++) dst[j] = src[(j - lo) * sw];
                    }
                    if (hi < OW) memset(dst + hi, 0, (size_t)(OW - hi) * sizeof(float));
                }
            }
        }
    }
}

/* Bias and activation over `rows` channel rows of `cols` pixels, `ld` apart, starting at channel c0. */
static void epilogue(const c4j_conv2d_desc *d, const float *bias, float *out, int64_t ld, int64_t c0, int64_t rows,
                     int64_t cols) {
    const int act = (int)d->activation;
    if (!d->has_bias && act == C4J_ACT_NONE) return;
    for (int64_t r = 0; r < rows; r++) {
        float *o = out + r * ld;
        if (d->has_bias) {
            const float b = bias[c0 + r];
            for (int64_t j = 0; j < cols; j++) o[j] += b;
        }
        if (act == C4J_ACT_RELU) {
            for (int64_t j = 0; j < cols; j++) o[j] = c4j_relu(o[j]);
        } else if (act == C4J_ACT_RELU6) {
            for (int64_t j = 0; j < cols; j++) o[j] = c4j_relu6(o[j]);
        }
    }
}

void c4j_gemm_nchw_run(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *filter,
                       const float *bias, float *out, float *tile, int64_t u0, int64_t u1) {
    const tiling t = make_tiling(d);
    const int64_t ldc = d->out_c == 1 ? d->out_h * d->out_w : d->out_stride[3];
    int64_t built = -1; /* (image, row block, group) whose patches are in `tile` */
    for (int64_t u = u0; u < u1; u++) {
        const int64_t gathered = u / t.n_chunks, nc = u % t.n_chunks;
        const int64_t g = gathered % d->groups, nt = gathered / d->groups;
        const int64_t n = nt / t.oh_tiles, oh0 = (nt % t.oh_tiles) * t.tile_oh;
        const int64_t rows = C4J_MIN(t.tile_oh, d->out_h - oh0), cols = rows * d->out_w;
        const int64_t c0 = g * t.cout_g + nc * t.n_chunk, m = C4J_MIN(t.n_chunk, t.cout_g - nc * t.n_chunk);
        const float *img = in + n * d->in_stride[0];
        const float *b;
        int64_t ldb;
        if (t.in_place) {
            b = img + g * c4j_cin_g(d) * d->in_stride[3] + oh0 * d->in_w;
            ldb = d->in_stride[3];
        } else {
            if (built != gathered) {
                gather(d, img, g, oh0, rows, tile);
                built = gathered;
            }
            b = tile;
            ldb = cols;
        }
        float *c = out + n * d->out_stride[0] + c0 * ldc + oh0 * d->out_w;
        blas->sgemm(C4J_ROW_MAJOR, C4J_TRANS, C4J_NO_TRANS, (int)m, (int)cols, (int)t.k, 1.0f, filter + c0,
                    (int)d->out_c, b, (int)ldb, 0.0f, c, (int)ldc);
        epilogue(d, bias, c, ldc, c0, m, cols);
    }
}

/* Estimated single-thread seconds: one sgemm per unit plus the gather (per float and per run copied). */
double c4j_gemm_nchw_estimate(const c4j_conv2d_desc *d) {
    const tiling t = make_tiling(d);
    if (d->batch == 0) return 0;
    double s = 0;
    const int64_t full = d->out_h / t.tile_oh, last = d->out_h - full * t.tile_oh;
    for (int64_t nc = 0; nc < t.n_chunks; nc++) {
        const int64_t m = C4J_MIN(t.n_chunk, t.cout_g - nc * t.n_chunk);
        s += (double)full * c4j_cost_sgemm(m, t.k, t.tile_oh * d->out_w);
        if (last > 0) s += c4j_cost_sgemm(m, t.k, last * d->out_w);
    }
    const double pixels = (double)d->out_h * (double)d->out_w;
    const double gather = t.in_place ? 0 : pixels * (double)t.k * 0.02e-9 + (double)d->out_h * (double)t.k * 0.5e-9;
    return (double)d->batch * (double)d->groups * (s + gather);
}

static double estimate_row(const c4j_conv2d_desc *d, int include_prepare) {
    (void)include_prepare; /* reads the HWIO filter as it is */
    return c4j_gemm_nchw_estimate(d);
}

static void run_row(const c4j_blas *blas, const c4j_conv2d_desc *d, const float *in, const float *filter,
                    const float *prepared, const float *bias, float *out, void *workspace, int64_t u0, int64_t u1) {
    (void)prepared;
    c4j_gemm_nchw_run(blas, d, in, filter, bias, out, workspace, u0, u1);
}

const c4j_conv2d_algorithm c4j_conv2d_gemm_nchw = {
    "gemm_nchw", C4J_ALGO_GEMM_NCHW, 1, c4j_gemm_nchw_applicable, c4j_gemm_nchw_units, c4j_gemm_nchw_workspace,
    NULL, NULL, estimate_row, run_row,
};
