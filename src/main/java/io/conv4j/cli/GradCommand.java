package io.conv4j.cli;

import io.conv4j.Conv2d;
import io.conv4j.Conv2dBackward;
import io.conv4j.Conv2dGradients;
import io.conv4j.Conv2dOptions;
import io.conv4j.Shape;
import io.conv4j.Tensor;
import java.io.PrintStream;
import java.util.HashSet;
import java.util.Set;

/**
 * {@code grad}: the gradients of one convolution, from raw float32 files. Takes the {@code conv}
 * command's arguments (its {@code --output} is optional here and, when given, receives the forward
 * output) plus {@code --grad-output F} (dL/d(output), the output's shape) and writes
 * {@code --grad-input-out F}, {@code --grad-filter-out F} and, when asked, {@code --grad-bias-out F}
 * (without {@code --bias} the bias is taken as zero). With an {@code --activation} its derivative is
 * applied, from the forward output. Files follow the policy of {@link OutputFiles}: every destination is
 * checked first and nothing is replaced unless every output was computed and written.
 */
final class GradCommand {
    private GradCommand() {}

    static final Set<String> VALUED;

    static {
        Set<String> v = new HashSet<>(ConvOptionsParser.VALUED);
        v.addAll(Set.of("grad-output", "grad-input-out", "grad-filter-out", "grad-bias-out"));
        VALUED = Set.copyOf(v);
    }

    static int run(String[] argv, PrintStream out, PrintStream err) throws UsageException {
        Args a = Args.parse(argv, 1, VALUED, ConvOptionsParser.SWITCHES, false);
        Shape inGiven = ConvOptionsParser.shape4(a, "input-shape");
        Shape fGiven = ConvOptionsParser.shape4(a, "filter-shape");
        Conv2dOptions o = ConvOptionsParser.options(a);
        String gradOut = a.require("grad-output");
        String gradInputOut = a.require("grad-input-out");
        String gradFilterOut = a.require("grad-filter-out");
        String gradBiasOut = a.get("grad-bias-out");
        String output = a.get("output");
        // every file is checked before anything is read, computed or written: an output that is an
        // input or another output, or one that cannot be written, leaves every file as it was
        try (OutputFiles files = new OutputFiles().input("input", a.require("input")).input("filter", a.require("filter"))
                .input("bias", a.get("bias")).input("grad-output", gradOut).output("grad-input-out", gradInputOut)
                .output("grad-filter-out", gradFilterOut).output("grad-bias-out", gradBiasOut).output("output", output).check()) {
            FloatFile in = FloatFile.open("input", a.require("input"), inGiven, "--input-shape", 4);
            FloatFile filter = FloatFile.open("filter", a.require("filter"), fGiven, "--filter-shape", 4);
            Shape inShape = in.shape, fShape = filter.shape;
            Shape outShape = Conv2d.outputShape(inShape, fShape, o); // validates before any data is read
            if (outShape.numElements() > Integer.MAX_VALUE / 4) {
                throw new UsageException("shape " + outShape + " is too large (more than 2 GiB)");
            }
            Shape biasShape = Shape.of(fShape.size(3));
            FloatFile bias = a.get("bias") == null ? null : FloatFile.open("bias", a.get("bias"), biasShape, "the filter's bias shape", 1);
            FloatFile dyFile = FloatFile.open("grad-output", gradOut, outShape, "the convolution's output shape", 4);
            float[] x = in.read(), w = filter.read(), dy = dyFile.read();
            float[] b = bias == null ? null : bias.read();
            if (b == null && gradBiasOut != null) b = new float[(int) fShape.size(3)]; // dL/d(bias) does not depend on it
            float[] dx, dw, db = null, y = null;
            try (Tensor tx = Tensor.fromArray(x, inShape); Tensor tw = Tensor.fromArray(w, fShape);
                 Tensor tb = b == null ? null : Tensor.fromArray(b, biasShape); Tensor tdy = Tensor.fromArray(dy, outShape);
                 Tensor ty = output == null ? null : Conv2d.conv2d(tx, tw, tb, o);
                 Conv2dGradients g = Conv2dBackward.backward(tx, tw, tb, ty, tdy, o)) {
                dx = g.gradInput().toArray();
                dw = g.gradFilter().toArray();
                if (gradBiasOut != null) db = g.gradBias().toArray();
                if (ty != null) y = ty.toArray();
            }
            files.put("grad-input-out", FloatFile.content(gradInputOut, dx, inShape));
            files.put("grad-filter-out", FloatFile.content(gradFilterOut, dw, fShape));
            if (db != null) files.put("grad-bias-out", FloatFile.content(gradBiasOut, db, biasShape));
            if (y != null) files.put("output", FloatFile.content(output, y, outShape));
            files.commit();
            PrintStream report = files.writesStandardOutput() ? err : out;
            report.println("wrote " + gradInputOut + ": dL/d(input) shape " + inShape + " (" + dx.length + " floats)");
            report.println("wrote " + gradFilterOut + ": dL/d(filter) shape " + fShape + " (" + dw.length + " floats)");
            if (db != null) report.println("wrote " + gradBiasOut + ": dL/d(bias) shape " + biasShape + " (" + db.length + " floats)");
            if (y != null) report.println("wrote " + output + ": output shape " + outShape + " (" + y.length + " floats)");
        }
        return 0;
    }
}
