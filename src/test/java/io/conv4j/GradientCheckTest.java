package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Locale;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * Finite-difference gradient checks in double precision. For random convolutions (shapes, strides,
 * dilations, VALID/SAME/explicit padding, groups and depthwise, bias, flipped kernel, relu/relu6,
 * strided input and output-gradient views) the scalar L = sum(G * activation(conv2d(x, w) + b)) is
 * evaluated with the plain-Java reference {@link ReferenceConv2d} in double; each sampled parameter
 * p of x, w and b is perturbed by +-h and (L(p+h) - L(p-h)) / 2h is compared with conv4j's float
 * gradient from {@link Conv2dBackward#backward}. L is linear in each single parameter between the
 * activation's kinks, so the central difference is exact up to double rounding; parameters whose
 * perturbation moves any pre-activation across a kink are skipped (and counted).
 *
 * <p>Tolerance: |conv4j - fd| <= 1e-5 (1 + sum of |terms| of that gradient element), the golden
 * README's float32 bound. Every element of every gradient is also compared with the plain-Java
 * backward reference under the same bound.
 */
class GradientCheckTest {
    static final double TOL = 1e-5;
    static final double H = 1e-2;
    static final int SAMPLES = 12; // parameters checked by finite differences per tensor and case

    private static double maxFdError;
    private static long checked, skipped, cases;

    @Property(tries = 300)
    void gradientsMatchFiniteDifferences(@ForAll("cases") GradCase c) {
        ConvGeometry g;
        try {
            g = ConvGeometry.of(c.inputShape, c.filterShape, c.options);
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().contains("larger than the padded input"), e.getMessage());
            return;
        }
        float[] x = c.data(c.inputShape.numElements(), 1), w = c.data(c.filterShape.numElements(), 2);
        float[] b = c.hasBias ? c.data(c.filterShape.size(3), 3) : null;
        float[] gy = c.data(g.outputShape().numElements(), 4);
        Activation act = c.options.activation();

        float[] gotDx, gotDw, gotDb, y;
        try (ConvCase.Holder in = c.inputView(x); Tensor tw = Tensor.fromArray(w, c.filterShape);
             Tensor tb = b == null ? null : Tensor.fromArray(b, Shape.of(b.length));
             ConvCase.Holder dy = c.gradOutputView(gy, g.outputShape());
             Conv2dGradients grads = Conv2dBackward.backward(in.view, tw, tb, null, dy.view, c.options)) {
            gotDx = grads.gradInput().toArray();
            gotDw = grads.gradFilter().toArray();
            gotDb = b == null ? null : grads.gradBias().toArray();
            try (Tensor out = Conv2d.conv2d(in.view, tw, tb, c.options)) {
                y = out.toArray();
            }
        }

        // every element against the plain backward reference (mask from conv4j's own forward output)
        ReferenceConv2dBackward ref = ReferenceConv2dBackward.of(x, w, ReferenceConv2dBackward.throughActivation(gy, y, act), g,
                c.options.flipKernel());
        assertWithin(c, "dX", gotDx, ref.gradInput, ref.inputScale);
        assertWithin(c, "dW", gotDw, ref.gradFilter, ref.filterScale);
        if (b != null) assertWithin(c, "db", gotDb, ref.gradBias, ref.biasScale);

        // finite differences on the reference, for sampled parameters
        double[] z0 = ReferenceConv2d.forward(x, w, b, g, c.options.flipKernel(), null);
        SplittableRandom pick = new SplittableRandom(c.seed ^ 0x5DEECE66DL);
        for (int t = 0; t < 3; t++) {
            float[] p = t == 0 ? x : t == 1 ? w : b;
            if (p == null || p.length == 0) continue;
            float[] got = t == 0 ? gotDx : t == 1 ? gotDw : gotDb;
            double[] scale = t == 0 ? ref.inputScale : t == 1 ? ref.filterScale : ref.biasScale;
            int n = Math.min(SAMPLES, p.length);
            for (int s = 0; s < n; s++) {
                int i = n == p.length ? s : pick.nextInt(p.length);
                double fd = finiteDifference(x, w, b, gy, g, c, p, i, z0);
                if (Double.isNaN(fd)) {
                    skipped++;
                    continue;
                }
                checked++;
                double err = Math.abs(got[i] - fd) / (1 + scale[i]);
                maxFdError = Math.max(maxFdError, err);
                String[] names = {"dX", "dW", "db"};
                int tt = t, ii = i;
                assertTrue(err <= TOL, () -> c + ": " + names[tt] + "[" + ii + "] conv4j " + got[ii] + " finite difference " + fd);
            }
        }
        cases++;
    }

    /**
     * (L(p_i + h) - L(p_i - h)) / (actual step) with L evaluated by the double reference, or NaN
     * when the perturbation moves a pre-activation across a kink of the activation.
     */
    private static double finiteDifference(float[] x, float[] w, float[] b, float[] gy, ConvGeometry g, GradCase c, float[] p,
                                           int i, double[] z0) {
        Activation act = c.options.activation();
        float keep = p[i];
        float up = (float) (keep + H), down = (float) (keep - H); // the reference reads floats: use the rounded steps
        double[] loss = new double[2];
        try {
            for (int k = 0; k < 2; k++) {
                p[i] = k == 0 ? up : down;
                double[] z = ReferenceConv2d.forward(x, w, b, g, c.options.flipKernel(), null);
                double l = 0;
                for (int o = 0; o < z.length; o++) {
                    if (region(z0[o], act) != region(z[o], act)) return Double.NaN;
                    l += gy[o] * ReferenceConv2d.activate(z[o], act);
                }
                loss[k] = l;
            }
        } finally {
            p[i] = keep;
        }
        return (loss[0] - loss[1]) / ((double) up - (double) down);
    }

    private static int region(double z, Activation act) {
        if (act == Activation.NONE) return 0;
        if (act == Activation.RELU) return z > 0 ? 1 : 0;
        return z <= 0 ? 0 : z < 6 ? 1 : 2;
    }

    private static void assertWithin(GradCase c, String what, float[] got, double[] want, double[] scale) {
        assertEquals(want.length, got.length, what + " length");
        int bad = ReferenceConv2dBackward.firstMismatch(got, want, scale, TOL);
        assertTrue(bad < 0, () -> c + ": " + what + "[" + bad + "] got " + got[bad] + " want " + want[bad]);
    }

    @AfterContainer
    static void report() {
        System.out.printf(Locale.ROOT, "gradient check: %d cases, %d parameters checked by finite differences (%d skipped at"
                + " activation kinks), max |conv4j - fd| / (1 + sum|terms|) = %.2e (tolerance %.0e)%n", cases, checked, skipped,
                maxFdError, TOL);
    }

    /** One random convolution with its layouts; data comes from the seed. */
    static final class GradCase {
        final Shape inputShape, filterShape;
        final Conv2dOptions options;
        final boolean hasBias;
        final ConvCase.Layout layout;
        final boolean stridedGradOutput;
        final long seed;

        GradCase(Shape inputShape, Shape filterShape, Conv2dOptions options, boolean hasBias, ConvCase.Layout layout,
                 boolean stridedGradOutput, long seed) {
            this.inputShape = inputShape;
            this.filterShape = filterShape;
            this.options = options;
            this.hasBias = hasBias;
            this.layout = layout;
            this.stridedGradOutput = stridedGradOutput;
            this.seed = seed;
        }

        /** Values uniform in [-1, 1). */
        float[] data(long n, long stream) {
            SplittableRandom r = new SplittableRandom(seed * 31 + stream);
            float[] f = new float[(int) n];
            for (int i = 0; i < f.length; i++) f[i] = (float) (r.nextDouble() * 2 - 1);
            return f;
        }

        ConvCase.Holder inputView(float[] x) {
            return new ConvCase(inputShape, filterShape, options, hasBias, layout, false, seed).inputTensor(x);
        }

        /** dL/d(output) contiguous, or as a channel slice of a wider tensor. */
        ConvCase.Holder gradOutputView(float[] gy, Shape out) {
            if (!stridedGradOutput) {
                Tensor t = Tensor.fromArray(gy, out);
                return new ConvCase.Holder(t, t);
            }
            Tensor big = Tensor.allocate(out.size(0), out.size(1), out.size(2), out.size(3) + 3);
            Tensor view = big.slice(3, 1, out.size(3));
            view.copyFrom(gy);
            return new ConvCase.Holder(big, view);
        }

        @Override
        public String toString() {
            return "GradCase[input=" + inputShape + " (" + layout + "), filter=" + filterShape + ", " + options
                    + (hasBias ? ", bias" : "") + (stridedGradOutput ? ", strided dY" : "") + ", seed=" + seed + "]";
        }
    }

    @Provide
    Arbitrary<GradCase> cases() {
        Arbitrary<int[]> dims = Arbitraries.integers().between(1, 9).array(int[].class).ofSize(2);
        Arbitrary<int[]> chans = Arbitraries.integers().between(1, 4).array(int[].class).ofSize(2);
        Arbitrary<int[]> kern = Arbitraries.integers().between(1, 4).array(int[].class).ofSize(2);
        Arbitrary<int[]> steps = Arbitraries.integers().between(1, 3).array(int[].class).ofSize(4);
        Arbitrary<int[]> misc = Arbitraries.integers().between(0, 3).array(int[].class).ofSize(6);
        Arbitrary<Long> seeds = Arbitraries.longs();
        return Combinators.combine(dims, chans, kern, steps, misc, seeds).as((hw, ch, k, st, m, seed) -> {
            int n = 1 + m[0] % 2, groups = 1 + m[1] % 3;
            boolean depthwise = (seed & 7) == 3;
            int cg = depthwise ? 1 : ch[0];
            Padding p;
            switch (m[2]) {
                case 0: p = Padding.VALID; break;
                case 1: p = Padding.SAME; break;
                default: p = Padding.explicit(m[3], m[4], m[5], (m[3] + m[5]) % 3);
            }
            Activation act = Activation.values()[(int) ((seed >>> 8) & 0xff) % 3];
            Conv2dOptions o = Conv2dOptions.builder().strides(st[0], st[1]).dilations(1 + st[2] % 2, 1 + st[3] % 2).padding(p)
                    .groups(groups).flipKernel(((seed >>> 4) & 1) == 1).activation(act).build();
            ConvCase.Layout layout = ConvCase.Layout.values()[(int) ((seed >>> 6) & 3) % 3];
            return new GradCase(Shape.of(n, hw[0], hw[1], groups * cg), Shape.of(k[0], k[1], cg, groups * ch[1]), o,
                    ((seed >>> 16) & 1) == 1, layout, ((seed >>> 17) & 1) == 1, seed);
        });
    }
}
