package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Both gradients of a microsecond layer in one executor job and one native call ({@link
 * BackwardCall.Both}, taken by a repeated call through {@link BoundBackward}) against the two
 * calls of a fresh {@link Conv2dGradients} (the whole pipeline, nothing bound): the same raw bits,
 * on tiny_3x3_8x8x4 and random small layers (groups, strides, bias, a strided input view, a
 * channel slice of a wider output gradient), with a plain and with a prepared filter. A layer whose
 * gradients the executor would share among threads keeps its two calls.
 */
class BackwardBothTest {
    private static Tensor tensor(Shape s, long seed) {
        return Tensor.fromArray(ConvCase.data(s.numElements(), seed), s);
    }

    private static int[] bits(Tensor t) {
        float[] a = t.toArray();
        int[] b = new int[a.length];
        for (int i = 0; i < a.length; i++) b[i] = Float.floatToRawIntBits(a[i]);
        return b;
    }

    private static void assertBits(Tensor want, Tensor got, String what) {
        int[] w = bits(want), g = bits(got);
        assertEquals(w.length, g.length, what);
        for (int i = 0; i < w.length; i++) {
            if (w[i] != g[i]) throw new AssertionError(what + ": element " + i + " differs: " + Float.intBitsToFloat(w[i]) + " vs "
                    + Float.intBitsToFloat(g[i]));
        }
    }

    /**
     * Runs the layer twice into one {@link Conv2dGradients} (the second call bound) and once into a
     * fresh one; returns whether the bound call took the pair. {@code x} and {@code dy} may be views.
     */
    private static boolean check(Tensor x, Shape filterShape, boolean bias, Tensor dy, Conv2dOptions o, boolean prepared,
                                 String what) {
        try (Tensor w = tensor(filterShape, 2); Tensor b = bias ? tensor(Shape.of(filterShape.size(3)), 3) : null;
             PreparedFilter pf = Conv2d.prepare(w, b, o);
             Conv2dGradients bound = Conv2dGradients.allocate(x.shape(), filterShape, bias);
             Conv2dGradients fresh = Conv2dGradients.allocate(x.shape(), filterShape, bias)) {
            for (int call = 0; call < 2; call++) {
                if (prepared) Conv2dBackward.backward(x, pf, null, dy, bound);
                else Conv2dBackward.backward(x, w, b, null, dy, o, bound);
            }
            BoundBackward bb = bound.bound();
            assertNotNull(bb, what + ": not bound");
            if (prepared) Conv2dBackward.backward(x, pf, null, dy, fresh);
            else Conv2dBackward.backward(x, w, b, null, dy, o, fresh);
            assertBits(fresh.gradInput(), bound.gradInput(), what + ": input gradient");
            assertBits(fresh.gradFilter(), bound.gradFilter(), what + ": filter gradient");
            if (bias) assertBits(fresh.gradBias(), bound.gradBias(), what + ": bias gradient");
            return bb.takesBoth();
        }
    }

    @Test
    void tinyLayerTakesThePairWithTheBitsOfTwoCalls() {
        Conv2dOptions same = Conv2dOptions.builder().padding(Padding.SAME).build();
        Shape in = Shape.of(1, 8, 8, 4), f = Shape.of(3, 3, 4, 8);
        for (boolean prepared : new boolean[] {false, true}) {
            for (boolean bias : new boolean[] {false, true}) {
                try (Tensor x = tensor(in, 1); Tensor dy = tensor(Conv2d.outputShape(in, f, same), 4)) {
                    assertTrue(check(x, f, bias, dy, same, prepared, "tiny prepared=" + prepared + " bias=" + bias),
                            "tiny_3x3_8x8x4 did not take the pair");
                }
            }
        }
    }

    @Test
    void randomSmallLayers() {
        Random r = new Random(20261207);
        int pairs = 0;
        for (int c = 0; c < 60; c++) {
            int n = 1 + r.nextInt(2), h = 1 + r.nextInt(9), wd = 1 + r.nextInt(9), groups = 1 + r.nextInt(2);
            int cin = groups * (1 + r.nextInt(5)), cout = groups * (1 + r.nextInt(6));
            int k = 1 + r.nextInt(3), s = 1 + r.nextInt(2);
            Conv2dOptions o = Conv2dOptions.builder().padding(r.nextBoolean() ? Padding.SAME : Padding.VALID).strides(s, s)
                    .groups(groups).build();
            if (o.padding() == Padding.VALID && (h < k || wd < k)) continue;
            Shape in = Shape.of(n, h, wd, cin), f = Shape.of(k, k, cin / groups, cout);
            Shape out = Conv2d.outputShape(in, f, o);
            boolean viewX = c % 3 == 1, sliceDy = c % 4 == 2;
            try (Tensor xWide = tensor(Shape.of(n, h, wd, cin + 3), 10 + c);
                 Tensor dyWide = tensor(Shape.of(out.size(0), out.size(1), out.size(2), out.size(3) + 2), 20 + c)) {
                Tensor x = viewX ? xWide.slice(3, 1, cin) : xWide.slice(3, 0, cin).contiguous();
                Tensor dy = sliceDy ? dyWide.slice(3, 2, out.size(3)) : dyWide.slice(3, 0, out.size(3)).contiguous();
                try {
                    if (check(x, f, c % 2 == 0, dy, o, c % 5 < 2, "case " + c + " " + in + " " + f + " stride " + s)) pairs++;
                } finally {
                    x.close();
                    dy.close();
                }
            }
        }
        assertTrue(pairs > 30, "too few layers took the pair: " + pairs);
    }

    @Test
    void aMidSizeLayerKeepsTwoCalls() {
        Conv2dOptions same = Conv2dOptions.builder().padding(Padding.SAME).build();
        Shape in = Shape.of(1, 14, 14, 64), f = Shape.of(3, 3, 64, 64);
        try (Tensor x = tensor(in, 1); Tensor dy = tensor(Conv2d.outputShape(in, f, same), 4)) {
            assertFalse(check(x, f, false, dy, same, true, "14x14 64->64"), "a 14x14 64->64 layer took the pair");
        }
    }
}
