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
}
