package io.conv4j;

import java.util.Arrays;

/**
 * One randomly generated convolution for the property and fuzz tests: shapes, options, data, and
 * how the input and output are laid out in memory. {@link #run()} computes it with conv4j
 * through the requested memory layouts; {@link #reference()} with {@link ReferenceConv2d}.
 */
final class ConvCase {
    /** How the input tensor sits in memory. */
    enum Layout { CONTIGUOUS, NCHW_PERMUTED, PADDED_VIEW }

    final Shape inputShape, filterShape;
    final Conv2dOptions options;
    final boolean hasBias;
    final Layout inputLayout;
    final boolean stridedOutput;
    final long seed;

    ConvCase(Shape inputShape, Shape filterShape, Conv2dOptions options, boolean hasBias, Layout inputLayout,
             boolean stridedOutput, long seed) {
        this.inputShape = inputShape;
        this.filterShape = filterShape;
        this.options = options;
        this.hasBias = hasBias;
        this.inputLayout = inputLayout;
        this.stridedOutput = stridedOutput;
        this.seed = seed;
    }

    float[] input() { return data(inputShape.numElements(), seed); }
    float[] filter() { return data(filterShape.numElements(), seed * 31 + 7); }
    float[] bias() { return hasBias ? data(filterShape.size(3), seed * 17 + 3) : null; }

    static float[] data(long n, long seed) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        float[] f = new float[(int) n];
        for (int i = 0; i < f.length; i++) f[i] = (float) (r.nextDouble() * 2 - 1);
        return f;
    }

    ConvGeometry geometry() {
        return ConvGeometry.of(inputShape, filterShape, options);
    }

    double[] reference() {
        return ReferenceConv2d.forward(input(), filter(), bias(), geometry(), options.flipKernel(), options.activation());
    }

    double[] errorScale() {
        return ReferenceConv2d.errorScale(input(), filter(), bias(), geometry(), options.flipKernel());
    }

    /** Runs conv4j with the input and output in the requested layouts; returns the output row-major. */
    float[] run() {
        float[] x = input();
        try (Tensor w = Tensor.fromArray(filter(), filterShape);
             Tensor b = hasBias ? Tensor.fromArray(bias(), Shape.of(filterShape.size(3))) : null;
             Holder in = inputTensor(x); Holder out = outputTensor()) {
            Tensor y = Conv2d.conv2d(in.view, w, b, options, out.view);
            return y.toArray();
        }
    }

    /** conv4j's plan for this case's input view; IllegalArgumentException if the algorithm cannot run it. */
    Plan plan() {
        try (Holder in = inputTensor(input())) {
            return Conv2d.plan(in.view, filterShape, options);
        }
    }

    /** A view plus the tensor that owns its memory. */
    static final class Holder implements AutoCloseable {
        final Tensor owner, view;

        Holder(Tensor owner, Tensor view) {
            this.owner = owner;
            this.view = view;
        }

        @Override
        public void close() {
            if (owner != null) owner.close();
        }
    }

    Holder inputTensor(float[] x) {
        long n = inputShape.size(0), h = inputShape.size(1), w = inputShape.size(2), c = inputShape.size(3);
        switch (inputLayout) {
            case NCHW_PERMUTED: {
                float[] nchw = new float[x.length];
                for (int b = 0; b < n; b++)
                    for (int i = 0; i < h; i++)
                        for (int j = 0; j < w; j++)
                            for (int k = 0; k < c; k++)
                                nchw[(int) (((b * c + k) * h + i) * w + j)] = x[(int) (((b * h + i) * w + j) * c + k)];
                Tensor t = Tensor.fromArray(nchw, Shape.of(n, c, h, w));
                return new Holder(t, t.permute(0, 2, 3, 1));
            }
            case PADDED_VIEW: {
                // the input is a crop and channel slice of a larger buffer: [n, h+2, w+3, c+2] at offset (1, 2, 1)
                Tensor big = Tensor.allocate(n, h + 2, w + 3, c + 2);
                Tensor view = big.slice(1, 1, h).slice(2, 2, w).slice(3, 1, c);
                view.copyFrom(x);
                return new Holder(big, view);
            }
            default: {
                Tensor t = Tensor.fromArray(x, inputShape);
                return new Holder(t, t);
            }
        }
    }

    Holder outputTensor() {
        if (!stridedOutput) return new Holder(null, null);
        Shape o = geometry().outputShape();
        // the output is a channel slice of a wider tensor, as when concatenating layers
        Tensor big = Tensor.allocate(o.size(0), o.size(1), o.size(2), o.size(3) + 3);
        return new Holder(big, big.slice(3, 2, o.size(3)));
    }

    @Override
    public String toString() {
        return "ConvCase[input=" + inputShape + " (" + inputLayout + "), filter=" + filterShape + ", " + options
                + (hasBias ? ", bias" : "") + (stridedOutput ? ", strided output" : "") + ", seed=" + seed + "]";
    }

    static String describe(float[] got, double[] want, int i) {
        return "element " + i + " got " + got[i] + " want " + want[i] + " (of " + Arrays.toString(new int[] {got.length}) + ")";
    }
}
