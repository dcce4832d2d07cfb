package io.conv4j;

import java.util.Locale;

/**
 * How the contraction is organised. Every algorithm but {@link #GROUPED_DIRECT},
 * {@link #DIRECT_DENSE} and {@link #DIRECT_NARROW} runs its multiply-adds as OpenBLAS sgemm calls; they differ in how the
 * patch view is fed to sgemm.
 * {@link #AUTO} lets the cost model choose (see {@link Conv2d#explain}).
 */
public enum Algorithm {
    /** The cost model picks, among the algorithms allowed by {@link Conv2dOptions#exactOnly()}. */
    AUTO(0, true, 0),
    /** 1x1, unpadded: sgemm directly on the input rows (lda = stride x pixel stride), no copy. */
    GEMM_DIRECT(1, true, 0),
    /** Any convolution: patch tiles sized for L2, one sgemm per tile, bounded workspace. */
    GEMM_TILED(2, true, 0),
    /**
     * Winograd F(2x2,3x3) for 3x3 stride 1: 16 sgemm per block of tiles and output-channel slice,
     * 2.25x fewer multiplies. Also strided layers whose kernel becomes 3x3 by space to depth (one
     * group, no dilation: kernels of 2s+1 to 3s taps at stride s, e.g. 5x5/2, 11x11/4).
     */
    WINOGRAD_2X2(3, false, TransformGuard.RANGE_OTHER),
    /** Winograd F(4x4,3x3): as {@link #WINOGRAD_2X2} with 36 sgemm per block and 4x fewer multiplies. */
    WINOGRAD_4X4(4, false, TransformGuard.RANGE_WINOGRAD_4X4),
    /**
     * Tiled FFT (overlap-save) for large kernels, frequency-domain products as sgemm. Strided
     * layers (one group, no dilation, a kernel larger than the stride) run as stride-1 ones by
     * space to depth.
     */
    FFT(5, false, TransformGuard.RANGE_OTHER),
    /**
     * Grouped layers with at most 16 input channels per group, depthwise ones above all: a direct
     * kernel whose vectors hold neighbouring output channels of one pixel (channels-last data makes
     * them contiguous), each tap one vector multiply-add, no sgemm: a depthwise layer is no
     * contraction over channels, and sgemm calls with one column per group run far below its speed.
     */
    GROUPED_DIRECT(6, true, 0),
    /**
     * Channels-first data (layout NCHW) as it is, Caffe's design: per block of output rows, a patch
     * matrix with one row per filter tap and channel (runs of input rows) and one sgemm that writes
     * the output's channel planes in place; a 1x1 stride-1 layer reads the input planes directly.
     * Needs input rows and output planes contiguous, i.e. NCHW tensors (see {@link DataLayout#NCHW}).
     */
    GEMM_NCHW(7, true, 0),
    /**
     * One-dimensional Winograd F(m, r) along one kernel axis at stride 1 and dilation 1 (2 to 9 taps
     * there), first of all for the asymmetric 1xK and Kx1 kernels: alpha = m + r - 1 sgemm per
     * block of tiles instead of m x r multiplies per channel pair (a 1x7 kernel over 4 outputs: 10
     * instead of 28). The other axis's taps join the channels in the contraction; a stride along
     * the kernel is taken apart into its phases (a 3x3 stride-2 kernel: two 2-tap phases).
     */
    WINOGRAD_1D(8, false, TransformGuard.RANGE_WINOGRAD_4X4),
    /**
     * A direct convolution kernel of our own for one group (no sgemm): the channels-last input is
     * read in place (no im2col, no packing), the filter is packed in blocks of 32 output channels,
     * and a tile of output pixels times a block's channels is summed in vector registers, one
     * input value broadcast per pixel and step. Any kernel, stride, dilation and padding; needs the
     * input's channels contiguous in memory.
     */
    DIRECT_DENSE(9, true, 0),
    /**
     * A direct convolution kernel for narrow layers (one group, at most 16 output channels; no
     * sgemm): tiny maps and first layers of 1-3 input channels, where im2col + sgemm and the deep
     * layers' direct kernel spend more on copies, packing and set-up than on their few products.
     * Vectors are sized to the output channels; a tile is consecutive pixels of one output row
     * over a zero-padded copy of the unit's input rows. Any kernel, stride, dilation, padding and
     * input view; it also writes channel planes, so a channels-first call (layout NCHW) can run it
     * in place.
     */
    DIRECT_NARROW(10, true, 0),
    /**
     * Winograd F(4x4,2x2) for 2x2 kernels at stride 1: 25 sgemm per block of tiles and
     * output-channel slice, 2.56x fewer multiplies. First of all the strided 3x3 (and 4x4) layers
     * at stride 2, which space to depth turns into 2x2 kernels over four times the channels (one
     * group, dilation 1): 6.25 instead of 9 multiplies per output and input channel.
     */
    WINOGRAD_K2(11, false, TransformGuard.RANGE_WINOGRAD_4X4);

    final int nativeId;
    private final boolean exact;
    /**
     * For a transform algorithm, log2 of how far above a tensor's typical magnitude its largest may lie
     * before {@link TransformGuard} sends the call to an exact route (the transform's rounding error
     * grows with such outliers); 0 for exact algorithms, which need no range.
     */
    final int transformRangeLog2;

    Algorithm(int nativeId, boolean exact, int transformRangeLog2) {
        this.nativeId = nativeId;
        this.exact = exact;
        this.transformRangeLog2 = transformRangeLog2;
    }

    /**
     * True for algorithms that compute each output as the plain sum of products (rounding as
     * in an ordinary float32 dot product); false for transform-based ones (Winograd, FFT), whose
     * float32 rounding error is larger and grows with the tile size.
     */
    public boolean isExact() {
        return exact;
    }

    /**
     * Whether the algorithm writes an output whose channels lie in planes (a channels-first output
     * view) in place; the others need each pixel's channels contiguous.
     */
    boolean writesChannelPlanes() {
        return this == GEMM_NCHW || this == DIRECT_NARROW;
    }

    /** Parses a name such as {@code winograd_4x4} or {@code auto} (any case, '-' or '_'). */
    public static Algorithm parse(String text) {
        try {
            return valueOf(text.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException | NullPointerException e) {
            StringBuilder names = new StringBuilder();
            for (Algorithm a : values()) names.append(names.length() == 0 ? "" : ", ").append(a.name().toLowerCase(Locale.ROOT));
            throw new IllegalArgumentException("unknown algorithm \"" + text + "\"; one of " + names);
        }
    }

    /**
     * The constant of a row of the native forward table (its c4j_algo id). The constants mirror
     * that table (native/src/conv2d_table.c): name, id and exactness, checked by a test.
     */
    static Algorithm ofNativeId(int id) {
        for (Algorithm a : values()) {
            if (a != AUTO && a.nativeId == id) return a;
        }
        throw new IllegalStateException("the native planner chose algorithm id " + id + ", which Algorithm does not name");
    }
}
