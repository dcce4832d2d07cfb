package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/**
 * Strided inputs and outputs: an NCHW buffer seen as NHWC, a crop, a channel slice, a caller's
 * direct buffer, and an output written into a channel slice of a wider tensor all give exactly the
 * result of the contiguous copy (the same algorithm reads the same numbers, so the sums match
 * bit for bit).
 */
class ViewsTest {
    static final Conv2dOptions OPTS = Conv2dOptions.builder().padding(Padding.SAME).algorithm(Algorithm.GEMM_TILED).build();

    static float[] contiguousResult(float[] x, Shape xs, float[] w, Shape ws, Conv2dOptions o) {
        try (Tensor tx = Tensor.fromArray(x, xs); Tensor tw = Tensor.fromArray(w, ws); Tensor y = Conv2d.conv2d(tx, tw, o)) {
            return y.toArray();
        }
    }

    @Test
    void nchwBufferPermutedToNhwc() {
        int n = 2, c = 5, h = 7, wd = 9;
        float[] nchw = ConvCase.data((long) n * c * h * wd, 1);
        float[] nhwc = new float[nchw.length];
        for (int b = 0; b < n; b++)
            for (int k = 0; k < c; k++)
                for (int i = 0; i < h; i++)
                    for (int j = 0; j < wd; j++) nhwc[((b * h + i) * wd + j) * c + k] = nchw[((b * c + k) * h + i) * wd + j];
        float[] w = ConvCase.data(3 * 3 * c * 4, 2);
        Shape fs = Shape.of(3, 3, c, 4);
        try (Tensor t = Tensor.fromArray(nchw, Shape.of(n, c, h, wd)); Tensor tw = Tensor.fromArray(w, fs)) {
            Tensor view = t.permute(0, 2, 3, 1);
            assertEquals(Shape.of(n, h, wd, c), view.shape());
            assertArrayEquals(nhwc, view.toArray());
            try (Tensor y = Conv2d.conv2d(view, tw, OPTS)) {
                assertArrayEquals(contiguousResult(nhwc, Shape.of(n, h, wd, c), w, fs, OPTS), y.toArray());
            }
            // the automatic choice on the permuted view agrees within rounding as well
            try (Tensor y = Conv2d.conv2d(view, tw, Conv2dOptions.builder().padding(Padding.SAME).build())) {
                float[] want = contiguousResult(nhwc, Shape.of(n, h, wd, c), w, fs, OPTS);
                float[] got = y.toArray();
                for (int i = 0; i < got.length; i++) assertEquals(want[i], got[i], 1e-4f * (1 + Math.abs(want[i])));
            }
        }
    }

    @Test
    void cropAndChannelSlice() {
        Shape big = Shape.of(2, 12, 13, 8);
        float[] all = ConvCase.data(big.numElements(), 3);
        Shape fs = Shape.of(3, 2, 3, 6);
        float[] w = ConvCase.data(fs.numElements(), 4);
        try (Tensor t = Tensor.fromArray(all, big); Tensor tw = Tensor.fromArray(w, fs)) {
            Tensor view = t.slice(1, 2, 7).slice(2, 3, 9).slice(3, 4, 3); // rows 2..8, cols 3..11, channels 4..6
            float[] dense = view.toArray();
            assertEquals(2 * 7 * 9 * 3, dense.length);
            assertEquals(t.get(1, 4, 5, 6), view.get(1, 2, 2, 2));
            try (Tensor y = Conv2d.conv2d(view, tw, OPTS)) {
                assertArrayEquals(contiguousResult(dense, view.shape(), w, fs, OPTS), y.toArray());
            }
        }
    }

    @Test
    void callerDirectBufferAndReadOnlyInput() {
        Shape xs = Shape.of(1, 6, 6, 2), fs = Shape.of(3, 3, 2, 3);
        float[] x = ConvCase.data(xs.numElements(), 5), w = ConvCase.data(fs.numElements(), 6);
        ByteBuffer buf = ByteBuffer.allocateDirect(x.length * 4).order(ByteOrder.nativeOrder());
        buf.asFloatBuffer().put(x);
        Tensor tx = Tensor.wrap(buf.asReadOnlyBuffer().order(ByteOrder.nativeOrder()), xs);
        try (Tensor tw = Tensor.fromArray(w, fs); Tensor y = Conv2d.conv2d(tx, tw, OPTS)) {
            assertArrayEquals(contiguousResult(x, xs, w, fs, OPTS), y.toArray());
        }
    }

