package io.conv4j;

import io.conv4j.internal.NativeCore;
import java.nio.ByteBuffer;

/**
 * One 2-D forward convolution described and planned: the pipeline every forward entry point runs
 * ({@link Conv2d}'s calls, {@link PreparedFilter}, {@link Conv2dLayer}, the forward pass
 * {@link Conv2dBackward#backward} recomputes). Its steps:
 *
 * <ol>
 *   <li>validate: the caller has checked the tensors ({@link Operands}) and resolved the geometry
 *       ({@link ConvGeometry#of}, every shape and option rule);
 *   <li>describe: {@link ConvGeometry#toNative} packs the geometry and the views' strides into
 *       the core's {@code c4j_conv2d_desc}, once;
 *   <li>plan: {@link Planner} picks the algorithm (or takes the requested one) and its units,
 *       workspace, transform size and estimated time;
 *   <li>execute: {@link #execute} runs the plan's units on conv4j's executor with the plan's
 *       estimate ({@link NativeCall}); {@link #transform} computes the filter transform a plan
 *       needs (Winograd, FFT).
 * </ol>
 *
 * Immutable, so it can be cached per call site ({@link BoundCall}, a layer's buffers).
 */
final class ForwardCall {
    final ConvGeometry geo;
    final Conv2dOptions options;
    final long[] desc;
    final boolean preparedFilter;
    final Plan plan;

    private ForwardCall(ConvGeometry geo, Conv2dOptions options, long[] desc, boolean preparedFilter, Plan plan) {
        this.geo = geo;
        this.options = options;
        this.desc = desc;
        this.preparedFilter = preparedFilter;
        this.plan = plan;
    }

    /**
     * The call on this input view (its strides; bounded on size-1 axes), an output view with
     * element strides {@code outStrides} (n, h, w, c; c must be 1), with or without a bias.
     * {@code preparedFilter}: the filter transform is kept by a {@link PreparedFilter}, so the
     * planner does not charge it per call.
     */
    static ForwardCall of(ConvGeometry geo, Tensor input, long[] outStrides, Conv2dOptions options, boolean hasBias,
                          boolean preparedFilter) {
        return planned(geo, geo.toNative(input, outStrides, options, hasBias), options, preparedFilter);
    }

    /** The call on dense NHWC input and output of the geometry's shapes (for plans from shapes alone). */
    static ForwardCall dense(ConvGeometry geo, Conv2dOptions options, boolean hasBias, boolean preparedFilter) {
        long[] inStrides = Tensor.contiguousStrides(Shape.of(geo.batch(), geo.inputHeight(), geo.inputWidth(), geo.inputChannels()));
        return planned(geo, geo.toNative(inStrides, denseOutputStrides(geo.outputShape()), options.flipKernel(),
                options.activation(), hasBias), options, preparedFilter);
    }

    private static ForwardCall planned(ConvGeometry geo, long[] desc, Conv2dOptions options, boolean preparedFilter) {
        return new ForwardCall(geo, options, desc, preparedFilter, Planner.plan(geo, desc, options, preparedFilter));
    }

    /** Element strides of a dense NHWC output (channel stride 1 also where Cout = 1). */
    static long[] denseOutputStrides(Shape out) {
        long[] s = Tensor.contiguousStrides(out);
        s[3] = 1;
        return s;
    }

    /** The same call on the exact route, when {@link TransformGuard} refused this plan's transform for the data. */
    ForwardCall exact(String refusal) {
        return new ForwardCall(geo, options, desc, preparedFilter,
                TransformGuard.fallback(geo, desc, options, preparedFilter, plan, refusal));
    }

    /** Floats of the filter transform the plan needs; 0 when it reads the filter as it is. */
    long transformFloats() {
        return plan.preparedFloats();
    }

    /** The plan's filter transform of {@code filter} (contiguous HWIO), in a new tensor. */
    Tensor transform(Tensor filter) {
        Tensor t = Tensor.allocate(Shape.of(transformFloats()));
        try {
            transformInto(filter, t);
        } catch (RuntimeException | Error e) {
            t.close();
            throw e;
        }
        return t;
    }

    /** The plan's filter transform of {@code filter} (contiguous HWIO) into {@code into} ({@link #transformFloats} floats). */
    void transformInto(Tensor filter, Tensor into) {
        Transform k = new Transform();
        k.desc = desc;
        k.algo = plan.algorithm().nativeId;
        k.operand(0, filter);
        k.operand(1, into);
        k.executeHere();
    }

    /**
     * Runs the convolution: {@code filter} contiguous HWIO, {@code transformed} the plan's filter
     * transform (null when it needs none), {@code bias} contiguous or null, the tensors those the
     * descriptor was built for. {@code k} is the caller's reusable kernel object.
     */
    void execute(Kernel k, Tensor input, Tensor filter, Tensor transformed, Tensor bias, Tensor output) {
        bind(k, input, filter, transformed, bias, output).execute(plan.units(), plan.workspaceBytes(), plan.estimatedSeconds());
    }

    /** {@link #execute} on the calling thread alone, with the caller's workspace (of the plan's workspace bytes at least). */
    void executeOnCaller(Kernel k, Tensor input, Tensor filter, Tensor transformed, Tensor bias, Tensor output, ByteBuffer workspace) {
        bind(k, input, filter, transformed, bias, output).executeOnCaller(plan.units(), workspace);
    }

    private Kernel bind(Kernel k, Tensor input, Tensor filter, Tensor transformed, Tensor bias, Tensor output) {
        k.desc = desc;
        k.algo = plan.algorithm().nativeId;
        k.operand(0, input);
        k.operand(1, filter);
        k.operand(2, transformed);
        k.operand(3, bias);
        k.operand(4, output);
        return k;
    }

    /** The native forward call; one object per caller, reused. */
    static final class Kernel extends NativeCall {
        private long[] desc;
        private int algo;

        @Override
        public void run(long u0, long u1, ByteBuffer workspace) {
            NativeCore.forwardAt(desc, algo, address(0), floats(0), address(1), floats(1), address(2), floats(2), address(3),
                    floats(3), address(4), floats(4), workspace, u0, u1);
        }
    }

    /** The native filter transform of an algorithm: slot 0 the filter, slot 1 the transform. */
    private static final class Transform extends NativeCall {
        long[] desc;
        int algo;

        @Override
        public void run(long u0, long u1, ByteBuffer workspace) {
            NativeCore.prepare(desc, algo, buffer(0), offset(0), buffer(1), offset(1));
        }
    }
}
