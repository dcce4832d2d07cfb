package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.conv4j.BackwardRoutesTest.Layer;
import io.conv4j.internal.NativeBackward;
import io.conv4j.internal.NativeCore;
import io.conv4j.internal.NativeLibrary;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The backward pass with a {@link PreparedFilter} (the weights of one training step, prepared once
 * for its forward and backward passes): every input-gradient route, forced in turn, gives the bits
 * of the plain call on that route (the same preparation, kept instead of redone) for any thread
 * count and on repeated calls; the cost model's route for a prepared filter agrees with the double
 * reference; a prepared filter holds the weights it was made from, never later ones, and a layer's
 * gradients follow its weights through every kind of update; bad arguments are refused in Java.
 */
class PreparedBackwardTest {

    /** Random input, filter and output gradient {x, w, dy} of {@code c}. */
    private static float[][] data(Layer c, long seed) {
        Shape out = Conv2d.outputShape(c.input(), c.filter(), c.options());
        return new float[][] {ConvCase.data(c.input().numElements(), seed), ConvCase.data(c.filter().numElements(), seed + 1),
                ConvCase.data(out.numElements(), seed + 2)};
    }

    /** Gradients [dX, dW, dB] of {@code c} on {@code data} ({@link #data}), the filter prepared or plain, at {@code threads}. */
    private static float[][] gradients(Layer c, float[][] data, int inputRoute, boolean prepared, int threads) {
        float[] x = data[0], w = data[1], dy = data[2];
        int before = Conv4j.threads();
        Conv2dBackward.inputRouteOverride = inputRoute;
        Shape out = Conv2d.outputShape(c.input(), c.filter(), c.options());
        try (Tensor tx = Tensor.fromArray(x, c.input()); Tensor tw = Tensor.fromArray(w, c.filter());
             Tensor b = Tensor.fromArray(ConvCase.data(c.filter().size(3), 5), Shape.of(c.filter().size(3)));
             Tensor tdy = Tensor.fromArray(dy, out); PreparedFilter pf = Conv2d.prepare(tw, b, c.options());
             Conv2dGradients g = Conv2dGradients.allocate(c.input(), c.filter(), true)) {
            Conv4j.setThreads(threads);
            if (prepared) {
                Conv2dBackward.backward(tx, pf, null, tdy, g);
                float[] first = g.gradInput().toArray();
                Conv2dBackward.backward(tx, pf, null, tdy, g); // the kept input-gradient filter, read again
                assertArrayEquals(first, g.gradInput().toArray(), c + ": second call with the prepared filter");
            } else {
                Conv2dBackward.backward(tx, tw, b, null, tdy, c.options(), g);
            }
            return new float[][] {g.gradInput().toArray(), g.gradFilter().toArray(), g.gradBias().toArray()};
        } finally {
            Conv4j.setThreads(before);
            Conv2dBackward.inputRouteOverride = NativeBackward.AUTO;
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.conv4j.BackwardRoutesTest#layers")
    void everyInputRouteGivesThePlainCallsBitsForAnyThreadCount(Layer c) {
        NativeLibrary.ensureLoaded();
        float[][] data = data(c, 21);
        long[] desc = BackwardRoutesTest.inputDesc(c);
        int routes = 0;
        for (int id : BackwardRoutesTest.IDS) {
            if (NativeBackward.inputUnits(desc, id) <= 0) continue;
            float[][] plain = gradients(c, data, id, false, 1);
            for (int threads : new int[] {1, 2, 3}) {
                float[][] kept = gradients(c, data, id, true, threads);
                for (int i = 0; i < 3; i++) {
                    assertArrayEquals(plain[i], kept[i], c + " route " + id + ", " + threads + " threads, gradient " + i);
                }
            }
            routes++;
        }
        assertTrue(routes >= 2, c + ": input routes run " + routes);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.conv4j.BackwardRoutesTest#layers")
    void theCostModelsRouteForAPreparedFilterMatchesTheReference(Layer c) {
        NativeLibrary.ensureLoaded();
        float[][] data = data(c, 31);
        ReferenceConv2dBackward ref = ReferenceConv2dBackward.of(data[0], data[1], ReferenceConv2dBackward.toDouble(data[2]),
                ConvGeometry.of(c.input(), c.filter(), c.options()), c.options().flipKernel());
        float[][] one = gradients(c, data, NativeBackward.AUTO, true, 1);
        int bad = ReferenceConv2dBackward.firstMismatch(one[0], ref.gradInput, ref.inputScale, BackwardRoutesTest.TOL);
        assertTrue(bad < 0, () -> c + " gradInput element " + bad);
        int badW = ReferenceConv2dBackward.firstMismatch(one[1], ref.gradFilter, ref.filterScale, BackwardRoutesTest.TOL);
        assertTrue(badW < 0, () -> c + " gradFilter element " + badW);
        assertArrayEquals(one[0], gradients(c, data, NativeBackward.AUTO, true, 2)[0], c + ": 2 threads");
    }

    /** The prepared plan says it leaves the filter's transform out, and then takes Winograd on a deep layer at batch 1. */
    @Test
    void thePreparedPlanLeavesTheFilterRearrangementOut() {
        NativeLibrary.ensureLoaded();
        Layer deep = new Layer("14x14 256->256", Shape.of(1, 14, 14, 256), Shape.of(3, 3, 256, 256),
                Conv2dOptions.builder().padding(Padding.SAME).build());
        long[] desc = BackwardRoutesTest.inputDesc(deep);
        String[] plain = new String[1], prepared = new String[1];
        NativeCore.plan(desc, NativeCore.INPUT_GRADIENT, false, plain);
        int route = NativeCore.plan(desc, NativeCore.INPUT_GRADIENT_PREPARED, false, prepared);
        assertTrue(plain[0].contains("incl. filter rearrangement"), plain[0]);
        assertTrue(prepared[0].contains("without the filter transform"), prepared[0]);
        // Winograd's input gradient reads a 9.4 MB transform here: without it, it is the cheapest by far
        assertTrue(route == 3 || route == 4, "route " + route + ": " + prepared[0]);
    }

    /** The prepared filter is a copy: it keeps the weights of its version, and a new version gives the new gradients. */
    @Test
    void aPreparedFilterNeverSeesLaterWeights() {
        Layer c = new Layer("3x3 SAME 16->24", Shape.of(2, 12, 10, 16), Shape.of(3, 3, 16, 24),
                Conv2dOptions.builder().padding(Padding.SAME).build());
        Shape out = Conv2d.outputShape(c.input(), c.filter(), c.options());
        float[] x = ConvCase.data(c.input().numElements(), 41), w = ConvCase.data(c.filter().numElements(), 42);
        float[] dy = ConvCase.data(out.numElements(), 43);
        float[] w2 = w.clone();
        for (int i = 0; i < w2.length; i++) w2[i] -= 0.25f * ConvCase.data(w2.length, 44)[i];
        try (Tensor tx = Tensor.fromArray(x, c.input()); Tensor tw = Tensor.fromArray(w, c.filter());
             Tensor tdy = Tensor.fromArray(dy, out); PreparedFilter v1 = Conv2d.prepare(tw, null, c.options())) {
            float[] first;
            try (Conv2dGradients g = Conv2dBackward.backward(tx, v1, null, tdy, null)) {
                first = g.gradInput().toArray();
            }
            tw.copyFrom(w2); // an update step on the caller's weights
            try (Conv2dGradients g = Conv2dBackward.backward(tx, v1, null, tdy, null)) {
                assertArrayEquals(first, g.gradInput().toArray(), "the prepared filter keeps the weights it was made from");
            }
            try (PreparedFilter v2 = Conv2d.prepare(tw, null, c.options());
                 Conv2dGradients g = Conv2dBackward.backward(tx, v2, null, tdy, null)) {
                ReferenceConv2dBackward ref = ReferenceConv2dBackward.of(x, w2, ReferenceConv2dBackward.toDouble(dy),
                        ConvGeometry.of(c.input(), c.filter(), c.options()), false);
                float[] got = g.gradInput().toArray();
                assertFalse(Arrays.equals(first, got), "new weights, new gradient");
                int bad = ReferenceConv2dBackward.firstMismatch(got, ref.gradInput, ref.inputScale, BackwardRoutesTest.TOL);
                assertTrue(bad < 0, () -> "gradInput of the new weights, element " + bad);
            }
        }
    }

    /**
     * A layer's input gradient follows its weights after an SGD step and after a write through its
     * filter handle: the same bits as the plain backward pass on the weights as they are then.
     */
    @Test
    void aLayersInputGradientFollowsEveryWeightUpdate() {
        Shape in = Shape.of(1, 14, 14, 64), fs = Shape.of(3, 3, 64, 64);
        Conv2dOptions o = Conv2dOptions.builder().padding(Padding.SAME).build();
        Shape out = Conv2d.outputShape(in, fs, o);
        float[] x = ConvCase.data(in.numElements(), 51), dy = ConvCase.data(out.numElements(), 52);
        try (Conv2dLayer layer = Conv2dLayer.create(fs, true, o, 9); Tensor tx = Tensor.fromArray(x, in);
             Tensor tdy = Tensor.fromArray(dy, out)) {
            float[] last = null;
            for (int step = 0; step < 3; step++) {
                layer.forward(tx);
                float[] dx = layer.backward(tdy).toArray();
                try (Conv2dGradients g = Conv2dBackward.backward(tx, layer.filter(), layer.bias(), null, tdy, o)) {
                    assertArrayEquals(g.gradInput().toArray(), dx, "step " + step);
                }
                if (last != null) assertFalse(Arrays.equals(last, dx), "step " + step + ": the weights changed");
                last = dx;
                if (step == 0) {
                    layer.sgdStep(0.5);
                } else { // the caller writes new weights through the handle
                    layer.filter().copyFrom(ConvCase.data(fs.numElements(), 60 + step));
                }
            }
        }
    }

    /** More input shapes than a prepared filter keeps input-gradient filters for: the rest prepare their own, same results. */
    @Test
    void manyInputShapesBeyondWhatIsKept() {
        Shape fs = Shape.of(3, 3, 8, 8);
        Conv2dOptions o = Conv2dOptions.builder().padding(Padding.SAME).build();
        float[] w = ConvCase.data(fs.numElements(), 71);
        Conv2dBackward.inputRouteOverride = 4; // Winograd F(4x4): a transformed filter per call
        try (Tensor tw = Tensor.fromArray(w, fs); PreparedFilter pf = Conv2d.prepare(tw, null, o)) {
            for (int size = 6; size < 18; size++) {
                Shape in = Shape.of(1, size, size, 8), out = Conv2d.outputShape(in, fs, o);
                try (Tensor tx = Tensor.fromArray(ConvCase.data(in.numElements(), size), in);
                     Tensor tdy = Tensor.fromArray(ConvCase.data(out.numElements(), 100 + size), out);
                     Conv2dGradients kept = Conv2dBackward.backward(tx, pf, null, tdy, null);
                     Conv2dGradients plain = Conv2dBackward.backward(tx, tw, null, null, tdy, o)) {
                    assertArrayEquals(plain.gradInput().toArray(), kept.gradInput().toArray(), "input " + in);
                }
            }
        } finally {
            Conv2dBackward.inputRouteOverride = NativeBackward.AUTO;
        }
    }

    /** A fused activation: the forward output recomputed with the prepared filter when not given, the same gradients as given. */
    @Test
    void activationWithAndWithoutTheForwardOutput() {
        Shape in = Shape.of(2, 9, 11, 12), fs = Shape.of(3, 3, 12, 20);
        Conv2dOptions o = Conv2dOptions.builder().padding(Padding.SAME).activation(Activation.RELU).build();
        Shape out = Conv2d.outputShape(in, fs, o);
        try (Tensor tx = Tensor.fromArray(ConvCase.data(in.numElements(), 81), in);
             Tensor tw = Tensor.fromArray(ConvCase.data(fs.numElements(), 82), fs);
             Tensor b = Tensor.fromArray(ConvCase.data(20, 83), Shape.of(20));
             Tensor tdy = Tensor.fromArray(ConvCase.data(out.numElements(), 84), out);
             PreparedFilter pf = Conv2d.prepare(tw, b, o); Tensor y = Conv2d.conv2d(tx, pf);
             Conv2dGradients given = Conv2dBackward.backward(tx, pf, y, tdy, null);
             Conv2dGradients recomputed = Conv2dBackward.backward(tx, pf, null, tdy, null);
             Conv2dGradients plain = Conv2dBackward.backward(tx, tw, b, y, tdy, o)) {
            assertArrayEquals(given.gradInput().toArray(), recomputed.gradInput().toArray());
            assertArrayEquals(given.gradFilter().toArray(), recomputed.gradFilter().toArray());
            assertArrayEquals(plain.gradFilter().toArray(), given.gradFilter().toArray(), "the filter gradient does not change");
            assertArrayEquals(plain.gradBias().toArray(), given.gradBias().toArray());
        }
    }

    @Test
    void badArgumentsAreRefusedInJava() {
        Shape in = Shape.of(1, 6, 6, 4), fs = Shape.of(3, 3, 4, 4);
        Conv2dOptions o = Conv2dOptions.defaults();
        Shape out = Conv2d.outputShape(in, fs, o);
        try (Tensor tx = Tensor.allocate(in); Tensor tw = Tensor.allocate(fs); Tensor tdy = Tensor.allocate(out)) {
            NullPointerException npe = assertThrows(NullPointerException.class,
                    () -> Conv2dBackward.backward(tx, (PreparedFilter) null, null, tdy, null));
            assertEquals("prepared filter", npe.getMessage());
            PreparedFilter pf = Conv2d.prepare(tw, null, o);
            pf.close();
            IllegalStateException closed = assertThrows(IllegalStateException.class,
                    () -> Conv2dBackward.backward(tx, pf, null, tdy, null));
            assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
            try (PreparedFilter open = Conv2d.prepare(tw, null, o); Tensor wrong = Tensor.allocate(Shape.of(1, 5, 5, 4))) {
                IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                        () -> Conv2dBackward.backward(tx, open, null, wrong, null));
                assertTrue(shape.getMessage().contains("gradOutput"), shape.getMessage());
            }
            Conv2dOptions nchw = Conv2dOptions.builder().layout(DataLayout.NCHW).build();
            try (Tensor oihw = Tensor.allocate(Shape.of(4, 4, 3, 3)); PreparedFilter cf = Conv2d.prepare(oihw, null, nchw)) {
                IllegalArgumentException layout = assertThrows(IllegalArgumentException.class,
                        () -> Conv2dBackward.backward(tx, cf, null, tdy, null));
                assertTrue(layout.getMessage().contains("layout"), layout.getMessage());
            }
        }
    }
}
