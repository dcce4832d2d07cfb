package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The seed contract on nested arrays: a drop-in for four nested loops. */
class NestedArraysTest {
    @Test
    void seedContractMatchesFourLoops() {
        int n = 3, h = 12, w = 10, c = 3, f = 5, cout = 4;
        float[] flat = ConvCase.data((long) n * h * w * c, 11), fw = ConvCase.data((long) f * f * c * cout, 12);
        float[][][][] x = new float[n][h][w][c], k = new float[f][f][c][cout];
        int p = 0;
        for (float[][][] a : x) for (float[][] b : a) for (float[] d : b) for (int i = 0; i < c; i++) d[i] = flat[p++];
        p = 0;
        for (float[][][] a : k) for (float[][] b : a) for (float[] d : b) for (int i = 0; i < cout; i++) d[i] = fw[p++];
        float[][][][] y = Conv2d.conv2d(x, k);
        assertEquals(n, y.length);
        assertEquals(h - f + 1, y[0].length);
        assertEquals(w - f + 1, y[0][0].length);
        assertEquals(cout, y[0][0][0].length);
        for (int b = 0; b < n; b++)
            for (int i = 0; i < h - f + 1; i++)
                for (int j = 0; j < w - f + 1; j++)
                    for (int o = 0; o < cout; o++) {
                        double s = 0, scale = 1;
                        for (int a = 0; a < f; a++)
                            for (int e = 0; e < f; e++)
                                for (int q = 0; q < c; q++) {
                                    s += (double) x[b][i + a][j + e][q] * k[a][e][q][o];
                                    scale += Math.abs((double) x[b][i + a][j + e][q] * k[a][e][q][o]);
                                }
                        assertEquals(s, y[b][i][j][o], 1e-5 * scale);
                    }
    }

    @Test
    void withOptionsAndBias() {
        float[][][][] x = new float[1][4][4][1];
        for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) x[0][i][j][0] = i * 4 + j;
        float[][][][] ones = new float[3][3][1][1];
        for (float[][][] a : ones) for (float[][] b : a) b[0][0] = 1;
        float[][][][] y = Conv2d.conv2d(x, ones, new float[] {0.5f},
                Conv2dOptions.builder().padding(Padding.SAME).activation(Activation.RELU6).build());
        assertEquals(4, y[0].length);
        assertEquals(6f, y[0][0][0][0]);          // 0+1+4+5 + 0.5 = 10.5, clipped to 6
        float[][][][] z = Conv2d.conv2d(x, ones, new float[] {-100f}, Conv2dOptions.builder().padding(Padding.SAME)
                .activation(Activation.RELU).build());
        assertEquals(0f, z[0][1][1][0]);         // 45 - 100 < 0
    }
}
