package io.conv4j.spark;

import io.conv4j.Activation;
import io.conv4j.Algorithm;
import io.conv4j.Conv2dOptions;
import io.conv4j.Padding;
import io.conv4j.Shape;
import java.io.Serializable;
import java.util.Arrays;
import java.util.Objects;

/**
 * The description of one convolution layer of a {@link Conv2dTransformer} (values only, unlike conv4j's trainable
 * {@code io.conv4j.ConvLayer}): an HWIO filter {@code [KH, KW, Cin/groups, Cout]},
 * an optional bias {@code [Cout]} and conv4j's options, written as plain values (numbers and the option
 * names conv4j's parsers take) so that it travels to the executors and into a saved pipeline's JSON.
 * Immutable; every {@code with...} method returns a copy. The constructor checks the shapes and parses the
 * option names, so a bad layer is refused on the driver, before any job starts.
 */
public final class ConvLayerSpec implements Serializable {
    private static final long serialVersionUID = 1L;

    private final float[] filter;
    private final int[] filterShape;
    private final float[] bias;
    private final int[] strides;
    private final int[] dilations;
    private final String padding;
    private final int groups;
    private final String activation;
    private final boolean flipKernel;
    private final String algorithm;
    private final boolean exactOnly;
    /** The content hash, computed once: executors look the layers up per partition, filters can be large. */
    private transient int hash;

    private ConvLayerSpec(float[] filter, int[] filterShape, float[] bias, int[] strides, int[] dilations, String padding,
                      int groups, String activation, boolean flipKernel, String algorithm, boolean exactOnly) {
        this.filter = Objects.requireNonNull(filter, "filter").clone();
        this.filterShape = Objects.requireNonNull(filterShape, "filterShape").clone();
        this.bias = bias == null ? null : bias.clone();
        this.strides = pair("strides", strides);
        this.dilations = pair("dilations", dilations);
        this.padding = Objects.requireNonNull(padding, "padding");
        this.groups = groups;
        this.activation = Objects.requireNonNull(activation, "activation");
        this.flipKernel = flipKernel;
        this.algorithm = Objects.requireNonNull(algorithm, "algorithm");
        this.exactOnly = exactOnly;
        check();
    }

    /**
     * A layer with {@code filter} (row-major HWIO values) of {@code filterShape} {@code [KH, KW, Cin/groups, Cout]},
     * no bias, stride 1, dilation 1, VALID padding, one group, no activation, cross-correlation, automatic algorithm.
     */
    public static ConvLayerSpec of(float[] filter, int... filterShape) {
        return new ConvLayerSpec(filter, filterShape, null, new int[] {1, 1}, new int[] {1, 1}, "VALID", 1, "none", false,
                "auto", false);
    }

    /** This layer with a bias of {@code [Cout]} values (null: none). */
    public ConvLayerSpec withBias(float[] bias) {
        return new ConvLayerSpec(filter, filterShape, bias, strides, dilations, padding, groups, activation, flipKernel,
                algorithm, exactOnly);
    }

    /** This layer with strides {@code (sh, sw)}. */
    public ConvLayerSpec withStrides(int sh, int sw) {
        return new ConvLayerSpec(filter, filterShape, bias, new int[] {sh, sw}, dilations, padding, groups, activation,
                flipKernel, algorithm, exactOnly);
    }

    /** This layer with dilations {@code (dh, dw)}. */
    public ConvLayerSpec withDilations(int dh, int dw) {
        return new ConvLayerSpec(filter, filterShape, bias, strides, new int[] {dh, dw}, padding, groups, activation,
                flipKernel, algorithm, exactOnly);
    }

    /** This layer with padding {@code VALID}, {@code SAME} or {@code T,B,L,R} (conv4j's {@link Padding#parse}). */
    public ConvLayerSpec withPadding(String padding) {
        return new ConvLayerSpec(filter, filterShape, bias, strides, dilations, padding, groups, activation, flipKernel,
                algorithm, exactOnly);
    }

    /** This layer with {@code groups} groups ({@code Cin} for a depthwise layer). */
    public ConvLayerSpec withGroups(int groups) {
        return new ConvLayerSpec(filter, filterShape, bias, strides, dilations, padding, groups, activation, flipKernel,
                algorithm, exactOnly);
    }

    /** This layer with a fused activation: {@code none}, {@code relu} or {@code relu6}. */
    public ConvLayerSpec withActivation(String activation) {
        return new ConvLayerSpec(filter, filterShape, bias, strides, dilations, padding, groups, activation, flipKernel,
                algorithm, exactOnly);
    }

    /** This layer as a true convolution (kernel rotated by 180 degrees) when {@code flip} is true. */
    public ConvLayerSpec withFlipKernel(boolean flip) {
        return new ConvLayerSpec(filter, filterShape, bias, strides, dilations, padding, groups, activation, flip,
                algorithm, exactOnly);
    }

    /**
     * This layer with a fixed algorithm ({@code auto}, {@code gemm_tiled}, {@code winograd_4x4}, ...; see
     * {@link Algorithm#parse}) and whether {@code auto} may only choose exact (non-transform) algorithms.
     */
    public ConvLayerSpec withAlgorithm(String algorithm, boolean exactOnly) {
        return new ConvLayerSpec(filter, filterShape, bias, strides, dilations, padding, groups, activation, flipKernel,
                algorithm, exactOnly);
    }

