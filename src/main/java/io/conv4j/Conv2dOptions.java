package io.conv4j;

import java.util.Objects;

/**
 * The parameters of a 2-D convolution besides its tensors, immutable. The defaults are the seed
 * contract: stride 1, dilation 1, {@link Padding#VALID}, one group, cross-correlation (no kernel
 * flip, as TensorFlow's {@code conv2d}), no activation, algorithm chosen automatically.
 *
 * <pre>{@code
 * Conv2dOptions o = Conv2dOptions.builder().strides(2, 2).padding(Padding.SAME)
 *         .activation(Activation.RELU).build();
 * }</pre>
 */
public final class Conv2dOptions {
    private static final Conv2dOptions DEFAULTS = builder().build();

    private final long strideH, strideW, dilationH, dilationW, groups;
    private final Padding padding;
    private final boolean flipKernel;
    private final Activation activation;
    private final Algorithm algorithm;
    private final boolean exactOnly;
    private final DataLayout layout;

    private Conv2dOptions(Builder b) {
        strideH = b.strideH;
        strideW = b.strideW;
        dilationH = b.dilationH;
        dilationW = b.dilationW;
        groups = b.groups;
        padding = b.padding;
        flipKernel = b.flipKernel;
        activation = b.activation;
        algorithm = b.algorithm;
        exactOnly = b.exactOnly;
        layout = b.layout;
    }

    /** Stride 1, VALID, no flip, no activation, automatic algorithm. */
    public static Conv2dOptions defaults() {
        return DEFAULTS;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.strideH = strideH;
        b.strideW = strideW;
        b.dilationH = dilationH;
        b.dilationW = dilationW;
        b.groups = groups;
        b.padding = padding;
        b.flipKernel = flipKernel;
        b.activation = activation;
        b.algorithm = algorithm;
        b.exactOnly = exactOnly;
        b.layout = layout;
        return b;
    }

    public long strideH() { return strideH; }
    public long strideW() { return strideW; }
    public long dilationH() { return dilationH; }
    public long dilationW() { return dilationW; }
    public long groups() { return groups; }
    public Padding padding() { return padding; }

    /** True for a true convolution (kernel rotated 180 degrees); false for TensorFlow's correlation. */
    public boolean flipKernel() { return flipKernel; }

    public Activation activation() { return activation; }
    public Algorithm algorithm() { return algorithm; }

    /**
     * True when {@link Algorithm#AUTO} may only pick exact algorithms (plain sums of products), never
     * the transform-based Winograd or FFT ones, for the forward pass and for both gradients
     * ({@link Conv2dBackward}, {@link Conv2dLayer}). An explicitly requested algorithm is always honoured.
     */
    public boolean exactOnly() { return exactOnly; }

    /** The memory order of input, filter and output ({@link DataLayout#NHWC} by default). */
    public DataLayout layout() { return layout; }

    @Override
    public String toString() {
        return "Conv2dOptions[strides=" + strideH + "," + strideW + ", dilations=" + dilationH + "," + dilationW
                + ", padding=" + padding + ", groups=" + groups + (flipKernel ? ", flip" : "")
                + ", activation=" + activation + ", algorithm=" + algorithm + (exactOnly ? ", exactOnly" : "")
                + (layout == DataLayout.NHWC ? "" : ", layout=" + layout) + "]";
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Conv2dOptions)) return false;
        Conv2dOptions x = (Conv2dOptions) o;
        return strideH == x.strideH && strideW == x.strideW && dilationH == x.dilationH && dilationW == x.dilationW
                && groups == x.groups && padding.equals(x.padding) && flipKernel == x.flipKernel
                && activation == x.activation && algorithm == x.algorithm && exactOnly == x.exactOnly && layout == x.layout;
    }

    @Override
    public int hashCode() {
        return Objects.hash(strideH, strideW, dilationH, dilationW, groups, padding, flipKernel, activation, algorithm, exactOnly, layout);
    }

    /** Builds {@link Conv2dOptions}; each setter checks its own argument. */
    public static final class Builder {
        private long strideH = 1, strideW = 1, dilationH = 1, dilationW = 1, groups = 1;
        private Padding padding = Padding.VALID;
        private boolean flipKernel;
        private Activation activation = Activation.NONE;
        private Algorithm algorithm = Algorithm.AUTO;
        private boolean exactOnly;
        private DataLayout layout = DataLayout.NHWC;

        private Builder() {}

        /** Strides along height and width, each >= 1. */
        public Builder strides(long h, long w) {
            positive("stride", h, w);
            strideH = h;
            strideW = w;
            return this;
        }

        /** Dilations (spacing of kernel taps) along height and width, each >= 1. */
        public Builder dilations(long h, long w) {
            positive("dilation", h, w);
            dilationH = h;
            dilationW = w;
            return this;
        }

        public Builder padding(Padding p) {
            padding = Objects.requireNonNull(p, "padding");
            return this;
        }

        /** Number of groups (>= 1); it must divide the input and output channels. groups = Cin is depthwise. */
        public Builder groups(long g) {
            if (g < 1) throw new IllegalArgumentException("groups must be >= 1, got " + g);
            groups = g;
            return this;
        }

        /** true: true convolution (kernel rotated 180 degrees, scipy.signal.convolve); false (default): correlation. */
        public Builder flipKernel(boolean flip) {
            flipKernel = flip;
            return this;
        }

        public Builder activation(Activation a) {
            activation = Objects.requireNonNull(a, "activation");
            return this;
        }

        public Builder algorithm(Algorithm a) {
            algorithm = Objects.requireNonNull(a, "algorithm");
            return this;
        }

        /** Restricts {@link Algorithm#AUTO} to exact algorithms. */
        public Builder exactOnly(boolean exact) {
            exactOnly = exact;
            return this;
        }

        /**
         * The memory order of input, filter and output: {@link DataLayout#NHWC} (default, filter
         * HWIO) or {@link DataLayout#NCHW} (filter OIHW), for the tensor, array and prepared-filter calls.
         */
        public Builder layout(DataLayout l) {
            layout = Objects.requireNonNull(l, "layout");
            return this;
        }

        public Conv2dOptions build() {
            return new Conv2dOptions(this);
        }

        private static void positive(String what, long h, long w) {
            if (h < 1 || w < 1) throw new IllegalArgumentException(what + "s must be >= 1, got " + h + "," + w);
        }
    }
}
