package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.conv4j.internal.NativeCore;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

/**
 * {@link Conv2dLayer}: forward equals {@link Conv2d}, backward equals {@link Conv2dBackward} bit
 * for bit, SGD updates the parameters, buffers are reused (no native allocation and only a few
 * bytes of Java objects per training step), and misuse is refused.
 */
class Conv2dLayerTest {
    static final Conv2dOptions OPTS = Conv2dOptions.builder().strides(2, 1).dilations(1, 2).padding(Padding.SAME).groups(2)
            .flipKernel(true).activation(Activation.RELU).build();
    static final Shape IN = Shape.of(2, 9, 11, 4), FILTER = Shape.of(3, 2, 2, 6);

    @Test
    void forwardAndBackwardMatchTheFunctions() {
        float[] x = ConvCase.data(IN.numElements(), 1), w = ConvCase.data(FILTER.numElements(), 2);
        float[] b = ConvCase.data(6, 3);
        Shape out = Conv2d.outputShape(IN, FILTER, OPTS);
        float[] gy = ConvCase.data(out.numElements(), 4);
        try (Tensor tx = Tensor.fromArray(x, IN); Tensor tw = Tensor.fromArray(w, FILTER); Tensor tb = Tensor.fromArray(b, 6);
             Tensor dy = Tensor.fromArray(gy, out); Conv2dLayer layer = new Conv2dLayer(tw, tb, OPTS);
             Tensor want = Conv2d.conv2d(tx, tw, tb, OPTS);
             Conv2dGradients g = Conv2dBackward.backward(tx, tw, tb, want, dy, OPTS)) {
            for (int rep = 0; rep < 2; rep++) { // the second time through reused buffers
                Tensor y = layer.forward(tx);
                assertArrayEquals(want.toArray(), y.toArray());
                Tensor dx = layer.backward(dy);
                assertArrayEquals(g.gradInput().toArray(), dx.toArray());
                assertArrayEquals(g.gradFilter().toArray(), layer.gradFilter().toArray());
                assertArrayEquals(g.gradBias().toArray(), layer.gradBias().toArray());
                assertSame(dx, layer.backward(dy), "the gradient buffer is reused");
            }
            // the input gradient can be skipped
            layer.forward(tx);
            assertNull(layer.backward(dy, false));
            assertArrayEquals(g.gradFilter().toArray(), layer.gradFilter().toArray());
        }
    }

    /**
     * tiny_3x3_8x8x4 (a microsecond layer): the layer's backward runs both gradients in one call
     * ({@link BackwardCall.Both}) and gives the bits of the two-call functions, with and without a
     * bias, also with an activation.
     */
    @Test
    void aMicrosecondLayerRunsBothGradientsInOneCallWithTheSameBits() {
        Shape in = Shape.of(1, 8, 8, 4), fs = Shape.of(3, 3, 4, 8);
        for (Activation act : new Activation[] {Activation.NONE, Activation.RELU}) {
            for (boolean withBias : new boolean[] {false, true}) {
                Conv2dOptions o = Conv2dOptions.builder().padding(Padding.SAME).activation(act).build();
                Shape out = Conv2d.outputShape(in, fs, o);
                try (Tensor tx = Tensor.fromArray(ConvCase.data(in.numElements(), 5), in);
                     Tensor tw = Tensor.fromArray(ConvCase.data(fs.numElements(), 6), fs);
                     Tensor tb = withBias ? Tensor.fromArray(ConvCase.data(8, 7), 8) : null;
                     Tensor dy = Tensor.fromArray(ConvCase.data(out.numElements(), 8), out);
                     Conv2dLayer layer = new Conv2dLayer(tw, tb, o); Tensor y = Conv2d.conv2d(tx, tw, tb, o);
                     Conv2dGradients g = Conv2dBackward.backward(tx, tw, tb, y, dy, o)) {
                    String what = act + (withBias ? ", bias" : "");
                    for (int rep = 0; rep < 2; rep++) {
                        layer.forward(tx);
                        Tensor dx = layer.backward(dy);
                        assertTrue(layer.backwardTakesBoth(), what + ": both gradients in one call");
                        assertArrayEquals(g.gradInput().toArray(), dx.toArray(), what);
                        assertArrayEquals(g.gradFilter().toArray(), layer.gradFilter().toArray(), what);
                        if (withBias) assertArrayEquals(g.gradBias().toArray(), layer.gradBias().toArray(), what);
                    }
                }
            }
        }
    }

