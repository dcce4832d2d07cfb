package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.conv4j.internal.NativeNd;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Guard regions and hostile descriptors for the N-d engine (ranks 1-3, both dtypes): results
 * written into a view in the middle of a larger buffer leave every other element untouched
 * (forward, input gradient, filter gradient), and the JNI entry point, called directly with
 * mutated descriptors and short buffers, refuses with an exception rather than touching memory
 * it was not given.
 */
class NdGuardTest {
    private static final double CANARY = -12345.5;

    @Test
    void writesOnlyItsOutputView() {
        Random r = new Random(5);
        for (int i = 0; i < 60; i++) {
            int rank = 1 + i % 3;
            DType dt = i % 2 == 0 ? DType.FLOAT32 : DType.FLOAT64;
            long[] xd = new long[rank + 2], fd = new long[rank + 2], s = new long[rank];
            xd[0] = 1 + r.nextInt(2);
            for (int a = 0; a < rank; a++) {
                xd[a + 1] = 3 + r.nextInt(5);
                fd[a] = 1 + r.nextInt(3);
                s[a] = 1 + r.nextInt(2);
            }
            xd[rank + 1] = 2;
            fd[rank] = 2;
            fd[rank + 1] = 3;
            ConvOptions o = ConvOptions.builder().strides(s).padding(Padding.SAME).flipKernel(r.nextBoolean()).build();
            Shape xs = Shape.of(xd), fs = Shape.of(fd), ys = Conv.outputShape(xs, fs, o);
            try (Tensor x = filled(dt, xs, r); Tensor w = filled(dt, fs, r); Tensor dy = filled(dt, ys, r)) {
                guarded(dt, ys, out -> Conv.conv(x, w, null, o, out));
                guarded(dt, xs, out -> Conv.gradInput(dy, w, xs, o, out));
                guarded(dt, fs, out -> Conv.gradFilter(x, dy, fs, o, out));
            }
        }
    }

    private static Tensor filled(DType dt, Shape s, Random r) {
        double[] v = new double[(int) s.numElements()];
        for (int i = 0; i < v.length; i++) v[i] = r.nextDouble() - 0.5;
        return ConvNdPropertyTest.tensor(dt, v, s);
    }

    /** Runs `call` into a view whose last axis sits between canary elements of a wider buffer. */
    private static void guarded(DType dt, Shape shape, java.util.function.Consumer<Tensor> call) {
        long[] wide = shape.toArray();
        int last = wide.length - 1;
        wide[last] += 3;
        try (Tensor all = Tensor.allocate(dt, Shape.of(wide))) {
            double[] c = new double[(int) all.shape().numElements()];
            java.util.Arrays.fill(c, CANARY);
            fill(all, c);
            Tensor view = all.slice(last, 1, shape.size(last));
            call.accept(view);
            double[] after = GoldenNd.values(all);
            long inner = wide[last];
            for (int i = 0; i < after.length; i++) {
                long ch = i % inner;
                boolean inView = ch >= 1 && ch < 1 + shape.size(last);
                if (!inView) assertEquals(CANARY, after[i], "element " + i + " outside the view changed");
            }
        }
    }

    private static void fill(Tensor t, double[] v) {
        if (t.dtype() == DType.FLOAT64) {
            t.copyFrom(v);
        } else {
            float[] f = new float[v.length];
            for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
            t.copyFrom(f);
        }
    }

    @Test
    void nativeEntryRefusesMutatedDescriptors() {
        io.conv4j.internal.NativeLibrary.ensureLoaded();
        Random r = new Random(11);
        Shape xs = Shape.of(1, 4, 5, 6, 2), fs = Shape.of(2, 2, 2, 2, 3);
        ConvOptions o = ConvOptions.defaults();
        ConvDescriptor cd = ConvDescriptor.of(xs, fs, o, DType.FLOAT64);
        long[] good = cd.toNative(Tensor.contiguousStrides(xs), Tensor.contiguousStrides(cd.outputShape()), false);
        int eb = 8;
        ByteBuffer x = ByteBuffer.allocateDirect((int) xs.numElements() * eb).order(ByteOrder.nativeOrder());
        ByteBuffer w = ByteBuffer.allocateDirect((int) fs.numElements() * eb).order(ByteOrder.nativeOrder());
        ByteBuffer y = ByteBuffer.allocateDirect((int) cd.outputShape().numElements() * eb + 64).order(ByteOrder.nativeOrder());
        ByteBuffer ws = ByteBuffer.allocateDirect(1 << 20);
        int refused = 0, ran = 0;
        for (int i = 0; i < 3000; i++) {
            long[] d = good.clone();
            int field = r.nextInt(d.length);
            long[] hostile = {-1, 0, 2, 7, 1L << 31, Long.MAX_VALUE, Long.MIN_VALUE, d[field] + 1, d[field] * 3};
            d[field] = hostile[r.nextInt(hostile.length)];
            int dir = r.nextInt(3);
            y.clear();
            for (int b = 0; b < 8; b++) y.put(y.capacity() - 1 - b, (byte) 0x5a);
            try {
                long units = Math.max(1, NativeNd.units(d, dir, 0));
                if (dir == NativeNd.FORWARD) NativeNd.run(d, dir, 0, x, 0, w, 0, null, 0, y, 0, ws, 0, units);
                else if (dir == NativeNd.BACKWARD_INPUT) NativeNd.run(d, dir, 0, y, 0, w, 0, null, 0, x, 0, ws, 0, units);
                else NativeNd.run(d, dir, 0, x, 0, y, 0, null, 0, w, 0, ws, 0, units);
                ran++;
            } catch (IllegalArgumentException | IndexOutOfBoundsException | NullPointerException e) {
                refused++;
            }
            for (int b = 0; b < 8; b++) assertEquals((byte) 0x5a, y.get(y.capacity() - 1 - b), "canary after the output changed");
        }
        assertEquals(3000, refused + ran);
    }
}
