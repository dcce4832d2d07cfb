package io.conv4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * How many threads the executor offers a job, from the workers' state (spinning, napping, deep
 * parked) and the job's estimated work: a job of a few microseconds is shared with a worker that
 * spins while calls come back to back, the caller never pays a wake-up per small job, and idle
 * workers stop using the CPU.
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

    /**
     * A job estimated at 8 us runs partly on a worker when calls come back to back: the first
     * calls mark demand, the worker (napping since the executor started) comes back to spinning by
     * its own timer, and the caller pays no wake-up for it. Each unit takes long enough that a
     * worker which takes the ticket joins.
     */
    @Test
    void backToBackSmallJobsAreSharedWithoutAWakeUp() {
        ConvExecutor ex = freshExecutor();
        // a busy machine may keep the worker on the caller's core for a while, where it yields to
        // the caller: up to 10 s of such jobs (an idle machine shares within the first calls)
        long deadline = System.nanoTime() + 10_000_000_000L;
        boolean shared = false;
        while (!shared && System.nanoTime() < deadline) shared = sharedWithin(ex, 200, 8e-6);
        assertTrue(shared, "no unit of 10 s of back-to-back 8 us jobs ran on a worker");
        // at most a worker that stopped spinning just as a job was offered to it is woken
        assertTrue(ex.wakeUps.get() <= 2, ex.wakeUps.get() + " wake-ups paid by callers of 8 us jobs");
    }

    /**
     * A burst of small jobs that starts after the workers' deep park (no demand for longer than
     * the nap window) wakes one worker once about 1 ms of its work ran alone (125 jobs of 8 us), not
     * one per call, and the worker leaves its deep park (without the wake-up it would stay parked
     * and every job on the caller). Whether the woken worker then shares depends on the scheduler
     * (on a loaded machine it may not get a core); {@link #backToBackSmallJobsAreSharedWithoutAWakeUp}
     * checks the sharing itself.
     */
    @Test
    void aBurstAfterTheDeepParkWakesAWorkerOnce() {
        ConvExecutor ex = freshExecutor();
        awaitDeepPark(ex);
        long units = 16;
        for (int call = 0; call < 200; call++) ex.run(units, 0, 8e-6, (u0, u1, ws) -> spin(500 * (u1 - u0)));
        assertEquals(1, ex.wakeUps.get(), "wake-ups for 200 jobs of 8 us after the deep park");
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (ex.hasDeepParkedWorker()) {
            assertTrue(System.nanoTime() < deadline, "the woken worker is still in its deep park after 10 s");
            spinOrSleep();
        }
    }

    /**
     * No worker spins for good: after a burst, the workers spin at most {@code SPIN_NANOS}, nap
     * (a timer wake-up a millisecond) and then park, so the process's idle CPU use returns to zero
     * (measured as the workers' CPU time over 300 ms, once the nap window has passed).
     */
    @Test
    void idleWorkersStopUsingTheCpu() throws InterruptedException {
        ConvExecutor ex = freshExecutor();
        sharedWithin(ex, 2000, 8e-6); // a burst: the workers spin while it lasts
        Thread.sleep(ConvExecutor.NAP_WINDOW_NANOS / 1_000_000 + 100);
        long before = workersCpuNanos();
        Thread.sleep(300);
        long used = workersCpuNanos() - before;
        assertTrue(used < 5_000_000, "idle workers used " + used / 1e6 + " ms of CPU in 300 ms");
    }

    /**
     * A parked worker is woken for every job offered to it: jobs 300 us apart (a worker spins 100 us
     * after its last job, then naps), each large enough to pay for a wake-up, all finish, and each
     * of several in a row has units run on a worker (a lost wake-up would leave the worker napping
     * past the job's end or parked for good). Retried per job for up to 5 s, as a loaded machine
     * may deschedule the worker past a job's end. The last two jobs follow the deep park.
     */
    @Test
    void aParkedWorkerIsWokenForEachOfferedJob() throws InterruptedException {
        ConvExecutor ex = freshExecutor();
        for (int job = 0; job < 7; job++) {
            if (job >= 5) awaitDeepPark(ex);
            else spin(300_000);
            boolean shared = sharedWithin(ex, 1, 2e-3);
            for (long deadline = System.nanoTime() + 5_000_000_000L; !shared && System.nanoTime() < deadline; ) {
                spin(300_000);
                shared = sharedWithin(ex, 1, 2e-3);
            }
            assertTrue(shared, "job " + job + ": no unit of 5 s of offers after pauses ran on a worker");
        }
    }

    /** Waits until the executor's only worker is in its deep park. */
    private static void awaitDeepPark(ConvExecutor ex) {
        long deadline = System.nanoTime() + 20 * ConvExecutor.NAP_WINDOW_NANOS;
        while (!ex.hasDeepParkedWorker()) {
            assertTrue(System.nanoTime() < deadline, "no worker in its deep park long after the nap window");
            spinOrSleep();
        }
    }

    private static void spinOrSleep() {
        try {
            Thread.sleep(5);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** CPU time of the live conv4j workers. */
    private static long workersCpuNanos() {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long sum = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("conv4j-worker-")) sum += Math.max(0, mx.getThreadCpuTime(t.getId()));
        }
        return sum;
    }

    /** A new 2-thread executor, so that the workers' state after earlier tests does not decide. */
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
