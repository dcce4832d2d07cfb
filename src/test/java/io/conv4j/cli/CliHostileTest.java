package io.conv4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hostile command lines for {@code conv} and {@code stress}: each must end with exit status 2,
 * exactly one line on stderr ("conv4j: ..."), nothing on stdout, no stack trace, and an existing
 * output file byte for byte as it was, or else with a correct result (NaN and Inf data, an
 * empty batch, /dev/null).
 */
class CliHostileTest {
    @TempDir
    Path dir;
    Path x, w, b, out, odd;
    static final byte[] SENTINEL = "previous output, must survive".getBytes(StandardCharsets.US_ASCII);

    @BeforeEach
    void files() throws IOException {
        x = floats("x.f32", 50, 1); // 1,5,5,2
        w = floats("w.f32", 72, 2); // 3,3,2,4
        b = floats("b.f32", 4, 3);
        out = dir.resolve("out.f32");
        Files.write(out, SENTINEL);
        odd = dir.resolve("odd.f32");
        Files.write(odd, new byte[201]);
    }

    Path floats(String name, int n, int seed) throws IOException {
        ByteBuffer bb = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) bb.putFloat(((i * 37 + seed * 11) % 23 - 11) / 7f);
        return Files.write(dir.resolve(name), bb.array());
    }

    static final class Run {
        final int exit;
        final String out, err;

        Run(int exit, String out, String err) {
            this.exit = exit;
            this.out = out;
            this.err = err;
        }

        @Override
        public String toString() {
            return "exit " + exit + ", stdout [" + out + "], stderr [" + err + "]";
        }
    }

    static Run run(String... argv) {
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        int status = Main.run(argv, new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(e, true, StandardCharsets.UTF_8));
        return new Run(status, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    }

    /** Exit 2, one clear line on stderr, nothing else, output file untouched. */
    void refused(String... argv) throws IOException {
        Run r = run(argv);
        String what = String.join(" ", argv) + " -> " + r;
        assertEquals(2, r.exit, what);
        assertEquals("", r.out, what);
        String[] lines = r.err.split("\n", -1);
        assertEquals(2, lines.length, "exactly one line on stderr: " + what);
        assertTrue(lines[0].startsWith("conv4j: ") && lines[0].length() > 12, what);
        assertFalse(r.err.contains("Exception") || r.err.contains("\tat ") || r.err.contains("Error:"), "no stack trace: " + what);
        assertArrayEquals(SENTINEL, Files.readAllBytes(out), "the existing output file changed: " + what);
        try (Stream<Path> s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "temporary file left behind: " + what);
        }
    }

    /** The base conv command with `replace` applied: pairs of option, value (value null: drop it). */
    String[] conv(String... replace) {
        List<String> a = new ArrayList<>(List.of("conv", "--input", x.toString(), "--input-shape", "1,5,5,2", "--filter", w.toString(),
                "--filter-shape", "3,3,2,4", "--output", out.toString()));
        for (int i = 0; i < replace.length; i += 2) {
            int at = a.indexOf(replace[i]);
            if (at >= 0) {
                a.remove(at);
                a.remove(at);
            }
            if (replace[i + 1] != null) {
                a.add(replace[i]);
                a.add(replace[i + 1]);
            }
        }
        return a.toArray(new String[0]);
    }

    static Stream<Arguments> badOptions() {
        String big = "9223372036854775807";
        return Stream.of(
                // shapes: rank, sign, overflow, junk, empty, beyond int, zero-size, too large to hold
                Arguments.of("--input-shape", "1,5,5"), Arguments.of("--input-shape", "-1,5,5,2"),
                Arguments.of("--input-shape", big + "," + big + ",1,1"), Arguments.of("--input-shape", "1,5,5,2x"),
                Arguments.of("--input-shape", ""), Arguments.of("--input-shape", "1,2147483648,1,2"),
                Arguments.of("--input-shape", "1,0,5,2"), Arguments.of("--input-shape", "1,5,0,2"),
                Arguments.of("--input-shape", "0,5,5,2"), Arguments.of("--input-shape", "1,100000,100000,2"),
                Arguments.of("--input-shape", "1,5,5,3"), Arguments.of("--input-shape", "3,1,1,2147483647"),
                Arguments.of("--filter-shape", "3,3,2"), Arguments.of("--filter-shape", "9,9,2,4"),
                Arguments.of("--filter-shape", "3,3,3,4"), Arguments.of("--filter-shape", "3,3,2,0"),
                Arguments.of("--filter-shape", "2147483647,2147483647,2,4"),
                // strides, dilations, padding, groups: zero, negative, malformed, huge
                Arguments.of("--strides", "0,1"), Arguments.of("--strides", "-1"), Arguments.of("--strides", "1,2,3"),
                Arguments.of("--strides", big + ",1"), Arguments.of("--strides", "abc"), Arguments.of("--strides", "2147483648,1"),
                Arguments.of("--dilations", "2147483647,1"), Arguments.of("--dilations", "0,0"),
                Arguments.of("--padding", "0," + big + ",0,0"), Arguments.of("--padding", "1,2,3"),
                Arguments.of("--padding", "-1,0,0,0"), Arguments.of("--padding", "2147483647,2147483647,0,0"),
                Arguments.of("--padding", "1073741824,1073741824,1073741824,1073741824"), Arguments.of("--padding", "SAMEISH"),
                Arguments.of("--groups", "0"), Arguments.of("--groups", "3"), Arguments.of("--groups", "99999999999999999999"),
                Arguments.of("--algorithm", "nope"), Arguments.of("--activation", "sigmoid"),
                // files: missing, directory, wrong size, odd size, empty name
                Arguments.of("--input", "/nonexistent/x.f32"), Arguments.of("--input", "/"), Arguments.of("--input", ""),
                Arguments.of("--bias", "/nonexistent/b.f32"), Arguments.of("--input", "\0bad"),
                // outputs: missing directory, a directory, empty name
                Arguments.of("--output", "/nonexistent/dir/out.f32"), Arguments.of("--output", "/"), Arguments.of("--output", ""),
                // missing required options
                Arguments.of("--input", null), Arguments.of("--output", null), Arguments.of("--input-shape", null),
                Arguments.of("--filter", null), Arguments.of("--filter-shape", null));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("badOptions")
    void badOptionIsRefused(String option, String value) throws IOException {
        refused(conv(option, value));
    }

    @Test
    void filesOfTheWrongSizeOrKind() throws IOException, InterruptedException {
        refused(conv("--input", odd.toString()));
        refused(conv("--input", w.toString()));
        refused(conv("--input", dir.toString()));
        refused(conv("--filter", x.toString()));
        refused(conv("--bias", x.toString()));
        refused(conv("--bias", odd.toString()));
        refused(conv("--output", dir.toString()));
        Path fifo = dir.resolve("fifo");
        if (new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0 || Files.exists(fifo)) {
            refused(conv("--input", fifo.toString())); // must not block waiting for a writer
        }
    }

    @Test
    void outputThatIsAnInput() throws IOException {
        Files.write(out, SENTINEL);
        Path copy = dir.resolve("x-copy.f32");
        Files.copy(x, copy);
        byte[] before = Files.readAllBytes(copy);
        String[] a = conv("--input", copy.toString(), "--output", copy.toString());
        Run r = run(a);
        assertEquals(2, r.exit, r.toString());
        assertArrayEquals(before, Files.readAllBytes(copy), "the input was overwritten");
        Path link = dir.resolve("link-to-filter.f32");
        Files.createSymbolicLink(link, w);
        refused(conv("--output", link.toString(), "--bias", b.toString()));
        Path hard = dir.resolve("hard-link-to-bias.f32");
        Files.createLink(hard, b);
        refused(conv("--output", hard.toString(), "--bias", b.toString()));
    }

    @Test
    void outputThroughSymbolicLinks() throws IOException {
        Run direct = run(conv());
        assertEquals(0, direct.exit, direct.toString());
        byte[] want = Files.readAllBytes(out);
        // an existing file behind a relative link: the file is replaced, the link stays a link
        Path real = dir.resolve("real.f32");
        Files.write(real, SENTINEL);
        Path link = dir.resolve("link.f32");
        Files.createSymbolicLink(link, real.getFileName());
        Run r = run(conv("--output", link.toString()));
        assertEquals(0, r.exit, r.toString());
        assertTrue(Files.isSymbolicLink(link), "the link was replaced by a file");
        assertArrayEquals(want, Files.readAllBytes(real));
        // a dangling link is written through, as the shell's ">" would
        Path dangling = dir.resolve("dangling.f32");
        Files.createSymbolicLink(dangling, dir.resolve("created-through-link.f32"));
        r = run(conv("--output", dangling.toString()));
        assertEquals(0, r.exit, r.toString());
        assertTrue(Files.isSymbolicLink(dangling));
        assertArrayEquals(want, Files.readAllBytes(dir.resolve("created-through-link.f32")));
        // a loop of links is refused
        Path loopA = dir.resolve("loop-a"), loopB = dir.resolve("loop-b");
        Files.createSymbolicLink(loopA, loopB);
        Files.createSymbolicLink(loopB, loopA);
        Files.write(out, SENTINEL);
        refused(conv("--output", loopA.toString()));
    }

    @Test
    void helpAfterACommandPrintsTheUsage() {
        for (String cmd : List.of("conv", "grad", "stress", "bench", "info")) {
            Run r = run(cmd, "--help");
            assertEquals(0, r.exit, cmd + ": " + r);
            assertTrue(r.out.startsWith("usage: ") && r.out.contains(cmd), cmd + ": " + r);
            assertEquals("", r.err, cmd + ": " + r);
        }
    }

    @Test
    void unwritableOutput() throws IOException {
        Files.setPosixFilePermissions(out, PosixFilePermissions.fromString("r--r--r--"));
        try {
            assumeFalse(Files.isWritable(out), "running as root: permission bits do not stop writes");
            refused(conv());
        } finally {
            Files.setPosixFilePermissions(out, PosixFilePermissions.fromString("rw-r--r--"));
        }
    }

    @Test
    void duplicatedUnknownAndStrayArguments() throws IOException {
        String[] base = conv();
        refused(concat(base, "--input", x.toString()));
        refused(concat(base, "--flip", "--flip"));
        refused(concat(base, "--foo", "1"));
        refused(concat(base, "extra"));
        refused(concat(base, "--strides"));
        refused(concat(base, "--flip=yes"));
        refused(concat(base, "-"));
        refused("convv");
        refused("info", "extra");
        refused("conv");
    }

    static Stream<Arguments> badStress() {
        return Stream.of(new String[] {"--threads", "0"}, new String[] {"--threads", "-5"}, new String[] {"--threads", "100000"},
                new String[] {"--threads", "abc"}, new String[] {"--threads", "99999999999999999999"},
                new String[] {"--seconds", "0"}, new String[] {"--seconds", "-1"}, new String[] {"--seconds", "NaN"},
                new String[] {"--seconds", "Infinity"}, new String[] {"--seconds", "1e300"}, new String[] {"--seconds", "x"},
                new String[] {"--blas-threads", "0"}, new String[] {"--blas-threads", "1000"}, new String[] {"--conv-threads", "0"},
                new String[] {"--conv-threads", "5000"}, new String[] {"--seed", "x"}, new String[] {"--threads", "2", "--threads", "3"},
                new String[] {"positional"}, new String[] {"--unknown", "1"}, new String[] {"--threads"},
                new String[] {"--flip"}).map(a -> Arguments.of((Object) a));
    }

    @ParameterizedTest(name = "stress {0}")
    @MethodSource("badStress")
    void badStressOptionsAreRefused(String[] args) throws IOException {
        refused(concat(new String[] {"stress"}, args));
    }

    static String[] concat(String[] a, String... more) {
        String[] r = Arrays.copyOf(a, a.length + more.length);
        System.arraycopy(more, 0, r, a.length, more.length);
        return r;
    }

    // ------------------------------------------------------------------ hostile but valid

    static float[] read(Path p) throws IOException {
        byte[] bytes = Files.readAllBytes(p);
        float[] f = new float[bytes.length / 4];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
        return f;
    }

    @Test
    void nanAndInfinityPropagate() throws IOException {
        float[] xs = read(x);
        xs[12] = Float.NaN; // (0, 1, 1, 0)
        xs[41] = Float.POSITIVE_INFINITY; // (0, 4, 0, 1)
        ByteBuffer bb = ByteBuffer.allocate(xs.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : xs) bb.putFloat(v);
        Path nx = Files.write(dir.resolve("nan.f32"), bb.array());
        Run r = run(conv("--input", nx.toString(), "--padding", "SAME"));
        assertEquals(0, r.exit, r.toString());
        float[] y = read(out), ws = read(w);
        assertEquals(1 * 5 * 5 * 4, y.length);
        // the reference in double: NaN and Inf propagate the same way through sums of products
        io.conv4j.ConvGeometry g = io.conv4j.ConvGeometry.of(io.conv4j.Shape.of(1, 5, 5, 2), io.conv4j.Shape.of(3, 3, 2, 4),
                io.conv4j.Conv2dOptions.builder().padding(io.conv4j.Padding.SAME).build());
        double[][] ref = io.conv4j.FuzzSupport.reference(io.conv4j.FuzzSupport.rowMajor(xs, new long[] {1, 5, 5, 2}),
                io.conv4j.FuzzSupport.rowMajor(ws, new long[] {3, 3, 2, 4}), null, g, false, io.conv4j.Activation.NONE);
        int nonFinite = 0;
        for (int i = 0; i < y.length; i++) {
            double want = ref[0][i];
            if (Double.isNaN(want) || Double.isInfinite(want)) {
                nonFinite++;
                assertTrue(Float.isNaN(y[i]) || (Float.isInfinite(y[i]) && Math.signum(y[i]) == Math.signum(want)),
                        "element " + i + " got " + y[i] + " want " + want);
            } else {
                assertTrue(Math.abs(y[i] - want) <= 1e-5 * ref[1][i], "element " + i + " got " + y[i] + " want " + want);
            }
        }
        assertTrue(nonFinite > 0, "the NaN/Inf reached no output?");
    }

    @Test
    void emptyBatchWritesAnEmptyOutput() throws IOException {
        Path empty = Files.write(dir.resolve("empty.f32"), new byte[0]);
        Run r = run(conv("--input", empty.toString(), "--input-shape", "0,5,5,2"));
        assertEquals(0, r.exit, r.toString());
        assertEquals(0, Files.size(out));
    }

    @Test
    void deviceOutputIsWrittenInPlace() throws IOException {
        Path devNull = Path.of("/dev/null");
        assumeFalse(!Files.exists(devNull) || Files.isRegularFile(devNull));
        Run r = run(conv("--output", devNull.toString()));
        assertEquals(0, r.exit, r.toString());
        assertFalse(Files.isRegularFile(devNull), "/dev/null must not be replaced by a regular file");
    }

    @Test
    void aGoodRunReplacesTheOutputWhole() throws IOException {
        Run r = run(conv("--bias", b.toString(), "--activation", "relu"));
        assertEquals(0, r.exit, r.toString());
        assertTrue(r.out.startsWith("wrote "), r.out);
        assertEquals("", r.err);
        assertEquals(3 * 3 * 4 * 4, Files.size(out));
    }

    @Test
    void stressComparesBitForBit() {
        float a = 1.5f, next = Math.nextUp(a);
        assertTrue(StressCommand.sameBits(new float[] {a, 2f}, new float[] {a, 2f}));
        assertFalse(StressCommand.sameBits(new float[] {a, 2f}, new float[] {next, 2f}), "one ulp apart");
        assertFalse(StressCommand.sameBits(new float[] {0f}, new float[] {-0f}), "signed zeros");
        assertFalse(StressCommand.sameBits(new float[] {Float.intBitsToFloat(0x7fc00001)}, new float[] {Float.NaN}), "NaN payloads");
        assertFalse(StressCommand.sameBits(new float[] {a}, new float[] {a, a}));
        assertFalse(StressCommand.sameBits(null, new float[0]));
    }
}
