package io.conv4j;

import io.conv4j.internal.NativeLibrary;
import java.util.Objects;

/**
 * 2-D convolution with TensorFlow's {@code conv2d} semantics: input NHWC {@code [N, H, W, Cin]},
 * filter HWIO {@code [KH, KW, Cin/groups, Cout]}, output NHWC {@code [N, OH, OW, Cout]},
 * cross-correlation (no kernel flip) unless {@link Conv2dOptions#flipKernel()} asks for a true
 * convolution.
 *
 * <p>Three ways in: tensors over direct memory (zero copy, any strided input view, output freshly
 * allocated or written into a caller's tensor), flat {@code float[]} arrays with shapes, and
 * nested {@code float[N][H][W][C]} arrays for code replacing four nested loops.
 *
 * <p>Every argument is validated in Java before native code runs; a bad argument throws
 * {@link IllegalArgumentException} (shapes, options), {@link IndexOutOfBoundsException} (views
 * reaching outside their buffer), {@link NullPointerException}, {@link IllegalStateException}
 * (a closed tensor) or {@link java.nio.ReadOnlyBufferException} (a read-only output), and the
 * output is left untouched. All methods are thread-safe; concurrent calls share conv4j's
 * executor (see {@link Conv4j#setThreads}).
 */
public final class Conv2d {
    private Conv2d() {}

    // ------------------------------------------------------------------ tensors

    /** Convolution without bias into a freshly allocated output. */
    public static Tensor conv2d(Tensor input, Tensor filter, Conv2dOptions options) {
        return conv2d(input, filter, null, options, null);
    }

    /** Convolution plus bias ({@code [Cout]}, may be null) into a freshly allocated output. */
    public static Tensor conv2d(Tensor input, Tensor filter, Tensor bias, Conv2dOptions options) {
        return conv2d(input, filter, bias, options, null);
    }

    /**
     * Convolution plus bias (may be null) written into {@code output} (shape
     * {@link #outputShape}), or into a freshly allocated tensor when {@code output} is null.
     * Returns the tensor written.
     */
    public static Tensor conv2d(Tensor input, Tensor filter, Tensor bias, Conv2dOptions options, Tensor output) {
        Objects.requireNonNull(filter, "filter");
        refuseChannelsFirstRoute(options);
        return run(input, filter, bias, options, output, null);
    }

    /**
     * Prepares a filter (and bias, may be null) for repeated convolutions: both are copied, and
     * transforms some algorithms need (Winograd, FFT) are computed once, on first use, and kept.
     */
    public static PreparedFilter prepare(Tensor filter, Tensor bias, Conv2dOptions options) {
        if (options != null && options.layout() == DataLayout.NCHW && filter != null) {
            requireOpen("filter", filter);
            if (filter.rank() != 4) {
                throw new IllegalArgumentException("layout NCHW: filter must have rank 4 OIHW [Cout,Cin/groups,KH,KW], got shape " + filter.shape());
            }
            return new PreparedFilter(filter.permute(2, 3, 1, 0), bias, options); // kept HWIO
        }
        return new PreparedFilter(filter, bias, options);
    }

    /** Convolution with a prepared filter into a freshly allocated output. */
    public static Tensor conv2d(Tensor input, PreparedFilter filter) {
        return conv2d(input, filter, null);
    }

    /** Convolution with a prepared filter into {@code output} (or a fresh tensor when null). */
    public static Tensor conv2d(Tensor input, PreparedFilter filter, Tensor output) {
        Objects.requireNonNull(filter, "prepared filter");
        refuseChannelsFirstRoute(filter.options());
        return filter.use(f -> run(input, f.filter(), f.bias(), f.options(), output, f));
    }

    // ------------------------------------------------------------------ arrays

