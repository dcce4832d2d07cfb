package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The channels-first route ({@link Algorithm#GEMM_NCHW}, Caffe's im2col + sgemm on NCHW data) and
 * the route choice of {@link ChannelsFirst}: on random layers (groups, strides, dilations, padding,
 * bias, activations, flip, batch) and on every golden case laid out channels first, the NCHW result
 * is the channels-last reference transposed, within the golden tolerance, whether the route is
 * forced or chosen; outputs into a channel slice of a larger NCHW buffer leave the rest untouched.
 */
class ChannelsFirstRouteTest {
    private static final double TOL = 1e-5;

    /** Runs one layer channels first and checks it against the NHWC reference; returns whether GEMM_NCHW could run it. */
    private static void check(String what, float[] x, Shape xs, float[] w, Shape ws, float[] bias, Conv2dOptions nhwc) {
        ConvGeometry g = ConvGeometry.of(xs, ws, nhwc);
        double[] want = ReferenceConv2d.forward(x, w, bias, g, nhwc.flipKernel(), nhwc.activation());
        double[] scale = ReferenceConv2d.errorScale(x, w, bias, g, nhwc.flipKernel());
        long n = g.batch(), oh = g.outputHeight(), ow = g.outputWidth(), oc = g.outputChannels();
        try (Tensor xh = Tensor.fromArray(x, xs); Tensor wh = Tensor.fromArray(w, ws);
             Tensor b = bias == null ? null : Tensor.fromArray(bias, Shape.of(bias.length));
             Tensor xc = xh.permute(0, 3, 1, 2).contiguous(); Tensor wc = wh.permute(3, 2, 0, 1).contiguous()) {
            for (Algorithm a : new Algorithm[] {Algorithm.GEMM_NCHW, Algorithm.AUTO}) {
                Conv2dOptions o = nhwc.toBuilder().layout(DataLayout.NCHW).algorithm(a).build();
                try (Tensor y = Conv2d.conv2d(xc, wc, b, o); PreparedFilter pf = Conv2d.prepare(wc, b, o);
                     Tensor yp = Conv2d.conv2d(xc, pf)) {
                    assertEquals(Shape.of(n, oc, oh, ow), y.shape());
                    for (Tensor t : new Tensor[] {y, yp}) {
                        float[] got = t.permute(0, 2, 3, 1).toArray(); // channels last, as the reference
                        int bad = ReferenceConv2d.firstMismatch(got, want, scale, TOL);
                        assertTrue(bad < 0, () -> what + " " + a + (t == yp ? " prepared" : "") + ": element " + bad + " got "
                                + got[bad] + " want " + want[bad]);
                    }
                    if (a == Algorithm.GEMM_NCHW) {
                        assertEquals(Algorithm.GEMM_NCHW, Conv2d.plan(xc, wc.shape(), o).algorithm(), what);
                        intoChannelSlice(what, xc, wc, b, o, y);
                    } else {
                        String plan = Conv2d.plan(xc, wc.shape(), o).reason();
                        assertTrue(plan.contains("channels first"), what + ": " + plan);
                        // an NCHW-shaped output view over channels-last memory: no in-place route, same values
                        try (Tensor last = Tensor.allocate(Shape.of(n, oh, ow, oc))) {
                            Conv2d.conv2d(xc, wc, b, o, last.permute(0, 3, 1, 2));
                            float[] got = last.toArray();
                            int bad = ReferenceConv2d.firstMismatch(got, want, scale, TOL);
                            assertTrue(bad < 0, () -> what + " into a channels-last view: element " + bad);
                        }
                    }
                }
            }
        }
    }

    /** Into channels [1, 1 + Cout) of a buffer with two more channels: same values, the rest untouched (also {@link ChannelsFirstBandsTest}). */
    static void intoChannelSlice(String what, Tensor xc, Tensor wc, Tensor b, Conv2dOptions o, Tensor y) {
        Shape s = y.shape();
        try (Tensor big = Tensor.allocate(Shape.of(s.size(0), s.size(1) + 2, s.size(2), s.size(3)))) {
            float[] canary = new float[(int) big.shape().numElements()];
            java.util.Arrays.fill(canary, 7.5f);
            big.copyFrom(canary);
            Tensor slice = big.slice(1, 1, s.size(1));
            Conv2d.conv2d(xc, wc, b, o, slice);
            float[] got = slice.toArray(), want = y.toArray();
            for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 0f, what + ": slice element " + i);
            float[] all = big.toArray();
            long plane = s.size(2) * s.size(3), per = (s.size(1) + 2) * plane;
            for (long n = 0; n < s.size(0); n++)
                for (long p = 0; p < plane; p++) {
                    assertEquals(7.5f, all[(int) (n * per + p)], what + ": channel before the slice");
                    assertEquals(7.5f, all[(int) (n * per + (s.size(1) + 1) * plane + p)], what + ": channel after the slice");
                }
        }
    }

    @Test
    void randomLayersMatchTheReference() {
        SplittableRandom r = new SplittableRandom(2024);
        Activation[] acts = Activation.values();
        for (int trial = 0; trial < 60; trial++) {
            int groups = r.nextInt(4) == 0 ? 1 + r.nextInt(3) : 1;
            int cin = groups * (1 + r.nextInt(6)), cout = groups * (1 + r.nextInt(6));
            int kh = 1 + r.nextInt(4), kw = 1 + r.nextInt(4), sh = 1 + r.nextInt(3), sw = 1 + r.nextInt(3);
            int dh = r.nextInt(4) == 0 ? 2 : 1, dw = r.nextInt(4) == 0 ? 2 : 1;
            int h = (kh - 1) * dh + 1 + r.nextInt(14), w = (kw - 1) * dw + 1 + r.nextInt(14), n = 1 + r.nextInt(3);
            Padding p = switch (r.nextInt(3)) {
                case 0 -> Padding.VALID;
                case 1 -> Padding.SAME;
                default -> Padding.explicit(r.nextInt(kh), r.nextInt(kh), r.nextInt(kw), r.nextInt(kw));
            };
            Conv2dOptions o = Conv2dOptions.builder().strides(sh, sw).dilations(dh, dw).padding(p).groups(groups)
                    .activation(acts[r.nextInt(acts.length)]).flipKernel(r.nextInt(4) == 0).build();
            Shape xs = Shape.of(n, h, w, cin), ws = Shape.of(kh, kw, cin / groups, cout);
            float[] bias = r.nextBoolean() ? ConvCase.data(cout, trial + 1000) : null;
            check("trial " + trial + " " + xs + " " + ws + " " + o, ConvCase.data(xs.numElements(), trial),
                    xs, ConvCase.data(ws.numElements(), trial + 500), ws, bias, o);
        }
        // 1x1 stride 1 without padding reads the input planes in place; wide enough for several row blocks
        Shape xs = Shape.of(2, 40, 37, 24), ws = Shape.of(1, 1, 24, 130);
        check("1x1 in place", ConvCase.data(xs.numElements(), 1), xs, ConvCase.data(ws.numElements(), 2), ws,
                ConvCase.data(130, 3), Conv2dOptions.builder().activation(Activation.RELU6).build());
        xs = Shape.of(1, 33, 35, 40);
        ws = Shape.of(3, 3, 40, 136); // few row blocks: output channels split into units
        check("3x3 deep", ConvCase.data(xs.numElements(), 4), xs, ConvCase.data(ws.numElements(), 5), ws, null,
                Conv2dOptions.builder().padding(Padding.SAME).build());
    }

    @Test
    void goldenCasesLaidOutChannelsFirst() throws IOException {
        for (GoldenCases.Case c : GoldenCases.all()) {
            float[] bias = c.hasBias ? c.read("bias") : null;
            check(c.name, c.read("input"), c.inputShape(), c.read("filter"), c.filterShape(), bias, c.options());
        }
    }

    @Test
    void theRouteIsRefusedByNameWhereItCannotRun() {
        try (Tensor x = Tensor.allocate(Shape.of(1, 6, 6, 4)); Tensor w = Tensor.allocate(Shape.of(3, 3, 4, 2))) {
            Conv2dOptions o = Conv2dOptions.builder().algorithm(Algorithm.GEMM_NCHW).build(); // channels-last data
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Conv2d.conv2d(x, w, o));
            assertTrue(e.getMessage().contains("GEMM_NCHW") && e.getMessage().contains("channels-first"), e.getMessage());
        }
    }
}
