package io.conv4j;

import io.conv4j.internal.NativeLibrary;
import io.conv4j.internal.NativeNd;
import java.util.Objects;

/**
 * Convolution of rank 1, 2 or 3 in float32 or float64, with TensorFlow's semantics per spatial
 * axis: channels-last input {@code [N, S1..Sr, Cin]} ({@code NWC}, {@code NHWC}, {@code NDHWC}),
 * filter {@code [K1..Kr, Cin/groups, Cout]}, output {@code [N, O1..Or, Cout]}; the rank comes from
 * the shapes. Its gradients, and the transposed convolution as a call of its own.
 *
 * <p>Which engine runs: float32 convolutions of rank 2 run on the 2-D engine of {@link Conv2d}
 * (every algorithm: GEMM, Winograd, FFT), rank 1 too, as a height-1 image (an {@code [N,W,C]}
 * input is an {@code [N,1,W,C]} view, a {@code [K,Cin,Cout]} filter a {@code [1,K,Cin,Cout]} one,
 * no copy); rank 3 and every float64 convolution run on the N-d engine (tiled im2col + sgemm or
 * dgemm). All tensors of one call have the same {@link DType}: a mix is an
 * {@link IllegalArgumentException}, never converted.
 *
 * <p>Ownership: a tensor a method returns is new and the caller's to close, unless the method
 * wrote into a tensor the caller passed ({@code output} / {@code into}), which it then returns.
 * Validation, exceptions and thread safety as in {@link Conv2d}.
 */
public final class Conv {
    private Conv() {}

    // ------------------------------------------------------------------ forward

    /** Convolution plus bias ({@code [Cout]}, may be null) into a fresh output. */
    public static Tensor conv(Tensor input, Tensor filter, Tensor bias, ConvOptions options) {
        return conv(input, filter, bias, options, null);
    }

    /**
     * Convolution plus bias (may be null) written into {@code output} (shape {@link #outputShape},
     * any view), or into a fresh tensor when {@code output} is null. Returns the tensor written.
     */
    public static Tensor conv(Tensor input, Tensor filter, Tensor bias, ConvOptions options, Tensor output) {
        Conv2d.requireOpen("input", input);
        Conv2d.requireOpen("filter", filter);
        Objects.requireNonNull(options, "options");
        DType dt = Operands.sameDType(input, filter, bias, output);
        ConvDescriptor cd = ConvDescriptor.of(input.shape(), filter.shape(), options, dt);
        if (bias != null) {
            Conv2d.requireOpen("bias", bias);
            Operands.requireShape("bias", bias, Shape.of(cd.outC));
        }
        if (onTwoDEngine(cd)) {
            if (cd.rank == 2) return Conv2d.run(input, filter, bias, options.toConv2d(2), output, null);
            rankOneTarget("output", output, cd.outputShape());
            Tensor y = Conv2d.run(input.withUnitAxis(1), filter.withUnitAxis(0), bias, options.toConv2d(1),
                    output == null ? null : output.withUnitAxis(1), null);
            return output != null ? output : y.reshape(cd.outputShape());
        }
        Operands.requireTarget("output", output, cd.outputShape(), "input", input, "filter", filter, bias);
        NativeLibrary.ensureLoaded();
        aligned("input", input, "filter", filter, bias);
        Tensor result = output != null ? output : Tensor.allocate(dt, cd.outputShape());
        Tensor w = null, b = null;
        try {
            if (cd.batch > 0) {
                w = filter.contiguous();
                b = bias == null ? null : bias.contiguous();
                long[] desc = cd.toNative(NdCall.strides(input), NdCall.strides(result), b != null);
                NdCall.run(desc, NativeNd.FORWARD, input, w, b, result);
            }
            return result;
        } catch (RuntimeException | Error e) {
            if (output == null) result.close();
            throw e;
        } finally {
            if (w != null && w != filter) w.close();
            if (b != null && b != bias) b.close();
        }
    }

    /** Flat row-major float32 arrays of the given shapes; returns the output, row-major, of {@link #outputShape}. */
    public static float[] conv(float[] input, Shape inputShape, float[] filter, Shape filterShape, float[] bias,
                               ConvOptions options) {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(filter, "filter");
        Shape out = outputShape(inputShape, filterShape, options);
        NestedDoubles.checkArray("output", out);
        try (Tensor x = Tensor.fromArray(input, inputShape); Tensor w = Tensor.fromArray(filter, filterShape);
             Tensor b = bias == null ? null : Tensor.fromArray(bias, Shape.of(bias.length));
             Tensor y = conv(x, w, b, options, null)) {
            return y.toArray();
        }
    }

