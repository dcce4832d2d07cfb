package io.conv4j;

/**
 * Element type of a {@link Tensor}. Every tensor of one convolution call has the same dtype;
 * mixing them is an {@link IllegalArgumentException}, never a silent conversion.
 */
public enum DType {
    /** IEEE 754 binary32 ({@code float}): every algorithm (GEMM, Winograd, FFT). */
    FLOAT32(4, 0),
    /** IEEE 754 binary64 ({@code double}): the GEMM routes (im2col + dgemm) in every rank. */
    FLOAT64(8, 1);

    private final int bytes;
    final int nativeId;

    DType(int bytes, int nativeId) {
        this.bytes = bytes;
        this.nativeId = nativeId;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /** Parses {@code float32}/{@code f32} or {@code float64}/{@code f64} (any case). */
    public static DType parse(String text) {
        String t = text == null ? "" : text.trim().toLowerCase(java.util.Locale.ROOT);
        switch (t) {
            case "float32": case "f32": case "float": return FLOAT32;
            case "float64": case "f64": case "double": return FLOAT64;
            default: throw new IllegalArgumentException("dtype must be float32 or float64, got \"" + text + "\"");
        }
    }

    @Override
    public String toString() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
