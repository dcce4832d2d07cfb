package io.conv4j;

import io.conv4j.internal.NativeBackward;
import io.conv4j.internal.NativeCore;
import io.conv4j.internal.NativeLibrary;
import java.util.Objects;

/**
 * Gradients of {@link Conv2d#conv2d} (TensorFlow semantics, every option: strides, dilations,
 * VALID/SAME/explicit padding, groups and depthwise, bias, the flipped kernel, fused activation)
 * given dL/d(output):
 *
 * <ul>
 *   <li>{@link #gradInput} dL/d(input), which is also the transposed convolution
 *       ({@link #conv2dTranspose}, TensorFlow's {@code conv2d_transpose} with the forward filter);
 *   <li>{@link #gradFilter} dL/d(filter) and {@link #gradBias} dL/d(bias);
 *   <li>{@link #backward} all three at once, applying the derivative of the fused activation
 *       first (from the forward output, recomputed when not given).
 * </ul>
 *
 * <p>{@code gradInput}, {@code gradFilter} and {@code gradBias} take the gradient with respect to
 * the convolution's result before any activation; options with an activation are refused there
 * (use {@link #backward}, or {@link #activationGrad} first). Every contraction runs as OpenBLAS
 * sgemm in the native core, spread over conv4j's executor in work units fixed by the convolution,
 * so results are bit-identical for any thread count; workspaces are bounded and independent of
 * the batch size. How each gradient is computed is chosen by conv4j's cost model from the
 * convolution alone (so it is the same on every call): for stride 1, dL/d(input) may run as the
 * forward convolution of dL/d(output) with the rotated, channel-transposed filter (Winograd for
 * 3x3, FFT for large kernels), with few input channels as patch gradients added up per input
 * pixel, and dL/d(filter) of 3x3 stride-1 layers as Winograd
 * F(3x3, 4x4) or F(3x3, 2x2). With a filter tensor, the input gradient's filter is rearranged
 * (transformed) on every call; with a {@link PreparedFilter} (the weights of one training step,
 * shared with its forward pass) it is computed once and kept there. {@link Conv2dOptions#algorithm()}
 * only steers the forward pass that {@link #backward} may recompute.
 *
 * <p>Arguments are validated in Java first with the same rules and exceptions as {@link Conv2d}
 * (IllegalArgumentException naming the parameter, IndexOutOfBoundsException, NullPointerException,
 * IllegalStateException for a closed tensor, ReadOnlyBufferException for a read-only target), and
 * nothing is written when one is refused. Thread-safe.
 */
public final class Conv2dBackward {
    private Conv2dBackward() {}

    // ------------------------------------------------------------------ dL/d(input)

    /**
     * dL/d(input) {@code [N, H, W, Cin]} (= {@code inputShape}) of a convolution with
     * {@code filter} and {@code options}, given {@code gradOutput} = dL/d(output)
     * {@code [N, OH, OW, Cout]}, into a fresh tensor.
     */
    public static Tensor gradInput(Tensor gradOutput, Tensor filter, Shape inputShape, Conv2dOptions options) {
        return gradInput(gradOutput, filter, inputShape, options, null);
    }

    /** As {@link #gradInput(Tensor, Tensor, Shape, Conv2dOptions)}, written into {@code into} (any view) when not null. */
    public static Tensor gradInput(Tensor gradOutput, Tensor filter, Shape inputShape, Conv2dOptions options, Tensor into) {
        Objects.requireNonNull(inputShape, "input shape");
        Operands.requireFloat32("gradOutput", gradOutput);
        Operands.requireFloat32("filter", filter);
        Objects.requireNonNull(options, "options");
        ConvGeometry geo = ConvGeometry.of(inputShape, filter.shape(), options);
        Operands.requireNoActivation(options.activation(), "gradInput", "Conv2dBackward");
        Operands.requireShape("gradOutput", gradOutput, geo.outputShape());
        if (into != null) {
            Operands.requireWritableFloat32("gradInput", into, inputShape);
            Operands.requireDisjoint("gradInput", into, "gradOutput", gradOutput);
            Operands.requireDisjoint("gradInput", into, "filter", filter);
        }
        NativeLibrary.ensureLoaded();
        Tensor result = into != null ? into : Tensor.allocate(inputShape);
        Tensor dz = BackwardCall.usableAsOutputView(gradOutput) ? gradOutput : gradOutput.contiguous();
        try {
            runGradInput(geo, options, dz, filter, result, null);
            return result;
        } catch (RuntimeException | Error e) {
            if (into == null) result.close();
            throw e;
        } finally {
            if (dz != gradOutput) dz.close();
        }
    }

