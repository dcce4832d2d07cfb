package io.conv4j.cli;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The output-file policy every command shares. A command names its input and output files, then
 * {@link #check()} validates all of them before any input is read: each file is resolved to the
 * file it really is (symbolic links followed, hard links compared by inode), an output that is an
 * input or another output is refused naming both, and every output's directory must exist and be
 * writable. Regular outputs get a temporary file beside them at once (proving they can be
 * written). {@link #commit()} writes every temporary in full and only then moves them all into
 * place, so a failure at any point leaves every existing file as it was, and
 * {@link #close()} (or a SIGTERM, see {@link Temporaries}) deletes temporaries not moved.
 *
 * <p>A target that is not a regular file (a pipe, FIFO, character device such as /dev/null, or a
 * standard stream named as /dev/stdout or /dev/fd/N) cannot be replaced: it is written directly,
 * streaming, after all temporaries are complete. A replaced file keeps its permission bits; a new
 * one gets the mode any new file gets (0666 less the umask).
 */
final class OutputFiles implements AutoCloseable {
    /** What goes into one output file. */
    interface Content {
        void writeTo(WritableByteChannel ch) throws IOException;
    }

    private static final class Output {
        final String option, file;
        final Path given;
        Path target; // links followed: the file that is replaced (regular or new outputs)
        boolean stream; // written directly to `given`, never replaced
        Object identity;
        Path tmp;
        Content content;

        Output(String option, String file, Path given) {
            this.option = option;
            this.file = file;
            this.given = given;
        }
    }

    private final List<String[]> inputs = new ArrayList<>();
    private final Map<String, Output> outputs = new LinkedHashMap<>();
    private boolean checked;

    /** An input file (null: the option was not given). */
    OutputFiles input(String option, String file) {
        if (file != null) inputs.add(new String[] {option, file});
        return this;
    }

    /** An output file (null: the option was not given). */
    OutputFiles output(String option, String file) throws UsageException {
        if (file != null) outputs.put(option, new Output(option, file, path(option, file)));
        return this;
    }

    /** Validates every output against the inputs and each other and reserves the temporaries. */
    OutputFiles check() throws UsageException {
        try {
            checkAll();
        } catch (UsageException | RuntimeException | Error e) {
            close(); // the temporaries reserved so far
            throw e;
        }
        checked = true;
        return this;
    }

    private void checkAll() throws UsageException {
        List<Output> done = new ArrayList<>();
        for (Output o : outputs.values()) {
            resolve(o);
            for (String[] in : inputs) {
                Object id = existingIdentity(in[0], in[1]);
                if (id != null && id.equals(o.identity)) {
                    throw new UsageException("--" + o.option + " " + o.file + " is the same file as --" + in[0] + " " + in[1]);
                }
            }
            for (Output earlier : done) {
                if (earlier.identity.equals(o.identity) && !(o.stream && isNullDevice(o.given))) {
                    throw new UsageException("--" + earlier.option + " " + earlier.file + " and --" + o.option + " " + o.file
                            + " name the same file");
                }
            }
            done.add(o);
        }
        for (Output o : outputs.values()) {
            if (o.stream) continue;
            try {
                o.tmp = Temporaries.create(o.target);
            } catch (IOException | SecurityException e) {
                throw new UsageException("--" + o.option + ": cannot write " + o.file + ": " + describe(e));
            }
        }
    }

    /** The content of an output named before {@link #check()}. */
    void put(String option, Content content) {
        Output o = outputs.get(option);
        if (o == null) throw new IllegalStateException("no output --" + option);
        o.content = content;
    }

    /** True if an output is this process's standard output (reports should then go to stderr). */
    boolean writesStandardOutput() {
        for (Output o : outputs.values()) {
            try {
                if (o.stream && Files.isSameFile(o.given, Path.of("/dev/stdout"))) return true;
            } catch (IOException | SecurityException | InvalidPathException e) {
                // no /dev/stdout here: nothing to compare with
            }
        }
        return false;
    }

    /** Writes every temporary in full, then the streamed outputs, then moves the temporaries into place. */
    void commit() throws UsageException {
        if (!checked) throw new IllegalStateException("check() first");
        for (Output o : outputs.values()) {
            if (o.content == null) throw new IllegalStateException("no content for --" + o.option);
        }
        for (Output o : outputs.values()) {
            if (o.stream) continue;
            try (FileChannel ch = FileChannel.open(o.tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                o.content.writeTo(ch);
                ch.force(true);
            } catch (IOException | SecurityException e) {
                throw new UsageException("--" + o.option + ": cannot write " + o.file + ": " + describe(e));
            }
            keepPermissions(o);
        }
        for (Output o : outputs.values()) {
            if (!o.stream) continue;
            // APPEND: a standard stream the shell opened with >> keeps what it holds; with > the
            // file is empty anyway, and pipes and devices ignore it
            try (FileChannel ch = FileChannel.open(o.given, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
                o.content.writeTo(ch);
            } catch (IOException | SecurityException e) {
                throw new UsageException("--" + o.option + ": cannot write " + o.file + ": " + describe(e));
            }
        }
        // all renames as one step that a SIGTERM's shutdown hook waits for: either every output is
        // replaced or (the hook having deleted the temporaries first) none is
        Temporaries.withoutShutdown(() -> {
            for (Output o : outputs.values()) {
                if (o.stream) continue;
                try {
                    try {
                        Files.move(o.tmp, o.target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    } catch (AtomicMoveNotSupportedException e) {
                        Files.move(o.tmp, o.target, StandardCopyOption.REPLACE_EXISTING);
                    }
                    Temporaries.moved(o.tmp);
                    o.tmp = null;
                } catch (IOException | SecurityException e) {
                    throw new UsageException("--" + o.option + ": cannot write " + o.file + ": " + describe(e));
                }
            }
        });
    }

    /** Deletes the temporaries not moved into place. */
    @Override
    public void close() {
        for (Output o : outputs.values()) {
            if (o.tmp != null) Temporaries.delete(o.tmp);
            o.tmp = null;
        }
    }

    /** One output written on its own under the same policy. */
    static void writeOne(String option, String file, Content content) throws UsageException {
        try (OutputFiles f = new OutputFiles().output(option, file).check()) {
            f.put(option, content);
            f.commit();
        }
    }

    // ------------------------------------------------------------------ resolution

    private static void resolve(Output o) throws UsageException {
        Path p = o.given;
        boolean viaDescriptor = isDescriptorPath(p.toAbsolutePath());
        Path followed = p.toAbsolutePath();
        try {
            for (int hops = 0; Files.isSymbolicLink(followed); hops++) {
                if (hops == 40) throw new UsageException("--" + o.option + ": too many levels of symbolic links: " + o.file);
                followed = followed.getParent().resolve(Files.readSymbolicLink(followed));
                viaDescriptor |= isDescriptorPath(followed);
            }
        } catch (IOException | SecurityException e) {
            throw new UsageException("--" + o.option + ": cannot follow the link " + o.file + ": " + describe(e));
        }
        if (Files.isDirectory(p)) throw new UsageException("--" + o.option + ": " + o.file + " is a directory");
        boolean exists = Files.exists(p);
        if (viaDescriptor || (exists && !Files.isRegularFile(p))) {
            // /dev/stdout, /dev/fd/N (links into /proc/self/fd, whose targets such as "pipe:[123]"
            // are no paths), pipes and devices: written where they are
            if (!exists) throw new UsageException("--" + o.option + ": no such file: " + o.file);
            if (!Files.isWritable(p)) throw new UsageException("--" + o.option + ": cannot write " + o.file + ": it is not writable");
            o.stream = true;
            o.identity = identity(o.option, o.file, p);
            return;
        }
        Path dir = followed.getParent();
        if (dir == null || !Files.isDirectory(dir)) throw new UsageException("--" + o.option + ": no such directory for " + o.file);
        if (!Files.isWritable(dir)) {
            throw new UsageException("--" + o.option + ": cannot write " + o.file + ": directory " + dir + " is not writable");
        }
        if (exists && !Files.isWritable(p)) throw new UsageException("--" + o.option + ": cannot write " + o.file + ": it is not writable");
        o.target = followed;
        if (exists) {
            o.identity = identity(o.option, o.file, p);
        } else {
            try { // a file still to be created is identified by its real directory and its name
                o.identity = dir.toRealPath().resolve(followed.getFileName()).toString();
            } catch (IOException | SecurityException e) {
                throw new UsageException("--" + o.option + ": cannot resolve " + o.file + ": " + describe(e));
            }
        }
    }

    private static boolean isDescriptorPath(Path p) {
        Path n = p.normalize();
        return n.startsWith("/proc") || n.startsWith("/dev/fd");
    }

    private static boolean isNullDevice(Path p) {
        try {
            return Files.isSameFile(p, Path.of("/dev/null"));
        } catch (IOException | SecurityException | InvalidPathException e) {
            return false;
        }
    }

    /** The identity of an existing file (device and inode where the platform has them), links followed. */
    private static Object identity(String option, String file, Path p) throws UsageException {
        try {
            Object key = Files.readAttributes(p, BasicFileAttributes.class).fileKey();
            return key != null ? key : p.toRealPath().toString();
        } catch (IOException | SecurityException e) {
            throw new UsageException("--" + option + ": cannot check " + file + ": " + describe(e));
        }
    }

    /** The identity of an input if it exists; a missing input is reported when it is read. */
    private static Object existingIdentity(String option, String file) throws UsageException {
        Path p = path(option, file);
        return Files.exists(p) ? identity(option, file, p) : null;
    }

    private static void keepPermissions(Output o) {
        try {
            if (Files.isRegularFile(o.target)) Files.setPosixFilePermissions(o.tmp, Files.getPosixFilePermissions(o.target));
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            // not a POSIX file system, or the target went away: the new file keeps the default mode
        }
    }

    static Path path(String option, String file) throws UsageException {
        if (file.isEmpty()) throw new UsageException("--" + option + ": empty file name");
        try {
            return Path.of(file);
        } catch (InvalidPathException e) {
            throw new UsageException("--" + option + ": invalid path \"" + file + "\": " + e.getReason());
        }
    }

    private static String describe(Exception e) {
        if (e instanceof NoSuchFileException) return "no such file or directory";
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m;
    }
}
