package io.conv4j;

import java.util.Arrays;

/**
 * An immutable tensor shape: a list of non-negative dimension sizes. The number of elements is
 * computed with exact arithmetic, so an overflowing shape is refused when it is made rather than
 * wrapping around later.
 */
public final class Shape {
    private final long[] dims;
    private final long size;

    private Shape(long[] dims) {
        this.dims = dims;
        long n = 1;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0) {
                throw new IllegalArgumentException("dimension " + i + " of shape " + Arrays.toString(dims) + " is negative");
            }
            try {
                n = Math.multiplyExact(n, dims[i]);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("shape " + Arrays.toString(dims) + " has more than 2^63-1 elements", e);
            }
        }
        this.size = n;
    }

    /** A shape with the given dimensions (copied). */
    public static Shape of(long... dims) {
        if (dims == null) throw new NullPointerException("dims");
        return new Shape(dims.clone());
    }

    /** A shape with the given int dimensions. */
    public static Shape of(int... dims) {
        if (dims == null) throw new NullPointerException("dims");
        return new Shape(Arrays.stream(dims).asLongStream().toArray());
    }

    /** Parses {@code "2,64,64,3"} (commas, optional spaces). */
    public static Shape parse(String text) {
        if (text == null) throw new NullPointerException("shape text");
        String[] parts = text.trim().split("\\s*,\\s*");
        long[] d = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                d[i] = Long.parseLong(parts[i]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad shape \"" + text + "\": \"" + parts[i] + "\" is not an integer");
            }
        }
        return new Shape(d);
    }

    public int rank() {
        return dims.length;
    }

    /** Size of dimension {@code i}. */
    public long size(int i) {
        return dims[i];
    }

    /** Number of elements: the product of the dimensions. */
    public long numElements() {
        return size;
    }

    /** The dimensions, as a fresh array. */
    public long[] toArray() {
        return dims.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape && Arrays.equals(dims, ((Shape) o).dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
