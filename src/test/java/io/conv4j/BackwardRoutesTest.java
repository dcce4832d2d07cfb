package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.conv4j.internal.NativeBackward;
import io.conv4j.internal.NativeLibrary;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The backward routes through the Java API: dL/d(input) as a forward convolution of dL/d(output)
 * (every forward algorithm that can run it), by patch gradients and a scatter or tap by tap on the filter as it is, and dL/d(filter) by Winograd F(3x3, 2x2) and
 * F(3x3, 4x4), each forced in turn ({@link Conv2dBackward#inputRouteOverride}) and checked against
 * the double reference within the golden tolerance, bit-identical for every thread count, written
 * only inside the target view (gaps and the memory around it hold canaries), and the cost model's
 * own choice agreeing with {@link Conv2dLayer} bit for bit.
 */
class BackwardRoutesTest {
    static final double TOL = 1e-5;
    static final String[] ROUTES = {"gemm", "gemm_direct", "gemm_tiled", "winograd_2x2", "winograd_4x4", "fft", "scatter", "taps",
        "direct", "winograd_fused"};
    /** Native route ids, in the order of {@link #ROUTES} (9: the filter gradient's direct kernel, 18 its fused Winograd
     *  F(3x3, 4x4); no input route has them). */
    static final int[] IDS = {0, 1, 2, 3, 4, 5, 16, NativeBackward.TAPS, 9, NativeBackward.WINOGRAD_FUSED};
    private static final double[] MAX_SEEN = new double[ROUTES.length * 2];

    /** A layer: input and filter shapes and options; the route tests run every route that can. */
    record Layer(String name, Shape input, Shape filter, Conv2dOptions options) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<Layer> layers() {
        List<Layer> l = new ArrayList<>();
        Conv2dOptions same = Conv2dOptions.builder().padding(Padding.SAME).build();
        l.add(new Layer("3x3 SAME 20x18 24->40", Shape.of(2, 20, 18, 24), Shape.of(3, 3, 24, 40), same));
        l.add(new Layer("3x3 VALID flip groups 2", Shape.of(1, 13, 17, 16), Shape.of(3, 3, 8, 12),
                Conv2dOptions.builder().groups(2).flipKernel(true).build()));
        l.add(new Layer("3x3 explicit pads 70->20", Shape.of(2, 11, 9, 70), Shape.of(3, 3, 70, 20),
                Conv2dOptions.builder().padding(Padding.explicit(2, 0, 1, 2)).build()));
        l.add(new Layer("1x1 48->32", Shape.of(2, 9, 10, 48), Shape.of(1, 1, 48, 32), same));
        l.add(new Layer("5x5 SAME 6->10", Shape.of(1, 23, 21, 6), Shape.of(5, 5, 6, 10), same));
        l.add(new Layer("3x3 dilated 2", Shape.of(1, 15, 14, 8), Shape.of(3, 3, 8, 8),
                Conv2dOptions.builder().padding(Padding.SAME).dilations(2, 2).build()));
        l.add(new Layer("7x7 s2 RGB", Shape.of(2, 30, 27, 3), Shape.of(7, 7, 3, 16),
                Conv2dOptions.builder().strides(2, 2).padding(Padding.SAME).build()));
        // strided input gradients by transform through space to depth: 5x5/2 as 3x3 (Winograd, FFT), odd sizes, flip
        l.add(new Layer("5x5 s2 flip 8->12", Shape.of(3, 19, 17, 8), Shape.of(5, 5, 8, 12),
                Conv2dOptions.builder().strides(2, 2).padding(Padding.explicit(1, 2, 2, 0)).flipKernel(true).build()));
        l.add(new Layer("11x11 s4 2->8", Shape.of(1, 37, 41, 2), Shape.of(11, 11, 2, 8),
                Conv2dOptions.builder().strides(4, 3).padding(Padding.SAME).build()));
        return l;
    }

    /** Gradients of one forced pair of routes (AUTO: the cost model's), at {@code threads} threads. */
    static float[][] gradients(Layer c, float[] x, float[] w, float[] dy, int inputRoute, int filterRoute, int threads) {
        int before = Conv4j.threads();
        Conv2dBackward.inputRouteOverride = inputRoute;
        Conv2dBackward.filterRouteOverride = filterRoute;
        Shape out = Conv2d.outputShape(c.input(), c.filter(), c.options());
        try (Tensor tx = Tensor.fromArray(x, c.input()); Tensor tw = Tensor.fromArray(w, c.filter());
             Tensor b = Tensor.allocate(c.filter().size(3)); Tensor tdy = Tensor.fromArray(dy, out)) {
            Conv4j.setThreads(threads);
            try (Conv2dGradients g = Conv2dBackward.backward(tx, tw, b, null, tdy, c.options())) {
                return new float[][] {g.gradInput().toArray(), g.gradFilter().toArray(), g.gradBias().toArray()};
            }
        } finally {
            Conv4j.setThreads(before);
            Conv2dBackward.inputRouteOverride = NativeBackward.AUTO;
            Conv2dBackward.filterRouteOverride = NativeBackward.AUTO;
        }
    }

    static long[] inputDesc(Layer c) {
        ConvGeometry geo = ConvGeometry.of(c.input(), c.filter(), c.options());
        try (Tensor dx = Tensor.allocate(c.input())) {
            return geo.toNative(dx, ForwardCall.denseOutputStrides(geo.outputShape()), c.options(), false);
        }
    }

    static long[] filterDesc(Layer c) {
        ConvGeometry geo = ConvGeometry.of(c.input(), c.filter(), c.options());
        try (Tensor x = Tensor.allocate(c.input())) {
            return geo.toNative(x, ForwardCall.denseOutputStrides(geo.outputShape()), c.options(), true);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("layers")
    void everyRouteMatchesTheReferenceForAnyThreadCount(Layer c) {
        NativeLibrary.ensureLoaded();
        ConvGeometry geo = ConvGeometry.of(c.input(), c.filter(), c.options());
        float[] x = ConvCase.data(c.input().numElements(), 11), w = ConvCase.data(c.filter().numElements(), 12);
        float[] dy = ConvCase.data(geo.outputShape().numElements(), 13);
        ReferenceConv2dBackward ref = ReferenceConv2dBackward.of(x, w, ReferenceConv2dBackward.toDouble(dy), geo,
                c.options().flipKernel());
        long[] in = inputDesc(c), fd = filterDesc(c);
        int inputRoutes = 0, filterRoutes = 0;
        for (int r = 0; r < ROUTES.length; r++) {
            boolean dx = NativeBackward.inputUnits(in, IDS[r]) > 0, dw = NativeBackward.filterUnits(fd, IDS[r]) > 0;
            if (!dx && !dw) continue;
            // the other gradient on its GEMM route, which runs everything
            int ir = dx ? IDS[r] : NativeBackward.GEMM, fr = dw ? IDS[r] : NativeBackward.GEMM;
            float[][] one = gradients(c, x, w, dy, ir, fr, 1);
            if (dx) {
                check(c, ROUTES[r] + " gradInput", one[0], ref.gradInput, ref.inputScale, r);
                inputRoutes++;
            }
            if (dw) {
                check(c, ROUTES[r] + " gradFilter", one[1], ref.gradFilter, ref.filterScale, ROUTES.length + r);
                filterRoutes++;
            }
            check(c, ROUTES[r] + " gradBias", one[2], ref.gradBias, ref.biasScale, -1);
            for (int threads : new int[] {2, 3}) {
                float[][] more = gradients(c, x, w, dy, ir, fr, threads);
                for (int i = 0; i < 3; i++) {
                    assertArrayEquals(one[i], more[i], c + " route " + ROUTES[r] + ", " + threads + " threads, gradient " + i);
                }
            }
        }
        assertTrue(inputRoutes >= 1 && filterRoutes >= 1, c + ": no route ran");
        // stride-1 3x3 layers have the transform routes
        if (c.filter().size(0) == 3 && geo.dilationHeight() == 1) {
            assertTrue(NativeBackward.filterUnits(fd, 4) > 0 && NativeBackward.filterUnits(fd, 3) > 0, c + ": winograd dW");
        }
    }

    private static void check(Layer c, String what, float[] got, double[] want, double[] scale, int slot) {
        double err = ReferenceConv2dBackward.maxScaledError(got, want, scale);
        if (slot >= 0) {
            synchronized (MAX_SEEN) {
                MAX_SEEN[slot] = Math.max(MAX_SEEN[slot], err);
            }
        }
        int bad = ReferenceConv2dBackward.firstMismatch(got, want, scale, TOL);
        assertTrue(bad < 0, () -> c + " " + what + ": element " + bad + " got " + got[bad] + " want " + want[bad]);
    }

    /** The routes a large 3x3 stride-1 layer takes: the transform ones (else this class tests a path nobody runs). */
    @Test
    void costModelPicksTransformRoutesForLarge3x3Layers() {
        NativeLibrary.ensureLoaded();
        Layer big = new Layer("56x56 64->64", Shape.of(1, 56, 56, 64), Shape.of(3, 3, 64, 64),
                Conv2dOptions.builder().padding(Padding.SAME).build());
        int ir = NativeBackward.inputRoute(inputDesc(big)), fr = NativeBackward.filterRoute(filterDesc(big));
        assertTrue(ir == Algorithm.WINOGRAD_4X4.nativeId || ir == Algorithm.WINOGRAD_2X2.nativeId, "input route " + ir);
        assertTrue(fr == Algorithm.WINOGRAD_4X4.nativeId || fr == Algorithm.WINOGRAD_2X2.nativeId, "filter route " + fr);
        assertTrue(NativeBackward.inputEstimateSeconds(inputDesc(big), ir)
                <= NativeBackward.inputEstimateSeconds(inputDesc(big), NativeBackward.GEMM));
        // a small strided layer: the GEMM routes (only the FFT filter gradient, by space to depth, could run it too)
        Layer strided = new Layer("s2", Shape.of(1, 20, 20, 8), Shape.of(3, 3, 8, 8),
                Conv2dOptions.builder().strides(2, 2).padding(Padding.SAME).build());
        assertEquals(NativeBackward.GEMM, NativeBackward.inputRoute(inputDesc(strided)));
        assertEquals(NativeBackward.GEMM, NativeBackward.filterRoute(filterDesc(strided)));
        assertEquals(-1.0, NativeBackward.filterEstimateSeconds(filterDesc(strided), 4));
    }

    /**
     * dL/d(input) into a view with gaps (a channel slice of a padded tensor, filled with NaN
     * canaries) on every route: the view gets the gradient (within tolerance: the GEMM route may
     * cut its sgemm calls differently for another layout), every gap keeps its canary.
     */
    @Test
    void transformRoutesWriteOnlyTheirView() {
        Layer c = layers().get(0);
        ConvGeometry geo = ConvGeometry.of(c.input(), c.filter(), c.options());
        float[] w = ConvCase.data(c.filter().numElements(), 21), dy = ConvCase.data(geo.outputShape().numElements(), 22);
        ReferenceConv2dBackward ref = ReferenceConv2dBackward.of(ConvCase.data(c.input().numElements(), 23), w,
                ReferenceConv2dBackward.toDouble(dy), geo, c.options().flipKernel());
        long[] in = inputDesc(c);
        Shape wide = Shape.of(c.input().size(0), c.input().size(1) + 2, c.input().size(2), c.input().size(3) + 5);
        float[] canaries = new float[(int) wide.numElements()];
        java.util.Arrays.fill(canaries, Float.NaN);
        int routes = 0;
        for (int r = 0; r < ROUTES.length; r++) {
            if (NativeBackward.inputUnits(in, IDS[r]) <= 0) continue;
            routes++;
            Conv2dBackward.inputRouteOverride = IDS[r];
            try (Tensor tw = Tensor.fromArray(w, c.filter()); Tensor tdy = Tensor.fromArray(dy, geo.outputShape());
                 Tensor big = Tensor.fromArray(canaries, wide)) {
                Tensor view = big.slice(1, 1, c.input().size(1)).slice(3, 3, c.input().size(3));
                Conv2dBackward.gradInput(tdy, tw, c.input(), c.options(), view);
                check(c, ROUTES[r] + " gradInput into a view", view.toArray(), ref.gradInput, ref.inputScale, -1);
                float[] all = big.toArray();
                int inside = 0;
                for (long n = 0; n < wide.size(0); n++)
                    for (long h = 0; h < wide.size(1); h++)
                        for (long x = 0; x < wide.size(2); x++)
                            for (long ch = 0; ch < wide.size(3); ch++) {
                                boolean in1 = h >= 1 && h < 1 + c.input().size(1) && ch >= 3 && ch < 3 + c.input().size(3);
                                float v = all[(int) (((n * wide.size(1) + h) * wide.size(2) + x) * wide.size(3) + ch)];
                                if (in1) inside++;
                                else assertTrue(Float.isNaN(v), ROUTES[r] + ": gap written at " + n + "," + h + "," + x + "," + ch);
                            }
                assertEquals(c.input().numElements(), inside);
            } finally {
                Conv2dBackward.inputRouteOverride = NativeBackward.AUTO;
            }
        }
        assertTrue(routes >= 4, "routes run: " + routes);
    }

    /** A layer's training step takes the cost model's routes too: the same gradients as Conv2dBackward. */
    @Test
    void layerAgreesWithBackwardOnTheChosenRoutes() {
        Shape in = Shape.of(1, 40, 36, 32), fs = Shape.of(3, 3, 32, 32);
        Conv2dOptions o = Conv2dOptions.builder().padding(Padding.SAME).build();
        float[] x = ConvCase.data(in.numElements(), 31), dy = ConvCase.data(Conv2d.outputShape(in, fs, o).numElements(), 32);
        try (Conv2dLayer layer = Conv2dLayer.create(fs, true, o, 7); Tensor tx = Tensor.fromArray(x, in);
             Tensor tdy = Tensor.fromArray(dy, Conv2d.outputShape(in, fs, o))) {
            layer.forward(tx);
            Tensor dx = layer.backward(tdy);
            try (Conv2dGradients g = Conv2dBackward.backward(tx, layer.filter(), layer.bias(), null, tdy, o)) {
                assertArrayEquals(g.gradInput().toArray(), dx.toArray(), "gradInput");
                assertArrayEquals(g.gradFilter().toArray(), layer.gradFilter().toArray(), "gradFilter");
                assertArrayEquals(g.gradBias().toArray(), layer.gradBias().toArray(), "gradBias");
            }
        }
    }

    @AfterAll
    static void report() {
        StringBuilder b = new StringBuilder("backward routes: max |got - want| / (1 + sum|terms|):");
        for (int r = 0; r < ROUTES.length; r++) {
            if (MAX_SEEN[r] > 0) b.append(String.format(Locale.ROOT, " dX %s %.2e,", ROUTES[r], MAX_SEEN[r]));
        }
        for (int r = 0; r < ROUTES.length; r++) {
            if (MAX_SEEN[ROUTES.length + r] > 0) {
                b.append(String.format(Locale.ROOT, " dW %s %.2e,", ROUTES[r], MAX_SEEN[ROUTES.length + r]));
            }
        }
        System.out.println(b + " (tolerance 1e-05)");
    }
}
