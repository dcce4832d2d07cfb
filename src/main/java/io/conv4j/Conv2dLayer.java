package io.conv4j;

import io.conv4j.internal.NativeLibrary;
import io.conv4j.internal.Storage;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * A trainable convolution layer: it holds a filter {@code [KH, KW, Cin/groups, Cout]} and an
 * optional bias {@code [Cout]} with fixed {@link Conv2dOptions}, and runs {@link #forward},
 * {@link #backward} and a plain SGD step ({@link #sgdStep}).
 *
 * <pre>{@code
 * try (Conv2dLayer layer = Conv2dLayer.create(Shape.of(3, 3, 1, 1), true, options, 42)) {
 *     for (...) {
 *         Tensor y = layer.forward(x);          // a handle on the layer's output, rewritten by the next forward
 *         ... dL/dy into gradOutput ...
 *         layer.backward(gradOutput, false);     // fills gradFilter() and gradBias()
 *         layer.sgdStep(0.5);                    // filter -= 0.5 * gradFilter, bias likewise
 *     }
 * }
 * }</pre>
 *
 * <p>{@link #forward} accepts the same input tensors as {@link Conv2d#conv2d} (any strided NHWC
 * view) and computes {@code activation(conv2d(input, filter) + bias)} the same way; it keeps a
 * reference to the input (not a copy) for the backward pass, so the input must stay open and
 * unchanged until {@link #backward} has run. {@link #backward} applies the derivative of the
 * fused activation, then computes dL/d(filter), dL/d(bias) and (unless not wanted) dL/d(input).
 *
 * <p>The output, gradient and workspace buffers are allocated on the first call for an input
 * shape and layout and reused while it stays the same, so a training loop allocates no tensors
 * and no native memory per step (the only per-call Java objects are the few bytes conv4j's
 * executor needs to hand out work). Every tensor the layer returns ({@link #forward}, {@link #backward},
 * {@link #filter()}, {@link #gradFilter()}...) is a handle of the caller's on the layer's memory,
 * as the ownership rule of {@link Tensor} says: its contents are rewritten by the layer's next
 * call of that kind, closing it (try-with-resources) ends only the handle, never the layer, and
 * {@link #close()} ends every handle.
 *
 * <p>Not thread-safe: one layer per thread (the convolutions themselves still run on conv4j's
 * executor, in parallel). Results are bit-identical for any thread count.
 */
public final class Conv2dLayer implements AutoCloseable {
    private final Conv2dOptions options;
    private final Tensor filter, bias, gradFilter, gradBias;
    private final ForwardCall.Kernel forwardKernel = new ForwardCall.Kernel();
    private final BackwardCall.FilterKernel filterKernel = new BackwardCall.FilterKernel();
    private final BackwardCall.ReduceKernel reduceKernel = new BackwardCall.ReduceKernel();
    private final BackwardCall.InputKernel inputKernel = new BackwardCall.InputKernel();
    private final BackwardCall.BothKernel bothKernel = new BackwardCall.BothKernel();
    /** The handles {@link #filter()}, {@link #bias()}, {@link #gradFilter()}, {@link #gradBias()} returned (see {@link Tensor#lend}). */
    private Tensor filterLent, biasLent, gradFilterLent, gradBiasLent;
    private Buffers buffers;      // for the current input shape and layout
    private Tensor lastInput;     // the input of the last forward call
    private boolean haveGradients;
    private boolean closed;

    /**
     * A layer holding copies of {@code filter} ({@code [KH, KW, Cin/groups, Cout]}) and
     * {@code bias} ({@code [Cout]}, or null for none), convolving with {@code options}.
     */
    public Conv2dLayer(Tensor filter, Tensor bias, Conv2dOptions options) {
        Operands.requireOpenFloat32("filter", filter);
        Objects.requireNonNull(options, "options");
        Shape fs = filter.shape();
        Operands.requireHwioFilter(fs);
        for (int i = 0; i < 4; i++) {
            if (fs.size(i) < 1 || fs.size(i) > ConvGeometry.MAX_DIM) {
                throw new IllegalArgumentException("filter dimension " + i + " must be in [1, " + ConvGeometry.MAX_DIM
                        + "], got shape " + fs);
            }
        }
        if (fs.size(3) % options.groups() != 0) {
            throw new IllegalArgumentException("groups " + options.groups() + " does not divide the filter's output channels "
                    + fs.size(3));
        }
        if (bias != null) {
            Operands.requireOpenFloat32("bias", bias);
            Operands.requireShape("bias", bias, Shape.of(fs.size(3)));
        }
        this.options = options;
        Tensor f = null, b = null, gf = null, gb = null;
        try {
            f = Tensor.allocate(fs);
            f.copyFrom(filter);
            gf = Tensor.allocate(fs);
            if (bias != null) {
                b = Tensor.allocate(bias.shape());
                b.copyFrom(bias);
                gb = Tensor.allocate(bias.shape());
            }
        } catch (RuntimeException | Error e) {
            for (Tensor t : new Tensor[] {f, b, gf, gb}) {
                if (t != null) t.close();
            }
            throw e;
        }
        this.filter = f;
        this.bias = b;
        this.gradFilter = gf;
        this.gradBias = gb;
    }

    /**
     * A layer with a Glorot-uniform random filter (uniform in +-sqrt(6 / (fanIn + fanOut)), fans
     * {@code KH*KW*Cin/groups} and {@code KH*KW*Cout/groups}) from {@code seed}, and a zero bias
     * when {@code withBias}.
     */
    public static Conv2dLayer create(Shape filterShape, boolean withBias, Conv2dOptions options, long seed) {
        Objects.requireNonNull(filterShape, "filter shape");
        Objects.requireNonNull(options, "options");
        if (filterShape.rank() != 4) {
            throw new IllegalArgumentException("filter shape must have rank 4 [KH,KW,Cin/groups,Cout], got " + filterShape);
        }
        long n = filterShape.numElements();
        if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("filter shape " + filterShape + " is too large");
        double fanIn = (double) filterShape.size(0) * filterShape.size(1) * filterShape.size(2);
        double fanOut = (double) filterShape.size(0) * filterShape.size(1) * filterShape.size(3) / Math.max(1, options.groups());
        double limit = Math.sqrt(6 / Math.max(1, fanIn + fanOut));
        SplittableRandom r = new SplittableRandom(seed);
        float[] w = new float[(int) n];
        for (int i = 0; i < w.length; i++) w[i] = (float) ((r.nextDouble() * 2 - 1) * limit);
        try (Tensor f = Tensor.fromArray(w, filterShape);
             Tensor b = withBias ? Tensor.allocate(Shape.of(filterShape.size(3))) : null) {
            return new Conv2dLayer(f, b, options);
        }
    }

    // ------------------------------------------------------------------ forward

    /**
     * {@code activation(conv2d(input, filter) + bias)} for an NHWC {@code input} (any view).
     * Returns the output {@code [N, OH, OW, Cout]}: a handle on the layer's output buffer,
     * overwritten by the next call (closing it does not affect the layer).
     */
    public Tensor forward(Tensor input) {
        requireOpenLayer();
        Operands.requireFloat32("input", input);
        Buffers b = buffers;
        if (b == null || !b.matches(input)) b = rebuild(input);
        Operands.requireDisjoint("output", b.output, "input", input);
        haveGradients = false;
        lastInput = null;
        ForwardCall call = b.forward;
        Tensor transformed = b.forwardTransformed;
        String refused = Conv2d.refusal(call.plan.algorithm(), input, filter, null); // data, and the filter, change between calls
        if (refused != null) {
            if (b.exactForward == null) b.exactForward = call.exact(refused);
            call = b.exactForward;
            transformed = null;
            if (call.transformFloats() > 0) { // an exact route may pack the filter too (DIRECT_DENSE)
                if (b.exactTransformed == null) b.exactTransformed = Tensor.allocate(Shape.of(call.transformFloats()));
                transformed = b.exactTransformed;
                call.transformInto(filter, transformed);
            }
        } else if (transformed != null) {
            call.transformInto(filter, transformed); // the filter may have changed since the last call
        }
        call.execute(forwardKernel, input, filter, transformed, bias, b.output);
        lastInput = input;
        return b.outputLent = b.output.lend(b.outputLent);
    }


    // ------------------------------------------------------------------ backward

    /**
     * Backward pass of the last {@link #forward}: from {@code gradOutput} = dL/d(output) (shape of
     * the output, any view) computes {@link #gradFilter()}, {@link #gradBias()} and dL/d(input),
     * which it returns (a handle on the layer's buffer of the input's shape, overwritten by the next
     * call; closing it does not affect the layer).
     */
    public Tensor backward(Tensor gradOutput) {
        return backward(gradOutput, true);
    }

    /**
     * As {@link #backward(Tensor)}; with {@code computeGradInput} false dL/d(input) is skipped
     * (the first layer of a network needs none) and null is returned.
     */
    public Tensor backward(Tensor gradOutput, boolean computeGradInput) {
        requireOpenLayer();
        Buffers b = buffers;
        if (b == null || lastInput == null) throw new IllegalStateException("backward needs a forward call first");
        if (!lastInput.isOpen()) throw new IllegalStateException("the input of the last forward call has been closed");
        Operands.requireFloat32("gradOutput", gradOutput);
        Operands.requireShape("gradOutput", gradOutput, b.output.shape());
        // the layer's own tensors are separate allocations; what the caller passes may be a view
        // of any of them (gradFilter().reshape(...) as gradOutput, gradInput as the last input)
        String last = "input of the last forward call";
        Operands.requireDisjoint("gradFilter", gradFilter, "gradOutput", gradOutput); // (by address: a handle lent is the same memory)
        Operands.requireDisjoint("gradFilter", gradFilter, last, lastInput);
        if (gradBias != null) {
            Operands.requireDisjoint("gradBias", gradBias, "gradOutput", gradOutput);
            Operands.requireDisjoint("gradBias", gradBias, last, lastInput);
        }
        if (computeGradInput) {
            Operands.requireDisjoint("gradInput", b.gradInput, "gradOutput", gradOutput);
            Operands.requireDisjoint("gradInput", b.gradInput, last, lastInput);
        }
        haveGradients = false;

        // dL/d(pre-activation output), dense: the descriptors below were built for dense strides
        Activation act = options.activation();
        Tensor dz;
        if (act == Activation.NONE && gradOutput.isContiguous()) {
            dz = gradOutput;
        } else {
            if (b.gradPre == null) b.gradPre = Tensor.allocate(b.output.shape());
            dz = b.gradPre;
            if (gradOutput.isContiguous()) {
                BackwardCall.activation(act, b.output, gradOutput, dz, false);
            } else {
                dz.copyFrom(gradOutput); // a strided view: copied (this path allocates a temporary array)
                if (act != Activation.NONE) BackwardCall.activation(act, b.output, dz, dz, false);
            }
        }

        boolean filterRefused = TransformGuard.filterGradientRefusal(b.gradFilterCall.route, lastInput, dz) != null;
        if (computeGradInput && b.gradBoth != null && !filterRefused
                && TransformGuard.inputGradientRefusal(b.gradInputCall.route, dz, filter) == null) {
            // a microsecond layer: both gradients in one executor job and one native call, with the two calls' bits
            Tensor prepared = filter;
            if (b.gradInputCall.preparedFloats > 0) { // rearranged on every step, as the two-call path does
                b.gradInputCall.prepare(filter, b.inputPrepared);
                prepared = b.inputPrepared;
            }
            b.gradBoth.run(bothKernel, lastInput, dz, gradFilter, gradBias, prepared, b.gradInput);
            haveGradients = true;
            return b.gradInputLent = b.gradInput.lend(b.gradInputLent);
        }
        if (filterRefused) {
            // data a transform would spread or round badly: the exact route, with buffers of its own for this call
            Conv2dBackward.runGradFilter(b.geo, options, lastInput, dz, gradFilter, gradBias, null);
        } else {
            b.gradFilterCall.execute(filterKernel, reduceKernel, lastInput, dz, gradFilter, gradBias, b.filterPartials);
        }
        if (computeGradInput && b.geo.batch() > 0) {
            if (TransformGuard.inputGradientRefusal(b.gradInputCall.route, dz, filter) != null) {
                Conv2dBackward.runGradInput(b.geo, options, dz, filter, b.gradInput, null);
            } else {
                b.gradInputCall.execute(inputKernel, dz, filter, b.inputPrepared, b.gradInput);
            }
        }
        haveGradients = true;
        return computeGradInput ? b.gradInputLent = b.gradInput.lend(b.gradInputLent) : null;
    }

    /** Whether {@link #backward} runs both gradients in one call ({@link BackwardCall.Both}) for the last forward's input shape. */
    boolean backwardTakesBoth() {
        Buffers b = buffers;
        return b != null && b.gradBoth != null;
    }

    /**
     * Plain stochastic gradient descent with the gradients of the last {@link #backward}:
     * {@code filter -= learningRate * gradFilter} and {@code bias -= learningRate * gradBias}.
     */
    public void sgdStep(double learningRate) {
        requireOpenLayer();
        if (!(learningRate >= 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learning rate must be finite and >= 0, got " + learningRate);
        }
        if (!haveGradients) throw new IllegalStateException("sgdStep needs a backward call after the last forward call");
        float lr = (float) learningRate;
        axpy(filter, gradFilter, lr);
        if (bias != null) axpy(bias, gradBias, lr);
    }

    /** w -= lr * g over two layer-owned contiguous tensors of the same shape (no allocation). */
    private static void axpy(Tensor w, Tensor g, float lr) {
        Storage ws = w.storage(), gs = g.storage();
        ws.acquire();
        try {
            gs.acquire();
            try {
                ByteBuffer wb = ws.buffer(), gb = gs.buffer();
                int n = (int) w.shape().numElements();
                for (int i = 0; i < n; i++) {
                    int at = i * Float.BYTES;
                    wb.putFloat(at, wb.getFloat(at) - lr * gb.getFloat(at));
                }
            } finally {
                gs.release();
            }
        } finally {
            ws.release();
        }
    }

    // ------------------------------------------------------------------ state

    /**
     * The layer's filter {@code [KH, KW, Cin/groups, Cout]}: a handle on the layer's memory (read or
     * update it; closing it does not affect the layer, see {@link Tensor} on ownership).
     */
    public Tensor filter() {
        requireOpenLayer();
        return filterLent = filter.lend(filterLent);
    }

    /** The layer's bias {@code [Cout]}, or null: a handle on the layer's memory, as {@link #filter()}. */
    public Tensor bias() {
        requireOpenLayer();
        return bias == null ? null : (biasLent = bias.lend(biasLent));
    }

    /** dL/d(filter) from the last {@link #backward}: a handle on the layer's memory, as {@link #filter()}. */
    public Tensor gradFilter() {
        requireOpenLayer();
        return gradFilterLent = gradFilter.lend(gradFilterLent);
    }

    /** dL/d(bias) from the last {@link #backward}, or null without a bias: a handle on the layer's memory, as {@link #filter()}. */
    public Tensor gradBias() {
        requireOpenLayer();
        return gradBias == null ? null : (gradBiasLent = gradBias.lend(gradBiasLent));
    }

    /** The options every forward and backward call of this layer uses. */
    public Conv2dOptions options() {
        return options;
    }

    /** Frees the filter, bias, gradients and buffers (idempotent) and ends every handle the layer returned. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        lastInput = null;
        if (buffers != null) buffers.close();
        buffers = null;
        for (Tensor t : new Tensor[] {filter, gradFilter, bias, gradBias, filterLent, gradFilterLent, biasLent, gradBiasLent}) {
            if (t != null) t.close();
        }
    }

    @Override
    public String toString() {
        return "Conv2dLayer[filter=" + filter.shape() + (bias != null ? ", bias" : "") + ", " + options
                + (closed ? ", closed" : "") + "]";
    }

    private void requireOpenLayer() {
        if (closed) throw new IllegalStateException("layer is closed");
    }

    /** Everything that depends on the input's shape and layout; replaced when they change. */
    private Buffers rebuild(Tensor input) {
        ConvGeometry geo = ConvGeometry.of(input.shape(), filter.shape(), options);
        NativeLibrary.ensureLoaded();
        Buffers old = buffers;
        buffers = null;
        lastInput = null;
        if (old != null) old.close();
        Buffers b = new Buffers(input, geo);
        try {
            Shape out = geo.outputShape();
            long[] dense = ForwardCall.denseOutputStrides(out);
            b.forward = ForwardCall.of(geo, input, dense, options, bias != null, false);
            if (b.forward.transformFloats() > 0) b.forwardTransformed = Tensor.allocate(Shape.of(b.forward.transformFloats()));
            b.output = Tensor.allocate(out);
            b.gradInput = Tensor.allocate(input.shape());
            b.gradFilterCall = BackwardCall.Filter.of(geo, options, input, dense, bias != null, null);
            if (b.gradFilterCall.partialFloats > 0) b.filterPartials = Tensor.allocate(Shape.of(b.gradFilterCall.partialFloats));
            b.gradInputCall = BackwardCall.Input.of(geo, options, b.gradInput, dense, null);
            if (b.gradInputCall.preparedFloats > 0) b.inputPrepared = Tensor.allocate(Shape.of(b.gradInputCall.preparedFloats));
            b.gradBoth = filter.isContiguous() ? BackwardCall.Both.of(b.gradFilterCall, b.gradInputCall) : null;
        } catch (RuntimeException | Error e) {
            b.close();
            throw e;
        }
        buffers = b;
        return b;
    }

    private static final class Buffers {
        final Shape inputShape;
        final long[] inputStrides;
        final ConvGeometry geo;
        ForwardCall forward, exactForward;
        BackwardCall.Filter gradFilterCall;
        BackwardCall.Input gradInputCall;
        /** Both gradients in one call, for a layer small enough ({@link BackwardCall.Both#of}); else null. */
        BackwardCall.Both gradBoth;
        Tensor output, gradPre, gradInput, forwardTransformed, exactTransformed, inputPrepared, filterPartials;
        /** The handles of {@link #output} and {@link #gradInput} last returned to the caller. */
        Tensor outputLent, gradInputLent;

        Buffers(Tensor input, ConvGeometry geo) {
            this.inputShape = input.shape();
            this.inputStrides = input.strides();
            this.geo = geo;
        }

        boolean matches(Tensor input) {
            if (!input.shape().equals(inputShape)) return false;
            for (int i = 0; i < 4; i++) {
                if (input.stride(i) != inputStrides[i]) return false;
            }
            return true;
        }

        void close() {
            for (Tensor t : new Tensor[] {output, gradPre, gradInput, forwardTransformed, exactTransformed, inputPrepared,
                    filterPartials, outputLent, gradInputLent}) {
                if (t != null) t.close();
            }
        }
    }
}
