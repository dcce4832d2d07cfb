package io.conv4j.cli;

import java.util.Arrays;

/**
 * The peer harness's timing policy ({@code ../shared/bench/README.md}): {@code BENCH_WARMUP} warm-up
 * calls (3), one call to estimate the cost, then {@code max(BENCH_MIN_REPS, ceil(BENCH_MIN_TIME /
 * estimate))} timed calls (5, 0.5 s), at most 10^6; the result is the median per-call wall time.
 */
final class Timing {
    private Timing() {}

    static double env(String key, double dflt) {
        String v = System.getenv(key);
        if (v == null || v.isBlank()) return dflt;
        try {
            return Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a number, got \"" + v + "\"");
        }
    }

    /** Median seconds per call of {@code body}. */
    static double median(Runnable body) {
        int warm = (int) env("BENCH_WARMUP", 3), minReps = (int) env("BENCH_MIN_REPS", 5);
        double minTime = env("BENCH_MIN_TIME", 0.5);
        for (int i = 0; i < warm; i++) body.run();
        long t0 = System.nanoTime();
        body.run();
        double est = (System.nanoTime() - t0) * 1e-9;
        long reps = (long) Math.ceil(minTime / Math.max(est, 1e-9));
        reps = Math.min(Math.max(reps, minReps), 1_000_000);
        double[] t = new double[(int) reps];
        for (int r = 0; r < reps; r++) {
            long a = System.nanoTime();
            body.run();
            t[r] = (System.nanoTime() - a) * 1e-9;
        }
        Arrays.sort(t);
        int n = t.length;
        return n % 2 == 1 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    }
}
