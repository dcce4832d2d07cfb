package io.conv4j;

import static io.conv4j.BadInputTest.refused;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Findings of a review of the rank-generic, float64 API as a new user would abuse it: each case
 * failed (a wrong or silent result, a raw exception, or a message naming the wrong parameter)
 * before its fix. Plus composite cases the property test does not draw (every option at once,
 * written into strided output views between canaries), checked against the plain-Java reference.
 */
class NdReviewTest {
    private static final ConvOptions PLAIN = ConvOptions.defaults();

    private static Tensor f64(long... dims) {
        return Tensor.allocate(DType.FLOAT64, Shape.of(dims));
    }

    private static Tensor random(DType dt, long seed, long... dims) {
        Random r = new Random(seed);
        Shape s = Shape.of(dims);
        double[] v = new double[(int) s.numElements()];
        for (int i = 0; i < v.length; i++) v[i] = r.nextInt(9) - 4;
        return ConvNdPropertyTest.tensor(dt, v, s);
    }

    /** An 8-byte buffer view at a 4-byte address: float64 elements there are misaligned. */
    private static Tensor misalignedFloat64(long... dims) {
        ByteBuffer b = ByteBuffer.allocateDirect(1024).order(ByteOrder.nativeOrder());
        b.position(4); // direct buffers start at least 8-byte aligned
        return Tensor.wrap(b.slice().order(ByteOrder.nativeOrder()), DType.FLOAT64, Shape.of(dims));
    }

    @Test
    void ndOutputsOverlappingAnOperandNameThatOperand() {
        try (Tensor big = f64(1, 8, 2); Tensor w = f64(3, 2, 2)) {
            refused(IllegalArgumentException.class, "output memory overlaps the input",
                    () -> Conv.conv(big.slice(1, 0, 6), w, null, PLAIN, big.slice(1, 4, 4)));
            refused(IllegalArgumentException.class, "gradInput: output memory overlaps the gradOutput",
                    () -> Conv.gradInput(big.slice(1, 0, 2), w, Shape.of(1, 4, 2), PLAIN, big.slice(1, 1, 4)));
        }
        try (Tensor big = f64(1, 16, 2); Tensor dy = f64(1, 2, 2)) {
            Tensor dw = big.slice(1, 2, 6).reshape(Shape.of(3, 2, 2));
            refused(IllegalArgumentException.class, "gradFilter: output memory overlaps the input",
                    () -> Conv.gradFilter(big.slice(1, 0, 4), dy, Shape.of(3, 2, 2), PLAIN, dw));
        }
    }

    @Test
    void misalignedFloat64BuffersNameTheirParameter() {
        try (Tensor x = misalignedFloat64(1, 4, 2); Tensor w = f64(3, 2, 2); Tensor y = f64(1, 4, 2)) {
            refused(IllegalArgumentException.class, "input buffer address is not 8-byte aligned", () -> Conv.conv(x, w, null, PLAIN));
            refused(IllegalArgumentException.class, "gradOutput buffer address is not 8-byte aligned",
                    () -> Conv.activationGrad(y, x, Activation.RELU));
            refused(IllegalArgumentException.class, "output buffer address is not 8-byte aligned",
                    () -> Conv.activationGrad(x, y, Activation.RELU));
            refused(IllegalArgumentException.class, "gradOutput buffer address is not 8-byte aligned", () -> Conv.gradBias(x));
        }
    }

    @Test
    void rankOneTargetsAreCheckedInTheCallersRank() {
        try (Tensor x = Tensor.allocate(Shape.of(1, 4, 2)); Tensor w = Tensor.allocate(Shape.of(3, 2, 2));
             Tensor dy = Tensor.allocate(Shape.of(1, 2, 2)); Tensor wrongY = Tensor.allocate(Shape.of(1, 3, 2));
             Tensor wrongW = Tensor.allocate(Shape.of(3, 2, 3))) {
            refused(IllegalArgumentException.class, "output must have shape [1, 2, 2], got [1, 3, 2]",
                    () -> Conv.conv(x, w, null, PLAIN, wrongY));
            refused(IllegalArgumentException.class, "gradInput must have shape [1, 4, 2], got [1, 3, 2]",
                    () -> Conv.gradInput(dy, w, x.shape(), PLAIN, wrongY));
            refused(IllegalArgumentException.class, "gradFilter must have shape [3, 2, 2], got [3, 2, 3]",
                    () -> Conv.gradFilter(x, dy, w.shape(), PLAIN, wrongW));
        }
    }

