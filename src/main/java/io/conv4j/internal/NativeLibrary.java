package io.conv4j.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReader;
import java.lang.module.ModuleReference;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;

/**
 * Loads conv4j's JNI library and binds OpenBLAS, once per class loader, with no
 * {@code -Djava.library.path}: both come from the class path or module path (conv4j's jar, with
 * one JNI library per supported platform, and the {@code org.bytedeco:openblas} jar of this
 * platform), are extracted to a private temporary directory,
 * loaded by absolute path, and deleted again once loaded.
 *
 * <p>System properties: {@code conv4j.blas.library} names another BLAS shared library to bind
 * instead (it must export {@code cblas_sgemm}); {@code conv4j.openblas.coretype} (or the
 * environment variable {@code CONV4J_OPENBLAS_CORETYPE}) is {@code auto} (default: the AVX-512
 * kernels wherever the CPU has AVX-512, which OpenBLAS 0.3.31 misses on e.g. AMD Zen 5),
 * {@code env} (OpenBLAS's own detection, honouring {@code OPENBLAS_CORETYPE}) or an OpenBLAS core
 * name; {@code conv4j.blas.threads} is OpenBLAS's thread count (default 1: conv4j parallelises
 * itself). conv4j's OpenBLAS is a private copy, so {@code OPENBLAS_CORETYPE} set for other
 * OpenBLAS users in the process does not steer it unless {@code env} is chosen.
 * {@code conv4j.native.dir} is where the libraries are unpacked (default {@code java.io.tmpdir}).
 */
public final class NativeLibrary {
    /**
     * The platforms conv4j ships natives for: {conv4j's name (the resource folder of its JNI library),
     * the {@code os.arch} values it covers, bytedeco's name (the OpenBLAS jar's classifier), the
     * runtime libraries OpenBLAS needs from its jar in load order (each one's dependencies first)}.
     */
    private static final String[][] PLATFORMS = {
        {"linux-x86_64", "amd64 x86_64", "linux-x86_64", "libquadmath.so.0 libgfortran.so.5"},
        {"linux-aarch64", "aarch64 arm64", "linux-arm64", "libgfortran.so.5"},
    };
    private static final String OPENBLAS_VERSION = "0.3.31-1.5.13";

    /** System property: the directory conv4j unpacks its native libraries into (default: java.io.tmpdir). */
    public static final String NATIVE_DIR_PROPERTY = "conv4j.native.dir";
    /**
     * Where the libraries came from, the BLAS core and the thread settings, at DEBUG: operators turn
     * it on in whatever backs System.Logger (java.util.logging's FINE by default).
     */
    private static final System.Logger LOG = System.getLogger("io.conv4j");

    private static final Object LOCK = new Object();
    private static volatile boolean loaded;
    private static Throwable failure;
    private static String version = "unknown";
    private static String blasPath = "";

    private NativeLibrary() {}

    /** Loads everything on first use; later calls return at once or rethrow the first failure. */
    public static void ensureLoaded() {
        if (loaded) return;
        synchronized (LOCK) {
            if (loaded) return;
            if (failure != null) throw failed(failure);
            try {
                load();
                loaded = true;
            } catch (Throwable t) {
                failure = t;
                throw failed(t);
            }
        }
    }

    private static UnsatisfiedLinkError failed(Throwable cause) {
        UnsatisfiedLinkError e = new UnsatisfiedLinkError("conv4j: native library unavailable: " + cause.getMessage());
        e.initCause(cause);
        return e;
    }

    public static String version() {
        ensureLoaded();
        return version;
    }

    public static String blasPath() {
        ensureLoaded();
        return blasPath;
    }

    /** {config, corename, threads, forced coretype, cpu has AVX-512}. */
    public static String[] blasInfo() {
        ensureLoaded();
        return NativeCore.blasInfo();
    }

    /**
     * MAX_THREADS from the bound BLAS's configuration string (OpenBLAS reports the thread bound
     * it was built with), or {@link Integer#MAX_VALUE} when it does not say.
     */
    public static int blasMaxThreads() {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("MAX_THREADS=(\\d{1,9})").matcher(blasInfo()[0]);
        return m.find() ? Math.max(1, Integer.parseInt(m.group(1))) : Integer.MAX_VALUE;
    }

    public static void setBlasThreads(int threads) {
        ensureLoaded();
        NativeCore.setBlasThreads(threads);
    }

