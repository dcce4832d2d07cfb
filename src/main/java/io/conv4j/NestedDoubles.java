package io.conv4j;

import java.lang.reflect.Array;

/** Rectangular nested {@code double} arrays of depth 3 to 5 to and from flat row-major arrays. */
final class NestedDoubles {
    private NestedDoubles() {}

    /** The shape of a rectangular nested double array; a ragged, empty or null part is refused, naming it. */
    static Shape shapeOf(String what, Object data) {
        if (data == null) throw new NullPointerException(what);
        java.util.List<Long> dims = new java.util.ArrayList<>();
        Object a = data;
        while (a != null && a.getClass().isArray()) {
            int len = Array.getLength(a);
            dims.add((long) len);
            if (a instanceof double[]) break;
            if (len == 0) {
                throw new IllegalArgumentException(what + " has an empty dimension (length 0 at depth " + (dims.size() - 1)
                        + "): the sizes below it cannot be known; pass a flat double[] and a Shape instead");
            }
            a = Array.get(a, 0);
            if (a == null) throw new NullPointerException(what + " has a null element");
        }
        long[] d = dims.stream().mapToLong(Long::longValue).toArray();
        Shape s = Shape.of(d);
        check(what, data, d, 0, "");
        return s;
    }

    private static void check(String what, Object a, long[] d, int depth, String path) {
        if (a == null) throw new NullPointerException(what + path + " is null");
        if (Array.getLength(a) != d[depth]) {
            throw new IllegalArgumentException(what + path + " has length " + Array.getLength(a) + ", expected " + d[depth]
                    + " (ragged array)");
        }
        if (depth == d.length - 1) return;
        for (int i = 0; i < d[depth]; i++) check(what, Array.get(a, i), d, depth + 1, path + "[" + i + "]");
    }

    static double[] flatten(Object data, Shape shape) {
        checkArray("array", shape);
        double[] out = new double[(int) shape.numElements()];
        fill(data, out, 0, shape.rank() - 1);
        return out;
    }

    private static int fill(Object a, double[] out, int at, int levels) {
        if (levels == 0) {
            double[] row = (double[]) a;
            System.arraycopy(row, 0, out, at, row.length);
            return at + row.length;
        }
        for (Object e : (Object[]) a) at = fill(e, out, at, levels - 1);
        return at;
    }

    static Object unflatten(double[] flat, Shape shape) {
        int[] dims = new int[shape.rank()];
        for (int i = 0; i < dims.length; i++) dims[i] = (int) shape.size(i);
        Object out = Array.newInstance(double.class, dims);
        drain(out, flat, 0, dims.length - 1);
        return out;
    }

    private static int drain(Object a, double[] flat, int at, int levels) {
        if (levels == 0) {
            double[] row = (double[]) a;
            System.arraycopy(flat, at, row, 0, row.length);
            return at + row.length;
        }
        for (Object e : (Object[]) a) at = drain(e, flat, at, levels - 1);
        return at;
    }

    static void checkArray(String what, Shape shape) {
        if (shape.numElements() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(what + " of shape " + shape + " does not fit in a Java array");
        }
    }
}
