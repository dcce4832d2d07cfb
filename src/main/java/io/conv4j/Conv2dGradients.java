package io.conv4j;

import io.conv4j.internal.NativeCore;
import java.util.Objects;

/**
 * The three gradients of one convolution, as {@link Conv2dBackward#backward} computes them:
 * dL/d(input) {@code [N, H, W, Cin]}, dL/d(filter) {@code [KH, KW, Cin/groups, Cout]} and, when
 * the convolution has a bias, dL/d(bias) {@code [Cout]}. The accessors return handles of the
 * caller's on this object's memory (the ownership rule of {@link Tensor}): closing one never
 * affects this object, and {@link #close()} frees all three and ends every handle. Reusable: pass it to
 * {@link Conv2dBackward#backward(Tensor, Tensor, Tensor, Tensor, Tensor, Conv2dOptions, Conv2dGradients)}
 * again to overwrite it (what a benchmark or a training loop does): it also keeps the scratch
 * memory of the backward pass, so such a loop allocates no native memory after its first call.
 * Not for concurrent use by several threads.
 */
public final class Conv2dGradients implements AutoCloseable {
    /** Scratch kept between calls: the rearranged filter, the filter gradient's partial sums, dL/d(pre-activation). */
    static final int PREPARED = 0, PARTIALS = 1, GRAD_PRE = 2;

    /**
     * Routes remembered per gradient, for the descriptor they were chosen for; the input gradient
     * with its filter prepared once (a {@link PreparedFilter}) is planned apart.
     */
    static final int INPUT_ROUTE = 0, FILTER_ROUTE = 1, INPUT_PREPARED_ROUTE = 2;
    private static final int[] DIRECTIONS = {NativeCore.INPUT_GRADIENT, NativeCore.FILTER_GRADIENT,
            NativeCore.INPUT_GRADIENT_PREPARED};

    private final Tensor gradInput, gradFilter, gradBias;
    /** The handles the accessors returned last ({@link Tensor#lend}). */
    private Tensor inputLent, filterLent, biasLent;
    private final Tensor[] scratch = new Tensor[3];
    private final long[][] routeDesc = new long[DIRECTIONS.length][];
    private final int[] route = new int[DIRECTIONS.length];
    private final boolean[] routeExactOnly = new boolean[DIRECTIONS.length];
    /** The last full backward call into this object, bound to its tensors. */
    private BoundBackward bound;

    Conv2dGradients(Tensor gradInput, Tensor gradFilter, Tensor gradBias) {
        this.gradInput = gradInput;
        this.gradFilter = gradFilter;
        this.gradBias = gradBias;
    }

    /**
     * Zero-filled gradients for an input of {@code inputShape} and a filter of
     * {@code filterShape}, with a bias gradient {@code [filterShape[3]]} when {@code withBias}.
     */
    public static Conv2dGradients allocate(Shape inputShape, Shape filterShape, boolean withBias) {
        Objects.requireNonNull(inputShape, "input shape");
        Objects.requireNonNull(filterShape, "filter shape");
        if (inputShape.rank() != 4) throw new IllegalArgumentException("input shape must have rank 4, got " + inputShape);
        if (filterShape.rank() != 4) throw new IllegalArgumentException("filter shape must have rank 4, got " + filterShape);
        Tensor dx = Tensor.allocate(inputShape);
        Tensor dw = null, db = null;
        try {
            dw = Tensor.allocate(filterShape);
            db = withBias ? Tensor.allocate(Shape.of(filterShape.size(3))) : null;
            return new Conv2dGradients(dx, dw, db);
        } catch (RuntimeException | Error e) {
            dx.close();
            if (dw != null) dw.close();
            throw e;
        }
    }

    /** dL/d(input), shape {@code [N, H, W, Cin]}: a handle on this object's tensor (closing it does not affect this object). */
    public synchronized Tensor gradInput() {
        return inputLent = gradInput.lend(inputLent);
    }

    /** dL/d(filter), shape {@code [KH, KW, Cin/groups, Cout]}: a handle, as {@link #gradInput()}. */
    public synchronized Tensor gradFilter() {
        return filterLent = gradFilter.lend(filterLent);
    }

    /** dL/d(bias), shape {@code [Cout]}, or null for a convolution without bias: a handle, as {@link #gradInput()}. */
    public synchronized Tensor gradBias() {
        return gradBias == null ? null : (biasLent = gradBias.lend(biasLent));
    }

    /** This object's own dL/d(input) tensor (what the backward pass writes). */
    Tensor input() {
        return gradInput;
    }

    /** This object's own dL/d(filter) tensor. */
    Tensor filter() {
        return gradFilter;
    }

    /** This object's own dL/d(bias) tensor, or null. */
    Tensor bias() {
        return gradBias;
    }

    /**
     * A conv4j-owned scratch tensor of {@code shape} kept in this object, so that a loop calling
     * {@link Conv2dBackward#backward} with it allocates no native memory after the first call.
     */
    synchronized Tensor scratch(int slot, Shape shape) {
        Tensor t = scratch[slot];
        if (t != null && t.isOpen() && t.shape().equals(shape)) return t;
        if (t != null) t.close();
        scratch[slot] = null;
        t = Tensor.allocate(shape);
        scratch[slot] = t;
        return t;
    }

    /**
     * The cost model's route for gradient {@code which} ({@link #INPUT_ROUTE}, {@link #FILTER_ROUTE}, {@link #INPUT_PREPARED_ROUTE})
     * of {@code desc}, asked once per descriptor and remembered (a loop over one layer asks once).
     */
    synchronized int route(int which, long[] desc, boolean exactOnly) {
        if (!java.util.Arrays.equals(routeDesc[which], desc) || routeExactOnly[which] != exactOnly) {
            route[which] = Conv2dBackward.planRoute(DIRECTIONS[which], desc, exactOnly);
            routeDesc[which] = desc.clone();
            routeExactOnly[which] = exactOnly;
        }
        return route[which];
    }

    /** The backward pass bound here by the last full call ({@link BoundBackward}), if it was bound to exactly these arguments. */
    synchronized BoundBackward boundBackward(Tensor input, Tensor filter, Tensor bias, Tensor gradOutput, Conv2dOptions options,
                                             PreparedFilter prepared) {
        BoundBackward b = bound;
        return b != null && b.matches(input, filter, bias, gradOutput, options, prepared) ? b : null;
    }

    /** The binding of the last call (tests: which path repeated calls take); null when none. */
    synchronized BoundBackward bound() {
        return bound;
    }

    /** Keeps {@code b} for the next call with the same arguments. */
    synchronized void bindBackward(BoundBackward b) {
        bound = b;
    }

    /** Frees the scratch memory (a result handed out fresh does not keep it). */
    synchronized void releaseScratch() {
        for (int i = 0; i < scratch.length; i++) {
            if (scratch[i] != null) scratch[i].close();
            scratch[i] = null;
        }
    }

    /** Frees the three tensors and the scratch memory kept for reuse, and ends every handle returned (idempotent). */
    @Override
    public synchronized void close() {
        for (Tensor t : new Tensor[] {gradInput, gradFilter, gradBias, inputLent, filterLent, biasLent}) {
            if (t != null) t.close();
        }
        releaseScratch();
    }

    @Override
    public String toString() {
        return "Conv2dGradients[input=" + gradInput.shape() + ", filter=" + gradFilter.shape()
                + (gradBias != null ? ", bias=" + gradBias.shape() : "") + "]";
    }
}
