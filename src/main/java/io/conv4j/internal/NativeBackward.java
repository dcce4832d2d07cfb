package io.conv4j.internal;

import java.nio.ByteBuffer;

/**
 * The JNI entry points of the native backward pass ({@code native/jni/conv4j_jni_backward.c}).
 * Not API: callers validate every argument first (see {@link io.conv4j.Conv2dBackward}); the
 * native side runs the core's bounds check against the real buffer capacities again and throws
 * rather than touch memory it was not given.
 *
 * <p>Descriptors are those of the forward convolution ({@code c4j_conv2d_desc}, packed by ConvGeometry.toNative): the input view's
 * strides describe the input (filter gradient) or the input gradient (input gradient), the output
 * view's strides the output gradient. Byte offsets are into the given direct buffers.
 *
 * <p>Routes (see {@code conv4j.h}): {@link #AUTO} lets the cost model choose from the descriptor,
 * {@link #GEMM} is the sgemm route that runs every geometry, {@link #SCATTER} and {@link #TAPS} others for the
 * input gradient, any other value a forward algorithm's native id (the input gradient as a forward
 * convolution of dL/d(output), stride 1) or a Winograd or FFT id (the filter gradient, stride 1). Every call for one gradient must pass the same route.
 */
public final class NativeBackward {
    private NativeBackward() {}

    /** Route argument: the cost model's choice for the descriptor. */
    public static final int AUTO = -1;
    /** Route argument: the sgemm route (stride-phase gather for dX, sgemm-accumulated blocks for dW). */
    public static final int GEMM = 0;
    /** Route argument, input gradient: patch gradients by sgemm, added up per input pixel (few input channels). */
    public static final int SCATTER = 16;
    /**
     * Route argument, input gradient (stride 1): one sgemm per filter tap on the filter as it is,
     * so its "prepared" filter is the contiguous filter itself and nothing is rearranged per call.
     */
    public static final int TAPS = 17;
    /**
     * Route argument, filter gradient (3x3, stride 1): Winograd F(3x3, 4x4) with every tile's transforms of a block of
     * channels kept in cache and the products summed in registers (few tiles: deep layers at small batch); a transform
     * route, guarded as {@code WINOGRAD_4X4} is.
     */
    public static final int WINOGRAD_FUSED = 18;

    /** The route {@link #AUTO} resolves to for the input gradient. */
    public static native int inputRoute(long[] desc);

    /** The route {@link #AUTO} resolves to for the filter gradient. */
    public static native int filterRoute(long[] desc);

    /** Estimated single-thread seconds of the input gradient by {@code route}, or -1 when it cannot run. */
    public static native double inputEstimateSeconds(long[] desc, int route);

    /** Estimated single-thread seconds of the filter gradient by {@code route}, or -1 when it cannot run. */
    public static native double filterEstimateSeconds(long[] desc, int route);

    /** Work units of the input gradient; 0 for an empty batch. */
    public static native long inputUnits(long[] desc, int route);

    /** Workspace bytes per call of {@link #backwardInput}. */
    public static native long inputWorkspaceBytes(long[] desc, int route);

    /** Floats of the rearranged (GEMM: the filter's size) or transformed filter {@link #backwardInput} reads. */
    public static native long inputPreparedFloats(long[] desc, int route);

    /** Independent units of {@link #prepareInput} (1 when the route prepares its filter in one piece); 0 when it cannot run. */
    public static native long inputPrepareUnits(long[] desc, int route);

    /** Units [unitBegin, unitEnd) of the rearranged (transformed) filter the input gradient needs. */
    public static native void prepareInput(long[] desc, int route, ByteBuffer filter, long filterOffset, ByteBuffer prepared,
                                           long preparedOffset, long unitBegin, long unitEnd);

