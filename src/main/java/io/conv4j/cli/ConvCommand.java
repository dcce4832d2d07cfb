package io.conv4j.cli;

import io.conv4j.Conv;
import io.conv4j.ConvOptions;
import io.conv4j.DType;
import io.conv4j.Shape;
import io.conv4j.Tensor;
import java.io.PrintStream;

/**
 * {@code conv}: one convolution of files (raw or .npy, see {@link FloatFile}) in 1, 2 or 3
 * spatial dimensions (input shapes of 3, 4 or 5 dimensions) and float32 or float64
 * ({@code --dtype}).
 */
final class ConvCommand {
    private ConvCommand() {}

    static int run(String[] argv, PrintStream out, PrintStream err) throws UsageException {
        Args a = Args.parse(argv, 1, ConvOptionsParser.VALUED, ConvOptionsParser.SWITCHES, false);
        DType dt = ConvOptionsParser.dtype(a);
        ConvOptionsParser.shapeN(a, "input-shape"); // a malformed shape is refused before any file is looked at
        ConvOptionsParser.shapeN(a, "filter-shape");
        String output = a.require("output");
        // the output must be writable and must not be one of the inputs, checked before any work
        try (OutputFiles files = new OutputFiles().input("input", a.require("input")).input("filter", a.require("filter"))
                .input("bias", a.get("bias")).output("output", output).check()) {
            FloatFile[] inputs = ConvOptionsParser.inputAndFilter(a, dt);
            FloatFile in = inputs[0], filter = inputs[1];
            int rank = in.shape.rank() - 2;
            ConvOptions o = ConvOptionsParser.options(a, rank);
            Shape outShape = Conv.outputShape(in.shape, filter.shape, o); // validates before any data is read
            if (outShape.numElements() > Integer.MAX_VALUE / dt.bytes()) {
                throw new UsageException("output shape " + outShape + " is too large (more than 2 GiB)");
            }
            Shape biasShape = Shape.of(filter.shape.size(rank + 1));
            FloatFile bias = a.get("bias") == null ? null
                    : FloatFile.open("bias", a.get("bias"), biasShape, "the filter's bias shape", 1, dt);
            String wrote;
            try (Tensor x = TensorFiles.read(in); Tensor w = TensorFiles.read(filter); Tensor b = TensorFiles.read(bias);
                 Tensor y = Conv.conv(x, w, b, o)) {
                files.put("output", TensorFiles.content(output, y));
                wrote = TensorFiles.count(y);
            }
            files.commit();
            (files.writesStandardOutput() ? err : out).println("wrote " + output + ": shape " + outShape + " (" + wrote + ")");
        }
        return 0;
    }
}
