package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.conv4j.internal.NativeBackward;
import org.junit.jupiter.api.Test;

/**
 * A backward call into a {@link Conv2dGradients} with the very tensors and options of that
 * object's previous call skips validation, description and planning ({@link BoundBackward}). Such a
 * repeated call must still read the data as they are now (changed in place since), refuse a tensor
 * closed since, take a route forced since, and let {@link TransformGuard} refuse a transform for data
 * that changed: each checked against a fresh {@link Conv2dGradients}, whose call runs the whole pipeline.
 */
class BoundBackwardTest {
    private static final Conv2dOptions SAME = Conv2dOptions.builder().padding(Padding.SAME).build();
    private static final Shape IN = Shape.of(2, 9, 7, 6), FILTER = Shape.of(3, 3, 6, 10);
    private static final Shape OUT = Conv2d.outputShape(IN, FILTER, SAME);

    private static Tensor tensor(Shape s, long seed) {
        return Tensor.fromArray(ConvCase.data(s.numElements(), seed), s);
    }

    /** [dX, dW, dB] of a fresh call (whole pipeline, nothing bound) on these tensors. */
    private static float[][] fresh(Tensor x, Tensor w, Tensor b, Tensor dy, PreparedFilter pf) {
        try (Conv2dGradients g = Conv2dGradients.allocate(IN, FILTER, b != null)) {
            if (pf != null) Conv2dBackward.backward(x, pf, null, dy, g);
            else Conv2dBackward.backward(x, w, b, null, dy, SAME, g);
            return arrays(g);
        }
    }

    private static float[][] arrays(Conv2dGradients g) {
        return new float[][] {g.gradInput().toArray(), g.gradFilter().toArray(), g.gradBias() == null ? null : g.gradBias().toArray()};
    }

    private static void assertSame(float[][] want, float[][] got, String what) {
        for (int i = 0; i < 3; i++) assertArrayEquals(want[i], got[i], what + ": gradient " + i);
    }

    @Test
    void repeatedCallsReadTheDataAsItIsNow() {
        for (boolean prepared : new boolean[] {false, true}) {
            try (Tensor x = tensor(IN, 1); Tensor w = tensor(FILTER, 2); Tensor b = tensor(Shape.of(10), 3);
                 Tensor dy = tensor(OUT, 4); PreparedFilter pf = Conv2d.prepare(w, b, SAME);
                 Conv2dGradients g = Conv2dGradients.allocate(IN, FILTER, true)) {
                for (int step = 0; step < 3; step++) {
                    if (step > 0) { // new activations and output gradient in the same tensors, as a training loop writes them
                        try (Tensor x2 = tensor(IN, 10 + step); Tensor dy2 = tensor(OUT, 20 + step)) {
                            x.copyFrom(x2);
                            dy.copyFrom(dy2);
                        }
                    }
                    if (prepared) Conv2dBackward.backward(x, pf, null, dy, g);
                    else Conv2dBackward.backward(x, w, b, null, dy, SAME, g);
                    assertSame(fresh(x, w, b, dy, prepared ? pf : null), arrays(g), "step " + step + (prepared ? " prepared" : " plain"));
                }
            }
        }
    }

    @Test
    void aTensorClosedSinceIsRefused() {
        try (Tensor x = tensor(IN, 1); Tensor w = tensor(FILTER, 2); Tensor dy = tensor(OUT, 4);
             Conv2dGradients g = Conv2dGradients.allocate(IN, FILTER, false)) {
            Conv2dBackward.backward(x, w, null, null, dy, SAME, g);
            Conv2dBackward.backward(x, w, null, null, dy, SAME, g);
            dy.close();
            assertThrows(IllegalStateException.class, () -> Conv2dBackward.backward(x, w, null, null, dy, SAME, g));
            try (Tensor dy2 = tensor(OUT, 5)) { // another output gradient: planned anew
                Conv2dBackward.backward(x, w, null, null, dy2, SAME, g);
                assertSame(fresh(x, w, null, dy2, null), arrays(g), "after a refused call");
            }
        }
    }

    @Test
    void aRouteForcedSinceIsTaken() {
        int[] filterRoutes = {NativeBackward.GEMM, Algorithm.DIRECT_DENSE.nativeId, Algorithm.WINOGRAD_2X2.nativeId};
        int[] inputRoutes = {NativeBackward.GEMM, NativeBackward.SCATTER, Algorithm.WINOGRAD_4X4.nativeId};
        try (Tensor x = tensor(IN, 1); Tensor w = tensor(FILTER, 2); Tensor dy = tensor(OUT, 4);
             Conv2dGradients g = Conv2dGradients.allocate(IN, FILTER, false)) {
            for (int i = 0; i < filterRoutes.length; i++) {
                Conv2dBackward.filterRouteOverride = filterRoutes[i];
                Conv2dBackward.inputRouteOverride = inputRoutes[i];
                try {
                    Conv2dBackward.backward(x, w, null, null, dy, SAME, g);
                    assertSame(fresh(x, w, null, dy, null), arrays(g), "routes " + filterRoutes[i] + ", " + inputRoutes[i]);
                } finally {
                    Conv2dBackward.filterRouteOverride = NativeBackward.AUTO;
                    Conv2dBackward.inputRouteOverride = NativeBackward.AUTO;
                }
            }
        }
    }

    @Test
    void theTransformGuardSeesDataChangedSince() {
        Conv2dBackward.filterRouteOverride = Algorithm.WINOGRAD_4X4.nativeId;
        Conv2dBackward.inputRouteOverride = Algorithm.WINOGRAD_4X4.nativeId;
        try (Tensor x = tensor(IN, 1); Tensor w = tensor(FILTER, 2); Tensor dy = tensor(OUT, 4);
             Conv2dGradients g = Conv2dGradients.allocate(IN, FILTER, false)) {
            Conv2dBackward.backward(x, w, null, null, dy, SAME, g);
            float[] outlier = dy.toArray();
            outlier[7] = 1e12f; // far outside F(4x4)'s range: both gradients must take the exact route now
            try (Tensor dy2 = Tensor.fromArray(outlier, OUT)) {
                dy.copyFrom(dy2);
            }
            Conv2dBackward.backward(x, w, null, null, dy, SAME, g);
            float[][] got = arrays(g);
            Conv2dBackward.filterRouteOverride = NativeBackward.AUTO;
            Conv2dBackward.inputRouteOverride = NativeBackward.AUTO;
            try (Conv2dGradients exact = Conv2dGradients.allocate(IN, FILTER, false)) {
                Conv2dBackward.filterRouteOverride = NativeBackward.GEMM;
                Conv2dBackward.inputRouteOverride = TransformGuard.exactInputRoute(
                        ConvGeometry.of(IN, FILTER, SAME).toNative(exact.input(), BackwardCall.outputViewStrides(dy), SAME, false));
                Conv2dBackward.backward(x, w, null, null, dy, SAME, exact);
                assertSame(arrays(exact), got, "outlier in the output gradient");
            }
        } finally {
            Conv2dBackward.filterRouteOverride = NativeBackward.AUTO;
            Conv2dBackward.inputRouteOverride = NativeBackward.AUTO;
        }
    }
}
