package io.conv4j.internal;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * One convolution's units, which threads claim as ranges, each a share of what is left
 * (guided self-scheduling): a thread takes ceil(left / want) units, at most its fair share of
 * all units (see {@link #claimEnd}). The first claims are large,
 * so each thread runs few native calls over long runs of consecutive units (a call pays its
 * set-up once, and routes whose consecutive units share a stage, such as a Winograd block's
 * input transform for its panels of output channels, compute it once per call); the last
 * claims are single units, so a worker that starts late or runs slower leaves little
 * imbalance. Which thread runs which range varies; the units, and so the result, do not.
 */
final class ExecutorJob {
    static final ExecutorJob STOP = new ExecutorJob(0, 1, 0, null, null);

    final long units;
    final int want;
    final long workspaceBytes;
    final ConvExecutor.UnitRunner runner;
    final Thread caller;
    /** When the caller offered the tickets ({@link System#nanoTime}), for the pickup delay. */
    volatile long offeredNanos;
    /** The first unit not yet claimed. */
    final AtomicLong next = new AtomicLong();
    /** Units run (by the caller, and by workers that have left). */
    final AtomicLong done = new AtomicLong();
    /** Workers inside the job, plus CLOSED once the caller admits no more. */
    final AtomicInteger joined = new AtomicInteger();
    static final int CLOSED = 1 << 30;
    volatile Throwable error;

    ExecutorJob(long units, int want, long workspaceBytes, ConvExecutor.UnitRunner runner, Thread caller) {
        this.units = units;
        this.want = want;
        this.workspaceBytes = workspaceBytes;
        this.runner = runner;
        this.caller = caller;
    }

    boolean hasUnclaimed() {
        return next.get() < units;
    }

    /**
     * The end of the claim that starts at unit {@code begin}: ceil(left / want) units, but never
     * more than a thread's fair share of all units, floor(units / want) (at least 1): rounded
     * up, the first claim of 9 units on 2 threads would take 5, leaving the other thread 4 units
     * of work against 5.
     */
    long claimEnd(long begin) {
        long left = units - begin;
        long share = left / want + (left % want != 0 ? 1 : 0), fair = Math.max(1, units / want);
        return begin + Math.min(share, fair);
    }

    /**
     * Runs claims until no unit is unclaimed; returns how many units this thread ran. They
     * count towards completion at once when {@code count} (the caller), else when the worker
     * calls {@link #leave} after handing back its workspace.
     */
    long work(ExecutorWorkspace ws, boolean count) {
        long ran = 0;
        for (long begin = next.get(); begin < units; begin = next.get()) {
            long end = claimEnd(begin);
            if (!next.compareAndSet(begin, end)) continue; // another thread claimed from there
            try {
                runner.run(begin, end, ws.buffer);
            } catch (Throwable t) {
                if (error == null) error = t;
            } finally {
                if (count) done.addAndGet(end - begin);
                else ran += end - begin;
            }
        }
        return ran;
    }

    /** A worker joins, unless the caller already stopped admitting workers. */
    boolean enter() {
        for (;;) {
            int s = joined.get();
            if ((s & CLOSED) != 0) return false;
            if (joined.compareAndSet(s, s + 1)) return true;
        }
    }

    /** A worker that joined leaves, with the units it ran; its workspace and permit are back. */
    void leave(long ran) {
        if (ran > 0) done.addAndGet(ran);
        joined.decrementAndGet();
        LockSupport.unpark(caller);
    }

    /**
     * The caller, after running claims until no unit was unclaimed: admits no more workers and
     * waits for those inside to leave: watching for up to {@code spinNanos}, then parked.
     * Every unit was claimed by the caller or by a worker inside, so then all have run.
     */
    void awaitCompletion(long spinNanos) {
        joined.getAndUpdate(s -> s | CLOSED);
        if (finished()) return;
        long until = System.nanoTime() + spinNanos;
        do {
            Thread.onSpinWait();
            if (finished()) return;
        } while (System.nanoTime() < until);
        // park returns at once while the interrupt flag is set: clear it for the wait (the
        // workers finish their claims regardless) and set it again for the caller afterwards
        boolean interrupted = false;
        while (!finished()) {
            LockSupport.park(this);
            if (Thread.interrupted()) interrupted = true;
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    /** Every unit has run and every worker that joined has left (only once the caller closed the job). */
    private boolean finished() {
        return (joined.get() & ~CLOSED) == 0 && done.get() >= units;
    }

    void rethrow() {
        Throwable t = error;
        if (t instanceof RuntimeException) throw (RuntimeException) t;
        if (t instanceof Error) throw (Error) t;
        if (t != null) throw new IllegalStateException(t);
    }
}
