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

    /** Floats per read or write: a large file passes through this, never whole. */
    private static final int CHUNK_FLOATS = 1 << 18;

    static Tensor read(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            NpyHeader h = NpyHeader.read(ch, file.toString());
            Shape shape = Shape.of(h.shape());
            Tensor t = Tensor.allocate(shape);
            try {
                Tensor flat = t.reshape(Shape.of(shape.numElements()));
                ByteBuffer buf = ByteBuffer.allocate(CHUNK_FLOATS * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                for (long done = 0, n = shape.numElements(); done < n; ) {
                    int k = (int) Math.min(CHUNK_FLOATS, n - done);
                    buf.clear().limit(k * Float.BYTES);
                    while (buf.hasRemaining()) {
                        if (ch.read(buf) < 0) throw new IOException(file + ": .npy file shrank while being read");
                    }
                    float[] chunk = new float[k];
                    buf.flip().asFloatBuffer().get(chunk);
                    flat.slice(0, done, k).copyFrom(chunk);
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
        Tensor c = t.contiguous(); // a strided view is copied once; a contiguous tensor is read in place
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(ByteBuffer.wrap(NpyHeader.encode(t.shape().toArray())));
            long n = t.shape().numElements();
            Tensor flat = c.reshape(Shape.of(n));
            ByteBuffer buf = ByteBuffer.allocate(CHUNK_FLOATS * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            for (long done = 0; done < n; ) {
                int k = (int) Math.min(CHUNK_FLOATS, n - done);
                float[] chunk = new float[k];
                flat.slice(0, done, k).copyTo(chunk);
                buf.clear();
                buf.asFloatBuffer().put(chunk);
                buf.limit(k * Float.BYTES);
                while (buf.hasRemaining()) ch.write(buf);
                done += k;
            }
        } finally {
            if (c != t) c.close();
        }
    }
}
