package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line as a real process (the exit status the shell sees, System.exit included): a
 * good run, hostile runs that must end with status 2 and one line, and a JVM that cannot even load
 * the native library. A native crash would show here as status 134 and an hs_err file.
 */
class CliProcessTest {
    @TempDir
    Path dir;

    ForkedJvm.Result main(List<String> jvm, String... args) {
        return ForkedJvm.run(jvm, "io.conv4j.cli.Main", List.of(args), 120);
    }

    static void oneLine(ForkedJvm.Result r) {
        assertEquals(2, r.exit, r.toString());
        assertEquals(1, r.err.lines().count(), "one line on stderr: " + r);
        assertTrue(r.err.startsWith("conv4j: "), r.toString());
        assertFalse(r.err.contains("\tat ") || r.out.contains("\tat "), "no stack trace: " + r);
    }

    @Test
    void exitStatusesOfARealProcess() throws IOException {
        ByteBuffer bb = ByteBuffer.allocate(4 * 4 * 4 * 3 * 4).order(ByteOrder.LITTLE_ENDIAN);
        while (bb.hasRemaining()) bb.putFloat(bb.position() / 100f);
        Path x = Files.write(dir.resolve("x.f32"), bb.array());
        Path w = Files.write(dir.resolve("w.f32"), new byte[2 * 2 * 3 * 5 * 4]);
        Path out = dir.resolve("y.f32");
        List<String> conv = new ArrayList<>(List.of("conv", "--input", x.toString(), "--input-shape", "4,4,4,3", "--filter", w.toString(),
                "--filter-shape", "2,2,3,5", "--output", out.toString()));
        ForkedJvm.Result ok = main(List.of(), conv.toArray(new String[0]));
        assertEquals(0, ok.exit, ok.toString());
        assertEquals(4 * 3 * 3 * 5 * 4, Files.size(out));
        byte[] good = Files.readAllBytes(out);

        List<String> same = new ArrayList<>(conv);
        same.set(same.indexOf("--output") + 1, x.toString());
        oneLine(main(List.of(), same.toArray(new String[0])));
        List<String> huge = new ArrayList<>(conv);
        huge.addAll(List.of("--padding", "0,2147483647,0,0"));
        oneLine(main(List.of(), huge.toArray(new String[0])));
        oneLine(main(List.of(), "stress", "--threads", "-1"));
        // the native library cannot be extracted: still one line, status 2
        oneLine(main(List.of("-Djava.io.tmpdir=" + dir.resolve("missing")), conv.toArray(new String[0])));
        assertArrayEquals(good, Files.readAllBytes(out), "failed runs left the output alone");
        // many callers into a multi-threaded OpenBLAS, at conv4j's cap on concurrent callers (above
        // it OpenBLAS 0.3.31 corrupted its heap and aborted the JVM), and one above the cap
        int cap = io.conv4j.internal.ConvExecutor.maxThreads();
        ForkedJvm.Result busy = main(List.of("-Xmx256m"), "stress", "--threads", "200", "--seconds", "2", "--blas-threads", "2",
                "--conv-threads", "" + Math.min(cap, 1024));
        assertEquals(0, busy.exit, busy.toString());
        String all = busy.out + busy.err;
        assertFalse(all.contains("OpenBLAS warning") || all.contains("Program is Terminated"), "OpenBLAS complained: " + busy);
        if (cap < 1024) oneLine(main(List.of(), "stress", "--conv-threads", "" + (cap + 1)));
        try (var s = Files.list(Path.of("."))) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith("hs_err")), "a JVM crashed");
        }
    }
}
