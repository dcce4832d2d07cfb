package io.conv4j;

/** Conversions between nested {@code float[][][][]} arrays and flat row-major arrays. */
final class NestedArrays {
    private NestedArrays() {}

    /** The shape of a rectangular 4-D array; a null or ragged array is refused, naming the element. */
    static Shape shapeOf(String what, float[][][][] a) {
        if (a == null) throw new NullPointerException(what);
        if (a.length == 0) throw new IllegalArgumentException(what + " is empty");
        long d1 = len(what + "[0]", a[0]);
        long d2 = d1 == 0 ? 0 : len(what + "[0][0]", a[0][0]);
        long d3 = d2 == 0 ? 0 : len(what + "[0][0][0]", a[0][0][0]);
        for (int i = 0; i < a.length; i++) {
            expect(what + "[" + i + "]", a[i], d1);
            for (int j = 0; j < d1; j++) {
                expect(what + "[" + i + "][" + j + "]", a[i][j], d2);
                for (int k = 0; k < d2; k++) expect(what + "[" + i + "][" + j + "][" + k + "]", a[i][j][k], d3);
            }
        }
        return Shape.of(a.length, d1, d2, d3);
    }

    private static long len(String what, Object[] a) {
        if (a == null) throw new NullPointerException(what);
        return a.length;
    }

    private static long len(String what, float[] a) {
        if (a == null) throw new NullPointerException(what);
        return a.length;
    }

    private static void expect(String what, Object[] a, long n) {
        if (a == null) throw new NullPointerException(what);
        if (a.length != n) throw new IllegalArgumentException(what + " has length " + a.length + ", expected " + n + " (ragged array)");
    }

    private static void expect(String what, float[] a, long n) {
        if (a == null) throw new NullPointerException(what);
        if (a.length != n) throw new IllegalArgumentException(what + " has length " + a.length + ", expected " + n + " (ragged array)");
    }

    static float[] flatten(float[][][][] a, Shape s) {
        if (s.numElements() > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("array of shape " + s + " too large");
        float[] out = new float[(int) s.numElements()];
        int p = 0;
        for (float[][][] x : a)
            for (float[][] y : x)
                for (float[] z : y) {
                    System.arraycopy(z, 0, out, p, z.length);
                    p += z.length;
                }
        return out;
    }

    static float[][][][] unflatten(float[] flat, Shape s) {
        int n = (int) s.size(0), h = (int) s.size(1), w = (int) s.size(2), c = (int) s.size(3);
        float[][][][] out = new float[n][h][w][c];
        int p = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < h; j++)
                for (int k = 0; k < w; k++) {
                    System.arraycopy(flat, p, out[i][j][k], 0, c);
                    p += c;
                }
        return out;
    }
}