    /**
     * The transposed convolution ("deconvolution") of {@code input} {@code [N, OH, OW, Cout]}
     * with an HWIO {@code filter} {@code [KH, KW, Cin/groups, Cout]}: the gradient of the forward
     * convolution with that filter and these options, whose input has {@code outputShape}
     * {@code [N, H, W, Cin]} (needed because with strides several input sizes give the same output
     * size). TensorFlow's {@code conv2d_transpose(input, filter, outputShape, strides, padding)}.
     */
    public static Tensor conv2dTranspose(Tensor input, Tensor filter, Shape outputShape, Conv2dOptions options) {
        return gradInput(input, filter, outputShape, options, null);
    }

    // ------------------------------------------------------------------ dL/d(filter), dL/d(bias)

    /**
     * dL/d(filter) ({@code filterShape}, HWIO) of a convolution of {@code input} (any view) with
     * {@code options}, given {@code gradOutput} = dL/d(output), into a fresh tensor.
     */
    public static Tensor gradFilter(Tensor input, Tensor gradOutput, Shape filterShape, Conv2dOptions options) {
        return gradFilter(input, gradOutput, filterShape, options, null);
    }

    /** As {@link #gradFilter(Tensor, Tensor, Shape, Conv2dOptions)}, written into {@code into} when not null. */
    public static Tensor gradFilter(Tensor input, Tensor gradOutput, Shape filterShape, Conv2dOptions options, Tensor into) {
        Objects.requireNonNull(filterShape, "filter shape");
        Operands.requireFloat32("input", input);
        Operands.requireFloat32("gradOutput", gradOutput);
        Objects.requireNonNull(options, "options");
        ConvGeometry geo = ConvGeometry.of(input.shape(), filterShape, options);
        Operands.requireNoActivation(options.activation(), "gradFilter", "Conv2dBackward");
        Operands.requireShape("gradOutput", gradOutput, geo.outputShape());
        if (into != null) {
            Operands.requireWritableFloat32("gradFilter", into, filterShape);
            Operands.requireDisjoint("gradFilter", into, "input", input);
            Operands.requireDisjoint("gradFilter", into, "gradOutput", gradOutput);
        }
        NativeLibrary.ensureLoaded();
        Tensor result = into != null ? into : Tensor.allocate(filterShape);
        Tensor target = result.isContiguous() ? result : Tensor.allocate(filterShape);
        Tensor dz = BackwardCall.usableAsOutputView(gradOutput) ? gradOutput : gradOutput.contiguous();
        try {
            runGradFilter(geo, options, input, dz, target, null, null);
            if (target != result) result.copyFrom(target);
            return result;
        } catch (RuntimeException | Error e) {
            if (into == null) result.close();
            throw e;
        } finally {
            if (target != result) target.close();
            if (dz != gradOutput) dz.close();
        }
    }

    /** dL/d(bias) {@code [Cout]}: the sum of {@code gradOutput} {@code [N, OH, OW, Cout]} over N, OH, OW. */
    public static Tensor gradBias(Tensor gradOutput) {
        return gradBias(gradOutput, null);
    }

