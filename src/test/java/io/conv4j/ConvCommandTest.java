package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.conv4j.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The {@code conv} command on every golden case, and its refusals (exit 2, one line, output untouched). */
class ConvCommandTest {
    @TempDir
    Path tmp;

    static List<GoldenCases.Case> cases() throws IOException {
        return GoldenCases.all();
    }

    /** Runs the command line in-process; returns {exit status, stdout, stderr}. */
    static Object[] run(String... argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(argv, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Object[] {status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
    }

    static String dims(Shape s) {
        return s.toString().replaceAll("[\\[\\] ]", "");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void reproducesGoldenOutput(GoldenCases.Case c) throws IOException {
        Path out = tmp.resolve(c.name + ".out.f32");
        List<String> argv = new ArrayList<>(List.of("conv", "--input", c.file("input").toString(), "--input-shape", dims(c.inputShape()),
                "--filter", c.file("filter").toString(), "--filter-shape", dims(c.filterShape()),
                "--strides", c.sh + "," + c.sw, "--dilations", c.dh + "," + c.dw, "--groups", String.valueOf(c.groups),
                "--padding", c.padding.equals("EXPLICIT") ? c.pt + "," + c.pb + "," + c.pl + "," + c.pr : c.padding,
                "--output", out.toString()));
        if (c.hasBias) argv.addAll(List.of("--bias", c.file("bias").toString()));
        if (c.flip) argv.add("--flip");
        Object[] r = run(argv.toArray(new String[0]));
        assertEquals(0, r[0], () -> "stderr: " + r[2]);
        float[] got = GoldenCases.readFloats(out), want = c.read("output");
        assertEquals(want.length, got.length);
        double[] scale = ReferenceConv2d.errorScale(c.read("input"), c.read("filter"), c.hasBias ? c.read("bias") : null,
                ConvGeometry.of(c.inputShape(), c.filterShape(), c.options()), c.flip);
        double[] wantD = new double[want.length];
        for (int i = 0; i < want.length; i++) wantD[i] = want[i];
        int bad = ReferenceConv2d.firstMismatch(got, wantD, scale, 1e-5);
        assertTrue(bad < 0, () -> c + ": element " + bad + " got " + got[bad] + " want " + want[bad]);
    }

    void refusedLeavingOutputUntouched(String part, String... extra) throws IOException {
        GoldenCases.Case c = GoldenCases.all().get(0);
        Path out = tmp.resolve("existing.f32");
        Files.write(out, new byte[] {1, 2, 3, 4});
        List<String> argv = new ArrayList<>(List.of("conv", "--input", c.file("input").toString(), "--input-shape", dims(c.inputShape()),
                "--filter", c.file("filter").toString(), "--filter-shape", dims(c.filterShape()), "--output", out.toString()));
        for (int i = 0; i < extra.length; i += 2) {
            int at = argv.indexOf(extra[i]);
            if (extra[i + 1] == null) { // remove the option and its value
                argv.remove(at + 1);
                argv.remove(at);
            } else if (at >= 0) {
                argv.set(at + 1, extra[i + 1]);
            } else {
                argv.add(extra[i]);
                if (!extra[i + 1].isEmpty()) argv.add(extra[i + 1]);
            }
        }
        Object[] r = run(argv.toArray(new String[0]));
        String err = (String) r[2];
        assertEquals(2, r[0], () -> "stderr: " + err);
        assertEquals(1, err.lines().count(), () -> "one line expected: " + err);
        assertTrue(err.startsWith("conv4j: ") && err.contains(part), () -> err + " lacks " + part);
        assertArrayEquals(new byte[] {1, 2, 3, 4}, Files.readAllBytes(out), "existing output file changed");
    }

    @Test
    void refusals() throws IOException {
        refusedLeavingOutputUntouched("has 3456 bytes = 864 floats but shape [2, 8, 12, 3] needs 576 floats", "--input-shape", "2,8,12,3");
        refusedLeavingOutputUntouched("missing required option --filter", "--filter", null);
        refusedLeavingOutputUntouched("no such file", "--input", tmp.resolve("nope.f32").toString());
        refusedLeavingOutputUntouched("--strides values must be >= 1", "--strides", "0,1");
        refusedLeavingOutputUntouched("padding must be VALID, SAME (SAME_UPPER), SAME_LOWER or T,B,L,R", "--padding", "1,2,3");
        refusedLeavingOutputUntouched("--input-shape must have 3, 4 or 5 dimensions", "--input-shape", "2,12");
        refusedLeavingOutputUntouched("unknown option --bogus", "--bogus", "");
        refusedLeavingOutputUntouched("kernel height 5 is larger than the padded input height 4", "--input-shape", "2,4,36,3");
        refusedLeavingOutputUntouched("activation must be none, relu or relu6", "--activation", "tanh");
    }

    @Test
    void duplicateOption() {
        Object[] r = run("conv", "--groups", "1", "--groups", "2");
        assertEquals(2, r[0]);
        assertTrue(((String) r[2]).contains("option --groups given twice"), (String) r[2]);
    }

    @Test
    void unknownCommandAndHelp() {
        Object[] r = run("frobnicate");
        assertEquals(2, r[0]);
        assertTrue(((String) r[2]).contains("unknown command"));
        Object[] h = run("help");
        assertEquals(0, h[0]);
        assertTrue(((String) h[1]).contains("conv "));
    }

    @Test
    void infoReportsWhatIsLoaded() {
        Object[] r = run("info");
        assertEquals(0, r[0]);
        String s = (String) r[1];
        assertTrue(s.contains("conv4j ") && s.contains("blas config: OpenBLAS 0.3.31") && s.contains("blas threads: 1")
                && s.contains("conv4j threads:"), s);
    }

    @Test
    void demoRunsAndAgrees() {
        Object[] r = run();
        assertEquals(0, r[0], () -> "stderr: " + r[2]);
        assertTrue(((String) r[1]).contains("results agree     : yes"), (String) r[1]);
    }
}
