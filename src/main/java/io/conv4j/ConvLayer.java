package io.conv4j;

import java.util.Objects;
import java.util.Random;

/**
 * A trainable convolution layer of any rank (1-3) and dtype: a filter {@code [K1..Kr, Cin/groups,
 * Cout]} and an optional bias, {@link #forward}, {@link #backward} (filter and bias gradients,
 * and the input gradient when asked) and a plain SGD step, on {@link Conv}.
 *
 * <p>Ownership, as {@link Tensor} says for every entry point: every tensor the layer returns is
 * the caller's to close, and closing it never affects the layer. {@link #forward} returns a new
 * output (the layer keeps a handle of its own on it for the backward pass) and {@link #backward}
 * a new dL/d(input), or null; {@link #filter()}, {@link #bias()}, {@link #gradFilter()} and
 * {@link #gradBias()} return handles on the layer's own tensors (read or update them; closing
 * one does not affect the layer, and {@link #close()} ends them all). The layer keeps a reference to
 * the last input (not a copy) for the backward pass: keep it open and unchanged until then.
 * Not thread-safe: one layer serves one training loop.
 */
public final class ConvLayer implements AutoCloseable {
    private final ConvOptions options;
    private final Tensor filter, bias, gradFilter, gradBias;
    private Tensor lastInput;
    /** The layer's own handle on the last output (its activation's derivative needs it). */
    private Tensor lastOutput;
    private Tensor filterLent, biasLent, gradFilterLent, gradBiasLent;

    private ConvLayer(ConvOptions options, Tensor filter, Tensor bias, Tensor gradFilter, Tensor gradBias) {
        this.options = options;
        this.filter = filter;
        this.bias = bias;
        this.gradFilter = gradFilter;
        this.gradBias = gradBias;
    }

    /**
     * A layer whose filter is drawn from Glorot's uniform distribution (seeded, so reproducible),
     * bias zero. {@code filterShape} {@code [K1..Kr, Cin/groups, Cout]} sets the rank.
     */
    public static ConvLayer create(DType dtype, Shape filterShape, boolean withBias, ConvOptions options, long seed) {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(filterShape, "filter shape");
        Objects.requireNonNull(options, "options");
        int r = filterShape.rank() - 2;
        if (r < 1 || r > 3) throw new IllegalArgumentException("filter must have rank 3, 4 or 5, got shape " + filterShape);
        long taps = 1;
        for (int a = 0; a < r; a++) taps = Math.multiplyExact(taps, filterShape.size(a));
        long cinG = filterShape.size(r), cout = filterShape.size(r + 1);
        // validates the filter shape with these options on a minimal input
        long[] in = new long[r + 2];
        in[0] = 1;
        for (int a = 0; a < r; a++) in[a + 1] = Math.max(1, (filterShape.size(a) - 1) * (options.dilationsLength() < 0 ? 1 : options.dilations()[a]) + 1);
        in[r + 1] = Math.multiplyExact(cinG, options.groups());
        ConvDescriptor.of(Shape.of(in), filterShape, options, dtype);
        double limit = Math.sqrt(6.0 / (taps * cinG + taps * cout));
        Random rnd = new Random(seed);
        if (filterShape.numElements() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("filter shape " + filterShape + " has " + filterShape.numElements()
                    + " elements, more than the layer's initialisation (a Java array) can hold");
        }
        double[] w = new double[(int) filterShape.numElements()];
        for (int i = 0; i < w.length; i++) w[i] = (rnd.nextDouble() * 2 - 1) * limit;
        Tensor f = null, b = null, gf = null, gb = null;
        try {
            f = filled(dtype, filterShape, w);
            gf = Tensor.allocate(dtype, filterShape);
            if (withBias) {
                b = Tensor.allocate(dtype, Shape.of(cout));
                gb = Tensor.allocate(dtype, Shape.of(cout));
            }
            return new ConvLayer(options, f, b, gf, gb);
        } catch (RuntimeException | Error e) {
            for (Tensor t : new Tensor[] {f, b, gf, gb}) {
                if (t != null) t.close();
            }
            throw e;
        }
    }

    private static Tensor filled(DType dt, Shape s, double[] v) {
        if (dt == DType.FLOAT64) return Tensor.fromArray(v, s);
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return Tensor.fromArray(f, s);
    }