    /**
     * Convolution of flat row-major arrays: {@code input} of {@code inputShape} (NHWC), {@code filter}
     * of {@code filterShape} (HWIO), {@code bias} of {@code [Cout]} or null. Returns the output, row-major
     * NHWC of shape {@link #outputShape}.
     */
    public static float[] conv2d(float[] input, Shape inputShape, float[] filter, Shape filterShape, float[] bias,
                                 Conv2dOptions options) {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(filter, "filter");
        Shape out = outputShape(inputShape, filterShape, options);
        checkArrayLength("input", input.length, inputShape);
        checkArrayLength("filter", filter.length, filterShape);
        if (bias != null && bias.length != filterOutputChannels(filterShape, options)) {
            throw new IllegalArgumentException("bias has " + bias.length + " values but the filter has "
                    + filterOutputChannels(filterShape, options) + " output channels");
        }
        checkArraySize("output", out);
        try (Tensor x = Tensor.fromArray(input, inputShape); Tensor w = Tensor.fromArray(filter, filterShape);
             Tensor b = bias == null ? null : Tensor.fromArray(bias, Shape.of(bias.length));
             Tensor y = conv2d(x, w, b, options, null)) {
            return y.toArray();
        }
    }

    /**
     * The seed contract on nested arrays: {@code input[N][H][W][C]}, {@code filter[F][F][C][Cout]},
     * stride 1, no padding, returns {@code [N][H-F+1][W-F+1][Cout]}.
     */
    public static float[][][][] conv2d(float[][][][] input, float[][][][] filter) {
        return conv2d(input, filter, null, Conv2dOptions.defaults());
    }

    /** Nested arrays with bias (may be null) and options. */
    public static float[][][][] conv2d(float[][][][] input, float[][][][] filter, float[] bias, Conv2dOptions options) {
        Shape inShape = NestedArrays.shapeOf("input", input);
        Shape fShape = NestedArrays.shapeOf("filter", filter);
        Shape out = outputShape(inShape, fShape, options);
        checkArraySize("output", out);
        if (bias != null && bias.length != filterOutputChannels(fShape, options)) {
            throw new IllegalArgumentException("bias has " + bias.length + " values but the filter has "
                    + filterOutputChannels(fShape, options) + " output channels");
        }
        return NestedArrays.conv2d(input, inShape, filter, fShape, bias, options, out);
    }

    // ------------------------------------------------------------------ introspection

    /** The output shape {@code [N, OH, OW, Cout]} ({@code [N, Cout, OH, OW]} for layout NCHW; validates shapes and options). */
    public static Shape outputShape(Shape input, Shape filter, Conv2dOptions options) {
        return options != null ? options.layout().fromNhwc(geometryOf(input, filter, options).outputShape())
                : ConvGeometry.of(input, filter, options).outputShape();
    }

    /** The 6-D patch view conv4j builds for this input (see {@link PatchView}). */
    public static PatchView patchView(Tensor input, Shape filterShape, Conv2dOptions options) {
        Objects.requireNonNull(input, "input");
        ConvGeometry geo = ConvGeometry.of(input.shape(), filterShape, options);
        return PatchView.of(geo, input.canonical(), options.flipKernel());
    }

    /** The algorithm that would run for this input view, filter shape and options, and why. */
    public static Plan plan(Tensor input, Shape filterShape, Conv2dOptions options) {
        Objects.requireNonNull(input, "input");
        refuseChannelsFirstRoute(options);
        if (options != null && options.layout() == DataLayout.NCHW) {
            checkOihw(input.shape(), filterShape, options);
            return channelsFirstPlan(input, DataLayout.NCHW.toHwio(filterShape), options.toBuilder().layout(DataLayout.NHWC).build(), false, false);
        }
        ConvGeometry geo = ConvGeometry.of(input.shape(), filterShape, options);
        ForwardCall call = ForwardCall.of(geo, input, ForwardCall.denseOutputStrides(geo.outputShape()), options, false, false);
        String refused = input.isOpen() ? TransformGuard.refusal(call.plan.algorithm(), input, "input") : null;
        return refused == null ? call.plan : call.exact(refused).plan;
    }

