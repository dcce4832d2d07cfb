package io.conv4j.cli;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The temporary files that outputs are written to before they are moved into place. A shutdown
 * hook (which the JVM runs on SIGTERM, SIGINT and System.exit) deletes the ones still in flight,
 * so an interrupted command leaves no half-written {@code .tmp} file behind.
 */
final class Temporaries {
    private Temporaries() {}

    private static final Object LOCK = new Object();
    private static final Set<Path> IN_FLIGHT = new HashSet<>();
    private static boolean hookInstalled;
    private static boolean shuttingDown;

    /**
     * Creates a new empty file beside {@code target}, named after it. It is created the way any new
     * file is (open with mode 0666, so the umask and default ACLs decide), not with
     * createTempFile's 0600. Creation and registration happen under one lock that the shutdown hook
     * also takes: a temporary created after the hook has run would never be deleted.
     */
    static Path create(Path target) throws IOException {
        Path dir = target.getParent();
        // the whole name, so a temporary that can be created proves the (shorter) final name can be too
        String base = "." + target.getFileName() + ".";
        synchronized (LOCK) {
            if (shuttingDown) throw new IOException("the JVM is shutting down");
            if (!hookInstalled) {
                Runtime.getRuntime().addShutdownHook(new Thread(Temporaries::deleteAll, "conv4j-temporaries"));
                hookInstalled = true;
            }
            for (int attempt = 0; ; attempt++) {
                Path tmp = dir.resolve(base + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + ".tmp");
                try {
                    Files.createFile(tmp);
                } catch (FileAlreadyExistsException e) {
                    if (attempt < 100) continue;
                    throw e;
                }
                IN_FLIGHT.add(tmp);
                return tmp;
            }
        }
    }

    /** Deletes {@code tmp} if it still exists; best effort. */
    static void delete(Path tmp) {
        synchronized (LOCK) {
            IN_FLIGHT.remove(tmp);
        }
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException | SecurityException ignored) {
            // best effort: the target is untouched either way
        }
    }

    /** {@code tmp} has been moved into place: nothing to delete any more. */
    static void moved(Path tmp) {
        synchronized (LOCK) {
            IN_FLIGHT.remove(tmp);
        }
    }

    /** A step that may throw {@code E}. */
    interface Step<E extends Exception> {
        void run() throws E;
    }

    /**
     * Runs {@code step} (the renames that put outputs in place) while the shutdown hook cannot
     * run: the hook waits for it, so a SIGTERM never leaves some outputs replaced and others not.
     */
    static <E extends Exception> void withoutShutdown(Step<E> step) throws E {
        synchronized (LOCK) {
            step.run();
        }
    }

    private static void deleteAll() {
        Set<Path> left;
        synchronized (LOCK) {
            shuttingDown = true;
            left = new HashSet<>(IN_FLIGHT);
            IN_FLIGHT.clear();
        }
        for (Path p : left) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException | SecurityException ignored) {
                // nothing more can be done while the JVM goes down
            }
        }
    }
}
