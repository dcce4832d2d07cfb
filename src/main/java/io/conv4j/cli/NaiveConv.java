package io.conv4j.cli;

/**
 * The four nested loops people write first (n, i, j, cout; the sum over the window), VALID,
 * stride 1: what the demo compares conv4j against.
 */
final class NaiveConv {
    private NaiveConv() {}

    static float[][][][] conv(float[][][][] x, float[][][][] w) {
        int n = x.length, h = x[0].length, wd = x[0][0].length, c = x[0][0][0].length;
        int f = w.length, cout = w[0][0][0].length;
        int oh = h - f + 1, ow = wd - f + 1;
        float[][][][] y = new float[n][oh][ow][cout];
        for (int b = 0; b < n; b++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                    for (int o = 0; o < cout; o++) {
                        float s = 0;
                        for (int a = 0; a < f; a++)
                            for (int bb = 0; bb < f; bb++)
                                for (int k = 0; k < c; k++) s += x[b][i + a][j + bb][k] * w[a][bb][k][o];
                        y[b][i][j][o] = s;
                    }
        return y;
    }
}