    /** The algorithm that would run with this prepared filter (transforms already paid for), and why. */
    public static Plan plan(Tensor input, PreparedFilter filter) {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(filter, "prepared filter");
        Conv2dOptions o = filter.options();
        refuseChannelsFirstRoute(o);
        if (o.layout() == DataLayout.NCHW) { // the prepared filter is kept HWIO
            if (input.rank() != 4) throw new IllegalArgumentException("layout NCHW: input must have rank 4 [N,C,H,W], got shape " + input.shape());
            Conv2dOptions nhwc = o.toBuilder().layout(DataLayout.NHWC).build();
            if (nhwc.algorithm() == Algorithm.AUTO || nhwc.algorithm() == Algorithm.GEMM_NCHW) {
                return channelsFirstPlan(input, filter.filterShape(), nhwc, true, filter.bias() != null);
            }
            input = input.permute(0, 2, 3, 1);
            o = nhwc;
        }
        Tensor x = input;
        ConvGeometry geo = ConvGeometry.of(x.shape(), filter.filterShape(), o);
        ForwardCall call = ForwardCall.of(geo, x, ForwardCall.denseOutputStrides(geo.outputShape()), o, filter.bias() != null, true);
        String refused = x.isOpen() ? filter.use(f -> refusal(call.plan.algorithm(), x, f.filter(), f)) : null;
        return refused == null ? call.plan : call.exact(refused).plan;
    }

    /** A readable account of the geometry, the patch view and the chosen algorithm for a dense input. */
    public static String explain(Shape inputShape, Shape filterShape, Conv2dOptions options) {
        refuseChannelsFirstRoute(options);
        ConvGeometry geo = geometryOf(inputShape, filterShape, options);
        NativeLibrary.ensureLoaded();
        Conv2dOptions nhwc = options.toBuilder().layout(DataLayout.NHWC).build();
        Plan plan;
        if (options.layout() == DataLayout.NCHW && geo.batch() > 0 && nhwc.algorithm() == Algorithm.AUTO) {
            plan = ChannelsFirst.route(geo, ChannelsFirst.denseFirst(geo, nhwc, false), nhwc, false);
        } else if (options.layout() == DataLayout.NCHW && nhwc.algorithm() == Algorithm.GEMM_NCHW) {
            plan = Planner.plan(geo, ChannelsFirst.denseFirst(geo, nhwc, false), nhwc);
        } else {
            plan = ForwardCall.dense(geo, nhwc, false, false).plan;
        }
        return geo + "\n" + options + "\nplan: " + plan;
    }

    // ------------------------------------------------------------------ the one path every call takes

