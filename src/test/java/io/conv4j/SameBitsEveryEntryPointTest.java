package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The same convolution gives the same bits through every entry point: a plain call, a prepared
 * filter, a layer's forward pass and the rank-generic {@link Conv#conv}. The plan (hence the
 * algorithm, hence the rounding) is a function of the convolution and its options alone. Before the
 * planner moved to C, a plain call counted the filter transform and a prepared filter did not, so
 * one 3x3 layer could run Winograd F(2x2) in one and F(4x4) in the other.
 */
class SameBitsEveryEntryPointTest {
    @Test
    void everyEntryPointGivesTheSameBits() {
        Random r = new Random(20261206);
        for (int c = 0; c < 300; c++) {
            long n = 1 + r.nextInt(2), h = 6 + r.nextInt(20), w = 6 + r.nextInt(20);
            long k = new long[] {1, 3, 3, 3, 5, 7}[r.nextInt(6)];
            long cin = 1 + r.nextInt(r.nextBoolean() ? 8 : 96), cout = 1 + r.nextInt(r.nextBoolean() ? 8 : 96);
            long stride = r.nextInt(4) == 0 ? 2 : 1;
            boolean same = r.nextBoolean(), bias = r.nextBoolean();
            Activation act = Activation.values()[r.nextInt(Activation.values().length)];
            Conv2dOptions o = Conv2dOptions.builder().strides(stride, stride).padding(same ? Padding.SAME : Padding.VALID)
                    .activation(act).build();
            Shape xs = Shape.of(n, h, w, cin), fs = Shape.of(k, k, cin, cout);
            if (!same && (h < k || w < k)) continue;
            try (Tensor x = random(xs, r); Tensor f = random(fs, r); Tensor b = bias ? random(Shape.of(cout), r) : null) {
                String where = "case " + c + ": " + xs + " * " + fs + " " + o + " plan " + Conv2d.plan(x, fs, o);
                float[] plain;
                try (Tensor y = Conv2d.conv2d(x, f, b, o)) {
                    plain = y.toArray();
                }
                try (PreparedFilter pf = Conv2d.prepare(f, b, o); Tensor y = Conv2d.conv2d(x, pf)) {
                    assertArrayEquals(plain, y.toArray(), "prepared filter, " + where);
                    assertEquals(Conv2d.plan(x, fs, o).algorithm(), Conv2d.plan(x, pf).algorithm(), where);
                }
                try (Conv2dLayer layer = new Conv2dLayer(f, b, o)) {
                    assertArrayEquals(plain, layer.forward(x).toArray(), "layer, " + where);
                }
                try (Tensor y = Conv.conv(x, f, b, ConvOptions.of(o))) {
                    assertArrayEquals(plain, y.toArray(), "Conv.conv, " + where);
                }
            }
        }
    }

    private static Tensor random(Shape s, Random r) {
        float[] v = new float[Math.toIntExact(s.numElements())];
        for (int i = 0; i < v.length; i++) v[i] = r.nextFloat() * 2 - 1;
        return Tensor.fromArray(v, s);
    }
}
