package io.conv4j.cli;

import io.conv4j.Conv2d;
import io.conv4j.Conv2dOptions;
import io.conv4j.Shape;
import java.io.PrintStream;

/** {@code conv}: one convolution of raw float32 files. */
final class ConvCommand {
    private ConvCommand() {}

    static int run(String[] argv, PrintStream out, PrintStream err) throws UsageException {
        Args a = Args.parse(argv, 1, ConvOptionsParser.VALUED, ConvOptionsParser.SWITCHES, false);
        Shape inShape = ConvOptionsParser.shape4(a, "input-shape");
        Shape fShape = ConvOptionsParser.shape4(a, "filter-shape");
        Conv2dOptions o = ConvOptionsParser.options(a);
        String output = a.require("output");
        Shape outShape = Conv2d.outputShape(inShape, fShape, o); // validates before any file is read
        if (outShape.numElements() > Integer.MAX_VALUE / 4) {
            throw new UsageException("output shape " + outShape + " is too large (more than 2 GiB)");
        }
        // the output must be writable and must not be one of the inputs, checked before any work
        try (OutputFiles files = new OutputFiles().input("input", a.require("input")).input("filter", a.require("filter"))
                .input("bias", a.get("bias")).output("output", output).check()) {
            float[] x = RawFloats.read("input", a.require("input"), inShape);
            float[] w = RawFloats.read("filter", a.require("filter"), fShape);
            float[] b = a.get("bias") == null ? null : RawFloats.read("bias", a.get("bias"), Shape.of(fShape.size(3)));
            float[] y = Conv2d.conv2d(x, inShape, w, fShape, b, o);
            files.put("output", RawFloats.content(y));
            files.commit();
            (files.writesStandardOutput() ? err : out).println("wrote " + output + ": shape " + outShape + " (" + y.length + " floats)");
        }
        return 0;
    }
}
