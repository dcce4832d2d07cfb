package io.conv4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * How many threads the executor offers a job: from the measured hand-off (the delay before a
 * worker takes a ticket, the caller's cost of offering it), not from a fixed amount of work, so a
 * job of a few microseconds is shared with a worker that is still spinning after the last job.
 */
class ConvExecutorOfferTest {

    @AfterAll
    static void restoreThreads() {
        ConvExecutor.setThreads(ConvExecutor.defaultThreads());
    }

    @Test
    void aSecondThreadOnlyWhereItFinishesSooner() {
        // two threads finish at (s + pickup) / 2 + offer, sooner than s exactly when s > pickup + 2 * offer
        assertEquals(1, ConvExecutor.threadsWorthOffering(2, 1.9e-6, 1e-6, 0.45e-6));
        assertEquals(2, ConvExecutor.threadsWorthOffering(2, 2.1e-6, 1e-6, 0.45e-6));
        // a parked worker's wake-up: the same job stays on the caller
        assertEquals(1, ConvExecutor.threadsWorthOffering(2, 8e-6, 4e-6, 6e-6));
        assertEquals(2, ConvExecutor.threadsWorthOffering(2, 30e-6, 4e-6, 6e-6));
        // never more than offered, never fewer than one
        assertEquals(1, ConvExecutor.threadsWorthOffering(1, 1.0, 1e-6, 1e-6));
        assertEquals(1, ConvExecutor.threadsWorthOffering(8, 0, 1e-6, 1e-6));
        assertEquals(8, ConvExecutor.threadsWorthOffering(8, 1.0, 1e-6, 1e-6));
    }

    @Test
    void moreThreadsAsTheJobGrows() {
        for (int most = 1; most <= 16; most++) {
            int before = 1;
            for (double s = 1e-7; s < 1e-2; s *= 1.1) {
                int want = ConvExecutor.threadsWorthOffering(most, s, 2e-6, 0.5e-6);
                assertTrue(want >= before && want <= most, "most " + most + ", " + s + " s: " + want + " after " + before);
                before = want;
            }
            assertEquals(most, before, "a 10 ms job on " + most + " threads");
        }
    }

    @Test
    void aRunningMedianIgnoresRareStalls() {
        ConvExecutor.Median m = new ConvExecutor.Median(10_000);
        for (int i = 0; i < 400; i++) m.record(i % 50 == 0 ? 20_000_000 : 1_000); // 2% descheduled for 20 ms
        assertTrue(m.seconds() > 0.8e-6 && m.seconds() < 1.3e-6, "median " + m.seconds());
    }

    /**
     * A job estimated at 8 us, under the 20 us from which the executor offered a second thread
     * before it measured hand-offs, runs partly on a worker when calls come back to back (the
     * worker spins between them). Each unit takes long enough that a worker which takes the ticket
     * joins; retried, as a loaded machine may deschedule the worker.
     */
    @Test
    void backToBackSmallJobsAreShared() {
        assertTrue(sharedWithin(freshExecutor(), 2000, 8e-6), "no unit of 2000 back-to-back 8 us jobs ran on a worker");
    }

    /**
     * A hand-off learned in a busy moment (here: a spinning worker's pickup of 1 ms) does not keep
     * small jobs on the caller for good: now and then one is offered anyway, and the samples it
     * brings move the estimate back.
     */
    @Test
    void aStaleHandOffIsProbedAgain() {
        ConvExecutor ex = freshExecutor();
        learnOneMillisecond(ex.fromSpinning.pickup, ex.fromParked.offer);
        assertTrue(sharedWithin(ex, 2000, 8e-6), "no unit of 2000 back-to-back 8 us jobs ran on a worker after a stale 1 ms pickup");
    }

    /**
     * A measured hand-off never keeps on one thread a job the fixed rule (20 us of work for a
     * second thread) would share: even after a 1 ms offer and pickup were learned, a 100 us job's
     * units reach the worker within 50 calls (fewer than the probe's spacing, so no probe does it).
     */
    @Test
    void aCostlyHandOffNeverTakesAwayTheFixedRulesSecondThread() {
        ConvExecutor ex = freshExecutor();
        learnOneMillisecond(ex.fromParked.pickup, ex.fromParked.offer, ex.fromSpinning.pickup, ex.fromSpinning.offer);
        assertTrue(sharedWithin(ex, 50, 100e-6), "no unit of 50 jobs of 100 us ran on a worker after a 1 ms hand-off was learned");
    }

    /**
     * A parked worker is woken for every job offered to it: jobs 300 us apart (a worker spins 100 us
     * after its last job, then parks), each offered a second thread by the fixed rule, all finish,
     * and each of several in a row has units run on a worker (a lost wake-up would leave the
     * worker parked and every later job on the caller). Retried per job, as a loaded machine may
     * deschedule the worker past a job's end.
     */
    @Test
    void aParkedWorkerIsWokenForEachOfferedJob() {
        ConvExecutor ex = freshExecutor();
        for (int job = 0; job < 5; job++) {
            spin(300_000);
            boolean shared = false;
            for (int attempt = 0; attempt < 20 && !shared; attempt++) {
                if (attempt > 0) spin(300_000);
                shared = sharedWithin(ex, 1, 100e-6);
            }
            assertTrue(shared, "job " + job + ": no unit of 20 offers after a 300 us pause ran on a worker");
        }
    }

    /** Teaches each running median a hand-off of 1 ms (400 samples: far past its starting value). */
    private static void learnOneMillisecond(ConvExecutor.Median... medians) {
        for (int i = 0; i < 400; i++) {
            for (ConvExecutor.Median m : medians) m.record(1_000_000);
        }
    }

    /** A new 2-thread executor, so that what earlier tests' hand-offs taught the shared one does not decide. */
    private static ConvExecutor freshExecutor() {
        ConvExecutor.setThreads(1);
        ConvExecutor.setThreads(2);
        return ConvExecutor.get();
    }

    /**
     * Whether a unit of up to {@code calls} back-to-back jobs, each estimated at {@code jobSeconds},
     * ran on a worker. Each unit takes long enough that a worker which takes the ticket joins.
     */
    private static boolean sharedWithin(ConvExecutor ex, int calls, double jobSeconds) {
        Thread caller = Thread.currentThread();
        AtomicBoolean shared = new AtomicBoolean();
        for (int call = 0; call < calls && !shared.get(); call++) {
            ex.run(16, 0, jobSeconds, (u0, u1, ws) -> {
                if (Thread.currentThread() != caller) shared.set(true);
                spin(20_000 * (u1 - u0));
            });
        }
        return shared.get();
    }

    private static void spin(long nanos) {
        long end = System.nanoTime() + nanos;
        while (System.nanoTime() < end) Thread.onSpinWait();
    }
}
