package io.conv4j;

import static io.conv4j.FuzzSupport.CANARY;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Guard regions, for every algorithm that can run each shape (new algorithms are picked up from
 * {@link Algorithm#values()}): the output view sits in a caller buffer between canary regions,
 * with canaries in the gaps between its pixels, rows and images; input, filter and bias each end
 * at the very last float of their buffer. No byte outside the output view may change, the inputs
 * must not change at all, and the view must match the reference, with conv4j at one thread and at
 * three (parallel units).
 *
 * <p>The "mapped" variant puts input, filter and bias at the end of read-only file mappings whose
 * size is a whole number of pages: a write to them faults, and so does, where the next page is
 * unmapped (usually), a read past their end. The byte-exact proof for reads past the end is the
 * AddressSanitizer run of the C tests (.ci/run).
 */
class GuardRegionTest {
    static final int GUARD = 1024;
    static final Map<Algorithm, Integer> RAN = new EnumMap<>(Algorithm.class);

    @TempDir
    static Path dir;

    /** input N,H,W,C | kernel KH,KW | Cout | stride | dilation | padding | groups | bias | activation | flip */
    static final Object[][] SHAPES = {
            {new long[] {2, 9, 11, 8}, 1, 1, 16, 1, 1, Padding.VALID, 1, true, Activation.NONE, false},
            {new long[] {1, 12, 10, 6}, 1, 1, 5, 2, 1, Padding.VALID, 1, false, Activation.RELU, false},
            {new long[] {2, 10, 9, 4}, 3, 3, 8, 1, 1, Padding.SAME, 1, true, Activation.RELU6, false},
            {new long[] {1, 13, 14, 3}, 3, 3, 7, 1, 1, Padding.VALID, 1, false, Activation.NONE, true},
            {new long[] {1, 16, 15, 2}, 5, 5, 4, 1, 1, Padding.SAME, 1, true, Activation.NONE, false},
            {new long[] {1, 19, 17, 3}, 7, 7, 3, 1, 1, Padding.VALID, 1, false, Activation.NONE, false},
            {new long[] {2, 11, 12, 6}, 3, 3, 6, 2, 1, Padding.SAME, 3, true, Activation.RELU, false},
            {new long[] {1, 10, 10, 4}, 3, 3, 4, 1, 2, Padding.explicit(2, 2, 2, 2), 4, false, Activation.NONE, false},
            {new long[] {3, 7, 5, 1}, 2, 3, 1, 1, 1, Padding.VALID, 1, true, Activation.NONE, true},
            {new long[] {1, 40, 40, 16}, 3, 3, 32, 1, 1, Padding.SAME, 1, true, Activation.NONE, false},
            // depthwise, 37 channels (no multiple of a vector) with multiplier 2, and 18 channels of 5x5
            {new long[] {2, 13, 11, 37}, 3, 3, 74, 2, 1, Padding.SAME, 37, true, Activation.RELU6, false},
            {new long[] {1, 9, 12, 18}, 5, 5, 18, 1, 1, Padding.SAME, 18, false, Activation.RELU, true},
            // strided layers that Winograd and the FFT run by space to depth (s2d.c)
            {new long[] {2, 17, 19, 3}, 5, 5, 6, 2, 1, Padding.SAME, 1, true, Activation.RELU, false},
            {new long[] {1, 23, 21, 2}, 7, 7, 5, 2, 1, Padding.SAME, 1, false, Activation.NONE, true},
            {new long[] {1, 31, 29, 3}, 11, 11, 4, 4, 1, Padding.VALID, 1, true, Activation.NONE, false},
    };

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (Algorithm a : Algorithm.values())
            for (int s = 0; s < SHAPES.length; s++)
                for (boolean mapped : new boolean[] {false, true}) out.add(Arguments.of(a, s, mapped));
        return out.stream();
    }

    @ParameterizedTest(name = "{0} shape {1} mapped={2}")
    @MethodSource("cases")
    void noByteOutsideTheOutputViewChanges(Algorithm algorithm, int shapeIndex, boolean mapped) throws IOException {
        Object[] s = SHAPES[shapeIndex];
        long[] in = (long[]) s[0];
        long kh = ((Number) s[1]).longValue(), kw = ((Number) s[2]).longValue(), cout = ((Number) s[3]).longValue();
        long stride = ((Number) s[4]).longValue(), dil = ((Number) s[5]).longValue(), groups = ((Number) s[7]).longValue();
        Conv2dOptions o = Conv2dOptions.builder().strides(stride, stride).dilations(dil, dil).padding((Padding) s[6])
                .groups(groups).activation((Activation) s[9]).flipKernel((Boolean) s[10]).algorithm(algorithm).build();
        Shape inShape = Shape.of(in), fShape = Shape.of(kh, kw, in[3] / groups, cout);
        SplittableRandom r = new SplittableRandom(shapeIndex * 31L + algorithm.ordinal());
        float[] x = FuzzSupport.randomFloats(inShape.numElements(), r), w = FuzzSupport.randomFloats(fShape.numElements(), r);
        float[] bias = (Boolean) s[8] ? FuzzSupport.randomFloats(cout, r) : null;

        ByteBuffer xb = atEnd(x, mapped, "x"), wb = atEnd(w, mapped, "w"), bb = bias == null ? null : atEnd(bias, mapped, "b");
        Tensor xt = Tensor.wrap(xb, inShape, Tensor.contiguousStrides(inShape), xb.capacity() / 4 - x.length);
        Tensor wt = Tensor.wrap(wb, fShape, Tensor.contiguousStrides(fShape), wb.capacity() / 4 - w.length);
        Tensor bt = bb == null ? null : Tensor.wrap(bb, Shape.of(cout), new long[] {1}, bb.capacity() / 4 - bias.length);
        Algorithm planned = null;
        try {
            planned = Conv2d.plan(xt, fShape, o).algorithm();
        } catch (IllegalArgumentException e) {
            assumeTrue(false, algorithm + " cannot run shape " + shapeIndex + ": " + e.getMessage());
        }
        byte[] xBefore = FuzzSupport.bytes(xb), wBefore = FuzzSupport.bytes(wb), bBefore = bb == null ? null : FuzzSupport.bytes(bb);

        Shape os = Conv2d.outputShape(inShape, fShape, o);
        long[] d = os.toArray();
        // gaps: 3 floats after each pixel, 5 after each row, 7 after each image
        long[] st = new long[4];
        st[3] = 1;
        st[2] = d[3] + 3;
        st[1] = d[2] * st[2] + 5;
        st[0] = d[1] * st[1] + 7;
        long span = (d[0] - 1) * st[0] + (d[1] - 1) * st[1] + (d[2] - 1) * st[2] + d[3];
        double[][] ref = FuzzSupport.reference(FuzzSupport.rowMajor(x, in), FuzzSupport.rowMajor(w, fShape.toArray()), bias,
                ConvGeometry.of(inShape, fShape, o), o.flipKernel(), o.activation());

        int savedThreads = Conv4j.threads();
        try {
            for (int threads : new int[] {1, 3}) {
                Conv4j.setThreads(threads);
                ByteBuffer ob = FuzzSupport.canaryBuffer(GUARD + span + GUARD);
                Tensor ot = Tensor.wrap(ob, os, st, GUARD);
                Tensor got = Conv2d.conv2d(xt, wt, bt, o, ot);
                assertTrue(got == ot, "the given output is returned");
                boolean[] inView = new boolean[ob.capacity() / 4];
                int k = 0;
                double tol = planned.isExact() ? 1e-5 : 1e-4; // transform-based algorithms round more
                for (long a = 0; a < d[0]; a++)
                    for (long i = 0; i < d[1]; i++)
                        for (long j = 0; j < d[2]; j++)
                            for (long c = 0; c < d[3]; c++, k++) {
                                int e = (int) (GUARD + a * st[0] + i * st[1] + j * st[2] + c);
                                inView[e] = true;
                                float v = ob.getFloat(e * 4);
                                if (!(Math.abs(v - ref[0][k]) <= tol * ref[1][k])) {
                                    fail(algorithm + " threads " + threads + ": output " + k + " got " + v + " want " + ref[0][k]);
                                }
                            }
                for (int e = 0; e < inView.length; e++) {
                    if (!inView[e] && ob.getInt(e * 4) != CANARY) {
                        fail(algorithm + " threads " + threads + " wrote float " + (e - GUARD) + " relative to the view start,"
                                + " outside the output view");
                    }
                }
            }
        } finally {
            Conv4j.setThreads(savedThreads);
        }
        assertArrayEquals(xBefore, FuzzSupport.bytes(xb), "input changed");
        assertArrayEquals(wBefore, FuzzSupport.bytes(wb), "filter changed");
        if (bb != null) assertArrayEquals(bBefore, FuzzSupport.bytes(bb), "bias changed");
        synchronized (RAN) {
            RAN.merge(algorithm, 1, Integer::sum);
        }
    }

    /**
     * A direct buffer whose last float is the last of {@code data}, after a random-sized prefix; for
     * {@code mapped}, a read-only mapping of a file of whole pages.
     */
    static ByteBuffer atEnd(float[] data, boolean mapped, String name) throws IOException {
        long bytes = data.length * 4L;
        if (!mapped) {
            ByteBuffer b = ByteBuffer.allocateDirect((int) bytes + 36).order(ByteOrder.nativeOrder());
            for (int i = 0; i < data.length; i++) b.putFloat(36 + i * 4, data[i]);
            return b;
        }
        long size = (bytes + 4095) / 4096 * 4096;
        Path f = Files.createTempFile(dir, name, ".f32");
        ByteBuffer content = ByteBuffer.allocate((int) size).order(ByteOrder.nativeOrder());
        for (int i = 0; i < data.length; i++) content.putFloat((int) (size - bytes) + i * 4, data[i]);
        Files.write(f, content.array());
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, size).order(ByteOrder.nativeOrder());
        }
    }

    @AfterAll
    static void everyImplementedAlgorithmRan() {
        // the ones implemented when this test was written; new algorithms are covered when they run
        for (Algorithm a : new Algorithm[] {Algorithm.AUTO, Algorithm.GEMM_DIRECT, Algorithm.GEMM_TILED}) {
            assertTrue(RAN.getOrDefault(a, 0) > 0, a + " never ran: " + RAN);
        }
        assertEquals(true, RAN.values().stream().mapToInt(Integer::intValue).sum() >= 2 * SHAPES.length, "runs: " + RAN);
    }
}
