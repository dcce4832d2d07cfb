package io.conv4j;

import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.Locale;

/**
 * Benchmark (not a test): per layer of a harness shapes file, the median time of one forward call
 * (AUTO, plain filter and prepared) and of {@link TransformGuard}'s scans of the input and filter,
 * in one process, interleaved, at one thread; the README's "Cost of the check" quotes a run.
 * {@code java -cp target/classes:target/test-classes:target/lib/* io.conv4j.GuardOverhead shapes.csv}
 */
public final class GuardOverhead {
    private static volatile long sink;

    private GuardOverhead() {}

    /** Median of nanosecond timings, in microseconds. */
    static double median(long[] t) {
        long[] c = t.clone();
        Arrays.sort(c);
        return c[c.length / 2] / 1e3;
    }

    public static void main(String[] a) throws Exception {
        Conv4j.setThreads(1);
        System.out.println("layer,algorithm,conv_us,prepared_conv_us,scan_input_us,scan_filter_us,overhead_plain,overhead_prepared");
        for (String line : Files.readAllLines(Paths.get(a[0]))) {
            if (line.startsWith("name")) continue;
            String[] f = line.split(",");
            int n = Integer.parseInt(f[1]), h = Integer.parseInt(f[2]), w = Integer.parseInt(f[3]), c = Integer.parseInt(f[4]);
            int kh = Integer.parseInt(f[5]), kw = Integer.parseInt(f[6]), co = Integer.parseInt(f[7]), s = Integer.parseInt(f[8]);
            Shape xs = Shape.of(n, h, w, c), ws = Shape.of(kh, kw, c, co);
            Conv2dOptions o = Conv2dOptions.builder().strides(s, s).padding(Padding.parse(f[9])).build();
            try (Tensor x = Tensor.fromArray(ConvCase.data(xs.numElements(), 1), xs);
                 Tensor wt = Tensor.fromArray(ConvCase.data(ws.numElements(), 2), ws);
                 Tensor y = Tensor.allocate(Conv2d.outputShape(xs, ws, o)); PreparedFilter p = Conv2d.prepare(wt, null, o);
                 Tensor y2 = Tensor.allocate(Conv2d.outputShape(xs, ws, o))) {
                Plan plan = Conv2d.plan(x, ws, o);
                int reps = 41;
                long[] tc = new long[reps], tp = new long[reps], ti = new long[reps], tf = new long[reps];
                for (int r = -5; r < reps; r++) {
                    long t0 = System.nanoTime();
                    Conv2d.conv2d(x, wt, null, o, y);
                    long t1 = System.nanoTime();
                    Conv2d.conv2d(x, p, y2);
                    long t2 = System.nanoTime();
                    long s1 = TransformGuard.scan(x);
                    long t3 = System.nanoTime();
                    long s2 = TransformGuard.scan(wt);
                    long t4 = System.nanoTime();
                    sink += s1 + s2;
                    if (r >= 0) {
                        tc[r] = t1 - t0;
                        tp[r] = t2 - t1;
                        ti[r] = t3 - t2;
                        tf[r] = t4 - t3;
                    }
                }
                double c0 = median(tc), p0 = median(tp), i0 = median(ti), f0 = median(tf);
                System.out.printf(Locale.ROOT, "%s,%s,%.1f,%.1f,%.1f,%.1f,%.4f,%.4f%n", f[0], plan.algorithm(), c0, p0, i0, f0,
                        plan.algorithm().isExact() ? 0 : (i0 + f0) / c0, plan.algorithm().isExact() ? 0 : i0 / p0);
            }
        }
    }
}
