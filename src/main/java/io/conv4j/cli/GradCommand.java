package io.conv4j.cli;

import io.conv4j.Activation;
import io.conv4j.Conv;
import io.conv4j.ConvOptions;
import io.conv4j.DType;
import io.conv4j.Shape;
import io.conv4j.Tensor;
import java.io.PrintStream;
import java.util.HashSet;
import java.util.Set;

/**
 * {@code grad}: the gradients of one convolution of files in 1, 2 or 3 spatial dimensions,
 * float32 or float64 ({@code --dtype}). Takes the {@code conv}
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
        DType dt = ConvOptionsParser.dtype(a);
        ConvOptionsParser.shapeN(a, "input-shape"); // a malformed shape is refused before any file is looked at
        ConvOptionsParser.shapeN(a, "filter-shape");
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
            FloatFile[] inputs = ConvOptionsParser.inputAndFilter(a, dt);
            FloatFile in = inputs[0], filter = inputs[1];
            int rank = in.shape.rank() - 2;
            ConvOptions o = ConvOptionsParser.options(a, rank), plain = ConvOptionsParser.options(a, rank, false);
            Shape inShape = in.shape, fShape = filter.shape;
            Shape outShape = Conv.outputShape(inShape, fShape, o); // validates before any data is read
            if (outShape.numElements() > Integer.MAX_VALUE / dt.bytes()) {
                throw new UsageException("shape " + outShape + " is too large (more than 2 GiB)");
            }
            Shape biasShape = Shape.of(fShape.size(rank + 1));
            FloatFile bias = a.get("bias") == null ? null
                    : FloatFile.open("bias", a.get("bias"), biasShape, "the filter's bias shape", 1, dt);
            FloatFile dyFile = FloatFile.open("grad-output", gradOut, outShape, "the convolution's output shape", rank + 2, dt);
            boolean activated = o.activation() != Activation.NONE;
            String[] counts = new String[4];
            // dL/d(bias) does not depend on the bias: without --bias it is taken as zero
            try (Tensor tx = TensorFiles.read(in); Tensor tw = TensorFiles.read(filter); Tensor tb = TensorFiles.read(bias);
                 Tensor tdy = TensorFiles.read(dyFile);
                 Tensor ty = output != null || activated ? Conv.conv(tx, tw, tb, o) : null;
                 Tensor dz = activated ? Conv.activationGrad(ty, tdy, o.activation()) : null;
                 Tensor dx = Conv.gradInput(dz != null ? dz : tdy, tw, inShape, plain);
                 Tensor dw = Conv.gradFilter(tx, dz != null ? dz : tdy, fShape, plain);
                 Tensor db = gradBiasOut == null ? null : Conv.gradBias(dz != null ? dz : tdy)) {
                files.put("grad-input-out", TensorFiles.content(gradInputOut, dx));
                files.put("grad-filter-out", TensorFiles.content(gradFilterOut, dw));
                counts[0] = TensorFiles.count(dx);
                counts[1] = TensorFiles.count(dw);
                if (db != null) {
                    files.put("grad-bias-out", TensorFiles.content(gradBiasOut, db));
                    counts[2] = TensorFiles.count(db);
                }
                if (output != null) {
                    files.put("output", TensorFiles.content(output, ty));
                    counts[3] = TensorFiles.count(ty);
                }
            }
            files.commit();
            PrintStream report = files.writesStandardOutput() ? err : out;
            report.println("wrote " + gradInputOut + ": dL/d(input) shape " + inShape + " (" + counts[0] + ")");
            report.println("wrote " + gradFilterOut + ": dL/d(filter) shape " + fShape + " (" + counts[1] + ")");
            if (counts[2] != null) report.println("wrote " + gradBiasOut + ": dL/d(bias) shape " + biasShape + " (" + counts[2] + ")");
            if (counts[3] != null) report.println("wrote " + output + ": output shape " + outShape + " (" + counts[3] + ")");
        }
        return 0;
    }
}
