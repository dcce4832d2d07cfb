package io.conv4j.cli;

import io.conv4j.Conv2d;
import io.conv4j.Conv2dLayer;
import io.conv4j.Conv2dOptions;
import io.conv4j.Padding;
import io.conv4j.Shape;
import io.conv4j.Tensor;
import java.io.PrintStream;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.Set;

/**
 * {@code train-demo}: the training example. A {@link Conv2dLayer} (3x3 filter, one input channel,
 * two output channels, bias, SAME padding) starts from zeros and learns the two Sobel edge
 * detectors from random images and their Sobel-filtered versions, by plain SGD on the mean squared
 * error. The images are fresh every step, the buffers are not: the loop allocates no tensors.
 * Exits 0 when the filter is recovered to within {@link #TOLERANCE}, 1 otherwise.
 */
final class TrainDemo {
    private TrainDemo() {}

    /** Sobel x (responds to vertical edges) and Sobel y, as [KH][KW] kernels. */
    static final float[][] SOBEL_X = {{-1, 0, 1}, {-2, 0, 2}, {-1, 0, 1}};
    static final float[][] SOBEL_Y = {{-1, -2, -1}, {0, 0, 0}, {1, 2, 1}};
    /** The largest |learned - Sobel| (filter and bias) accepted as recovered. */
    static final double TOLERANCE = 1e-4;

    /** What a run ended with. */
    static final class Result {
        final int steps;
        final double loss, maxError;
        final float[] filter, bias;

        Result(int steps, double loss, double maxError, float[] filter, float[] bias) {
            this.steps = steps;
            this.loss = loss;
            this.maxError = maxError;
            this.filter = filter;
            this.bias = bias;
        }
    }

    static int run(String[] argv, PrintStream out) throws UsageException {
        Args a = Args.parse(argv, 1, Set.of("steps", "lr", "batch", "size", "seed"), Set.of(), false);
        int steps = (int) Math.min(a.positiveLong("steps", 100), 1_000_000);
        double lr = a.positiveDouble("lr", 1.0);
        int batch = (int) Math.min(a.positiveLong("batch", 8), 1024);
        int size = (int) Math.min(a.positiveLong("size", 32), 1024);
        long seed = a.get("seed") == null ? 1 : parseSeed(a.get("seed"));
        Result r = train(steps, lr, batch, size, seed, out);
        out.println("learned filter (Sobel x | Sobel y):");
        for (int i = 0; i < 3; i++) {
            StringBuilder s = new StringBuilder("  ");
            for (int o = 0; o < 2; o++) {
                for (int j = 0; j < 3; j++) s.append(String.format(Locale.ROOT, "%9.5f", r.filter[(i * 3 + j) * 2 + o]));
                s.append(o == 0 ? "   |" : "");
            }
            out.println(s);
        }
        out.printf(Locale.ROOT, "learned bias: %.2e %.2e%n", r.bias[0], r.bias[1]);
        boolean ok = r.maxError <= TOLERANCE;
        out.printf(Locale.ROOT, "recovered: %s (max |learned - Sobel| = %.3g, tolerance %.0e)%n", ok ? "yes" : "NO", r.maxError,
                TOLERANCE);
        return ok ? 0 : 1;
    }

    private static long parseSeed(String v) throws UsageException {
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--seed must be an integer, got \"" + v + "\"");
        }
    }

    /**
     * Learns the Sobel filters: {@code steps} SGD steps with learning rate {@code lr} on
     * {@code batch} random {@code size x size} images per step. Prints the loss every tenth step
     * to {@code log} (may be null).
     */
    static Result train(int steps, double lr, int batch, int size, long seed, PrintStream log) {
        Conv2dOptions same = Conv2dOptions.builder().padding(Padding.SAME).build();
        Shape filterShape = Shape.of(3, 3, 1, 2), imageShape = Shape.of(batch, size, size, 1);
        float[] sobel = new float[18];
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                sobel[(i * 3 + j) * 2] = SOBEL_X[i][j];
                sobel[(i * 3 + j) * 2 + 1] = SOBEL_Y[i][j];
            }
        }
        SplittableRandom random = new SplittableRandom(seed);
        int pixels = batch * size * size, outputs = pixels * 2;
        float[] image = new float[pixels], predicted = new float[outputs], wanted = new float[outputs], grad = new float[outputs];
        float[] filter = new float[18], bias = new float[2];
        double loss = Double.NaN;
        try (Tensor truth = Tensor.fromArray(sobel, filterShape);
             Tensor zeros = Tensor.allocate(filterShape); Tensor zeroBias = Tensor.allocate(2);
             Conv2dLayer layer = new Conv2dLayer(zeros, zeroBias, same);
             Tensor x = Tensor.allocate(imageShape); Tensor target = Tensor.allocate(batch, size, size, 2);
             Tensor gradOutput = Tensor.allocate(batch, size, size, 2)) {
            for (int step = 0; step <= steps; step++) {
                for (int i = 0; i < pixels; i++) image[i] = (float) (random.nextDouble() * 2 - 1);
                x.copyFrom(image);
                Conv2d.conv2d(x, truth, null, same, target); // what the layer should learn to produce
                layer.forward(x).copyTo(predicted);
                target.copyTo(wanted);
                // L = 1/(2M) sum (predicted - wanted)^2, so dL/d(predicted) = (predicted - wanted) / M
                double sum = 0;
                for (int i = 0; i < outputs; i++) {
                    float d = predicted[i] - wanted[i];
                    sum += (double) d * d;
                    grad[i] = d / outputs;
                }
                loss = sum / (2.0 * outputs);
                if (log != null && step % 10 == 0) {
                    layer.filter().copyTo(filter);
                    log.printf(Locale.ROOT, "step %4d  loss %.3e  max |w - sobel| %.3e%n", step, loss, maxError(filter, sobel, null));
                }
                if (step == steps) break; // the last iteration only measures
                gradOutput.copyFrom(grad);
                layer.backward(gradOutput, false);
                layer.sgdStep(lr);
            }
            layer.filter().copyTo(filter);
            layer.bias().copyTo(bias);
        }
        return new Result(steps, loss, maxError(filter, sobel, bias), filter, bias);
    }

    private static double maxError(float[] w, float[] want, float[] bias) {
        double m = 0;
        for (int i = 0; i < w.length; i++) m = Math.max(m, Math.abs(w[i] - want[i]));
        if (bias != null) {
            for (float b : bias) m = Math.max(m, Math.abs(b));
        }
        return m;
    }
}
