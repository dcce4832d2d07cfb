package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file mapped into a tensor and truncated afterwards: native code reading the vanished pages
 * would die of SIGBUS and take the JVM with it. Before a native call conv4j asks the JDK whether
 * a mapped buffer's pages are resident and, when they are not, loads them from Java, where a
 * page beyond the end of the file is an {@link InternalError}: the call is refused with an
 * {@link IllegalStateException} instead. Run in a child JVM, since without the guard it crashes.
 * (A truncation while the native call runs is not covered: see the README.)
 */
class MappedFileTest {

    @Test
    void truncatedMappedInputIsRefusedNotACrash(@TempDir Path dir) {
        ForkedJvm.Result r = ForkedJvm.run(List.of("-Xmx256m", "-XX:ErrorFile=" + dir.resolve("hs_err_%p.log")), Child.class.getName(), List.of(dir.resolve("x.f32").toString()), 120);
        assertEquals(0, r.exit, r.toString());
        assertTrue(r.out.contains("before truncation: ok"), r.toString());
        assertTrue(r.out.contains("refused: IllegalStateException"), r.toString());
        assertTrue(r.out.contains("truncated"), r.toString());
    }

    /** Maps a file as the input, convolves, truncates the file, convolves again. */
    public static final class Child {
        public static void main(String[] args) throws IOException {
            Shape in = Shape.of(1, 64, 64, 4);
            long bytes = in.numElements() * Float.BYTES;
            try (RandomAccessFile f = new RandomAccessFile(args[0], "rw"); Tensor w = Tensor.allocate(3, 3, 4, 4)) {
                f.setLength(bytes);
                MappedByteBuffer map = f.getChannel().map(FileChannel.MapMode.READ_WRITE, 0, bytes);
                map.order(ByteOrder.nativeOrder());
                Tensor x = Tensor.wrap(map, in);
                try (Tensor y = Conv2d.conv2d(x, w, Conv2dOptions.defaults())) {
                    System.out.println("before truncation: ok " + y.shape());
                }
                f.setLength(0);
                try (Tensor y = Conv2d.conv2d(x, w, Conv2dOptions.defaults())) {
                    System.out.println("after truncation: no error " + y.shape());
                } catch (IllegalStateException e) {
                    System.out.println("refused: IllegalStateException: " + e.getMessage());
                }
            }
        }
    }
}
