package io.conv4j;

import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * A filter (and optional bias) made ready for repeated convolutions with fixed options: both are
 * copied into conv4j memory, and the transformed filters some algorithms need (Winograd, FFT) are
 * computed on first use and kept, so repeated calls pay only for work that depends on the input.
 * Thread-safe. {@link #close()} frees the copies and transforms.
 */
public final class PreparedFilter implements AutoCloseable {
    private final Tensor filter;
    private final Tensor bias;
    private final Conv2dOptions options;
    private final Map<Algorithm, Tensor> transforms = new ConcurrentHashMap<>();
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

    @Override
    public void close() {
        synchronized (transforms) {
            filter.close();
            if (bias != null) bias.close();
            transforms.values().forEach(Tensor::close);
            transforms.clear();
        }
    }
}
