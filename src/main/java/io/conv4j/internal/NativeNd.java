package io.conv4j.internal;

import java.nio.ByteBuffer;

/**
 * JNI entry points of the N-d engine (rank 1-3, float32 and float64; {@code conv4j_nd.h}).
 * Descriptors are the 37 fields of {@code c4j_nd_desc} in order (built by the public API's
 * descriptor class); byte offsets locate each view's element 0 in its buffer. Internal API.
 */
public final class NativeNd {
    private NativeNd() {}

    /** Directions: one algorithm table each. */
    public static final int FORWARD = 0, BACKWARD_INPUT = 1, BACKWARD_FILTER = 2;

    /** Algorithm argument: the cost model's choice. */
    public static final int AUTO = -1;

    /** The algorithm AUTO picks for the direction, or -1 when none applies. */
    public static native int choose(long[] desc, int direction);

    /** Name of an algorithm of a direction's table, or null. */
    public static native String algorithmName(int direction, int algo);

    /** Work units; 0 when the algorithm does not apply. */
    public static native long units(long[] desc, int direction, int algo);

    /** Workspace bytes per call of {@link #run}; -1 when the algorithm does not apply. */
    public static native long workspaceBytes(long[] desc, int direction, int algo);

    /** Estimated single-thread seconds; -1 when the algorithm does not apply. */
    public static native double estimateSeconds(long[] desc, int direction, int algo);

    /**
     * Units [u0, u1) of a direction. Forward: a = input, b = filter, bias, c = output. Input
     * gradient: a = grad output, b = filter, c = grad input. Filter gradient: a = input, b = grad
     * output, bias = grad bias, c = grad filter (null for the bias gradient alone).
     */
    public static native void run(long[] desc, int direction, int algo, ByteBuffer a, long aOffset, ByteBuffer b,
                                  long bOffset, ByteBuffer bias, long biasOffset, ByteBuffer c, long cOffset,
                                  ByteBuffer workspace, long unitBegin, long unitEnd);

    /** gradPre = gradOut * activation'(out) over count dense elements of the dtype (0 float32, 1 float64). */
    public static native void activationBackward(int dtype, int activation, ByteBuffer out, long outOffset,
                                                 ByteBuffer gradOut, long gradOutOffset, ByteBuffer gradPre,
                                                 long gradPreOffset, long count);
}
