package io.conv4j;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * A filter (and optional bias) made ready for repeated convolutions with fixed options: both are
 * copied into conv4j memory, and the transformed filters some algorithms need (Winograd, FFT) are
 * computed on first use and kept, so repeated calls pay only for work that depends on the input.
 *
 * <p>For training, one prepared filter per weight version serves the forward pass
 * ({@link Conv2d#conv2d(Tensor, PreparedFilter, Tensor)}) and the backward pass
 * ({@link Conv2dBackward#backward(Tensor, PreparedFilter, Tensor, Tensor, Conv2dGradients)}): the
 * input gradient's rearranged or transformed filter (the rotated, channel-swapped filter's
 * Winograd transform or FFT spectra, or its transpose) is likewise computed on first use and kept.
 * The weights are a copy taken at {@link Conv2d#prepare}, so a prepared filter never sees later
 * changes of the tensor it was made from: after an update step, prepare the new weights (and
 * close the old prepared filter).
 *
 * <p>Thread-safe. {@link #close()} frees the copies and transforms.
 */
public final class PreparedFilter implements AutoCloseable {
    /** Input-gradient filters kept (one per route and descriptor); a call beyond them prepares its own. */
    private static final int MAX_INPUT_GRADIENT_FILTERS = 8;

    private final Tensor filter;
    private final Tensor bias;
    private final Conv2dOptions options;
    private final Map<Algorithm, Tensor> transforms = new ConcurrentHashMap<>();
    /** The input gradient's rearranged filters, guarded by {@link #transforms} as its lock. */
    private final Map<InputGradientKey, Tensor> inputGradientFilters = new HashMap<>();
    /** {@link TransformGuard#scan} of the filter, -1 until first needed (a benign race: any thread computes the same). */
    private volatile long scan = -1;

    PreparedFilter(Tensor filter, Tensor bias, Conv2dOptions options) {
        Conv2d.requireOpenFloat32("filter", filter);
        if (bias != null) Conv2d.requireOpenFloat32("bias", bias);
        Objects.requireNonNull(options, "options");
        Operands.requireHwioFilter(filter.shape());
        if (bias != null) Operands.requireShape("bias", bias, Shape.of(filter.shape().size(3)));
        Tensor f = Tensor.allocate(filter.shape()), b = null;
        try { // a failed copy or allocation (OutOfMemoryError, a closed source) frees what was made
            f.copyFrom(filter);
            if (bias != null) {
                b = Tensor.allocate(bias.shape());
                b.copyFrom(bias);
            }
        } catch (RuntimeException | Error e) {
            f.close();
            if (b != null) b.close();
            throw e;
        }
        this.filter = f;
        this.bias = b;
        this.options = options;
    }

    /** The shape of the kept filter: HWIO {@code [KH,KW,Cin/groups,Cout]}, also when prepared from an OIHW one (layout NCHW). */
    public Shape filterShape() {
        return filter.shape();
    }

    public Conv2dOptions options() {
        return options;
    }

    /**
     * Computes now the transforms the plan for a dense input of this shape needs (otherwise done
     * on first use). Plans from the shape alone, as {@link Conv2d#explain} does: nothing of the
     * input's size is allocated, and a bad shape is refused as a convolution would refuse it.
     */
    public PreparedFilter prepareFor(Shape inputShape) {
        // layout NCHW: the shape is [N,C,H,W]; the kept filter is HWIO, so plan channels last
        Shape nhwc = options.layout() == DataLayout.NCHW && inputShape != null && inputShape.rank() == 4
                ? DataLayout.NCHW.toNhwc(inputShape) : inputShape;
        Conv2dOptions o = options.toBuilder().layout(DataLayout.NHWC).build();
        ConvGeometry geo = ConvGeometry.of(nhwc, filter.shape(), o);
        use(f -> {
            ForwardCall call = ForwardCall.dense(geo, o, bias != null, true);
            if (call.transformFloats() > 0) transformed(call);
            return null;
        });
        return this;
    }

    Tensor filter() {
        return filter;
    }

    Tensor bias() {
        return bias;
    }

    /** Runs {@code body} with this filter, refusing if closed. */
    <T> T use(Function<PreparedFilter, T> body) {
        if (!filter.isOpen()) throw new IllegalStateException("prepared filter is closed");
        return body.apply(this);
    }

    /** Why {@code algorithm} may not run on this filter ({@link TransformGuard}), or null; the filter is scanned once. */
    String refusal(Algorithm algorithm) {
        long r = scan;
        if (r < 0) scan = r = TransformGuard.scan(filter);
        return TransformGuard.refusal(algorithm, r, "filter");
    }

    /** The filter transform {@code call}'s plan needs, computed once per algorithm. */
    Tensor transformed(ForwardCall call) {
        Tensor t;
        synchronized (transforms) { // with close(): a transform made after close would never be freed by it
            if (!filter.isOpen()) throw new IllegalStateException("prepared filter is closed");
            t = transforms.computeIfAbsent(call.plan.algorithm(), a -> call.transform(filter));
        }
        if (t.shape().numElements() != call.transformFloats()) {
            throw new IllegalStateException("prepared transform size changed for " + call.plan.algorithm());
        }
        return t;
    }

    /**
     * The rearranged (transformed) filter {@code call}'s input-gradient route reads, computed from
     * this filter once per route and descriptor; null when {@link #MAX_INPUT_GRADIENT_FILTERS}
     * others are kept already (the caller then prepares its own) or the route reads the filter as it is.
     */
    Tensor inputGradientFilter(BackwardCall.Input call) {
        if (call.preparedFloats <= 0) return null;
        InputGradientKey key = new InputGradientKey(call.route, call.desc);
        synchronized (transforms) { // with close(), as transformed()
            if (!filter.isOpen()) throw new IllegalStateException("prepared filter is closed");
            Tensor t = inputGradientFilters.get(key);
            if (t == null) {
                if (inputGradientFilters.size() >= MAX_INPUT_GRADIENT_FILTERS) return null;
                t = Tensor.allocate(Shape.of(call.preparedFloats));
                try {
                    call.prepare(filter, t);
                } catch (RuntimeException | Error e) {
                    t.close();
                    throw e;
                }
                inputGradientFilters.put(key, t);
            }
            if (t.shape().numElements() != call.preparedFloats) {
                throw new IllegalStateException("prepared input-gradient filter size changed for route " + call.route);
            }
            return t;
        }
    }

    /** What an input-gradient filter is prepared for: its route and the gradient's descriptor. */
    private record InputGradientKey(int route, long[] desc) {
        @Override
        public boolean equals(Object o) {
            return o instanceof InputGradientKey k && k.route == route && Arrays.equals(k.desc, desc);
        }

        @Override
        public int hashCode() {
            return 31 * route + Arrays.hashCode(desc);
        }

        @Override
        public String toString() {
            return "route " + route + " " + Arrays.toString(desc);
        }
    }

    @Override
    public void close() {
        synchronized (transforms) {
            filter.close();
            if (bias != null) bias.close();
            transforms.values().forEach(Tensor::close);
            transforms.clear();
            inputGradientFilters.values().forEach(Tensor::close);
            inputGradientFilters.clear();
        }
    }
}
