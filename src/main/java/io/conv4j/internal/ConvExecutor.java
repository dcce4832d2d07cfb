package io.conv4j.internal;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
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
     * What a hand-off costs the caller, by the worker's state, as fixed figures rather than
     * measurements (measured medians differed per process, and with them whether small layers were
     * shared at all). A worker spinning between jobs takes a ticket within about a microsecond, and
     * queueing it costs the caller well under one; these allow for the claim's own native call.
     * Waking a parked worker is a system call the caller pays, up to hundreds of microseconds on a
     * small VM (the woken thread may land on the caller's core; README, "Threads"); the worst seen is
     * assumed, so a parked worker is woken only for a job that pays for it (about 0.5 ms of work).
     */
    private static final double SPIN_PICKUP_SECONDS = 2e-6, SPIN_OFFER_SECONDS = 1e-6;
    private static final double PARKED_PICKUP_SECONDS = 10e-6, PARKED_OFFER_SECONDS = 250e-6;
    /** Workers now watching the queue (between jobs, before they nap). */
    private final AtomicInteger spinning = new AtomicInteger();
    /**
     * When a caller last ran a job that a spinning worker would share ({@link System#nanoTime}).
     * Workers keep spinning while such jobs keep coming (a layer loop, a batch of requests), nap
     * for a while after, and park for good only once none has come for {@link #NAP_WINDOW_NANOS}.
     */
    private volatile long lastDemandNanos = System.nanoTime();
    /**
     * The threads the last demand would have a spinning worker share it with: workers 0 to this
     * less 2 keep spinning for demand, the others nap (a burst of 2-thread jobs keeps one worker
     * spinning, not all of them).
     */
    private volatile int lastDemandThreads = 2;
    /**
     * Callers now running alone a job that a spinning worker would share: a worker keeps spinning
     * while one does, so that a job longer than {@link #SPIN_NANOS} does not outlast the spin of a
     * worker that came back from a nap for it, and the next call of the burst finds it.
     */
    private final AtomicInteger demandRunningAlone = new AtomicInteger();
    /** Workers in the deep park (see {@link #nextTicket}): only a caller's wake-up brings them back. */
    private final AtomicInteger deepParked = new AtomicInteger();
    /**
     * Estimated work a caller ran alone, in jobs a spinning worker would have shared, since a worker
     * was last woken for it (see {@link #noteAlone}). Racy: updates may overwrite each other, which
     * only delays a wake-up.
     */
    private double aloneSeconds;
    /** Wake-ups a caller paid for ({@link #wakeParked} and {@link #noteAlone}), for the tests. */
    final AtomicLong wakeUps = new AtomicLong();

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
            int index = i;
            Thread t = new Thread(() -> workerLoop(index), "conv4j-worker-" + i);
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
        // a job that a spinning worker would share is demand: workers keep spinning while it comes
        int warm = most > 1 ? threadsWorthOffering(most, seconds, SPIN_PICKUP_SECONDS, SPIN_OFFER_SECONDS) : 1;
        boolean demand = warm > 1;
        if (demand) {
            if (lastDemandThreads != warm) lastDemandThreads = warm;
            lastDemandNanos = System.nanoTime();
        }
        int want = demand ? threadsToOffer(most, seconds, warm) : 1;
        // A permit is released by the finally that follows its acquire and nothing else: whatever
        // the runner, the workspace or a concurrent setThreads does, it is never lost (a lost
        // permit would leave every later caller of this executor waiting for good).
        if (want == 1) { // the common small case: no job, no hand-off
            permits.acquireUninterruptibly();
            if (demand) demandRunningAlone.incrementAndGet();
            try {
                Workspace ws = takeWorkspace();
                try {
                    ws.ensure(workspaceBytes);
                    runner.run(0, units, ws.buffer);
                } finally {
                    returnWorkspace(ws);
                }
            } finally {
                if (demand) demandRunningAlone.decrementAndGet();
                permits.release();
            }
            if (demand) {
                lastDemandNanos = System.nanoTime(); // from the end too: a job may outlast a worker's spin
                noteAlone(seconds);
            }
            return;
        }
        Job job = new Job(units, want, workspaceBytes, runner, Thread.currentThread());

        permits.acquireUninterruptibly();
        try {
            Workspace ws = takeWorkspace();
            try {
                ws.ensure(workspaceBytes); // may throw OutOfMemoryError: nothing has run yet
                for (int i = 1; i < want; i++) tickets.add(job);
                wakeParked(want - 1);
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
     * {@code most} (a job that {@code warm > 1} threads would share with spinning workers), from the workers' state: what a
     * spinning worker makes worth it while one spins (see {@link #SPIN_PICKUP_SECONDS}), else what
     * waking a parked one does. Such a job marks demand ({@link #lastDemandNanos}), which brings
     * napping workers back to spinning for the calls that follow, so the caller never pays a
     * wake-up for a job shorter than the wake-up. Not while a ticket still waits in the queue: then the workers are behind
     * (descheduled, or busy with other callers' jobs), and small jobs would only pile up tickets
     * that are taken after their job has finished.
     */
    private int threadsToOffer(int most, double seconds, int warm) {
        int cold = threadsWorthOffering(most, seconds, PARKED_PICKUP_SECONDS, PARKED_OFFER_SECONDS);
        if (cold == most || !tickets.isEmpty() || spinning.get() == 0) return cold;
        return Math.max(cold, warm);
    }

    /**
     * After a job that a spinning worker would have shared ran alone: once such jobs add up to
     * {@link #WAKE_AFTER_ALONE_SECONDS} of work while a worker is in its deep park, wake one, so a
     * burst that starts after a long pause gets its second thread after paying one wake-up for at
     * least that much work (napping workers come back by themselves, for nothing).
     */
    private void noteAlone(double seconds) {
        if (deepParked.get() == 0) return;
        double alone = aloneSeconds + seconds;
        if (alone < WAKE_AFTER_ALONE_SECONDS) {
            aloneSeconds = alone;
            return;
        }
        aloneSeconds = 0;
        wakeUps.incrementAndGet();
        wakeups.release();
    }

    /** See {@link #noteAlone}: four times the wake-up assumed in {@link #PARKED_OFFER_SECONDS}. */
    private static final double WAKE_AFTER_ALONE_SECONDS = 1e-3;

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
     * A worker watches the queue this long after its last job or the last demand (see {@link
     * #lastDemandNanos}), whichever is later, before it naps: waking a parked thread costs the
     * caller tens to hundreds of microseconds on a VM, while back-to-back calls find it awake.
     */
    private static final long SPIN_NANOS = 100_000;
    /**
     * A spinning worker yields its CPU this often: on a machine with more runnable threads than
     * cores the scheduler may put it on the caller's core, where its spin would take half of the
     * caller's time; a yield hands the core back to the caller (and costs a system call that
     * returns at once when nothing else is runnable there).
     */
    private static final long YIELD_EVERY_NANOS = 20_000;
    /**
     * A napping worker looks at the queue and at the demand this often: it wakes by its own timer,
     * so callers of a burst that begins while it naps pay no wake-up, and the naps cost a few
     * microseconds of CPU each (well under 1% of a core).
     */
    private static final long NAP_NANOS = 1_000_000;
    /**
     * How long after the last demand a worker naps before its deep park, which costs no CPU until
     * a caller wakes it: the bound on the executor's idle CPU use after a burst (a spin of {@link
     * #SPIN_NANOS}, then naps), far below OpenMP runtimes' 200 ms of spinning.
     */
    static final long NAP_WINDOW_NANOS = 100_000_000;

    /**
     * The next ticket: one already queued, else one that comes while this worker spins (as long as
     * demand keeps coming, see {@link #lastDemandNanos}), else one it finds between naps or is woken
     * for. A worker counts itself in {@link #parked} before its last look at the queue, and a caller
     * wakes parked workers after adding its tickets, so a ticket is either seen or followed by a
     * wake-up. A worker woken without a ticket (demand, see {@link #noteAlone}) spins again.
     */
    private Job nextTicket(int index) throws InterruptedException {
        for (;;) {
            Job job = tickets.poll();
            if (job != null) return job;
            spinning.incrementAndGet();
            try {
                long since = System.nanoTime(), yielded = since;
                for (long now = since; now - since < SPIN_NANOS || wanted(index) && (now - lastDemandNanos < SPIN_NANOS || demandRunningAlone.get() > 0);
                        now = System.nanoTime()) {
                    Thread.onSpinWait();
                    if (!tickets.isEmpty() && (job = tickets.poll()) != null) return job;
                    if (now - yielded > YIELD_EVERY_NANOS) { // see YIELD_EVERY_NANOS
                        Thread.yield();
                        yielded = now;
                    }
                }
            } finally {
                spinning.decrementAndGet();
            }
            job = napOrPark(index);
            if (job != null) return job;
        }
    }

    /**
     * Naps while demand is recent, then parks: returns a ticket, or null when demand came back (or
     * a wake-up without a ticket did) and the worker should spin again.
     */
    private Job napOrPark(int index) throws InterruptedException {
        parked.incrementAndGet();
        try {
            long napStart = System.nanoTime();
            for (;;) {
                Job job = tickets.poll();
                if (job != null) return job;
                long demand = lastDemandNanos, idle = System.nanoTime() - demand;
                if (demand - napStart > 0 && wanted(index)) return null; // a caller marked demand since: spin again
                boolean woken;
                if (idle < NAP_WINDOW_NANOS) {
                    woken = wakeups.tryAcquire(NAP_NANOS, TimeUnit.NANOSECONDS);
                } else {
                    deepParked.incrementAndGet();
                    try {
                        wakeups.acquire();
                    } finally {
                        deepParked.decrementAndGet();
                    }
                    woken = true;
                }
                if (woken) {
                    job = tickets.poll(); // null when another worker took it, or for a wake-up without a ticket
                    return job;
                }
            }
        } finally {
            parked.decrementAndGet();
        }
    }

    /** Whether the last demand would have worker {@code index} share it (see {@link #lastDemandThreads}). */
    private boolean wanted(int index) {
        return index < lastDemandThreads - 1;
    }

    /** Whether a worker is in its deep park (for the tests). */
    boolean hasDeepParkedWorker() {
        return deepParked.get() > 0;
    }

    /** Wakes up to {@code offered} parked workers for tickets just added. */
    private void wakeParked(int offered) {
        int asleep = parked.get();
        if (asleep > 0) {
            wakeUps.incrementAndGet();
            wakeups.release(Math.min(offered, asleep));
        }
    }

    private void workerLoop(int index) {
        for (;;) {
            Job job;
            try {
                job = nextTicket(index);
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
