package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The README's numerics bounds, measured: for each transform algorithm, 300 random
 * convolutions (seed {@value #SEED}; {@code -Dconv4j.numerics.cases=N} for more) of the kind AUTO gives it (stride 1, or strided through space
 * to depth; padding at most half the kernel; any flip, bias, channel counts; data uniform in
 * [-1, 1)), forced to that algorithm, against the plain-Java double reference in the golden
 * tolerance's metric {@code max |got - ref| / (1 + |bias| + sum over the window of |x*w|)}. Each
 * algorithm's maximum must stay within the bound the README promises; the measured maxima are
 * printed (the README quotes them).
 */
class NumericsBoundsTest {
    static final long SEED = 20261206L;
    static final int CASES = Integer.getInteger("conv4j.numerics.cases", 300);
    /** The promised bounds (README "Numerics"): about twice the maxima measured over 3000 cases each. */
    static final double BOUND_WINOGRAD_2X2 = 5e-7, BOUND_WINOGRAD_4X4 = 8e-6, BOUND_FFT = 6e-7, BOUND_WINOGRAD_1D = 8e-6,
            BOUND_WINOGRAD_K2 = 8e-6;

    /** A random convolution the algorithm can run, or null (then another draw). */
    static Object[] draw(SplittableRandom r, Algorithm a) {
        if (a == Algorithm.WINOGRAD_1D) return draw1d(r);
        if (a == Algorithm.WINOGRAD_K2) return drawK2(r);
        boolean strided = r.nextInt(4) == 0;
        int s = strided ? 2 + r.nextInt(2) : 1;
        int k, dil = 1;
        if (a == Algorithm.FFT) {
            k = strided ? s + 1 + r.nextInt(5) : 1 + r.nextInt(9);
            if (!strided && r.nextInt(4) == 0) dil = 2;
        } else {
            k = strided ? 2 * s + 1 + r.nextInt(s) : 3; // 2s+1 to 3s taps become 3x3 by space to depth
        }
        int ext = (k - 1) * dil + 1;
        int h = ext + r.nextInt(20), w = ext + r.nextInt(20), n = 1 + r.nextInt(2);
        int cin = 1 + r.nextInt(r.nextBoolean() ? 8 : 48), cout = 1 + r.nextInt(r.nextBoolean() ? 8 : 48);
        Padding pad = padding(r, ext, ext);
        Conv2dOptions o = Conv2dOptions.builder().strides(s, s).dilations(dil, dil).padding(pad).flipKernel(r.nextBoolean())
                .algorithm(a).build();
        return runnable(Shape.of(n, h, w, cin), Shape.of(k, k, cin, cout), o, r);
    }

    /** VALID, SAME or explicit padding of at most half the kernel extent (eh, ew) on each side. */
    static Padding padding(SplittableRandom r, int eh, int ew) {
        int kind = r.nextInt(3);
        if (kind == 0) return Padding.VALID;
        if (kind == 1) return Padding.SAME;
        return Padding.explicit(r.nextInt(eh / 2 + 1), r.nextInt(eh / 2 + 1), r.nextInt(ew / 2 + 1), r.nextInt(ew / 2 + 1));
    }

    /** The drawn case (with a coin for the bias), or null when AUTO's rules or the algorithm would not run it. */
    static Object[] runnable(Shape xs, Shape ws, Conv2dOptions o, SplittableRandom r) {
        try (Tensor probe = Tensor.allocate(Shape.of(1, xs.size(1), xs.size(2), xs.size(3)))) {
            if (Planner.wideUnevenPadding(ConvGeometry.of(xs, ws, o)) || Conv2d.plan(probe, ws, o).units() <= 0) return null;
        } catch (IllegalArgumentException e) {
            return null;
        }
        return new Object[] {xs, ws, o, r.nextBoolean()};
    }

    /**
     * For the 1-D Winograd: 1xK and Kx1 kernels of 2 to 9 taps (every window size it picks), now
     * and then 2 or 3 taps across with stride or dilation there, and now and then stride 2 along
     * the kernel (two phases of 2 to 5 taps).
     */
    static Object[] draw1d(SplittableRandom r) {
        int sk = r.nextInt(4) == 0 ? 2 : 1;
        int k = sk == 1 ? 2 + r.nextInt(8) : 3 + r.nextInt(8), across = r.nextInt(4) == 0 ? 2 + r.nextInt(2) : 1;
        int sa = 1 + r.nextInt(2), da = across > 1 ? 1 + r.nextInt(2) : 1;
        boolean alongW = r.nextBoolean();
        int kh = alongW ? across : k, kw = alongW ? k : across;
        int eh = (kh - 1) * (alongW ? da : 1) + 1, ew = (kw - 1) * (alongW ? 1 : da) + 1;
        int h = eh + r.nextInt(20), w = ew + r.nextInt(20), n = 1 + r.nextInt(2);
        int cin = 1 + r.nextInt(r.nextBoolean() ? 8 : 48), cout = 1 + r.nextInt(r.nextBoolean() ? 8 : 48);
        Padding pad = padding(r, eh, ew);
        Conv2dOptions o = Conv2dOptions.builder().strides(alongW ? sa : sk, alongW ? sk : sa).dilations(alongW ? da : 1, alongW ? 1 : da)
                .padding(pad).flipKernel(r.nextBoolean()).algorithm(Algorithm.WINOGRAD_1D).build();
        return runnable(Shape.of(n, h, w, cin), Shape.of(kh, kw, cin, cout), o, r);
    }

    /**
     * For Winograd F(4x4,2x2): mostly strided layers (3 or 4 taps at stride 2, 2x2 after space to
     * depth, 3x3/2 first of all), else a 2x2 kernel at stride 1.
     */
    static Object[] drawK2(SplittableRandom r) {
        boolean strided = r.nextInt(4) != 0;
        int s = strided ? 2 : 1;
        int kh = strided ? 3 + r.nextInt(2) : 2, kw = strided ? 3 + r.nextInt(2) : 2;
        int h = kh + r.nextInt(20), w = kw + r.nextInt(20), n = 1 + r.nextInt(2);
        int cin = 1 + r.nextInt(r.nextBoolean() ? 8 : 48), cout = 1 + r.nextInt(r.nextBoolean() ? 8 : 48);
        Conv2dOptions o = Conv2dOptions.builder().strides(s, s).padding(padding(r, kh, kw)).flipKernel(r.nextBoolean())
                .algorithm(Algorithm.WINOGRAD_K2).build();
        return runnable(Shape.of(n, h, w, cin), Shape.of(kh, kw, cin, cout), o, r);
    }

    static double measure(Algorithm a, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double worst = 0;
        String where = "";
        for (int i = 0; i < CASES; i++) {
            Object[] c;
            do {
                c = draw(r, a);
            } while (c == null);
            Shape xs = (Shape) c[0], ws = (Shape) c[1];
            Conv2dOptions o = (Conv2dOptions) c[2];
            long dataSeed = r.nextLong();
            float[] x = ConvCase.data(xs.numElements(), dataSeed), w = ConvCase.data(ws.numElements(), dataSeed + 1);
            float[] bias = (Boolean) c[3] ? ConvCase.data(ws.size(3), dataSeed + 2) : null;
            ConvGeometry g = ConvGeometry.of(xs, ws, o);
            float[] got = Conv2d.conv2d(x, xs, w, ws, bias, o);
            double[] ref = ReferenceConv2d.forward(x, w, bias, g, o.flipKernel(), Activation.NONE);
            double[] scale = ReferenceConv2d.errorScale(x, w, bias, g, o.flipKernel());
            for (int j = 0; j < got.length; j++) {
                double e = Math.abs(got[j] - ref[j]) / scale[j];
                if (!(e <= worst)) {
                    worst = e;
                    where = xs + " " + ws + " " + o;
                }
            }
        }
        System.out.printf(Locale.ROOT, "numerics: %s max |got - ref| / (1 + |b| + sum|x*w|) over %d random cases (seed %d) = %.3e"
                + " at %s%n", a, CASES, seed, worst, where);
        return worst;
    }

    @Test
    void winograd2x2StaysWithinTheReadmeBound() {
        double m = measure(Algorithm.WINOGRAD_2X2, SEED);
        assertTrue(m <= BOUND_WINOGRAD_2X2, "Winograd F(2x2) " + m + " over the README's " + BOUND_WINOGRAD_2X2);
    }

    @Test
    void winograd4x4StaysWithinTheReadmeBound() {
        double m = measure(Algorithm.WINOGRAD_4X4, SEED + 1);
        assertTrue(m <= BOUND_WINOGRAD_4X4, "Winograd F(4x4) " + m + " over the README's " + BOUND_WINOGRAD_4X4);
    }

    @Test
    void winograd1dStaysWithinTheReadmeBound() {
        double m = measure(Algorithm.WINOGRAD_1D, SEED + 3);
        assertTrue(m <= BOUND_WINOGRAD_1D, "1-D Winograd " + m + " over the README's " + BOUND_WINOGRAD_1D);
    }

    @Test
    void winogradK2StaysWithinTheReadmeBound() {
        double m = measure(Algorithm.WINOGRAD_K2, SEED + 4);
        assertTrue(m <= BOUND_WINOGRAD_K2, "Winograd F(4x4,2x2) " + m + " over the README's " + BOUND_WINOGRAD_K2);
    }

    @Test
    void fftStaysWithinTheReadmeBound() {
        double m = measure(Algorithm.FFT, SEED + 2);
        assertTrue(m <= BOUND_FFT, "FFT " + m + " over the README's " + BOUND_FFT);
    }
}
