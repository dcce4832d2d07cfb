package io.conv4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bench} in a plain clone (no shapes file: the built-in list) and with a file, and its
 * progress on stderr: stdout holds only the harness's CSV rows.
 */
class BenchCommandTest {
    static final String ROW = "conv4j,1,tiny_3x3_8x8x4,[0-9.]+,[0-9.]+";

    @Test
    void withoutAFileItTimesTheBuiltInShapes() {
        CliHostileTest.Run r = CliHostileTest.run("bench", "--threads", "1", "--shapes", "tiny_3x3_8x8x4");
        assertEquals(0, r.exit, r.toString());
        assertTrue(r.out.strip().matches(ROW), "one CSV row on stdout, nothing else: " + r);
        assertTrue(r.err.contains("# conv4j [1/1, "), "progress on stderr: " + r);
        // every shape of the harness's list is built in
        List<BenchCommand.BenchShape> all = assertDoesNotThrowLoad(null);
        assertEquals(12, all.size());
        assertTrue(all.stream().anyMatch(s -> s.name.equals("seed_5x5_n4") && s.n == 4 && s.kh == 5 && s.cout == 16));
    }

    static List<BenchCommand.BenchShape> assertDoesNotThrowLoad(String csv) {
        try {
            return BenchCommand.load(csv, Set.of());
        } catch (UsageException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aShapesFileStillWorks(@TempDir Path dir) throws IOException {
        Path csv = Files.writeString(dir.resolve("s.csv"), "name,N,H,W,Cin,KH,KW,Cout,stride,padding\nmine,1,6,6,2,3,3,2,1,SAME\n");
        CliHostileTest.Run r = CliHostileTest.run("bench", csv.toString(), "--threads", "1");
        assertEquals(0, r.exit, r.toString());
        assertTrue(r.out.strip().matches("conv4j,1,mine,[0-9.]+,[0-9.]+"), r.toString());
        CliHostileTest.Run missing = CliHostileTest.run("bench", dir.resolve("none.csv").toString(), "--threads", "1");
        assertEquals(2, missing.exit, missing.toString());
    }
}
