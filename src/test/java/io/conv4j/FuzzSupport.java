package io.conv4j;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ReadOnlyBufferException;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/** Shared pieces of the fuzz and guard-region tests: hostile values, buffers, a strided reference. */
public final class FuzzSupport {
    private FuzzSupport() {}

    /** Values that break naive arithmetic: signs, int and long limits, powers of two around them. */
    public static final long[] HOSTILE = {-1, 0, Integer.MAX_VALUE, 1L << 31, 1L << 32, 1L << 62, Long.MAX_VALUE, Long.MIN_VALUE,
            -(1L << 31), Integer.MAX_VALUE - 1L};

    /** A float NaN payload no convolution of finite data produces: marks memory that must not change. */
    public static final int CANARY = 0x7fa5a5a5;

    /** Largest logical tensor (floats) the tests themselves materialise. */
    public static final long LIMIT = 1 << 16;

    public static long hostile(SplittableRandom r) {
        return HOSTILE[r.nextInt(HOSTILE.length)];
    }

    /** A logical 4-D float array seen through some memory layout. */
    public interface Acc4 {
        float at(long a, long b, long c, long d);
    }

    /** The floats of a (float-aligned) direct buffer, read without conv4j. */
    public static float[] floats(ByteBuffer b) {
        ByteBuffer d = b.duplicate().order(ByteOrder.nativeOrder());
        d.clear();
        float[] f = new float[d.capacity() / 4];
        for (int i = 0; i < f.length; i++) f[i] = d.getFloat(i * 4);
        return f;
    }

    public static byte[] bytes(ByteBuffer b) {
        ByteBuffer d = b.duplicate();
        d.clear();
        byte[] out = new byte[d.capacity()];
        d.get(out);
        return out;
    }

    /** A direct native-order buffer of {@code floats} floats filled with random values in [-1, 1). */
    public static ByteBuffer randomBuffer(long floats, SplittableRandom r) {
        ByteBuffer b = ByteBuffer.allocateDirect((int) floats * 4).order(ByteOrder.nativeOrder());
        for (int i = 0; i < floats; i++) b.putFloat(i * 4, (float) (r.nextDouble() * 2 - 1));
        return b;
    }

    /** A direct native-order buffer of {@code floats} floats, all {@link #CANARY}. */
    public static ByteBuffer canaryBuffer(long floats) {
        ByteBuffer b = ByteBuffer.allocateDirect((int) floats * 4).order(ByteOrder.nativeOrder());
        for (int i = 0; i < floats; i++) b.putInt(i * 4, CANARY);
        return b;
    }

    public static float[] randomFloats(long n, SplittableRandom r) {
        float[] f = new float[(int) n];
        for (int i = 0; i < f.length; i++) f[i] = (float) (r.nextDouble() * 2 - 1);
        return f;
    }

    /** Row-major accessor over a logical array of the given dims. */
    public static Acc4 rowMajor(float[] x, long[] dims) {
        return (a, b, c, d) -> x[(int) (((a * dims[1] + b) * dims[2] + c) * dims[3] + d)];
    }

    /** Accessor over memory {@code mem} with element strides and offset. */
    public static Acc4 strided(float[] mem, long[] st, long off) {
        return (a, b, c, d) -> mem[(int) (off + a * st[0] + b * st[1] + c * st[2] + d * st[3])];
    }

    /** Largest element index of a view, or -1 when it overflows a long; 0-size views: offset. */
    public static long reach(long[] dims, long[] st, long off) {
        try {
            long e = off;
            for (int i = 0; i < dims.length; i++) {
                if (dims[i] == 0) return off;
                e = Math.addExact(e, Math.multiplyExact(dims[i] - 1, st[i]));
            }
            return e;
        } catch (ArithmeticException x) {
            return -1;
        }
    }

    /**
     * The convolution written out as loops over a geometry, reading input, filter and bias through
     * accessors (any layout, broadcasting included), in double. Returns {value, errorScale} arrays,
     * row-major NHWC: errorScale is 1 + |bias| + the sum of |x*w| over the window.
     */
    public static double[][] reference(Acc4 x, Acc4 w, float[] bias, ConvGeometry g, boolean flip, Activation act) {
        long n = g.batch(), oh = g.outputHeight(), ow = g.outputWidth(), oc = g.outputChannels();
        long kh = g.kernelHeight(), kw = g.kernelWidth(), cg = g.inputChannelsPerGroup(), og = oc / g.groups();
        int total = Math.toIntExact(n * oh * ow * oc);
        double[] y = new double[total], scale = new double[total];
        int k = 0;
        for (long b = 0; b < n; b++)
            for (long i = 0; i < oh; i++)
                for (long j = 0; j < ow; j++)
                    for (long o = 0; o < oc; o++, k++) {
                        long grp = o / og;
                        double s = bias == null ? 0 : bias[(int) o], a = bias == null ? 0 : Math.abs(bias[(int) o]);
                        for (long p = 0; p < kh; p++) {
                            long row = i * g.strideHeight() + p * g.dilationHeight() - g.padTop();
                            if (row < 0 || row >= g.inputHeight()) continue;
                            for (long q = 0; q < kw; q++) {
                                long col = j * g.strideWidth() + q * g.dilationWidth() - g.padLeft();
                                if (col < 0 || col >= g.inputWidth()) continue;
                                long fp = flip ? kh - 1 - p : p, fq = flip ? kw - 1 - q : q;
                                for (long c = 0; c < cg; c++) {
                                    double xv = x.at(b, row, col, grp * cg + c), wv = w.at(fp, fq, c, o);
                                    s += xv * wv;
                                    a += Math.abs(xv * wv);
                                }
                            }
                        }
                        y[k] = ReferenceConv2d.activate(s, act);
                        scale[k] = 1 + a;
                    }
        return new double[][] {y, scale};
    }

    /** The exception types conv4j documents for bad arguments, closed tensors and failed allocations. */
    public static boolean documented(Throwable e) {
        if (e instanceof ReadOnlyBufferException) return true; // the type is the message
        if (e.getMessage() == null || e.getMessage().isBlank()) return false;
        if (e instanceof OutOfMemoryError) return e.getMessage().contains("conv4j");
        return e instanceof IllegalArgumentException || e instanceof IndexOutOfBoundsException
                || e instanceof NullPointerException || e instanceof IllegalStateException;
    }

    /** Counts outcomes by name, for the summary and the anti-tautology checks. */
    public static final class Tally {
        final Map<String, Integer> counts = new TreeMap<>();

        public void add(String key) {
            counts.merge(key, 1, Integer::sum);
        }

        public int get(String key) {
            return counts.getOrDefault(key, 0);
        }

        public int sumStartingWith(String prefix) {
            return counts.entrySet().stream().filter(e -> e.getKey().startsWith(prefix)).mapToInt(Map.Entry::getValue).sum();
        }

        @Override
        public String toString() {
            return counts.toString();
        }
    }
}
