package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Property: over ranks 1-3 and both dtypes, random sizes, strides, dilations, explicit/SAME/SAME_LOWER/VALID
 * padding, groups, flip and bias, the forward pass and both gradients match the plain-Java
 * reference ({@link ReferenceConvNd}); float32 within 1e-5 of the sum of |products| (the golden
 * tolerance), float64 within 1e-12 of it. Strided (non-contiguous) input views are included.
 */
class ConvNdPropertyTest {

    @Property(tries = 150)
    void matchesReference(@ForAll @IntRange(min = 1, max = 3) int rank, @ForAll boolean float64, @ForAll long seed) {
        Random r = new Random(seed);
        DType dt = float64 ? DType.FLOAT64 : DType.FLOAT32;
        long groups = 1 + r.nextInt(3);
        long cin = groups * (1 + r.nextInt(3)), cout = groups * (1 + r.nextInt(3)), n = 1 + r.nextInt(2);
        long[] in = new long[rank], k = new long[rank], s = new long[rank], d = new long[rank], pads = new long[2 * rank];
        for (int a = 0; a < rank; a++) {
            in[a] = 1 + r.nextInt(rank == 3 ? 6 : 11);
            k[a] = 1 + r.nextInt(3);
            s[a] = 1 + r.nextInt(2);
            d[a] = 1 + r.nextInt(2);
            pads[2 * a] = r.nextInt(3);
            pads[2 * a + 1] = r.nextInt(3);
            long ext = (k[a] - 1) * d[a] + 1;
            if (in[a] < ext) in[a] = ext; // the kernel fits the input even without padding (VALID)
        }
        int pk = r.nextInt(4);
        Padding padding = pk == 0 ? Padding.VALID : pk == 1 ? Padding.SAME : pk == 2 ? Padding.SAME_LOWER : Padding.explicit(pads);
        long[] begin = padBegin(padding, in, k, s, d);
        boolean flip = r.nextBoolean(), bias = r.nextBoolean(), strided = r.nextBoolean();
        ConvOptions o = ConvOptions.builder().strides(s).dilations(d).padding(padding).groups(groups).flipKernel(flip).build();
        Shape xs = Shape.of(concat(n, in, cin)), ws = Shape.of(concat(-1, k, cin / groups, cout));
        ConvDescriptor cd = ConvDescriptor.of(xs, ws, o, dt);
        Shape ys = cd.outputShape();
        double[] x = random(r, xs.numElements()), w = random(r, ws.numElements()), b = bias ? random(r, cout) : null;
        double[] dy = random(r, ys.numElements());
        if (dt == DType.FLOAT32) { // the reference sees exactly the values conv4j gets
            round(x);
            round(w);
            round(dy);
            if (b != null) round(b);
        }
        ReferenceConvNd ref = new ReferenceConvNd(xs, ws, s, d, begin, groups, flip, ys);
        double tol = dt == DType.FLOAT64 ? 1e-12 : 1e-5;
        try (Tensor tx = input(dt, x, xs, strided); Tensor tw = tensor(dt, w, ws); Tensor tb = b == null ? null : tensor(dt, b, Shape.of(cout));
             Tensor tdy = tensor(dt, dy, ys);
             Tensor y = Conv.conv(tx, tw, tb, o);
             Tensor dx = Conv.gradInput(tdy, tw, xs, o);
             Tensor dw = Conv.gradFilter(tx, tdy, ws, o)) {
            assertEquals(ys, y.shape());
            check("forward", ref.forward(x, w, b, (int) ys.numElements()), GoldenNd.values(y), ref.forwardScale(x, w, (int) ys.numElements()), tol);
            check("grad input", ref.gradInput(dy, w, (int) xs.numElements()), GoldenNd.values(dx), null, tol);
            check("grad filter", ref.gradFilter(x, dy, (int) ws.numElements()), GoldenNd.values(dw), null, tol);
        }
    }

    private static void check(String what, double[] want, double[] got, double[] scale, double tol) {
        assertEquals(want.length, got.length, what);
        double max = 1;
        for (double v : want) max = Math.max(max, Math.abs(v));
        for (int i = 0; i < want.length; i++) {
            double allowed = tol * (scale != null ? 1 + scale[i] : 10 * max);
            if (!(Math.abs(got[i] - want[i]) <= allowed)) {
                throw new AssertionError(what + "[" + i + "]: got " + got[i] + ", want " + want[i] + " (allowed " + allowed + ")");
            }
        }
    }

    /**
     * The pad at the beginning of each axis by each rule's definition (not conv4j's arithmetic):
     * SAME (ONNX's SAME_UPPER) puts the odd pixel of the total at the end, SAME_LOWER at the beginning.
     */
    static long[] padBegin(Padding p, long[] in, long[] k, long[] s, long[] d) {
        long[] begin = new long[in.length];
        for (int a = 0; a < in.length; a++) {
            long total = Math.max(((in[a] + s[a] - 1) / s[a] - 1) * s[a] + (k[a] - 1) * d[a] + 1 - in[a], 0);
            begin[a] = p.kind() == Padding.Kind.SAME ? total / 2 : p.kind() == Padding.Kind.SAME_LOWER ? (total + 1) / 2 : p.begin(a);
        }
        return begin;
    }

    static long[] concat(long first, long[] mid, long... last) {
        int skip = first < 0 ? 1 : 0;
        long[] v = new long[1 - skip + mid.length + last.length];
        int i = 0;
        if (first >= 0) v[i++] = first;
        for (long m : mid) v[i++] = m;
        for (long l : last) v[i++] = l;
        return v;
    }

    static double[] random(Random r, long count) {
        double[] v = new double[(int) count];
        for (int i = 0; i < v.length; i++) v[i] = r.nextDouble() * 2 - 1;
        return v;
    }

    static void round(double[] v) {
        for (int i = 0; i < v.length; i++) v[i] = (float) v[i];
    }

    static Tensor tensor(DType dt, double[] v, Shape s) {
        if (dt == DType.FLOAT64) return Tensor.fromArray(v, s);
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return Tensor.fromArray(f, s);
    }

    /** The input, either dense or as a view with a gap after every pixel's channels (a channel slice). */
    private static Tensor input(DType dt, double[] v, Shape s, boolean strided) {
        if (!strided) return tensor(dt, v, s);
        int r = s.rank();
        long[] wide = s.toArray();
        wide[r - 1] += 2;
        Tensor big = Tensor.allocate(dt, Shape.of(wide));
        Tensor view = big.slice(r - 1, 1, s.size(r - 1));
        try (Tensor dense = tensor(dt, v, s)) {
            view.copyFrom(dense);
        }
        return view;
    }
}
