package io.conv4j.internal;

/**
 * Builds the {@code long[]} form of {@code c4j_conv2d_desc} (see {@code native/include/conv4j.h});
 * the field order here and there must match, which the C side checks with a static assertion on
 * the struct size and the JNI side by the array length.
 */
public final class NativeDescriptor {
    public static final int FIELDS = 27;

    private NativeDescriptor() {}

    /**
     * @param in       N, H, W, C of the input view
     * @param inStride element strides of the input view (n, h, w, c)
     * @param kernel   KH, KW, Cout, groups
     * @param geometry strideH, strideW, dilationH, dilationW, padTop, padLeft, outH, outW
     * @param outStride element strides of the output view (n, h, w, c)
     */
    public static long[] build(long[] in, long[] inStride, long[] kernel, long[] geometry, long[] outStride,
                               boolean flip, int activation, boolean hasBias) {
        long[] d = new long[FIELDS];
        int i = 0;
        for (long v : in) d[i++] = v;
        for (long v : inStride) d[i++] = v;
        for (long v : kernel) d[i++] = v;
        for (long v : geometry) d[i++] = v;
        for (long v : outStride) d[i++] = v;
        d[i++] = flip ? 1 : 0;
        d[i++] = activation;
        d[i++] = hasBias ? 1 : 0;
        if (i != FIELDS) throw new IllegalStateException("descriptor has " + i + " fields, expected " + FIELDS);
        return d;
    }
}