    /**
     * {conv4j's platform name, bytedeco's, OpenBLAS's runtime libraries} for this JVM, or an error
     * naming it and the supported list.
     */
    static String[] platform(String osName, String arch) {
        String os = osName.toLowerCase(Locale.ROOT);
        if (os.startsWith("linux")) {
            for (String[] p : PLATFORMS) {
                if (List.of(p[1].split(" ")).contains(arch)) return new String[] {p[0], p[2], p[3]};
            }
        }
        StringBuilder supported = new StringBuilder();
        for (String[] p : PLATFORMS) supported.append(supported.length() == 0 ? "" : ", ").append(p[0]);
        throw new UnsatisfiedLinkError("conv4j ships native code for " + supported + " only; this JVM runs on "
                + osName + "/" + arch);
    }

    private static void load() throws IOException {
        String[] platform = platform(System.getProperty("os.name", ""), System.getProperty("os.arch", ""));
        version = readVersion();
        Path dir = unpackDirectory();
        dir.toFile().deleteOnExit();
        try {
            loadFrom(dir, platform[0], platform[1], platform[2].split(" "));
        } finally {
            // Linux keeps a loaded library mapped after its file is gone, so the copies go at once:
            // nothing is left behind even when the JVM later crashes or is killed
            deleteQuietly(dir);
        }
    }

    /** A fresh private directory under {@code conv4j.native.dir}, else under java.io.tmpdir. */
    private static Path unpackDirectory() throws IOException {
        String configured = System.getProperty(NATIVE_DIR_PROPERTY, "").trim();
        String setting = configured.isEmpty() ? "java.io.tmpdir" : NATIVE_DIR_PROPERTY;
        Path parent = Path.of(configured.isEmpty() ? System.getProperty("java.io.tmpdir", "") : configured).toAbsolutePath();
        try {
            if (!configured.isEmpty()) Files.createDirectories(parent);
            return Files.createTempDirectory(parent, "conv4j-");
        } catch (IOException | SecurityException | UnsupportedOperationException e) {
            throw new IOException("cannot unpack native libraries into " + parent + " (from " + setting + "): " + e
                    + "; set the system property " + NATIVE_DIR_PROPERTY + " to a writable directory", e);
        }
    }

    /** System.load, with a hint where the unpack directory cannot hold executable code. */
    private static void loadUnpacked(Path file, String origin) {
        try {
            System.load(file.toString());
        } catch (UnsatisfiedLinkError e) {
            UnsatisfiedLinkError hinted = new UnsatisfiedLinkError(e.getMessage() + " (unpacked into " + file.getParent()
                    + "; if that file system is mounted noexec, set the system property " + NATIVE_DIR_PROPERTY
                    + " to a directory that allows executing code)");
            hinted.initCause(e);
            throw hinted;
        }
        LOG.log(System.Logger.Level.DEBUG, "loaded {0} from {1} (unpacked to {2})", file.getFileName(), origin, file);
    }

