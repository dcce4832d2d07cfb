package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * One rule for every entry point (forward, each backward call, the layer): every output is
 * checked against every input and every other output of the call for a shared element (exactly,
 * so disjoint interleaved views such as channel slices of one buffer are accepted); only outputs
 * must not overlap themselves (a broadcast input is fine); every operand must be 4-byte aligned,
 * with the same message everywhere.
 */
class AliasingRulesTest {
    static final Conv2dOptions SAME = Conv2dOptions.builder().padding(Padding.SAME).build();

    static void refused(Class<? extends Throwable> type, String fragment, Executable call) {
        Throwable t = assertThrows(type, call);
        assertTrue(String.valueOf(t.getMessage()).contains(fragment), () -> "message: " + t.getMessage());
    }

    static ByteBuffer direct(int floats) {
        return ByteBuffer.allocateDirect(floats * 4).order(ByteOrder.nativeOrder());
    }

    // ------------------------------------------------------------------ item 4: the layer's own gradients

    @Test
    void layerRefusesGradOutputThatIsAViewOfItsOwnGradients() {
        Shape in = Shape.of(1, 4, 4, 3);
        try (Conv2dLayer layer = Conv2dLayer.create(Shape.of(3, 3, 3, 4), true, SAME, 5);
             Tensor x = Tensor.fromArray(ConvCase.data(in.numElements(), 1), in)) {
            Tensor y = layer.forward(x); // [1, 4, 4, 4]: 64 elements
            // gradFilter is [3, 3, 3, 4] = 108 elements: its first 64 as gradOutput
            Tensor gf = layer.gradFilter().reshape(Shape.of(108)).slice(0, 0, 64).reshape(y.shape());
            refused(IllegalArgumentException.class, "gradFilter: output memory overlaps the gradOutput", () -> layer.backward(gf));
            refused(IllegalArgumentException.class, "gradFilter: output memory overlaps the gradOutput",
                    () -> layer.backward(gf, false));
            Tensor gb = Tensor.wrap(layer.gradBias().buffer(), y.shape(), new long[] {0, 0, 0, 1}, 0); // broadcast bias gradient
            refused(IllegalArgumentException.class, "gradBias: output memory overlaps the gradOutput", () -> layer.backward(gb, false));
            Tensor dx = layer.backward(y); // a legitimate call still works, and gives dL/dx
            // the gradient of the input as the next input: its backward would overwrite what it reads
            layer.forward(dx);
            refused(IllegalArgumentException.class, "gradInput: output memory overlaps the input of the last forward call",
                    () -> layer.backward(y));
            // the filter gradient as the input: read by the filter gradient it is overwritten by
            Shape fin = Shape.of(1, 3, 3, 12);
            try (Conv2dLayer wide = Conv2dLayer.create(Shape.of(1, 1, 12, 12), false, SAME, 6)) {
                Tensor asInput = wide.gradFilter().reshape(Shape.of(144)).slice(0, 0, 108).reshape(fin);
                Tensor out = wide.forward(asInput);
                try (Tensor dy = Tensor.fromArray(ConvCase.data(out.shape().numElements(), 2), out.shape())) {
                    refused(IllegalArgumentException.class, "gradFilter: output memory overlaps the input of the last forward call",
                            () -> wide.backward(dy, false));
                }
            }
        }
    }

    // ------------------------------------------------------------------ item 8: broadcast gradients are inputs

