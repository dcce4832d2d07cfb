package io.conv4j.cli;

import io.conv4j.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Raw little-endian float32 files with no header (the format of the golden reference vectors). */
final class RawFloats {
    private RawFloats() {}

    /** Reads a file that must hold exactly {@code shape.numElements()} floats. */
    static float[] read(String option, String file, Shape shape) throws UsageException {
        Path p = OutputFiles.path(option, file);
        long bytes;
        try {
            // a directory, device or FIFO is refused: its size says nothing, and a FIFO would block
            if (Files.isDirectory(p)) throw new UsageException("--" + option + ": " + file + " is a directory");
            if (Files.exists(p) && !Files.isRegularFile(p)) {
                throw new UsageException("--" + option + ": " + file + " is not a regular file");
            }
            bytes = Files.size(p);
        } catch (NoSuchFileException e) {
            throw new UsageException("--" + option + ": no such file: " + file);
        } catch (IOException | SecurityException e) {
            throw new UsageException("--" + option + ": cannot read " + file + ": " + e.getMessage());
        }
        long want = shape.numElements();
        // conv4j holds a tensor in one direct buffer (at most 2 GiB); checked before any byte count
        // is computed from `want`, which could overflow
        if (want > (Integer.MAX_VALUE - 8) / 4) {
            throw new UsageException("--" + option + ": shape " + shape + " has " + want
                    + " floats, more than the 2 GiB conv4j can hold in one tensor");
        }
        if (bytes % 4 != 0 || bytes / 4 != want) {
            throw new UsageException("--" + option + ": " + file + " has " + bytes + " bytes"
                    + (bytes % 4 != 0 ? " (not a whole number of floats)" : " = " + bytes / 4 + " floats")
                    + " but shape " + shape + " needs " + want + " floats (" + want * 4 + " bytes)");
        }
        // through a small buffer, so a large file is held once (as the float[]), not twice
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            float[] out = new float[(int) want];
            ByteBuffer buf = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            int done = 0;
            while (done < out.length) {
                buf.clear().limit((int) Math.min(CHUNK_BYTES, 4L * (out.length - done)));
                while (buf.hasRemaining()) {
                    if (ch.read(buf) < 0) throw new UsageException("--" + option + ": " + file + " shrank while being read");
                }
                buf.flip();
                int n = buf.remaining() / 4;
                buf.asFloatBuffer().get(out, done, n);
                done += n;
            }
            return out;
        } catch (IOException e) {
            throw new UsageException("--" + option + ": cannot read " + file + ": " + e.getMessage());
        }
    }

    /** Bytes read or written per system call: large files pass through this, never whole. */
    private static final int CHUNK_BYTES = 1 << 20;

    static void writeAll(WritableByteChannel ch, float[] data) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int done = 0; done < data.length; ) {
            int n = Math.min(CHUNK_BYTES / 4, data.length - done);
            buf.clear();
            buf.asFloatBuffer().put(data, done, n);
            buf.limit(4 * n);
            while (buf.hasRemaining()) ch.write(buf);
            done += n;
        }
    }

    /** The content of a raw file holding {@code data}, written through a small buffer. */
    static OutputFiles.Content content(float[] data) {
        return ch -> writeAll(ch, data);
    }
}
