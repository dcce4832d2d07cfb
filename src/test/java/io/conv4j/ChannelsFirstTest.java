package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Layout NCHW (input [N,C,H,W], filter OIHW, output [N,Cout,OH,OW]) against the plain-Java
 * reference on the same data laid out channels last; a filter in the wrong order is refused.
 */
class ChannelsFirstTest {
    private static float[] random(long n, Random r) {
        float[] a = new float[(int) n];
        for (int i = 0; i < a.length; i++) a[i] = r.nextFloat() * 2 - 1;
        return a;
    }

    /** {N, H, W, Cin, KH, KW, Cout, stride, groups, same} */
    private static final long[][] CASES = {
        {2, 9, 11, 3, 3, 3, 8, 1, 1, 1}, {1, 12, 12, 8, 1, 1, 16, 1, 1, 0}, {1, 15, 13, 4, 5, 5, 6, 2, 1, 1},
        {3, 10, 10, 6, 3, 3, 9, 1, 3, 1}, {1, 17, 17, 16, 1, 7, 12, 1, 1, 1}, {1, 14, 14, 8, 3, 3, 8, 1, 1, 1},
    };

    @Test
    void matchesTheChannelsLastReference() {
        Random r = new Random(5);
        for (long[] c : CASES) {
            long n = c[0], h = c[1], w = c[2], ci = c[3], kh = c[4], kw = c[5], co = c[6], g = c[8];
            Conv2dOptions nchw = Conv2dOptions.builder().strides(c[7], c[7]).groups(g).padding(c[9] == 1 ? Padding.SAME : Padding.VALID)
                    .activation(Activation.RELU).layout(DataLayout.NCHW).build();
            Conv2dOptions nhwc = nchw.toBuilder().layout(DataLayout.NHWC).build();
            float[] x = random(n * h * w * ci, r), wt = random(kh * kw * (ci / g) * co, r), b = random(co, r);
            try (Tensor xh = Tensor.fromArray(x, Shape.of(n, h, w, ci)); Tensor wh = Tensor.fromArray(wt, Shape.of(kh, kw, ci / g, co));
                 Tensor bias = Tensor.fromArray(b, Shape.of(co));
                 Tensor xc = xh.permute(0, 3, 1, 2).contiguous(); Tensor wc = wh.permute(3, 2, 0, 1).contiguous();
                 Tensor y = Conv2d.conv2d(xc, wc, bias, nchw);
                 PreparedFilter pf = Conv2d.prepare(wc, bias, nchw); Tensor yp = Conv2d.conv2d(xc, pf)) {
                ConvGeometry geo = ConvGeometry.of(xh.shape(), wh.shape(), nhwc);
                Shape outNchw = Shape.of(n, co, geo.outputHeight(), geo.outputWidth());
                assertEquals(outNchw, y.shape());
                assertEquals(outNchw, Conv2d.outputShape(xc.shape(), wc.shape(), nchw));
                double[] ref = ReferenceConv2d.forward(x, wt, b, geo, false, Activation.RELU);
                // the reference is NHWC: compare through a channels-last view of the NCHW result
                float[] got = y.permute(0, 2, 3, 1).toArray(), gotPrepared = yp.permute(0, 2, 3, 1).toArray();
                for (int i = 0; i < ref.length; i++) {
                    assertEquals(ref[i], got[i], 1e-4 * (1 + Math.abs(ref[i])), "element " + i + " of " + java.util.Arrays.toString(c));
                    assertEquals(ref[i], gotPrepared[i], 1e-4 * (1 + Math.abs(ref[i])), "prepared, element " + i);
                }
                // into a caller's NCHW tensor, and through flat arrays: the same values
                try (Tensor into = Tensor.allocate(outNchw)) {
                    Conv2d.conv2d(xc, wc, bias, nchw, into);
                    assertArrayEquals(y.toArray(), into.toArray());
                }
                assertArrayEquals(y.toArray(), Conv2d.conv2d(xc.toArray(), xc.shape(), wc.toArray(), wc.shape(), b, nchw));
                assertTrue(Conv2d.explain(xc.shape(), wc.shape(), nchw).contains("plan: "));
                assertEquals(Conv2d.plan(xh, wh.shape(), nhwc).units() > 0, Conv2d.plan(xc, wc.shape(), nchw).units() > 0);
            }
        }
    }

