package io.conv4j;

import io.conv4j.internal.NpyHeader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;

/** {@link Tensor#readNpy} and {@link Tensor#writeNpy}: NumPy files streamed through a small buffer. */
final class NpyFiles {
    private NpyFiles() {}

    /** Bytes per read or write: a large file passes through this, never whole. */
    private static final int CHUNK_BYTES = 1 << 20;

    static Tensor read(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            NpyHeader h = NpyHeader.read(ch, file.toString(), true);
            DType dtype = h.descr().equals(NpyHeader.FLOAT64) ? DType.FLOAT64 : DType.FLOAT32;
            Shape shape = Shape.of(h.shape());
            Tensor t = Tensor.allocate(dtype, shape);
            try {
                // an empty array has no data to read; its dimensions may be too large to give it strides for a flat view
                if (shape.numElements() == 0) return t;
                Tensor flat = t.reshape(Shape.of(shape.numElements()));
                int per = CHUNK_BYTES / dtype.bytes();
                ByteBuffer buf = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
                for (long done = 0, n = shape.numElements(); done < n; ) {
                    int k = (int) Math.min(per, n - done);
                    buf.clear().limit(k * dtype.bytes());
                    while (buf.hasRemaining()) {
                        if (ch.read(buf) < 0) throw new IOException(file + ": .npy file shrank while being read");
                    }
                    buf.flip();
                    Tensor part = flat.slice(0, done, k);
                    if (dtype == DType.FLOAT64) {
                        double[] chunk = new double[k];
                        buf.asDoubleBuffer().get(chunk);
                        part.copyFrom(chunk);
                    } else {
                        float[] chunk = new float[k];
                        buf.asFloatBuffer().get(chunk);
                        part.copyFrom(chunk);
                    }
                    done += k;
                }
                return t;
            } catch (IOException | RuntimeException | Error e) {
                t.close();
                throw e;
            }
        }
    }

    static void write(Tensor t, Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        if (!t.isOpen()) throw new IllegalStateException("tensor is closed");
        DType dtype = t.dtype();
        // a strided view is copied once; a contiguous tensor is read in place; an empty one has nothing to copy
        Tensor c = t.shape().numElements() == 0 ? t : t.contiguous();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            String descr = dtype == DType.FLOAT64 ? NpyHeader.FLOAT64 : NpyHeader.FLOAT32;
            ByteBuffer header = ByteBuffer.wrap(NpyHeader.encode(t.shape().toArray(), descr));
            while (header.hasRemaining()) ch.write(header);
            long n = t.shape().numElements();
            if (n == 0) return;
            Tensor flat = c.reshape(Shape.of(n));
            int per = CHUNK_BYTES / dtype.bytes();
            ByteBuffer buf = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            for (long done = 0; done < n; ) {
                int k = (int) Math.min(per, n - done);
                Tensor part = flat.slice(0, done, k);
                buf.clear();
                if (dtype == DType.FLOAT64) {
                    double[] chunk = new double[k];
                    part.copyTo(chunk);
                    buf.asDoubleBuffer().put(chunk);
                } else {
                    float[] chunk = new float[k];
                    part.copyTo(chunk);
                    buf.asFloatBuffer().put(chunk);
                }
                buf.limit(k * dtype.bytes());
                while (buf.hasRemaining()) ch.write(buf);
                done += k;
            }
        } finally {
            if (c != t) c.close();
        }
    }
}