    static Tensor run(Tensor input, Tensor filter, Tensor bias, Conv2dOptions options, Tensor output, PreparedFilter prepared) {
        if (options != null && options.layout() == DataLayout.NCHW) return ChannelsFirst.run(input, filter, bias, options, output, prepared);
        if (prepared == null && Conv.anyFloat64(input, filter, bias, output)) { // the N-d engine runs float64
            Objects.requireNonNull(options, "options");
            return Conv.conv(input, filter, bias, ConvOptions.of(options), output);
        }
        BoundCall same = BoundCall.lookup(input, filter, bias, options, output, prepared);
        if (same != null) { // the same tensors as the last call: only what can have changed since is checked
            Operands.requireOpen("input", input);
            Operands.requireOpen("filter", filter);
            if (bias != null) Operands.requireOpen("bias", bias);
            if (output != null) Operands.requireOpen("output", output);
            if (same.dataAllowsPlan(input, filter, prepared)) return same.invokeInto(input, filter, bias, output);
        }
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(options, "options");
        Operands.requireOpen("input", input);
        Operands.requireOpen("filter", filter);
        if (bias != null) Operands.requireOpen("bias", bias);
        ConvGeometry geo = ConvGeometry.of(input.shape(), filter.shape(), options);
        if (bias != null) Operands.requireShape("bias", bias, Shape.of(geo.outputChannels()));
        // float64 reaches here only beside a prepared (float32) filter: refused, never read as float32
        Operands.requireFloat32("input", input);
        Operands.requireFloat32("filter", filter);
        if (bias != null) Operands.requireFloat32("bias", bias);
        if (output != null) {
            Operands.requireWritableFloat32("output", output, geo.outputShape());
            Operands.requireDisjoint("output", output, "input", input);
            Operands.requireDisjoint("output", output, "filter", filter);
            Operands.requireDisjoint("output", output, "bias", bias);
        }
        NativeLibrary.ensureLoaded();
        if (geo.batch() == 0) return output != null ? output : Tensor.allocate(geo.outputShape());

        // The native core needs channel stride 1 in the output, a contiguous filter and bias:
        // anything else goes through a temporary (filters and biases are small). Every temporary
        // (and a fresh result, on failure) is closed here, whichever allocation or call throws.
        Tensor result = output, target = null, w = null, b = null, transformed = null;
        boolean done = false, ownTransform = false;
        try {
            if (result == null) result = Tensor.allocate(geo.outputShape());
            // the channels-first routes write channel planes in place (ChannelsFirst asks for them by
            // name); DIRECT_NARROW where each plane's pixels are contiguous, as the core requires
            boolean anyStride = options.algorithm() == Algorithm.GEMM_NCHW
                    || (options.algorithm().writesChannelPlanes() && (result.canonical().stride(2) == 1 || geo.outputWidth() == 1));
            target = result.stride(3) == 1 || geo.outputChannels() == 1 || anyStride ? result : Tensor.allocate(geo.outputShape());
            w = filter.contiguous();
            b = bias == null ? null : bias.contiguous();
            Tensor y = target.canonical();
            long[] outStrides = {y.stride(0), y.stride(1), y.stride(2), geo.outputChannels() == 1 ? 1 : y.stride(3)};
            ForwardCall call = ForwardCall.of(geo, input, outStrides, options, b != null, prepared != null);
            String refused = refusal(call.plan.algorithm(), input, filter, prepared);
            if (refused != null) call = call.exact(refused);
            if (call.transformFloats() > 0) {
                if (prepared != null) {
                    transformed = prepared.transformed(call);
                } else {
                    transformed = call.transform(w);
                    ownTransform = true;
                }
            }
            BoundCall bound = new BoundCall(input, w, b, output == null ? null : target, prepared, options, call, transformed,
                    geo.outputShape());
            bound.invoke(input, w, b, target);
            // a fresh output is contiguous, as the descriptor says: a later call with the same
            // tensors may reuse the call with another fresh output
            boolean reusable = target == result && w == filter && b == bias && !ownTransform && refused == null;
            if (reusable) bound.remember();
            if (target != result) result.copyFrom(target);
            done = true;
            return result;
        } finally {
            if (target != null && target != result) target.close();
            if (w != null && w != filter) w.close();
            if (b != null && b != bias) b.close();
            if (ownTransform) transformed.close();
            if (!done && output == null && result != null) result.close();
        }
    }

    // ------------------------------------------------------------------ helpers

    /**
     * Why {@code algorithm} may not run on this data ({@link TransformGuard}), or null: the input
     * is scanned on every call, the filter too unless prepared (a prepared filter is scanned once).
     */
    static String refusal(Algorithm algorithm, Tensor input, Tensor filter, PreparedFilter prepared) {
        if (algorithm.isExact()) return null;
        String why = TransformGuard.refusal(algorithm, input, "input");
        if (why != null) return why;
        return prepared != null ? prepared.refusal(algorithm) : TransformGuard.refusal(algorithm, filter, "filter");
    }

    // ------------------------------------------------------------------ channels first (NCHW, OIHW): see ChannelsFirst

    /**
     * GEMM_NCHW runs channels-first calls only: whether it could run a channels-last one would
     * depend on the output view's strides, which a plan from shapes does not know, so the request is
     * refused by its layout, the same way by every entry point.
     */
    private static void refuseChannelsFirstRoute(Conv2dOptions o) {
        if (o != null && o.algorithm() == Algorithm.GEMM_NCHW && o.layout() != DataLayout.NCHW) {
            throw new IllegalArgumentException("algorithm GEMM_NCHW cannot run these options: it "
                    + Planner.requirements(Algorithm.GEMM_NCHW) + "; these options have layout " + o.layout());
        }
    }

