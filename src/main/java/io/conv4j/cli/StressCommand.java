package io.conv4j.cli;

import io.conv4j.Activation;
import io.conv4j.Algorithm;
import io.conv4j.Conv2d;
import io.conv4j.Conv2dOptions;
import io.conv4j.Conv4j;
import io.conv4j.Padding;
import io.conv4j.PreparedFilter;
import io.conv4j.Shape;
import io.conv4j.Tensor;
import io.conv4j.internal.ConvExecutor;
import io.conv4j.internal.NativeLibrary;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code stress}: mixed shapes, algorithms and API paths from many threads at once, every result
 * compared bit for bit with the single-threaded one: 2-D float32 through every 2-D path and
 * algorithm, and ranks 1, 2 and 3 in float32 and float64 through the N-d calls (forward, both
 * gradients, the transposed convolution).
 *
 * <p>First every job runs once with conv4j and OpenBLAS at one thread: that is the reference.
 * Then conv4j's executor and OpenBLAS get the requested thread counts and {@code --threads} JVM
 * threads call conv4j for {@code --seconds}, each picking jobs at random. Inputs, filters and
 * prepared filters are shared by all threads (read concurrently); outputs are allocated and closed
 * per call. Some jobs are invalid on purpose and must throw their documented exception, so error
 * paths run concurrently too. Exit status 0 when every call matched; 1 on any mismatch, error or
 * hang; 2 on a usage error.
 */
final class StressCommand {
    private StressCommand() {}

    static final Set<String> VALUED = Set.of("threads", "seconds", "blas-threads", "conv-threads", "seed");
    static final int MAX_THREADS = 1024;
    static final double MAX_SECONDS = 24 * 3600;
    /** How often a run reports progress on stderr (tests shorten it). */
    static volatile long progressNanos = TimeUnit.SECONDS.toNanos(10);

    static int run(String[] argv, PrintStream out, PrintStream err) throws UsageException {
        Args a = Args.parse(argv, 1, VALUED, Set.of(), false);
        int cpus = Runtime.getRuntime().availableProcessors();
        int threads = (int) bounded(a, "threads", Math.max(2, 2 * cpus), MAX_THREADS);
        double seconds = a.positiveDouble("seconds", 10);
        if (seconds > MAX_SECONDS) throw new UsageException("--seconds must be at most " + (long) MAX_SECONDS + ", got " + a.get("seconds"));
        int blasThreads = (int) bounded(a, "blas-threads", 1, 256);
        int maxConv = Math.min(MAX_THREADS, ConvExecutor.maxThreads()); // OpenBLAS's bound on concurrent callers
        int convThreads = (int) bounded(a, "conv-threads", Math.min(cpus, maxConv), maxConv);
        long seed = 1;
        if (a.get("seed") != null) {
            try {
                seed = Long.parseLong(a.get("seed").trim());
            } catch (NumberFormatException e) {
                throw new UsageException("--seed must be an integer, got \"" + a.get("seed") + "\"");
            }
        }
        return new Run(threads, seconds, blasThreads, convThreads, seed).execute(out, err);
    }

    private static long bounded(Args a, String name, long dflt, long max) throws UsageException {
        long v = a.positiveLong(name, dflt);
        if (v > max) throw new UsageException("--" + name + " must be at most " + max + ", got " + a.get(name));
        return v;
    }

    /** One convolution through one API path; {@link #call} returns its output (row-major). */
    private abstract static class Job {
        final String name;
        /** null for a valid job; else the exception class the call must throw */
        final Class<? extends Throwable> mustThrow;
        double[] reference;

        Job(String name, Class<? extends Throwable> mustThrow) {
            this.name = name;
            this.mustThrow = mustThrow;
        }

        /** A float32 job's result. */
        float[] call() {
            throw new UnsupportedOperationException(name);
        }

        /** The result compared bit for bit: a float32 result widened (exact), or a float64 job's own. */
        double[] result() {
            return widen(call());
        }

        void close() {}
    }

    private static final class Run {
        final int threads, blasThreads, convThreads;
        final double seconds;
        final long seed;
        final List<Job> jobs = new ArrayList<>();
        final List<AutoCloseable> shared = new ArrayList<>();
        final AtomicLong calls = new AtomicLong(), mismatches = new AtomicLong(), errors = new AtomicLong();
        final AtomicLong expectedFailures = new AtomicLong();
        final AtomicReference<String> firstProblem = new AtomicReference<>();

