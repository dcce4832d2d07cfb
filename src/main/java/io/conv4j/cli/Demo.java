package io.conv4j.cli;

import io.conv4j.Conv2d;
import io.conv4j.Conv2dOptions;
import io.conv4j.Conv4j;
import io.conv4j.PreparedFilter;
import io.conv4j.Tensor;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.Locale;

/**
 * The main job: the seed's example (a batch of 64x64x3 images, a 5x5x3x16 filter, stride 1, no
 * padding) computed by four nested Java loops and by conv4j on nested arrays, checked against each
 * other, with both times (medians) and the speed-up.
 */
final class Demo {
    private Demo() {}

    static final int N = 8, H = 64, W = 64, C = 3, F = 5, COUT = 16;

    static int run(PrintStream out) {
        float[][][][] x = new float[N][H][W][C];
        float[][][][] w = new float[F][F][C][COUT];
        long i = 0;
        for (float[][][] a : x) for (float[][] b : a) for (float[] c : b) for (int k = 0; k < c.length; k++, i++) c[k] = ((i * 37 + 11) % 101 - 50) / 50f;
        i = 0;
        for (float[][][] a : w) for (float[][] b : a) for (float[] c : b) for (int k = 0; k < c.length; k++, i++) c[k] = ((i * 53 + 7) % 97 - 48) / 480f;

        out.printf(Locale.ROOT, "conv4j demo: input [%d,%d,%d,%d], filter [%d,%d,%d,%d], stride 1, VALID -> output [%d,%d,%d,%d]%n",
                N, H, W, C, F, F, C, COUT, N, H - F + 1, W - F + 1, COUT);
        out.println(Conv4j.info().lines().filter(l -> l.startsWith("conv4j ") || l.startsWith("blas core")
                || l.startsWith("conv4j threads")).reduce((a, b) -> a + "\n" + b).orElse(""));

        float[][][][] naive = NaiveConv.conv(x, w); // warm-up
        double tNaive = median(3, () -> NaiveConv.conv(x, w));
        float[][][][] fast = Conv2d.conv2d(x, w);
        warm(() -> Conv2d.conv2d(x, w)); // the copy loops get compiled, as in a long-running program
        double tFast = median(21, () -> Conv2d.conv2d(x, w));
        // the zero-copy path: tensors in direct memory, the filter prepared once, the output reused
        double tTensor;
        try (Tensor tx = Tensor.fromNested(x); Tensor tw = Tensor.fromNested(w);
             PreparedFilter pf = Conv2d.prepare(tw, null, Conv2dOptions.defaults());
             Tensor ty = Tensor.allocate(Conv2d.outputShape(tx.shape(), tw.shape(), Conv2dOptions.defaults()))) {
            warm(() -> Conv2d.conv2d(tx, pf, ty));
            tTensor = median(21, () -> Conv2d.conv2d(tx, pf, ty));
        }

        double maxErr = 0, maxRef = 0;
        for (int b = 0; b < naive.length; b++)
            for (int p = 0; p < naive[b].length; p++)
                for (int q = 0; q < naive[b][p].length; q++)
                    for (int o = 0; o < COUT; o++) {
                        maxErr = Math.max(maxErr, Math.abs(naive[b][p][q][o] - fast[b][p][q][o]));
                        maxRef = Math.max(maxRef, Math.abs(naive[b][p][q][o]));
                    }
        boolean agree = maxErr <= 1e-5 * Math.max(1, maxRef);
        double flops = 2.0 * N * (H - F + 1) * (W - F + 1) * COUT * F * F * C;
        out.printf(Locale.ROOT, "four nested loops : %9.3f ms  (%6.2f GFLOP/s, median of 3)%n", tNaive * 1e3, flops / tNaive * 1e-9);
        out.printf(Locale.ROOT, "conv4j, arrays    : %9.3f ms  (%6.2f GFLOP/s, median of 21: drop-in, nested arrays copied in and out)%n",
                tFast * 1e3, flops / tFast * 1e-9);
        out.printf(Locale.ROOT, "conv4j, tensors   : %9.3f ms  (%6.2f GFLOP/s, median of 21: direct memory, prepared filter)%n",
                tTensor * 1e3, flops / tTensor * 1e-9);
        out.printf(Locale.ROOT, "speed-up          : %.0fx with arrays, %.0fx with tensors%n", tNaive / tFast, tNaive / tTensor);
        out.printf(Locale.ROOT, "results agree     : %s (max |difference| %.3g, max |output| %.3g)%n", agree ? "yes" : "NO", maxErr, maxRef);
        return agree ? 0 : 1;
    }

    /** Runs r for about three seconds, so the JIT has compiled (C2) what it runs. */
    private static void warm(Runnable r) {
        long until = System.nanoTime() + 3_000_000_000L;
        do {
            r.run();
        } while (System.nanoTime() < until);
    }

    private static double median(int reps, Runnable r) {
        double[] t = new double[reps];
        for (int k = 0; k < reps; k++) {
            long a = System.nanoTime();
            r.run();
            t[k] = (System.nanoTime() - a) * 1e-9;
        }
        Arrays.sort(t);
        return t[reps / 2];
    }
}