    @Test
    void acceptsStridedViewsLikeTheForwardApi() {
        // an NCHW buffer seen as NHWC, and a dL/d(output) that is a channel slice of a wider tensor
        Shape in = Shape.of(2, 7, 6, 3), filter = Shape.of(3, 3, 3, 5);
        Conv2dOptions o = Conv2dOptions.builder().padding(Padding.SAME).activation(Activation.RELU6).build();
        float[] x = ConvCase.data(in.numElements(), 5);
        ConvCase cc = new ConvCase(in, filter, o, true, ConvCase.Layout.NCHW_PERMUTED, false, 9);
        try (ConvCase.Holder view = cc.inputTensor(x); Tensor dense = Tensor.fromArray(x, in);
             Tensor w = Tensor.fromArray(cc.filter(), filter); Tensor b = Tensor.fromArray(cc.bias(), 5);
             Tensor wide = Tensor.allocate(2, 7, 6, 8); Conv2dLayer a = new Conv2dLayer(w, b, o);
             Conv2dLayer c = new Conv2dLayer(w, b, o)) {
            Tensor dy = wide.slice(3, 2, 5);
            dy.copyFrom(ConvCase.data(dy.shape().numElements(), 6));
            float[] y1 = a.forward(view.view).toArray();
            float[] dx1 = a.backward(dy).toArray();
            float[] y2 = c.forward(dense).toArray();
            float[] dx2 = c.backward(dy).toArray();
            assertArrayEquals(y2, y1);
            float[] gw1 = a.gradFilter().toArray(), gw2 = c.gradFilter().toArray();
            for (int i = 0; i < gw1.length; i++) assertEquals(gw2[i], gw1[i], 1e-5 * (1 + Math.abs(gw2[i])));
            assertArrayEquals(dx2, dx1);
        }
    }

    @Test
    void sgdStepMovesAgainstTheGradient() {
        try (Conv2dLayer layer = Conv2dLayer.create(Shape.of(3, 3, 2, 4), true, Conv2dOptions.defaults(), 7);
             Tensor x = Tensor.fromArray(ConvCase.data(2 * 6 * 6 * 2, 8), 2, 6, 6, 2);
             Tensor dy = Tensor.fromArray(ConvCase.data(2 * 4 * 4 * 4, 9), 2, 4, 4, 4)) {
            float[] w0 = layer.filter().toArray(), b0 = layer.bias().toArray();
            layer.forward(x);
            layer.backward(dy);
            float[] gw = layer.gradFilter().toArray(), gb = layer.gradBias().toArray();
            layer.sgdStep(0.25);
            float[] w1 = layer.filter().toArray(), b1 = layer.bias().toArray();
            for (int i = 0; i < w0.length; i++) assertEquals(w0[i] - 0.25f * gw[i], w1[i], 0f);
            for (int i = 0; i < b0.length; i++) assertEquals(b0[i] - 0.25f * gb[i], b1[i], 0f);
            // the Glorot limit for fans 18 and 36
            double limit = Math.sqrt(6.0 / 54);
            for (float v : w0) assertTrue(Math.abs(v) <= limit);
        }
    }

    @Test
    void trainingStepsAllocateNoBuffers() {
        Shape in = Shape.of(4, 16, 16, 8), filter = Shape.of(3, 3, 8, 8);
        Conv2dOptions o = Conv2dOptions.builder().padding(Padding.SAME).activation(Activation.RELU).build();
        try (Conv2dLayer layer = Conv2dLayer.create(filter, true, o, 1);
             Tensor x = Tensor.fromArray(ConvCase.data(in.numElements(), 2), in);
             Tensor dy = Tensor.fromArray(ConvCase.data(in.numElements(), 3), in)) {
            for (int i = 0; i < 20; i++) step(layer, x, dy); // warm-up: buffers, workspaces, JIT
            com.sun.management.ThreadMXBean bean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            long thread = Thread.currentThread().getId();
            long native0 = FailureInjectionTest.settledNativeBytes();
            long heap0 = bean.getThreadAllocatedBytes(thread);
            int steps = 200;
            for (int i = 0; i < steps; i++) step(layer, x, dy);
            long perStep = (bean.getThreadAllocatedBytes(thread) - heap0) / steps;
            assertEquals(native0, NativeCore.allocatedBytes(), "native memory after " + steps + " steps");
            // what remains is the executor's per-call bookkeeping (a job object and queue nodes),
            // independent of the tensor sizes
            assertTrue(perStep < 2048, "Java allocation per training step: " + perStep + " bytes");
            System.out.println("Conv2dLayer training step: " + perStep + " bytes of Java objects, 0 bytes of native memory");
        }
    }