    /** As {@link #gradBias(Tensor)}, written into {@code into} ({@code [Cout]}) when not null. */
    public static Tensor gradBias(Tensor gradOutput, Tensor into) {
        Operands.requireFloat32("gradOutput", gradOutput);
        Shape s = gradOutput.shape();
        if (s.rank() != 4) throw new IllegalArgumentException("gradOutput must have rank 4 [N,OH,OW,Cout], got shape " + s);
        for (int i = 1; i < 4; i++) {
            if (s.size(i) < 1 || s.size(i) > ConvGeometry.MAX_DIM) {
                throw new IllegalArgumentException("gradOutput dimension " + i + " must be in [1, " + ConvGeometry.MAX_DIM
                        + "], got shape " + s);
            }
        }
        Shape biasShape = Shape.of(s.size(3));
        if (into != null) {
            Operands.requireWritableFloat32("gradBias", into, biasShape);
            Operands.requireDisjoint("gradBias", into, "gradOutput", gradOutput);
        }
        NativeLibrary.ensureLoaded();
        Tensor result = into != null ? into : Tensor.allocate(biasShape);
        Tensor target = result.isContiguous() ? result : Tensor.allocate(biasShape);
        Tensor dz = BackwardCall.usableAsOutputView(gradOutput) ? gradOutput : gradOutput.contiguous();
        try {
            // a 1x1 convolution whose input is the output gradient itself: only the bias part runs,
            // and the input is never read
            Conv2dOptions o = Conv2dOptions.defaults();
            ConvGeometry geo = ConvGeometry.of(dz.shape(), Shape.of(1, 1, s.size(3), s.size(3)), o);
            runGradFilter(geo, o, dz, dz, null, target, null);
            if (target != result) result.copyFrom(target);
            return result;
        } catch (RuntimeException | Error e) {
            if (into == null) result.close();
            throw e;
        } finally {
            if (target != result) target.close();
            if (dz != gradOutput) dz.close();
        }
    }

    // ------------------------------------------------------------------ activation

    /**
     * dL/d(pre-activation output) from dL/d(output) and the forward {@code output} (shape
     * {@code [N, OH, OW, Cout]}): {@code gradOutput} times {@code relu'(y) = [y > 0]} or
     * {@code relu6'(y) = [0 < y < 6]} (TensorFlow's ReluGrad / Relu6Grad), a copy for NONE; where y is
     * NaN the gradient passes unchanged (as in PyTorch), so a NaN is not hidden behind a zero gradient.
     * Fresh tensor.
     */
    public static Tensor activationGrad(Tensor output, Tensor gradOutput, Activation activation) {
        Objects.requireNonNull(activation, "activation");
        Operands.requireFloat32("gradOutput", gradOutput);
        if (activation != Activation.NONE) {
            Operands.requireFloat32("output", output);
            Operands.requireShape("output", output, gradOutput.shape());
        }
        NativeLibrary.ensureLoaded();
        Tensor g = gradOutput.contiguous();
        Tensor y = activation == Activation.NONE ? g : output.contiguous();
        Tensor result = Tensor.allocate(gradOutput.shape());
        try {
            BackwardCall.activation(activation, y, g, result, false);
            return result;
        } catch (RuntimeException | Error e) {
            result.close();
            throw e;
        } finally {
            if (g != gradOutput) g.close();
            if (y != output && y != g) y.close();
        }
    }

    // ------------------------------------------------------------------ everything at once

    /**
     * dL/d(input), dL/d(filter) and dL/d(bias) (when {@code bias} is not null) of
     * {@code output = activation(conv2d(input, filter) + bias)}, given {@code gradOutput} =
     * dL/d(output). {@code output} is the forward result, needed for the activation's derivative:
     * pass it when the options have an activation, or null to have it recomputed (it is not
     * read without an activation). Fresh gradients.
     */
    public static Conv2dGradients backward(Tensor input, Tensor filter, Tensor bias, Tensor output, Tensor gradOutput,
                                           Conv2dOptions options) {
        return backward(input, filter, bias, output, gradOutput, options, null);
    }

