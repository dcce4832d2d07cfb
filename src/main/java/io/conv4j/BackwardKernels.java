package io.conv4j;

import io.conv4j.internal.ConvExecutor;
import io.conv4j.internal.NativeBackward;
import io.conv4j.internal.NativeCore;
import io.conv4j.internal.Storage;
import java.nio.ByteBuffer;

/**
 * The native calls of the backward pass (and the forward pass of {@link Conv2dLayer}) as reusable
 * objects: each kernel keeps its descriptor and tensors in fields and is its own
 * {@link ConvExecutor.UnitRunner}, so a layer that calls it in a loop allocates no buffers and no
 * lambdas. Arguments are validated by the callers ({@link Conv2dBackward}, {@link Conv2dLayer})
 * before a kernel is set up; the native side checks bounds once more. Not thread-safe: one
 * kernel object per caller.
 */
final class BackwardKernels {
    private BackwardKernels() {}

    /** Tensors acquired for one native run, released in reverse order. */
    abstract static class Kernel implements ConvExecutor.UnitRunner {
        private final Storage[] held = new Storage[5];
        private int count;

        final ByteBuffer hold(Tensor t) {
            if (t == null) return null;
            Storage s = t.storage();
            s.acquire(); // throws IllegalStateException for a closed tensor; run() releases the rest
            held[count++] = s;
            return s.buffer();
        }

        static long bytes(Tensor t) {
            return t == null ? 0 : t.offset() * Float.BYTES;
        }

        /**
         * Acquires the tensors (acquire()), runs the units over conv4j's executor, releases.
         * {@code seconds}: estimated single-thread time, which sizes the thread split.
         */
        final void run(long units, long workspaceBytes, double seconds) {
            try {
                acquire();
                ConvExecutor.get().run(units, workspaceBytes, seconds, this);
            } finally {
                while (count > 0) {
                    held[--count].release();
                    held[count] = null;
                }
            }
        }

        /** Calls {@link #hold} for every tensor the kernel reads or writes. */
        abstract void acquire();
    }

    /** dL/d(input) from the gradient of the pre-activation output and the rearranged filter. */
    static final class Input extends Kernel {
        long[] desc;
        int route;
        Tensor gradOut, prepared, gradIn;
        private ByteBuffer dy, p, dx;
        private long dyOff, pOff, dxOff;

        @Override
        void acquire() {
            dy = hold(gradOut);
            p = hold(prepared);
            dx = hold(gradIn);
            dyOff = bytes(gradOut);
            pOff = bytes(prepared);
            dxOff = bytes(gradIn);
        }

        @Override
        public void run(long u0, long u1, ByteBuffer workspace) {
            NativeBackward.backwardInput(desc, route, dy, dyOff, p, pOff, dx, dxOff, workspace, u0, u1);
        }

        /** Rearranges (transforms) {@code filter} (contiguous HWIO) into {@code prepared} for {@code desc} and {@code route}. */
        static void prepare(long[] desc, int route, Tensor filter, Tensor prepared) {
            Storage f = filter.storage(), p = prepared.storage();
            f.acquire();
            try {
                p.acquire();
                try {
                    NativeBackward.prepareInput(desc, route, f.buffer(), bytes(filter), p.buffer(), bytes(prepared));
                } finally {
                    p.release();
                }
            } finally {
                f.release();
            }
        }
    }

    /**
     * dL/d(filter) (may be skipped: null) and dL/d(bias) (when the descriptor has a bias); with
     * {@code partials} (see {@link NativeBackward#filterPartialFloats}) the second phase,
     * {@link Reduce}, must run afterwards.
     */
    static final class Filter extends Kernel {
        long[] desc;
        int route;
        Tensor input, gradOut, gradFilter, gradBias, partials;
        private ByteBuffer x, dy, dw, db, p;
        private long xOff, dyOff, dwOff, dbOff, pOff;