    @Test
    void backwardIntoReusedGradientsAllocatesNoNativeMemory() {
        Shape in = Shape.of(2, 20, 20, 8), filter = Shape.of(3, 3, 8, 8);
        Conv2dOptions o = Conv2dOptions.builder().padding(Padding.SAME).activation(Activation.RELU6).build();
        try (Tensor x = Tensor.fromArray(ConvCase.data(in.numElements(), 1), in);
             Tensor w = Tensor.fromArray(ConvCase.data(filter.numElements(), 2), filter); Tensor b = Tensor.allocate(8);
             Tensor dy = Tensor.fromArray(ConvCase.data(in.numElements(), 3), in); Tensor y = Conv2d.conv2d(x, w, b, o);
             Conv2dGradients g = Conv2dGradients.allocate(in, filter, true);
             Conv2dGradients fresh = Conv2dBackward.backward(x, w, b, y, dy, o)) {
            Conv2dBackward.backward(x, w, b, y, dy, o, g);
            long before = FailureInjectionTest.settledNativeBytes();
            for (int i = 0; i < 20; i++) Conv2dBackward.backward(x, w, b, y, dy, o, g);
            assertEquals(before, NativeCore.allocatedBytes(), "native memory of 20 backward passes into reused gradients");
            assertArrayEquals(fresh.gradInput().toArray(), g.gradInput().toArray());
            assertArrayEquals(fresh.gradFilter().toArray(), g.gradFilter().toArray());
            assertArrayEquals(fresh.gradBias().toArray(), g.gradBias().toArray());
        }
    }

    private static void step(Conv2dLayer layer, Tensor x, Tensor dy) {
        layer.forward(x);
        layer.backward(dy);
        layer.sgdStep(1e-6);
    }

    @Test
    void refusesMisuse() {
        try (Tensor w = Tensor.allocate(3, 3, 2, 4); Tensor b = Tensor.allocate(4); Tensor x = Tensor.allocate(1, 5, 5, 2);
             Tensor dy = Tensor.allocate(1, 3, 3, 4)) {
            assertThrows(NullPointerException.class, () -> new Conv2dLayer(null, b, Conv2dOptions.defaults()));
            assertThrows(NullPointerException.class, () -> new Conv2dLayer(w, b, null));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new Conv2dLayer(w, Tensor.allocate(3), Conv2dOptions.defaults()));
            assertTrue(e.getMessage().contains("bias"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> new Conv2dLayer(w, b, Conv2dOptions.builder().groups(3).build()));
            assertTrue(e.getMessage().contains("groups"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> new Conv2dLayer(Tensor.allocate(3, 3, 2), b, Conv2dOptions.defaults()));
            assertTrue(e.getMessage().contains("filter"), e.getMessage());

            Conv2dLayer layer = new Conv2dLayer(w, b, Conv2dOptions.defaults());
            assertThrows(IllegalStateException.class, () -> layer.backward(dy), "backward before forward");
            assertThrows(IllegalStateException.class, () -> layer.sgdStep(0.1), "step before backward");
            e = assertThrows(IllegalArgumentException.class, () -> layer.forward(Tensor.allocate(1, 5, 5, 3)));
            assertTrue(e.getMessage().contains("filter shape"), e.getMessage());
            layer.forward(x);
            e = assertThrows(IllegalArgumentException.class, () -> layer.backward(Tensor.allocate(1, 3, 3, 5)));
            assertTrue(e.getMessage().contains("gradOutput"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> layer.sgdStep(0.1), "step before backward");
            layer.backward(dy);
            e = assertThrows(IllegalArgumentException.class, () -> layer.sgdStep(Double.NaN));
            assertTrue(e.getMessage().contains("learning rate"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> layer.sgdStep(-1));
            // the input is kept by reference: closing it before backward is caught
            Tensor x2 = Tensor.allocate(1, 5, 5, 2);
            layer.forward(x2);
            x2.close();
            assertThrows(IllegalStateException.class, () -> layer.backward(dy));
            // feeding the layer its own gradient buffer back is refused rather than read while written
            try (Conv2dLayer same = new Conv2dLayer(Tensor.allocate(1, 1, 4, 4), null, Conv2dOptions.defaults());
                 Tensor xs = Tensor.allocate(1, 3, 3, 4)) {
                Tensor y = same.forward(xs);
                Tensor gx = same.backward(y);
                same.forward(xs);
                e = assertThrows(IllegalArgumentException.class, () -> same.backward(gx));
                assertTrue(e.getMessage().contains("gradOutput"), e.getMessage());
                e = assertThrows(IllegalArgumentException.class, () -> same.forward(same.forward(xs)));
                assertTrue(e.getMessage().contains("input"), e.getMessage());
            }
            layer.close();
            layer.close(); // idempotent
            assertThrows(IllegalStateException.class, () -> layer.forward(x));
            assertThrows(IllegalStateException.class, layer::filter);
        }
    }
}
