package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.conv4j.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ReadOnlyBufferException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * The backward entry points refuse bad arguments in Java, with a message naming the parameter,
 * before anything is written; the {@code grad} command turns bad command lines and files into
 * one line on stderr and exit status 2, leaving existing output files untouched. Also: results do
 * not depend on the thread count, and an empty batch gives zero filter and bias gradients.
 */
class BackwardBadInputTest {
    static final Shape IN = Shape.of(1, 6, 6, 2), FILTER = Shape.of(3, 3, 2, 4), OUT = Shape.of(1, 4, 4, 4);
    static final Conv2dOptions O = Conv2dOptions.defaults();

    static void refused(Class<? extends Throwable> type, String fragment, Executable call) {
        Throwable t = assertThrows(type, call);
        if (fragment != null) assertTrue(String.valueOf(t.getMessage()).contains(fragment), () -> "message: " + t.getMessage());
    }

    @Test
    void javaApiRefusesBadArguments() {
        try (Tensor x = Tensor.allocate(IN); Tensor w = Tensor.allocate(FILTER); Tensor dy = Tensor.allocate(OUT);
             Tensor b = Tensor.allocate(4)) {
            refused(NullPointerException.class, "gradOutput", () -> Conv2dBackward.gradInput(null, w, IN, O));
            refused(NullPointerException.class, "filter", () -> Conv2dBackward.gradInput(dy, null, IN, O));
            refused(NullPointerException.class, "input shape", () -> Conv2dBackward.gradInput(dy, w, null, O));
            refused(NullPointerException.class, "options", () -> Conv2dBackward.gradInput(dy, w, IN, null));
            refused(IllegalArgumentException.class, "gradOutput must have shape [1, 4, 4, 4]",
                    () -> Conv2dBackward.gradInput(Tensor.allocate(1, 4, 4, 3), w, IN, O));
            refused(IllegalArgumentException.class, "dimension 2 must be input channels",
                    () -> Conv2dBackward.gradInput(dy, w, Shape.of(1, 6, 6, 3), O));
            refused(IllegalArgumentException.class, "larger than the padded input",
                    () -> Conv2dBackward.gradInput(dy, w, Shape.of(1, 2, 6, 2), O));
            Conv2dOptions relu = O.toBuilder().activation(Activation.RELU).build();
            refused(IllegalArgumentException.class, "activationGrad", () -> Conv2dBackward.gradInput(dy, w, IN, relu));
            refused(IllegalArgumentException.class, "activationGrad", () -> Conv2dBackward.gradFilter(x, dy, FILTER, relu));
            refused(IllegalArgumentException.class, "gradInput must have shape",
                    () -> Conv2dBackward.gradInput(dy, w, IN, O, Tensor.allocate(1, 6, 6, 3)));
            ByteBuffer shared = direct(80);
            refused(IllegalArgumentException.class, "gradInput: output memory overlaps",
                    () -> Conv2dBackward.gradInput(Tensor.wrap(shared, OUT), w, IN, O, Tensor.wrap(shared, IN)));
            refused(ReadOnlyBufferException.class, null, () -> Conv2dBackward.gradInput(dy, w, IN, O, readOnly(IN)));
            refused(IllegalArgumentException.class, "overlaps itself",
                    () -> Conv2dBackward.gradFilter(x, dy, FILTER, O, Tensor.wrap(direct(72), FILTER, new long[] {0, 0, 4, 1}, 0)));
            refused(IllegalArgumentException.class, "gradFilter must have shape",
                    () -> Conv2dBackward.gradFilter(x, dy, FILTER, O, Tensor.allocate(3, 3, 2, 5)));
            refused(IllegalArgumentException.class, "gradOutput must have rank 4", () -> Conv2dBackward.gradBias(Tensor.allocate(4)));
            refused(IllegalArgumentException.class, "gradBias must have shape [4]",
                    () -> Conv2dBackward.gradBias(dy, Tensor.allocate(5)));
            refused(IllegalArgumentException.class, "bias must have shape [4]",
                    () -> Conv2dBackward.backward(x, w, Tensor.allocate(3), null, dy, O));
            refused(IllegalArgumentException.class, "output must have shape",
                    () -> Conv2dBackward.backward(x, w, b, Tensor.allocate(1, 4, 4, 5), dy, relu));
            refused(IllegalArgumentException.class, "no bias gradient",
                    () -> Conv2dBackward.backward(x, w, b, null, dy, O, Conv2dGradients.allocate(IN, FILTER, false)));
            refused(IllegalArgumentException.class, "has a bias gradient",
                    () -> Conv2dBackward.backward(x, w, null, null, dy, O, Conv2dGradients.allocate(IN, FILTER, true)));
            Tensor closed = Tensor.allocate(OUT);
            closed.close();
            refused(IllegalStateException.class, "gradOutput tensor is closed", () -> Conv2dBackward.gradBias(closed));
            refused(IllegalArgumentException.class, "output must have shape",
                    () -> Conv2dBackward.activationGrad(Tensor.allocate(1, 4, 4, 5), dy, Activation.RELU));

            // a refused call writes nothing
            try (Tensor target = Tensor.fromArray(filled(IN.numElements(), 7f), IN)) {
                assertThrows(IllegalArgumentException.class, () -> Conv2dBackward.gradInput(Tensor.allocate(1, 4, 4, 3), w, IN, O, target));
                assertArrayEquals(filled(IN.numElements(), 7f), target.toArray());
            }
        }
    }

