package io.conv4j.internal;

/**
 * A running median of durations: each sample moves the estimate 1/16 of itself towards the
 * sample, so a descheduled thread's rare milliseconds move it no more than an ordinary sample
 * (a mean would follow them). Stays within [{@link #LEAST_NANOS}, {@link #MOST_NANOS}].
 * Updates from several threads may overwrite each other, which only drops samples.
 */
final class RunningMedian {
    static final double LEAST_NANOS = 50, MOST_NANOS = 1_000_000;
    private volatile double nanos;

    RunningMedian(double startNanos) {
        nanos = startNanos;
    }

    void record(long sample) {
        double m = nanos;
        nanos = Math.max(LEAST_NANOS, Math.min(MOST_NANOS, sample > m ? m * 17 / 16 : m * 15 / 16));
    }

    double seconds() {
        return nanos * 1e-9;
    }
}