    /** Flat row-major float64 arrays of the given shapes; returns the output, row-major, of {@link #outputShape}. */
    public static double[] conv(double[] input, Shape inputShape, double[] filter, Shape filterShape, double[] bias,
                                ConvOptions options) {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(filter, "filter");
        Shape out = outputShape(inputShape, filterShape, options);
        NestedDoubles.checkArray("output", out);
        try (Tensor x = Tensor.fromArray(input, inputShape); Tensor w = Tensor.fromArray(filter, filterShape);
             Tensor b = bias == null ? null : Tensor.fromArray(bias, Shape.of(bias.length));
             Tensor y = conv(x, w, b, options, null)) {
            return y.toDoubleArray();
        }
    }

    /** 1-D drop-in on nested doubles: {@code input[N][W][Cin]}, {@code filter[K][Cin/groups][Cout]}. */
    public static double[][][] conv(double[][][] input, double[][][] filter, ConvOptions options) {
        return (double[][][]) nested(input, filter, options);
    }

    /** 2-D drop-in on nested doubles: {@code input[N][H][W][Cin]}, {@code filter[KH][KW][Cin/groups][Cout]}. */
    public static double[][][][] conv(double[][][][] input, double[][][][] filter, ConvOptions options) {
        return (double[][][][]) nested(input, filter, options);
    }

    /** 3-D drop-in on nested doubles: {@code input[N][D][H][W][Cin]}, {@code filter[KD][KH][KW][Cin/groups][Cout]}. */
    public static double[][][][][] conv(double[][][][][] input, double[][][][][] filter, ConvOptions options) {
        return (double[][][][][]) nested(input, filter, options);
    }

    private static Object nested(Object input, Object filter, ConvOptions options) {
        Shape xs = NestedDoubles.shapeOf("input", input), ws = NestedDoubles.shapeOf("filter", filter);
        Shape out = outputShape(xs, ws, options);
        NestedDoubles.checkArray("output", out);
        double[] y = conv(NestedDoubles.flatten(input, xs), xs, NestedDoubles.flatten(filter, ws), ws, null, options);
        return NestedDoubles.unflatten(y, out);
    }

    // ------------------------------------------------------------------ gradients and the transposed convolution

    /**
     * dL/d(input) (shape {@code inputShape}) of a convolution with {@code filter} and
     * {@code options}, given {@code gradOutput} = dL/d(output) (before any activation: options
     * with an activation are refused; see {@link #activationGrad}). Fresh tensor.
     */
    public static Tensor gradInput(Tensor gradOutput, Tensor filter, Shape inputShape, ConvOptions options) {
        return gradInput(gradOutput, filter, inputShape, options, null);
    }

    /** As {@link #gradInput(Tensor, Tensor, Shape, ConvOptions)}, written into {@code into} (any view) when not null. */
    public static Tensor gradInput(Tensor gradOutput, Tensor filter, Shape inputShape, ConvOptions options, Tensor into) {
        Objects.requireNonNull(inputShape, "input shape");
        Conv2d.requireOpen("gradOutput", gradOutput);
        Conv2d.requireOpen("filter", filter);
        Objects.requireNonNull(options, "options");
        DType dt = Operands.sameDType(gradOutput, filter, null, into);
        ConvDescriptor cd = ConvDescriptor.of(inputShape, filter.shape(), options, dt);
        Operands.requireNoActivation(options.activation(), "Conv.gradInput", "Conv");
        Operands.requireShape("gradOutput", gradOutput, cd.outputShape());
        if (onTwoDEngine(cd)) {
            if (cd.rank == 2) return Conv2dBackward.gradInput(gradOutput, filter, inputShape, options.toConv2d(2), into);
            rankOneTarget("gradInput", into, inputShape);
            Tensor dx = Conv2dBackward.gradInput(gradOutput.withUnitAxis(1), filter.withUnitAxis(0),
                    withUnitAxis(inputShape, 1), options.toConv2d(1), into == null ? null : into.withUnitAxis(1));
            return into != null ? into : dx.reshape(inputShape);
        }
        Operands.requireTarget("gradInput", into, inputShape, "gradOutput", gradOutput, "filter", filter, null);
        NativeLibrary.ensureLoaded();
        aligned("gradOutput", gradOutput, "filter", filter, null);
        Tensor result = into != null ? into : Tensor.allocate(dt, inputShape);
        Tensor w = null;
        try {
            if (cd.batch > 0) {
                w = filter.contiguous();
                long[] desc = cd.toNative(NdCall.strides(result), NdCall.strides(gradOutput), false);
                NdCall.run(desc, NativeNd.BACKWARD_INPUT, gradOutput, w, null, result);
            }
            return result;
        } catch (RuntimeException | Error e) {
            if (into == null) result.close();
            throw e;
        } finally {
            if (w != null && w != filter) w.close();
        }
    }

