package io.conv4j;

import io.conv4j.internal.ConvExecutor;
import io.conv4j.internal.NativeCore;
import io.conv4j.internal.NativeLibrary;

/**
 * Library-wide settings and what is loaded.
 *
 * <p>Threading: conv4j runs OpenBLAS single-threaded and splits each convolution over its own
 * executor of {@link #threads()} threads (default: available processors, or the system property
 * {@code conv4j.threads}). At most that many threads compute at once however many JVM threads
 * call conv4j, so concurrent callers do not oversubscribe the CPU. {@code conv4j.blas.threads}
 * (default 1) sets OpenBLAS's own, process-wide thread count instead, for callers who prefer
 * OpenBLAS to parallelise (set {@code conv4j.threads=1} then).
 */
public final class Conv4j {
    private Conv4j() {}

    /** Threads conv4j computes with. */
    public static int threads() {
        return ConvExecutor.get().threads();
    }

    /**
     * Sets the number of threads conv4j computes with (>= 1, and at most the number of concurrent
     * callers the bound OpenBLAS was built for: 64 for the one conv4j ships); running
     * convolutions finish first.
     */
    public static void setThreads(int threads) {
        ConvExecutor.setThreads(threads);
    }

    /** OpenBLAS's own, process-wide thread count. */
    public static void setBlasThreads(int threads) {
        NativeLibrary.setBlasThreads(threads);
    }

    /** Native bytes conv4j currently holds (tensors, prepared filters, workspaces). */
    public static long nativeBytesAllocated() {
        NativeLibrary.ensureLoaded();
        return NativeCore.allocatedBytes();
    }

    /** What is loaded: versions, the BLAS file and its configuration, thread settings. */
    public static String info() {
        NativeLibrary.ensureLoaded();
        String[] b = NativeLibrary.blasInfo();
        StringBuilder s = new StringBuilder();
        s.append("conv4j ").append(NativeLibrary.version()).append('\n');
        s.append("java ").append(System.getProperty("java.version")).append(" (").append(System.getProperty("java.vm.name"))
                .append("), ").append(System.getProperty("os.name")).append(' ').append(System.getProperty("os.arch")).append('\n');
        s.append("blas library: ").append(NativeLibrary.blasPath()).append('\n');
        s.append("blas config: ").append(b[0].trim()).append('\n');
        s.append("blas core: ").append(b[1]);
        String setting = NativeLibrary.coretypeSetting();
        String env = System.getenv("OPENBLAS_CORETYPE");
        if (b[3].isEmpty()) {
            s.append(" (OpenBLAS's own CPU detection").append(env != null ? ", OPENBLAS_CORETYPE=" + env : "").append(')');
        } else {
            s.append(" (chosen by conv4j.openblas.coretype=").append(setting)
                    .append(setting.equals("auto") ? ": this CPU has AVX-512" : "")
                    .append(env != null ? "; the environment's OPENBLAS_CORETYPE=" + env + " is left to other OpenBLAS copies" : "")
                    .append(')');
        }
        s.append('\n');
        s.append("cpu avx-512: ").append(b[4]).append('\n');
        s.append("blas threads: ").append(b[2]).append('\n');
        s.append("cost model: ").append(NativeLibrary.costSetting().equals("measured")
                ? "sgemm times measured on this machine, once per shape per process (conv4j.cost=measured)"
                : "built-in sgemm table of the reference machine (conv4j.cost=model)").append('\n');
        s.append("conv4j threads: ").append(threads()).append(" (available processors: ")
                .append(Runtime.getRuntime().availableProcessors()).append(")\n");
        s.append("native bytes allocated: ").append(NativeCore.allocatedBytes());
        return s.toString();
    }
}