    @Test
    void transposedOutputSizesThatOverflowAreRefusedByName() {
        refused(IllegalArgumentException.class, "stride (spatial axis 0) must be at most 2147483647",
                () -> Conv.transposeOutputShape(Shape.of(1, 3, 2), Shape.of(3, 2, 2), ConvOptions.builder().strides(Long.MAX_VALUE / 2).build()));
        refused(IllegalArgumentException.class, "filter size (spatial axis 0) must be at most 2147483647",
                () -> Conv.transposeOutputShape(Shape.of(1, 3, 2), Shape.of(Long.MAX_VALUE / 4, 2, 2), ConvOptions.builder().dilations(8).build()));
        try (Tensor x = f64(1, 4, 2); Tensor w = f64(3, 2, 2)) {
            refused(IllegalArgumentException.class, "stride (spatial axis 0) must be at most 2147483647",
                    () -> Conv.transpose(x, w, null, ConvOptions.builder().strides(Long.MAX_VALUE / 2).build(), 1));
        }
    }

    @Test
    void layerGradOutputThatIsAViewOfItsOwnGradientStillGetsTheRightGradients() {
        for (DType dt : DType.values()) {
            try (ConvLayer layer = ConvLayer.create(dt, Shape.of(3, 1, 1), true, PLAIN, 7); Tensor x = random(dt, 5, 1, 5, 1);
                 Tensor y = layer.forward(x)) {
                Tensor dy = layer.gradFilter().reshape(Shape.of(1, 3, 1)); // the user's buffer reuse
                try (Tensor dyCopy = random(dt, 9, 1, 3, 1)) {
                    dy.copyFrom(dyCopy);
                    try (Tensor wantW = Conv.gradFilter(x, dyCopy, Shape.of(3, 1, 1), PLAIN); Tensor wantB = Conv.gradBias(dyCopy);
                         Tensor wantX = Conv.gradInput(dyCopy, layer.filter(), x.shape(), PLAIN); Tensor gotX = layer.backward(dy, true)) {
                        assertArrayEquals(GoldenNd.values(wantW), GoldenNd.values(layer.gradFilter()), dt + " gradFilter");
                        assertArrayEquals(GoldenNd.values(wantB), GoldenNd.values(layer.gradBias()), dt + " gradBias");
                        assertArrayEquals(GoldenNd.values(wantX), GoldenNd.values(gotX), dt + " gradInput");
                    }
                }
            }
        }
    }

    @Test
    void layerRefusalsNameTheLayersParameters() {
        ConvOptions relu = ConvOptions.builder().activation(Activation.RELU).build();
        try (ConvLayer layer = ConvLayer.create(DType.FLOAT64, Shape.of(3, 1, 1), true, relu, 1); Tensor x = f64(1, 4, 1);
             Tensor y = layer.forward(x); Tensor dy = f64(1, 3, 1)) {
            refused(IllegalArgumentException.class, "gradOutput must have shape [1, 2, 1]", () -> layer.backward(dy, true));
        }
        refused(IllegalArgumentException.class, "filter shape [1048576, 1048576, 1, 1] has 1099511627776 elements",
                () -> ConvLayer.create(DType.FLOAT64, Shape.of(1 << 20, 1 << 20, 1, 1), false, PLAIN, 1));
    }