    /** dL/d(filter) (shape {@code filterShape}) given the forward input and dL/d(output). Fresh tensor. */
    public static Tensor gradFilter(Tensor input, Tensor gradOutput, Shape filterShape, ConvOptions options) {
        return gradFilter(input, gradOutput, filterShape, options, null);
    }

    /** As {@link #gradFilter(Tensor, Tensor, Shape, ConvOptions)}, written into {@code into} when not null. */
    public static Tensor gradFilter(Tensor input, Tensor gradOutput, Shape filterShape, ConvOptions options, Tensor into) {
        Objects.requireNonNull(filterShape, "filter shape");
        Conv2d.requireOpen("input", input);
        Conv2d.requireOpen("gradOutput", gradOutput);
        Objects.requireNonNull(options, "options");
        DType dt = Operands.sameDType(input, gradOutput, null, into);
        ConvDescriptor cd = ConvDescriptor.of(input.shape(), filterShape, options, dt);
        Operands.requireNoActivation(options.activation(), "Conv.gradFilter", "Conv");
        Operands.requireShape("gradOutput", gradOutput, cd.outputShape());
        if (onTwoDEngine(cd)) {
            if (cd.rank == 2) return Conv2dBackward.gradFilter(input, gradOutput, filterShape, options.toConv2d(2), into);
            rankOneTarget("gradFilter", into, filterShape);
            Tensor dw = Conv2dBackward.gradFilter(input.withUnitAxis(1), gradOutput.withUnitAxis(1), withUnitAxis(filterShape, 0),
                    options.toConv2d(1), into == null ? null : into.withUnitAxis(0));
            return into != null ? into : dw.reshape(filterShape);
        }
        Operands.requireTarget("gradFilter", into, filterShape, "input", input, "gradOutput", gradOutput, null);
        NativeLibrary.ensureLoaded();
        aligned("input", input, "gradOutput", gradOutput, null);
        Tensor result = into != null ? into : Tensor.allocate(dt, filterShape);
        Tensor target = result.isContiguous() ? result : Tensor.allocate(dt, filterShape);
        try {
            long[] desc = cd.toNative(NdCall.strides(input), NdCall.strides(gradOutput), false);
            NdCall.run(desc, NativeNd.BACKWARD_FILTER, input, gradOutput, null, target);
            if (target != result) result.copyFrom(target);
            return result;
        } catch (RuntimeException | Error e) {
            if (into == null) result.close();
            throw e;
        } finally {
            if (target != result) target.close();
        }
    }

    /** dL/d(bias) {@code [Cout]}: the sum of {@code gradOutput} {@code [N, O1..Or, Cout]} over all but the last axis. Fresh. */
    public static Tensor gradBias(Tensor gradOutput) {
        Conv2d.requireOpen("gradOutput", gradOutput);
        Shape s = gradOutput.shape();
        int r = s.rank() - 2;
        if (r < 1 || r > 3) throw new IllegalArgumentException("gradOutput must have rank 3, 4 or 5, got shape " + s);
        long c = s.size(r + 1);
        long[] k = new long[r + 2];
        java.util.Arrays.fill(k, 1);
        k[r] = c;
        k[r + 1] = c;
        DType dt = gradOutput.dtype();
        ConvDescriptor cd = ConvDescriptor.of(s, Shape.of(k), ConvOptions.defaults(), dt);
        NativeLibrary.ensureLoaded();
        Operands.requireAligned("gradOutput", gradOutput);
        Tensor result = Tensor.allocate(dt, Shape.of(c));
        try {
            // the bias part of the filter gradient of a 1x1 convolution of gradOutput with itself
            long[] strides = NdCall.strides(gradOutput);
            long[] desc = cd.toNative(strides, strides, true);
            NdCall.run(desc, NativeNd.BACKWARD_FILTER, null, gradOutput, result, null);
            return result;
        } catch (RuntimeException | Error e) {
            result.close();
            throw e;
        }
    }

