package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The {@code conv}, {@code grad} and {@code transpose} commands in 1, 2 and 3 dimensions and both
 * dtypes: every case of ../shared/golden_nd through conv and grad, the numpy transposed fixtures
 * (with output padding) through transpose, and the refusals (exit 2, one line naming the option
 * and the values, an existing output untouched).
 */
class NdCommandTest {
    @TempDir
    Path tmp;

    static List<GoldenNd.Case> cases() throws IOException {
        return GoldenNd.all();
    }

    static List<TransposedAndSeedTest.Case> transposed() throws IOException {
        return TransposedAndSeedTest.cases();
    }

    private static String x(long[] v) {
        return Arrays.stream(v).mapToObj(Long::toString).collect(Collectors.joining(","));
    }

    private static String dims(Shape s) {
        return x(s.toArray());
    }

    private static double[] readOut(Path p, DType dt) throws IOException {
        return TransposedAndSeedTest.readRaw(p, dt);
    }

    private List<String> common(GoldenNd.Case c) {
        List<String> a = new ArrayList<>(List.of("--input", c.file("input").toString(), "--input-shape", dims(c.input),
                "--filter", c.file("filter").toString(), "--filter-shape", dims(c.filter), "--strides", x(c.strides),
                "--dilations", x(c.dilations), "--groups", String.valueOf(c.groups), "--dtype", c.dtype.toString(),
                "--padding", c.padding.equals("EXPLICIT") ? x(c.pads) : c.padding));
        if (c.hasBias) a.addAll(List.of("--bias", c.file("bias").toString()));
        if (c.flip) a.add("--flip");
        return a;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void convAndGradReproduceGolden(GoldenNd.Case c) throws IOException {
        Path y = tmp.resolve("y"), dx = tmp.resolve("dx"), dw = tmp.resolve("dw"), db = tmp.resolve("db");
        List<String> conv = new ArrayList<>(List.of("conv"));
        conv.addAll(common(c));
        conv.addAll(List.of("--output", y.toString()));
        Object[] r = ConvCommandTest.run(conv.toArray(new String[0]));
        assertEquals(0, r[0], () -> "stderr: " + r[2]);
        GoldenNd.assertClose(c, "conv output", c.read("output"), readOut(y, c.dtype));

        List<String> grad = new ArrayList<>(List.of("grad"));
        grad.addAll(common(c));
        grad.addAll(List.of("--grad-output", c.file("gradout").toString(), "--grad-input-out", dx.toString(),
                "--grad-filter-out", dw.toString(), "--grad-bias-out", db.toString()));
        Object[] g = ConvCommandTest.run(grad.toArray(new String[0]));
        assertEquals(0, g[0], () -> "stderr: " + g[2]);
        GoldenNd.assertClose(c, "grad input", c.read("gradinput"), readOut(dx, c.dtype));
        GoldenNd.assertClose(c, "grad filter", c.read("gradfilter"), readOut(dw, c.dtype));
        if (c.hasBias) GoldenNd.assertClose(c, "grad bias", c.read("gradbias"), readOut(db, c.dtype));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("transposed")
    void transposeReproducesNumpy(TransposedAndSeedTest.Case c) throws IOException {
        String ext = c.dtype == DType.FLOAT64 ? ".f64" : ".f32";
        Path dir = TransposedAndSeedTest.TRANSPOSED, y = tmp.resolve("t" + ext);
        List<String> argv = new ArrayList<>(List.of("transpose", "--input", dir.resolve(c.name + ".input" + ext).toString(),
                "--input-shape", dims(c.input), "--filter", dir.resolve(c.name + ".filter" + ext).toString(), "--filter-shape",
                dims(c.filter), "--strides", x(c.strides), "--dilations", x(c.dilations), "--padding", x(c.pads), "--groups",
                String.valueOf(c.groups), "--output-padding", x(c.outputPadding), "--dtype", c.dtype.toString(), "--output",
                y.toString()));
        if (c.hasBias) argv.addAll(List.of("--bias", dir.resolve(c.name + ".bias" + ext).toString()));
        if (c.flip) argv.add("--flip");
        Object[] r = ConvCommandTest.run(argv.toArray(new String[0]));
        assertEquals(0, r[0], () -> "stderr: " + r[2]);
        double[] want = c.read("output"), got = readOut(y, c.dtype);
        assertEquals(want.length, got.length);
        double scale = 1;
        for (double v : want) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < want.length; i++) {
            assertTrue(Math.abs(got[i] - want[i]) <= (c.dtype == DType.FLOAT64 ? 1e-12 : 1e-5) * scale, c + "[" + i + "]");
        }
        // the same size given as --output-shape
        List<String> byShape = new ArrayList<>(argv);
        int at = byShape.indexOf("--output-padding");
        byShape.set(at, "--output-shape");
        byShape.set(at + 1, dims(c.output));
        Object[] r2 = ConvCommandTest.run(byShape.toArray(new String[0]));
        assertEquals(0, r2[0], () -> "stderr: " + r2[2]);
        assertEquals(Arrays.toString(got), Arrays.toString(readOut(y, c.dtype)));
    }

    /** Runs a conv of golden case c3_valid (3-D float32) with changed options; expects exit 2, one line containing `part`. */
    private void refused(String part, String cmd, String... changes) throws IOException {
        GoldenNd.Case c = GoldenNd.all().stream().filter(k -> k.name.equals("c3_valid")).findFirst().orElseThrow();
        Path out = tmp.resolve("existing");
        Files.write(out, new byte[] {1, 2, 3, 4});
        List<String> argv = new ArrayList<>(List.of(cmd));
        argv.addAll(common(c));
        argv.addAll(List.of("--output", out.toString()));
        for (int i = 0; i < changes.length; i += 2) {
            int at = argv.indexOf(changes[i]);
            if (at >= 0) argv.set(at + 1, changes[i + 1]);
            else argv.addAll(List.of(changes[i], changes[i + 1]));
        }
        Object[] r = ConvCommandTest.run(argv.toArray(new String[0]));
        assertEquals(2, r[0], () -> "stdout: " + r[1]);
        String err = (String) r[2];
        assertTrue(err.contains(part), () -> "stderr: " + err);
        assertEquals(1, err.strip().lines().count(), err);
        assertEquals("[1, 2, 3, 4]", Arrays.toString(Files.readAllBytes(out)));
    }

    @Test
    void badInputIsOneLineAndExitTwo() throws IOException {
        refused("--strides has 2 values but the convolution has 3 spatial axes", "conv", "--strides", "1,1");
        refused("--dilations has 4 values but the convolution has 3 spatial axes", "conv", "--dilations", "1,1,1,1");
        refused("--padding has 4 numbers but a 3-D convolution needs 6", "conv", "--padding", "1,1,1,1");
        refused("which is not 5-dimensional", "conv", "--filter-shape", "3,3,3,4");
        refused("--input-shape must have 3, 4 or 5 dimensions", "conv", "--input-shape", "2,5");
        refused("--dtype: dtype must be float32 or float64, got \"float16\"", "conv", "--dtype", "float16");
        // the float32 files read as float64: their sizes do not fit shape and dtype
        refused("float64 values", "conv", "--dtype", "float64");
        refused("--output-padding values must be >= 0", "transpose", "--output-padding", "-1");
    }

    /** The grad and transpose commands refuse their own bad input the same way: one line naming the option and values, exit 2. */
    @Test
    void gradAndTransposeBadInput() throws IOException {
        GoldenNd.Case c = GoldenNd.all().stream().filter(k -> k.name.equals("c3_valid")).findFirst().orElseThrow();
        String input = c.file("input").toString();
        // a raw file whose size does not fit the shape and dtype
        refused("--grad-output: " + input + " has ", "grad", "--grad-output", input, "--grad-input-out", tmp.resolve("dx").toString(),
                "--grad-filter-out", tmp.resolve("dw").toString());
        refused("--bias: " + input + " has ", "conv", "--bias", input);
        refused("--strides has 2 values but the convolution has 3 spatial axes", "grad", "--strides", "1,1", "--grad-output",
                c.file("gradout").toString(), "--grad-input-out", tmp.resolve("dx").toString(), "--grad-filter-out",
                tmp.resolve("dw").toString());
        refused("--output-padding has 2 values but the convolution has 3 spatial axes", "transpose", "--output-padding", "1,1");
        refused("--dilations has 2 values but the convolution has 3 spatial axes", "transpose", "--dilations", "1,2");
        refused("--padding has 2 numbers but a 3-D convolution needs 6", "transpose", "--padding", "1,1");
        refused("--output-shape [1, 5, 5, 4] must have 5 dimensions like the input", "transpose", "--output-shape", "1,5,5,4");
        refused("float64 values", "transpose", "--dtype", "float64");
        refused("padding must be VALID, SAME (SAME_UPPER), SAME_LOWER or T,B,L,R (two numbers, begin,end, per spatial axis), got \"SAME_MIDDLE\"", "transpose", "--padding", "SAME_MIDDLE");
    }
}
