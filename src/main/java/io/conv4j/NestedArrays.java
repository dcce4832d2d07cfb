package io.conv4j;

import java.util.Objects;

/**
 * Nested {@code float[][][][]} arrays: their shape checks, and the drop-in convolution on them.
 *
 * <p>The drop-in copies its arrays into direct memory and the result back out, through tensors each
 * thread keeps between calls ({@link ThreadScratch}: fresh native memory costs more than the copies).
 * It also keeps the filter (and bias) of its last call as a {@link PreparedFilter}:
 * the drop-in is called again and again with one filter, and a filter whose values equal the kept
 * one's, bit for bit, with the same options, reuses its transforms instead of recomputing them.
 * Every call runs on a prepared filter, so a call's result depends only on its arguments, never on
 * what the thread computed before. None of this leaves the class: the call fills the tensors,
 * convolves, and copies the output into new arrays before it returns, so concurrent callers (each
 * with its own) and later calls see nothing of each other.
 */
final class NestedArrays {
    private NestedArrays() {}

    private static final int INPUT = 0, FILTER = 1, BIAS = 2, OUTPUT = 3;
    private static final ThreadLocal<Kept> KEPT = ThreadLocal.withInitial(Kept::new);

    /** What one thread keeps between its drop-in calls. */
    private static final class Kept {
        final ThreadScratch tensors = new ThreadScratch(4);
        PreparedFilter prepared; // from `preparedFrom`'s values, `bias` and `options`
        Tensor preparedFrom;
        float[] bias;
        Conv2dOptions options;
    }

    /**
     * The drop-in convolution on nested arrays whose shapes (and the bias length) the caller has
     * validated against the options; {@code out} is the output shape.
     */
    static float[][][][] conv2d(float[][][][] input, Shape inShape, float[][][][] filter, Shape filterShape, float[] bias,
                                Conv2dOptions options, Shape out) {
        Objects.requireNonNull(options, "options");
        Kept kept = KEPT.get();
        Tensor x = null, w = null, b = null, y = null;
        try {
            x = kept.tensors.get(INPUT, inShape);
            x.fillFromNested(input);
            w = kept.tensors.get(FILTER, filterShape);
            boolean sameFilter = kept.prepared != null && w == kept.preparedFrom && w.sameValues(filter)
                    && sameBits(kept.bias, bias) && kept.options.equals(options);
            PreparedFilter pf = sameFilter ? kept.prepared : null;
            if (pf == null) {
                forget(kept);
                w.fillFromNested(filter);
                if (bias != null) {
                    b = kept.tensors.get(BIAS, Shape.of(bias.length));
                    b.copyFrom(bias);
                }
                pf = Conv2d.prepare(w, b, options);
                if (kept.tensors.keeps(w)) {
                    kept.prepared = pf;
                    kept.preparedFrom = w;
                    kept.bias = bias == null ? null : bias.clone();
                    kept.options = options;
                }
            }
            y = kept.tensors.get(OUTPUT, out);
            try {
                Conv2d.conv2d(x, pf, y);
            } finally {
                if (pf != kept.prepared) pf.close();
            }
            return y.toNested();
        } finally {
            for (Tensor t : new Tensor[] {x, w, b, y}) kept.tensors.release(t);
        }
    }

    private static void forget(Kept kept) {
        if (kept.prepared != null) kept.prepared.close();
        kept.prepared = null;
        kept.preparedFrom = null;
        kept.bias = null;
        kept.options = null;
    }

    /** Equal arrays bit for bit (or both null). */
    static boolean sameBits(float[] a, float[] b) {
        if (a == null || b == null) return a == b;
        if (a.length != b.length) return false;
        for (int i = 0; i < a.length; i++) if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) return false;
        return true;
    }

    /** The shape of a rectangular 4-D array; a null or ragged array is refused, naming the element. */
    static Shape shapeOf(String what, float[][][][] a) {
        if (a == null) throw new NullPointerException(what);
        if (a.length == 0) throw new IllegalArgumentException(what + " is empty");
        int d1 = len(what + "[0]", a[0]);
        int d2 = d1 == 0 ? 0 : len(what + "[0][0]", a[0][0]);
        int d3 = d2 == 0 ? 0 : len(what + "[0][0][0]", a[0][0][0]);
        // the walk names nothing until it finds a fault: a message built per element would cost
        // more than the convolution of a small batch
        for (int i = 0; i < a.length; i++) {
            float[][][] b = a[i];
            if (b == null || b.length != d1) throw fault(what, a, i, -1, -1);
            for (int j = 0; j < d1; j++) {
                float[][] c = b[j];
                if (c == null || c.length != d2) throw fault(what, a, i, j, -1);
                for (int k = 0; k < d2; k++) {
                    float[] e = c[k];
                    if (e == null || e.length != d3) throw fault(what, a, i, j, k);
                }
            }
        }
        return Shape.of(a.length, d1, d2, d3);
    }

    /** The exception for the null or ragged element a[i] (j < 0), a[i][j] (k < 0) or a[i][j][k]. */
    private static RuntimeException fault(String what, float[][][][] a, int i, int j, int k) {
        String name = what + "[" + i + "]" + (j < 0 ? "" : "[" + j + "]") + (k < 0 ? "" : "[" + k + "]");
        Object[] parent = j < 0 ? a : k < 0 ? a[i] : a[i][j];
        Object e = parent[j < 0 ? i : k < 0 ? j : k];
        if (e == null) return new NullPointerException(name);
        int expected = j < 0 ? a[0].length : k < 0 ? a[0][0].length : a[0][0][0].length;
        int actual = e instanceof float[] ? ((float[]) e).length : ((Object[]) e).length;
        return new IllegalArgumentException(name + " has length " + actual + ", expected " + expected + " (ragged array)");
    }

    private static int len(String what, Object[] a) {
        if (a == null) throw new NullPointerException(what);
        return a.length;
    }

    private static int len(String what, float[] a) {
        if (a == null) throw new NullPointerException(what);
        return a.length;
    }
}