    /**
     * dL/d(pre-activation output) from dL/d(output) and the forward {@code output}: gradOutput times
     * {@code relu'(y) = [y > 0]} or {@code relu6'(y) = [0 < y < 6]} (a NaN y passes its gradient, as in
     * PyTorch), a copy for NONE. Fresh tensor, any rank, any dtype.
     */
    public static Tensor activationGrad(Tensor output, Tensor gradOutput, Activation activation) {
        Objects.requireNonNull(activation, "activation");
        Conv2d.requireOpen("gradOutput", gradOutput);
        if (activation != Activation.NONE) {
            Conv2d.requireOpen("output", output);
            if (!output.shape().equals(gradOutput.shape())) {
                throw new IllegalArgumentException("gradOutput " + gradOutput.shape() + " and the forward output " + output.shape()
                        + " must have one shape");
            }
            Operands.sameDType(output, gradOutput, null, null);
        }
        NativeLibrary.ensureLoaded();
        Operands.requireAligned("gradOutput", gradOutput);
        if (activation != Activation.NONE) Operands.requireAligned("output", output);
        DType dt = gradOutput.dtype();
        Tensor g = gradOutput.contiguous();
        Tensor y = activation == Activation.NONE ? g : output.contiguous();
        Tensor result = Tensor.allocate(dt, gradOutput.shape());
        try {
            BackwardCall.activation(activation, y, g, result, true);
            return result;
        } catch (RuntimeException | Error e) {
            result.close();
            throw e;
        } finally {
            if (g != gradOutput) g.close();
            if (y != output && y != g) y.close();
        }
    }

    /**
     * The transposed convolution of {@code input} {@code [N, I1..Ir, Cout]} with the forward filter
     * {@code [K1..Kr, Cin/groups, Cout]}: the gradient of the input of the forward convolution
     * with these options, to the given {@code outputShape} {@code [N, S1..Sr, Cin]}, plus
     * {@code bias} ({@code [Cin]}, may be null). Fresh tensor. With SAME padding the output shape
     * must be one the forward convolution maps to {@code [N, I1..Ir, Cout]}. With VALID or explicit
     * padding each {@code S} may be anything from 1 to the default size (see
     * {@link #transposeOutputShape}) plus {@code max(stride, dilation) - 1}: the output is the full
     * transposed result cropped by the begin pad, {@code out[j] = full[j + padBegin]}, and zero past
     * the full result's end (PyTorch's and ONNX's definition; the end pad only sets the default size).
     */
    public static Tensor transpose(Tensor input, Tensor filter, Tensor bias, ConvOptions options, Shape outputShape) {
        Objects.requireNonNull(outputShape, "output shape");
        Conv2d.requireOpen("filter", filter);
        Conv2d.requireOpen("input", input);
        Objects.requireNonNull(options, "options");
        DType dt = Operands.sameDType(input, filter, bias, null);
        TransposeExtent extent = TransposeExtent.checked(input.shape(), filter.shape(), options, outputShape, dt);
        long inC = outputShape.size(outputShape.rank() - 1);
        if (bias != null) {
            Conv2d.requireOpen("bias", bias);
            if (!bias.shape().equals(Shape.of(inC))) {
                throw new IllegalArgumentException("bias of a transposed convolution must have shape [" + inC + "] (its output"
                        + " channels), got " + bias.shape());
            }
        }
        if (options.activation() != Activation.NONE) {
            throw new IllegalArgumentException("a transposed convolution takes no fused activation, got " + options.activation());
        }
        Tensor y;
        if (extent.whole(outputShape)) {
            y = gradInput(input, filter, outputShape, extent.options);
        } else { // positions past the full scatter are zero: compute the rest into a view of a zeroed output
            y = Tensor.allocate(dt, outputShape);
            try {
                Tensor part = y;
                for (int a = 1; a < outputShape.rank() - 1; a++) part = part.slice(a, 0, extent.computed.size(a));
                if (!extent.empty) gradInput(input, filter, extent.computed, extent.options, part);
            } catch (RuntimeException | Error e) {
                y.close();
                throw e;
            }
        }
        try {
            if (bias != null) BiasAdd.add(y, bias);
            return y;
        } catch (RuntimeException | Error e) {
            y.close();
            throw e;
        }
    }

