package io.conv4j.cli;

import io.conv4j.Conv2d;
import io.conv4j.Conv2dBackward;
import io.conv4j.Conv2dGradients;
import io.conv4j.Conv2dOptions;
import io.conv4j.Shape;
import io.conv4j.Tensor;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * {@code grad}: the gradients of one convolution, from raw float32 files. Takes the {@code conv}
 * command's arguments (its {@code --output} is optional here and, when given, receives the forward
 * output) plus {@code --grad-output F} (dL/d(output), the output's shape) and writes
 * {@code --grad-input-out F}, {@code --grad-filter-out F} and, when asked, {@code --grad-bias-out F}
 * (without {@code --bias} the bias is taken as zero). With an {@code --activation} its derivative is
 * applied, from the forward output. Every destination is checked first and nothing is written
 * unless everything was computed; each file is written to a temporary file and renamed.
 */
final class GradCommand {
    private GradCommand() {}

    static final Set<String> VALUED;

    static {
        Set<String> v = new HashSet<>(ConvOptionsParser.VALUED);
        v.addAll(Set.of("grad-output", "grad-input-out", "grad-filter-out", "grad-bias-out"));
        VALUED = Set.copyOf(v);
    }

    static int run(String[] argv, PrintStream out) throws UsageException {
        Args a = Args.parse(argv, 1, VALUED, ConvOptionsParser.SWITCHES, false);
        Shape inShape = ConvOptionsParser.shape4(a, "input-shape");
        Shape fShape = ConvOptionsParser.shape4(a, "filter-shape");
        Conv2dOptions o = ConvOptionsParser.options(a);
        String gradOut = a.require("grad-output");
        String gradInputOut = a.require("grad-input-out");
        String gradFilterOut = a.require("grad-filter-out");
        String gradBiasOut = a.get("grad-bias-out");
        String output = a.get("output");
        requireDistinct("output", output, "grad-input-out", gradInputOut, "grad-filter-out", gradFilterOut, "grad-bias-out",
                gradBiasOut);
        // every destination is checked before anything is computed or written, so a bad one cannot
        // leave some outputs replaced and others not
        String[][] outputs = {{"grad-input-out", gradInputOut}, {"grad-filter-out", gradFilterOut},
                {"grad-bias-out", gradBiasOut}, {"output", output}};
        for (String[] dest : outputs) {
            if (dest[1] != null) checkDestination(dest[0], dest[1]);
        }
        Shape outShape = Conv2d.outputShape(inShape, fShape, o); // validates before any file is read
        for (Shape s : new Shape[] {inShape, fShape, outShape}) {
            if (s.numElements() > Integer.MAX_VALUE / 4) throw new UsageException("shape " + s + " is too large (more than 2 GiB)");
        }
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
        RawFloats.write("grad-input-out", gradInputOut, dx);
        RawFloats.write("grad-filter-out", gradFilterOut, dw);
        if (db != null) RawFloats.write("grad-bias-out", gradBiasOut, db);
        if (y != null) RawFloats.write("output", output, y);
        out.println("wrote " + gradInputOut + ": dL/d(input) shape " + inShape + " (" + dx.length + " floats)");
        out.println("wrote " + gradFilterOut + ": dL/d(filter) shape " + fShape + " (" + dw.length + " floats)");
        if (db != null) out.println("wrote " + gradBiasOut + ": dL/d(bias) shape " + biasShape + " (" + db.length + " floats)");
        if (y != null) out.println("wrote " + output + ": output shape " + outShape + " (" + y.length + " floats)");
        return 0;
    }

    /** The checks RawFloats.write makes, done up front. */
    private static void checkDestination(String option, String file) throws UsageException {
        Path target = Path.of(file).toAbsolutePath();
        Path dir = target.getParent();
        if (dir == null || !Files.isDirectory(dir)) throw new UsageException("--" + option + ": no such directory for " + file);
        if (!Files.isWritable(dir)) throw new UsageException("--" + option + ": cannot write in the directory of " + file);
        if (Files.isDirectory(target)) throw new UsageException("--" + option + ": " + file + " is a directory");
    }

    /** Two options naming one file would overwrite each other: refuse (pairs of option, value; null values skipped). */
    private static void requireDistinct(String... optionValue) throws UsageException {
        Map<Path, String> seen = new HashMap<>();
        for (int i = 0; i < optionValue.length; i += 2) {
            if (optionValue[i + 1] == null) continue;
            Path p = Path.of(optionValue[i + 1]).toAbsolutePath().normalize();
            String before = seen.put(p, optionValue[i]);
            if (before != null) throw new UsageException("--" + before + " and --" + optionValue[i] + " name the same file " + optionValue[i + 1]);
        }
    }
}
