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
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * ONNX's own Conv and ConvTranspose conformance cases (its backend node tests and the
 * PyTorch-converted models: 1-D, 2-D and 3-D, groups and depthwise, dilations, strides, explicit,
 * SAME_UPPER and SAME_LOWER padding, bias, output padding and output shapes) through the
 * {@code conv}, {@code transpose} and {@code grad} commands. The cases are made by
 * {@code src/test/resources/onnx/make_cases.py} from an ONNX commit named in its PROVENANCE file:
 * ONNX's arrays moved to channels last, and ONNX's attributes written as conv4j options.
 */
class OnnxConformanceTest {
    static final Path DIR = Path.of("src/test/resources/onnx");

    @TempDir
    Path tmp;

    /** One row of cases.csv: the case's folder, the command that reproduces it, its dtype and options. */
    record Case(String name, String command, String dtype, List<String> options) {
        Path file(String what) {
            return DIR.resolve(name).resolve(what + ".npy");
        }

        boolean hasBias() {
            return Files.exists(file("bias"));
        }

        @Override
        public String toString() {
            return name + " (" + command + " " + String.join(" ", options) + ")";
        }
    }

    static List<Case> cases() throws IOException {
        List<String> lines = Files.readAllLines(DIR.resolve("cases.csv"));
        List<Case> out = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",", 4);
            out.add(new Case(f[0], f[1], f[2], List.of(f[3].trim().split(" "))));
        }
        return out;
    }

    static List<Case> transposeCases() throws IOException {
        return cases().stream().filter(c -> c.command.equals("transpose")).collect(Collectors.toList());
    }

    @org.junit.jupiter.api.Test
    void everyKindOfCaseIsThere() throws IOException {
        List<Case> all = cases();
        assertTrue(all.size() >= 40, "cases: " + all.size());
        for (String need : new String[] {"SAME_LOWER", "SAME_UPPER", "--output-padding", "--output-shape", "--groups 2"}) {
            assertTrue(all.stream().anyMatch(c -> String.join(" ", c.options).contains(need)), need);
        }
        for (int rank = 1; rank <= 3; rank++) {
            int r = rank;
            assertTrue(all.stream().anyMatch(c -> c.command.equals("conv") && rankOf(c) == r), "conv rank " + r);
            assertTrue(all.stream().anyMatch(c -> c.command.equals("transpose") && rankOf(c) == r), "transpose rank " + r);
        }
    }

    private static int rankOf(Case c) {
        try {
            return Tensor.readNpy(c.file("input")).shape().rank() - 2;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private List<String> files(Case c, boolean withBias) {
        List<String> a = new ArrayList<>(List.of("--dtype", c.dtype, "--input", c.file("input").toString(), "--filter",
                c.file("filter").toString()));
        if (withBias && c.hasBias()) a.addAll(List.of("--bias", c.file("bias").toString()));
        return a;
    }

    private static Object[] run(List<String> argv) {
        return ConvCommandTest.run(argv.toArray(new String[0]));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void commandReproducesOnnx(Case c) throws IOException {
        Path y = tmp.resolve("y.npy");
        List<String> argv = new ArrayList<>(List.of(c.command));
        argv.addAll(files(c, true));
        argv.addAll(c.options);
        argv.addAll(List.of("--output", y.toString()));
        Object[] r = run(argv);
        assertEquals(0, r[0], () -> "stderr: " + r[2]);
        assertClose(c, Tensor.readNpy(c.file("expected")), Tensor.readNpy(y));
    }

    /** ONNX's test_convtranspose_kernel_shape gives output_shape and output_padding both: accepted when they agree. */
    @org.junit.jupiter.api.Test
    void outputShapeAndPaddingTogether() throws IOException {
        Case c = cases().stream().filter(k -> k.name.equals("test_convtranspose_kernel_shape")).findFirst().orElseThrow();
        Path y = tmp.resolve("y.npy");
        List<String> argv = new ArrayList<>(List.of("transpose"));
        argv.addAll(files(c, true));
        argv.addAll(c.options);
        argv.addAll(List.of("--output-padding", "1,1", "--output", y.toString()));
        Object[] r = run(argv);
        assertEquals(0, r[0], () -> "stderr: " + r[2]);
        assertClose(c, Tensor.readNpy(c.file("expected")), Tensor.readNpy(y));
        argv.set(argv.indexOf("--output-padding") + 1, "0,1");
        Object[] bad = run(argv);
        assertEquals(2, bad[0]);
        assertTrue(((String) bad[2]).contains("--output-shape [1, 10, 8, 2] and --output-padding 0,1 disagree"), (String) bad[2]);
    }

    /**
     * Through {@code grad}: a Conv case's forward output (its {@code --output}), and a ConvTranspose
     * case as the gradient of the forward input (its input is the gradient of the output; the bias,
     * which {@code grad} has no place for, is added here).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradCommandReproducesOnnx(Case c) throws IOException {
        Path dx = tmp.resolve("dx.npy"), dw = tmp.resolve("dw.npy"), y = tmp.resolve("y.npy");
        boolean forward = c.command.equals("conv");
        List<String> argv = new ArrayList<>(List.of("grad"));
        List<String> options = new ArrayList<>(c.options);
        try (Tensor expected = Tensor.readNpy(c.file("expected")); Tensor x = Tensor.readNpy(c.file("input"))) {
            if (forward) {
                argv.addAll(files(c, true));
                argv.addAll(List.of("--output", y.toString(), "--grad-output", zeros(expected.shape(), c).toString()));
            } else {
                // the transposed convolution's output is the forward input; its input the forward output's gradient
                dropValued(options, "--output-shape");
                dropValued(options, "--output-padding");
                argv.addAll(List.of("--dtype", c.dtype, "--input", zeros(expected.shape(), c).toString(), "--filter",
                        c.file("filter").toString(), "--grad-output", c.file("input").toString()));
            }
            argv.addAll(options.stream().map(o -> o.equals("SAME_UPPER") ? "SAME" : o).collect(Collectors.toList()));
            argv.addAll(List.of("--grad-input-out", dx.toString(), "--grad-filter-out", dw.toString()));
            Object[] r = run(argv);
            assertEquals(0, r[0], () -> "stderr: " + r[2]);
            if (forward) {
                try (Tensor got = Tensor.readNpy(y)) {
                    assertClose(c, expected, got);
                }
            } else {
                try (Tensor got = Tensor.readNpy(dx)) {
                    if (c.hasBias()) {
                        try (Tensor b = Tensor.readNpy(c.file("bias"))) {
                            BiasAdd.add(got, b);
                        }
                    }
                    assertClose(c, expected, got);
                }
            }
        }
    }

    private static void dropValued(List<String> options, String name) {
        int i = options.indexOf(name);
        if (i >= 0) {
            options.remove(i + 1);
            options.remove(i);
        }
    }

    private Path zeros(Shape s, Case c) throws IOException {
        Path p = Files.createTempFile(tmp, "zeros", ".npy");
        try (Tensor t = Tensor.allocate(DType.parse(c.dtype), s)) {
            t.writeNpy(p);
        }
        return p;
    }

    /** Within float32 rounding of ONNX's result: 1e-4 of the largest magnitude (sums of up to a few hundred products). */
    static void assertClose(Case c, Tensor want, Tensor got) {
        assertEquals(want.shape(), got.shape(), () -> c + ": shape");
        double[] w = want.dtype() == DType.FLOAT64 ? want.toDoubleArray() : toDoubles(want.toArray());
        double[] g = got.dtype() == DType.FLOAT64 ? got.toDoubleArray() : toDoubles(got.toArray());
        double scale = Arrays.stream(w).map(Math::abs).max().orElse(0);
        double tol = 1e-4 * Math.max(1, scale);
        for (int i = 0; i < w.length; i++) {
            int at = i;
            assertTrue(Math.abs(w[i] - g[i]) <= tol, () -> c + ": element " + at + " is " + g[at] + ", ONNX has " + w[at]
                    + " (tolerance " + tol + ")");
        }
    }

    private static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }
}