    /**
     * As {@link #transpose(Tensor, Tensor, Tensor, ConvOptions, Shape)} with the output size chosen
     * by {@code outputPadding} (one value per spatial axis, or none for all zeros): the smallest
     * size that maps to the input plus the output padding, see {@link #transposeOutputShape}.
     */
    public static Tensor transpose(Tensor input, Tensor filter, Tensor bias, ConvOptions options, long... outputPadding) {
        Conv2d.requireOpen("input", input);
        Conv2d.requireOpen("filter", filter);
        return transpose(input, filter, bias, options, transposeOutputShape(input.shape(), filter.shape(), options, outputPadding));
    }

    /**
     * The output shape of a transposed convolution: per axis the smallest input size of the forward
     * convolution that gives {@code input}'s size, plus {@code outputPadding[a]} (0 when none given):
     * {@code (I - 1) * stride + (K - 1) * dilation + 1 - padBegin - padEnd + outputPadding} for
     * VALID and explicit padding (PyTorch's and ONNX's rule). Output padding must be below
     * {@code max(stride, dilation)} (PyTorch's bound; the positions it adds past the full result are
     * zero). With SAME or SAME_LOWER padding the output is {@code I * stride}, the largest size that
     * maps to the input (TensorFlow's, Keras's and ONNX's rule), and output padding must be 0: give
     * the output shape for a smaller one.
     */
    public static Shape transposeOutputShape(Shape input, Shape filter, ConvOptions options, long... outputPadding) {
        Objects.requireNonNull(input, "input shape");
        Objects.requireNonNull(filter, "filter shape");
        Objects.requireNonNull(options, "options");
        int r = input.rank() - 2;
        if (r < 1 || r > 3) throw new IllegalArgumentException("input must have rank 3, 4 or 5, got shape " + input);
        if (filter.rank() != r + 2) {
            throw new IllegalArgumentException("filter must have rank " + (r + 2) + " for an input of rank " + input.rank()
                    + ", got shape " + filter);
        }
        long[] op = outputPadding == null || outputPadding.length == 0 ? new long[r] : outputPadding;
        if (op.length != r) {
            throw new IllegalArgumentException("output padding has " + op.length + " values but the input " + input + " has " + r
                    + " spatial axes");
        }
        if (filter.size(r + 1) != input.size(r + 1)) {
            throw new IllegalArgumentException("input channels " + input.size(r + 1) + " of a transposed convolution must equal the"
                    + " filter's last dimension (the forward output channels) " + filter.size(r + 1) + ", filter shape " + filter);
        }
        long[] dims = new long[r + 2];
        dims[0] = input.size(0);
        dims[r + 1] = Math.multiplyExact(filter.size(r), options.groups());
        Padding p = options.padding();
        if (p.kind() == Padding.Kind.EXPLICIT && p.axes() != r) {
            throw new IllegalArgumentException("padding " + p + " has " + 2 * p.axes() + " numbers but a " + r
                    + "-D convolution needs " + 2 * r + " (begin,end per spatial axis)");
        }
        if (options.stridesLength() >= 0 && options.stridesLength() != r || options.dilationsLength() >= 0 && options.dilationsLength() != r) {
            throw new IllegalArgumentException("strides and dilations need " + r + " values each for the input " + input + ", got "
                    + options);
        }
        for (int a = 0; a < r; a++) {
            String axis = " (spatial axis " + a + ")";
            long s = upToMaxDim("stride" + axis, options.stride(a)), d = upToMaxDim("dilation" + axis, options.dilation(a));
            upToMaxDim("filter size" + axis, filter.size(a));
            upToMaxDim("input size" + axis, input.size(a + 1));
            if (op[a] < 0 || op[a] >= Math.max(s, d)) {
                throw new IllegalArgumentException("output padding " + op[a] + " (spatial axis " + a + ") must be in [0, max(stride "
                        + s + ", dilation " + d + "))");
            }
            long in = input.size(a + 1);
            if (in < 1) throw new IllegalArgumentException("input size " + in + " (spatial axis " + a + ") must be >= 1");
            if (p.isSame()) {
                if (op[a] != 0) {
                    throw new IllegalArgumentException("output padding " + op[a] + " (spatial axis " + a + ") with SAME padding:"
                            + " the output is input x stride; give the output shape for another size");
                }
                dims[a + 1] = in * s; // below 2^62: each factor is at most MAX_DIM
            } else {
                long base = (in - 1) * s + 1; // below 2^62 + 1: each factor is at most MAX_DIM
                dims[a + 1] = base + (filter.size(a) - 1) * d - upToMaxDim("pad begin" + axis, p.begin(a))
                        - upToMaxDim("pad end" + axis, p.end(a)) + op[a];
            }
            if (dims[a + 1] < 1) {
                throw new IllegalArgumentException("transposed output size " + dims[a + 1] + " (spatial axis " + a
                        + ") is not positive: the padding is larger than the kernel extent");
            }
        }
        Shape out = Shape.of(dims);
        try {
            TransposeExtent.checked(input, filter, options, out, DType.FLOAT32);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("no output size of the transposed convolution maps back to the input " + input
                    + " with these options (" + out + "): " + e.getMessage(), e);
        }
        return out;
    }