    @Test
    void aFilterInTheWrongOrderIsRefused() {
        try (Tensor x = Tensor.allocate(Shape.of(1, 64, 14, 14)); Tensor hwio = Tensor.allocate(Shape.of(3, 3, 64, 32))) {
            Conv2dOptions nchw = Conv2dOptions.builder().layout(DataLayout.NCHW).build();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Conv2d.conv2d(x, hwio, nchw));
            assertTrue(e.getMessage().contains("OIHW") && e.getMessage().contains("HWIO"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Conv2d.outputShape(x.shape(), hwio.shape(), nchw));
            // and NHWC data with the default layout against an OIHW filter is refused by the same check
            try (Tensor oihw = Tensor.allocate(Shape.of(32, 64, 3, 3)); Tensor nhwcX = Tensor.allocate(Shape.of(1, 14, 14, 64))) {
                assertThrows(IllegalArgumentException.class, () -> Conv2d.conv2d(nhwcX, oihw, Conv2dOptions.defaults()));
                // calls that take channels-last tensors only say so instead of misreading NCHW ones
                IllegalArgumentException b = assertThrows(IllegalArgumentException.class,
                        () -> Conv2dBackward.gradInput(Tensor.allocate(Shape.of(1, 32, 12, 12)), oihw, x.shape(), nchw));
                assertTrue(b.getMessage().contains("layout NCHW"), b.getMessage());
            }
        }
    }

    @Test
    void copyBetweenLayoutsMatchesElementByElement() {
        Random r = new Random(9);
        try (Tensor a = Tensor.fromArray(random(2 * 5 * 7 * 19, r), Shape.of(2, 5, 7, 19)); Tensor c = Tensor.allocate(Shape.of(2, 19, 5, 7))) {
            Tensor view = c.permute(0, 2, 3, 1); // NHWC view of NCHW memory: channel stride 35
            view.copyFrom(a);
            for (int n = 0; n < 2; n++)
                for (int i = 0; i < 5; i++)
                    for (int j = 0; j < 7; j++)
                        for (int k = 0; k < 19; k++) assertEquals(a.get(n, i, j, k), c.get(n, k, i, j));
        }
    }

    /**
     * The staged route's transposes run as bands of image rows on conv4j's threads: a layer whose
     * input and output span several bands gives the channels-last call's bits for any thread count,
     * and a split transpose moves every element where the index arithmetic says.
     */
    @Test
    void splitTransposesGiveTheSameBitsForAnyThreadCount() {
        int saved = Conv4j.threads();
        Random r = new Random(13);
        long n = 2, h = 70, w = 69, ci = 16, co = 32;
        assertTrue(h * w * ci > ChannelsFirst.TRANSPOSE_UNIT_FLOATS && w * ci < ChannelsFirst.TRANSPOSE_UNIT_FLOATS / 8,
                "the layer must span several bands per image");
        try (Tensor xh = Tensor.fromArray(random(n * h * w * ci, r), Shape.of(n, h, w, ci));
             Tensor wh = Tensor.fromArray(random(3 * 3 * ci * co, r), Shape.of(3, 3, ci, co));
             Tensor xc = xh.permute(0, 3, 1, 2).contiguous(); Tensor wc = wh.permute(3, 2, 0, 1).contiguous()) {
            for (Algorithm a : new Algorithm[] {Algorithm.WINOGRAD_4X4, Algorithm.GEMM_TILED}) {
                Conv2dOptions nhwc = Conv2dOptions.builder().padding(Padding.SAME).algorithm(a).build();
                Conv2dOptions nchw = nhwc.toBuilder().layout(DataLayout.NCHW).build();
                float[] want;
                try (Tensor y = Conv2d.conv2d(xh, wh, nhwc)) {
                    want = y.toArray();
                }
                for (int threads : new int[] {1, 2, 3}) {
                    Conv4j.setThreads(threads);
                    try (Tensor y = Conv2d.conv2d(xc, wc, nchw); Tensor back = y.permute(0, 2, 3, 1).contiguous()) {
                        assertArrayEquals(want, back.toArray(), a + " with " + threads + " threads");
                    }
                }
            }
            Conv4j.setThreads(2);
            try (Tensor c = Tensor.allocate(Shape.of(n, ci, h, w))) {
                ChannelsFirst.transpose(xh, c.permute(0, 2, 3, 1));
                for (int b = 0; b < n; b++)
                    for (int i = 0; i < h; i += 3)
                        for (int j = 0; j < w; j++)
                            for (int k = 0; k < ci; k++) assertEquals(xh.get(b, i, j, k), c.get(b, k, i, j));
                assertArrayEquals(xc.toArray(), c.toArray());
            }
        } finally {
            Conv4j.setThreads(saved);
        }
    }
}
