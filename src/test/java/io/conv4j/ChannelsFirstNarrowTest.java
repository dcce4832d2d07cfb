package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.conv4j.internal.NativeCore;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link Algorithm#DIRECT_NARROW} writing channel planes: a channels-first call on a narrow layer
 * (at most 16 output channels) may run it in place, with no transpose. On random narrow layers
 * (4-16 channels, kernels, strides, dilations, padding, bias, activation, flip, batch) the NCHW
 * result matches the plain-Java reference; where the route is DIRECT_NARROW in place it is the
 * channels-last DIRECT_NARROW result bit for bit, at 1, 2 and 3 threads and with a prepared filter,
 * and into a channel slice of a wider NCHW tensor it leaves the other channels untouched.
 */
class ChannelsFirstNarrowTest {
    private static final double TOL = 1e-5;

    /** The core runs DIRECT_NARROW on a channels-first output; the channels-last routes it still refuses. */
    @Test
    void theCoreWritesChannelPlanesOnlyByTheRoutesThatCan() {
        io.conv4j.internal.NativeLibrary.ensureLoaded();
        Conv2dOptions o = Conv2dOptions.builder().padding(Padding.SAME).build();
        ConvGeometry geo = ConvGeometry.of(Shape.of(1, 8, 8, 4), Shape.of(3, 3, 4, 8), o);
        long[] first = ChannelsFirst.denseFirst(geo, o, false);
        assertTrue(NativeCore.units(first, Algorithm.DIRECT_NARROW.nativeId) > 0, "DIRECT_NARROW on channel planes");
        assertTrue(NativeCore.units(first, Algorithm.GEMM_NCHW.nativeId) > 0, "GEMM_NCHW on channel planes");
        for (Algorithm a : new Algorithm[] {Algorithm.GEMM_TILED, Algorithm.DIRECT_DENSE, Algorithm.WINOGRAD_2X2}) {
            assertEquals(0, NativeCore.units(first, a.nativeId), a + " must not write channel planes");
        }
    }

    /** A channels-last call with DIRECT_NARROW by name into an NCHW tensor's view: written in place, the dense result's bits. */
    @Test
    void directNarrowByNameIntoAChannelsFirstView() {
        Shape xs = Shape.of(2, 9, 7, 5), ws = Shape.of(3, 3, 5, 11);
        Conv2dOptions o = Conv2dOptions.builder().padding(Padding.SAME).activation(Activation.RELU).algorithm(Algorithm.DIRECT_NARROW).build();
        try (Tensor x = Tensor.fromArray(ConvCase.data(xs.numElements(), 1), xs); Tensor w = Tensor.fromArray(ConvCase.data(ws.numElements(), 2), ws);
             Tensor b = Tensor.fromArray(ConvCase.data(11, 3), Shape.of(11)); Tensor dense = Conv2d.conv2d(x, w, b, o);
             Tensor planes = Tensor.allocate(Shape.of(2, 11, 9, 7))) {
            Conv2d.conv2d(x, w, b, o, planes.permute(0, 2, 3, 1));
            try (Tensor back = planes.permute(0, 2, 3, 1).contiguous()) {
                assertArrayEquals(dense.toArray(), back.toArray());
            }
        }
    }

    @Test
    void narrowLayersChannelsFirstMatchTheReferenceAndTheChannelsLastBits() {
        SplittableRandom r = new SplittableRandom(1313);
        Activation[] acts = Activation.values();
        int inPlace = 0;
        int saved = Conv4j.threads();
        try {
            for (int trial = 0; trial < 40; trial++) {
                int cin = 1 + r.nextInt(16), cout = 4 + r.nextInt(13);
                int k = 1 + r.nextInt(5), s = 1 + r.nextInt(2), d = r.nextInt(5) == 0 ? 2 : 1;
                int h = (k - 1) * d + 1 + r.nextInt(14), w = (k - 1) * d + 1 + r.nextInt(14), n = 1 + r.nextInt(3);
                Conv2dOptions nhwc = Conv2dOptions.builder().strides(s, s).dilations(d, d).padding(r.nextBoolean() ? Padding.SAME : Padding.VALID)
                        .activation(acts[r.nextInt(acts.length)]).flipKernel(r.nextInt(4) == 0).build();
                Shape xs = Shape.of(n, h, w, cin), ws = Shape.of(k, k, cin, cout);
                float[] bias = r.nextBoolean() ? ConvCase.data(cout, trial + 700) : null;
                inPlace += check("trial " + trial + " " + xs + " " + ws + " " + nhwc, ConvCase.data(xs.numElements(), trial), xs,
                        ConvCase.data(ws.numElements(), trial + 300), ws, bias, nhwc) ? 1 : 0;
            }
        } finally {
            Conv4j.setThreads(saved);
        }
        assertTrue(inPlace > 0, "no narrow layer ran DIRECT_NARROW in place");
    }