        Run(int threads, double seconds, int blasThreads, int convThreads, long seed) {
            this.threads = threads;
            this.seconds = seconds;
            this.blasThreads = blasThreads;
            this.convThreads = convThreads;
            this.seed = seed;
        }

        int execute(PrintStream out, PrintStream err) {
            int savedThreads = Conv4j.threads();
            int savedBlas = currentBlasThreads();
            try {
                // 1. the reference: everything single-threaded, one call per job
                Conv4j.setThreads(1);
                Conv4j.setBlasThreads(1);
                buildJobs();
                for (Job j : jobs) {
                    if (j.mustThrow == null) j.reference = j.result();
                }
                long nativeBefore = Conv4j.nativeBytesAllocated();
                // 2. the same jobs from many threads, with the requested parallelism
                Conv4j.setThreads(convThreads);
                Conv4j.setBlasThreads(blasThreads);
                out.printf(Locale.ROOT, "stress: %d threads for %s s, conv4j threads %d, OpenBLAS threads %d, %d jobs (%s)%n",
                        threads, fmt(seconds), convThreads, blasThreads, jobs.size(), algorithmsCovered());
                long hung = runThreads(err);
                for (Job j : jobs) j.close();
                closeShared();
                long nativeAfter = Conv4j.nativeBytesAllocated();
                out.printf(Locale.ROOT, "calls %d (%d expected failures), mismatches %d, errors %d, peak RSS %s, native bytes %d -> %d%n",
                        calls.get(), expectedFailures.get(), mismatches.get(), errors.get() + hung, peakRss(), nativeBefore,
                        nativeAfter);
                boolean ok = mismatches.get() == 0 && errors.get() == 0 && hung == 0 && calls.get() > 0;
                if (!ok) {
                    String why = hung > 0 ? hung + " threads did not finish" : firstProblem.get();
                    out.println("stress: FAILED: " + why);
                    err.println("conv4j: stress failed: " + mismatches.get() + " mismatches, " + (errors.get() + hung)
                            + " errors; first: " + why);
                    return 1;
                }
                out.println("stress: OK");
                return 0;
            } finally {
                for (Job j : jobs) j.close();
                closeShared();
                Conv4j.setThreads(savedThreads);
                if (savedBlas > 0) Conv4j.setBlasThreads(savedBlas);
            }
        }

        /** Starts the threads and waits for them, with progress on stderr; returns how many did not finish in time. */
        private long runThreads(PrintStream err) {
            long deadline = System.nanoTime() + (long) (seconds * 1e9);
            CountDownLatch finished = new CountDownLatch(threads);
            for (int t = 0; t < threads; t++) {
                SplittableRandom r = new SplittableRandom(seed * 7919 + t);
                Thread th = new Thread(() -> {
                    try {
                        do {
                            runOne(jobs.get(r.nextInt(jobs.size())));
                        } while (System.nanoTime() - deadline < 0);
                    } finally {
                        finished.countDown();
                    }
                }, "conv4j-stress-" + t);
                th.setDaemon(true); // a hung thread must not keep the JVM alive
                th.start();
            }
            long graceSeconds = Math.max(60, (long) seconds);
            long start = System.nanoTime(), giveUp = deadline + TimeUnit.SECONDS.toNanos(graceSeconds);
            try {
                // a line every progressNanos on stderr, so a long run shows it is alive; stdout keeps
                // only the summary
                while (!finished.await(Math.min(progressNanos, Math.max(0, giveUp - System.nanoTime())), TimeUnit.NANOSECONDS)
                        && System.nanoTime() - giveUp < 0) {
                    err.printf(Locale.ROOT, "stress: %.0f of %s s, %d calls, %d mismatches, %d errors%n",
                            (System.nanoTime() - start) * 1e-9, fmt(seconds), calls.get(), mismatches.get(), errors.get());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return finished.getCount();
        }

        private void runOne(Job j) {
            calls.incrementAndGet();
            try {
                double[] y = j.result();
                if (j.mustThrow != null) {
                    errors.incrementAndGet();
                    firstProblem.compareAndSet(null, j.name + ": returned instead of throwing " + j.mustThrow.getSimpleName());
                } else if (!sameBits(y, j.reference)) {
                    mismatches.incrementAndGet();
                    firstProblem.compareAndSet(null, j.name + ": result differs from the single-threaded one");
                }
            } catch (Throwable e) {
                if (j.mustThrow != null && j.mustThrow.isInstance(e) && e.getMessage() != null) {
                    expectedFailures.incrementAndGet();
                } else {
                    errors.incrementAndGet();
                    firstProblem.compareAndSet(null, j.name + ": " + e);
                }
            }
        }

        private void closeShared() {
            for (AutoCloseable c : shared) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // Tensor and PreparedFilter close() throw nothing
                }
            }
            shared.clear();
        }

