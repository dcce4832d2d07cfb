package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.conv4j.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The training test: a {@link Conv2dLayer} recovers a known 3x3 filter, the Sobel x edge detector,
 * from random images and their Sobel-filtered versions by plain SGD on the mean squared error.
 *
 * <p>Why it converges: with pixels uniform in [-1, 1] the loss's Hessian in the 9 filter weights
 * is close to I/3 (plus 1 for the bias), so gradient descent with learning rate 1 shrinks the
 * error by about a third per step; the targets are exact, so every mini-batch has the same
 * minimum and the error falls until float32 rounding (about 1e-6). Stated tolerance: every weight
 * within 1e-4 of Sobel and the bias within 1e-4 of 0 after 100 steps.
 */
class SobelTrainingTest {
    static final float[] SOBEL_X = {-1, 0, 1, -2, 0, 2, -1, 0, 1}; // [3][3][1][1]
    static final double TOLERANCE = 1e-4;

    @Test
    void recoversSobelFromRandomImages() {
        int batch = 8, size = 24, steps = 100;
        Conv2dOptions valid = Conv2dOptions.defaults();
        Shape images = Shape.of(batch, size, size, 1), outputs = Conv2d.outputShape(images, Shape.of(3, 3, 1, 1), valid);
        int m = (int) outputs.numElements();
        float[] x = new float[(int) images.numElements()], y = new float[m], t = new float[m], g = new float[m];
        SplittableRandom random = new SplittableRandom(2024);
        double firstLoss = 0, loss = 0;
        float[] w = new float[9], b = new float[1];
        try (Tensor sobel = Tensor.fromArray(SOBEL_X, 3, 3, 1, 1);
             Conv2dLayer layer = Conv2dLayer.create(Shape.of(3, 3, 1, 1), true, valid, 99); // random start
             Tensor input = Tensor.allocate(images); Tensor target = Tensor.allocate(outputs);
             Tensor gradOutput = Tensor.allocate(outputs)) {
            for (int step = 0; step < steps; step++) {
                for (int i = 0; i < x.length; i++) x[i] = (float) (random.nextDouble() * 2 - 1);
                input.copyFrom(x);
                Conv2d.conv2d(input, sobel, null, valid, target);
                target.copyTo(t);
                layer.forward(input).copyTo(y);
                double sum = 0;
                for (int i = 0; i < m; i++) {
                    float d = y[i] - t[i];
                    sum += (double) d * d;
                    g[i] = d / m; // dL/dy for L = sum (y - t)^2 / 2m
                }
                loss = sum / (2.0 * m);
                if (step == 0) firstLoss = loss;
                gradOutput.copyFrom(g);
                layer.backward(gradOutput, false);
                layer.sgdStep(1.0);
            }
            layer.filter().copyTo(w);
            layer.bias().copyTo(b);
        }
        double maxErr = Math.abs(b[0]);
        for (int i = 0; i < 9; i++) maxErr = Math.max(maxErr, Math.abs(w[i] - SOBEL_X[i]));
        System.out.printf(Locale.ROOT, "Sobel training: loss %.3e -> %.3e in %d steps, max |w - sobel| (and |bias|) = %.2e"
                + " (tolerance %.0e)%n", firstLoss, loss, steps, maxErr, TOLERANCE);
        assertTrue(maxErr <= TOLERANCE, "max |w - sobel| = " + maxErr);
        assertTrue(loss < firstLoss * 1e-8, "loss " + firstLoss + " -> " + loss);
    }

    @Test
    void trainDemoCommandRecoversBothSobelFilters() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(new String[] {"train-demo", "--steps", "100"}, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, text + err.toString(StandardCharsets.UTF_8));
        assertTrue(text.contains("recovered: yes"), text);
        assertTrue(text.contains("step  100"), text);
        // a usage error is one line and status 2
        ByteArrayOutputStream err2 = new ByteArrayOutputStream();
        assertEquals(2, Main.run(new String[] {"train-demo", "--lr", "fast"}, new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err2, true, StandardCharsets.UTF_8)));
        assertTrue(err2.toString(StandardCharsets.UTF_8).startsWith("conv4j: --lr must be a number"));
    }
}