    /** One layer: NCHW under AUTO against the reference; returns whether DIRECT_NARROW ran it in place. */
    private static boolean check(String what, float[] x, Shape xs, float[] w, Shape ws, float[] bias, Conv2dOptions nhwc) {
        ConvGeometry g = ConvGeometry.of(xs, ws, nhwc);
        double[] want = ReferenceConv2d.forward(x, w, bias, g, nhwc.flipKernel(), nhwc.activation());
        double[] scale = ReferenceConv2d.errorScale(x, w, bias, g, nhwc.flipKernel());
        Conv2dOptions nchw = nhwc.toBuilder().layout(DataLayout.NCHW).build();
        try (Tensor xh = Tensor.fromArray(x, xs); Tensor wh = Tensor.fromArray(w, ws);
             Tensor b = bias == null ? null : Tensor.fromArray(bias, Shape.of(bias.length));
             Tensor xc = xh.permute(0, 3, 1, 2).contiguous(); Tensor wc = wh.permute(3, 2, 0, 1).contiguous()) {
            Plan plan = Conv2d.plan(xc, wc.shape(), nchw);
            ChannelsFirst.Route route = ChannelsFirst.decide(g, ChannelsFirst.denseFirst(g, nhwc, false), nhwc, false);
            assertEquals(plan.algorithm(), route.plan.algorithm(), what);
            boolean narrow = route.inPlace && plan.algorithm() == Algorithm.DIRECT_NARROW;
            float[] lastBits;
            Conv4j.setThreads(1);
            try (Tensor y = Conv2d.conv2d(xh, wh, b, nhwc.toBuilder().algorithm(Algorithm.DIRECT_NARROW).build())) {
                lastBits = y.toArray();
            }
            float[] one = null;
            for (int threads : new int[] {1, 2, 3}) {
                Conv4j.setThreads(threads);
                try (Tensor y = Conv2d.conv2d(xc, wc, b, nchw); PreparedFilter pf = Conv2d.prepare(wc, b, nchw);
                     Tensor yp = Conv2d.conv2d(xc, pf)) {
                    assertEquals(plan.algorithm(), Conv2d.plan(xc, pf).algorithm(), what + ": prepared filter, another route");
                    for (Tensor t : new Tensor[] {y, yp}) {
                        float[] got = t.permute(0, 2, 3, 1).contiguous().toArray();
                        int bad = ReferenceConv2d.firstMismatch(got, want, scale, TOL);
                        assertTrue(bad < 0, () -> what + ": element " + bad + " got " + got[bad] + " want " + want[bad]);
                        if (narrow) assertArrayEquals(lastBits, got, what + ": not the channels-last DIRECT_NARROW bits");
                        if (one == null) one = got;
                        else assertArrayEquals(one, got, what + ": bits differ at " + threads + " threads or prepared");
                    }
                    if (threads == 2) ChannelsFirstRouteTest.intoChannelSlice(what, xc, wc, b, nchw, y);
                }
            }
            return narrow;
        }
    }

    /** A narrow layer's filter given HWIO where OIHW is due is refused by name, before anything runs. */
    @Test
    void aFilterInTheWrongOrderIsRefused() {
        Conv2dOptions nchw = Conv2dOptions.builder().layout(DataLayout.NCHW).padding(Padding.SAME).build();
        try (Tensor x = Tensor.allocate(Shape.of(1, 4, 8, 8)); Tensor hwio = Tensor.allocate(Shape.of(3, 3, 4, 8))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Conv2d.conv2d(x, hwio, null, nchw));
            assertTrue(e.getMessage().contains("OIHW") && e.getMessage().contains("HWIO"), e.getMessage());
        }
    }
}