        private String algorithmsCovered() {
            StringBuilder s = new StringBuilder();
            for (Algorithm a : Algorithm.values()) {
                if (jobs.stream().anyMatch(j -> j.name.contains(" " + a + " "))) s.append(s.length() == 0 ? "" : " ").append(a);
            }
            return "algorithms " + s;
        }

        // ------------------------------------------------------------------ the jobs

        private <T extends AutoCloseable> T keep(T t) {
            shared.add(t);
            return t;
        }

        private float[] data(long n, SplittableRandom r) {
            float[] f = new float[(int) n];
            for (int i = 0; i < f.length; i++) f[i] = (float) (r.nextDouble() * 2 - 1);
            return f;
        }

        /** Geometries: 1x1 (direct), 3x3 stride 1 (Winograd-shaped), strided, dilated, grouped, large kernels. */
        private void buildJobs() {
            SplittableRandom r = new SplittableRandom(seed);
            Object[][] specs = {
                    // input N,H,W,C   filter KH,KW,COUT  strides  dilations  padding  groups
                    {new long[] {2, 16, 16, 8}, new long[] {1, 1, 16}, 1, 1, Padding.VALID, 1},
                    {new long[] {1, 24, 20, 16}, new long[] {1, 1, 32}, 2, 1, Padding.VALID, 1},
                    {new long[] {2, 20, 20, 8}, new long[] {3, 3, 16}, 1, 1, Padding.SAME, 1},
                    {new long[] {1, 33, 31, 16}, new long[] {3, 3, 32}, 1, 1, Padding.VALID, 1},
                    {new long[] {2, 17, 19, 6}, new long[] {3, 3, 12}, 2, 1, Padding.SAME, 2},
                    {new long[] {1, 18, 18, 8}, new long[] {3, 3, 8}, 1, 2, Padding.explicit(1, 2, 2, 1), 8},
                    {new long[] {1, 28, 28, 3}, new long[] {5, 5, 16}, 1, 1, Padding.SAME, 1},
                    {new long[] {1, 30, 26, 4}, new long[] {7, 7, 8}, 1, 1, Padding.VALID, 1},
                    {new long[] {3, 9, 11, 5}, new long[] {2, 3, 7}, 1, 1, Padding.VALID, 1},
                    {new long[] {1, 48, 48, 16}, new long[] {3, 3, 32}, 1, 1, Padding.SAME, 1}, // parallel units
                    // strided: Winograd / FFT by space to depth, several bands (parallel units)
                    {new long[] {2, 57, 55, 6}, new long[] {5, 5, 24}, 2, 1, Padding.SAME, 1},
                    {new long[] {1, 99, 97, 3}, new long[] {7, 7, 16}, 2, 1, Padding.SAME, 1},
                    {new long[] {2, 33, 29, 8}, new long[] {3, 3, 16}, 2, 1, Padding.SAME, 1}, // 3x3/2: WINOGRAD_K2
            };
            int k = 0;
            for (Object[] s : specs) {
                long[] in = (long[]) s[0], f = (long[]) s[1];
                long stride = ((Number) s[2]).longValue(), dil = ((Number) s[3]).longValue();
                long groups = ((Number) s[5]).longValue();
                Shape inShape = Shape.of(in), fShape = Shape.of(f[0], f[1], in[3] / groups, f[2]);
                Tensor x = keep(Tensor.fromArray(data(inShape.numElements(), r), inShape));
                Tensor w = keep(Tensor.fromArray(data(fShape.numElements(), r), fShape));
                Tensor b = keep(Tensor.fromArray(data(f[2], r), Shape.of(f[2])));
                // the same input as an NCHW buffer seen through a permuted view
                Tensor nchw = keep(Tensor.allocate(in[0], in[3], in[1], in[2]));
                nchw.permute(0, 2, 3, 1).copyFrom(x);
                Tensor xPermuted = nchw.permute(0, 2, 3, 1);
                for (Algorithm alg : Algorithm.values()) {
                    Conv2dOptions o = Conv2dOptions.builder().strides(stride, stride).dilations(dil, dil)
                            .padding((Padding) s[4]).groups(groups).flipKernel(k % 3 == 1)
                            .activation(Activation.values()[k % Activation.values().length]).algorithm(alg).build();
                    if (!runs(x, fShape, o)) continue;
                    String tag = "job " + k + " " + alg + " " + inShape + "*" + fShape;
                    addJobs(tag, x, xPermuted, w, b, o, r);
                    k++;
                }
            }
            addNdJobs(r);
            addInvalidJobs();
        }

