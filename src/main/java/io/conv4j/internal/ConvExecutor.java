package io.conv4j.internal;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * conv4j's own parallelism, shared by every caller in the process.
 *
 * <p>OpenBLAS's thread count is process-wide, so conv4j keeps OpenBLAS at one thread and spreads
 * the work units of a convolution over this executor instead. {@code threads} permits bound the
 * number of threads computing at once, however many JVM threads call conv4j: a caller first takes
 * a permit (waiting if all are taken), then works on its own convolution, while up to
 * {@code threads - 1} workers join in as permits allow. A caller never waits for work nobody has
 * started: it runs whatever of its own convolution is still unclaimed, so the executor cannot
 * deadlock and small convolutions never pay for a thread hand-off.
 *
 * <p>Each permit comes with a native workspace (grown on demand, bounded by the algorithms'
 * per-call workspace). The caller allocates its workspace before any unit runs, so an allocation
 * failure throws {@link OutOfMemoryError} with the output untouched; a worker that cannot get its
 * workspace simply does not join. Units are fixed by the convolution, not by the thread count, so
 * the result is bit-for-bit the same with any number of threads.
 */
public final class ConvExecutor {
    /**
     * What handing work to a worker costs, measured here as the executor runs (see {@link
     * HandOff}): how long after a ticket is offered a worker takes it, and how long the caller's
     * offer takes, each for a worker that was still spinning after its last job and for one that
     * was parked. A parked worker is woken by a system call that the caller pays (several
     * microseconds on a VM), a spinning one only reads the queue. How many threads a job is offered
     * follows from these (see {@link #threadsWorthOffering}), not from a fixed amount of work.
     * Until the first samples: a parked worker's pickup 10 us and offer 5 us (a second thread from
     * 20 us of work, as the executor offered before it measured), a spinning worker's 1 us and
     * 0.5 us (reading a queue); samples replace them within a few dozen hand-offs.
     */
    /**
     * The measured hand-off only ever adds threads to what this much estimated work per thread
     * (the rule before it measured) offers, never takes them away. On a 2-core VM the caller's
     * measured offer to a parked worker reached 100-125 us (the woken worker lands on the caller's
     * core), above what a 40 us layer saves, so depthwise layers that had shared their work ran on
     * one thread (docs/results/2026-12-07_0840_executor_floor.txt).
     */
    private static final double FIXED_SECONDS_PER_THREAD = 10e-6;
    private static final double SPIN_PICKUP_START_NANOS = 1_000, SPIN_OFFER_START_NANOS = 500;
    final HandOff fromSpinning = new HandOff(SPIN_PICKUP_START_NANOS, SPIN_OFFER_START_NANOS);
    final HandOff fromParked = new HandOff(10_000, 5_000);
    /** Workers now watching the queue (between jobs, before they park). */
    private final AtomicInteger spinning = new AtomicInteger();
    /**
     * When a caller last finished a job it ran alone although the executor has more threads. A
     * job that a spinning worker would share, but too small to pay for waking a parked one, is
     * offered anyway when it starts within a worker's spin time of that: jobs then come back to
     * back, so the wake-up is paid once and the calls that follow find the worker spinning.
     */
    private volatile long lastAloneNanos = Long.MIN_VALUE / 2;

    /** Direct-convolution flops per second used to turn a flop count into time (sgemm-bound code). */
    public static final double GEMM_FLOPS_PER_SECOND = 150e9;

    private static volatile ConvExecutor current;

    private final int threads;
    private final Semaphore permits;
    private final ConcurrentLinkedQueue<Workspace> workspaces = new ConcurrentLinkedQueue<>();
    /**
     * Offered tickets. Lock-free, so that a spinning worker's look at the queue never holds up the
     * caller's offer: a blocking queue's offer signals waiting takers under the lock that the
     * worker's poll takes as soon as it sees the ticket, and the caller then parked on that lock
     * (its measured offer to a spinning worker was 1.9-3.3 us in some processes, 0.3-0.6 us now).
     */
    private final ConcurrentLinkedQueue<Job> tickets = new ConcurrentLinkedQueue<>();
    /** Workers parked, or about to park, on {@link #wakeups} (see {@link #nextTicket}). */
    private final AtomicInteger parked = new AtomicInteger();
    /** Released by a caller that offers tickets while workers are parked. */
    private final Semaphore wakeups = new Semaphore(0);
    private final Thread[] workers;
    /** Set when replaced by {@link #setThreads}: workspaces are freed as they come back. */
    private volatile boolean retired;

