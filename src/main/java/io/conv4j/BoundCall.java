package io.conv4j;

import io.conv4j.internal.ConvExecutor;
import io.conv4j.internal.NativeCore;
import io.conv4j.internal.Storage;
import java.lang.ref.WeakReference;

/**
 * A validated forward convolution bound to its tensors: descriptor, plan, buffers and offsets.
 *
 * <p>Tensors are immutable views (shape, strides, offset and memory never change), so a call with
 * the very same tensor objects and options as the previous call on this thread needs no new
 * validation or planning: {@link Conv2d} keeps the last bound call per thread and reuses it. Only
 * weak references are kept, so the cache never keeps a tensor alive, and every invocation still
 * acquires each tensor's memory (a tensor closed since then is refused).
 */
final class BoundCall {
    private static final ThreadLocal<BoundCall> LAST = new ThreadLocal<>();

    private final WeakReference<Tensor> input, filter, bias, output, transformed;
    private final WeakReference<PreparedFilter> prepared;
    private final Conv2dOptions options;
    private final long[] desc;
    private final Plan plan;

    BoundCall(Tensor input, Tensor filter, Tensor bias, Tensor output, PreparedFilter prepared, Conv2dOptions options,
              long[] desc, Plan plan, Tensor transformed) {
        this.input = new WeakReference<>(input);
        this.filter = new WeakReference<>(filter);
        this.bias = bias == null ? null : new WeakReference<>(bias);
        this.output = new WeakReference<>(output);
        this.transformed = transformed == null ? null : new WeakReference<>(transformed);
        this.prepared = prepared == null ? null : new WeakReference<>(prepared);
        this.options = options;
        this.desc = desc;
        this.plan = plan;
    }

    /** The last bound call of this thread if it has exactly these arguments, else null. */
    static BoundCall lookup(Tensor input, Tensor filter, Tensor bias, Conv2dOptions options, Tensor output,
                            PreparedFilter prepared) {
        BoundCall c = LAST.get();
        if (c == null || c.input.get() != input || c.filter.get() != filter || c.output.get() != output
                || (c.bias == null ? bias != null : c.bias.get() != bias)
                || (c.prepared == null ? prepared != null : c.prepared.get() != prepared)
                || (c.transformed != null && c.transformed.get() == null)
                || (c.options != options && !c.options.equals(options))) {
            return null;
        }
        return c;
    }

    /** Whether the data still allow this call's plan (a transform's, see {@link TransformGuard}); it may have changed. */
    boolean dataAllowsPlan(Tensor in, Tensor w, PreparedFilter p) {
        return Conv2d.refusal(plan.algorithm(), in, w, p) == null;
    }

    void remember() {
        LAST.set(this);
    }

    /**
     * Runs the convolution on the given tensors (the ones this call was bound to, which the caller
     * holds): acquires every tensor's memory, runs all units, releases.
     */
    void invoke(Tensor in, Tensor w, Tensor b, Tensor out) {
        Tensor t = transformed == null ? null : transformed.get();
        if (transformed != null && t == null) throw new IllegalStateException("prepared filter transform was released");
        Storage xs = in.storage(), ws = w.storage(), bs = b == null ? null : b.storage(), ys = out.storage();
        Storage ps = t == null ? null : t.storage();
        long xo = in.offset() * Float.BYTES, wo = w.offset() * Float.BYTES, bo = b == null ? 0 : b.offset() * Float.BYTES;
        long yo = out.offset() * Float.BYTES, po = t == null ? 0 : t.offset() * Float.BYTES;
        int algo = plan.algorithm().nativeId;
        xs.acquire();
        try {
            ws.acquire();
            try {
                if (bs != null) bs.acquire();
                try {
                    ys.acquire();
                    try {
                        if (ps != null) ps.acquire();
                        try {
                            ConvExecutor.get().run(plan.units(), plan.workspaceBytes(), plan.estimatedSeconds(),
                                    (u0, u1, workspace) -> NativeCore.forward(desc, algo, xs.buffer(), xo, ws.buffer(), wo,
                                            ps == null ? null : ps.buffer(), po, bs == null ? null : bs.buffer(), bo,
                                            ys.buffer(), yo, workspace, u0, u1));
                        } finally {
                            if (ps != null) ps.release();
                        }
                    } finally {
                        ys.release();
                    }
                } finally {
                    if (bs != null) bs.release();
                }
            } finally {
                ws.release();
            }
        } finally {
            xs.release();
        }
    }
}