        /**
         * Ranks 1 and 3 and float64 (rank 2 too) through the N-d calls: forward, both gradients and
         * the transposed convolution, with strides, dilations, groups and each padding rule.
         */
        private void addNdJobs(SplittableRandom r) {
            Object[][] specs = {
                    // input, filter, strides, dilations, padding, groups
                    {new long[] {2, 40, 6}, new long[] {5, 3, 8}, new long[] {2}, new long[] {1}, Padding.SAME, 2},
                    {new long[] {1, 64, 4}, new long[] {3, 4, 8}, new long[] {1}, new long[] {2}, Padding.explicit(2, 1), 1},
                    {new long[] {1, 9, 12, 10, 4}, new long[] {3, 3, 3, 4, 8}, new long[] {1, 2, 2}, new long[] {1, 1, 1},
                            Padding.SAME_LOWER, 1},
                    {new long[] {2, 6, 8, 8, 6}, new long[] {2, 3, 3, 3, 6}, new long[] {2, 1, 1}, new long[] {1, 2, 1},
                            Padding.explicit(0, 1, 2, 2, 1, 0), 2},
                    {new long[] {2, 14, 13, 6}, new long[] {3, 3, 3, 12}, new long[] {2, 1}, new long[] {1, 1}, Padding.SAME, 2},
            };
            int k = 0;
            for (Object[] s : specs) {
                for (io.conv4j.DType dt : io.conv4j.DType.values()) {
                    long[] in = (long[]) s[0], f = (long[]) s[1];
                    if (in.length == 4 && dt == io.conv4j.DType.FLOAT32) continue; // 2-D float32: the jobs above
                    io.conv4j.ConvOptions o = io.conv4j.ConvOptions.builder().strides((long[]) s[2]).dilations((long[]) s[3])
                            .padding((Padding) s[4]).groups(((Number) s[5]).longValue()).flipKernel(k % 2 == 1).build();
                    Shape xs = Shape.of(in), fs = Shape.of(f), ys = io.conv4j.Conv.outputShape(xs, fs, o);
                    Tensor x = keep(ndData(dt, xs, r)), w = keep(ndData(dt, fs, r)), dy = keep(ndData(dt, ys, r));
                    Tensor b = keep(ndData(dt, Shape.of(f[f.length - 1]), r));
                    String tag = "nd job " + k++ + " " + dt + " " + xs + "*" + fs;
                    ndJob(tag + " forward", () -> io.conv4j.Conv.conv(x, w, b, o));
                    ndJob(tag + " grad input", () -> io.conv4j.Conv.gradInput(dy, w, xs, o));
                    ndJob(tag + " grad filter", () -> io.conv4j.Conv.gradFilter(x, dy, fs, o));
                    ndJob(tag + " transpose", () -> io.conv4j.Conv.transpose(dy, w, null, o, xs));
                }
            }
        }

        private Tensor ndData(io.conv4j.DType dt, Shape s, SplittableRandom r) {
            float[] f = data(s.numElements(), r);
            if (dt == io.conv4j.DType.FLOAT32) return Tensor.fromArray(f, s);
            double[] d = new double[f.length];
            for (int i = 0; i < f.length; i++) d[i] = f[i] + r.nextDouble() * 1e-9; // bits below float32's
            return Tensor.fromArray(d, s);
        }

        /** A valid N-d job: the call's fresh result, closed after reading it. */
        private void ndJob(String tag, java.util.function.Supplier<Tensor> call) {
            jobs.add(new Job(tag, null) {
                @Override
                double[] result() {
                    try (Tensor y = call.get()) {
                        return y.dtype() == io.conv4j.DType.FLOAT64 ? y.toDoubleArray() : widen(y.toArray());
                    }
                }
            });
        }

        private static boolean runs(Tensor x, Shape f, Conv2dOptions o) {
            try {
                Conv2d.plan(x, f, o);
                return true;
            } catch (IllegalArgumentException e) {
                return false;
            }
        }