    private static ByteBuffer direct(int floats) {
        return ByteBuffer.allocateDirect(floats * 4).order(ByteOrder.nativeOrder());
    }

    private static Tensor readOnly(Shape s) {
        return Tensor.wrap(direct((int) s.numElements()).asReadOnlyBuffer().order(ByteOrder.nativeOrder()), s);
    }

    private static float[] filled(long n, float v) {
        float[] f = new float[(int) n];
        Arrays.fill(f, v);
        return f;
    }

    @Test
    void resultsDoNotDependOnTheThreadCount() {
        Shape in = Shape.of(3, 20, 18, 16), filter = Shape.of(3, 3, 8, 32);
        Conv2dOptions o = Conv2dOptions.builder().strides(2, 1).padding(Padding.SAME).groups(2).build();
        Shape out = Conv2d.outputShape(in, filter, o);
        int before = Conv4j.threads();
        float[][] first = null;
        try (Tensor x = Tensor.fromArray(ConvCase.data(in.numElements(), 1), in);
             Tensor w = Tensor.fromArray(ConvCase.data(filter.numElements(), 2), filter);
             Tensor b = Tensor.allocate(32); Tensor dy = Tensor.fromArray(ConvCase.data(out.numElements(), 3), out)) {
            for (int threads : new int[] {1, 2, 3, 5}) {
                Conv4j.setThreads(threads);
                try (Conv2dGradients g = Conv2dBackward.backward(x, w, b, null, dy, o)) {
                    float[][] now = {g.gradInput().toArray(), g.gradFilter().toArray(), g.gradBias().toArray()};
                    if (first == null) first = now;
                    for (int i = 0; i < 3; i++) assertArrayEquals(first[i], now[i], threads + " threads, gradient " + i);
                }
            }
        } finally {
            Conv4j.setThreads(before);
        }
    }

    @Test
    void emptyBatchGivesZeroGradients() {
        Shape in = Shape.of(0, 6, 6, 2);
        try (Tensor x = Tensor.allocate(in); Tensor w = Tensor.fromArray(ConvCase.data(72, 1), FILTER); Tensor b = Tensor.allocate(4);
             Tensor dy = Tensor.allocate(0, 4, 4, 4); Conv2dGradients g = Conv2dGradients.allocate(in, FILTER, true)) {
            g.gradFilter().copyFrom(filled(72, 3f));
            g.gradBias().copyFrom(filled(4, 3f));
            Conv2dBackward.backward(x, w, b, null, dy, O, g);
            assertArrayEquals(new float[72], g.gradFilter().toArray());
            assertArrayEquals(new float[4], g.gradBias().toArray());
            assertEquals(0, g.gradInput().shape().numElements());
        }
    }

