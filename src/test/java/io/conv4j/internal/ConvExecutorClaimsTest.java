package io.conv4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The executor's claims (ranges of units, each a share of what is left): every unit runs exactly
 * once in a non-empty range inside [0, units), whatever the thread count and however the threads
 * race, and an error in one claim reaches the caller after every unit ran.
 */
class ConvExecutorClaimsTest {

    @AfterAll
    static void restoreThreads() {
        ConvExecutor.setThreads(ConvExecutor.defaultThreads());
    }

    /** Seconds large enough that the executor offers every thread it has. */
    private static final double LARGE = 1.0;

    @Test
    void everyUnitRunsOnceInRangesInsideTheUnits() {
        for (int threads = 1; threads <= 4; threads++) {
            ConvExecutor.setThreads(threads);
            for (int units = 1; units <= 40; units++) {
                for (int repeat = 0; repeat < 3; repeat++) {
                    AtomicIntegerArray visits = new AtomicIntegerArray(units);
                    List<long[]> ranges = new ArrayList<>();
                    final int n = units;
                    ConvExecutor.get().run(units, 0, LARGE, (u0, u1, ws) -> {
                        synchronized (ranges) {
                            ranges.add(new long[] {u0, u1});
                        }
                        assertTrue(0 <= u0 && u0 < u1 && u1 <= n, "range [" + u0 + ", " + u1 + ") of " + n);
                        for (long u = u0; u < u1; u++) visits.incrementAndGet((int) u);
                        spin(2_000 * (u1 - u0)); // long enough that workers join and race for claims
                    });
                    for (int u = 0; u < units; u++) {
                        assertEquals(1, visits.get(u), "unit " + u + " of " + units + " on " + threads + " threads, ranges " + show(ranges));
                    }
                }
            }
        }
    }

    /** The ranges the threads claim when {@code units} units run on 2 threads. */
    private static List<long[]> claimsOnTwoThreads(long units) {
        ConvExecutor.setThreads(2);
        List<long[]> ranges = new ArrayList<>();
        ConvExecutor.get().run(units, 0, LARGE, (u0, u1, ws) -> {
            synchronized (ranges) {
                ranges.add(new long[] {u0, u1});
            }
        });
        return ranges;
    }

    @Test
    void theFirstClaimIsAShareOfTheUnitsNotAllOfThem() {
        List<long[]> ranges = claimsOnTwoThreads(16);
        long first = ranges.stream().filter(r -> r[0] == 0).findFirst().orElseThrow()[1];
        assertEquals(8, first, "the first claim on 2 threads takes half of 16 units: " + show(ranges));
    }

    @Test
    void noClaimExceedsAFairShareOfTheUnits() {
        List<long[]> ranges = claimsOnTwoThreads(9);
        for (long[] r : ranges) assertTrue(r[1] - r[0] <= 4, "9 units on 2 threads, claims of at most 4: " + show(ranges));
    }

    @Test
    void anErrorInOneClaimReachesTheCallerAfterEveryUnitRan() {
        ConvExecutor.setThreads(2);
        AtomicIntegerArray visits = new AtomicIntegerArray(20);
        RuntimeException thrown = null;
        try {
            ConvExecutor.get().run(20, 0, LARGE, (u0, u1, ws) -> {
                for (long u = u0; u < u1; u++) visits.incrementAndGet((int) u);
                if (u0 == 0) throw new IllegalStateException("unit 0 failed");
            });
        } catch (IllegalStateException e) {
            thrown = e;
        }
        assertTrue(thrown != null && "unit 0 failed".equals(thrown.getMessage()), String.valueOf(thrown));
        for (int u = 0; u < 20; u++) assertEquals(1, visits.get(u), "unit " + u);
    }

    private static void spin(long nanos) {
        long until = System.nanoTime() + nanos;
        while (System.nanoTime() < until) Thread.onSpinWait();
    }

    private static String show(List<long[]> ranges) {
        StringBuilder b = new StringBuilder();
        synchronized (ranges) {
            for (long[] r : ranges) b.append('[').append(r[0]).append(',').append(r[1]).append(") ");
        }
        return b.toString();
    }
}
