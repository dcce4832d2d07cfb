package io.conv4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.conv4j.Shape;
import io.conv4j.Tensor;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code conv} and {@code grad} on NumPy files written by a real numpy (src/test/resources/npy):
 * the results equal the raw-file path bit for bit, shapes come from the headers, a header that
 * disagrees with a shape option and every unsupported kind of .npy file is refused in one line.
 */
class NpyCommandTest {
    @TempDir
    Path dir;

    static String fixture(String name) {
        try {
            return Path.of(NpyCommandTest.class.getResource("/npy/" + name).toURI()).toString();
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    static CliHostileTest.Run ok(String... argv) {
        CliHostileTest.Run r = CliHostileTest.run(argv);
        assertEquals(0, r.exit, String.join(" ", argv) + " -> " + r);
        return r;
    }

    static void refused(String mention, String... argv) {
        CliHostileTest.Run r = CliHostileTest.run(argv);
        String what = String.join(" ", argv) + " -> " + r;
        assertEquals(2, r.exit, what);
        assertEquals(1, r.err.lines().count(), what);
        assertTrue(r.err.startsWith("conv4j: ") && r.err.contains(mention), "names " + mention + ": " + what);
        assertTrue(!r.err.contains("\tat "), what);
    }

    @Test
    void convOfNpyFilesEqualsConvOfRawFiles() throws IOException {
        Path rawOut = dir.resolve("y.f32"), npyOut = dir.resolve("y.npy"), mixedOut = dir.resolve("mixed.f32");
        ok("conv", "--input", fixture("x.f32"), "--input-shape", "1,5,5,2", "--filter", fixture("w.f32"), "--filter-shape", "3,3,2,4",
                "--bias", fixture("b.f32"), "--padding", "SAME", "--output", rawOut.toString());
        // no shape options: the headers give them; a version 2.0 input; a .npy output
        ok("conv", "--input", fixture("x_v2.npy"), "--filter", fixture("w.npy"), "--bias", fixture("b.npy"), "--padding", "SAME",
                "--output", npyOut.toString());
        // .npy beside raw, with a shape option that agrees with the header
        ok("conv", "--input", fixture("x.npy"), "--input-shape", "1,5,5,2", "--filter", fixture("w.f32"), "--filter-shape", "3,3,2,4",
                "--bias", fixture("b.npy"), "--padding", "SAME", "--output", mixedOut.toString());
        float[] raw = CliHostileTest.read(rawOut);
        try (Tensor y = Tensor.readNpy(npyOut)) {
            assertEquals(Shape.of(1, 5, 5, 4), y.shape());
            assertArrayEquals(raw, y.toArray(), "bit for bit"); // assertArrayEquals on floats compares bits (NaN too)
        }
        assertArrayEquals(Files.readAllBytes(rawOut), Files.readAllBytes(mixedOut));
    }

    @Test
    void gradOfNpyFilesEqualsGradOfRawFiles() throws IOException {
        List<String> raw = List.of("grad", "--input", fixture("x.f32"), "--input-shape", "1,5,5,2", "--filter", fixture("w.f32"),
                "--filter-shape", "3,3,2,4", "--grad-output", fixture("dy.f32"), "--grad-input-out", dir.resolve("dx.f32").toString(),
                "--grad-filter-out", dir.resolve("dw.f32").toString());
        List<String> npy = List.of("grad", "--input", fixture("x.npy"), "--filter", fixture("w.npy"), "--grad-output", fixture("dy.npy"),
                "--grad-input-out", dir.resolve("dx.npy").toString(), "--grad-filter-out", dir.resolve("dw.npy").toString());
        ok(raw.toArray(new String[0]));
        ok(npy.toArray(new String[0]));
        for (String g : new String[] {"dx", "dw"}) {
            try (Tensor t = Tensor.readNpy(dir.resolve(g + ".npy"))) {
                assertEquals(g.equals("dx") ? Shape.of(1, 5, 5, 2) : Shape.of(3, 3, 2, 4), t.shape());
                assertArrayEquals(CliHostileTest.read(dir.resolve(g + ".f32")), t.toArray(), g);
            }
        }
    }

    /** conv of x.npy and w.npy into y.npy, with options (pairs) added or replaced. */
    String[] conv(String... replace) {
        Map<String, String> m = new LinkedHashMap<>(Map.of("--input", fixture("x.npy"), "--filter", fixture("w.npy"), "--output",
                dir.resolve("y.npy").toString()));
        for (int i = 0; i < replace.length; i += 2) m.put(replace[i], replace[i + 1]);
        List<String> a = new ArrayList<>(List.of("conv"));
        m.forEach((k, v) -> a.addAll(List.of(k, v)));
        return a.toArray(new String[0]);
    }

    @Test
    void refusals() throws IOException {
        refused("--input-shape is [1, 5, 5, 3]", conv("--input-shape", "1,5,5,3"));
        refused("has shape [1, 5, 5, 2]", conv("--input-shape", "1,5,5,3"));
        refused("--filter-shape is [3, 3, 2, 5]", conv("--filter-shape", "3,3,2,5"));
        Path b5 = dir.resolve("b5.npy");
        try (Tensor t = Tensor.allocate(5)) {
            t.writeNpy(b5);
        }
        refused("has shape [5] but the filter's bias shape is [4]", conv("--bias", b5.toString()));
        refused("not 1-dimensional", conv("--bias", fixture("x.npy")));
        refused("4-dimensional", conv("--bias", fixture("b.npy"), "--input", fixture("b.npy")));
        for (String[] bad : new String[][] {{"fortran.npy", "Fortran order"}, {"bigendian.npy", "big-endian"}, {"int32.npy", "<i4"},
                {"object.npy", "object"}, {"x_f8.npy", "float64"}}) {
            refused(bad[1], conv("--input", fixture(bad[0])));
        }
        // a raw file needs its shape; a file named .npy must be one
        refused("missing required option --input-shape", conv("--input", fixture("x.f32")));
        Path fake = Files.copy(Path.of(fixture("x.f32")), dir.resolve("fake.npy"));
        refused("not a NumPy", conv("--input", fake.toString()));
        // a truncated .npy
        byte[] x = Files.readAllBytes(Path.of(fixture("x.npy")));
        Path cut = Files.write(dir.resolve("cut.npy"), Arrays.copyOf(x, x.length - 4));
        refused("declares", conv("--input", cut.toString()));
        assertTrue(Files.notExists(dir.resolve("y.npy")), "no output from a refused command");
    }
}
