package io.conv4j.cli;

import io.conv4j.Conv2d;
import io.conv4j.Conv2dOptions;
import io.conv4j.Shape;
import java.io.PrintStream;

/** {@code conv}: one convolution of float32 files (raw or .npy, see {@link FloatFile}). */
final class ConvCommand {
    private ConvCommand() {}

    static int run(String[] argv, PrintStream out, PrintStream err) throws UsageException {
        Args a = Args.parse(argv, 1, ConvOptionsParser.VALUED, ConvOptionsParser.SWITCHES, false);
        Shape inGiven = ConvOptionsParser.shape4(a, "input-shape");
        Shape fGiven = ConvOptionsParser.shape4(a, "filter-shape");
        Conv2dOptions o = ConvOptionsParser.options(a);
        String output = a.require("output");
        // the output must be writable and must not be one of the inputs, checked before any work
        try (OutputFiles files = new OutputFiles().input("input", a.require("input")).input("filter", a.require("filter"))
                .input("bias", a.get("bias")).output("output", output).check()) {
            FloatFile in = FloatFile.open("input", a.require("input"), inGiven, "--input-shape", 4);
            FloatFile filter = FloatFile.open("filter", a.require("filter"), fGiven, "--filter-shape", 4);
            Shape outShape = Conv2d.outputShape(in.shape, filter.shape, o); // validates before any data is read
            if (outShape.numElements() > Integer.MAX_VALUE / 4) {
                throw new UsageException("output shape " + outShape + " is too large (more than 2 GiB)");
            }
            Shape biasShape = Shape.of(filter.shape.size(3));
            FloatFile bias = a.get("bias") == null ? null : FloatFile.open("bias", a.get("bias"), biasShape, "the filter's bias shape", 1);
            float[] y = Conv2d.conv2d(in.read(), in.shape, filter.read(), filter.shape, bias == null ? null : bias.read(), o);
            files.put("output", FloatFile.content(output, y, outShape));
            files.commit();
            (files.writesStandardOutput() ? err : out).println("wrote " + output + ": shape " + outShape + " (" + y.length + " floats)");
        }
        return 0;
    }
}