    private static void deleteQuietly(Path dir) {
        try (java.util.stream.Stream<Path> files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) Files.deleteIfExists(f);
            Files.deleteIfExists(dir);
        } catch (IOException | SecurityException e) {
            // left to deleteOnExit
        }
    }

    private static void loadFrom(Path dir, String platform, String blasPlatform, String[] blasDependencies)
            throws IOException {
        String jniName = "libconv4j-" + version + ".so";
        String jniResource = "io/conv4j/native/" + platform + "/" + jniName;
        Path jni = dir.resolve(jniName);
        loadUnpacked(jni, extract(jniResource, jni, " (this conv4j jar was built without the " + platform
                + " natives: the release profile, mvn -Prelease install, builds them)"));

        String override = System.getProperty("conv4j.blas.library", "").trim();
        Path blas;
        if (!override.isEmpty()) {
            blas = Path.of(override).toAbsolutePath();
        } else {
            String resources = "org/bytedeco/openblas/" + blasPlatform + "/";
            String hint = " (add org.bytedeco:openblas:" + OPENBLAS_VERSION + ":" + blasPlatform
                    + " to the class path or module path)";
            for (String dep : blasDependencies) {
                loadUnpacked(dir.resolve(dep), extract(resources + dep, dir.resolve(dep), hint));
            }
            blas = dir.resolve("libopenblas.so.0");
            String origin = extract(resources + "libopenblas.so.0", blas, hint);
            LOG.log(System.Logger.Level.DEBUG, "binding OpenBLAS from {0} (unpacked to {1})", origin, blas);
        }
        String coretype = coretypeSetting();
        if (coretype.equalsIgnoreCase("env") || coretype.equalsIgnoreCase("native")) coretype = "";
        int blasThreads = Integer.getInteger("conv4j.blas.threads", 1);
        if (blasThreads < 1) throw new IllegalArgumentException("conv4j.blas.threads must be >= 1, got " + blasThreads);
        NativeCore.open(blas.toString(), coretype, blasThreads);
        NativeCore.measureCost(costSetting().equals("measured"));
        if (LOG.isLoggable(System.Logger.Level.DEBUG)) {
            String[] info = NativeCore.blasInfo();
            String conv4jThreads = System.getProperty("conv4j.threads");
            LOG.log(System.Logger.Level.DEBUG, "BLAS {0}: {1}; core {2} ({3}); BLAS threads {4} (conv4j.blas.threads); conv4j"
                    + " threads {5}; cost {6} (conv4j.cost)", blas, info[0].trim(), info[1], info[3].isEmpty()
                    ? "OpenBLAS's own CPU detection" : "forced by conv4j.openblas.coretype=" + coretypeSetting(),
                    info[2].trim(), conv4jThreads != null ? conv4jThreads + " (conv4j.threads)"
                    : Runtime.getRuntime().availableProcessors() + " (available processors)", costSetting());
        }
        blasPath = override.isEmpty() ? "bundled (org.bytedeco openblas jar, loaded from a temporary copy since deleted)"
                : blas.toString();
    }

    /**
     * {@code conv4j.cost}: {@code measured} (default; sgemm shapes timed on this machine, once
     * each per process) or {@code model} (the built-in table: plans that do not depend on a timing).
     */
    public static String costSetting() {
        String v = System.getProperty("conv4j.cost", "measured").trim().toLowerCase(java.util.Locale.ROOT);
        if (!v.equals("measured") && !v.equals("model")) {
            throw new IllegalArgumentException("conv4j.cost must be measured or model, got " + v);
        }
        return v;
    }

    /** {@code conv4j.openblas.coretype}, else {@code CONV4J_OPENBLAS_CORETYPE}, else {@code auto}. */
    public static String coretypeSetting() {
        String p = System.getProperty("conv4j.openblas.coretype");
        if (p == null) p = System.getenv("CONV4J_OPENBLAS_CORETYPE");
        return p == null || p.isBlank() ? "auto" : p.trim();
    }

    private static String readVersion() throws IOException {
        try (InputStream in = NativeLibrary.class.getResourceAsStream("/io/conv4j/conv4j.properties")) {
            if (in == null) throw new IOException("io/conv4j/conv4j.properties missing from the class path");
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        }
    }

    /** Copies a native library resource to {@code target}; returns where it came from. */
    private static String extract(String resource, Path target, String hint) throws IOException {
        String origin;
        try {
            origin = copyResource(resource, target);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        if (origin == null) throw new IOException("resource " + resource + " not found" + hint);
        target.toFile().deleteOnExit();
        return origin;
    }

    /**
     * Copies a native library out of a jar on the class path or the module path; returns the jar
     * entry's location, or null if there is none. Its folders are no Java packages (a '-' or the word "native" in the name), so no module
     * encapsulates them and the class loader finds them wherever their jar's module was resolved.
     * The OpenBLAS jar's module, though, is resolved only when something requires it, and conv4j
     * does not (its descriptor would pull in javacpp): on the module path that jar is read directly.
     */
    static String copyResource(String resource, Path target) throws IOException {
        ClassLoader cl = NativeLibrary.class.getClassLoader();
        java.net.URL url = cl != null ? cl.getResource(resource) : ClassLoader.getSystemResource(resource);
        if (url != null) {
            java.net.URLConnection connection = url.openConnection();
            connection.setUseCaches(false); // no jar handle kept open for the life of the JVM
            try (InputStream in = connection.getInputStream()) {
                Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
                return url.toString();
            }
        }
        for (String entry : System.getProperty("jdk.module.path", "").split(java.io.File.pathSeparator)) {
            if (entry.isBlank()) continue;
            Set<ModuleReference> modules;
            try {
                modules = ModuleFinder.of(Path.of(entry)).findAll();
            } catch (RuntimeException e) {
                continue; // an entry the JVM itself would refuse (bad jar, duplicate module): not ours to judge
            }
            for (ModuleReference module : modules) {
                if (!module.descriptor().name().startsWith("org.bytedeco.openblas")) continue;
                try (ModuleReader reader = module.open()) {
                    Optional<InputStream> found = reader.open(resource);
                    if (found.isPresent()) {
                        try (InputStream in = found.get()) {
                            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
                            return resource + " in module " + module.descriptor().name() + " at "
                                    + module.location().map(Object::toString).orElse("?") + " (not resolved)";
                        }
                    }
                }
            }
        }
        return null;
    }
}
