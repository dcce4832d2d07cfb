package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The row walk of nested arrays (Tensor.fillFromNested and Tensor.sameValues share it): every
 * channel count, the unrolled ones (1, 3, 4) and those around them and the arraycopy threshold,
 * copies every value to its place, and a single differing bit anywhere is found.
 */
class NestedRowsTest {
    private static final int[] CHANNELS = {1, 2, 3, 4, 5, 15, 16, 17};

    private static float[][][][] nested(int n, int h, int w, int c, float[] flat) {
        float[][][][] x = new float[n][h][w][c];
        int p = 0;
        for (float[][][] a : x) for (float[][] b : a) for (float[] d : b) for (int i = 0; i < c; i++) d[i] = flat[p++];
        return x;
    }

    @Test
    void fromNestedPutsEveryValueInPlace() {
        for (int c : CHANNELS) {
            int n = 2, h = 3, w = 5;
            float[] flat = ConvCase.data((long) n * h * w * c, 30 + c);
            try (Tensor t = Tensor.fromNested(nested(n, h, w, c, flat))) {
                assertArrayEquals(flat, t.toArray(), "channels " + c);
            }
        }
    }

    @Test
    void sameValuesFindsOneDifferentBitAnywhere() {
        for (int c : CHANNELS) {
            int n = 2, h = 3, w = 5;
            float[] flat = ConvCase.data((long) n * h * w * c, 50 + c);
            float[][][][] x = nested(n, h, w, c, flat);
            try (Tensor t = Tensor.fromNested(x)) {
                assertTrue(t.sameValues(x), "channels " + c);
                for (int e = 0; e < flat.length; e++) {
                    int i = e / (h * w * c), j = e / (w * c) % h, k = e / c % w, l = e % c;
                    float kept = x[i][j][k][l];
                    x[i][j][k][l] = Float.intBitsToFloat(Float.floatToRawIntBits(kept) ^ 1);
                    assertFalse(t.sameValues(x), "channels " + c + ", element " + e);
                    x[i][j][k][l] = kept;
                }
                assertTrue(t.sameValues(x), "channels " + c);
            }
        }
    }
}
