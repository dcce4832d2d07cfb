package io.conv4j.cli;

import io.conv4j.Shape;
import io.conv4j.internal.NpyHeader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A file of floats on the command line: raw little-endian float32 with no header (the format of
 * the golden reference vectors), whose shape the command line gives, or a NumPy {@code .npy}
 * file (C-order {@code '<f4'}), whose header gives it. A file is read as .npy when it starts
 * with the .npy magic or its name ends in {@code .npy}; an output is written as .npy when its
 * name ends in {@code .npy}.
 */
final class FloatFile {
    final String option, file;
    final Shape shape;
    private final Path path;
    private final long dataOffset;

    private FloatFile(String option, String file, Path path, Shape shape, long dataOffset) {
        this.option = option;
        this.file = file;
        this.path = path;
        this.shape = shape;
        this.dataOffset = dataOffset;
    }

    /**
     * Checks an input file before any of its data is read. {@code given} is the shape the command
     * line implies (null: none); {@code givenBy} says where it comes from ("--input-shape").
     * A raw file needs it; a .npy file's header must agree with it. {@code rank} > 0 demands that
     * many dimensions.
     */
    static FloatFile open(String option, String file, Shape given, String givenBy, int rank) throws UsageException {
        Path p = OutputFiles.path(option, file);
        long bytes;
        boolean npy;
        try {
            // a directory, device or FIFO is refused: its size says nothing, and a FIFO would block
            if (Files.isDirectory(p)) throw new UsageException("--" + option + ": " + file + " is a directory");
            if (Files.exists(p) && !Files.isRegularFile(p)) {
                throw new UsageException("--" + option + ": " + file + " is not a regular file");
            }
            bytes = Files.size(p);
            npy = file.endsWith(".npy") || startsWithMagic(p);
        } catch (NoSuchFileException e) {
            throw new UsageException("--" + option + ": no such file: " + file);
        } catch (IOException | SecurityException e) {
            throw new UsageException("--" + option + ": cannot read " + file + ": " + e.getMessage());
        }
        FloatFile f = npy ? openNpy(option, file, p) : null;
        Shape shape = f != null ? f.shape : given;
        if (shape == null) throw new UsageException("missing required option " + givenBy + " (or a .npy file for --" + option + ")");
        if (rank > 0 && shape.rank() != rank) {
            throw new UsageException("--" + option + " " + file + " has shape " + shape + ", which is not " + rank + "-dimensional");
        }
        if (f != null && given != null && !given.equals(f.shape)) {
            throw new UsageException("--" + option + " " + file + " has shape " + f.shape + " but " + givenBy + " is " + given);
        }
        long want = shape.numElements();
        // conv4j holds a tensor in one direct buffer (at most 2 GiB); checked before any byte count
        // is computed from `want`, which could overflow
        if (want > (Integer.MAX_VALUE - 8) / 4) {
            throw new UsageException("--" + option + ": shape " + shape + " has " + want
                    + " floats, more than the 2 GiB conv4j can hold in one tensor");
        }
        if (f != null) return f; // the header check already matched the file size with the shape
        if (bytes % 4 != 0 || bytes / 4 != want) {
            throw new UsageException("--" + option + ": " + file + " has " + bytes + " bytes"
                    + (bytes % 4 != 0 ? " (not a whole number of floats)" : " = " + bytes / 4 + " floats")
                    + " but shape " + shape + " needs " + want + " floats (" + want * 4 + " bytes)");
        }
        return new FloatFile(option, file, p, shape, 0);
    }

    private static boolean startsWithMagic(Path p) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(6);
            while (b.hasRemaining() && ch.read(b) >= 0) { /* a short file ends the loop */ }
            return NpyHeader.hasMagic(b.array(), b.position());
        }
    }

    private static FloatFile openNpy(String option, String file, Path p) throws UsageException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            NpyHeader h = NpyHeader.read(ch, file, false);
            Shape shape;
            try {
                shape = Shape.of(h.shape());
            } catch (IllegalArgumentException e) {
                throw new UsageException("--" + option + ": " + file + ": " + e.getMessage());
            }
            return new FloatFile(option, file, p, shape, h.dataOffset());
        } catch (IOException | SecurityException e) {
            throw new UsageException("--" + option + ": " + e.getMessage());
        }
    }

    /** The file's floats, read through a small buffer, so a large file is held once (as the float[]). */
    float[] read() throws UsageException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ch.position(dataOffset);
            float[] out = new float[(int) shape.numElements()];
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

    /** What an output file named {@code file} holds: .npy (header with {@code shape}) or raw floats. */
    static OutputFiles.Content content(String file, float[] data, Shape shape) {
        if (!file.endsWith(".npy")) return ch -> writeAll(ch, data);
        byte[] header = NpyHeader.encode(shape.toArray(), NpyHeader.FLOAT32);
        return ch -> {
            ByteBuffer h = ByteBuffer.wrap(header);
            while (h.hasRemaining()) ch.write(h);
            writeAll(ch, data);
        };
    }

    private static void writeAll(WritableByteChannel ch, float[] data) throws IOException {
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
}
