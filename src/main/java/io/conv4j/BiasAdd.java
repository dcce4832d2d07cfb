package io.conv4j;

import java.nio.ByteBuffer;

/** Adds a per-channel bias to a fresh contiguous channels-last tensor (the transposed convolution's bias). */
final class BiasAdd {
    private BiasAdd() {}

    static void add(Tensor y, Tensor bias) {
        int c = (int) bias.shape().size(0);
        long n = y.shape().numElements();
        if (y.dtype() == DType.FLOAT64) {
            double[] b = bias.toDoubleArray();
            y.storage().acquire();
            try {
                ByteBuffer buf = y.storage().buffer();
                for (long i = 0; i < n; i++) {
                    int at = (int) ((y.offset() + i) * Double.BYTES);
                    buf.putDouble(at, buf.getDouble(at) + b[(int) (i % c)]);
                }
            } finally {
                y.storage().release();
            }
        } else {
            float[] b = bias.toArray();
            y.storage().acquire();
            try {
                ByteBuffer buf = y.storage().buffer();
                for (long i = 0; i < n; i++) {
                    int at = (int) ((y.offset() + i) * Float.BYTES);
                    buf.putFloat(at, buf.getFloat(at) + b[(int) (i % c)]);
                }
            } finally {
                y.storage().release();
            }
        }
    }
}