    @Test
    void emptyNpyArrayWithHugeDimensionsReadsAsAnEmptyTensor(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("empty.npy");
        Files.write(f, io.conv4j.internal.NpyHeader.encode(new long[] {0, 1L << 62, 4}, "<f8"));
        try (Tensor t = Tensor.readNpy(f)) {
            assertEquals(Shape.of(0, 1L << 62, 4), t.shape());
            assertEquals(DType.FLOAT64, t.dtype());
            Path back = dir.resolve("back.npy");
            t.writeNpy(back);
            assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(back));
        }
    }

    @Test
    void nestedArraysWithAnEmptyDimensionSayWhy() {
        refused(IllegalArgumentException.class, "input has an empty dimension",
                () -> Conv.conv(new double[0][5][2], new double[3][2][4], PLAIN));
        refused(IllegalArgumentException.class, "filter has an empty dimension",
                () -> Conv.conv(new double[1][5][2], new double[3][0][4], PLAIN));
    }

    /** The float32-only 2-D classes wrote float32 results into float64 outputs (and read float64 inputs beside a prepared filter) as floats. */
    @Test
    void float32OnlyCallsRefuseFloat64OutputsAndInputs() {
        Conv2dOptions o = Conv2dOptions.defaults();
        try (Tensor x = random(DType.FLOAT32, 1, 1, 6, 6, 2); Tensor w = random(DType.FLOAT32, 2, 3, 3, 2, 4);
             Tensor dy = random(DType.FLOAT32, 3, 1, 4, 4, 4); Tensor x64 = f64(1, 6, 6, 2); Tensor y64 = f64(1, 4, 4, 4);
             Tensor w64 = f64(3, 3, 2, 4); Tensor b64 = f64(4); PreparedFilter p = Conv2d.prepare(w, null, o)) {
            refused(IllegalArgumentException.class, "input is float64; this class runs float32 tensors", () -> Conv2d.conv2d(x64, p));
            refused(IllegalArgumentException.class, "output is float64; this class runs float32 tensors", () -> Conv2d.conv2d(x, p, y64));
            refused(IllegalArgumentException.class, "gradInput is float64; this class runs float32 tensors",
                    () -> Conv2dBackward.gradInput(dy, w, x.shape(), o, x64));
            refused(IllegalArgumentException.class, "gradFilter is float64; this class runs float32 tensors",
                    () -> Conv2dBackward.gradFilter(x, dy, w.shape(), o, w64));
            refused(IllegalArgumentException.class, "gradBias is float64; this class runs float32 tensors",
                    () -> Conv2dBackward.gradBias(dy, b64));
            assertEquals(0.0, Arrays.stream(x64.toDoubleArray()).map(Math::abs).sum(), "gradInput written before the refusal");
            assertEquals(0.0, Arrays.stream(w64.toDoubleArray()).map(Math::abs).sum(), "gradFilter written before the refusal");
        }
    }

    @Test
    void emptyBatchIntoAChannelSliceOfAnEmptyTensor() {
        for (DType dt : DType.values()) {
            try (Tensor x = Tensor.allocate(dt, Shape.of(0, 5, 5, 5, 2)); Tensor w = Tensor.allocate(dt, Shape.of(2, 2, 2, 2, 3));
                 Tensor concat = Tensor.allocate(dt, Shape.of(0, 4, 4, 4, 8))) {
                Tensor y = concat.slice(4, 5, 3); // the last channels of a concatenation, batch 0
                assertEquals(Shape.of(0, 4, 4, 4, 3), y.shape());
                Conv.conv(x, w, null, PLAIN, y);
            }
        }
    }

    /**
     * Four callers run rank-3 float64 forward and filter-gradient calls while another thread
     * changes the thread count: no failure, no hang, every result bit-identical to one thread's.
     */
    @Test
    void ndCallsUnderSetThreadsAreBitIdenticalToOneThread() throws Exception {
        int saved = Conv4j.threads();
        Shape xs = Shape.of(2, 9, 10, 11, 3), ws = Shape.of(3, 3, 3, 3, 4), dws = Shape.of(3, 3, 3, 3, 3);
        ConvOptions same = ConvOptions.builder().padding(Padding.SAME).build();
        try (Tensor x = random(DType.FLOAT64, 1, 2, 9, 10, 11, 3); Tensor w = random(DType.FLOAT64, 2, 3, 3, 3, 3, 4)) {
            Tensor dy = x.slice(4, 0, 3); // a strided gradOutput of the right shape for a 3-in 3-out filter gradient
            Conv4j.setThreads(1);
            double[] wantY, wantDw;
            try (Tensor y = Conv.conv(x, w, null, same); Tensor dw = Conv.gradFilter(x, dy, dws, same)) {
                wantY = y.toDoubleArray();
                wantDw = dw.toDoubleArray();
            }
            java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            Thread[] callers = new Thread[4];
            for (int t = 0; t < callers.length; t++) {
                callers[t] = new Thread(() -> {
                    try {
                        while (!stop.get()) {
                            try (Tensor y = Conv.conv(x, w, null, same); Tensor dw = Conv.gradFilter(x, dy, dws, same)) {
                                assertArrayEquals(wantY, y.toDoubleArray(), "forward");
                                assertArrayEquals(wantDw, dw.toDoubleArray(), "filter gradient");
                            }
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                callers[t].start();
            }
            try {
                long end = System.nanoTime() + 1_500_000_000L;
                for (int i = 0; System.nanoTime() < end && failure.get() == null; i++) {
                    Conv4j.setThreads(1 + i % 3);
                    Thread.sleep(3);
                }
            } finally {
                stop.set(true);
                for (Thread t : callers) t.join(30_000);
                Conv4j.setThreads(saved);
            }
            for (Thread t : callers) {
                if (t.isAlive()) throw new AssertionError("a caller is stuck after setThreads");
            }
            if (failure.get() != null) throw new AssertionError("a caller failed", failure.get());
        }
    }

    // ------------------------------------------------------------------ composite cases against the reference

    @Test
    void compositeCasesIntoStridedOutputViewsMatchTheReference() {
        for (DType dt : DType.values()) {
            composite(dt, Shape.of(2, 7, 6, 9, 4), Shape.of(2, 3, 2, 2, 6), ConvOptions.builder().groups(2).dilations(2, 1, 3).strides(1, 2, 2)
                    .padding(Padding.explicit(0, 2, 1, 0, 3, 1)).flipKernel(true).activation(Activation.RELU6).build(), true);
            composite(dt, Shape.of(2, 11, 3), Shape.of(3, 1, 6), ConvOptions.builder().groups(3).strides(2).dilations(2)
                    .padding(Padding.SAME).activation(Activation.RELU).build(), true);
            composite(dt, Shape.of(1, 9, 4), Shape.of(4, 1, 8), ConvOptions.builder().groups(4).padding(Padding.explicit(3, 0)).flipKernel(true).build(), false);
            composite(dt, Shape.of(3, 1, 5, 1, 2), Shape.of(1, 3, 1, 2, 2), ConvOptions.builder().padding(Padding.SAME).strides(3, 1, 2).build(), true);
            composite(dt, Shape.of(1, 1, 1, 3), Shape.of(1, 1, 3, 2), ConvOptions.builder().activation(Activation.RELU6).build(), true);
        }
    }

    private static void composite(DType dt, Shape xs, Shape ws, ConvOptions o, boolean withBias) {
        ConvDescriptor cd = ConvDescriptor.of(xs, ws, o, dt);
        Shape ys = cd.outputShape();
        int r = cd.rank;
        Random rnd = new Random(xs.hashCode() * 31L + dt.ordinal());
        double[] x = values(rnd, xs.numElements(), dt), w = values(rnd, ws.numElements(), dt);
        double[] b = withBias ? values(rnd, cd.outC, dt) : null;
        double[] want = new ReferenceConvNd(xs, ws, cd.stride, cd.dilation, cd.padBegin, cd.groups, o.flipKernel(), ys)
                .forward(x, w, b, (int) ys.numElements());
        for (int i = 0; i < want.length; i++) want[i] = activation(want[i], o.activation());
        long[] wide = ys.toArray();
        wide[r + 1] += 3; // two canary channels before the output's, one after
        double canary = 1234.5;
        double[] fill = new double[Math.toIntExact(Shape.of(wide).numElements())];
        Arrays.fill(fill, canary);
        try (Tensor big = ConvNdPropertyTest.tensor(dt, fill, Shape.of(wide)); Tensor tx = ConvNdPropertyTest.tensor(dt, x, xs);
             Tensor tw = ConvNdPropertyTest.tensor(dt, w, ws); Tensor tb = b == null ? null : ConvNdPropertyTest.tensor(dt, b, Shape.of(cd.outC))) {
            Tensor y = big.slice(r + 1, 2, cd.outC);
            Conv.conv(tx, tw, tb, o, y);
            double[] got = GoldenNd.values(y), all = GoldenNd.values(big);
            double scale = 1;
            for (double v : want) scale = Math.max(scale, Math.abs(v));
            double tol = (dt == DType.FLOAT64 ? 1e-13 : 1e-6) * scale;
            for (int i = 0; i < want.length; i++) {
                if (!(Math.abs(got[i] - want[i]) <= tol)) {
                    throw new AssertionError(dt + " " + xs + " " + o + ": output[" + i + "] = " + got[i] + ", want " + want[i]);
                }
            }
            for (int i = 0; i < all.length; i++) {
                long c = i % wide[r + 1];
                if ((c < 2 || c >= 2 + cd.outC) && all[i] != canary) throw new AssertionError(dt + " " + xs + ": wrote outside the output at " + i);
            }
        }
    }

    private static double[] values(Random r, long n, DType dt) {
        double[] v = new double[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = dt == DType.FLOAT32 ? (float) (r.nextDouble() * 8 - 3) : r.nextDouble() * 8 - 3;
        return v;
    }

    private static double activation(double v, Activation a) {
        if (a == Activation.NONE || Double.isNaN(v)) return v;
        double relu = v > 0 ? v : 0;
        return a == Activation.RELU6 ? Math.min(relu, 6) : relu;
    }
}
