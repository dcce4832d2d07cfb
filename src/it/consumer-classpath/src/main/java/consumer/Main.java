package consumer;

import io.conv4j.Conv2d;
import io.conv4j.Conv4j;

/** Runs one convolution through conv4j on the class path and checks it against four plain loops. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        if (Conv2d.class.getModule().isNamed()) throw new AssertionError("conv4j should be on the class path here");
        float[][][][] x = new float[2][7][6][3];
        float[][][][] w = new float[3][2][3][4];
        java.util.Random r = new java.util.Random(1);
        for (float[][][] a : x) for (float[][] b : a) for (float[] c : b) for (int i = 0; i < c.length; i++) c[i] = r.nextFloat() - 0.5f;
        for (float[][][] a : w) for (float[][] b : a) for (float[] c : b) for (int i = 0; i < c.length; i++) c[i] = r.nextFloat() - 0.5f;
        float[][][][] y = Conv2d.conv2d(x, w);
        double worst = 0;
        for (int n = 0; n < 2; n++) for (int i = 0; i < 5; i++) for (int j = 0; j < 5; j++) for (int o = 0; o < 4; o++) {
            double s = 0;
            for (int a = 0; a < 3; a++) for (int b = 0; b < 2; b++) for (int c = 0; c < 3; c++) s += x[n][i + a][j + b][c] * w[a][b][c][o];
            worst = Math.max(worst, Math.abs(s - y[n][i][j][o]));
        }
        if (y.length != 2 || y[0].length != 5 || y[0][0].length != 5 || worst > 1e-5) {
            throw new AssertionError("wrong convolution: shape " + y.length + "x" + y[0].length + ", error " + worst);
        }
        System.out.println("class path consumer: conv2d matches the plain loops (max error " + worst + ")");
        System.out.println(Conv4j.info());
    }
}