    /**
     * As {@link #backward(Tensor, Tensor, Tensor, Tensor, Tensor, Conv2dOptions)}, into {@code into}
     * (see {@link Conv2dGradients#allocate}; it must have a bias gradient exactly when {@code bias}
     * is given) when not null: one full backward pass over caller-owned tensors, what a benchmark
     * times. Returns the gradients written.
     */
    public static Conv2dGradients backward(Tensor input, Tensor filter, Tensor bias, Tensor output, Tensor gradOutput,
                                           Conv2dOptions options, Conv2dGradients into) {
        return backward(input, filter, bias, output, gradOutput, options, into, null);
    }

    /**
     * The backward pass of a training step whose weights are {@code filter}, the prepared filter its
     * forward pass ran with: as
     * {@link #backward(Tensor, Tensor, Tensor, Tensor, Tensor, Conv2dOptions, Conv2dGradients)} with
     * the filter, bias and options of {@code filter} (layout NHWC), into {@code into} or, when it
     * is null, fresh gradients. The input gradient reads the rearranged or transformed filter that
     * {@code filter} keeps ({@link PreparedFilter}: computed on its first backward call for an input
     * shape), so one preparation per weight version serves every forward and backward call of
     * that version; its route is the cost model's without that preparation, so it may differ from
     * the plain call's (results agree within the routes' rounding and are bit-identical for any
     * thread count).
     */
    public static Conv2dGradients backward(Tensor input, PreparedFilter filter, Tensor output, Tensor gradOutput,
                                           Conv2dGradients into) {
        Objects.requireNonNull(filter, "prepared filter");
        return filter.use(f -> backward(input, f.filter(), f.bias(), output, gradOutput, f.options(), into, f));
    }