        @Override
        void acquire() {
            x = gradFilter == null ? null : hold(input);
            dy = hold(gradOut);
            dw = hold(gradFilter);
            db = hold(gradBias);
            p = hold(partials);
            xOff = gradFilter == null ? 0 : bytes(input);
            dyOff = bytes(gradOut);
            dwOff = bytes(gradFilter);
            dbOff = bytes(gradBias);
            pOff = bytes(partials);
        }

        @Override
        public void run(long u0, long u1, ByteBuffer workspace) {
            NativeBackward.backwardFilter(desc, route, x, xOff, dy, dyOff, dw, dwOff, db, dbOff, p, pOff, workspace, u0, u1);
        }
    }

    /** Adds the partial sums of a split filter gradient into dL/d(filter) and dL/d(bias). */
    static final class Reduce extends Kernel {
        long[] desc;
        int route;
        Tensor gradFilter, gradBias, partials;
        private ByteBuffer dw, db, p;
        private long dwOff, dbOff, pOff;

        @Override
        void acquire() {
            dw = hold(gradFilter);
            db = hold(gradBias);
            p = hold(partials);
            dwOff = bytes(gradFilter);
            dbOff = bytes(gradBias);
            pOff = bytes(partials);
        }

        @Override
        public void run(long u0, long u1, ByteBuffer workspace) {
            NativeBackward.backwardFilterReduce(desc, route, dw, dwOff, db, dbOff, p, pOff, u0, u1);
        }
    }

    /** The forward convolution, as {@code Conv2d} runs it, for callers that keep their own buffers. */
    static final class Forward extends Kernel {
        long[] desc;
        int algo;
        Tensor input, filter, prepared, bias, output;
        private ByteBuffer x, w, p, b, y;
        private long xOff, wOff, pOff, bOff, yOff;

        @Override
        void acquire() {
            x = hold(input);
            w = hold(filter);
            p = hold(prepared);
            b = hold(bias);
            y = hold(output);
            xOff = bytes(input);
            wOff = bytes(filter);
            pOff = bytes(prepared);
            bOff = bytes(bias);
            yOff = bytes(output);
        }

        @Override
        public void run(long u0, long u1, ByteBuffer workspace) {
            NativeCore.forward(desc, algo, x, xOff, w, wOff, p, pOff, b, bOff, y, yOff, workspace, u0, u1);
        }
    }

    /** gradPre = gradOut * activation'(output), all three contiguous with {@code count} elements. */
    static void activation(Activation act, Tensor output, Tensor gradOut, Tensor gradPre) {
        long count = gradPre.shape().numElements();
        Storage ys = output.storage(), gs = gradOut.storage(), ps = gradPre.storage();
        ys.acquire();
        try {
            gs.acquire();
            try {
                ps.acquire();
                try {
                    NativeBackward.activationBackward(act.nativeId, ys.buffer(), Kernel.bytes(output), gs.buffer(),
                            Kernel.bytes(gradOut), ps.buffer(), Kernel.bytes(gradPre), count);
                } finally {
                    ps.release();
                }
            } finally {
                gs.release();
            }
        } finally {
            ys.release();
        }
    }

    /**
     * Whether the core can read {@code t} ([N, OH, OW, C]) through an output view as it is. The
     * core checks output views as it would an output it writes (no two elements at one address),
     * so a gradient that overlaps itself, such as a broadcast (stride-0) tensor of ones, is
     * copied first: an input may overlap itself, and must not be refused for it.
     */
    static boolean usableAsOutputView(Tensor t) {
        long c = t.shape().size(3);
        if (c > 1 && t.stride(3) != 1) return false;
        if (t.stride(2) < c && t.shape().size(2) > 1) return false; // pixels overlapping channels
        for (int i = 0; i < 4; i++) {
            if (t.stride(i) > Integer.MAX_VALUE) return false;
        }
        return Operands.injective(t.shape().toArray(), outputViewStrides(t));
    }

    /** Strides the core sees for an output-shaped view that passed {@link #usableAsOutputView}. */
    static long[] outputViewStrides(Tensor t) {
        long c = t.shape().size(3);
        return new long[] {t.stride(0), t.stride(1), Math.max(t.stride(2), c), 1};
    }
}
