package io.conv4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The output-file policy every command shares ({@link OutputFiles}), tried on {@code grad} (four
 * outputs) and {@code conv}: an output that is an input or another output (by name, symbolic link
 * or hard link) is refused naming both; a bad later output leaves earlier ones untouched; a
 * replaced file keeps its mode and a new one gets the mode of any new file.
 */
class OutputPolicyTest {
    @TempDir
    Path dir;
    Path x, w, b, dy, dx, dw, db;
    static final byte[] SENTINEL = "previous output, must survive".getBytes(StandardCharsets.US_ASCII);

    @BeforeEach
    void files() throws IOException {
        CliHostileTest fixtures = new CliHostileTest();
        fixtures.dir = dir;
        x = fixtures.floats("x.f32", 50, 1); // 1,5,5,2
        w = fixtures.floats("w.f32", 72, 2); // 3,3,2,4
        b = fixtures.floats("b.f32", 4, 3);
        dy = fixtures.floats("dy.f32", 36, 4); // 1,3,3,4
        dx = Files.write(dir.resolve("dx.f32"), SENTINEL);
        dw = Files.write(dir.resolve("dw.f32"), SENTINEL);
        db = Files.write(dir.resolve("db.f32"), SENTINEL);
    }

    /** The grad command with `replace` applied: pairs of option, value (value null: drop it). */
    String[] grad(String... replace) {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        String[] base = {"--input", x.toString(), "--input-shape", "1,5,5,2", "--filter", w.toString(), "--filter-shape", "3,3,2,4",
                "--bias", b.toString(), "--grad-output", dy.toString(), "--grad-input-out", dx.toString(), "--grad-filter-out",
                dw.toString(), "--grad-bias-out", db.toString()};
        for (int i = 0; i < base.length; i += 2) m.put(base[i], base[i + 1]);
        for (int i = 0; i < replace.length; i += 2) {
            if (replace[i + 1] == null) m.remove(replace[i]);
            else m.put(replace[i], replace[i + 1]);
        }
        List<String> a = new ArrayList<>(List.of("grad"));
        m.forEach((k, v) -> {
            a.add(k);
            a.add(v);
        });
        return a.toArray(new String[0]);
    }

