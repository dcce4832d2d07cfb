package io.conv4j.cli;

import io.conv4j.Conv;
import io.conv4j.ConvOptions;
import io.conv4j.DType;
import io.conv4j.Shape;
import io.conv4j.Tensor;
import java.io.PrintStream;
import java.util.HashSet;
import java.util.Set;

/**
 * {@code transpose}: the transposed convolution of files in 1, 2 or 3 spatial dimensions: the
 * input {@code [N, I1..Ir, Cout]}, the forward filter {@code [K1..Kr, Cin/groups, Cout]} and the
 * forward convolution's options; the output {@code [N, S1..Sr, Cin]} is the gradient of that
 * convolution's input. {@code --output-shape} or {@code --output-padding p1,..,pr} (each below
 * max(stride, dilation); 0 when absent) picks the output size (both may be given when they agree,
 * as ONNX allows). {@code --bias} has Cin values.
 */
final class TransposeCommand {
    private TransposeCommand() {}

    static final Set<String> VALUED;

    static {
        Set<String> v = new HashSet<>(ConvOptionsParser.VALUED);
        v.addAll(Set.of("output-padding", "output-shape"));
        v.remove("activation");
        VALUED = Set.copyOf(v);
    }

    static int run(String[] argv, PrintStream out, PrintStream err) throws UsageException {
        Args a = Args.parse(argv, 1, VALUED, ConvOptionsParser.SWITCHES, false);
        DType dt = ConvOptionsParser.dtype(a);
        ConvOptionsParser.shapeN(a, "input-shape"); // a malformed shape is refused before any file is looked at
        ConvOptionsParser.shapeN(a, "filter-shape");
        Shape outGiven = ConvOptionsParser.shapeN(a, "output-shape");
        String output = a.require("output");
        try (OutputFiles files = new OutputFiles().input("input", a.require("input")).input("filter", a.require("filter"))
                .input("bias", a.get("bias")).output("output", output).check()) {
            FloatFile[] inputs = ConvOptionsParser.inputAndFilter(a, dt);
            FloatFile in = inputs[0], filter = inputs[1];
            int rank = in.shape.rank() - 2;
            ConvOptions o = ConvOptionsParser.options(a, rank);
            Shape padded = outGiven != null && a.get("output-padding") == null ? null
                    : Conv.transposeOutputShape(in.shape, filter.shape, o, ConvOptionsParser.perAxis(a, "output-padding", rank, 0, 0));
            if (outGiven != null && padded != null && !padded.equals(outGiven)) { // ONNX may give both; they must agree
                throw new UsageException("--output-shape " + outGiven + " and --output-padding " + a.get("output-padding")
                        + " disagree: the output padding gives " + padded);
            }
            Shape outShape = outGiven != null ? outGiven : padded;
            if (outShape.rank() != rank + 2) {
                throw new UsageException("--output-shape " + outShape + " must have " + (rank + 2) + " dimensions like the input " + in.shape);
            }
            if (outShape.numElements() > Integer.MAX_VALUE / dt.bytes()) {
                throw new UsageException("output shape " + outShape + " is too large (more than 2 GiB)");
            }
            Shape biasShape = Shape.of(outShape.size(rank + 1));
            FloatFile bias = a.get("bias") == null ? null
                    : FloatFile.open("bias", a.get("bias"), biasShape, "the output channels", 1, dt);
            String wrote;
            try (Tensor x = TensorFiles.read(in); Tensor w = TensorFiles.read(filter); Tensor b = TensorFiles.read(bias);
                 Tensor y = Conv.transpose(x, w, b, o, outShape)) {
                files.put("output", TensorFiles.content(output, y));
                wrote = TensorFiles.count(y);
            }
            files.commit();
            (files.writesStandardOutput() ? err : out).println("wrote " + output + ": shape " + outShape + " (" + wrote + ")");
        }
        return 0;
    }
}