    // ------------------------------------------------------------------ introspection

    /** The output shape {@code [N, O1..Or, Cout]} (validates shapes and options). */
    public static Shape outputShape(Shape input, Shape filter, ConvOptions options) {
        return ConvDescriptor.of(input, filter, options, DType.FLOAT32).outputShape();
    }

    /** A readable account of the geometry and the algorithm chosen for a dense input of this dtype. */
    public static String explain(Shape input, Shape filter, ConvOptions options, DType dtype) {
        ConvDescriptor cd = ConvDescriptor.of(input, filter, options, dtype);
        if (onTwoDEngine(cd)) {
            if (cd.rank == 2) return Conv2d.explain(input, filter, options.toConv2d(2));
            return "rank 1 runs on the 2-D engine as a height-1 image:\n"
                    + Conv2d.explain(withUnitAxis(input, 1), withUnitAxis(filter, 0), options.toConv2d(1));
        }
        NativeLibrary.ensureLoaded();
        long[] desc = cd.toNative(Tensor.contiguousStrides(input), Tensor.contiguousStrides(cd.outputShape()), false);
        return cd + "\n" + options + "\nplan: " + NdCall.describe(desc, NativeNd.FORWARD) + "\nengine: N-d (rank " + cd.rank + ", "
                + dtype + "): im2col + " + (dtype == DType.FLOAT64 ? "dgemm" : "sgemm")
                + "; the transform algorithms (Winograd, FFT) exist for float32 rank 1 and 2 only";
    }

    // ------------------------------------------------------------------ helpers

    /** float32 rank 1 and 2 run on the 2-D engine (every algorithm); the rest on the N-d engine. */
    private static boolean onTwoDEngine(ConvDescriptor cd) {
        return cd.dtype == DType.FLOAT32 && cd.rank <= 2;
    }

    static boolean anyFloat64(Tensor... ts) {
        for (Tensor t : ts) {
            if (t != null && t.dtype() == DType.FLOAT64) return true;
        }
        return false;
    }



    /** A size or step of the transposed output's arithmetic, bounded as {@link ConvDescriptor} bounds it, so the sums cannot overflow. */
    private static long upToMaxDim(String what, long v) {
        if (v > ConvDescriptor.MAX_DIM) throw new IllegalArgumentException(what + " must be at most " + ConvDescriptor.MAX_DIM + ", got " + v);
        return v;
    }

    /** Rank 1 runs as a height-1 image: the caller's output is checked in the caller's rank first, so messages show its shapes. */
    private static void rankOneTarget(String what, Tensor out, Shape want) {
        if (out == null) return;
        Operands.requireOpen(what, out);
        Operands.requireShape(what, out, want);
    }



    /** The operands of an N-d call (the output is checked by {@link Operands#requireTarget}); bias may be null. */
    private static void aligned(String aName, Tensor a, String bName, Tensor b, Tensor bias) {
        Operands.requireAligned(aName, a);
        Operands.requireAligned(bName, b);
        if (bias != null) Operands.requireAligned("bias", bias);
    }

    private static Shape withUnitAxis(Shape s, int axis) {
        long[] d = new long[s.rank() + 1];
        for (int i = 0, j = 0; i < d.length; i++) d[i] = i == axis ? 1 : s.size(j++);
        return Shape.of(d);
    }
}
