package io.conv4j.internal;

import java.nio.ByteBuffer;

/**
 * The JNI entry points of the native core ({@code native/jni/conv4j_jni.c}). Not API: callers
 * validate every argument first (see {@link io.conv4j.Conv2d}); the native side checks bounds
 * again against the real buffer capacities and throws rather than touch memory it was not given.
 *
 * <p>Descriptors are {@code long[DESC_FIELDS]} in the field order of {@code c4j_conv2d_desc}
 * (packed by ConvGeometry.toNative); byte offsets are into the given direct buffers.
 */
public final class NativeCore {
    private NativeCore() {}

    /** Binds the BLAS at {@code blasPath}; {@code coretype} as in {@code c4j_blas_open}. */
    static native String open(String blasPath, String coretype, int blasThreads);

    /** {config, corename, threads, forced coretype, cpu has AVX-512} of the bound BLAS. */
    static native String[] blasInfo();

    static native void setBlasThreads(int threads);

    /** Work units of {@code algo} on the descriptor; 0 when the algorithm cannot run it. */
    public static native long units(long[] desc, int algo);

    /** Workspace bytes per call of {@link #forward}; -1 when the algorithm cannot run it. */
    public static native long workspaceBytes(long[] desc, int algo);

    /**
     * The cost model: estimated single-thread seconds of {@code algo} on the descriptor, plus
     * preparing its filter when {@code includePrepare}; -1 when the algorithm cannot run it.
     */
    public static native double estimateSeconds(long[] desc, int algo, boolean includePrepare);

    /** Plain im2col + one sgemm on the same cost model: the floor AUTO's choice is held to. */
    public static native double rooflineSeconds(long[] desc);

    /** Directions of {@link #plan} and {@link #routes} ({@code C4J_DIR_*} in conv4j.h). */
    public static final int FORWARD = 0, INPUT_GRADIENT = 1, FILTER_GRADIENT = 2;
    /** The input gradient's routes estimated without the filter's rearrangement: for a filter prepared once (a PreparedFilter). */
    public static final int INPUT_GRADIENT_PREPARED = 3;

    /**
     * AUTO, the native planner's one rule for every direction (native/src/planner.c): the route
     * id it picks for the descriptor, a function of the descriptor and {@code exactOnly} alone;
     * its reasoning, every route's estimate included, goes to {@code why[0]}.
     */
    public static native int plan(long[] desc, int direction, boolean exactOnly, String[] why);

    /** The routes of a direction's native table, in order, each as {@code name:id:exact} (exact 1 or 0). */
    public static native String[] routes(int direction);

    /**
     * dst = src for two strided 4-D float32 views of dimensions {@code dim} (byte offsets, element
     * strides) that do not overlap; bounds are checked again natively.
     */
    public static native void copyView(ByteBuffer src, long srcOffset, long[] srcStrides, ByteBuffer dst, long dstOffset,
            long[] dstStrides, long[] dim);

    /** {@code true}: the cost model times sgemm shapes on this machine (once each per process). */
    static native void measureCost(boolean on);

    /** Floats of the algorithm's prepared filter; 0 when it uses the raw filter. */
    public static native long preparedFloats(long[] desc, int algo);

    public static native void prepare(long[] desc, int algo, ByteBuffer filter, long filterOffset,
                                      ByteBuffer prepared, long preparedOffset);

    public static native void forward(long[] desc, int algo, ByteBuffer in, long inOffset,
                                      ByteBuffer filter, long filterOffset, ByteBuffer prepared,
                                      long preparedOffset, ByteBuffer bias, long biasOffset,
                                      ByteBuffer out, long outOffset, ByteBuffer workspace,
                                      long unitBegin, long unitEnd);

    /**
     * {@link #forward} on memory given as native addresses, each with the floats behind it (address
     * 0: no buffer, like a null buffer): what a caller passes that holds each tensor's storage
     * acquired across the call ({@code NativeCall}), so the JNI side need not look up each direct
     * buffer's address and capacity again. The descriptor and bounds checks are those of
     * {@link #forward}.
     */
    public static native void forwardAt(long[] desc, int algo, long in, long inFloats, long filter, long filterFloats,
                                        long prepared, long preparedFloats, long bias, long biasFloats, long out,
                                        long outFloats, ByteBuffer workspace, long unitBegin, long unitEnd);

    /**
     * One pass over a strided NHWC-like view ({@code shape} and {@code strides} in floats, 4 each):
     * bits 0-7 the biased exponent of the largest magnitude (255: an infinity or NaN), bits 8-19
     * sixteen times the mean biased exponent of the normal nonzero values (0 if none).
     */
    public static native long scanRange(ByteBuffer buffer, long byteOffset, long[] shape, long[] strides);

    /** Zero-filled, 64-byte aligned native memory; {@link OutOfMemoryError} when it fails. */
    static native ByteBuffer allocate(long bytes);

    static native void free(long address);

    public static native long address(ByteBuffer buffer);

    public static native long allocatedBytes();

    public static native long peakAllocatedBytes();

    public static native void resetPeakAllocatedBytes();

    /** Test hook: the next {@code count} native allocations fail. */
    public static native void failNextAllocations(int count);
}
