package io.conv4j;

import java.util.Arrays;
import java.util.Objects;

/**
 * The validated geometry of one convolution of rank 1, 2 or 3 with named fields: every size, the
 * resolved padding (TensorFlow's SAME rule per axis) and the output size. {@link #of} holds the
 * rules for shapes, options and dtype; each refusal is an {@link IllegalArgumentException} naming
 * the parameter and the values. {@link #toNative} packs it, with the views' strides, into the
 * N-d core's {@code c4j_nd_desc} (the field order of {@code conv4j_nd.h}).
 */
final class ConvDescriptor {
    static final long MAX_DIM = Integer.MAX_VALUE;

    final int rank;
    final DType dtype;
    final long batch, inC, outC, groups;
    final long[] inSize, kernel, outSize, stride, dilation, padBegin, padEnd;
    final boolean flip;
    final Activation activation;

    private ConvDescriptor(int rank, DType dtype, long batch, long inC, long outC, long groups, long[] inSize, long[] kernel,
                           long[] outSize, long[] stride, long[] dilation, long[] padBegin, long[] padEnd, boolean flip,
                           Activation activation) {
        this.rank = rank;
        this.dtype = dtype;
        this.batch = batch;
        this.inC = inC;
        this.outC = outC;
        this.groups = groups;
        this.inSize = inSize;
        this.kernel = kernel;
        this.outSize = outSize;
        this.stride = stride;
        this.dilation = dilation;
        this.padBegin = padBegin;
        this.padEnd = padEnd;
        this.flip = flip;
        this.activation = activation;
    }

    /** Validates channels-last input {@code [N, S1..Sr, Cin]}, filter {@code [K1..Kr, Cin/groups, Cout]} and options. */
    static ConvDescriptor of(Shape input, Shape filter, ConvOptions o, DType dtype) {
        Objects.requireNonNull(input, "input shape");
        Objects.requireNonNull(filter, "filter shape");
        Objects.requireNonNull(o, "options");
        Objects.requireNonNull(dtype, "dtype");
        int r = input.rank() - 2;
        if (r < 1 || r > 3) {
            throw new IllegalArgumentException("input must have rank 3, 4 or 5 ([N,W,C], [N,H,W,C] or [N,D,H,W,C]), got shape " + input);
        }
        if (filter.rank() != r + 2) {
            throw new IllegalArgumentException("filter must have rank " + (r + 2) + " [K1..K" + r + ",Cin/groups,Cout] for an input of rank "
                    + input.rank() + " " + input + ", got shape " + filter);
        }
        checkAxes("strides", o.stridesLength(), r, input);
        checkAxes("dilations", o.dilationsLength(), r, input);
        Padding p = o.padding();
        if (p.kind() == Padding.Kind.EXPLICIT && p.axes() != r) {
            throw new IllegalArgumentException("padding " + p + " has " + 2 * p.axes() + " numbers but a " + r
                    + "-D convolution needs " + 2 * r + " (begin,end per spatial axis), input shape " + input);
        }
        long n = limit("batch", input.size(0), 0);
        long c = limit("input channels", input.size(r + 1), 1);
        long fc = limit("filter in-channels", filter.size(r), 1);
        long oc = limit("filter out-channels", filter.size(r + 1), 1);
        long g = limit("groups", o.groups(), 1);
        if (c % g != 0) throw new IllegalArgumentException("groups " + g + " does not divide the input channels " + c);
        if (oc % g != 0) throw new IllegalArgumentException("groups " + g + " does not divide the output channels " + oc);
        if (fc != c / g) {
            throw new IllegalArgumentException("filter shape " + filter + ": dimension " + r + " must be input channels / groups = "
                    + c + "/" + g + " = " + (c / g) + ", got " + fc);
        }
        long[] in = new long[r], k = new long[r], out = new long[r], s = new long[r], d = new long[r];
        long[] pb = new long[r], pe = new long[r];
        for (int a = 0; a < r; a++) {
            String axis = AXES[r - 1][a];
            in[a] = limit("input " + axis, input.size(a + 1), 1);
            k[a] = limit("filter " + axis, filter.size(a), 1);
            s[a] = limit("stride " + axis, o.stride(a), 1);
            d[a] = limit("dilation " + axis, o.dilation(a), 1);
            long ek = (k[a] - 1) * d[a] + 1;
            if (ek > MAX_DIM) throw new IllegalArgumentException("dilated kernel extent " + ek + " (" + axis + ") too large");
            if (p.isSame()) {
                out[a] = (in[a] + s[a] - 1) / s[a];
                long total = Math.max((out[a] - 1) * s[a] + ek - in[a], 0);
                pb[a] = p.kind() == Padding.Kind.SAME_LOWER ? total - total / 2 : total / 2;
                pe[a] = total - pb[a];
            } else {
                pb[a] = limit("pad begin of " + axis, p.begin(a), 0);
                pe[a] = limit("pad end of " + axis, p.end(a), 0);
                long padded = in[a] + pb[a] + pe[a];
                if (padded < ek) {
                    throw new IllegalArgumentException("kernel " + axis + " " + k[a] + (d[a] > 1 ? " (dilation " + d[a] + ", extent " + ek + ")" : "")
                            + " is larger than the padded input " + axis + " " + padded + " (input " + in[a] + " + padding "
                            + (pb[a] + pe[a]) + ")");
                }
                out[a] = (padded - ek) / s[a] + 1;
            }
            if (in[a] + pb[a] + pe[a] > MAX_DIM) {
                throw new IllegalArgumentException("padded input " + axis + " " + (in[a] + pb[a] + pe[a]) + " exceeds " + MAX_DIM);
            }
        }
        if (dtype == DType.FLOAT64 || r == 3) {
            Algorithm al = o.algorithm();
            if (al != Algorithm.AUTO && al != Algorithm.GEMM_TILED) {
                throw new IllegalArgumentException("algorithm " + al + " is not available for a " + r + "-D " + dtype
                        + " convolution: only the GEMM route (AUTO or GEMM_TILED) runs rank 3 and float64");
            }
        }
        return new ConvDescriptor(r, dtype, n, c, oc, g, in, k, out, s, d, pb, pe, o.flipKernel(), o.activation());
    }

