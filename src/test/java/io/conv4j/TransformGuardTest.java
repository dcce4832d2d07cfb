package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.conv4j.internal.NativeBackward;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Data a transform algorithm (Winograd, FFT) would spread or round beyond an output's window: an
 * infinity or NaN, a value that overflows inside the transform, an outlier far above the rest,
 * through every algorithm forced in turn and AUTO, plain and prepared filters, the backward routes
 * and the layer. Each result must be what the convolution's definition gives: non-finite exactly
 * where the plain-Java reference is (with the same value there), and every finite output within
 * the golden tolerance of the reference. Also NaN, infinities and -0.0 through the fused ReLU and
 * ReLU6 of every algorithm's epilogue.
 */
class TransformGuardTest {
    static final double TOL = 1e-5;

    /** A layer, and where its single odd value goes (an index into the input). */
    record Layer(String name, Shape input, Shape filter, Conv2dOptions options, int at) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<Layer> layers() {
        Conv2dOptions same = Conv2dOptions.builder().padding(Padding.SAME).build();
        Conv2dOptions s2 = Conv2dOptions.builder().padding(Padding.SAME).strides(2, 2).build();
        return List.of(
                // the issue's case: Winograd 4x4 under AUTO
                new Layer("3x3 SAME 32x32x16", Shape.of(1, 32, 32, 16), Shape.of(3, 3, 16, 16), same, ((13 * 32) + 17) * 16 + 5),
                new Layer("5x5 SAME 24x20x6", Shape.of(2, 24, 20, 6), Shape.of(5, 5, 6, 8), same, ((24 + 9) * 20 + 11) * 6 + 2),
                // strided: Winograd and FFT through space to depth
                new Layer("5x5/2 SAME 30x30x4", Shape.of(1, 30, 30, 4), Shape.of(5, 5, 4, 8), s2, ((12 * 30) + 15) * 4 + 1));
    }

    static final Algorithm[] ALGORITHMS = {Algorithm.AUTO, Algorithm.GEMM_TILED, Algorithm.WINOGRAD_2X2,
            Algorithm.WINOGRAD_4X4, Algorithm.FFT};

    static List<Object[]> cases() {
        List<Object[]> c = new ArrayList<>();
        for (Layer l : layers()) {
            for (Algorithm a : ALGORITHMS) {
                if (!applies(l, a)) continue;
                for (boolean prepared : new boolean[] {false, true}) c.add(new Object[] {l, a, prepared});
            }
        }
        return c;
    }