        private void addJobs(String tag, Tensor x, Tensor xPermuted, Tensor w, Tensor b, Conv2dOptions o, SplittableRandom r) {
            jobs.add(new Job(tag + " tensor", null) {
                @Override
                float[] call() {
                    try (Tensor y = Conv2d.conv2d(x, w, b, o)) {
                        return y.toArray();
                    }
                }
            });
            if (runs(xPermuted, w.shape(), o)) {
                jobs.add(new Job(tag + " permuted input, strided output", null) {
                    @Override
                    float[] call() {
                        Shape os = Conv2d.outputShape(x.shape(), w.shape(), o);
                        try (Tensor wide = Tensor.allocate(os.size(0), os.size(1), os.size(2), os.size(3) + 5)) {
                            Tensor y = wide.slice(3, 3, os.size(3));
                            Conv2d.conv2d(xPermuted, w, b, o, y);
                            return y.toArray();
                        }
                    }
                });
            }
            PreparedFilter pf = keep(Conv2d.prepare(w, b, o));
            jobs.add(new Job(tag + " prepared filter", null) {
                @Override
                float[] call() {
                    try (Tensor y = Conv2d.conv2d(x, pf)) {
                        return y.toArray();
                    }
                }
            });
            float[] xa = x.toArray(), wa = w.toArray();
            Shape xs = x.shape(), ws = w.shape();
            Conv2dOptions noBias = o;
            jobs.add(new Job(tag + " arrays", null) {
                @Override
                float[] call() {
                    return Conv2d.conv2d(xa, xs, wa, ws, null, noBias);
                }
            });
        }

        /** Calls that must fail cleanly while the others run. */
        private void addInvalidJobs() {
            Tensor x = keep(Tensor.allocate(1, 8, 8, 4));
            Tensor w = keep(Tensor.allocate(3, 3, 4, 6));
            jobs.add(new Job("invalid: bias of the wrong shape", IllegalArgumentException.class) {
                @Override
                float[] call() {
                    try (Tensor b = Tensor.allocate(5); Tensor y = Conv2d.conv2d(x, w, b, Conv2dOptions.defaults())) {
                        return y.toArray();
                    }
                }
            });
            jobs.add(new Job("invalid: output overlapping the input", IllegalArgumentException.class) {
                @Override
                float[] call() {
                    try (Tensor big = Tensor.allocate(1, 8, 8, 8)) {
                        Tensor in = big.slice(3, 0, 4), y = big.slice(1, 0, 6).slice(2, 0, 6).slice(3, 2, 6);
                        return Conv2d.conv2d(in, w, null, Conv2dOptions.defaults(), y).toArray();
                    }
                }
            });
            jobs.add(new Job("invalid: closed input", IllegalStateException.class) {
                @Override
                float[] call() {
                    Tensor in = Tensor.allocate(1, 8, 8, 4);
                    in.close();
                    return Conv2d.conv2d(in, w, Conv2dOptions.defaults()).toArray();
                }
            });
            jobs.add(new Job("invalid: kernel larger than the input", IllegalArgumentException.class) {
                @Override
                float[] call() {
                    try (Tensor big = Tensor.allocate(9, 9, 4, 2)) {
                        return Conv2d.conv2d(x, big, Conv2dOptions.defaults()).toArray();
                    }
                }
            });
        }
    }

    /** float32 values as doubles: exact, so equal bits before are equal bits after. */
    static double[] widen(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    static boolean sameBits(double[] a, double[] b) {
        if (a == null || b == null || a.length != b.length) return false;
        for (int i = 0; i < a.length; i++) {
            if (Double.doubleToRawLongBits(a[i]) != Double.doubleToRawLongBits(b[i])) return false;
        }
        return true;
    }

    static boolean sameBits(float[] a, float[] b) {
        if (a == null || b == null || a.length != b.length) return false;
        for (int i = 0; i < a.length; i++) {
            if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) return false;
        }
        return true;
    }

    private static int currentBlasThreads() {
        try {
            return Integer.parseInt(NativeLibrary.blasInfo()[2].trim());
        } catch (RuntimeException e) {
            return -1;
        }
    }

    private static String fmt(double s) {
        return s == Math.rint(s) && s < 1e15 ? Long.toString((long) s) : String.valueOf(s);
    }

    /** Peak resident set size of this process (VmHWM), or "n/a" where /proc is not available. */
    static String peakRss() {
        long kb = procStatusKb("VmHWM:");
        return kb < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f MiB", kb / 1024.0);
    }

    /** A "kB" field of /proc/self/status, or -1. */
    static long procStatusKb(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field)) return Long.parseLong(line.substring(field.length()).replace("kB", "").trim());
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
