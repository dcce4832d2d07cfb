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
        Shape inShape = ConvOptionsParser.shape4(a, "input-shape");
        Shape fShape = ConvOptionsParser.shape4(a, "filter-shape");
        Conv2dOptions o = ConvOptionsParser.options(a);
        String gradOut = a.require("grad-output");
        String gradInputOut = a.require("grad-input-out");
        String gradFilterOut = a.require("grad-filter-out");
        String gradBiasOut = a.get("grad-bias-out");
        String output = a.get("output");
        Shape outShape = Conv2d.outputShape(inShape, fShape, o); // validates before any file is read
        for (Shape s : new Shape[] {inShape, fShape, outShape}) {
            if (s.numElements() > Integer.MAX_VALUE / 4) throw new UsageException("shape " + s + " is too large (more than 2 GiB)");
        }
        // every file is checked before anything is read, computed or written: an output that is an
        // input or another output, or one that cannot be written, leaves every file as it was
        try (OutputFiles files = new OutputFiles().input("input", a.require("input")).input("filter", a.require("filter"))
                .input("bias", a.get("bias")).input("grad-output", gradOut).output("grad-input-out", gradInputOut)
                .output("grad-filter-out", gradFilterOut).output("grad-bias-out", gradBiasOut).output("output", output).check()) {
            return compute(a, inShape, fShape, outShape, o, files, out, err);
        }
    }

    private static int compute(Args a, Shape inShape, Shape fShape, Shape outShape, Conv2dOptions o, OutputFiles files,
            PrintStream out, PrintStream err) throws UsageException {
        String gradOut = a.require("grad-output");
        String gradInputOut = a.require("grad-input-out");
        String gradFilterOut = a.require("grad-filter-out");
        String gradBiasOut = a.get("grad-bias-out");
        String output = a.get("output");
        float[] x = RawFloats.read("input", a.require("input"), inShape);
        float[] w = RawFloats.read("filter", a.require("filter"), fShape);
        Shape biasShape = Shape.of(fShape.size(3));
        float[] b = a.get("bias") == null ? null : RawFloats.read("bias", a.get("bias"), biasShape);
        float[] dy = RawFloats.read("grad-output", gradOut, outShape);
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
        files.put("grad-input-out", RawFloats.content(dx));
        files.put("grad-filter-out", RawFloats.content(dw));
        if (db != null) files.put("grad-bias-out", RawFloats.content(db));
        if (y != null) files.put("output", RawFloats.content(y));
        files.commit();
        PrintStream report = files.writesStandardOutput() ? err : out;
        report.println("wrote " + gradInputOut + ": dL/d(input) shape " + inShape + " (" + dx.length + " floats)");
        report.println("wrote " + gradFilterOut + ": dL/d(filter) shape " + fShape + " (" + dw.length + " floats)");
        if (db != null) report.println("wrote " + gradBiasOut + ": dL/d(bias) shape " + Shape.of(fShape.size(3)) + " (" + db.length + " floats)");
        if (y != null) report.println("wrote " + output + ": output shape " + outShape + " (" + y.length + " floats)");
        return 0;
    }
}