    static boolean applies(Layer l, Algorithm a) {
        Conv2dOptions o = l.options().toBuilder().algorithm(a).build();
        try (Tensor x = Tensor.allocate(l.input())) {
            return Conv2d.plan(x, l.filter(), o).units() > 0;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    static float[] forward(float[] x, Shape xs, float[] w, Shape ws, float[] bias, Conv2dOptions o, boolean prepared) {
        try (Tensor tx = Tensor.fromArray(x, xs); Tensor tw = Tensor.fromArray(w, ws);
             Tensor tb = bias == null ? null : Tensor.fromArray(bias, Shape.of(bias.length))) {
            if (!prepared) {
                try (Tensor y = Conv2d.conv2d(tx, tw, tb, o)) {
                    return y.toArray();
                }
            }
            try (PreparedFilter p = Conv2d.prepare(tw, tb, o); Tensor y = Conv2d.conv2d(tx, p)) {
                return y.toArray();
            }
        }
    }

    /**
     * Non-finite exactly where the reference is, with the same value (NaN, +Inf or -Inf); every
     * finite output within TOL * (1 + sum over its window of |x*w|) of the reference.
     */
    static void assertLikeReference(String what, float[] got, double[] want, double[] scale) {
        assertEquals(want.length, got.length, what + ": output size");
        int nonFinite = 0;
        for (int i = 0; i < got.length; i++) {
            if (!Double.isFinite(want[i])) {
                nonFinite++;
                float expect = (float) want[i];
                if (Float.compare(got[i], expect) != 0) fail(what + ": element " + i + " is " + got[i] + ", the definition gives " + expect);
            } else if (!(Math.abs(got[i] - want[i]) <= TOL * (1 + scale[i]))) {
                fail(what + ": element " + i + " is " + got[i] + ", the definition gives " + want[i] + " (error scale " + scale[i]
                        + "; " + nonFinite + " non-finite outputs so far, as the reference)");
            }
        }
    }

    static void checkForward(Layer l, Algorithm a, boolean prepared, float[] x, float[] w, float[] bias, Activation act,
                             String what) {
        Conv2dOptions o = l.options().toBuilder().algorithm(a).activation(act).build();
        ConvGeometry g = ConvGeometry.of(l.input(), l.filter(), o);
        double[] want = ReferenceConv2d.forward(x, w, bias, g, false, act);
        double[] scale = ReferenceConv2d.errorScale(x, w, bias, g, false);
        assertLikeReference(l + ", " + a + (prepared ? " prepared" : "") + ", " + what, forward(x, l.input(), w, l.filter(), bias, o,
                prepared), want, scale);
    }

    @ParameterizedTest(name = "{0} {1} prepared={2}")
    @MethodSource("cases")
    void oneOddInputValueStaysInItsWindows(Layer l, Algorithm a, boolean prepared) {
        float[] w = ConvCase.data(l.filter().numElements(), 2);
        for (float v : new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 1e38f, -1e38f, 1e4f, 1e6f,
                -3e5f}) {
            float[] x = ConvCase.data(l.input().numElements(), 1);
            x[l.at()] = v;
            checkForward(l, a, prepared, x, w, null, Activation.NONE, "input value " + v);
        }
    }

    @ParameterizedTest(name = "{0} {1} prepared={2}")
    @MethodSource("cases")
    void manyOutliersAndANonFiniteFilterStayInTheirWindows(Layer l, Algorithm a, boolean prepared) {
        float[] x = ConvCase.data(l.input().numElements(), 3), w = ConvCase.data(l.filter().numElements(), 4);
        for (int i = 7; i < x.length; i += 97) x[i] = 1e5f; // about 1% outliers: a mean would hide them
        checkForward(l, a, prepared, x, w, null, Activation.NONE, "1% outliers of 1e5");
        x = ConvCase.data(l.input().numElements(), 3);
        for (float v : new float[] {Float.NaN, Float.POSITIVE_INFINITY, 1e30f}) {
            float[] wv = w.clone();
            wv[wv.length / 2 + 1] = v;
            checkForward(l, a, prepared, x, wv, null, Activation.NONE, "filter value " + v);
        }
    }

    /** A strided input view (NCHW permuted to NHWC, channel stride H*W): the scan walks it element by element. */
    @Test
    void stridedInputViewsAreScannedToo() {
        Layer l = layers().get(0);
        long n = l.input().size(0), h = l.input().size(1), w = l.input().size(2), c = l.input().size(3);
        float[] x = ConvCase.data(l.input().numElements(), 13), wt = ConvCase.data(l.filter().numElements(), 14);
        for (float v : new float[] {Float.POSITIVE_INFINITY, Float.NaN, 1e6f}) {
            x[l.at()] = v;
            float[] nchw = new float[x.length];
            for (int i = 0; i < x.length; i++) { // NHWC index i -> NCHW position
                long ch = i % c, col = i / c % w, row = i / c / w % h, b = i / c / w / h;
                nchw[(int) (((b * c + ch) * h + row) * w + col)] = x[i];
            }
            for (Algorithm a : new Algorithm[] {Algorithm.AUTO, Algorithm.WINOGRAD_4X4, Algorithm.FFT}) {
                Conv2dOptions o = l.options().toBuilder().algorithm(a).build();
                ConvGeometry g = ConvGeometry.of(l.input(), l.filter(), o);
                try (Tensor t = Tensor.fromArray(nchw, Shape.of(n, c, h, w)); Tensor tw = Tensor.fromArray(wt, l.filter());
                     Tensor y = Conv2d.conv2d(t.permute(0, 2, 3, 1), tw, o)) {
                    assertLikeReference(l + ", " + a + ", NCHW view, input value " + v, y.toArray(),
                            ReferenceConv2d.forward(x, wt, null, g, false, Activation.NONE), ReferenceConv2d.errorScale(x, wt, null, g, false));
                }
            }
        }
    }

    /** NaN and infinities reach the epilogue of every algorithm through the bias (which no data check looks at). */
    @ParameterizedTest(name = "{0} {1} prepared={2}")
    @MethodSource("cases")
    void reluAndRelu6KeepNaN(Layer l, Algorithm a, boolean prepared) {
        float[] x = ConvCase.data(l.input().numElements(), 5), w = ConvCase.data(l.filter().numElements(), 6);
        float[] bias = ConvCase.data(l.filter().size(3), 7);
        bias[0] = Float.NaN;
        bias[1] = Float.POSITIVE_INFINITY;
        bias[2] = Float.NEGATIVE_INFINITY;
        for (Activation act : Activation.values()) checkForward(l, a, prepared, x, w, bias, act, act + ", NaN/Inf bias");
        // a NaN input: the definition's NaN survives the activation on whatever route runs it
        x[l.at()] = Float.NaN;
        for (Activation act : Activation.values()) checkForward(l, a, prepared, x, w, null, act, act + ", NaN input");
    }

    /** A new transform algorithm without a range would be guarded by a range of 2^0: every call sent to the exact route. */
    @Test
    void everyTransformAlgorithmDeclaresItsRangeAndNoExactOneDoes() {
        for (Algorithm a : Algorithm.values()) {
            assertEquals(a.isExact(), a.transformRangeLog2 == 0, a + ": exact " + a.isExact() + ", range 2^" + a.transformRangeLog2);
        }
        assertEquals(TransformGuard.RANGE_WINOGRAD_4X4, Algorithm.WINOGRAD_4X4.transformRangeLog2);
        assertEquals(TransformGuard.RANGE_WINOGRAD_4X4, Algorithm.WINOGRAD_1D.transformRangeLog2);
        assertEquals(TransformGuard.RANGE_WINOGRAD_4X4, Algorithm.WINOGRAD_K2.transformRangeLog2);
        assertEquals(TransformGuard.RANGE_OTHER, Algorithm.WINOGRAD_2X2.transformRangeLog2);
        assertEquals(TransformGuard.RANGE_OTHER, Algorithm.FFT.transformRangeLog2);
    }

    @Test
    void theIssuesExampleKeepsNaNThroughEveryActivation() {
        for (Algorithm a : new Algorithm[] {Algorithm.AUTO, Algorithm.GEMM_DIRECT, Algorithm.GEMM_TILED}) {
            for (Activation act : Activation.values()) {
                Conv2dOptions o = Conv2dOptions.builder().algorithm(a).activation(act).build();
                float[] y = Conv2d.conv2d(new float[] {Float.NaN}, Shape.of(1, 1, 1, 1), new float[] {1}, Shape.of(1, 1, 1, 1), null, o);
                assertTrue(Float.isNaN(y[0]), a + " " + act + ": NaN * 1 gave " + y[0]);
            }
        }
    }

    /** The N-d engine (rank 3, float64) has an epilogue and an activation gradient of its own. */
    @Test
    void ndEngineKeepsNaNThroughActivations() {
        for (Activation act : Activation.values()) {
            ConvOptions o = ConvOptions.builder().activation(act).build();
            float[] y3 = Conv.conv(new float[] {Float.NaN, -0f}, Shape.of(1, 1, 1, 2, 1), new float[] {1}, Shape.of(1, 1, 1, 1, 1),
                    null, o);
            assertTrue(Float.isNaN(y3[0]), "rank 3 float32 " + act + ": NaN * 1 gave " + y3[0]);
            double[] y2 = Conv.conv(new double[] {Double.NaN, Double.POSITIVE_INFINITY}, Shape.of(1, 1, 2, 1), new double[] {1},
                    Shape.of(1, 1, 1, 1), null, o);
            assertTrue(Double.isNaN(y2[0]), "rank 2 float64 " + act + ": NaN * 1 gave " + y2[0]);
            assertEquals(ReferenceConv2d.activate(Double.POSITIVE_INFINITY, act), y2[1], "rank 2 float64 " + act + " of +Inf");
            if (act != Activation.NONE) {
                assertEquals(Float.floatToIntBits(0f), Float.floatToIntBits(y3[1]), "rank 3 " + act + "(-0.0) is +0.0");
                try (Tensor y = Tensor.fromArray(new double[] {Double.NaN, -1}, Shape.of(1, 1, 2, 1));
                     Tensor dy = Tensor.fromArray(new double[] {2, 2}, Shape.of(1, 1, 2, 1));
                     Tensor g = Conv.activationGrad(y, dy, act)) {
                    assertEquals(2.0, g.toDoubleArray()[0], "float64 " + act + ": the gradient at a NaN output");
                    assertEquals(0.0, g.toDoubleArray()[1], "float64 " + act + ": the gradient at a negative output");
                }
            }
        }
    }

    @Test
    void activationMatchesJavasMaxAndMin() {
        assertTrue(Float.isNaN(Activation.RELU.apply(Float.NaN)));
        assertTrue(Float.isNaN(Activation.RELU6.apply(Float.NaN)));
        assertEquals(Float.floatToIntBits(0f), Float.floatToIntBits(Activation.RELU.apply(-0f)), "relu(-0.0) is +0.0");
        assertEquals(Float.floatToIntBits(0f), Float.floatToIntBits(Activation.RELU6.apply(-0f)), "relu6(-0.0) is +0.0");
        assertEquals(6f, Activation.RELU6.apply(Float.POSITIVE_INFINITY));
        assertEquals(Float.POSITIVE_INFINITY, Activation.RELU.apply(Float.POSITIVE_INFINITY));
        assertEquals(0f, Activation.RELU6.apply(Float.NEGATIVE_INFINITY));
        for (Activation act : Activation.values()) {
            for (float v : new float[] {-2f, -0f, 0f, 0.5f, 6f, 7f}) {
                assertEquals((float) ReferenceConv2d.activate(v, act), act.apply(v), act + "(" + v + ")");
            }
        }
    }

    /** relu'(y) and relu6'(y) pass the gradient where y is NaN (as PyTorch), rather than hide the NaN behind a zero. */
    @Test
    void activationGradientPassesNaNOutputs() {
        float[] y = {Float.NaN, -1f, 0f, 3f, 6f, 7f}, dy = {2f, 2f, 2f, 2f, 2f, 2f};
        Shape s = Shape.of(1, 1, 6, 1);
        for (Activation act : new Activation[] {Activation.RELU, Activation.RELU6}) {
            try (Tensor ty = Tensor.fromArray(y, s); Tensor tdy = Tensor.fromArray(dy, s);
                 Tensor g = Conv2dBackward.activationGrad(ty, tdy, act)) {
                double[] want = ReferenceConv2dBackward.throughActivation(dy, y, act);
                float[] got = g.toArray();
                for (int i = 0; i < y.length; i++) assertEquals((float) want[i], got[i], act + " at y = " + y[i]);
                assertEquals(2f, got[0], act + ": the gradient at a NaN output");
            }
        }
    }

    @Test
    void planSaysWhatHappened() {
        Layer l = layers().get(0);
        Conv2dOptions f4 = l.options().toBuilder().algorithm(Algorithm.WINOGRAD_4X4).build();
        float[] x = ConvCase.data(l.input().numElements(), 1);
        try (Tensor ok = Tensor.fromArray(x, l.input())) {
            Plan p = Conv2d.plan(ok, l.filter(), f4);
            assertEquals(Algorithm.WINOGRAD_4X4, p.algorithm(), "ordinary data: " + p);
            assertTrue(p.reason().contains("runs only on finite data"), p.reason());
            assertTrue(Conv2d.explain(l.input(), l.filter(), f4).contains("runs only on finite data"));
        }
        x[l.at()] = Float.POSITIVE_INFINITY;
        try (Tensor bad = Tensor.fromArray(x, l.input())) {
            for (Conv2dOptions o : new Conv2dOptions[] {f4, l.options()}) {
                Plan p = Conv2d.plan(bad, l.filter(), o);
                assertTrue(p.algorithm().isExact(), p.toString());
                if (o == f4) assertTrue(p.reason().startsWith("input holds non-finite values"), p.reason());
            }
        }
        x[l.at()] = 1e6f;
        try (Tensor wide = Tensor.fromArray(x, l.input())) {
            Plan p = Conv2d.plan(wide, l.filter(), f4);
            assertTrue(p.algorithm().isExact(), p.toString());
            assertTrue(p.reason().contains("largest magnitude exceeds"), p.reason());
        }
    }

    // ------------------------------------------------------------------ backward

    static final int[] INPUT_ROUTES = {NativeBackward.AUTO, NativeBackward.GEMM, 3, 4, 5};
    static final int[] FILTER_ROUTES = {NativeBackward.AUTO, NativeBackward.GEMM, 3, 4};

    static void checkBackward(Layer l, float[] x, float[] w, float[] dy, String what) {
        ConvGeometry g = ConvGeometry.of(l.input(), l.filter(), l.options());
        ReferenceConv2dBackward ref = ReferenceConv2dBackward.of(x, w, ReferenceConv2dBackward.toDouble(dy), g, false);
        long[] in = BackwardRoutesTest.inputDesc(new BackwardRoutesTest.Layer(l.name(), l.input(), l.filter(), l.options()));
        long[] fd = BackwardRoutesTest.filterDesc(new BackwardRoutesTest.Layer(l.name(), l.input(), l.filter(), l.options()));
        BackwardRoutesTest.Layer bl = new BackwardRoutesTest.Layer(l.name(), l.input(), l.filter(), l.options());
        for (int ir : INPUT_ROUTES) {
            if (ir != NativeBackward.AUTO && NativeBackward.inputUnits(in, ir) <= 0) continue;
            float[][] got = BackwardRoutesTest.gradients(bl, x, w, dy, ir, NativeBackward.GEMM, 1);
            assertLikeReference(l + " gradInput route " + ir + ", " + what, got[0], ref.gradInput, ref.inputScale);
        }
        for (int fr : FILTER_ROUTES) {
            if (fr != NativeBackward.AUTO && NativeBackward.filterUnits(fd, fr) <= 0) continue;
            float[][] got = BackwardRoutesTest.gradients(bl, x, w, dy, NativeBackward.GEMM, fr, 1);
            assertLikeReference(l + " gradFilter route " + fr + ", " + what, got[1], ref.gradFilter, ref.filterScale);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("layers")
    void gradientsKeepOddValuesInTheirWindows(Layer l) {
        Shape out = Conv2d.outputShape(l.input(), l.filter(), l.options());
        float[] w = ConvCase.data(l.filter().numElements(), 8);
        // an interior pixel: the exact routes multiply padding zeros too, so a non-finite gradient or filter
        // value at a border would turn 0 * Inf into NaN there, which the reference (skipping padding) does not
        int dyAt = (int) (((out.size(1) / 2) * out.size(2) + out.size(2) / 2) * out.size(3) + 3);
        for (float v : new float[] {Float.POSITIVE_INFINITY, Float.NaN, 1e38f, 1e6f}) {
            float[] x = ConvCase.data(l.input().numElements(), 9), dy = ConvCase.data(out.numElements(), 10);
            dy[dyAt] = v;
            checkBackward(l, x, w, dy, "gradient of the output value " + v);
            dy = ConvCase.data(out.numElements(), 10);
            x[l.at()] = v;
            checkBackward(l, x, w, dy, "input value " + v);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("layers")
    void layerForwardAndBackwardKeepOddValuesInTheirWindows(Layer l) {
        Shape out = Conv2d.outputShape(l.input(), l.filter(), l.options());
        ConvGeometry g = ConvGeometry.of(l.input(), l.filter(), l.options());
        for (float v : new float[] {Float.POSITIVE_INFINITY, Float.NaN, 1e38f, 1e6f}) {
            float[] x = ConvCase.data(l.input().numElements(), 11), dy = ConvCase.data(out.numElements(), 12);
            x[l.at()] = v;
            try (Conv2dLayer layer = Conv2dLayer.create(l.filter(), false, l.options(), 5);
                 Tensor tx = Tensor.fromArray(x, l.input()); Tensor tdy = Tensor.fromArray(dy, out)) {
                for (int round = 0; round < 2; round++) { // the second call reuses the layer's buffers
                    float[] w = layer.filter().toArray();
                    float[] y = layer.forward(tx).toArray();
                    assertLikeReference(l + " layer forward, input value " + v, y, ReferenceConv2d.forward(x, w, null, g, false,
                            Activation.NONE), ReferenceConv2d.errorScale(x, w, null, g, false));
                    float[] dx = layer.backward(tdy).toArray();
                    ReferenceConv2dBackward ref = ReferenceConv2dBackward.of(x, w, ReferenceConv2dBackward.toDouble(dy), g, false);
                    assertLikeReference(l + " layer gradInput, input value " + v, dx, ref.gradInput, ref.inputScale);
                    assertLikeReference(l + " layer gradFilter, input value " + v, layer.gradFilter().toArray(), ref.gradFilter,
                            ref.filterScale);
                    x[l.at()] = 0.5f; // then ordinary data through the same layer: back on its transform route
                    try (Tensor ordinary = Tensor.fromArray(x, l.input())) {
                        tx.copyFrom(ordinary);
                    }
                }
            }
        }
    }
}