    private ConvExecutor(int threads) {
        this.threads = threads;
        this.permits = new Semaphore(threads);
        for (int i = 0; i < threads; i++) workspaces.add(new Workspace());
        workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            Thread t = new Thread(this::workerLoop, "conv4j-worker-" + i);
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    /** The process-wide executor (created on first use with {@link #defaultThreads()} threads). */
    public static ConvExecutor get() {
        ConvExecutor e = current;
        if (e != null) return e;
        synchronized (ConvExecutor.class) {
            if (current == null) current = new ConvExecutor(defaultThreads());
            return current;
        }
    }

    /**
     * {@code conv4j.threads} if set, else the number of available processors, at most
     * {@link #maxThreads()}.
     */
    public static int defaultThreads() {
        Integer p = Integer.getInteger("conv4j.threads");
        int max = maxThreads();
        if (p == null) return Math.min(Runtime.getRuntime().availableProcessors(), max);
        if (p < 1 || p > max) throw new IllegalArgumentException("conv4j.threads must be in [1, " + max + "]" + why(max) + ", got " + p);
        return p;
    }

    /**
     * The most threads that may compute at once: 4096, and no more than the bound OpenBLAS was
     * built for (MAX_THREADS in its configuration, 64 for the OpenBLAS conv4j ships). Each
     * thread inside sgemm holds one of OpenBLAS's memory buffers; past that many concurrent
     * callers, with OpenBLAS multi-threaded, it corrupts its heap or aborts the process
     * ("too many memory regions"), which would take the JVM down.
     */
    public static int maxThreads() {
        try {
            return Math.min(4096, NativeLibrary.blasMaxThreads());
        } catch (LinkageError e) {
            return 4096; // nothing can run anyway; the call that needs the library will say why
        }
    }

    private static String why(int max) {
        return max < 4096 ? " (the bound OpenBLAS was built for, MAX_THREADS=" + max + ")" : "";
    }

    /**
     * Replaces the executor with one of {@code threads} threads. Convolutions already running
     * finish on the old one; its workers then exit.
     */
    public static void setThreads(int threads) {
        int max = maxThreads();
        if (threads < 1 || threads > max) {
            throw new IllegalArgumentException("threads must be in [1, " + max + "]" + why(max) + ", got " + threads);
        }
        synchronized (ConvExecutor.class) {
            ConvExecutor old = current;
            if (old != null && old.threads == threads) return;
            current = new ConvExecutor(threads);
            if (old != null) old.shutdown();
        }
    }

    public int threads() {
        return threads;
    }

    /** Runs units [0, units) of some native operation. */
    public interface UnitRunner {
        void run(long unitBegin, long unitEnd, ByteBuffer workspace);
    }

    /**
     * Runs all units, in parallel when the work is large enough. {@code workspaceBytes} is what one
     * call of the runner needs; {@code seconds}, the estimated single-thread time (the cost model's),
     * sizes the split.
     */
    public void run(long units, long workspaceBytes, double seconds, UnitRunner runner) {
        if (units <= 0) return;
        int most = (int) Math.min(threads, units);
        int want = Math.max(threadsToOffer(most, seconds), (int) Math.min(most, Math.max(1, (long) (seconds / FIXED_SECONDS_PER_THREAD))));
        // A permit is released by the finally that follows its acquire and nothing else: whatever
        // the runner, the workspace or a concurrent setThreads does, it is never lost (a lost
        // permit would leave every later caller of this executor waiting for good).
        if (want == 1) { // the common small case: no job, no hand-off
            permits.acquireUninterruptibly();
            try {
                Workspace ws = takeWorkspace();
                try {
                    ws.ensure(workspaceBytes);
                    runner.run(0, units, ws.buffer);
                } finally {
                    returnWorkspace(ws);
                }
            } finally {
                permits.release();
            }
            if (threads > 1 && units > 1) lastAloneNanos = System.nanoTime();
            return;
        }
        Job job = new Job(units, want, workspaceBytes, runner, Thread.currentThread());

        permits.acquireUninterruptibly();
        try {
            Workspace ws = takeWorkspace();
            try {
                ws.ensure(workspaceBytes); // may throw OutOfMemoryError: nothing has run yet
                HandOff handOff = spinning.get() > 0 ? fromSpinning : fromParked;
                job.offeredNanos = System.nanoTime();
                for (int i = 1; i < want; i++) tickets.add(job);
                wakeParked(want - 1);
                handOff.offer.record(System.nanoTime() - job.offeredNanos);
                job.work(ws, true);
            } finally {
                returnWorkspace(ws);
            }
        } finally {
            permits.release();
        }
        job.awaitCompletion(callerSpinNanos(seconds, want));
        job.rethrow();
    }

    /**
     * How many threads to offer a job of {@code seconds} estimated single-thread time, at most
     * {@code most}: as many as the measured hand-off makes worth it. A job too small to pay for
     * waking a parked worker gets what a spinning worker makes worth it when a worker spins now,
     * or when jobs come back to back (see {@link #lastAloneNanos}) and waking one costs the caller
     * less than the job itself (paid once for the calls that follow); not while a ticket still waits
     * in the queue: then the workers are behind (descheduled, or busy with other callers' jobs),
     * and small jobs would only pile up tickets that are taken after their job has finished.
     */
    private int threadsToOffer(int most, double seconds) {
        if (most <= 1) return 1;
        int cold = threadsWorthOffering(most, seconds, fromParked.pickup.seconds(), fromParked.offer.seconds());
        if (cold == most || !tickets.isEmpty()) return cold;
        int warm = threadsWorthOffering(most, seconds, fromSpinning.pickup.seconds(), fromSpinning.offer.seconds());
        boolean awake = spinning.get() > 0, burst = !awake && System.nanoTime() - lastAloneNanos < SPIN_NANOS;
        if (warm <= cold) return awake || burst ? probe(most, seconds, cold) : cold;
        if (awake) return warm;
        // jobs come back to back: wake a worker for the ones that follow, unless the wake-up costs
        // the caller more than this job (a loaded machine: the woken worker takes the caller's core)
        return burst && fromParked.offer.seconds() < seconds ? warm : probe(most, seconds, cold);
    }

    /**
     * A measured hand-off is only measured again when work is offered, so one learned in a busy
     * moment (a descheduled worker) would keep small jobs on the caller for good: one job in
     * {@link #PROBE_EVERY} that a worker at the starting values would share is offered anyway.
     */
    private int probe(int most, double seconds, int cold) {
        int start = threadsWorthOffering(most, seconds, SPIN_PICKUP_START_NANOS * 1e-9, SPIN_OFFER_START_NANOS * 1e-9);
        return start > cold && ++probes % PROBE_EVERY == 0 ? start : cold;
    }

    /** How often a stale hand-off is probed (see {@link #probe}). */
    private static final int PROBE_EVERY = 64;
    /** Jobs that could have been probed; racy, it only spaces the probes out. */
    private int probes;

    /**
     * The thread count, from 1 to {@code most}, that finishes a job of {@code seconds} soonest
     * when each worker starts {@code pickupSeconds} after the offer and the caller spends {@code
     * offerSeconds} per ticket before its own work: the caller and {@code want - 1} workers share
     * the work, so the job ends after {@code (seconds + (want - 1) * pickup) / want + (want - 1) *
     * offer}. Ties go to fewer threads.
     */
    static int threadsWorthOffering(int most, double seconds, double pickupSeconds, double offerSeconds) {
        int best = 1;
        double bestTime = seconds;
        for (int want = 2; want <= most; want++) {
            double time = (seconds + (want - 1) * pickupSeconds) / want + (want - 1) * offerSeconds;
            if (time < bestTime) {
                best = want;
                bestTime = time;
            } else {
                break; // the time is convex in want: once it grows, it keeps growing
            }
        }
        return best;
    }

    /**
     * How long a caller that finds no unit left watches for the workers' last claims before it
     * parks. A worker still inside holds at most the one claim it made before the caller ran out,
     * at most 1/{@code want} of the units (see {@link Job#claimEnd}): the estimate of that much
     * (twice that of a fair share of what was left, which is the usual case), at least
     * {@link #CALLER_SPIN_MIN_NANOS}, at most {@link #CALLER_SPIN_MAX_NANOS}. Waking a parked
     * caller costs tens of microseconds here, as much as the second thread saved on a 50-100 us
     * layer.
     */
    static long callerSpinNanos(double seconds, int want) {
        double claimNanos = seconds * 1e9 / Math.max(1, want);
        return (long) Math.min(CALLER_SPIN_MAX_NANOS, Math.max(CALLER_SPIN_MIN_NANOS, claimNanos));
    }

    /** The shortest watch of a caller for its workers (see {@link #callerSpinNanos}). */
    private static final long CALLER_SPIN_MIN_NANOS = 20_000;
    /** The longest: beyond it a parked caller's wake-up is small beside the wait. */
    private static final long CALLER_SPIN_MAX_NANOS = 200_000;

    /**
     * A worker that just finished watches the queue this long before it parks: waking a parked
     * thread takes tens of microseconds here, a large share of a 0.2 ms convolution split in two,
     * while back-to-back calls (a layer loop, a batch of requests) find it still awake.
     */
    private static final long SPIN_NANOS = 100_000;

    /**
     * The next ticket: one already queued, else one that comes while this worker spins, else one
     * it is woken for. Each records its pickup delay with the state the worker was in. A worker
     * counts itself in {@link #parked} before its last look at the queue, and a caller wakes
     * parked workers after adding its tickets, so a ticket is either seen or followed by a wake-up.
     */
    private Job nextTicket() throws InterruptedException {
        Job job = tickets.poll();
        if (job != null) return fromSpinning.tookTicket(job);
        spinning.incrementAndGet();
        try {
            long until = System.nanoTime() + SPIN_NANOS;
            while (System.nanoTime() < until) {
                Thread.onSpinWait();
                if (!tickets.isEmpty() && (job = tickets.poll()) != null) return fromSpinning.tookTicket(job);
            }
        } finally {
            spinning.decrementAndGet();
        }
        for (;;) {
            parked.incrementAndGet();
            try {
                job = tickets.poll();
                if (job == null) {
                    wakeups.acquire();
                    job = tickets.poll(); // null when another worker took it, or for a surplus wake-up
                }
            } finally {
                parked.decrementAndGet();
            }
            if (job != null) return fromParked.tookTicket(job);
        }
    }

    /** Wakes up to {@code offered} parked workers for tickets just added. */
    private void wakeParked(int offered) {
        int asleep = parked.get();
        if (asleep > 0) wakeups.release(Math.min(offered, asleep));
    }

    private void workerLoop() {
        for (;;) {
            Job job;
            try {
                job = nextTicket();
            } catch (InterruptedException e) {
                return;
            }
            if (job == Job.STOP) return;
            if (!job.hasUnclaimed()) continue;
            permits.acquireUninterruptibly();
            if (!job.enter()) { // the caller has claimed every unit and waits: too late to join
                permits.release();
                continue;
            }
            long finished = 0;
            try {
                Workspace ws = takeWorkspace();
                try {
                    ws.ensure(job.workspaceBytes);
                    finished = job.work(ws, false);
                } catch (OutOfMemoryError e) {
                    // the caller finishes the job alone with its own workspace
                } finally {
                    returnWorkspace(ws);
                }
            } finally {
                permits.release();
                // counted only now: when the caller wakes up, every worker that joined has handed
                // back its workspace and permit, so native memory is settled once conv2d returns
                job.leave(finished);
            }
        }
    }

    /**
     * A permit's workspace. Never null: a caller that took this executor just before
     * {@link #setThreads} retired it finds the idle workspaces already freed, and gets a fresh
     * (empty) one, which {@link #returnWorkspace} frees again.
     */
    private Workspace takeWorkspace() {
        Workspace ws = workspaces.poll();
        return ws != null ? ws : new Workspace();
    }

    private void returnWorkspace(Workspace ws) {
        workspaces.add(ws);
        if (retired) freeWorkspaces();
    }

    /** Frees every idle workspace; each is polled by exactly one thread, so none is freed twice. */
    private void freeWorkspaces() {
        Workspace ws;
        while ((ws = workspaces.poll()) != null) ws.free();
    }

    /**
     * Stops the workers and frees the native workspaces: those idle now at once, those in use by
     * convolutions still running on this executor as they come back (so a replaced executor
     * leaks nothing, however often {@link #setThreads} is called).
     */
    private void shutdown() {
        retired = true;
        for (int i = 0; i < workers.length; i++) tickets.add(Job.STOP);
        wakeParked(workers.length);
        freeWorkspaces();
    }

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
    private static final class Job {
        static final Job STOP = new Job(0, 1, 0, null, null);

        final long units;
        final int want;
        final long workspaceBytes;
        final UnitRunner runner;
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

        Job(long units, int want, long workspaceBytes, UnitRunner runner, Thread caller) {
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
        long work(Workspace ws, boolean count) {
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

    /**
     * The measured cost of a hand-off to a worker in one state (spinning or parked), from the
     * given values until samples replace them.
     */
    static final class HandOff {
        /** From the offer to a worker taking the ticket. */
        final Median pickup;
        /** The caller's offer: queueing the tickets, waking a parked worker. */
        final Median offer;

        HandOff(double pickupNanos, double offerNanos) {
            pickup = new Median(pickupNanos);
            offer = new Median(offerNanos);
        }

        Job tookTicket(Job job) {
            if (job != Job.STOP) pickup.record(System.nanoTime() - job.offeredNanos);
            return job;
        }
    }

    /**
     * A running median of durations: each sample moves the estimate 1/16 of itself towards the
     * sample, so a descheduled thread's rare milliseconds move it no more than an ordinary sample
     * (a mean would follow them). Stays within [{@link #LEAST_NANOS}, {@link #MOST_NANOS}].
     * Updates from several threads may overwrite each other, which only drops samples.
     */
    static final class Median {
        static final double LEAST_NANOS = 50, MOST_NANOS = 1_000_000;
        private volatile double nanos;

        Median(double startNanos) {
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

    /** A permit's native scratch memory; grows to the largest size asked of it. */
    private static final class Workspace {
        /** Growth granularity, so slightly different shapes reuse one allocation. */
        private static final long GRANULE = 64 * 1024;
        ByteBuffer buffer;
        long address;
        long capacity;

        void ensure(long bytes) {
            if (bytes <= capacity) return;
            if (bytes > Integer.MAX_VALUE - GRANULE) { // a direct buffer holds at most 2 GiB
                throw new OutOfMemoryError("conv4j: this convolution needs a workspace of " + bytes
                        + " bytes, more than the 2 GiB a direct buffer can hold");
            }
            long size = Math.max(GRANULE, (bytes + GRANULE - 1) / GRANULE * GRANULE);
            ByteBuffer fresh = NativeCore.allocate(size); // throws OutOfMemoryError; old one is kept then
            if (buffer != null) NativeCore.free(address);
            buffer = fresh;
            address = NativeCore.address(fresh);
            capacity = size;
        }

        void free() {
            if (buffer != null) NativeCore.free(address);
            buffer = null;
            address = 0;
            capacity = 0;
        }
    }
}
