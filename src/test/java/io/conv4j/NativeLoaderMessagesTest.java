package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an operator sees from the native loader, each case in a fresh JVM (the loader runs once per
 * process): where the libraries are unpacked ({@code conv4j.native.dir}), what a directory that
 * cannot be written says, and the DEBUG log of what was loaded from where.
 */
class NativeLoaderMessagesTest {

    /** Loads conv4j and convolves; prints the loader's error and exits 3 if that fails. */
    public static void main(String[] args) {
        try {
            float[] y = Conv2d.conv2d(new float[][][][] {{{{1f}, {2f}}, {{3f}, {4f}}}}, new float[][][][] {{{{2f}}}})[0][1][1];
            System.out.println("conv " + y[0]);
        } catch (UnsatisfiedLinkError e) {
            System.out.println(e.getMessage());
            System.exit(3);
        }
    }

    private static ForkedJvm.Result load(String... jvmArgs) {
        return ForkedJvm.run(List.of(jvmArgs), NativeLoaderMessagesTest.class.getName(), List.of(), 60);
    }

    /** A JVM whose unpack directory lies under a regular file must say so, naming the directory and the property. */
    private static void assertUnpackRefused(Path tmp, String property) throws IOException {
        Path dir = Files.writeString(tmp.resolve("a-file"), "").resolve("natives"); // a file is no parent
        ForkedJvm.Result r = load("-D" + property + "=" + dir);
        assertEquals(3, r.exit, r.toString());
        assertTrue(r.out.startsWith("conv4j: native library unavailable: cannot unpack native libraries into " + dir
                + " (from " + property + "): "), r.toString());
        assertTrue(r.out.strip().endsWith("; set the system property conv4j.native.dir to a writable directory"), r.toString());
    }

    @Test
    void aNativeDirThatCannotBeCreatedIsNamedWithTheProperty(@TempDir Path tmp) throws IOException {
        assertUnpackRefused(tmp, "conv4j.native.dir");
    }

    @Test
    void anUnwritableTemporaryDirectoryPointsToTheProperty(@TempDir Path tmp) throws IOException {
        assertUnpackRefused(tmp, "java.io.tmpdir");
    }

    @Test
    void theLibrariesAreUnpackedIntoTheNativeDirAndLoggedAtDebug(@TempDir Path tmp) throws IOException {
        Path dir = tmp.resolve("natives").resolve("conv4j"); // created with its parents
        Path logging = Files.writeString(tmp.resolve("logging.properties"), String.join("\n",
                "handlers=java.util.logging.ConsoleHandler",
                "java.util.logging.ConsoleHandler.level=FINE",
                "java.util.logging.SimpleFormatter.format=%4$s %5$s%n",
                "io.conv4j.level=FINE", ""));
        ForkedJvm.Result r = load("-Dconv4j.native.dir=" + dir, "-Djava.util.logging.config.file=" + logging,
                "-Dconv4j.threads=2");
        assertEquals(0, r.exit, r.toString());
        assertEquals("conv 8.0", r.out.strip(), r.toString());
        String unpacked = " (unpacked to " + dir + "/conv4j-";
        assertTrue(r.err.contains("FINE loaded libconv4j-"), r.toString());
        assertTrue(r.err.contains("io/conv4j/native/linux-x86_64/libconv4j-"), r.toString());
        assertTrue(r.err.contains("FINE binding OpenBLAS from jar:file:"), r.toString());
        assertTrue(r.err.contains("openblas-0.3.31-1.5.13-linux-x86_64.jar!/org/bytedeco/openblas/linux-x86_64/libopenblas.so.0"
                + unpacked), r.toString());
        assertTrue(r.err.contains("FINE BLAS " + dir + "/conv4j-"), r.toString());
        assertTrue(r.err.contains(": OpenBLAS 0.3.31 "), r.toString());
        assertTrue(r.err.contains("; BLAS threads 1 (conv4j.blas.threads); conv4j threads 2 (conv4j.threads)"), r.toString());
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(List.of(), left.map(Path::toString).collect(Collectors.toList()), "copies left in " + dir);
        }
    }
}
