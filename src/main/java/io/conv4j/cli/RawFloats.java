package io.conv4j.cli;

import io.conv4j.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/** Raw little-endian float32 files with no header (the format of the golden reference vectors). */
final class RawFloats {
    private RawFloats() {}

    /** Reads a file that must hold exactly {@code shape.numElements()} floats. */
    static float[] read(String option, String file, Shape shape) throws UsageException {
        Path p = Path.of(file);
        long bytes;
        try {
            bytes = Files.size(p);
        } catch (NoSuchFileException e) {
            throw new UsageException("--" + option + ": no such file: " + file);
        } catch (IOException e) {
            throw new UsageException("--" + option + ": cannot read " + file + ": " + e.getMessage());
        }
        long want = shape.numElements();
        if (bytes % 4 != 0 || bytes / 4 != want) {
            throw new UsageException("--" + option + ": " + file + " has " + bytes + " bytes"
                    + (bytes % 4 != 0 ? " (not a whole number of floats)" : " = " + bytes / 4 + " floats")
                    + " but shape " + shape + " needs " + want + " floats (" + want * 4 + " bytes)");
        }
        if (want > Integer.MAX_VALUE - 8) throw new UsageException("--" + option + ": " + file + " too large");
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
            while (buf.hasRemaining()) {
                if (ch.read(buf) < 0) throw new UsageException("--" + option + ": " + file + " shrank while being read");
            }
            buf.flip();
            float[] out = new float[(int) want];
            buf.asFloatBuffer().get(out);
            return out;
        } catch (IOException e) {
            throw new UsageException("--" + option + ": cannot read " + file + ": " + e.getMessage());
        }
    }

    /**
     * Writes to a temporary file beside {@code file} and renames it over {@code file}, so an existing
     * file is either replaced whole or left untouched.
     */
    static void write(String option, String file, float[] data) throws UsageException {
        Path target = Path.of(file).toAbsolutePath();
        Path dir = target.getParent();
        if (dir == null || !Files.isDirectory(dir)) throw new UsageException("--" + option + ": no such directory for " + file);
        if (Files.isDirectory(target)) throw new UsageException("--" + option + ": " + file + " is a directory");
        Path tmp = null;
        try {
            tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
            ByteBuffer buf = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            buf.asFloatBuffer().put(data);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                while (buf.hasRemaining()) ch.write(buf);
                ch.force(true);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException e) {
            throw new UsageException("--" + option + ": cannot write " + file + ": " + e.getMessage());
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort: the target is untouched either way
                }
            }
        }
    }
}
