/*
 * The core's own check of a descriptor: cheap (a few dozen integer operations), overflow-safe, and
 * run on every JNI entry before any memory is touched. The Java layer has already validated the
 * same things with clearer messages; this is the line that keeps a bug there from becoming an
 * out-of-bounds access here.
 */
#include <limits.h>

#include "internal.h"

_Static_assert(sizeof(c4j_conv2d_desc) == C4J_DESC_FIELDS * sizeof(int64_t),
               "c4j_conv2d_desc must be exactly C4J_DESC_FIELDS int64 fields");

/* Largest element index a 4-D strided view can reach, or -1 when it overflows; 0-size views: 0 */
static int64_t view_reach(const int64_t dim[4], const int64_t stride[4]) {
    int64_t reach = 0;
    for (int i = 0; i < 4; i++) {
        if (dim[i] == 0) return 0;
        int64_t step;
        if (__builtin_mul_overflow(dim[i] - 1, stride[i], &step)) return -1;
        if (__builtin_add_overflow(reach, step, &reach)) return -1;
    }
    return reach;
}

/*
 * 1 when no two elements of a 4-D strided view share an address (0-size views: 1). Axes of size 1
 * never move; the others, taken by increasing stride, must each step past everything the smaller
 * ones span. Order-independent, so transposed layouts pass. Assumes view_reach did not overflow.
 */
static int view_injective(const int64_t dim[4], const int64_t stride[4]) {
    int64_t d[4], s[4];
    int n = 0;
    for (int i = 0; i < 4; i++) {
        if (dim[i] == 0) return 1;
        if (dim[i] == 1) continue;
        /* insertion sort by stride: at most four entries */
        int j = n++;
        while (j > 0 && s[j - 1] > stride[i]) {
            d[j] = d[j - 1];
            s[j] = s[j - 1];
            j--;
        }
        d[j] = dim[i];
        s[j] = stride[i];
    }
    int64_t span = 0; /* largest offset reachable with the axes taken so far */
    for (int i = 0; i < n; i++) {
        if (s[i] <= span) return 0;
        span += (d[i] - 1) * s[i];
    }
    return 1;
}

/* Largest element count of an output the core accepts: leaves headroom for every unit and row
   computation (rows + 255, groups * tiles * chunks) in int64. */
#define C4J_MAX_ELEMENTS ((int64_t)1 << 62)

#define REQUIRE(cond, ...)                                                   \
    do {                                                                     \
        if (!(cond)) return c4j_fail(C4J_ERR_ARG, err, err_len, __VA_ARGS__); \
    } while (0)

