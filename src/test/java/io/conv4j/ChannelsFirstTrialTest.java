package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link ChannelsFirstTrial}: where the two channels-first designs' estimates are a near tie, the
 * one measured faster on the layer is taken, the verdict is measured once per geometry and shared by
 * every entry point of the layer (plain call, prepared filter, bias, activation, flip, an output
 * view), and both designs, run for real, give the channels-last result.
 */
class ChannelsFirstTrialTest {
    /** Every layer is a near tie: the band opened wide. */
    private static final double OPEN_LOW = 0, OPEN_HIGH = Double.MAX_VALUE, OPEN_MIN = 0;

    @AfterEach
    void restore() {
        ChannelsFirstTrial.reset(null, ChannelsFirstTrial.LOW, ChannelsFirstTrial.HIGH, ChannelsFirstTrial.MIN_SECONDS);
    }

    private static Conv2dOptions nchw(Conv2dOptions.Builder b) {
        return b.layout(DataLayout.NCHW).build();
    }

    /** The NCHW result of a layer against its NHWC result (same route rounding: exact routes agree to within float sums). */
    private static void sameAsChannelsLast(Shape xs, Shape ws, Conv2dOptions first, Tensor bias) {
        float[] x = ConvCase.data(xs.numElements(), 3), w = ConvCase.data(ws.numElements(), 4);
        Conv2dOptions last = first.toBuilder().layout(DataLayout.NHWC).build();
        try (Tensor xh = Tensor.fromArray(x, xs); Tensor wh = Tensor.fromArray(w, ws);
             Tensor xc = xh.permute(0, 3, 1, 2).contiguous(); Tensor wc = wh.permute(3, 2, 0, 1).contiguous();
             Tensor want = Conv2d.conv2d(xh, wh, bias, last); Tensor got = Conv2d.conv2d(xc, wc, bias, first)) {
            float[] a = want.toArray(), b = got.permute(0, 2, 3, 1).toArray();
            for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], 1e-4f * (1 + Math.abs(a[i])), "element " + i);
        }
    }

    @Test
    void theFasterDesignWinsTheNearTieOnceForEveryEntryPoint() {
        Shape xs = Shape.of(1, 12, 12, 16), ws = Shape.of(1, 1, 16, 24), xc = Shape.of(1, 16, 12, 12), wc = Shape.of(24, 16, 1, 1);
        Conv2dOptions plain = nchw(Conv2dOptions.builder());
        for (boolean inPlaceFaster : new boolean[] {true, false}) {
            ChannelsFirstTrial.reset((geo, staged, banded) -> inPlaceFaster ? new double[] {1e-3, 2e-3} : new double[] {2e-3, 1e-3},
                    OPEN_LOW, OPEN_HIGH, OPEN_MIN);
            Algorithm got;
            try (Tensor x = Tensor.allocate(xc)) {
                got = Conv2d.plan(x, wc, plain).algorithm();
            }
            if (inPlaceFaster) assertEquals(Algorithm.GEMM_NCHW, got);
            else assertNotEquals(Algorithm.GEMM_NCHW, got);
            // the same layer with a bias, an activation, a flipped kernel, prepared, into a channel slice: no new trial, one route
            Conv2dOptions other = nchw(Conv2dOptions.builder().activation(Activation.RELU).flipKernel(true));
            try (Tensor x = Tensor.fromArray(ConvCase.data(xc.numElements(), 1), xc); Tensor w = Tensor.fromArray(ConvCase.data(wc.numElements(), 2), wc);
                 Tensor b = Tensor.fromArray(ConvCase.data(24, 5), Shape.of(24)); PreparedFilter pf = Conv2d.prepare(w, b, other)) {
                assertEquals(got, Conv2d.plan(x, wc, other).algorithm());
                assertEquals(got, Conv2d.plan(x, pf).algorithm());
                try (Tensor y = Conv2d.conv2d(x, w, b, other)) {
                    ChannelsFirstRouteTest.intoChannelSlice("verdict " + inPlaceFaster, x, w, b, other, y);
                }
            }
            assertEquals(1, ChannelsFirstTrial.trials(), "one trial per geometry");
            sameAsChannelsLast(xs, ws, plain, null);
        }
    }

    @Test
    void estimatesOutsideTheBandDecideWithoutATrial() {
        ChannelsFirstTrial.Timer refuse = (geo, staged, banded) -> {
            throw new AssertionError("no trial outside the band");
        };
        Conv2dOptions o = nchw(Conv2dOptions.builder().padding(Padding.SAME));
        Shape wc = Shape.of(8, 4, 3, 3);
        try (Tensor x = Tensor.allocate(Shape.of(1, 4, 8, 8))) {
            ChannelsFirstTrial.reset(refuse, 100, 200, OPEN_MIN); // copies at 100-200x the in-place estimate: none here
            Conv2d.plan(x, wc, o);
            ChannelsFirstTrial.reset(refuse, OPEN_LOW, OPEN_HIGH, Double.MAX_VALUE); // every layer below the smallest measured
            Conv2d.plan(x, wc, o);
        }
        assertEquals(0, ChannelsFirstTrial.trials());
    }

    @Test
    void bothDesignsRunOnTheLayerAndGiveTheChannelsLastResult() {
        ChannelsFirstTrial.reset(null, OPEN_LOW, OPEN_HIGH, OPEN_MIN);
        // whole-image copies (a small layer), then bands (a layer large enough to be cut, see ChannelsFirstBands)
        Shape[][] layers = {{Shape.of(2, 9, 11, 5), Shape.of(3, 3, 5, 7)}, {Shape.of(3, 64, 64, 32), Shape.of(3, 3, 32, 32)}};
        for (int i = 0; i < layers.length; i++) {
            Shape[] l = layers[i];
            Conv2dOptions o = nchw(Conv2dOptions.builder().padding(Padding.SAME).algorithm(Algorithm.AUTO));
            Shape xc = Shape.of(l[0].size(0), l[0].size(3), l[0].size(1), l[0].size(2));
            Shape wc = Shape.of(l[1].size(3), l[1].size(2), l[1].size(0), l[1].size(1));
            String reason;
            try (Tensor x = Tensor.allocate(xc)) {
                reason = Conv2d.plan(x, wc, o).reason();
            }
            assertTrue(reason.contains("both run once on this geometry"), reason);
            Conv2dOptions last = o.toBuilder().layout(DataLayout.NHWC).build();
            ConvGeometry geo = ConvGeometry.of(l[0], l[1], last);
            boolean banded = ChannelsFirstBands.of(geo, ForwardCall.dense(geo, last, false, true)) != null;
            assertEquals(i == 1, banded, "the second layer is cut into bands, the first is not: " + reason);
            assertEquals(i + 1, ChannelsFirstTrial.trials());
            sameAsChannelsLast(l[0], l[1], o, null);
        }
    }
}