    /** A filter in HWIO order given for layout NCHW is refused here, by its input-channel dimension. */
    static void checkOihw(Shape input, Shape filter, Conv2dOptions o) {
        Objects.requireNonNull(input, "input shape");
        Objects.requireNonNull(filter, "filter shape");
        if (input.rank() != 4) throw new IllegalArgumentException("layout NCHW: input must have rank 4 [N,C,H,W], got shape " + input);
        if (filter.rank() != 4) {
            throw new IllegalArgumentException("layout NCHW: filter must have rank 4 OIHW [Cout,Cin/groups,KH,KW], got shape " + filter);
        }
        long cin = input.size(1);
        if (cin % o.groups() == 0 && filter.size(1) != cin / o.groups()) {
            throw new IllegalArgumentException("layout NCHW takes an OIHW filter [Cout,Cin/groups,KH,KW]: filter " + filter + " has "
                    + filter.size(1) + " in dimension 1, but the input " + input + " has Cin/groups = " + cin / o.groups()
                    + (filter.size(2) == cin / o.groups() ? " (is the filter HWIO?)" : ""));
        }
    }

    /** The geometry of shapes given in the options' layout. */
    static ConvGeometry geometryOf(Shape input, Shape filter, Conv2dOptions options) {
        Objects.requireNonNull(options, "options");
        if (options.layout() == DataLayout.NHWC) return ConvGeometry.of(input, filter, options);
        checkOihw(input, filter, options);
        return ConvGeometry.of(DataLayout.NCHW.toNhwc(input), DataLayout.NCHW.toHwio(filter),
                options.toBuilder().layout(DataLayout.NHWC).build());
    }

    /** Output channels of a filter shape in the options' layout. */
    private static long filterOutputChannels(Shape filter, Conv2dOptions options) {
        return options.layout() == DataLayout.NCHW ? filter.size(0) : filter.size(3);
    }

    /**
     * The plan of a channels-first input (NCHW, viewed here as NHWC) with an HWIO filter shape into a
     * dense NCHW output: under AUTO, the route {@link ChannelsFirst} takes; GEMM_NCHW by name; any other
     * algorithm runs through channels-last copies.
     */
    private static Plan channelsFirstPlan(Tensor input, Shape hwio, Conv2dOptions nhwc, boolean prepared, boolean hasBias) {
        Tensor x = input.permute(0, 2, 3, 1);
        ConvGeometry geo = ConvGeometry.of(x.shape(), hwio, nhwc);
        if (geo.batch() == 0 || (nhwc.algorithm() != Algorithm.AUTO && nhwc.algorithm() != Algorithm.GEMM_NCHW)) {
            return prepared ? ForwardCall.dense(geo, nhwc, hasBias, true).plan : plan(x, hwio, nhwc);
        }
        NativeLibrary.ensureLoaded();
        long[] first = geo.toNative(x, ChannelsFirst.outputStrides(geo), nhwc, hasBias);
        return nhwc.algorithm() == Algorithm.GEMM_NCHW ? Planner.plan(geo, first, nhwc, prepared)
                : ChannelsFirst.route(geo, first, nhwc, prepared);
    }

    // The rules themselves live in Operands; these names stay for the N-d entry points (Conv).

    static void requireOpen(String what, Tensor t) {
        Operands.requireOpen(what, t);
    }

    /** requireOpen for the float32-only 2-D classes (backward, layer, prepared filter): float64 goes through {@link Conv}. */
    static void requireOpenFloat32(String what, Tensor t) {
        Operands.requireOpenFloat32(what, t);
    }

    static void requireAligned(String what, Tensor t) {
        Operands.requireAligned(what, t);
    }

    private static void checkArrayLength(String what, int length, Shape shape) {
        Objects.requireNonNull(shape, what + " shape");
        if (length != shape.numElements()) {
            throw new IllegalArgumentException(what + " array has " + length + " floats but shape " + shape + " needs "
                    + shape.numElements());
        }
    }

    private static void checkArraySize(String what, Shape shape) {
        if (shape.numElements() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(what + " of shape " + shape + " does not fit in a Java array");
        }
    }

    static void checkNoSelfOverlap(Tensor t) {
        Operands.requireNoSelfOverlap("output", t);
    }

    static void checkDisjoint(Tensor out, Tensor other, String what) {
        Operands.requireDisjoint("output", out, what, other);
    }
}
