package io.conv4j;

/**
 * Which part of a transposed convolution's output the forward gradient computes, for output sizes
 * that no forward convolution with the caller's pads maps back to the input.
 *
 * <p>With VALID or explicit padding the transposed output is defined for any size {@code S}: the
 * full scatter {@code F} (length {@code (I - 1) * stride + (K - 1) * dilation + 1} per axis) cropped
 * by the begin pad, {@code out[j] = F[j + padBegin]}, zero past {@code F}'s end (PyTorch's and ONNX's
 * definition; the end pad only sets the default size). Every {@code S} up to {@code F - padBegin}
 * is the input gradient of a forward convolution with end pad {@code F - padBegin - S}; beyond it
 * (output padding above the stride, which PyTorch allows below the dilation) the rest is zero.
 */
final class TransposeExtent {
    /** The forward options whose input gradient is the computed part (explicit pads; the caller's for SAME). */
    final ConvOptions options;
    /** The computed part's shape: the output shape, less what lies past {@code F} on each axis. */
    final Shape computed;
    /** Whether the begin pad reaches past {@code F} on some axis: no position is computed, the output is zero (plus bias). */
    final boolean empty;

    private TransposeExtent(ConvOptions options, Shape computed, boolean empty) {
        this.options = options;
        this.computed = computed;
        this.empty = empty;
    }

    /**
     * {@link #of} checked against the forward convolution of {@code dtype}: the computed part's
     * forward output must be the input (this also checks batch, channels, groups and sizes).
     */
    static TransposeExtent checked(Shape input, Shape filter, ConvOptions o, Shape output, DType dtype) {
        if (output.rank() != input.rank()) {
            throw new IllegalArgumentException("output shape " + output + " of a transposed convolution must have rank "
                    + input.rank() + " like the input " + input);
        }
        if (filter.rank() != input.rank()) {
            throw new IllegalArgumentException("filter must have rank " + input.rank() + " for an input of rank " + input.rank()
                    + ", got shape " + filter);
        }
        int r = input.rank() - 2;
        if (r < 1 || r > 3) throw new IllegalArgumentException("input must have rank 3, 4 or 5, got shape " + input);
        if (o.stridesLength() >= 0 && o.stridesLength() != r || o.dilationsLength() >= 0 && o.dilationsLength() != r) {
            throw new IllegalArgumentException("strides and dilations need " + r + " values each for the input " + input + ", got " + o);
        }
        Padding p = o.padding();
        if (p.kind() == Padding.Kind.EXPLICIT && p.axes() != r) {
            throw new IllegalArgumentException("padding " + p + " has " + 2 * p.axes() + " numbers but a " + r
                    + "-D convolution needs " + 2 * r + " (begin,end per spatial axis)");
        }
        for (int a = 0; a < r; a++) {
            String axis = " (spatial axis " + a + ")";
            bounded("input size" + axis, input.size(a + 1), 1);
            bounded("output size" + axis, output.size(a + 1), 1);
            bounded("filter size" + axis, filter.size(a), 1);
            bounded("stride" + axis, o.stride(a), 1);
            bounded("dilation" + axis, o.dilation(a), 1);
            bounded("pad begin" + axis, p.begin(a), 0);
            bounded("pad end" + axis, p.end(a), 0);
        }
        TransposeExtent e = of(input, filter, o, output);
        // an empty extent is the gradient of a forward convolution whose windows over the output
        // read padding only: checked as that convolution
        ConvDescriptor cd = e.empty ? ConvDescriptor.of(output, filter, o, dtype) : ConvDescriptor.of(e.computed, filter, e.options, dtype);
        if (!cd.outputShape().equals(input)) {
            throw new IllegalArgumentException("output shape " + output + " is not one the convolution maps to the input "
                    + input + " (it maps to " + cd.outputShape() + ")");
        }
        return e;
    }

    /**
     * The extent for {@code input} {@code [N, I1..Ir, Cout]}, the forward filter and options, and the
     * output shape {@code [N, S1..Sr, Cin]}, whose batch and channels are already checked. SAME
     * padding keeps its rule (the output must map back); otherwise each {@code S} must be at most the
     * default size plus {@code max(stride, dilation) - 1}, the largest output padding.
     */
    private static TransposeExtent of(Shape input, Shape filter, ConvOptions o, Shape output) {
        int r = input.rank() - 2;
        Padding p = o.padding();
        if (p.isSame()) return new TransposeExtent(o, output, false);
        boolean empty = false;
        long[] pads = new long[2 * r], computed = output.toArray();
        for (int a = 0; a < r; a++) {
            long s = o.stride(a), d = o.dilation(a), begin = p.begin(a);
            long full = (input.size(a + 1) - 1) * s + (filter.size(a) - 1) * d + 1; // below 2^63: every factor is bounded
            long natural = full - begin - p.end(a), size = output.size(a + 1);
            if (size > natural + Math.max(s, d) - 1) {
                throw new IllegalArgumentException("transposed output size " + size + " (spatial axis " + a + ") is more than"
                        + " the default " + natural + " plus the largest output padding " + (Math.max(s, d) - 1)
                        + " (below max(stride " + s + ", dilation " + d + "))");
            }
            long inside = full - begin; // output positions that F reaches
            if (inside < 1) empty = true;
            computed[a + 1] = Math.max(Math.min(size, inside), 1);
            pads[2 * a] = begin;
            pads[2 * a + 1] = Math.max(inside - size, 0);
        }
        return new TransposeExtent(withPadding(o, r, Padding.explicit(pads)), Shape.of(computed), empty);
    }

    /** Whether the computed part is the whole output. */
    boolean whole(Shape output) {
        return !empty && computed.equals(output);
    }

    /** The options with the given padding, every other option as it was. */
    private static ConvOptions withPadding(ConvOptions o, int r, Padding p) {
        return ConvOptions.builder().strides(strides(o, r)).dilations(dilations(o, r)).padding(p).groups(o.groups())
                .flipKernel(o.flipKernel()).activation(o.activation()).algorithm(o.algorithm()).exactOnly(o.exactOnly()).build();
    }

    /** Each factor of the extent arithmetic at most {@link ConvDescriptor#MAX_DIM}, so that no sum or product overflows. */
    private static void bounded(String what, long v, long min) {
        if (v < min || v > ConvDescriptor.MAX_DIM) {
            throw new IllegalArgumentException(what + " must be in [" + min + ", " + ConvDescriptor.MAX_DIM + "], got " + v);
        }
    }

    private static long[] strides(ConvOptions o, int r) {
        long[] v = new long[r];
        for (int a = 0; a < r; a++) v[a] = o.stride(a);
        return v;
    }

    private static long[] dilations(ConvOptions o, int r) {
        long[] v = new long[r];
        for (int a = 0; a < r; a++) v[a] = o.dilation(a);
        return v;
    }
}