    @Test
    void broadcastGradOutputIsAcceptedEverywhereAndReadAsItsValues() {
        Shape in = Shape.of(1, 6, 6, 3), fs = Shape.of(3, 3, 3, 3), out = Shape.of(1, 6, 6, 3);
        try (Tensor x = Tensor.fromArray(ConvCase.data(in.numElements(), 1), in);
             Tensor w = Tensor.fromArray(ConvCase.data(fs.numElements(), 2), fs);
             Tensor b = Tensor.allocate(3);
             Tensor one = Tensor.fromArray(new float[] {1f, 0.5f, -2f}, Shape.of(3))) {
            Tensor ones = Tensor.wrap(one.buffer(), out, new long[] {0, 0, 0, 1}, 0); // strides [0, 0, 0, 1]
            Tensor rows = Tensor.wrap(one.buffer(), Shape.of(1, 6, 1, 3), new long[] {0, 0, 3, 1}, 0); // [0, 0, 3, 1]
            try (Tensor dense = ones.contiguous()) {
                assertArrayEquals(Conv2dBackward.gradInput(dense, w, in, SAME).toArray(),
                        Conv2dBackward.gradInput(ones, w, in, SAME).toArray());
                assertArrayEquals(Conv2dBackward.gradFilter(x, dense, fs, SAME).toArray(),
                        Conv2dBackward.gradFilter(x, ones, fs, SAME).toArray());
                assertArrayEquals(Conv2dBackward.gradBias(dense).toArray(), Conv2dBackward.gradBias(ones).toArray());
                try (Conv2dGradients want = Conv2dBackward.backward(x, w, b, null, dense, SAME);
                     Conv2dGradients got = Conv2dBackward.backward(x, w, b, null, ones, SAME)) {
                    assertArrayEquals(want.gradInput().toArray(), got.gradInput().toArray());
                    assertArrayEquals(want.gradFilter().toArray(), got.gradFilter().toArray());
                    assertArrayEquals(want.gradBias().toArray(), got.gradBias().toArray());
                }
                try (Conv2dLayer layer = new Conv2dLayer(w, b, SAME)) {
                    layer.forward(x);
                    float[] wantDx = layer.backward(dense).toArray(), wantDw = layer.gradFilter().toArray();
                    layer.forward(x);
                    assertArrayEquals(wantDx, layer.backward(ones).toArray());
                    assertArrayEquals(wantDw, layer.gradFilter().toArray());
                }
            }
            Shape rin = Shape.of(1, 6, 3, 3);
            Conv2dOptions valid = Conv2dOptions.defaults();
            Shape rfs = Shape.of(1, 3, 3, 3);
            try (Tensor rw = Tensor.fromArray(ConvCase.data(rfs.numElements(), 3), rfs); Tensor dense = rows.contiguous()) {
                assertArrayEquals(Conv2dBackward.gradInput(dense, rw, rin, valid).toArray(),
                        Conv2dBackward.gradInput(rows, rw, rin, valid).toArray());
            }
        }
    }

    // ------------------------------------------------------------------ item 9: one alignment rule

    @Test
    void misalignedBuffersGetTheSameMessageInEveryEntryPoint() {
        Shape in = Shape.of(1, 4, 4, 2), fs = Shape.of(3, 3, 2, 2), out = Shape.of(1, 2, 2, 2);
        ByteBuffer odd = ByteBuffer.allocateDirect(4 * 64 + 1).position(1).slice().order(ByteOrder.nativeOrder());
        Tensor badIn = Tensor.wrap(odd, in), badW = Tensor.wrap(odd, fs), badDy = Tensor.wrap(odd, out);
        Conv2dOptions o = Conv2dOptions.defaults();
        try (Tensor x = Tensor.allocate(in); Tensor w = Tensor.allocate(fs); Tensor dy = Tensor.allocate(out);
             Conv2dLayer layer = new Conv2dLayer(w, null, o)) {
            String msg = "not 4-byte aligned";
            refused(IllegalArgumentException.class, "input buffer address is " + msg, () -> Conv2d.conv2d(badIn, w, o));
            refused(IllegalArgumentException.class, "gradOutput buffer address is " + msg, () -> Conv2dBackward.gradInput(badDy, w, in, o));
            refused(IllegalArgumentException.class, "filter buffer address is " + msg, () -> Conv2dBackward.gradInput(dy, badW, in, o));
            refused(IllegalArgumentException.class, "input buffer address is " + msg, () -> Conv2dBackward.gradFilter(badIn, dy, fs, o));
            refused(IllegalArgumentException.class, "gradOutput buffer address is " + msg, () -> Conv2dBackward.gradFilter(x, badDy, fs, o));
            refused(IllegalArgumentException.class, "gradOutput buffer address is " + msg, () -> Conv2dBackward.gradBias(badDy));
            refused(IllegalArgumentException.class, "input buffer address is " + msg,
                    () -> Conv2dBackward.backward(badIn, w, null, null, dy, o));
            refused(IllegalArgumentException.class, "gradOutput buffer address is " + msg,
                    () -> Conv2dBackward.backward(x, w, null, null, badDy, o));
            refused(IllegalArgumentException.class, "gradOutput buffer address is " + msg,
                    () -> Conv2dBackward.activationGrad(dy, badDy, Activation.RELU));
            refused(IllegalArgumentException.class, "gradInput buffer address is " + msg,
                    () -> Conv2dBackward.gradInput(dy, w, in, o, Tensor.wrap(odd, in)));
            refused(IllegalArgumentException.class, "input buffer address is " + msg, () -> layer.forward(badIn));
            layer.forward(x);
            refused(IllegalArgumentException.class, "gradOutput buffer address is " + msg, () -> layer.backward(badDy));
        }
    }

