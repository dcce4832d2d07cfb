package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.conv4j.internal.NativeCore;
import org.junit.jupiter.api.Test;

/**
 * The ownership rule of {@link Tensor}, the same for every entry point: a returned tensor is the
 * caller's to close, and closing it (the try-with-resources habit) never breaks a later call.
 * Before the rule, closing what {@link Conv2dLayer#forward} returned freed the layer's output
 * buffer (its next forward threw "tensor is closed"), and closing what {@link ConvLayer#forward}
 * returned broke the next {@link ConvLayer#backward} of a layer with an activation.
 */
class OwnershipTest {
    private static final Conv2dOptions SAME_RELU = Conv2dOptions.builder().padding(Padding.SAME).activation(Activation.RELU).build();

    @Test
    void closingWhatConv2dLayerReturnsDoesNotBreakTheLayer() {
        Shape xs = Shape.of(2, 6, 6, 3), ws = Shape.of(3, 3, 3, 4);
        try (Tensor x = Tensor.fromArray(ConvCase.data(xs.numElements(), 1), xs);
             Tensor w = Tensor.fromArray(ConvCase.data(ws.numElements(), 2), ws); Tensor b = Tensor.allocate(4);
             Tensor dy = Tensor.fromArray(ConvCase.data(2 * 6 * 6 * 4, 3), Shape.of(2, 6, 6, 4));
             Conv2dLayer layer = new Conv2dLayer(w, b, SAME_RELU);
             Tensor want = Conv2d.conv2d(x, w, b, SAME_RELU)) {
            float[] first, again;
            try (Tensor y = layer.forward(x)) {
                first = y.toArray();
            }
            try (Tensor y = layer.forward(x)) { // the old code threw IllegalStateException here
                again = y.toArray();
            }
            assertArrayEquals(want.toArray(), first);
            assertArrayEquals(first, again);
            float[] gx;
            try (Tensor dx = layer.backward(dy)) {
                gx = dx.toArray();
            }
            try (Tensor dx = layer.backward(dy); Tensor gf = layer.gradFilter(); Tensor gb = layer.gradBias();
                 Tensor f = layer.filter(); Tensor bb = layer.bias()) {
                assertArrayEquals(gx, dx.toArray());
                assertArrayEquals(w.toArray(), f.toArray());
                assertTrue(gf.isOpen() && gb.isOpen() && bb.isOpen());
            }
            layer.sgdStep(0.1); // the layer's own tensors are untouched by the closes above
            try (Tensor y = layer.forward(x); Conv2dGradients g = Conv2dBackward.backward(x, w, b, null, dy, SAME_RELU)) {
                assertTrue(y.isOpen());
                // the step used the gradients of the last backward: filter = w - 0.1 * dL/dw
                float[] w0 = w.toArray(), gw = g.gradFilter().toArray(), w1 = layer.filter().toArray();
                for (int i = 0; i < w0.length; i++) assertTrue(Math.abs(w0[i] - 0.1f * gw[i] - w1[i]) <= 1e-6f * (1 + Math.abs(w0[i])));
            }
        }
    }

    @Test
    void aLentHandleIsReusedWhileOpenAndEndedByTheLayersClose() {
        Shape xs = Shape.of(1, 5, 5, 2);
        try (Tensor x = Tensor.fromArray(ConvCase.data(xs.numElements(), 4), xs)) {
            try (Conv2dLayer warm = Conv2dLayer.create(Shape.of(3, 3, 2, 2), false, Conv2dOptions.defaults(), 5)) {
                for (int i = 0; i < 8; i++) warm.forward(x); // plans, sgemm timings, every executor workspace: kept for the process
            }
            long before = FailureInjectionTest.settledNativeBytes();
            Conv2dLayer layer = Conv2dLayer.create(Shape.of(3, 3, 2, 2), false, Conv2dOptions.defaults(), 5);
            Tensor y1 = layer.forward(x);
            assertTrue(y1 == layer.forward(x), "an open handle is handed out again: a training loop allocates none");
            float[] values = y1.toArray();
            y1.close();
            Tensor y2 = layer.forward(x);
            assertFalse(y1 == y2);
            assertArrayEquals(values, y2.toArray());
            Tensor w = layer.filter();
            layer.close();
            assertFalse(y2.isOpen(), "the layer's close ends the handles it returned");
            assertFalse(w.isOpen());
            assertThrows(IllegalStateException.class, y2::toArray);
            assertEquals(before, NativeCore.allocatedBytes(), "the layer's close frees its memory, handles or not");
        }
    }

    @Test
    void closingWhatConv2dGradientsReturnsDoesNotBreakItsReuse() {
        Shape xs = Shape.of(1, 6, 6, 2), ws = Shape.of(3, 3, 2, 3), ys = Shape.of(1, 4, 4, 3);
        try (Tensor x = Tensor.fromArray(ConvCase.data(xs.numElements(), 7), xs);
             Tensor w = Tensor.fromArray(ConvCase.data(ws.numElements(), 8), ws); Tensor b = Tensor.allocate(3);
             Tensor dy = Tensor.fromArray(ConvCase.data(ys.numElements(), 9), ys);
             Conv2dGradients g = Conv2dGradients.allocate(xs, ws, true)) {
            Conv2dBackward.backward(x, w, b, null, dy, Conv2dOptions.defaults(), g);
            float[] gx;
            try (Tensor t = g.gradInput(); Tensor f = g.gradFilter(); Tensor bb = g.gradBias()) {
                gx = t.toArray();
            }
            Conv2dBackward.backward(x, w, b, null, dy, Conv2dOptions.defaults(), g); // the old code threw here
            try (Tensor t = g.gradInput()) {
                assertArrayEquals(gx, t.toArray());
            }
        }
    }

    @Test
    void closingWhatConvLayerReturnsDoesNotBreakItsBackward() {
        ConvOptions o = ConvOptions.builder().padding(Padding.SAME).activation(Activation.RELU).build();
        Shape xs = Shape.of(2, 7, 3), ys = Shape.of(2, 7, 4);
        try (ConvLayer layer = ConvLayer.create(DType.FLOAT32, Shape.of(3, 3, 4), true, o, 9);
             Tensor x = Tensor.fromArray(ConvCase.data(xs.numElements(), 5), xs);
             Tensor dy = Tensor.fromArray(ConvCase.data(ys.numElements(), 6), ys)) {
            float[] y;
            try (Tensor out = layer.forward(x)) {
                y = out.toArray();
            }
            try (Tensor dx = layer.backward(dy, true)) { // the old code threw IllegalStateException here
                assertTrue(dx.isOpen());
            }
            // the gradient is that of the closed output's values
            try (Tensor yt = Tensor.fromArray(y, ys); Tensor dz = Conv.activationGrad(yt, dy, Activation.RELU);
                 Tensor gf = Conv.gradFilter(x, dz, Shape.of(3, 3, 4), o.withoutActivation()); Tensor lent = layer.gradFilter()) {
                assertArrayEquals(gf.toArray(), lent.toArray());
            }
            try (Tensor gf = layer.gradFilter()) {
                assertTrue(gf.isOpen(), "a closed handle is replaced by a new one");
            }
        }
    }
}