    /** Names of the spatial axes by rank, as in TensorFlow's NWC, NHWC and NDHWC. */
    private static final String[][] AXES = {{"width"}, {"height", "width"}, {"depth", "height", "width"}};

    private static void checkAxes(String what, int length, int rank, Shape input) {
        if (length >= 0 && length != rank) {
            throw new IllegalArgumentException(what + " have " + length + " values but the input " + input + " has " + rank
                    + " spatial axes");
        }
    }

    private static long limit(String what, long v, long min) {
        if (v < min || v > MAX_DIM) throw new IllegalArgumentException(what + " must be in [" + min + ", " + MAX_DIM + "], got " + v);
        return v;
    }

    Shape inputShape() {
        return channelsLast(batch, inSize, inC);
    }

    Shape outputShape() {
        return channelsLast(batch, outSize, outC);
    }

    Shape filterShape() {
        long[] dims = Arrays.copyOf(kernel, rank + 2);
        dims[rank] = inC / groups;
        dims[rank + 1] = outC;
        return Shape.of(dims);
    }

    private static Shape channelsLast(long n, long[] spatial, long c) {
        long[] dims = new long[spatial.length + 2];
        dims[0] = n;
        System.arraycopy(spatial, 0, dims, 1, spatial.length);
        dims[spatial.length + 1] = c;
        return Shape.of(dims);
    }

    /** Multiply-adds times two. */
    double flops() {
        double f = 2.0 * batch * outC * (inC / groups);
        for (int a = 0; a < rank; a++) f *= (double) outSize[a] * kernel[a];
        return f;
    }

    /** Number of long fields of {@code c4j_nd_desc}. */
    static final int NATIVE_FIELDS = 37;

    /**
     * The native descriptor: the spatial axes right-aligned into the core's three (leading unused
     * axes of size 1), with the element strides of the input and output views (n, axes..., c).
     */
    long[] toNative(long[] inStrides, long[] outStrides, boolean hasBias) {
        long[] v = new long[NATIVE_FIELDS];
        int i = 0;
        v[i++] = rank;
        v[i++] = dtype.nativeId;
        v[i++] = batch;
        v[i++] = inC;
        v[i++] = outC;
        v[i++] = groups;
        i = axes(v, i, inSize, 1);
        i = axes(v, i, kernel, 1);
        i = axes(v, i, outSize, 1);
        i = axes(v, i, stride, 1);
        i = axes(v, i, dilation, 1);
        i = axes(v, i, padBegin, 0);
        i = viewStrides(v, i, inStrides);
        i = viewStrides(v, i, outStrides);
        v[i++] = flip ? 1 : 0;
        v[i++] = activation.nativeId;
        v[i++] = hasBias ? 1 : 0;
        assert i == NATIVE_FIELDS;
        return v;
    }

    private int axes(long[] v, int i, long[] values, long unused) {
        for (int a = 0; a < 3 - rank; a++) v[i++] = unused;
        for (long x : values) v[i++] = x;
        return i;
    }

    private int viewStrides(long[] v, int i, long[] strides) {
        v[i++] = strides[0];
        for (int a = 0; a < 3 - rank; a++) v[i++] = 0;
        for (int a = 1; a <= rank + 1; a++) v[i++] = strides[a];
        return i;
    }

    @Override
    public String toString() {
        return "ConvDescriptor[rank=" + rank + ", dtype=" + dtype + ", input=" + inputShape() + ", filter=" + filterShape()
                + ", groups=" + groups + ", strides=" + Arrays.toString(stride) + ", dilations=" + Arrays.toString(dilation)
                + ", pads(begin)=" + Arrays.toString(padBegin) + ", pads(end)=" + Arrays.toString(padEnd) + ", output="
                + outputShape() + "]";
    }
}
