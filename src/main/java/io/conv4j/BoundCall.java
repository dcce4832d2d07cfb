package io.conv4j;

import java.lang.ref.WeakReference;

/**
 * A planned forward convolution ({@link ForwardCall}) bound to its tensors: the per-call-site
 * cache of the pipeline.
 *
 * <p>Tensors are immutable views (shape, strides, offset and memory never change), so a call with
 * the very same tensor objects and options as the previous call on this thread needs no new
 * validation, description or planning: {@link Conv2d} keeps the last bound call per thread and
 * reuses it, also for a call into a fresh output (bound with none: every fresh output is
 * contiguous, as the descriptor says). Only weak references are kept, so the cache never keeps a tensor alive, and every
 * invocation still acquires each tensor's memory (a tensor closed since then is refused).
 */
final class BoundCall {
    private static final ThreadLocal<BoundCall> LAST = new ThreadLocal<>();

    private final WeakReference<Tensor> input, filter, bias, output, transformed;
    private final WeakReference<PreparedFilter> prepared;
    private final Conv2dOptions options;
    private final ForwardCall call;
    private final Shape outputShape;
    /** This thread's kernel object (a bound call is only ever used by the thread that made it). */
    private final ForwardCall.Kernel kernel = new ForwardCall.Kernel();

    BoundCall(Tensor input, Tensor filter, Tensor bias, Tensor output, PreparedFilter prepared, Conv2dOptions options,
              ForwardCall call, Tensor transformed, Shape outputShape) {
        this.input = new WeakReference<>(input);
        this.filter = new WeakReference<>(filter);
        this.bias = bias == null ? null : new WeakReference<>(bias);
        this.output = output == null ? null : new WeakReference<>(output);
        this.transformed = transformed == null ? null : new WeakReference<>(transformed);
        this.prepared = prepared == null ? null : new WeakReference<>(prepared);
        this.options = options;
        this.call = call;
        this.outputShape = outputShape;
    }

    /** The last bound call of this thread if it has exactly these arguments, else null. */
    static BoundCall lookup(Tensor input, Tensor filter, Tensor bias, Conv2dOptions options, Tensor output,
                            PreparedFilter prepared) {
        BoundCall c = LAST.get();
        if (c == null || c.input.get() != input || c.filter.get() != filter
                || (c.output == null ? output != null : c.output.get() != output)
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
        return Conv2d.refusal(call.plan.algorithm(), in, w, p) == null;
    }

    void remember() {
        LAST.set(this);
    }

    /**
     * Runs the convolution on the given tensors (the ones this call was bound to, which the caller
     * holds) into {@code output}, or into a fresh tensor when the call was bound without one
     * ({@code output} null). Returns the tensor written.
     */
    Tensor invokeInto(Tensor in, Tensor w, Tensor b, Tensor output) {
        if (output != null) {
            invoke(in, w, b, output);
            return output;
        }
        Tensor y = Tensor.allocate(outputShape);
        try {
            invoke(in, w, b, y);
        } catch (RuntimeException | Error e) {
            y.close();
            throw e;
        }
        return y;
    }

    /** Runs the convolution on the given tensors (the ones this call was bound to, which the caller holds). */
    void invoke(Tensor in, Tensor w, Tensor b, Tensor out) {
        Tensor t = transformed == null ? null : transformed.get();
        if (transformed != null && t == null) throw new IllegalStateException("prepared filter transform was released");
        call.execute(kernel, in, w, t, b, out);
    }
}
