package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Channels-first calls cut into bands of output rows ({@link ChannelsFirstBands}): on layers large
 * enough to be cut (padding at the top and bottom bands, stride, dilation, flip, bias and
 * activation, a last band of fewer rows), every cuttable route gives the bits it gives channels
 * last on the whole image, for any thread count, and the plain-Java reference within the golden
 * tolerance; an output that is a channel slice of a larger NCHW buffer leaves the rest untouched.
 */
class ChannelsFirstBandsTest {
    private static final double TOL = 1e-5;

    /** {N, H, W, Cin, KH, KW, Cout, stride, dilation, pad (explicit top = left, bottom = right)} */
    private static final long[][] LAYERS = {
        {2, 61, 64, 48, 3, 3, 48, 1, 1, 1}, // 3x3 padded: zeros in the first and last bands, a last band of 1 row
        {3, 64, 96, 32, 5, 5, 32, 2, 1, 2}, // strided 5x5, flipped
        {2, 50, 64, 48, 3, 3, 48, 1, 2, 2}, // dilated
        {2, 40, 64, 48, 1, 1, 64, 1, 1, 0}, // 1x1 unpadded (GEMM_DIRECT reads its rows in place), flipped
        {4, 96, 96, 3, 3, 3, 16, 1, 1, 1}, // a first layer: 3 input channels, 16 output channels (DIRECT_NARROW)
    };

    @Test
    void cutLayersGiveTheChannelsLastBitsAndMatchTheReference() {
        int saved = Conv4j.threads();
        try {
            for (int layer = 0; layer < LAYERS.length; layer++) {
                long[] c = LAYERS[layer];
                boolean flip = layer % 2 == 1;
                Shape xs = Shape.of(c[0], c[1], c[2], c[3]), ws = Shape.of(c[4], c[5], c[3], c[6]);
                float[] x = ConvCase.data(xs.numElements(), c[1]), w = ConvCase.data(ws.numElements(), c[2]);
                float[] bias = ConvCase.data(c[6], c[3]);
                Conv2dOptions base = Conv2dOptions.builder().strides(c[7], c[7]).dilations(c[8], c[8])
                        .padding(Padding.explicit(c[9], c[9], c[9], c[9])).activation(Activation.RELU).flipKernel(flip).build();
                ConvGeometry geo = ConvGeometry.of(xs, ws, base);
                double[] want = ReferenceConv2d.forward(x, w, bias, geo, flip, base.activation());
                double[] scale = ReferenceConv2d.errorScale(x, w, bias, geo, flip);
                for (Algorithm a : new Algorithm[] {Algorithm.GEMM_TILED, Algorithm.DIRECT_DENSE, Algorithm.DIRECT_NARROW,
                        Algorithm.GEMM_DIRECT, Algorithm.WINOGRAD_4X4, Algorithm.WINOGRAD_2X2}) {
                    Conv2dOptions nhwc = base.toBuilder().algorithm(a).build();
                    ForwardCall whole;
                    try {
                        whole = ForwardCall.dense(geo, nhwc, true, false);
                    } catch (IllegalArgumentException notApplicable) {
                        continue; // e.g. Winograd on a strided or dilated layer
                    }
                    ChannelsFirstBands cut = ChannelsFirstBands.of(geo, whole);
                    assertNotNull(cut, a + " on " + xs + " must be cut into bands");
                    check(a + " " + java.util.Arrays.toString(c), x, xs, w, ws, bias, nhwc, want, scale);
                }
            }
        } finally {
            Conv4j.setThreads(saved);
        }
    }

    private static void check(String what, float[] x, Shape xs, float[] w, Shape ws, float[] bias, Conv2dOptions nhwc, double[] want,
                              double[] scale) {
        Conv2dOptions nchw = nhwc.toBuilder().layout(DataLayout.NCHW).build();
        try (Tensor xh = Tensor.fromArray(x, xs); Tensor wh = Tensor.fromArray(w, ws); Tensor b = Tensor.fromArray(bias, Shape.of(bias.length));
             Tensor xc = xh.permute(0, 3, 1, 2).contiguous(); Tensor wc = wh.permute(3, 2, 0, 1).contiguous()) {
            Conv4j.setThreads(1);
            float[] last;
            try (Tensor y = Conv2d.conv2d(xh, wh, b, nhwc)) {
                last = y.toArray();
            }
            int bad = ReferenceConv2d.firstMismatch(last, want, scale, TOL);
            assertTrue(bad < 0, () -> what + ": channels last, element " + bad);
            for (int threads : new int[] {1, 2, 3}) {
                Conv4j.setThreads(threads);
                try (Tensor y = Conv2d.conv2d(xc, wc, b, nchw); PreparedFilter pf = Conv2d.prepare(wc, b, nchw);
                     Tensor yp = Conv2d.conv2d(xc, pf)) {
                    for (Tensor t : new Tensor[] {y, yp}) {
                        try (Tensor back = t.permute(0, 2, 3, 1).contiguous()) {
                            assertArrayEquals(last, back.toArray(), what + (t == yp ? " prepared" : "") + " with " + threads + " threads");
                        }
                    }
                    ChannelsFirstRouteTest.intoChannelSlice(what, xc, wc, b, nchw, y);
                }
            }
        }
    }

    @Test
    void smallLayersAndTransformsOfOtherShapesAreNotCut() {
        // the tiny layer's copies stay in cache whole; FFT's filter spectra depend on the shape
        io.conv4j.internal.NativeLibrary.ensureLoaded();
        Conv2dOptions o = Conv2dOptions.builder().padding(Padding.SAME).algorithm(Algorithm.GEMM_TILED).build();
        ConvGeometry tiny = ConvGeometry.of(Shape.of(1, 8, 8, 4), Shape.of(3, 3, 4, 8), o);
        assertNull(ChannelsFirstBands.of(tiny, ForwardCall.dense(tiny, o, false, false)));
        Conv2dOptions fft = o.toBuilder().algorithm(Algorithm.FFT).build();
        ConvGeometry big = ConvGeometry.of(Shape.of(3, 64, 64, 32), Shape.of(5, 5, 32, 32), fft);
        assertNull(ChannelsFirstBands.of(big, ForwardCall.dense(big, fft, false, false)));
        ConvGeometry same = ConvGeometry.of(Shape.of(3, 64, 64, 32), Shape.of(5, 5, 32, 32), o);
        assertNotNull(ChannelsFirstBands.of(same, ForwardCall.dense(same, o, false, false)));
    }
}