    @Test
    void outputIntoChannelSliceOfWiderTensorLeavesTheRestAlone() {
        Shape xs = Shape.of(2, 5, 5, 3), fs = Shape.of(3, 3, 3, 4);
        float[] x = ConvCase.data(xs.numElements(), 7), w = ConvCase.data(fs.numElements(), 8);
        try (Tensor tx = Tensor.fromArray(x, xs); Tensor tw = Tensor.fromArray(w, fs); Tensor wide = Tensor.allocate(2, 5, 5, 10)) {
            float[] marker = new float[(int) wide.shape().numElements()];
            java.util.Arrays.fill(marker, -7f);
            wide.copyFrom(marker);
            Tensor out = wide.slice(3, 3, 4); // channels 3..6 of 10, as when concatenating layers
            assertEquals(out, Conv2d.conv2d(tx, tw, null, OPTS, out));
            assertArrayEquals(contiguousResult(x, xs, w, fs, OPTS), out.toArray());
            float[] all = wide.toArray();
            for (int i = 0; i < all.length; i++) {
                int ch = i % 10;
                if (ch < 3 || ch >= 7) assertEquals(-7f, all[i], "element " + i + " outside the slice changed");
                else assertNotEquals(-7f, all[i]);
            }
        }
    }

    @Test
    void outputWithNonUnitChannelStride() {
        // an NCHW output buffer seen as NHWC: conv4j writes through a temporary and copies
        Shape xs = Shape.of(1, 4, 4, 2), fs = Shape.of(1, 1, 2, 3);
        float[] x = ConvCase.data(xs.numElements(), 9), w = ConvCase.data(fs.numElements(), 10);
        Conv2dOptions o = Conv2dOptions.defaults();
        try (Tensor tx = Tensor.fromArray(x, xs); Tensor tw = Tensor.fromArray(w, fs); Tensor nchw = Tensor.allocate(1, 3, 4, 4)) {
            Tensor out = nchw.permute(0, 2, 3, 1);
            Conv2d.conv2d(tx, tw, null, o, out);
            assertArrayEquals(contiguousResult(x, xs, w, fs, o), out.toArray());
        }
    }

    @Test
    void patchViewDescribesTheStridedInput() {
        try (Tensor t = Tensor.allocate(2, 3, 10, 12)) { // NCHW
            Tensor view = t.permute(0, 2, 3, 1);
            Conv2dOptions o = Conv2dOptions.builder().strides(2, 1).dilations(1, 2).padding(Padding.explicit(1, 0, 2, 1)).build();
            PatchView pv = Conv2d.patchView(view, Shape.of(3, 2, 3, 4), o);
            assertArrayEquals(new long[] {2, 5, 13, 3, 2, 3}, pv.shape());
            // strides: n = C*H*W, out row = 2*W, out col = 1, tap row = W, tap col = 2, channel = H*W
            assertArrayEquals(new long[] {360, 24, 1, 12, 2, 120}, pv.strides());
            assertEquals(-1 * 12 - 2, pv.origin());
            assertEquals(-1, pv.memoryIndex(0, 0, 0, 0, 0, 0, 0)); // top-left tap reads padding
            long idx = pv.memoryIndex(1, 2, 3, 1, 1, 2, 0);        // row 2*2+1-1 = 4, col 3+2-2 = 3, channel 2
            assertEquals(360 + 2 * 120 + 4 * 12 + 3, idx);
            assertEquals(view.get(1, 4, 3, 2), t.get(1, 2, 4, 3));
            String s = pv.toString();
            assertEquals(true, s.contains("shape=[2, 5, 13, 3, 2, 3]") && s.contains("strides=[360, 24, 1, 12, 2, 120]"), s);
        }
    }
}
