package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

    /** Every rank and dtype the N-d engine runs: rank 1, 2 and 3 in float32 and float64. */
    @Test
    void nativeEntryRefusesMutatedDescriptors() {
        io.conv4j.internal.NativeLibrary.ensureLoaded();
        Shape[][] shapes = {{Shape.of(2, 9, 3), Shape.of(3, 3, 4)}, {Shape.of(1, 5, 6, 2), Shape.of(2, 3, 2, 3)},
                {Shape.of(1, 4, 5, 6, 2), Shape.of(2, 2, 2, 2, 3)}};
        for (Shape[] xf : shapes) {
            for (DType dt : DType.values()) refusesMutated(xf[0], xf[1], dt, new Random(11 + xf[0].rank() * 2L + dt.ordinal()));
        }
    }

    private static void refusesMutated(Shape xs, Shape fs, DType dt, Random r) {
        ConvOptions o = ConvOptions.defaults();
        ConvDescriptor cd = ConvDescriptor.of(xs, fs, o, dt);
        long[] good = cd.toNative(Tensor.contiguousStrides(xs), Tensor.contiguousStrides(cd.outputShape()), false);
        int eb = dt.bytes();
        // each buffer is an exact-size slice of a larger one: the bytes after it are outside what
        // the native code is given, so a canary there is a true bound
        ByteBuffer[] whole = new ByteBuffer[3], given = new ByteBuffer[3];
        long[] sizes = {xs.numElements(), fs.numElements(), cd.outputShape().numElements()};
        for (int b = 0; b < 3; b++) {
            whole[b] = ByteBuffer.allocateDirect((int) sizes[b] * eb + 64).order(ByteOrder.nativeOrder());
            given[b] = whole[b].slice(0, (int) sizes[b] * eb).order(ByteOrder.nativeOrder());
        }
        ByteBuffer x = given[0], w = given[1], y = given[2];
        ByteBuffer ws = ByteBuffer.allocateDirect(1 << 20);
        int refused = 0, ran = 0, tries = 600;
        for (int i = 0; i < tries; i++) {
            long[] d = good.clone();
            int field = r.nextInt(d.length);
            long[] hostile = {-1, 0, 2, 7, 1L << 31, Long.MAX_VALUE, Long.MIN_VALUE, d[field] + 1, d[field] * 3};
            d[field] = hostile[r.nextInt(hostile.length)];
            int dir = r.nextInt(3);
            for (ByteBuffer b : whole) {
                for (int k = b.capacity() - 64; k < b.capacity(); k++) b.put(k, (byte) 0x5a);
            }
            try {
                long units = Math.max(1, NativeNd.units(d, dir, 0));
                if (dir == NativeNd.FORWARD) NativeNd.run(d, dir, 0, x, 0, w, 0, null, 0, y, 0, ws, 0, units);
                else if (dir == NativeNd.BACKWARD_INPUT) NativeNd.run(d, dir, 0, y, 0, w, 0, null, 0, x, 0, ws, 0, units);
                else NativeNd.run(d, dir, 0, x, 0, y, 0, null, 0, w, 0, ws, 0, units);
                ran++;
            } catch (IllegalArgumentException | IndexOutOfBoundsException | NullPointerException e) {
                refused++;
            }
            for (ByteBuffer b : whole) {
                for (int k = b.capacity() - 64; k < b.capacity(); k++) {
                    assertEquals((byte) 0x5a, b.get(k), "byte past a buffer changed (" + dt + ", " + xs + ", field " + field + " = "
                            + d[field] + ", direction " + dir + ")");
                }
            }
        }
        assertEquals(tries, refused + ran);
        assertTrue(refused > 0, "no mutated descriptor was refused (" + dt + ", " + xs + ")");
    }
}
