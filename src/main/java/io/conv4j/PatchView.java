package io.conv4j;

import java.util.Arrays;
import java.util.Objects;

/**
 * The strided 6-D patch view of a convolution's input: shape {@code [N, OH, OW, KH, KW, Cin/groups]}
 * with element strides into the input's memory, as numpy's {@code as_strided} would build it, but
 * with padding as virtual zeros instead of a padded copy. The native core reads its input through
 * this view, derived from the descriptor's fields (the input strides times stride and dilation,
 * the begin padding); {@link Conv2d#patchView} builds it in Java for inspection only, and no call
 * builds it on its way to native code.
 *
 * <p>Element {@code (n, i, j, a, b, c)} of group {@code g} is the input element
 * {@code [n, i*strideH + a*dilationH - padTop, j*strideW + b*dilationW - padLeft, g*Cin/groups + c]}
 * when that position lies inside the input, and zero otherwise; its memory index is
 * {@code origin + n*s0 + i*s1 + j*s2 + a*s3 + b*s4 + c*s5 + g*groupStride}, where {@code origin}
 * (possibly negative) is where element (0,0,0,0,0,0) would be without padding. With
 * {@link #flipKernel()} the tap (a, b) meets filter tap (KH-1-a, KW-1-b).
 *
 * <p>Immutable; {@link #of} validates it against the input view, so a view that exists never
 * reaches outside the input's memory at any non-virtual position.
 */
public final class PatchView {
    private final long[] shape;
    private final long[] strides;
    private final long origin;
    private final long padTop, padLeft, inputHeight, inputWidth;
    private final long groups, groupStride;
    private final long strideH, strideW, dilationH, dilationW;
    private final boolean flipKernel;

    private PatchView(long[] shape, long[] strides, long origin, long padTop, long padLeft, long inputHeight,
                      long inputWidth, long groups, long groupStride, ConvGeometry geo, boolean flipKernel) {
        this.shape = shape;
        this.strides = strides;
        this.origin = origin;
        this.padTop = padTop;
        this.padLeft = padLeft;
        this.inputHeight = inputHeight;
        this.inputWidth = inputWidth;
        this.groups = groups;
        this.groupStride = groupStride;
        this.strideH = geo.strideHeight();
        this.strideW = geo.strideWidth();
        this.dilationH = geo.dilationHeight();
        this.dilationW = geo.dilationWidth();
        this.flipKernel = flipKernel;
    }

    /** The patch view of {@code input} for a convolution with geometry {@code geo}. */
    public static PatchView of(ConvGeometry geo, Tensor input, boolean flipKernel) {
        Objects.requireNonNull(geo, "geometry");
        Objects.requireNonNull(input, "input");
        Shape in = input.shape();
        if (!in.equals(Shape.of(geo.batch(), geo.inputHeight(), geo.inputWidth(), geo.inputChannels()))) {
            throw new IllegalArgumentException("input shape " + in + " does not match the geometry " + geo);
        }
        long sn = input.stride(0), sh = input.stride(1), sw = input.stride(2), sc = input.stride(3);
        long[] shape = {geo.batch(), geo.outputHeight(), geo.outputWidth(), geo.kernelHeight(), geo.kernelWidth(),
                geo.inputChannelsPerGroup()};
        long[] strides;
        long origin, groupStride;
        try {
            strides = new long[] {sn, Math.multiplyExact(geo.strideHeight(), sh), Math.multiplyExact(geo.strideWidth(), sw),
                    Math.multiplyExact(geo.dilationHeight(), sh), Math.multiplyExact(geo.dilationWidth(), sw), sc};
            origin = Math.subtractExact(input.offset(),
                    Math.addExact(Math.multiplyExact(geo.padTop(), sh), Math.multiplyExact(geo.padLeft(), sw)));
            groupStride = Math.multiplyExact(geo.inputChannelsPerGroup(), sc);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("patch view of input strides " + Arrays.toString(input.strides())
                    + " with " + geo + " overflows a long");
        }
        return new PatchView(shape, strides, origin, geo.padTop(), geo.padLeft(), geo.inputHeight(), geo.inputWidth(),
                geo.groups(), groupStride, geo, flipKernel);
    }

    /** {@code [N, OH, OW, KH, KW, Cin/groups]} (a fresh array). */
    public long[] shape() { return shape.clone(); }

    /** Element strides of the six axes (a fresh array). */
    public long[] strides() { return strides.clone(); }

    /** Memory index element (0,0,0,0,0,0) would have without padding; negative when padded. */
    public long origin() { return origin; }

    public long padTop() { return padTop; }
    public long padLeft() { return padLeft; }
    public long inputHeight() { return inputHeight; }
    public long inputWidth() { return inputWidth; }
    public long groups() { return groups; }

    /** Memory distance between the channels of consecutive groups. */
    public long groupStride() { return groupStride; }

    public boolean flipKernel() { return flipKernel; }

    /**
     * Memory index of patch element {@code (n, i, j, a, b, c)} of group {@code g}, or -1 where the
     * view reads a virtual zero (padding).
     */
    public long memoryIndex(long n, long i, long j, long a, long b, long c, long g) {
        long[] idx = {n, i, j, a, b, c};
        for (int k = 0; k < 6; k++) Objects.checkIndex(idx[k], shape[k]);
        Objects.checkIndex(g, groups);
        long row = i * strideH + a * dilationH - padTop;
        long col = j * strideW + b * dilationW - padLeft;
        if (row < 0 || row >= inputHeight || col < 0 || col >= inputWidth) return -1;
        return origin + n * strides[0] + i * strides[1] + j * strides[2] + a * strides[3] + b * strides[4] + c * strides[5]
                + g * groupStride;
    }

    @Override
    public String toString() {
        return "PatchView[shape=" + Arrays.toString(shape) + ", strides=" + Arrays.toString(strides) + ", origin=" + origin
                + ", padding(top=" + padTop + ", left=" + padLeft + "), input=" + inputHeight + "x" + inputWidth
                + ", groups=" + groups + (groups > 1 ? " (group stride " + groupStride + ")" : "")
                + (flipKernel ? ", flipped kernel" : "") + "]";
    }
}