    // ------------------------------------------------------------------ item 12: exact overlap of strided views

    @Test
    void disjointChannelSlicesOfOneBufferAreAcceptedAndComputedRight() {
        Shape whole = Shape.of(1, 8, 8, 12), fs = Shape.of(3, 3, 8, 4);
        float[] init = ConvCase.data(whole.numElements(), 7);
        try (Tensor cat = Tensor.fromArray(init, whole); Tensor w = Tensor.fromArray(ConvCase.data(fs.numElements(), 8), fs)) {
            Tensor x = cat.slice(3, 0, 8), y = cat.slice(3, 8, 4); // DenseNet: new channels appended to the same buffer
            float[] want;
            try (Tensor xc = x.contiguous(); Tensor yc = Conv2d.conv2d(xc, w, SAME)) {
                want = yc.toArray();
            }
            assertEquals(y, Conv2d.conv2d(x, w, null, SAME, y));
            assertArrayEquals(want, y.toArray(), "the new channels");
            float[] after = cat.toArray();
            for (int i = 0; i < after.length; i++) {
                if (i % 12 < 8) assertEquals(init[i], after[i], 0f, "input channel element " + i + " changed");
            }
            // the same for a gradient written into a channel slice beside the one it is computed from
            Tensor dy = cat.slice(3, 8, 4);
            float[] wantDx;
            try (Tensor dyc = dy.contiguous(); Tensor dx = Conv2dBackward.gradInput(dyc, w, x.shape(), SAME)) {
                wantDx = dx.toArray();
            }
            try (Tensor buf = Tensor.allocate(Shape.of(1, 8, 8, 12))) {
                Tensor into = buf.slice(3, 0, 8), grad = buf.slice(3, 8, 4);
                grad.copyFrom(dy.toArray());
                Conv2dBackward.gradInput(grad, w, x.shape(), SAME, into);
                assertArrayEquals(wantDx, into.toArray());
            }
            // overlapping slices are still refused, with the rule's message
            refused(IllegalArgumentException.class, "output memory overlaps the input",
                    () -> Conv2d.conv2d(x, w, null, SAME, cat.slice(3, 7, 4)));
        }
    }

    @Test
    void interleavedRowsAndBatchesAreDisjointToo() {
        // even rows as input, odd rows as output of the same buffer: address ranges interleave
        try (Tensor buf = Tensor.fromArray(ConvCase.data(2 * 6 * 4 * 2, 3), Shape.of(2, 6, 4, 2));
             Tensor w = Tensor.fromArray(ConvCase.data(2 * 2, 4), Shape.of(1, 1, 2, 2))) {
            Tensor even = Tensor.wrap(buf.buffer(), Shape.of(2, 3, 4, 2), new long[] {48, 16, 2, 1}, 0);
            Tensor odd = Tensor.wrap(buf.buffer(), Shape.of(2, 3, 4, 2), new long[] {48, 16, 2, 1}, 8);
            float[] want;
            try (Tensor e = even.contiguous(); Tensor y = Conv2d.conv2d(e, w, Conv2dOptions.defaults())) {
                want = y.toArray();
            }
            Conv2d.conv2d(even, w, null, Conv2dOptions.defaults(), odd);
            assertArrayEquals(want, odd.toArray());
        }
    }