    /** activation(conv(input, filter) + bias): a new tensor, the caller's (closing it does not affect {@link #backward}). */
    public Tensor forward(Tensor input) {
        Tensor y = Conv.conv(input, filter, bias, options);
        Tensor kept;
        try {
            kept = y.share();
        } catch (RuntimeException | Error e) {
            y.close();
            throw e;
        }
        if (lastOutput != null) lastOutput.close();
        lastInput = input;
        lastOutput = kept;
        return y;
    }

    /**
     * Gradients of the last {@link #forward} given dL/d(output): fills {@link #gradFilter()} and
     * {@link #gradBias()} (overwritten), applying the activation's derivative first; returns
     * dL/d(input) as a new tensor when {@code inputGradient}, else null.
     */
    public Tensor backward(Tensor gradOutput, boolean inputGradient) {
        if (lastInput == null) throw new IllegalStateException("backward before forward");
        Conv2d.requireOpen("gradOutput", gradOutput);
        if (!gradOutput.shape().equals(lastOutput.shape())) {
            throw new IllegalArgumentException("gradOutput must have shape " + lastOutput.shape() + " (the last forward output), got "
                    + gradOutput.shape());
        }
        ConvOptions plain = options.withoutActivation();
        Tensor dz = options.activation() == Activation.NONE ? gradOutput : Conv.activationGrad(lastOutput, gradOutput, options.activation());
        Tensor gf = null, gb = null, gx = null;
        try {
            // every gradient is computed before the layer's own are written: gradOutput or the last
            // input may be a view of gradFilter()/gradBias() (a reused buffer) and must be read intact
            gf = Conv.gradFilter(lastInput, dz, filter.shape(), plain);
            if (gradBias != null) gb = Conv.gradBias(dz);
            if (inputGradient) gx = Conv.gradInput(dz, filter, lastInput.shape(), plain);
            gradFilter.copyFrom(gf);
            if (gb != null) gradBias.copyFrom(gb);
            Tensor result = gx;
            gx = null;
            return result;
        } finally {
            for (Tensor t : new Tensor[] {gf, gb, gx}) {
                if (t != null) t.close();
            }
            if (dz != gradOutput) dz.close();
        }
    }

    /** filter -= learningRate * gradFilter, bias likewise. */
    public void sgdStep(double learningRate) {
        step(filter, gradFilter, learningRate);
        if (bias != null) step(bias, gradBias, learningRate);
    }

    private static void step(Tensor p, Tensor g, double lr) {
        if (p.dtype() == DType.FLOAT64) {
            double[] v = p.toDoubleArray(), d = g.toDoubleArray();
            for (int i = 0; i < v.length; i++) v[i] -= lr * d[i];
            p.copyFrom(v);
        } else {
            float[] v = p.toArray(), d = g.toArray();
            for (int i = 0; i < v.length; i++) v[i] -= (float) (lr * d[i]);
            p.copyFrom(v);
        }
    }

    /** The layer's filter: a handle on the layer's tensor (closing it does not affect the layer). */
    public Tensor filter() {
        return filterLent = filter.lend(filterLent);
    }

    /** The layer's bias, or null: a handle on the layer's tensor, as {@link #filter()}. */
    public Tensor bias() {
        return bias == null ? null : (biasLent = bias.lend(biasLent));
    }

    /** dL/d(filter) of the last backward call: a handle on the layer's tensor, as {@link #filter()}. */
    public Tensor gradFilter() {
        return gradFilterLent = gradFilter.lend(gradFilterLent);
    }

    /** dL/d(bias) of the last backward call, or null: a handle on the layer's tensor, as {@link #filter()}. */
    public Tensor gradBias() {
        return gradBias == null ? null : (gradBiasLent = gradBias.lend(gradBiasLent));
    }

    public ConvOptions options() { return options; }

    /**
     * Frees the layer's tensors and ends the handles {@link #filter()}, {@link #gradFilter()}...
     * returned (idempotent); the tensors {@link #forward} and {@link #backward} returned stay the
     * caller's.
     */
    @Override
    public void close() {
        for (Tensor t : new Tensor[] {filter, bias, gradFilter, gradBias, lastOutput, filterLent, biasLent, gradFilterLent, gradBiasLent}) {
            if (t != null) t.close();
        }
        lastInput = lastOutput = null;
    }
}
