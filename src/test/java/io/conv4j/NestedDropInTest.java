package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * The nested-array drop-in keeps per-thread tensors and the last filter prepared between calls
 * ({@link NestedArrays}): every call must still follow its own arguments only. Each result is checked
 * against the plain-Java reference and, bit for bit, against the same call on a fresh thread (which
 * has kept nothing), so a result that leaked from an earlier call fails.
 */
class NestedDropInTest {
    /** One drop-in call: shapes, values and options. */
    private static final class Case {
        final float[][][][] x, w;
        final float[] flatX, flatW, bias;
        final Conv2dOptions options;

        Case(int n, int h, int wd, int c, int k, int cout, long seed, boolean withBias, Conv2dOptions options) {
            flatX = ConvCase.data((long) n * h * wd * c, seed);
            flatW = ConvCase.data((long) k * k * c * cout, seed + 1);
            x = nest(flatX, n, h, wd, c);
            w = nest(flatW, k, k, c, cout);
            bias = withBias ? ConvCase.data(cout, seed + 2) : null;
            this.options = options;
        }

        Case(Case base, float[] newFilter) { // same input and options, other filter values of the same shape
            flatX = base.flatX;
            x = base.x;
            flatW = newFilter;
            w = nest(newFilter, base.w.length, base.w[0].length, base.w[0][0].length, base.w[0][0][0].length);
            bias = base.bias;
            options = base.options;
        }

        float[][][][] run() {
            return Conv2d.conv2d(x, w, bias, options);
        }

        void checkAgainstReference(float[][][][] y) {
            Shape xs = Shape.of(x.length, x[0].length, x[0][0].length, x[0][0][0].length);
            Shape ws = Shape.of(w.length, w[0].length, w[0][0].length, w[0][0][0].length);
            ConvGeometry g = ConvGeometry.of(xs, ws, options);
            double[] want = ReferenceConv2d.forward(flatX, flatW, bias, g, options.flipKernel(), options.activation());
            double[] scale = ReferenceConv2d.errorScale(flatX, flatW, bias, g, options.flipKernel());
            float[] got = flat(y);
            assertEquals(want.length, got.length, "output size");
            assertEquals(-1, ReferenceConv2d.firstMismatch(got, want, scale, 1e-5), "first output off the reference");
        }
    }

    private static float[][][][] nest(float[] f, int a, int b, int c, int d) {
        float[][][][] out = new float[a][b][c][d];
        int p = 0;
        for (float[][][] i : out) for (float[][] j : i) for (float[] k : j) for (int l = 0; l < d; l++) k[l] = f[p++];
        return out;
    }

    private static float[] flat(float[][][][] y) {
        List<Float> out = new ArrayList<>();
        for (float[][][] i : y) for (float[][] j : i) for (float[] k : j) for (float v : k) out.add(v);
        float[] f = new float[out.size()];
        for (int i = 0; i < f.length; i++) f[i] = out.get(i);
        return f;
    }

    /** The call on a new thread, which has no kept tensors or filter. */
    private static float[][][][] onFreshThread(Case c) throws Exception {
        ExecutorService e = Executors.newSingleThreadExecutor();
        try {
            return e.submit(c::run).get();
        } finally {
            e.shutdown();
        }
    }

    private static void assertSameBits(float[][][][] want, float[][][][] got, String what) {
        float[] a = flat(want), b = flat(got);
        assertEquals(a.length, b.length, what + ": size");
        for (int i = 0; i < a.length; i++) {
            assertEquals(Float.floatToRawIntBits(a[i]), Float.floatToRawIntBits(b[i]), what + ": element " + i);
        }
    }

    @Test
    void everyCallFollowsItsOwnArgumentsOnly() throws Exception {
        Conv2dOptions valid = Conv2dOptions.defaults();
        Conv2dOptions same = Conv2dOptions.builder().padding(Padding.SAME).activation(Activation.RELU).build();
        Case a = new Case(2, 12, 11, 3, 5, 4, 1, false, valid);
        float[] negated = a.flatW.clone();
        for (int i = 0; i < negated.length; i++) negated[i] = -negated[i];
        float[] oneChanged = a.flatW.clone();
        oneChanged[oneChanged.length / 2] += 0.25f;
        float[] signedZero = new float[a.flatW.length]; // -0.0 everywhere: bits differ from the zeros of a fresh tensor
        java.util.Arrays.fill(signedZero, -0.0f);
        Case[] sequence = {
            a, a, // the kept filter reused
            new Case(a, negated), new Case(a, oneChanged), a, // the same shape, other values
            new Case(2, 12, 11, 3, 5, 4, 1, true, valid), // a bias appears
            new Case(2, 12, 11, 3, 5, 4, 1, true, same), // other options
            new Case(1, 9, 7, 2, 3, 6, 5, false, valid), // other shapes everywhere
            new Case(a, signedZero), new Case(a, new float[a.flatW.length]), a,
            new Case(3, 40, 36, 8, 3, 16, 9, true, same), a,
        };
        for (int i = 0; i < sequence.length; i++) {
            Case c = sequence[i];
            float[][][][] y = c.run();
            c.checkAgainstReference(y);
            assertSameBits(onFreshThread(c), y, "call " + i + " against the same call on a fresh thread");
        }
    }

    @Test
    void concurrentCallersGetTheSingleThreadedResult() throws Exception {
        Conv2dOptions same = Conv2dOptions.builder().padding(Padding.SAME).build();
        Case[] cases = {
            new Case(2, 16, 16, 3, 5, 8, 21, false, Conv2dOptions.defaults()),
            new Case(1, 20, 18, 4, 3, 16, 22, true, same),
            new Case(3, 10, 12, 2, 1, 5, 23, false, same),
        };
        float[][][][][] want = new float[cases.length][][][][];
        for (int i = 0; i < cases.length; i++) want[i] = onFreshThread(cases[i]);
        ExecutorService pool = Executors.newFixedThreadPool(6);
        try {
            List<Future<Integer>> done = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                final int start = t;
                Callable<Integer> caller = () -> {
                    int calls = 0;
                    for (int r = 0; r < 40; r++) {
                        int i = (start + r * (start % 2 == 0 ? 1 : 2)) % cases.length; // threads mix the cases differently
                        assertSameBits(want[i], cases[i].run(), "thread " + start + ", call " + r);
                        calls++;
                    }
                    return calls;
                };
                done.add(pool.submit(caller));
            }
            int total = 0;
            for (Future<Integer> f : done) total += f.get();
            assertEquals(240, total);
        } finally {
            pool.shutdown();
        }
        for (int i = 0; i < cases.length; i++) cases[i].checkAgainstReference(want[i]);
        assertTrue(want[0].length == 2);
    }

    @Test
    void aCallerArrayChangedBetweenCallsIsReadAgain() {
        Case a = new Case(1, 8, 8, 3, 3, 4, 31, true, Conv2dOptions.defaults());
        float[][][][] first = a.run();
        a.w[1][1][2][3] += 1f; // the same array objects, one value changed in place
        a.flatW[((1 * 3 + 1) * 3 + 2) * 4 + 3] += 1f;
        a.bias[0] -= 0.5f;
        float[][][][] second = a.run();
        a.checkAgainstReference(second);
        assertArrayEquals(first[0][0][0], first[0][0][0]);
        assertTrue(first[0][0][0][0] != second[0][0][0][0], "the bias change reached the output");
    }
}
