package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Property: for random shapes, options, memory layouts and algorithms, conv4j matches the plain
 * reference within the golden tolerance, or (when the kernel does not fit) refuses with
 * IllegalArgumentException before running anything.
 */
class ConvPropertyTest {

    @Property(tries = 400)
    void matchesReference(@ForAll("cases") ConvCase c) {
        ConvGeometry g;
        try {
            g = c.geometry();
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().contains("larger than the padded input"), e.getMessage());
            assertThrows(IllegalArgumentException.class, c::run);
            return;
        }
        Algorithm a = c.options.algorithm();
        if (a != Algorithm.AUTO && !applicable(c)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, c::run);
            assertTrue(e.getMessage().contains("cannot run"), e.getMessage());
            return;
        }
        float[] got = c.run();
        double[] want = c.reference();
        assertEquals(want.length, got.length);
        double tol = tolerance(plannedAlgorithm(c));
        int bad = ReferenceConv2d.firstMismatch(got, want, c.errorScale(), tol);
        assertTrue(bad < 0, () -> c + ": " + ConvCase.describe(got, want, bad) + " geometry " + g);
    }

    /** The golden tolerance for exact algorithms; transform-based ones are allowed more (see README). */
    static double tolerance(Algorithm ran) {
        return ran.isExact() ? 1e-5 : 1e-4;
    }

    static Algorithm plannedAlgorithm(ConvCase c) {
        return c.plan().algorithm();
    }

    static boolean applicable(ConvCase c) {
        try {
            c.plan();
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    @Provide
    Arbitrary<ConvCase> cases() {
        return generator(12, 6);
    }

    /** Random convolutions with spatial sizes up to maxHw and channels per group up to maxC. */
    static Arbitrary<ConvCase> generator(int maxHw, int maxC) {
        Arbitrary<int[]> dims = Arbitraries.integers().between(1, maxHw).array(int[].class).ofSize(2);
        Arbitrary<int[]> chans = Arbitraries.integers().between(1, maxC).array(int[].class).ofSize(2); // per group
        Arbitrary<int[]> kern = Arbitraries.integers().between(1, 5).array(int[].class).ofSize(2);
        Arbitrary<int[]> steps = Arbitraries.integers().between(1, 3).array(int[].class).ofSize(4);
        Arbitrary<int[]> misc = Arbitraries.integers().between(0, 3).array(int[].class).ofSize(6);
        Arbitrary<Algorithm> algos = Arbitraries.of(Algorithm.values());
        Arbitrary<Long> seeds = Arbitraries.longs();
        return Combinators.combine(dims, chans, kern, steps, misc, algos, seeds).as((hw, ch, k, st, m, algo, seed) -> {
            int n = 1 + m[0] % 3, groups = 1 + m[1] % 3;
            boolean square3x3 = (seed & 3) == 0; // bias towards Winograd-shaped and 1x1 layers
            boolean oneByOne = (seed & 3) == 1;
            int kh = square3x3 ? 3 : oneByOne ? 1 : k[0], kw = square3x3 ? 3 : oneByOne ? 1 : k[1];
            int sh = square3x3 ? 1 : st[0], sw = square3x3 ? 1 : st[1];
            int dh = square3x3 || (seed & 4) == 0 ? 1 : st[2], dw = square3x3 || (seed & 8) == 0 ? 1 : st[3];
            Padding p;
            switch (m[2]) {
                case 0: p = Padding.VALID; break;
                case 1: p = Padding.SAME; break;
                default: p = Padding.explicit(m[3], m[4], m[5], (m[3] + m[5]) % 4);
            }
            Activation act = Activation.values()[(int) ((seed >>> 8) & 0xff) % 3];
            Conv2dOptions o = Conv2dOptions.builder().strides(sh, sw).dilations(dh, dw).padding(p).groups(groups)
                    .flipKernel(((seed >>> 4) & 1) == 1).activation(act).algorithm(algo)
                    .exactOnly(((seed >>> 5) & 1) == 1).build();
            ConvCase.Layout layout = ConvCase.Layout.values()[(int) ((seed >>> 6) & 3) % 3];
            return new ConvCase(Shape.of(n, hw[0], hw[1], groups * ch[0]), Shape.of(kh, kw, ch[0], groups * ch[1]), o,
                    ((seed >>> 16) & 1) == 1, layout, ((seed >>> 17) & 1) == 1, seed);
        });
    }
}