    /** A copy of the filter values. */
    public float[] filter() {
        return filter.clone();
    }

    /** A copy of the filter shape {@code [KH, KW, Cin/groups, Cout]}. */
    public int[] filterShape() {
        return filterShape.clone();
    }

    /** A copy of the bias, or null. */
    public float[] bias() {
        return bias == null ? null : bias.clone();
    }

    /** A copy of the strides {@code (sh, sw)}. */
    public int[] strides() {
        return strides.clone();
    }

    /** A copy of the dilations {@code (dh, dw)}. */
    public int[] dilations() {
        return dilations.clone();
    }

    /** The padding as written ({@code VALID}, {@code SAME} or {@code T,B,L,R}). */
    public String padding() {
        return padding;
    }

    public int groups() {
        return groups;
    }

    /** The fused activation's name. */
    public String activation() {
        return activation;
    }

    public boolean flipKernel() {
        return flipKernel;
    }

    /** The algorithm's name ({@code auto} unless fixed). */
    public String algorithm() {
        return algorithm;
    }

    public boolean exactOnly() {
        return exactOnly;
    }

    /** Input channels the layer takes ({@code Cin/groups x groups}). */
    public long inputChannels() {
        return Math.multiplyExact((long) filterShape[2], groups);
    }

    /** Output channels the layer makes ({@code Cout}). */
    public long outputChannels() {
        return filterShape[3];
    }

    /** The filter shape as conv4j's {@link Shape}. */
    public Shape shape() {
        return Shape.of(filterShape);
    }

    /** conv4j's options for this layer. */
    public Conv2dOptions options() {
        return Conv2dOptions.builder()
                .strides(strides[0], strides[1])
                .dilations(dilations[0], dilations[1])
                .padding(Padding.parse(padding))
                .groups(groups)
                .activation(Activation.parse(activation))
                .flipKernel(flipKernel)
                .algorithm(Algorithm.parse(algorithm))
                .exactOnly(exactOnly)
                .build();
    }

    private void check() {
        if (filterShape.length != 4) {
            throw new IllegalArgumentException("filterShape must be [KH, KW, Cin/groups, Cout], got " + Arrays.toString(filterShape));
        }
        long count = 1;
        for (int d : filterShape) {
            if (d <= 0) throw new IllegalArgumentException("filterShape must be positive, got " + Arrays.toString(filterShape));
            count = Math.multiplyExact(count, (long) d);
        }
        if (filter.length != count) {
            throw new IllegalArgumentException("filter has " + filter.length + " values but filterShape "
                    + Arrays.toString(filterShape) + " needs " + count);
        }
        if (bias != null && bias.length != filterShape[3]) {
            throw new IllegalArgumentException("bias has " + bias.length + " values but the filter has " + filterShape[3]
                    + " output channels");
        }
        if (groups <= 0 || filterShape[3] % groups != 0) {
            throw new IllegalArgumentException("groups must be positive and divide Cout " + filterShape[3] + ", got " + groups);
        }
        options(); // parses the names and checks strides, dilations and padding with conv4j's own rules
    }

    private static int[] pair(String name, int[] values) {
        Objects.requireNonNull(values, name);
        if (values.length != 2) throw new IllegalArgumentException(name + " must have 2 values, got " + Arrays.toString(values));
        return values.clone();
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ConvLayerSpec)) return false;
        ConvLayerSpec l = (ConvLayerSpec) o;
        // bit patterns, not float ==: a filter with -0.0 or NaN is a different filter (and NaN equals itself)
        return hashCode() == l.hashCode() && sameBits(filter, l.filter) && Arrays.equals(filterShape, l.filterShape)
                && sameBits(bias, l.bias) && Arrays.equals(strides, l.strides)
                && Arrays.equals(dilations, l.dilations) && padding.equals(l.padding) && groups == l.groups
                && activation.equals(l.activation) && flipKernel == l.flipKernel && algorithm.equals(l.algorithm)
                && exactOnly == l.exactOnly;
    }

    @Override
    public int hashCode() {
        if (hash == 0) hash = contentHash();
        return hash;
    }

    private int contentHash() {
        return Objects.hash(Arrays.hashCode(bits(filter)), Arrays.hashCode(filterShape), Arrays.hashCode(bits(bias)),
                Arrays.hashCode(strides), Arrays.hashCode(dilations), padding, groups, activation, flipKernel, algorithm,
                exactOnly);
    }

    private static boolean sameBits(float[] a, float[] b) {
        if (a == null || b == null) return a == b;
        if (a.length != b.length) return false;
        for (int i = 0; i < a.length; i++) {
            if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) return false;
        }
        return true;
    }

    private static int[] bits(float[] values) {
        if (values == null) return null;
        int[] b = new int[values.length];
        for (int i = 0; i < values.length; i++) b[i] = Float.floatToRawIntBits(values[i]);
        return b;
    }

    @Override
    public String toString() {
        return "ConvLayerSpec" + Arrays.toString(filterShape) + (bias != null ? "+bias" : "") + " " + options();
    }
}
