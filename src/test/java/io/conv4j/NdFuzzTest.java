package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Property, for ranks 1, 2 and 3 and both dtypes (the N-d calls {@link Conv#conv},
 * {@link Conv#gradInput}, {@link Conv#gradFilter} and {@link Conv#transpose}): a valid call matches
 * the plain reference ({@link ReferenceConvNd}) and writes nothing outside its output view; a call
 * made hostile in one way (a filter of another rank, a per-axis list of the wrong length, a tensor
 * of the other dtype, channels that do not fit the groups, a closed tensor, an output of the
 * wrong shape or overlapping an input, output padding past its bound) throws a documented
 * exception with the caller's output buffer untouched. Inputs never change. Deterministic:
 * {@code conv4j.fuzz.tries} cases (scaled down from the 2-D fuzz's count), seed {@code conv4j.fuzz.seed}.
 */
class NdFuzzTest {
    static final int TRIES = Math.max(60, Integer.getInteger("conv4j.fuzz.tries", 10_000) / 8);
    static final long SEED = Long.getLong("conv4j.fuzz.seed", 0xC0417L) ^ 0x3D3DL;
    private static final double CANARY = -7777.25;

    @Test
    void ndCallsMatchTheReferenceOrThrowDocumentedExceptions() {
        TreeMap<String, Integer> tally = new TreeMap<>();
        for (int i = 0; i < TRIES; i++) {
            String outcome;
            try {
                outcome = runCase(new SplittableRandom(SEED * 0x9E3779B97F4A7C15L + i));
            } catch (AssertionError e) {
                throw new AssertionError("N-d fuzz case " + i + ": " + e.getMessage(), e);
            }
            tally.merge(outcome, 1, Integer::sum);
        }
        System.out.printf(Locale.ROOT, "N-d fuzz: %d cases: %s%n", TRIES, tally);
        assertTrue(tally.getOrDefault("benign ok", 0) >= TRIES / 4, "too few valid cases: " + tally);
        assertTrue(tally.keySet().stream().filter(k -> k.startsWith("hostile IllegalArgumentException")).count() >= 1, tally::toString);
        assertTrue(tally.keySet().stream().anyMatch(k -> k.startsWith("hostile IllegalStateException")), tally::toString);
    }

    private static String runCase(SplittableRandom r) {
        int rank = 1 + r.nextInt(3);
        DType dt = r.nextBoolean() ? DType.FLOAT64 : DType.FLOAT32;
        long groups = 1 + r.nextInt(2), cin = groups * (1 + r.nextInt(2)), cout = groups * (1 + r.nextInt(3)), n = 1 + r.nextInt(2);
        long[] in = new long[rank], k = new long[rank], s = new long[rank], d = new long[rank], pads = new long[2 * rank];
        for (int a = 0; a < rank; a++) {
            k[a] = 1 + r.nextInt(3);
            s[a] = 1 + r.nextInt(2);
            d[a] = 1 + r.nextInt(2);
            in[a] = (k[a] - 1) * d[a] + 1 + r.nextInt(rank == 3 ? 3 : 6);
            pads[2 * a] = r.nextInt(2);
            pads[2 * a + 1] = r.nextInt(2);
        }
        int pk = r.nextInt(4);
        Padding padding = pk == 0 ? Padding.VALID : pk == 1 ? Padding.SAME : pk == 2 ? Padding.SAME_LOWER : Padding.explicit(pads);
        long[] begin = ConvNdPropertyTest.padBegin(padding, in, k, s, d);
        boolean flip = r.nextBoolean(), withBias = r.nextBoolean();
        ConvOptions.Builder ob = ConvOptions.builder().strides(s).dilations(d).padding(padding).groups(groups).flipKernel(flip);
        Shape xs = Shape.of(ConvNdPropertyTest.concat(n, in, cin)), ws = Shape.of(ConvNdPropertyTest.concat(-1, k, cin / groups, cout));
        ConvOptions o = ob.build();
        Shape ys = Conv.outputShape(xs, ws, o);
        double[] x = values(r, xs, dt), w = values(r, ws, dt), b = withBias ? values(r, Shape.of(cout), dt) : null, dy = values(r, ys, dt);
        int call = r.nextInt(4); // 0 forward, 1 grad input, 2 grad filter, 3 transpose
        int hostile = r.nextInt(10) < 6 ? 0 : 1 + r.nextInt(8);
        Shape outShape = call == 0 ? ys : call == 1 || call == 3 ? xs : ws;
        try (Tensor tx = ConvNdPropertyTest.tensor(dt, x, xs); Tensor tw = ConvNdPropertyTest.tensor(dt, w, ws);
             Tensor tb = b == null ? null : ConvNdPropertyTest.tensor(dt, b, Shape.of(cout)); Tensor tdy = ConvNdPropertyTest.tensor(dt, dy, ys);
             Tensor other = Tensor.allocate(dt == DType.FLOAT32 ? DType.FLOAT64 : DType.FLOAT32, call == 2 ? xs : ws);
             Tensor wrongRank = Tensor.allocate(dt, Shape.of(ConvNdPropertyTest.concat(-1, withAxis(k, rank), cin / groups, cout)));
             Tensor closed = Tensor.allocate(dt, xs);
             Tensor wide = Tensor.allocate(dt, widened(outShape))) {
            closed.close();
            fillCanary(wide);
            Tensor view = wide.slice(outShape.rank() - 1, 1, outShape.size(outShape.rank() - 1));
            Tensor target = r.nextBoolean() ? view : null; // null: a fresh result
            Tensor px = tx, pw = tw, pdy = tdy;
            ConvOptions po = o;
            long[] outputPadding = null; // null: the transposed output shape given as the forward input's
            switch (hostile) {
                case 1: pw = wrongRank; break;
                case 2: po = ob.strides(s.length == 1 ? new long[] {1, 1} : new long[] {1}).build(); break;
                case 3: if (call == 2) px = other; else pw = other; break;
                case 4: po = ob.groups(cin + 1).build(); break;
                case 5: if (call == 2) px = closed; else pw = closedLike(tw); break;
                case 6: target = wide; break; // an output of the wrong shape: the whole buffer
                case 7: if (call == 2) pdy = null; else pw = null; break;
                case 8:
                    outputPadding = new long[rank];
                    outputPadding[0] = Math.max(s[0], d[0]) + r.nextInt(2);
                    break;
                default: break;
            }
            double[] before = GoldenNd.values(wide);
            String outcome;
            try {
                Tensor fresh = invoke(call, px, pw, tb, pdy, po, target, xs, ws, outputPadding);
                try {
                    double[] got = GoldenNd.values(fresh != null ? fresh : target);
                    double[] want = reference(call, xs, ws, s, d, begin, groups, flip, ys, x, w, b, dy);
                    double tol = (dt == DType.FLOAT64 ? 1e-12 : 1e-5) * 10 * Math.max(1, Arrays.stream(want).map(Math::abs).max().orElse(1));
                    assertEquals(want.length, got.length, "result size");
                    for (int i = 0; i < want.length; i++) {
                        int at = i;
                        assertTrue(Math.abs(got[i] - want[i]) <= tol, () -> "element " + at + ": got " + got[at] + ", want " + want[at]);
                    }
                    if (fresh != null) assertArrayEquals(before, GoldenNd.values(wide), "a fresh result wrote into the caller's buffer");
                    else outsideUntouched(wide, outShape);
                } finally {
                    if (fresh != null) fresh.close();
                }
                outcome = hostile == 0 ? "benign ok" : "hostile ok " + hostile;
            } catch (IllegalArgumentException | IllegalStateException | NullPointerException | IndexOutOfBoundsException e) {
                assertTrue(hostile != 0, () -> "a valid call threw " + e);
                assertTrue(e.getMessage() != null && !e.getMessage().isEmpty(), "an exception without a message: " + e);
                assertArrayEquals(before, GoldenNd.values(wide), "a refused call changed the output buffer: " + e);
                outcome = "hostile " + e.getClass().getSimpleName();
            }
            assertArrayEquals(x, GoldenNd.values(tx), "the input changed");
            assertArrayEquals(w, GoldenNd.values(tw), "the filter changed");
            assertArrayEquals(dy, GoldenNd.values(tdy), "the output gradient changed");
            return outcome;
        }
    }

    /** Runs one of the four calls: into {@code target} when it is not null and the call takes one (returns null), else fresh. */
    private static Tensor invoke(int call, Tensor x, Tensor w, Tensor b, Tensor dy, ConvOptions o, Tensor target, Shape xs, Shape ws,
                                 long[] outputPadding) {
        switch (call) {
            case 0:
                if (target == null) return Conv.conv(x, w, b, o);
                Conv.conv(x, w, b, o, target);
                return null;
            case 1:
                if (target == null) return Conv.gradInput(dy, w, xs, o);
                Conv.gradInput(dy, w, xs, o, target);
                return null;
            case 2:
                return Conv.gradFilter(x, dy, ws, o);
            default:
                return outputPadding == null ? Conv.transpose(dy, w, null, o, xs) : Conv.transpose(dy, w, null, o, outputPadding);
        }
    }

    private static double[] reference(int call, Shape xs, Shape ws, long[] s, long[] d, long[] begin, long groups, boolean flip, Shape ys,
                                      double[] x, double[] w, double[] b, double[] dy) {
        ReferenceConvNd ref = new ReferenceConvNd(xs, ws, s, d, begin, groups, flip, ys);
        switch (call) {
            case 0: return ref.forward(x, w, b, (int) ys.numElements());
            case 2: return ref.gradFilter(x, dy, (int) ws.numElements());
            default: return ref.gradInput(dy, w, (int) xs.numElements());
        }
    }

    private static double[] values(SplittableRandom r, Shape s, DType dt) {
        double[] v = new double[(int) s.numElements()];
        for (int i = 0; i < v.length; i++) v[i] = dt == DType.FLOAT32 ? (float) (r.nextDouble() * 2 - 1) : r.nextDouble() * 2 - 1;
        return v;
    }

    private static long[] withAxis(long[] k, int rank) {
        long[] v = Arrays.copyOf(k, rank == 3 ? 2 : rank + 1);
        if (rank < 3) v[rank] = 1;
        return v;
    }

    private static Tensor closedLike(Tensor t) {
        Tensor c = Tensor.allocate(t.dtype(), t.shape());
        c.close();
        return c;
    }

    private static Shape widened(Shape s) {
        long[] d = s.toArray();
        d[d.length - 1] += 3;
        return Shape.of(d);
    }

    private static void fillCanary(Tensor t) {
        double[] v = new double[(int) t.shape().numElements()];
        Arrays.fill(v, CANARY);
        if (t.dtype() == DType.FLOAT64) {
            t.copyFrom(v);
        } else {
            float[] f = new float[v.length];
            Arrays.fill(f, (float) CANARY);
            t.copyFrom(f);
        }
    }

    private static void outsideUntouched(Tensor wide, Shape shape) {
        double[] after = GoldenNd.values(wide);
        long inner = shape.size(shape.rank() - 1) + 3;
        for (int i = 0; i < after.length; i++) {
            long ch = i % inner;
            if (ch < 1 || ch >= 1 + shape.size(shape.rank() - 1)) assertEquals(CANARY, after[i], "element " + i + " outside the view changed");
        }
    }
}
