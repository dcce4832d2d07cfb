package io.conv4j.cli;

import io.conv4j.DType;
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
 * file (C-order {@code '<f4'}, or {@code '<f8'} for float64), whose header gives it. Raw files
 * hold the command's {@code --dtype} (float32 unless asked otherwise); a .npy file must hold it too. A file is read as .npy when it starts
 * with the .npy magic or its name ends in {@code .npy}; an output is written as .npy when its
 * name ends in {@code .npy}.
 */
final class FloatFile {
    final String option, file;
    final Shape shape;
    final DType dtype;
    private final Path path;
    private final long dataOffset;

    private FloatFile(String option, String file, Path path, Shape shape, long dataOffset, DType dtype) {
        this.option = option;
        this.dtype = dtype;
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
        return open(option, file, given, givenBy, rank, DType.FLOAT32);
    }

    /**
     * As {@link #open(String, String, Shape, String, int)} for a file of {@code dtype} elements; a
     * {@code rank} of 0 takes the 3, 4 or 5 dimensions of a 1-D, 2-D or 3-D convolution's tensors.
     */
    static FloatFile open(String option, String file, Shape given, String givenBy, int rank, DType dtype) throws UsageException {
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
        FloatFile f = npy ? openNpy(option, file, p, dtype) : null;
        Shape shape = f != null ? f.shape : given;
        if (shape == null) throw new UsageException("missing required option " + givenBy + " (or a .npy file for --" + option + ")");
        if (rank > 0 && shape.rank() != rank) {
            throw new UsageException("--" + option + " " + file + " has shape " + shape + ", which is not " + rank + "-dimensional");
        }
        if (rank == 0 && (shape.rank() < 3 || shape.rank() > 5)) {
            throw new UsageException("--" + option + " " + file + " has shape " + shape + ", which is not 4-dimensional (or 3- or"
                    + " 5-dimensional for a 1-D or 3-D convolution)");
        }
        if (f != null && given != null && !given.equals(f.shape)) {
            throw new UsageException("--" + option + " " + file + " has shape " + f.shape + " but " + givenBy + " is " + given);
        }
        long want = shape.numElements();
        int eb = dtype.bytes();
        String unit = dtype == DType.FLOAT32 ? "floats" : dtype + " values";
        // conv4j holds a tensor in one direct buffer (at most 2 GiB); checked before any byte count
        // is computed from `want`, which could overflow
        if (want > (Integer.MAX_VALUE - 8) / eb) {
            throw new UsageException("--" + option + ": shape " + shape + " has " + want
                    + " " + unit + ", more than the 2 GiB conv4j can hold in one tensor");
        }
        if (f != null) return f; // the header check already matched the file size with the shape
        if (bytes % eb != 0 || bytes / eb != want) {
            throw new UsageException("--" + option + ": " + file + " has " + bytes + " bytes"
                    + (bytes % eb != 0 ? " (not a whole number of " + unit + ")" : " = " + bytes / eb + " " + unit)
                    + " but shape " + shape + " needs " + want + " " + unit + " (" + want * eb + " bytes)");
        }
        return new FloatFile(option, file, p, shape, 0, dtype);
    }

    private static boolean startsWithMagic(Path p) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(6);
            while (b.hasRemaining() && ch.read(b) >= 0) { /* a short file ends the loop */ }
            return NpyHeader.hasMagic(b.array(), b.position());
        }
    }

    private static FloatFile openNpy(String option, String file, Path p, DType dtype) throws UsageException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            NpyHeader h = NpyHeader.read(ch, file, dtype == DType.FLOAT64);
            if (dtype == DType.FLOAT64 && !h.descr().equals(NpyHeader.FLOAT64)) {
                throw new UsageException("--" + option + ": " + file + " holds '" + h.descr() + "' but --dtype is float64: save"
                        + " arr.astype('<f8')");
            }
            Shape shape;
            try {
                shape = Shape.of(h.shape());
            } catch (IllegalArgumentException e) {
                throw new UsageException("--" + option + ": " + file + ": " + e.getMessage());
            }
            return new FloatFile(option, file, p, shape, h.dataOffset(), dtype);
        } catch (IOException | SecurityException e) {
            throw new UsageException("--" + option + ": " + e.getMessage());
        }
    }

    /** The file's floats, read through a small buffer, so a large file is held once (as the float[]). */
    float[] read() throws UsageException {
        float[] out = new float[(int) shape.numElements()];
        readChunks(out.length, Float.BYTES, (buf, at, n) -> buf.asFloatBuffer().get(out, at, n));
        return out;
    }

    /** The file's float64 values (a file opened with {@link DType#FLOAT64}), read through a small buffer. */
    double[] readDoubles() throws UsageException {
        double[] out = new double[(int) shape.numElements()];
        readChunks(out.length, Double.BYTES, (buf, at, n) -> buf.asDoubleBuffer().get(out, at, n));
        return out;
    }

    /** Moves {@code n} elements between a little-endian chunk and an array from index {@code at}. */
    private interface Chunk {
        void move(ByteBuffer buf, int at, int n);
    }

    private void readChunks(int count, int elementBytes, Chunk sink) throws UsageException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ch.position(dataOffset);
            ByteBuffer buf = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            int done = 0;
            while (done < count) {
                buf.clear().limit((int) Math.min(CHUNK_BYTES, (long) elementBytes * (count - done)));
                while (buf.hasRemaining()) {
                    if (ch.read(buf) < 0) throw new UsageException("--" + option + ": " + file + " shrank while being read");
                }
                buf.flip();
                int n = buf.remaining() / elementBytes;
                sink.move(buf, done, n);
                done += n;
            }
        } catch (IOException e) {
            throw new UsageException("--" + option + ": cannot read " + file + ": " + e.getMessage());
        }
    }

    /** Bytes read or written per system call: large files pass through this, never whole. */
    private static final int CHUNK_BYTES = 1 << 20;

    /** What an output file named {@code file} holds: .npy (header with {@code shape}) or raw floats. */
    static OutputFiles.Content content(String file, float[] data, Shape shape) {
        return content(file, shape, NpyHeader.FLOAT32, data.length, Float.BYTES, (buf, at, n) -> buf.asFloatBuffer().put(data, at, n));
    }

    /** What an output file named {@code file} holds for float64 data: .npy ('<f8') or raw doubles. */
    static OutputFiles.Content content(String file, double[] data, Shape shape) {
        return content(file, shape, NpyHeader.FLOAT64, data.length, Double.BYTES, (buf, at, n) -> buf.asDoubleBuffer().put(data, at, n));
    }

    private static OutputFiles.Content content(String file, Shape shape, String descr, int count, int elementBytes, Chunk source) {
        if (!file.endsWith(".npy")) return ch -> writeChunks(ch, count, elementBytes, source);
        byte[] header = NpyHeader.encode(shape.toArray(), descr);
        return ch -> {
            ByteBuffer h = ByteBuffer.wrap(header);
            while (h.hasRemaining()) ch.write(h);
            writeChunks(ch, count, elementBytes, source);
        };
    }

    private static void writeChunks(WritableByteChannel ch, int count, int elementBytes, Chunk source) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int done = 0; done < count; ) {
            int n = Math.min(CHUNK_BYTES / elementBytes, count - done);
            buf.clear();
            source.move(buf, done, n);
            buf.limit(elementBytes * n);
            while (buf.hasRemaining()) ch.write(buf);
            done += n;
        }
    }
}