static c4j_status check_fields(const c4j_conv2d_desc *d, char *err, size_t err_len) {
    REQUIRE(d->batch >= 0 && d->batch <= INT_MAX, "batch out of range: %lld", (long long)d->batch);
    REQUIRE(d->in_h >= 1 && d->in_h <= INT_MAX, "in_h out of range: %lld", (long long)d->in_h);
    REQUIRE(d->in_w >= 1 && d->in_w <= INT_MAX, "in_w out of range: %lld", (long long)d->in_w);
    REQUIRE(d->in_c >= 1 && d->in_c <= INT_MAX, "in_c out of range: %lld", (long long)d->in_c);
    REQUIRE(d->kernel_h >= 1 && d->kernel_h <= INT_MAX, "kernel_h out of range: %lld",
            (long long)d->kernel_h);
    REQUIRE(d->kernel_w >= 1 && d->kernel_w <= INT_MAX, "kernel_w out of range: %lld",
            (long long)d->kernel_w);
    REQUIRE(d->out_c >= 1 && d->out_c <= INT_MAX, "out_c out of range: %lld", (long long)d->out_c);
    REQUIRE(d->groups >= 1 && d->in_c % d->groups == 0 && d->out_c % d->groups == 0,
            "groups %lld must divide in_c %lld and out_c %lld", (long long)d->groups,
            (long long)d->in_c, (long long)d->out_c);
    REQUIRE(d->stride_h >= 1 && d->stride_h <= INT_MAX && d->stride_w >= 1 && d->stride_w <= INT_MAX,
            "strides must be positive: %lld,%lld", (long long)d->stride_h, (long long)d->stride_w);
    REQUIRE(d->dilation_h >= 1 && d->dilation_h <= INT_MAX && d->dilation_w >= 1 &&
                d->dilation_w <= INT_MAX,
            "dilations must be positive: %lld,%lld", (long long)d->dilation_h,
            (long long)d->dilation_w);
    REQUIRE(d->pad_top >= 0 && d->pad_top <= INT_MAX && d->pad_left >= 0 && d->pad_left <= INT_MAX,
            "padding must be non-negative: top %lld, left %lld", (long long)d->pad_top,
            (long long)d->pad_left);
    REQUIRE(d->out_h >= 1 && d->out_h <= INT_MAX && d->out_w >= 1 && d->out_w <= INT_MAX,
            "output size out of range: %lldx%lld", (long long)d->out_h, (long long)d->out_w);
    for (int i = 0; i < 4; i++) {
        REQUIRE(d->in_stride[i] >= 0 && d->in_stride[i] <= INT_MAX, "input stride %d out of range: %lld",
                i, (long long)d->in_stride[i]);
        REQUIRE(d->out_stride[i] >= 0 && d->out_stride[i] <= INT_MAX,
                "output stride %d out of range: %lld", i, (long long)d->out_stride[i]);
    }
    REQUIRE(d->out_stride[3] == 1 || d->out_stride[2] == 1 || d->out_w == 1,
            "output channel stride must be 1 (channels last), or the pixel stride 1 (channels first), got %lld and %lld",
            (long long)d->out_stride[3], (long long)d->out_stride[2]);
    REQUIRE(d->out_stride[3] != 1 || d->out_stride[2] >= d->out_c, "output pixel stride %lld is smaller than out_c %lld",
            (long long)d->out_stride[2], (long long)d->out_c);
    REQUIRE(d->flip == 0 || d->flip == 1, "flip must be 0 or 1");
    REQUIRE(d->activation >= C4J_ACT_NONE && d->activation <= C4J_ACT_RELU6, "unknown activation %lld",
            (long long)d->activation);
    REQUIRE(d->has_bias == 0 || d->has_bias == 1, "has_bias must be 0 or 1");

    /* the patch row length K and every window coordinate must fit the int arithmetic of BLAS */
    int64_t k;
    REQUIRE(!__builtin_mul_overflow(d->kernel_h * d->kernel_w, c4j_cin_g(d), &k) && k <= INT_MAX,
            "kernel_h*kernel_w*in_c/groups too large");
    int64_t reach_h = (d->out_h - 1) * d->stride_h + (d->kernel_h - 1) * d->dilation_h;
    int64_t reach_w = (d->out_w - 1) * d->stride_w + (d->kernel_w - 1) * d->dilation_w;
    REQUIRE(reach_h <= INT_MAX && reach_w <= INT_MAX, "window positions overflow");

    /* Every output element is written exactly once, by one unit: a view that maps two elements to
       one address would make units race. The element count bounds all loop arithmetic. */
    int64_t elems;
    REQUIRE(!__builtin_mul_overflow(d->batch, d->out_h, &elems) &&
                !__builtin_mul_overflow(elems, d->out_w, &elems) &&
                !__builtin_mul_overflow(elems, d->out_c, &elems) && elems <= C4J_MAX_ELEMENTS,
            "output has too many elements");
    const int64_t out_dim[4] = {d->batch, d->out_h, d->out_w, d->out_c};
    REQUIRE(view_reach(out_dim, d->out_stride) >= 0, "output view overflows");
    REQUIRE(view_injective(out_dim, d->out_stride), "output view overlaps itself (strides %lld,%lld,%lld,%lld)",
            (long long)d->out_stride[0], (long long)d->out_stride[1], (long long)d->out_stride[2],
            (long long)d->out_stride[3]);
    return C4J_OK;
}

c4j_status c4j_conv2d_check(const c4j_conv2d_desc *d, int64_t in_avail, int64_t filter_avail,
                            int64_t bias_avail, int64_t out_avail, char *err, size_t err_len) {
    if (d == NULL) return c4j_fail(C4J_ERR_ARG, err, err_len, "null descriptor");
    c4j_status st = check_fields(d, err, err_len);
    if (st != C4J_OK) return st;

    const int64_t in_dim[4] = {d->batch, d->in_h, d->in_w, d->in_c};
    const int64_t out_dim[4] = {d->batch, d->out_h, d->out_w, d->out_c};
    int64_t in_reach = view_reach(in_dim, d->in_stride);
    int64_t out_reach = view_reach(out_dim, d->out_stride);
    if (d->batch == 0) in_reach = out_reach = -2; /* empty batch: nothing is read or written */
    if (in_reach == -1 || (in_reach >= 0 && in_reach >= in_avail))
        return c4j_fail(C4J_ERR_BOUNDS, err, err_len,
                        "input view reaches element %lld but only %lld are available",
                        (long long)in_reach, (long long)in_avail);
    if (out_reach == -1 || (out_reach >= 0 && out_reach >= out_avail))
        return c4j_fail(C4J_ERR_BOUNDS, err, err_len,
                        "output view reaches element %lld but only %lld are available",
                        (long long)out_reach, (long long)out_avail);
    int64_t filter_len = d->kernel_h * d->kernel_w * c4j_cin_g(d);
    if (__builtin_mul_overflow(filter_len, d->out_c, &filter_len) || filter_len > filter_avail)
        return c4j_fail(C4J_ERR_BOUNDS, err, err_len, "filter needs %lld floats but %lld are available",
                        (long long)filter_len, (long long)filter_avail);
    if (d->has_bias && d->out_c > bias_avail)
        return c4j_fail(C4J_ERR_BOUNDS, err, err_len, "bias needs %lld floats but %lld are available",
                        (long long)d->out_c, (long long)bias_avail);
    return C4J_OK;
}