    /**
     * The exact test against brute force: random small views (ranks 1 to 4, strides 0 to 9,
     * offsets) of one buffer, compared element by element. A view called disjoint that shares an
     * element would be silent corruption; a view called shared that shares none a false refusal.
     */
    @Test
    void overlapAgreesWithBruteForceOnRandomViews() {
        SplittableRandom r = new SplittableRandom(12);
        ByteBuffer mem = direct(4096);
        int shared = 0, disjointInRange = 0;
        for (int i = 0; i < 20_000; i++) {
            Tensor a = randomView(r, mem), b = randomView(r, mem);
            Set<Long> ea = elements(a);
            boolean truth = false;
            for (long e : elements(b)) truth |= ea.contains(e);
            int got = Overlap.of(a, b);
            String what = describe(a) + " vs " + describe(b);
            assertEquals(truth ? Overlap.SHARED : Overlap.DISJOINT, got, what);
            if (truth) shared++;
            else if (!ea.isEmpty() && rangesMeet(a, b)) disjointInRange++;
        }
        assertTrue(shared > 1000 && disjointInRange > 500, "cases: " + shared + " shared, " + disjointInRange
                + " disjoint with meeting address ranges");
    }

    @Test
    void overlapOfLargeViewsIsDecidedQuickly() {
        // a big NCHW buffer seen as NHWC against an NHWC view of the same memory, and channel slices
        ByteBuffer mem = direct(64 * 56 * 56 * 2);
        Tensor nchw = Tensor.wrap(mem, Shape.of(2, 64, 56, 56)).permute(0, 2, 3, 1);
        Tensor nhwc = Tensor.wrap(mem, Shape.of(2, 56, 56, 64));
        assertEquals(Overlap.SHARED, Overlap.of(nchw, nhwc));
        Tensor lo = nhwc.slice(3, 0, 32), hi = nhwc.slice(3, 32, 32);
        assertEquals(Overlap.DISJOINT, Overlap.of(lo, hi));
        assertEquals(Overlap.SHARED, Overlap.of(lo, nhwc.slice(3, 31, 2)));
        Tensor evenCols = Tensor.wrap(mem, Shape.of(2, 56, 28, 64), new long[] {56 * 56 * 64, 56 * 64, 128, 1}, 0);
        Tensor oddCols = Tensor.wrap(mem, Shape.of(2, 56, 28, 64), new long[] {56 * 56 * 64, 56 * 64, 128, 1}, 64);
        assertEquals(Overlap.DISJOINT, Overlap.of(evenCols, oddCols));
        assertEquals(Overlap.SHARED, Overlap.of(evenCols, nchw));
    }

    private static Tensor randomView(SplittableRandom r, ByteBuffer mem) {
        int rank = 1 + r.nextInt(4);
        long[] dims = new long[rank], st = new long[rank];
        for (int k = 0; k < rank; k++) {
            dims[k] = r.nextInt(10) == 0 ? 0 : 1 + r.nextInt(5);
            st[k] = r.nextInt(10);
        }
        if (r.nextBoolean()) { // a dense layout, sliced: the common case
            long inner = 1;
            for (int k = rank - 1; k >= 0; k--) {
                st[k] = inner;
                inner *= dims[k] + r.nextInt(3);
            }
        }
        return Tensor.wrap(mem, Shape.of(dims), st, r.nextInt(64));
    }

    private static Set<Long> elements(Tensor t) {
        Set<Long> out = new HashSet<>();
        long n = t.shape().numElements();
        int rank = t.rank();
        long[] idx = new long[rank];
        for (long i = 0; i < n; i++) {
            long e = t.offset();
            for (int k = 0; k < rank; k++) e += idx[k] * t.stride(k);
            out.add(e);
            for (int k = rank - 1; k >= 0; k--) {
                if (++idx[k] < t.shape().size(k)) break;
                idx[k] = 0;
            }
        }
        return out;
    }

    private static boolean rangesMeet(Tensor a, Tensor b) {
        return a.offset() <= b.maxElementIndex() && b.offset() <= a.maxElementIndex();
    }

    private static String describe(Tensor t) {
        return t.shape() + " strides " + Arrays.toString(t.strides()) + " offset " + t.offset();
    }
}