    Map<Path, byte[]> snapshot() throws IOException {
        Map<Path, byte[]> m = new HashMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) m.put(p, Files.readAllBytes(p));
            }
        }
        return m;
    }

    /** Exit 2, one line naming what it must name, and not one file in the folder changed or added. */
    void refused(String[] argv, String... mentions) throws IOException {
        Map<Path, byte[]> before = snapshot();
        CliHostileTest.Run r = CliHostileTest.run(argv);
        String what = String.join(" ", argv) + " -> " + r;
        assertEquals(2, r.exit, what);
        assertEquals("", r.out, what);
        assertEquals(1, r.err.lines().count(), "one line on stderr: " + what);
        assertTrue(r.err.startsWith("conv4j: "), what);
        for (String m : mentions) assertTrue(r.err.contains(m), "the message names " + m + ": " + what);
        Map<Path, byte[]> after = snapshot();
        assertEquals(before.keySet(), after.keySet(), "files added or removed: " + what);
        for (Path p : before.keySet()) assertArrayEquals(before.get(p), after.get(p), p + " changed: " + what);
    }

    @Test
    void aGoodGradWritesEveryOutput() throws IOException {
        CliHostileTest.Run r = CliHostileTest.run(grad());
        assertEquals(0, r.exit, r.toString());
        assertEquals(50 * 4, Files.size(dx));
        assertEquals(72 * 4, Files.size(dw));
        assertEquals(4 * 4, Files.size(db));
    }

    @Test
    void anOutputThatIsAnInputIsRefused() throws IOException {
        refused(grad("--grad-input-out", x.toString()), "--grad-input-out", "--input");
        refused(grad("--grad-filter-out", dy.toString()), "--grad-filter-out", "--grad-output");
        refused(grad("--grad-bias-out", b.toString()), "--grad-bias-out", "--bias");
        refused(grad("--output", w.toString()), "--output", "--filter");
        // the same file under another spelling, through a symbolic link, through a hard link
        refused(grad("--grad-input-out", dir.resolve(".").resolve("x.f32").toString()), "--grad-input-out", "--input");
        Path link = Files.createSymbolicLink(dir.resolve("link-to-x"), x.getFileName());
        refused(grad("--grad-input-out", link.toString()), "--grad-input-out", "--input");
        Path hard = Files.createLink(dir.resolve("hard-to-w"), w);
        refused(grad("--grad-filter-out", hard.toString()), "--grad-filter-out", "--filter");
    }

    @Test
    void twoOutputsThatAreOneFileAreRefused() throws IOException {
        refused(grad("--grad-filter-out", dx.toString()), "--grad-input-out", "--grad-filter-out");
        Path link = Files.createSymbolicLink(dir.resolve("link-to-dx"), dx);
        refused(grad("--grad-filter-out", link.toString()), "--grad-input-out", "--grad-filter-out");
        Path hard = Files.createLink(dir.resolve("hard-to-dw"), dw);
        refused(grad("--output", hard.toString()), "--grad-filter-out", "--output");
        // neither exists yet: one is a dangling link to the other
        Path fresh = dir.resolve("fresh.f32");
        Path dangling = Files.createSymbolicLink(dir.resolve("dangling"), fresh.getFileName());
        refused(grad("--grad-input-out", fresh.toString(), "--grad-bias-out", dangling.toString()), "--grad-input-out",
                "--grad-bias-out");
    }

    @Test
    void aBadLaterOutputLeavesTheEarlierOnesUntouched() throws IOException {
        Path loopA = dir.resolve("loop-a"), loopB = dir.resolve("loop-b");
        Files.createSymbolicLink(loopA, loopB);
        Files.createSymbolicLink(loopB, loopA);
        Path intoMissing = Files.createSymbolicLink(dir.resolve("into-missing"), dir.resolve("missing/dir/out.f32"));
        for (String bad : new String[] {intoMissing.toString(), loopA.toString(), dir.resolve("missing/out.f32").toString(),
                x.resolve("under-a-file.f32").toString(), dir.resolve("n".repeat(300)).toString(), dir.toString()}) {
            refused(grad("--grad-bias-out", bad), "--grad-bias-out");
            refused(grad("--output", bad), "--output");
        }
    }

    @Test
    void theNullDeviceMayTakeSeveralOutputs() throws IOException {
        CliHostileTest.Run r = CliHostileTest.run(grad("--grad-input-out", "/dev/null", "--grad-filter-out", "/dev/null"));
        assertEquals(0, r.exit, r.toString());
        assertArrayEquals(SENTINEL, Files.readAllBytes(dx));
        assertEquals(16, Files.size(db));
    }

    static Set<PosixFilePermission> mode(Path p) throws IOException {
        return Files.getPosixFilePermissions(p);
    }

    @Test
    void aReplacedFileKeepsItsModeAndANewFileGetsTheUsualOne() throws IOException {
        Files.setPosixFilePermissions(dx, PosixFilePermissions.fromString("rw-r-----"));
        Files.setPosixFilePermissions(dw, PosixFilePermissions.fromString("rw-rw-r--"));
        Path fresh = dir.resolve("fresh.f32");
        CliHostileTest.Run r = CliHostileTest.run(grad("--grad-bias-out", fresh.toString()));
        assertEquals(0, r.exit, r.toString());
        assertEquals(PosixFilePermissions.fromString("rw-r-----"), mode(dx));
        assertEquals(PosixFilePermissions.fromString("rw-rw-r--"), mode(dw));
        // what any new file in that folder gets: 0666 less the umask
        Path plain = dir.resolve("plain");
        try (OutputStream o = Files.newOutputStream(plain)) {
            o.write(1);
        }
        assertEquals(mode(plain), mode(fresh));
        Path out = dir.resolve("conv-out.f32");
        r = CliHostileTest.run("conv", "--input", x.toString(), "--input-shape", "1,5,5,2", "--filter", w.toString(), "--filter-shape",
                "3,3,2,4", "--output", out.toString());
        assertEquals(0, r.exit, r.toString());
        assertEquals(mode(plain), mode(out));
        try (Stream<Path> s = Files.list(dir)) {
            assertFalse(s.anyMatch(p -> p.toString().endsWith(".tmp")), "temporaries left");
        }
    }
}