    /** The backward pass; {@code prepared}: the prepared filter {@code filter} and {@code bias} are of, or null. */
    private static Conv2dGradients backward(Tensor input, Tensor filter, Tensor bias, Tensor output, Tensor gradOutput,
                                            Conv2dOptions options, Conv2dGradients into, PreparedFilter prepared) {
        BoundBackward same = into == null ? null : into.boundBackward(input, filter, bias, gradOutput, options, prepared);
        if (same != null) { // the very same tensors and options as this object's last call: validated, described and planned then
            same.run(input, filter, gradOutput, prepared, into);
            return into;
        }
        Operands.requireFloat32("input", input);
        Operands.requireFloat32("filter", filter);
        Operands.requireFloat32("gradOutput", gradOutput);
        Objects.requireNonNull(options, "options");
        ConvGeometry geo = ConvGeometry.of(input.shape(), filter.shape(), options);
        if (bias != null) {
            Operands.requireFloat32("bias", bias);
            Operands.requireShape("bias", bias, Shape.of(geo.outputChannels()));
        }
        Operands.requireShape("gradOutput", gradOutput, geo.outputShape());
        Activation act = options.activation();
        if (output != null && act != Activation.NONE) {
            Operands.requireFloat32("output", output);
            Operands.requireShape("output", output, geo.outputShape());
        }
        if (into != null) {
            if ((into.bias() != null) != (bias != null)) {
                throw new IllegalArgumentException(bias != null ? "into has no bias gradient but a bias is given"
                        : "into has a bias gradient but no bias is given");
            }
            Tensor gi = into.input(), gf = into.filter(), gb = into.bias();
            Operands.requireWritableFloat32("gradInput", gi, input.shape());
            Operands.requireWritableFloat32("gradFilter", gf, filter.shape());
            if (gb != null) Operands.requireWritableFloat32("gradBias", gb, bias.shape());
            String[] names = {"input", "filter", "bias", "output", "gradOutput"};
            Tensor[] reads = {input, filter, bias, act != Activation.NONE ? output : null, gradOutput};
            for (int i = 0; i < reads.length; i++) { // every output against every input...
                Operands.requireDisjoint("gradInput", gi, names[i], reads[i]);
                Operands.requireDisjoint("gradFilter", gf, names[i], reads[i]);
                if (gb != null) Operands.requireDisjoint("gradBias", gb, names[i], reads[i]);
            }
            Operands.requireDisjoint("gradInput", gi, "gradFilter", gf); // ...and every other output
            Operands.requireDisjoint("gradInput", gi, "gradBias", gb);
            if (gb != null) Operands.requireDisjoint("gradFilter", gf, "gradBias", gb);
        }
        NativeLibrary.ensureLoaded();
        Conv2dGradients result = into != null ? into : Conv2dGradients.allocate(input.shape(), filter.shape(), bias != null);
        Tensor dz = null, y = null, yc = null, gc = null, dw = null, db = null;
        try {
            if (act == Activation.NONE) {
                dz = BackwardCall.usableAsOutputView(gradOutput) ? gradOutput : gradOutput.contiguous();
            } else {
                y = output != null ? output : Conv2d.run(input, filter, bias, options, null, prepared);
                yc = y.contiguous();
                gc = gradOutput.contiguous();
                dz = result.scratch(Conv2dGradients.GRAD_PRE, geo.outputShape());
                BackwardCall.activation(act, yc, gc, dz, false);
            }
            dw = result.filter().isContiguous() ? result.filter() : Tensor.allocate(filter.shape());
            db = bias == null ? null : result.bias().isContiguous() ? result.bias() : Tensor.allocate(bias.shape());
            BackwardCall.Filter filterCall = BackwardCall.Filter.of(geo, options, input, BackwardCall.outputViewStrides(dz),
                    db != null, result);
            runGradFilter(filterCall, input, dz, dw, db, result);
            BackwardCall.Input inputCall = null;
            if (geo.batch() > 0) {
                long[] dzStrides = BackwardCall.outputViewStrides(dz);
                inputCall = prepared != null ? BackwardCall.Input.ofPrepared(geo, options, result.input(), dzStrides, result)
                        : BackwardCall.Input.of(geo, options, result.input(), dzStrides, result);
                if (prepared != null) runGradInput(inputCall, geo, options, dz, prepared, result.input(), result);
                else runGradInput(inputCall, dz, filter, result.input(), result);
            }
            if (dw != result.filter()) result.filter().copyFrom(dw);
            if (db != null && db != result.bias()) result.bias().copyFrom(db);
            // a loop calling again with these tensors skips validation, description and planning: bind
            // what ran straight on the caller's tensors (no activation, no copies)
            if (into != null && inputCall != null && act == Activation.NONE && dz == gradOutput && dw == result.filter()
                    && db == result.bias()) {
                into.bindBackward(new BoundBackward(input, filter, bias, gradOutput, prepared, options, geo, filterCall,
                        inputCall));
            }
            if (into == null) result.releaseScratch();
            return result;
        } catch (RuntimeException | Error e) {
            if (into == null) result.close();
            throw e;
        } finally {
            if (dw != null && dw != result.filter()) dw.close();
            if (db != null && db != result.bias()) db.close();
            if (dz != null && dz != gradOutput && act == Activation.NONE) dz.close(); // else it is scratch of result
            if (gc != null && gc != gradOutput) gc.close();
            if (yc != null && yc != y) yc.close();
            if (y != null && y != output) y.close();
        }
    }

    /**
     * Floating-point operations of one backward pass as {@link #backward} runs it, for GFLOP/s
     * figures: the input and filter gradients are each as many multiply-adds as the forward
     * convolution, so this is twice {@link ConvGeometry#flops()} (the bias gradient's additions
     * are not counted).
     */
    public static double flops(Shape inputShape, Shape filterShape, Conv2dOptions options) {
        return 2 * ConvGeometry.of(inputShape, filterShape, options).flops();
    }

