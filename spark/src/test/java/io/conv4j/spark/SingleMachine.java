package io.conv4j.spark;

import io.conv4j.Conv2d;
import io.conv4j.PreparedFilter;
import io.conv4j.Shape;
import io.conv4j.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** What a user gets from conv4j on one machine, without Spark, and helpers to compare bit for bit. */
final class SingleMachine {
    private SingleMachine() {}

    /** One image {@code [H, W, C]} through the layers with conv4j's public API (prepared filters, N = 1). */
    static float[] convolve(float[] image, long h, long w, long c, ConvLayerSpec... layers) {
        List<PreparedFilter> prepared = new ArrayList<>();
        try {
            for (ConvLayerSpec l : layers) {
                try (Tensor f = Tensor.fromArray(l.filter(), l.shape());
                     Tensor b = l.bias() == null ? null : Tensor.fromArray(l.bias(), l.bias().length)) {
                    prepared.add(Conv2d.prepare(f, b, l.options()));
                }
            }
            Tensor x = Tensor.fromArray(image, Shape.of(1, h, w, c));
            for (PreparedFilter p : prepared) {
                Tensor y = Conv2d.conv2d(x, p);
                x.close();
                x = y;
            }
            try (Tensor y = x) {
                return y.toArray();
            }
        } finally {
            prepared.forEach(PreparedFilter::close);
        }
    }

    static void assertBitsEqual(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                throw new AssertionError(what + ": element " + i + " differs: expected " + expected[i] + " got " + actual[i]);
            }
        }
    }

    static float[] floats(List<Float> values) {
        float[] v = new float[values.size()];
        for (int i = 0; i < v.length; i++) v[i] = values.get(i);
        return v;
    }

    static float[] random(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian();
        return v;
    }

    /** A random layer {@code [k, k, cin, cout]} with bias. */
    static ConvLayerSpec layer(Random rnd, int k, int cin, int cout) {
        return ConvLayerSpec.of(random(rnd, k * k * cin * cout), k, k, cin, cout).withBias(random(rnd, cout));
    }
}
