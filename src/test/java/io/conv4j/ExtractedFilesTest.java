package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * conv4j extracts its JNI library and OpenBLAS from the class path to a temporary directory. A JVM
 * that crashes or is killed runs no shutdown hooks (so no deleteOnExit): the copies must already
 * be gone once they are loaded, or every crash of a service would leave ~40 MB behind.
 */
class ExtractedFilesTest {

    /** In a fresh JVM with its own java.io.tmpdir: load conv4j, convolve, then halt as a crash would. */
    public static void main(String[] args) {
        float[] out = Conv2d.conv2d(new float[][][][] {{{{1f}, {2f}}, {{3f}, {4f}}}}, new float[][][][] {{{{1f}}}})[0][1][1];
        System.out.println("conv " + out[0]);
        Runtime.getRuntime().halt(0);
    }

    @Test
    void noExtractedFileOutlivesAJvmThatDiesWithoutShutdownHooks(@TempDir Path tmp) throws IOException {
        ForkedJvm.Result r = ForkedJvm.run(List.of("-Djava.io.tmpdir=" + tmp), ExtractedFilesTest.class.getName(), List.of(), 60);
        assertEquals(0, r.exit, r.toString());
        assertEquals("conv 4.0", r.out.strip(), r.toString());
        try (Stream<Path> left = Files.walk(tmp)) {
            assertEquals(List.of(), left.filter(p -> !p.equals(tmp)).map(Path::toString).collect(Collectors.toList()),
                    "files left in java.io.tmpdir");
        }
    }
}