    // ------------------------------------------------------------------ shared with Conv2dLayer

    /**
     * Runs the input gradient: dz usable as an output view, filter any view, target validated;
     * scratch memory from {@code cache} when not null, else allocated for this call.
     */
    static void runGradInput(ConvGeometry geo, Conv2dOptions o, Tensor dz, Tensor filter, Tensor target, Conv2dGradients cache) {
        if (geo.batch() == 0) return;
        runGradInput(BackwardCall.Input.of(geo, o, target, BackwardCall.outputViewStrides(dz), cache), dz, filter, target, cache);
    }

    /** As {@link #runGradInput(ConvGeometry, Conv2dOptions, Tensor, Tensor, Tensor, Conv2dGradients)}, planned ({@code call}, batch above 0). */
    static void runGradInput(BackwardCall.Input call, Tensor dz, Tensor filter, Tensor target, Conv2dGradients cache) {
        Tensor w = filter.contiguous();
        Tensor prepared = null;
        try {
            if (TransformGuard.inputGradientRefusal(call.route, dz, w) != null) {
                call = call.withRoute(TransformGuard.exactInputRoute(call.desc));
            }
            if (call.preparedFloats > 0) {
                Shape ps = Shape.of(call.preparedFloats);
                prepared = cache != null ? cache.scratch(Conv2dGradients.PREPARED, ps) : Tensor.allocate(ps);
            }
            call.execute(new BackwardCall.InputKernel(), dz, w, prepared, target);
        } finally {
            if (prepared != null && cache == null) prepared.close();
            if (w != filter) w.close();
        }
    }

    /**
     * As {@link #runGradInput(ConvGeometry, Conv2dOptions, Tensor, Tensor, Tensor, Conv2dGradients)}
     * with the filter of {@code pf}, reading the input-gradient filter {@code pf} keeps; data that
     * {@link TransformGuard} refuses to a transform route takes the plain call's exact route.
     */
    static void runGradInput(ConvGeometry geo, Conv2dOptions o, Tensor dz, PreparedFilter pf, Tensor target,
                             Conv2dGradients cache) {
        if (geo.batch() == 0) return;
        runGradInput(BackwardCall.Input.ofPrepared(geo, o, target, BackwardCall.outputViewStrides(dz), cache), geo, o, dz, pf,
                target, cache);
    }

    /** As {@link #runGradInput(ConvGeometry, Conv2dOptions, Tensor, PreparedFilter, Tensor, Conv2dGradients)}, planned ({@code call}, batch above 0). */
    static void runGradInput(BackwardCall.Input call, ConvGeometry geo, Conv2dOptions o, Tensor dz, PreparedFilter pf,
                             Tensor target, Conv2dGradients cache) {
        if (preparedRefused(call, dz, pf)) {
            runGradInput(geo, o, dz, pf.filter(), target, cache);
            return;
        }
        Tensor kept = pf.inputGradientFilter(call);
        if (kept != null || call.preparedFloats <= 0) {
            call.run(new BackwardCall.InputKernel(), dz, pf.filter(), kept, target);
            return;
        }
        Shape ps = Shape.of(call.preparedFloats); // more descriptors than the prepared filter keeps: prepared for this call
        Tensor scratch = cache != null ? cache.scratch(Conv2dGradients.PREPARED, ps) : Tensor.allocate(ps);
        try {
            call.execute(new BackwardCall.InputKernel(), dz, pf.filter(), scratch, target);
        } finally {
            if (cache == null) scratch.close();
        }
    }

    /**
     * Whether {@link TransformGuard} refuses {@code call}'s transform route for these data or for the
     * prepared filter {@code pf} (then the input gradient takes the plain call's exact route).
     */
    static boolean preparedRefused(BackwardCall.Input call, Tensor dz, PreparedFilter pf) {
        Algorithm a = TransformGuard.transformOf(call.route);
        return a != null && (TransformGuard.refusal(a, dz, "gradient of the output") != null || pf.refusal(a) != null);
    }

