package io.conv4j;

import io.conv4j.internal.NativeNd;
import java.nio.ByteBuffer;

/**
 * Runs one direction of the N-d engine on validated tensors, the plan and execute steps of the
 * pipeline for {@link Conv}: plans (the core's table of algorithms for the direction, cheapest
 * estimate), then executes through {@link NativeCall} (acquire every tensor's memory, run all work
 * units on conv4j's executor with the estimate in seconds, release). The tensors must already be
 * validated and described ({@link ConvDescriptor#toNative}).
 */
final class NdCall {
    private NdCall() {}

    /**
     * Direction {@code dir} with operands as in {@link NativeNd#run}; {@code c} may be null only for
     * the filter gradient (bias gradient alone).
     */
    static void run(long[] desc, int dir, Tensor a, Tensor b, Tensor bias, Tensor c) {
        int algo = NativeNd.choose(desc, dir);
        if (algo < 0) throw new IllegalArgumentException("no algorithm of the N-d engine can run this convolution");
        Kernel k = new Kernel();
        k.desc = desc;
        k.dir = dir;
        k.algo = algo;
        k.operand(0, a);
        k.operand(1, b);
        k.operand(2, bias);
        k.operand(3, c);
        k.execute(NativeNd.units(desc, dir, algo), Math.max(NativeNd.workspaceBytes(desc, dir, algo), 0),
                NativeNd.estimateSeconds(desc, dir, algo));
    }

    /** The native call of one direction of the N-d engine: slots a, b, bias, c as in {@link NativeNd#run}. */
    private static final class Kernel extends NativeCall {
        long[] desc;
        int dir, algo;

        @Override
        public void run(long u0, long u1, ByteBuffer workspace) {
            NativeNd.run(desc, dir, algo, buffer(0), offset(0), buffer(1), offset(1), buffer(2), offset(2), buffer(3), offset(3),
                    workspace, u0, u1);
        }
    }

    /** The algorithm AUTO picks for the direction, by name, and its estimate (for explain). */
    static String describe(long[] desc, int dir) {
        int algo = NativeNd.choose(desc, dir);
        if (algo < 0) return "none applies";
        return NativeNd.algorithmName(dir, algo) + String.format(" (estimated %.3g ms single-thread, %d units)",
                NativeNd.estimateSeconds(desc, dir, algo) * 1e3, NativeNd.units(desc, dir, algo));
    }

    /** Element strides of a tensor for the native descriptor (bounded on size-1 axes). */
    static long[] strides(Tensor t) {
        return t.canonical().strides();
    }
}