    // ------------------------------------------------------------------ the grad command

    private static String[] gradArgs(Path dir, String... extra) {
        List<String> a = new ArrayList<>(List.of("grad", "--input", dir.resolve("x").toString(), "--input-shape", "1,6,6,2",
                "--filter", dir.resolve("w").toString(), "--filter-shape", "3,3,2,4", "--grad-output", dir.resolve("dy").toString(),
                "--grad-input-out", dir.resolve("dx").toString(), "--grad-filter-out", dir.resolve("dw").toString()));
        a.addAll(Arrays.asList(extra));
        return a.toArray(new String[0]);
    }

    private static void write(Path p, int floats) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(floats * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < floats; i++) buf.putFloat((i % 7) * 0.25f - 0.5f);
        Files.write(p, buf.array());
    }

    /** Runs the command; returns {status, stdout, stderr}. */
    private static Object[] run(String... argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(argv, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Object[] {status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
    }

    private static void usageError(String fragment, String... argv) {
        Object[] r = run(argv);
        assertEquals(2, r[0], () -> "status for " + Arrays.toString(argv) + ": " + r[2]);
        String err = (String) r[2];
        assertTrue(err.startsWith("conv4j: ") && err.indexOf('\n') == err.length() - 1, () -> "one stderr line: " + err);
        assertTrue(err.contains(fragment), () -> "stderr: " + err);
    }

    @Test
    void gradCommandRefusesBadInput(@TempDir Path dir) throws IOException {
        write(dir.resolve("x"), 72);
        write(dir.resolve("w"), 72);
        write(dir.resolve("dy"), 64);
        write(dir.resolve("b"), 4);
        Files.write(dir.resolve("dx"), new byte[] {1, 2, 3});
        usageError("missing required option --grad-output", "grad", "--input", "x", "--input-shape", "1,6,6,2", "--filter", "w",
                "--filter-shape", "3,3,2,4", "--grad-input-out", "a", "--grad-filter-out", "b");
        usageError("--grad-output: ", gradArgs(dir, "--strides", "2,2"));
        usageError("unknown option --bogus", gradArgs(dir, "--bogus", "1"));
        usageError(" name the same file", gradArgs(dir, "--grad-bias-out", dir.resolve("dw").toString())); // naming both options and files
        usageError("--bias: ", gradArgs(dir, "--bias", dir.resolve("x").toString()));
        usageError("groups 3 does not divide", gradArgs(dir, "--groups", "3"));
        usageError("no such file", gradArgs(dir, "--bias", dir.resolve("missing").toString()));
        usageError("--grad-bias-out: no such directory", gradArgs(dir, "--grad-bias-out", dir.resolve("no/such/dir/db").toString()));
        // none of the failures touched the existing output file
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(dir.resolve("dx")));
        // and a good call replaces it, with the bias gradient even without --bias
        Object[] r = run(gradArgs(dir, "--grad-bias-out", dir.resolve("db").toString(), "--activation", "relu",
                "--output", dir.resolve("y").toString()));
        assertEquals(0, r[0], () -> (String) r[2]);
        assertEquals(72 * 4, Files.size(dir.resolve("dx")));
        assertEquals(72 * 4, Files.size(dir.resolve("dw")));
        assertEquals(4 * 4, Files.size(dir.resolve("db")));
        assertEquals(64 * 4, Files.size(dir.resolve("y")));
        assertTrue(((String) r[1]).contains("dL/d(filter) shape [3, 3, 2, 4]"), (String) r[1]);
    }
}