    /** Runs the filter (contiguous target or null) and bias (contiguous target or null) gradients. */
    static void runGradFilter(ConvGeometry geo, Conv2dOptions o, Tensor input, Tensor dz, Tensor dw, Tensor db,
                              Conv2dGradients cache) {
        runGradFilter(BackwardCall.Filter.of(geo, o, input, BackwardCall.outputViewStrides(dz), db != null, cache), input, dz,
                dw, db, cache);
    }

    /** As {@link #runGradFilter(ConvGeometry, Conv2dOptions, Tensor, Tensor, Tensor, Tensor, Conv2dGradients)}, planned ({@code call}). */
    static void runGradFilter(BackwardCall.Filter call, Tensor input, Tensor dz, Tensor dw, Tensor db, Conv2dGradients cache) {
        if (TransformGuard.filterGradientRefusal(call.route, input, dz) != null) call = call.withRoute(NativeBackward.GEMM);
        Shape ps = Shape.of(call.partialFloats);
        Tensor partials = call.partialFloats <= 0 ? null
                : cache != null ? cache.scratch(Conv2dGradients.PARTIALS, ps) : Tensor.allocate(ps);
        try {
            call.execute(new BackwardCall.FilterKernel(), new BackwardCall.ReduceKernel(), input, dz, dw, db, partials);
        } finally {
            if (partials != null && cache == null) partials.close();
        }
    }

    /**
     * Test hooks: the route every input (filter) gradient takes from now on, as a native id (see
     * {@link NativeBackward}), or {@link NativeBackward#AUTO} for the cost model's choice. Read when
     * a gradient is computed ({@link Conv2dLayer}: when its buffers are built).
     */
    static volatile int inputRouteOverride = NativeBackward.AUTO, filterRouteOverride = NativeBackward.AUTO;

    /**
     * The route of the input gradient for {@code desc}: forced, remembered in {@code cache}, or the
     * cost model's ({@code preparedFilter}: estimated without the filter's rearrangement, which a
     * {@link PreparedFilter} pays once).
     */
    static int inputRoute(long[] desc, boolean exactOnly, boolean preparedFilter, Conv2dGradients cache) {
        int forced = inputRouteOverride;
        if (forced != NativeBackward.AUTO) return forced;
        if (cache == null) return planRoute(preparedFilter ? NativeCore.INPUT_GRADIENT_PREPARED : NativeCore.INPUT_GRADIENT, desc, exactOnly);
        return cache.route(preparedFilter ? Conv2dGradients.INPUT_PREPARED_ROUTE : Conv2dGradients.INPUT_ROUTE, desc, exactOnly);
    }

    /** The route of the filter gradient for {@code desc}, as {@link #inputRoute}. */
    static int filterRoute(long[] desc, boolean exactOnly, Conv2dGradients cache) {
        int forced = filterRouteOverride;
        if (forced != NativeBackward.AUTO) return forced;
        if (cache == null) return planRoute(NativeCore.FILTER_GRADIENT, desc, exactOnly);
        return cache.route(Conv2dGradients.FILTER_ROUTE, desc, exactOnly);
    }

    /**
     * The native planner's route for a gradient direction ({@link NativeCore#INPUT_GRADIENT},
     * {@link NativeCore#FILTER_GRADIENT}): the same rule as the forward pass, so
     * {@link Conv2dOptions#exactOnly()} keeps the gradients off the transform routes too.
     */
    static int planRoute(int direction, long[] desc, boolean exactOnly) {
        return NativeCore.plan(desc, direction, exactOnly, null);
    }

    static IllegalArgumentException tooLarge(ConvGeometry geo) {
        return new IllegalArgumentException("convolution too large for the backward pass (kernel_h*kernel_w*out_c/groups"
                + " must fit in an int): " + geo);
    }


}
