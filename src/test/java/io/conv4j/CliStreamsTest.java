package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line's files as a real process sees them: {@code --output /dev/stdout} into a pipe
 * (the child's stdout is one), and a SIGTERM while a large output is being written, which must
 * leave no temporary file and the old output as it was.
 */
class CliStreamsTest {
    @TempDir
    Path dir;

    static Path floats(Path file, int n) throws IOException {
        ByteBuffer bb = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) bb.putFloat(((i * 37 + 11) % 23 - 11) / 7f);
        return Files.write(file, bb.array());
    }

    List<String> conv(Path x, String inShape, Path w, String fShape, String output) {
        List<String> cmd = new ArrayList<>(List.of(ForkedJvm.java().toString(), "-cp", ForkedJvm.classPath(), "io.conv4j.cli.Main",
                "conv", "--input", x.toString(), "--input-shape", inShape, "--filter", w.toString(), "--filter-shape", fShape,
                "--output", output));
        return cmd;
    }

    @Test
    void outputToStandardOutputThroughAPipe() throws IOException {
        Path x = floats(dir.resolve("x.f32"), 1 * 6 * 6 * 3), w = floats(dir.resolve("w.f32"), 3 * 3 * 3 * 2);
        Path file = dir.resolve("y.f32");
        ForkedJvm.Result toFile = ForkedJvm.exec(conv(x, "1,6,6,3", w, "3,3,3,2", file.toString()), 120);
        assertEquals(0, toFile.exit, toFile.toString());
        // ForkedJvm hands the child a pipe as stdout; keep the raw bytes, not a decoded string
        Process p = new ProcessBuilder(conv(x, "1,6,6,3", w, "3,3,3,2", "/dev/stdout")).start();
        p.getOutputStream().close();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Thread pump = new Thread(() -> {
            try (InputStream e = p.getErrorStream()) {
                e.transferTo(err);
            } catch (IOException ignored) {
                // the process is gone
            }
        });
        pump.start();
        byte[] out;
        try (InputStream in = p.getInputStream()) {
            out = in.readAllBytes();
        }
        try {
            assertTrue(p.waitFor(120, TimeUnit.SECONDS));
            pump.join();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        String errText = err.toString(StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), errText);
        assertArrayEquals(Files.readAllBytes(file), out, "stdout holds exactly the output floats; stderr: " + errText);
        assertTrue(errText.startsWith("wrote /dev/stdout"), "the report goes to stderr: " + errText);
    }

    @Test
    void sigtermWhileWritingLeavesNoTemporary() throws IOException, InterruptedException {
        // a 64 MiB output from a cheap convolution: 1x1 filter widening 1 channel to 16
        Path x = floats(dir.resolve("x.f32"), 1024 * 1024), w = floats(dir.resolve("w.f32"), 16);
        byte[] old = "the previous output".getBytes(StandardCharsets.US_ASCII);
        Path out = Files.write(dir.resolve("y.f32"), old);
        for (int attempt = 0; attempt < 3; attempt++) {
            Process p = new ProcessBuilder(conv(x, "1,1024,1024,1", w, "1,1,1,16", out.toString()))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            boolean sawTemporary = false;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (p.isAlive() && System.nanoTime() < deadline) {
                if (temporaries().length > 0) {
                    sawTemporary = true;
                    p.destroy(); // SIGTERM: the JVM runs its shutdown hooks
                    break;
                }
                Thread.sleep(1);
            }
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the process ended");
            assertEquals(0, temporaries().length, "temporaries left behind: " + String.join(", ", temporaries()));
            if (sawTemporary && p.exitValue() != 0) {
                assertArrayEquals(old, Files.readAllBytes(out), "the old output survives a terminated run");
                return;
            }
            Files.write(out, old); // it finished before SIGTERM came: try again
        }
        throw new AssertionError("never caught the command while it held a temporary file");
    }

    String[] temporaries() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp")).toArray(String[]::new);
        }
    }
}