    /** Units [unitBegin, unitEnd) of dL/d(input) from dL/d(pre-activation output). */
    public static native void backwardInput(long[] desc, int route, ByteBuffer gradOut, long gradOutOffset, ByteBuffer prepared,
                                            long preparedOffset, ByteBuffer gradIn, long gradInOffset,
                                            ByteBuffer workspace, long unitBegin, long unitEnd);

    /** Work units of the filter and bias gradients (also for an empty batch: they write zeros). */
    public static native long filterUnits(long[] desc, int route);

    /** Workspace bytes per call of {@link #backwardFilter}. */
    public static native long filterWorkspaceBytes(long[] desc, int route);

    /**
     * Floats of the partial sums {@link #backwardFilter} needs when it splits the output pixels
     * into ranges (0 when it does not); the caller passes them in, like the workspace.
     */
    public static native long filterPartialFloats(long[] desc, int route);

    /** Units of {@link #backwardFilterReduce}; 0 when there are no partial sums to add. */
    public static native long filterReduceUnits(long[] desc, int route);

    /**
     * Units [unitBegin, unitEnd) of dL/d(filter) (into a contiguous HWIO buffer; null for the bias
     * gradient alone, then {@code in} may be null) and, when the descriptor's has_bias is set,
     * dL/d(bias). With partial sums, {@link #backwardFilterReduce} must run after all units.
     */
    public static native void backwardFilter(long[] desc, int route, ByteBuffer in, long inOffset, ByteBuffer gradOut,
                                             long gradOutOffset, ByteBuffer gradFilter, long gradFilterOffset,
                                             ByteBuffer gradBias, long gradBiasOffset, ByteBuffer partials,
                                             long partialsOffset, ByteBuffer workspace, long unitBegin, long unitEnd);

    /** Units [unitBegin, unitEnd) of adding the partial sums into the filter and bias gradients. */
    public static native void backwardFilterReduce(long[] desc, int route, ByteBuffer gradFilter, long gradFilterOffset,
                                                   ByteBuffer gradBias, long gradBiasOffset, ByteBuffer partials,
                                                   long partialsOffset, long unitBegin, long unitEnd);

    /**
     * Units of both gradients in one call ({@link #backwardBothAt}): the filter gradient's (descriptor
     * {@code descFilter}, route {@code filterRoute}) followed by the input gradient's; 0 when they
     * cannot run as one call (the filter gradient has partial sums, or the descriptors are not of
     * one convolution).
     */
    public static native long bothUnits(long[] descFilter, int filterRoute, long[] descInput, int inputRoute);

    /** Workspace bytes per call of {@link #backwardBothAt}; -1 when {@link #bothUnits} is 0. */
    public static native long bothWorkspaceBytes(long[] descFilter, int filterRoute, long[] descInput, int inputRoute);

    /**
     * Units [unitBegin, unitEnd) of {@link #bothUnits}: dL/d(filter) (and dL/d(bias) when the filter
     * descriptor's has_bias is set) as {@link #backwardFilter}, then dL/d(input) as {@link #backwardInput}, with
     * their bits; the buffers are those two calls' (no partial sums), each given as a native address
     * and the floats behind it (address 0: no buffer), as {@link NativeCore#forwardAt} takes them, with
     * the same checks as the two calls.
     */
    public static native void backwardBothAt(long[] descFilter, int filterRoute, long[] descInput, int inputRoute, long in,
                                             long inFloats, long gradOut, long gradOutFloats, long gradFilter,
                                             long gradFilterFloats, long gradBias, long gradBiasFloats, long prepared,
                                             long preparedFloats, long gradIn, long gradInFloats, ByteBuffer workspace,
                                             long unitBegin, long unitEnd);

    /** gradPre = gradOut * activation'(out) over {@code count} dense floats (gradPre may be gradOut). */
    public static native void activationBackward(int activation, ByteBuffer out, long outOffset, ByteBuffer gradOut,
                                                 long gradOutOffset, ByteBuffer gradPre, long gradPreOffset, long count);
}
