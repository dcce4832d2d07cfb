package io.conv4j;

import io.conv4j.internal.ConvExecutor;
import io.conv4j.internal.NativeNd;
import java.nio.ByteBuffer;

/**
 * Runs one direction of the N-d engine on validated tensors: plans (the core's table of algorithms
 * for the direction, cheapest estimate), acquires every tensor's memory, runs all work units on
 * conv4j's executor, releases. The tensors must already be checked against the descriptor.
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
        long units = NativeNd.units(desc, dir, algo);
        long ws = Math.max(NativeNd.workspaceBytes(desc, dir, algo), 0);
        double seconds = NativeNd.estimateSeconds(desc, dir, algo);
        Tensor[] all = {a, b, bias, c};
        int held = 0;
        try {
            for (Tensor t : all) {
                if (t != null) t.storage().acquire();
                held++;
            }
            ByteBuffer ab = buf(a), bb = buf(b), biasb = buf(bias), cb = buf(c);
            long ao = off(a), bo = off(b), biaso = off(bias), co = off(c);
            ConvExecutor.get().run(units, ws, seconds,
                    (u0, u1, w) -> NativeNd.run(desc, dir, algo, ab, ao, bb, bo, biasb, biaso, cb, co, w, u0, u1));
        } finally {
            for (int i = held - 1; i >= 0; i--) {
                if (all[i] != null) all[i].storage().release();
            }
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

    private static ByteBuffer buf(Tensor t) {
        return t == null ? null : t.storage().buffer();
    }

    private static long off(Tensor t) {
        return t == null ? 0 : t.offset() * t.dtype().bytes();
    }
}
