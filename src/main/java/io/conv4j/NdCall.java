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
        k.a = a;
        k.b = b;
        k.bias = bias;
        k.c = c;
        k.execute(NativeNd.units(desc, dir, algo), Math.max(NativeNd.workspaceBytes(desc, dir, algo), 0),
                NativeNd.estimateSeconds(desc, dir, algo));
    }

    /** The native call of one direction of the N-d engine. */
    private static final class Kernel extends NativeCall {
        long[] desc;
        int dir, algo;
        Tensor a, b, bias, c;
        private ByteBuffer ab, bb, biasb, cb;
        private long ao, bo, biaso, co;

        @Override
        void acquire() {
            ab = hold(a);
            bb = hold(b);
            biasb = hold(bias);
            cb = hold(c);
            ao = bytes(a);
            bo = bytes(b);
            biaso = bytes(bias);
            co = bytes(c);
        }

        @Override
        public void run(long u0, long u1, ByteBuffer workspace) {
            NativeNd.run(desc, dir, algo, ab, ao, bb, bo, biasb, biaso, cb, co, workspace, u0, u1);
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
