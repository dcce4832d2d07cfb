package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The trainable layer in every rank and dtype: it learns a known filter from random inputs by SGD
 * on the mean squared error (the loss falls by orders of magnitude and the filter approaches the
 * target), and its gradients are those of {@link Conv}.
 */
class ConvLayerTest {
    @ParameterizedTest(name = "rank {0} {1}")
    @CsvSource({"1,float64", "1,float32", "2,float64", "3,float32", "3,float64"})
    void learnsAKnownFilter(int rank, String dtypeName) {
        DType dt = DType.parse(dtypeName);
        Random r = new Random(rank * 31L + dt.ordinal());
        long[] fdims = new long[rank + 2], xdims = new long[rank + 2];
        for (int a = 0; a < rank; a++) {
            fdims[a] = 3;
            xdims[a + 1] = rank == 3 ? 6 : 12;
        }
        fdims[rank] = 2;
        fdims[rank + 1] = 2;
        xdims[0] = 4;
        xdims[rank + 1] = 2;
        Shape fs = Shape.of(fdims), xs = Shape.of(xdims);
        ConvOptions o = ConvOptions.builder().padding(Padding.SAME).build();
        double[] target = new double[(int) fs.numElements()];
        for (int i = 0; i < target.length; i++) target[i] = r.nextDouble() - 0.5;
        try (ConvLayer layer = ConvLayer.create(dt, fs, true, o, 7); Tensor wt = ConvNdPropertyTest.tensor(dt, target, fs)) {
            double first = -1, last = -1;
            for (int step = 0; step < 150; step++) {
                double[] xv = new double[(int) xs.numElements()];
                for (int i = 0; i < xv.length; i++) xv[i] = r.nextDouble() * 2 - 1;
                try (Tensor x = ConvNdPropertyTest.tensor(dt, xv, xs); Tensor want = Conv.conv(x, wt, null, o);
                     Tensor y = layer.forward(x)) {
                    double[] yv = GoldenNd.values(y), wv = GoldenNd.values(want), g = new double[yv.length];
                    double loss = 0;
                    for (int i = 0; i < yv.length; i++) {
                        loss += (yv[i] - wv[i]) * (yv[i] - wv[i]) / yv.length;
                        g[i] = 2 * (yv[i] - wv[i]) / yv.length;
                    }
                    if (step == 0) first = loss;
                    last = loss;
                    try (Tensor dy = ConvNdPropertyTest.tensor(dt, g, y.shape())) {
                        layer.backward(dy, false);
                        if (step == 0) { // the layer's gradient is Conv's
                            try (Tensor gf = Conv.gradFilter(x, dy, fs, o)) {
                                assertArrayEquals(GoldenNd.values(gf), GoldenNd.values(layer.gradFilter()), 0);
                            }
                        }
                    }
                    layer.sgdStep(rank == 3 ? 0.5 : 1.0);
                }
            }
            assertTrue(last < first * 1e-3, "loss " + first + " -> " + last);
        }
    }
}
