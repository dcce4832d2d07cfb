package io.conv4j;

import java.lang.ref.WeakReference;

/**
 * A planned backward pass ({@link BackwardCall.Filter} and {@link BackwardCall.Input}) bound to its
 * tensors, kept by the {@link Conv2dGradients} it wrote into: what {@link BoundCall} is for the
 * forward pass. A training loop or a benchmark calls
 * {@link Conv2dBackward#backward(Tensor, PreparedFilter, Tensor, Tensor, Conv2dGradients)} again and
 * again with the same tensor objects; tensors are immutable views, so such a call needs no new
 * validation, description or planning (on a layer of a few microseconds those were a fifth of
 * the call). Only weak references are kept, so the binding never keeps a tensor alive; every run
 * still acquires each tensor's memory (a tensor closed since then is refused) and checks the data
 * against a transform route ({@link TransformGuard}), as the full call does.
 */
final class BoundBackward {
    private final WeakReference<Tensor> input, filter, bias, gradOutput;
    private final WeakReference<PreparedFilter> prepared;
    private final Conv2dOptions options;
    /** The test hooks' forced routes when it was bound ({@link Conv2dBackward#inputRouteOverride}). */
    private final int inputOverride, filterOverride;
    private final ConvGeometry geo;
    private final BackwardCall.Filter filterCall;
    private final BackwardCall.Input inputCall;
    /** Both gradients in one call, when the layer is small enough ({@link BackwardCall.Both#of}); else null. */
    private final BackwardCall.Both both;

    BoundBackward(Tensor input, Tensor filter, Tensor bias, Tensor gradOutput, PreparedFilter prepared, Conv2dOptions options,
                  ConvGeometry geo, BackwardCall.Filter filterCall, BackwardCall.Input inputCall) {
        this.input = new WeakReference<>(input);
        this.filter = new WeakReference<>(filter);
        this.bias = bias == null ? null : new WeakReference<>(bias);
        this.gradOutput = new WeakReference<>(gradOutput);
        this.prepared = prepared == null ? null : new WeakReference<>(prepared);
        this.options = options;
        this.inputOverride = Conv2dBackward.inputRouteOverride;
        this.filterOverride = Conv2dBackward.filterRouteOverride;
        this.geo = geo;
        this.filterCall = filterCall;
        this.inputCall = inputCall;
        this.both = BackwardCall.Both.of(filterCall, inputCall);
    }

    /** Whether this was bound to exactly these arguments (and the same forced routes). */
    boolean matches(Tensor in, Tensor w, Tensor b, Tensor dy, Conv2dOptions o, PreparedFilter p) {
        return input.get() == in && filter.get() == w && gradOutput.get() == dy
                && (bias == null ? b == null : bias.get() == b)
                && (prepared == null ? p == null : prepared.get() == p)
                && (options == o || options.equals(o))
                && inputOverride == Conv2dBackward.inputRouteOverride && filterOverride == Conv2dBackward.filterRouteOverride;
    }

    /** Whether repeated calls run both gradients in one call ({@link BackwardCall.Both}). */
    boolean takesBoth() {
        return both != null;
    }

    /** The filter, bias and input gradients into {@code into} (the object this is bound in), from the bound tensors. */
    void run(Tensor in, Tensor w, Tensor dy, PreparedFilter p, Conv2dGradients into) {
        if (both != null && runBoth(in, w, dy, p, into)) return;
        Conv2dBackward.runGradFilter(filterCall, in, dy, into.filter(), into.bias(), into);
        if (p != null) Conv2dBackward.runGradInput(inputCall, geo, options, dy, p, into.input(), into);
        else Conv2dBackward.runGradInput(inputCall, dy, w, into.input(), into);
    }

    /**
     * Both gradients in one call, with every check of the two-call path ({@link
     * Conv2dBackward#runGradFilter}, {@link Conv2dBackward#runGradInput}): false, with nothing
     * written, when one of them would take another route for these data ({@link TransformGuard})
     * or the filter is a strided view, so that the two-call path runs instead.
     */
    private boolean runBoth(Tensor in, Tensor w, Tensor dy, PreparedFilter p, Conv2dGradients into) {
        BackwardCall.Filter f = both.filter;
        BackwardCall.Input i = both.input;
        if (TransformGuard.filterGradientRefusal(f.route, in, dy) != null) return false;
        Tensor prepared;
        if (p != null) {
            if (Conv2dBackward.preparedRefused(i, dy, p)) return false;
            prepared = i.preparedFloats > 0 ? p.inputGradientFilter(i) : p.filter();
            if (prepared == null) return false; // more descriptors than the prepared filter keeps
        } else {
            if (!w.isContiguous() || TransformGuard.inputGradientRefusal(i.route, dy, w) != null) return false;
            prepared = w;
            if (i.preparedFloats > 0) { // rearranged on every call, as the two-call path does
                prepared = into.scratch(Conv2dGradients.PREPARED, Shape.of(i.preparedFloats));
                i.prepare(w, prepared);
            }
        }
        both.run(new BackwardCall.BothKernel(), in, dy, into.filter(), into.bias(), prepared, into.input());
        return true;
    }
}
