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
        Path p = path(option, file);
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

    /**
     * Writes to a temporary file beside {@code file} and renames it over {@code file}, so an existing
     * file is either replaced whole or left untouched.
     */
    static void write(String option, String file, float[] data) throws UsageException {
        Path target = checkWritable(option, file);
        Path dir = target.getParent();
        if (Files.exists(target) && !Files.isRegularFile(target)) {
            // a device or FIFO (/dev/null, /dev/stdout): written in place, never replaced by a rename
            writeInPlace(option, file, target, data);
            return;
        }
        Path tmp = null;
        try {
            tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writeAll(ch, data);
                ch.force(true);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException | SecurityException e) {
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

    /** Bytes read or written per system call: large files pass through this, never whole. */
    private static final int CHUNK_BYTES = 1 << 20;

    private static void writeAll(FileChannel ch, float[] data) throws IOException {
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

    /**
     * Checks, before anything is computed, that {@code file} can be written: its directory exists
     * and is writable, it is not a directory, and an existing file is writable. Returns its path,
     * with symbolic links followed: the file a link names is replaced, the link stays a link.
     */
    static Path checkWritable(String option, String file) throws UsageException {
        Path target = followLinks(option, file, path(option, file).toAbsolutePath());
        Path dir = target.getParent();
        if (dir == null || !Files.isDirectory(dir)) throw new UsageException("--" + option + ": no such directory for " + file);
        if (Files.isDirectory(target)) throw new UsageException("--" + option + ": " + file + " is a directory");
        if (!Files.isWritable(dir) && (!Files.exists(target) || Files.isRegularFile(target))) {
            throw new UsageException("--" + option + ": cannot write " + file + ": directory " + dir + " is not writable");
        }
        if (Files.exists(target) && !Files.isWritable(target)) {
            throw new UsageException("--" + option + ": cannot write " + file + ": it is not writable");
        }
        return target;
    }

    /** The file a chain of symbolic links ends at (which need not exist yet), as the shell's ">" writes. */
    private static Path followLinks(String option, String file, Path p) throws UsageException {
        try {
            for (int hops = 0; Files.isSymbolicLink(p); hops++) {
                if (hops == 40) throw new UsageException("--" + option + ": too many levels of symbolic links: " + file);
                Path parent = p.getParent();
                p = parent.resolve(Files.readSymbolicLink(p));
            }
            return p;
        } catch (IOException | SecurityException e) {
            throw new UsageException("--" + option + ": cannot follow the link " + file + ": " + e.getMessage());
        }
    }

    /** Refuses an output that is (a link to) one of the inputs: it would be replaced while still needed. */
    static void checkDistinct(String option, String file, String otherOption, String other) throws UsageException {
        if (other == null) return;
        Path a = path(option, file), b = path(otherOption, other);
        try {
            if (Files.exists(a) && Files.exists(b) && Files.isSameFile(a, b)) {
                throw new UsageException("--" + option + " " + file + " is the same file as --" + otherOption);
            }
        } catch (IOException | SecurityException e) {
            throw new UsageException("--" + option + ": cannot check " + file + ": " + e.getMessage());
        }
    }

    private static Path path(String option, String file) throws UsageException {
        if (file.isEmpty()) throw new UsageException("--" + option + ": empty file name");
        try {
            return Path.of(file);
        } catch (java.nio.file.InvalidPathException e) {
            throw new UsageException("--" + option + ": invalid path \"" + file + "\": " + e.getReason());
        }
    }

    private static void writeInPlace(String option, String file, Path target, float[] data) throws UsageException {
        try (FileChannel ch = FileChannel.open(target, StandardOpenOption.WRITE)) {
            writeAll(ch, data);
        } catch (IOException | SecurityException e) {
            throw new UsageException("--" + option + ": cannot write " + file + ": " + e.getMessage());
        }
    }
}
