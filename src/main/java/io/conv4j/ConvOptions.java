package io.conv4j;

import java.util.Arrays;
import java.util.Objects;

/**
 * The parameters of a convolution of any rank (1, 2 or 3 spatial axes) besides its tensors,
 * immutable. Per-axis lists (strides, dilations, explicit padding) are given in axis order and
 * must have one entry per spatial axis of the tensors they are used with (two for explicit
 * padding: begin and end); left unset they mean 1 on every axis. The defaults are those of
 * {@link Conv2dOptions}: stride 1, dilation 1, {@link Padding#VALID}, one group, cross-correlation,
 * no activation, algorithm chosen automatically.
 *
 * <pre>{@code
 * ConvOptions o = ConvOptions.builder().strides(1, 2, 2).padding(Padding.SAME).build(); // 3-D
 * }</pre>
 */
public final class ConvOptions {
    private static final ConvOptions DEFAULTS = builder().build();

    private final long[] strides, dilations; // null: 1 on every axis
    private final long groups;
    private final Padding padding;
    private final boolean flipKernel;
    private final Activation activation;
    private final Algorithm algorithm;
    private final boolean exactOnly;

    private ConvOptions(Builder b) {
        strides = b.strides;
        dilations = b.dilations;
        groups = b.groups;
        padding = b.padding;
        flipKernel = b.flipKernel;
        activation = b.activation;
        algorithm = b.algorithm;
        exactOnly = b.exactOnly;
    }

    /** Stride 1, dilation 1, VALID, no flip, no activation, automatic algorithm, in any rank. */
    public static ConvOptions defaults() {
        return DEFAULTS;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The same options for any rank, from 2-D ones. */
    public static ConvOptions of(Conv2dOptions o) {
        Objects.requireNonNull(o, "options");
        if (o.layout() != DataLayout.NHWC) {
            throw new IllegalArgumentException("layout " + o.layout() + ": the N-d calls take channels-last tensors only");
        }
        return builder().strides(o.strideH(), o.strideW()).dilations(o.dilationH(), o.dilationW()).padding(o.padding())
                .groups(o.groups()).flipKernel(o.flipKernel()).activation(o.activation()).algorithm(o.algorithm())
                .exactOnly(o.exactOnly()).build();
    }

    /** Strides per spatial axis, or null when unset (1 on every axis). */
    public long[] strides() { return strides == null ? null : strides.clone(); }
    /** Dilations per spatial axis, or null when unset (1 on every axis). */
    public long[] dilations() { return dilations == null ? null : dilations.clone(); }
    public long groups() { return groups; }
    public Padding padding() { return padding; }
    /** True convolution (kernel reversed in every spatial axis) rather than correlation. */
    public boolean flipKernel() { return flipKernel; }
    public Activation activation() { return activation; }
    /**
     * The algorithm: for float32 convolutions of rank 1 and 2 any of {@link Algorithm}; for rank 3
     * and for float64 the GEMM route only ({@link Algorithm#AUTO} or {@link Algorithm#GEMM_TILED}).
     */
    public Algorithm algorithm() { return algorithm; }
    public boolean exactOnly() { return exactOnly; }

    /** These options without the fused activation (what the gradient calls take). */
    ConvOptions withoutActivation() {
        if (activation == Activation.NONE) return this;
        Builder b = new Builder();
        b.strides = strides;
        b.dilations = dilations;
        b.groups = groups;
        b.padding = padding;
        b.flipKernel = flipKernel;
        b.algorithm = algorithm;
        b.exactOnly = exactOnly;
        return b.build();
    }

    /** Stride of spatial axis {@code axis} of a rank-{@code rank} convolution (lengths checked by the descriptor). */
    long stride(int axis) { return strides == null ? 1 : strides[axis]; }
    long dilation(int axis) { return dilations == null ? 1 : dilations[axis]; }
    int stridesLength() { return strides == null ? -1 : strides.length; }
    int dilationsLength() { return dilations == null ? -1 : dilations.length; }

    /**
     * These options as 2-D ones for a rank-1 or rank-2 convolution run by the 2-D engine: rank 1
     * becomes a convolution over a height-1 image (stride, dilation and padding on the width).
     */
    Conv2dOptions toConv2d(int rank) {
        Conv2dOptions.Builder b = Conv2dOptions.builder().groups(groups).flipKernel(flipKernel).activation(activation)
                .algorithm(algorithm).exactOnly(exactOnly);
        if (rank == 1) {
            b.strides(1, stride(0)).dilations(1, dilation(0));
            b.padding(padding.kind() == Padding.Kind.EXPLICIT ? Padding.explicit(0, 0, padding.begin(0), padding.end(0)) : padding);
        } else {
            b.strides(stride(0), stride(1)).dilations(dilation(0), dilation(1)).padding(padding);
        }
        return b.build();
    }

    @Override
    public String toString() {
        return "ConvOptions[strides=" + (strides == null ? "1" : Arrays.toString(strides)) + ", dilations="
                + (dilations == null ? "1" : Arrays.toString(dilations)) + ", padding=" + padding + ", groups=" + groups
                + ", flip=" + flipKernel + ", activation=" + activation + ", algorithm=" + algorithm
                + (exactOnly ? ", exactOnly" : "") + "]";
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ConvOptions)) return false;
        ConvOptions p = (ConvOptions) o;
        return Arrays.equals(strides, p.strides) && Arrays.equals(dilations, p.dilations) && groups == p.groups
                && padding.equals(p.padding) && flipKernel == p.flipKernel && activation == p.activation
                && algorithm == p.algorithm && exactOnly == p.exactOnly;
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(strides), Arrays.hashCode(dilations), groups, padding, flipKernel, activation,
                algorithm, exactOnly);
    }

    /** Builds {@link ConvOptions}; each setter checks its own argument. */
    public static final class Builder {
        private long[] strides, dilations;
        private long groups = 1;
        private Padding padding = Padding.VALID;
        private boolean flipKernel;
        private Activation activation = Activation.NONE;
        private Algorithm algorithm = Algorithm.AUTO;
        private boolean exactOnly;

        private Builder() {}

        /** Strides, one per spatial axis in axis order, each >= 1. */
        public Builder strides(long... s) {
            strides = positive("strides", s);
            return this;
        }

        /** Dilations (spacing of kernel taps), one per spatial axis in axis order, each >= 1. */
        public Builder dilations(long... d) {
            dilations = positive("dilations", d);
            return this;
        }

        /**
         * VALID, SAME (TensorFlow's rule per axis; ONNX's SAME_UPPER), SAME_LOWER (the odd pixel at
         * the beginning) or {@link Padding#explicit(long...)} with begin, end per axis.
         */
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

        /** true: true convolution (kernel reversed in every spatial axis); false (default): correlation. */
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

        public ConvOptions build() {
            return new ConvOptions(this);
        }

        private static long[] positive(String what, long[] v) {
            Objects.requireNonNull(v, what);
            if (v.length < 1 || v.length > 3) {
                throw new IllegalArgumentException(what + " need one value per spatial axis (1 to 3), got " + Arrays.toString(v));
            }
            for (long x : v) {
                if (x < 1) throw new IllegalArgumentException(what + " must be >= 1, got " + Arrays.toString(v));
            }
            return v.clone();
        }
    }
}
