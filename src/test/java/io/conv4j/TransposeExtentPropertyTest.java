package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * Property: the transposed convolution with VALID or explicit padding at every output size from 1
 * to the default plus {@code max(stride, dilation) - 1} (PyTorch's output-padding bound; ONNX's
 * {@code output_shape}) equals the definition, the full scatter cropped by the begin pad and zero past
 * its end. The reference is {@link ReferenceConvNd}'s input gradient at that size with that begin
 * pad, which scatters each input element by the definition and drops what falls outside.
 */
class TransposeExtentPropertyTest {

    @Property(tries = 120)
    void everyOutputSizeMatchesTheDefinition(@ForAll @IntRange(min = 1, max = 3) int rank, @ForAll boolean float64,
                                             @ForAll long seed) {
        Random r = new Random(seed);
        DType dt = float64 ? DType.FLOAT64 : DType.FLOAT32;
        long groups = 1 + r.nextInt(2), cin = groups * (1 + r.nextInt(2)), cout = groups * (1 + r.nextInt(3)), n = 1 + r.nextInt(2);
        long[] in = new long[rank], k = new long[rank], s = new long[rank], d = new long[rank], pads = new long[2 * rank];
        long[] outDims = new long[rank + 2];
        outDims[0] = n;
        outDims[rank + 1] = cin;
        boolean usePadding = r.nextBoolean();
        long[] op = new long[rank];
        for (int a = 0; a < rank; a++) {
            in[a] = 1 + r.nextInt(rank == 3 ? 3 : 5);
            k[a] = 1 + r.nextInt(3);
            s[a] = 1 + r.nextInt(3);
            d[a] = 1 + r.nextInt(3);
            long full = (in[a] - 1) * s[a] + (k[a] - 1) * d[a] + 1;
            pads[2 * a] = r.nextInt((int) Math.min(full, 3)); // below the full extent: some output position is reached
            pads[2 * a + 1] = r.nextInt(3);
            long natural = full - pads[2 * a] - pads[2 * a + 1];
            long max = natural + Math.max(s[a], d[a]) - 1;
            if (max < 1) { // pads swallow the whole extent: no size to test on this axis
                pads[2 * a + 1] = 0;
                natural = full - pads[2 * a];
                max = natural + Math.max(s[a], d[a]) - 1;
            }
            op[a] = r.nextInt((int) Math.max(s[a], d[a]));
            outDims[a + 1] = usePadding ? natural + op[a] : 1 + r.nextInt((int) max);
            if (outDims[a + 1] < 1) { // output padding onto a non-positive default: refused, take a size instead
                usePadding = false;
            }
        }
        if (!usePadding) {
            for (int a = 0; a < rank; a++) {
                long full = (in[a] - 1) * s[a] + (k[a] - 1) * d[a] + 1;
                long max = full - pads[2 * a] - pads[2 * a + 1] + Math.max(s[a], d[a]) - 1;
                if (outDims[a + 1] < 1 || outDims[a + 1] > max) outDims[a + 1] = 1 + r.nextInt((int) max);
            }
        }
        boolean flip = r.nextBoolean(), bias = r.nextBoolean();
        ConvOptions o = ConvOptions.builder().strides(s).dilations(d).padding(Padding.explicit(pads)).groups(groups)
                .flipKernel(flip).build();
        Shape xs = Shape.of(ConvNdPropertyTest.concat(n, in, cout)), ws = Shape.of(ConvNdPropertyTest.concat(-1, k, cin / groups, cout)), ys = Shape.of(outDims);
        double[] x = ConvNdPropertyTest.random(r, xs.numElements()), w = ConvNdPropertyTest.random(r, ws.numElements()), b = bias ? ConvNdPropertyTest.random(r, cin) : null;
        if (dt == DType.FLOAT32) {
            ConvNdPropertyTest.round(x);
            ConvNdPropertyTest.round(w);
            if (b != null) ConvNdPropertyTest.round(b);
        }
        long[] begin = new long[rank];
        for (int a = 0; a < rank; a++) begin[a] = pads[2 * a];
        double[] want = new ReferenceConvNd(ys, ws, s, d, begin, groups, flip, xs).gradInput(x, w, (int) ys.numElements());
        if (b != null) {
            for (int i = 0; i < want.length; i++) want[i] += b[(int) (i % cin)];
        }
        try (Tensor tx = ConvNdPropertyTest.tensor(dt, x, xs); Tensor tw = ConvNdPropertyTest.tensor(dt, w, ws);
             Tensor tb = b == null ? null : ConvNdPropertyTest.tensor(dt, b, Shape.of(cin));
             Tensor y = usePadding ? Conv.transpose(tx, tw, tb, o, op) : Conv.transpose(tx, tw, tb, o, ys)) {
            assertEquals(ys, y.shape(), "output shape, options " + o);
            double[] got = GoldenNd.values(y);
            double tol = dt == DType.FLOAT64 ? 1e-12 : 1e-5;
            for (int i = 0; i < want.length; i++) {
                int at = i;
                assertTrue(Math.abs(got[i] - want[i]) <= tol * 10, () -> "element " + at + ": got " + got[at] + ", want " + want[at]
                        + "; input " + xs + " filter " + ws + " output " + ys + " " + o);
            }
        }
    }

    /**
     * A begin pad past the full scatter: the forward convolution of a 1-wide input with pad 1 before
     * it and stride 2 reads padding only, so its input gradient, the transposed output, is zero (plus bias).
     */
    @Test
    void aBeginPadPastTheScatterGivesBiasOnly() {
        ConvOptions o = ConvOptions.builder().strides(2).padding(Padding.explicit(1, 0)).build();
        try (Tensor x = Tensor.fromArray(new float[] {3, 4}, Shape.of(1, 1, 2)); Tensor w = Tensor.fromArray(new float[] {1, 2, 5, 6},
                Shape.of(1, 2, 2)); Tensor b = Tensor.fromArray(new float[] {0.5f, -1}, Shape.of(2));
             Tensor y = Conv.transpose(x, w, b, o, Shape.of(1, 1, 2))) {
            assertEquals("[0.5, -1.0]", java.util.Arrays.toString(y.toArray()));
        }
    }

    /** A size past the default plus the largest output padding, and output padding at max(stride, dilation), are refused by name. */
    @Test
    void sizesPastTheBoundAreRefused() {
        ConvOptions o = ConvOptions.builder().strides(1).dilations(3).build(); // full extent of [1, 4, 2] with K=3: 4 + 6 = 10
        try (Tensor x = Tensor.allocate(Shape.of(1, 4, 2)); Tensor w = Tensor.allocate(Shape.of(3, 1, 2))) {
            try (Tensor y = Conv.transpose(x, w, null, o, 2)) { // output padding 2 < dilation 3: PyTorch's bound
                assertEquals(Shape.of(1, 12, 1), y.shape());
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Conv.transpose(x, w, null, o, 3));
            assertTrue(e.getMessage().contains("output padding 3 (spatial axis 0) must be in [0, max(stride 1, dilation 3))"),
                    e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Conv.transpose(x, w, null, o, Shape.of(1, 13, 1)));
            assertTrue(e.getMessage().contains("transposed output size 13 (spatial axis 0) is more than the default 10 plus the"
                    + " largest output padding 2"), e.getMessage());
        }
    }
}
