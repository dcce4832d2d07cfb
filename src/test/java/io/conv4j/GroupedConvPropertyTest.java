package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * Depthwise and grouped convolutions (the {@link Algorithm#GROUPED_DIRECT} kernel, and AUTO) against
 * the plain reference: channel counts that are no multiple of any vector width, channel
 * multipliers, small groups, kernels up to 7x7 and 1xK, strides, dilations, paddings, flip, bias,
 * activations, batches, strided input and output views. Each case runs at 1 and 3 threads, which
 * must give the same bits.
 */
class GroupedConvPropertyTest {

    @Property(tries = 250)
    void matchesReferenceAtAnyThreadCount(@ForAll("grouped") ConvCase c) {
        ConvGeometry g;
        try {
            g = c.geometry();
        } catch (IllegalArgumentException e) { // kernel larger than the padded input
            return;
        }
        int saved = Conv4j.threads();
        float[] one, three;
        try {
            Conv4j.setThreads(1);
            one = c.run();
            Conv4j.setThreads(3);
            three = c.run();
        } finally {
            Conv4j.setThreads(saved);
        }
        double[] want = c.reference();
        assertEquals(want.length, one.length);
        double tol = ConvPropertyTest.tolerance(c.plan().algorithm());
        int bad = ReferenceConv2d.firstMismatch(one, want, c.errorScale(), tol);
        assertTrue(bad < 0, () -> c + ": " + ConvCase.describe(one, want, bad) + " geometry " + g);
        assertArrayEquals(one, three, () -> c + ": 1 and 3 threads differ");
    }

    @Provide
    Arbitrary<ConvCase> grouped() {
        Arbitrary<int[]> dims = Arbitraries.integers().between(1, 17).array(int[].class).ofSize(3);
        Arbitrary<int[]> chans = Arbitraries.integers().between(1, 70).array(int[].class).ofSize(3);
        Arbitrary<int[]> geo = Arbitraries.integers().between(0, 6).array(int[].class).ofSize(8);
        Arbitrary<Long> seeds = Arbitraries.longs();
        return Combinators.combine(dims, chans, geo, seeds).as((hw, ch, m, seed) -> {
            boolean depthwise = (seed & 3) != 0;
            long groups, cin, cout;
            if (depthwise) { // groups = Cin, multiplier 1..3
                groups = cin = Math.max(2, ch[0]);
                cout = cin * (1 + (ch[1] % 3 == 2 ? 2 : ch[1] % 3 == 1 ? 1 : 0));
            } else { // 2..9 groups of 1..20 input channels (more than 16 per group goes to sgemm)
                groups = 2 + ch[0] % 8;
                cin = groups * (1 + ch[1] % 20);
                cout = groups * (1 + ch[2] % 6);
            }
            int[] kernels = {1, 3, 3, 5, 7, 2, 4};
            long kh = kernels[m[0]], kw = (seed & 4) != 0 ? kernels[m[1]] : kh;
            long sh = 1 + m[2] % 3, sw = (seed & 8) != 0 ? 1 + m[3] % 3 : sh;
            long dh = 1 + m[4] % 2, dw = (seed & 16) != 0 ? dh : 1 + m[5] % 3;
            Padding p;
            switch (m[6] % 3) {
                case 0: p = Padding.VALID; break;
                case 1: p = Padding.SAME; break;
                default: p = Padding.explicit(m[7], (m[7] + 1) % 4, m[6], (m[6] + m[7]) % 5);
            }
            Activation act = Activation.values()[(int) ((seed >>> 8) & 0xff) % 3];
            Algorithm algo = (seed & 32) != 0 && cin / groups <= 16 ? Algorithm.GROUPED_DIRECT : Algorithm.AUTO;
            Conv2dOptions o = Conv2dOptions.builder().strides(sh, sw).dilations(dh, dw).padding(p).groups(groups)
                    .flipKernel(((seed >>> 6) & 1) == 1).activation(act).algorithm(algo).build();
            ConvCase.Layout layout = ConvCase.Layout.values()[(int) ((seed >>> 10) & 3) % 3];
            long n = 1 + hw[2] % 3;
            return new ConvCase(Shape.of(n, hw[0], hw[1], cin), Shape.of(kh, kw, cin / groups, cout), o,
                    ((seed >>> 16) & 1) == 1, layout, ((seed >>> 17) & 1) == 1, seed);
        });
    }

    /** AUTO sends the depthwise and small-group layers of the peer benchmark to the direct kernel. */
    @Test
    void autoRoutesDepthwiseAndSmallGroupsToTheDirectKernel() {
        long[][] layers = { // N, H, W, Cin, K, Cout, stride, groups
                {1, 112, 112, 32, 3, 32, 1, 32}, {1, 112, 112, 96, 3, 96, 2, 96}, {1, 14, 14, 576, 3, 576, 1, 576},
                {1, 56, 56, 96, 7, 96, 1, 96}, {1, 56, 56, 128, 3, 128, 1, 32}, {8, 28, 28, 192, 3, 192, 1, 192},
                {1, 20, 23, 30, 5, 60, 2, 30}, {2, 9, 9, 40, 1, 40, 1, 40}};
        for (long[] l : layers) {
            Conv2dOptions o = Conv2dOptions.builder().strides(l[6], l[6]).padding(Padding.SAME).groups(l[7]).build();
            Shape in = Shape.of(l[0], l[1], l[2], l[3]), f = Shape.of(l[4], l[4], l[3] / l[7], l[5]);
            try (Tensor x = Tensor.allocate(in)) {
                Plan plan = Conv2d.plan(x, f, o);
                assertEquals(Algorithm.GROUPED_DIRECT, plan.algorithm(), () -> java.util.Arrays.toString(l) + ": " + plan);
            }
            String explained = Conv2d.explain(in, f, o);
            assertTrue(explained.contains("GROUPED_DIRECT") || explained.contains("grouped_direct"), explained);
        }
    }
}
