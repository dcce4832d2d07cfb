package io.conv4j.internal;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

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
 *
 * <p>How a call reaches the other threads. A worker is in one of three states:
 * <ul>
 * <li><b>running</b> a job's claims;
 * <li><b>spinning</b>: after a job (or a ticket it came too late for), it watches the ticket queue
 *     ({@link Thread#onSpinWait}, and {@link Thread#yield} every {@link #YIELD_EVERY_NANOS}, so that
 *     a spinner sharing a core with the caller or another process gives it back) for
 *     {@link #spinBudgetNanos} after its last job or after the last <em>demand</em> (a job that a
 *     spinning worker would share, see {@link #noteDemand}), whichever is later: a burst of small
 *     calls keeps a worker awake for as long as it lasts, as OpenMP runtimes do (KMP_BLOCKTIME,
 *     GOMP_SPINCOUNT). The budget is a few times the measured cost of waking a parked worker
 *     (between {@link #SPIN_MIN_NANOS} and {@link #SPIN_MAX_NANOS}): spinning longer than that costs
 *     more CPU than the wake-up it saves;
 * <li><b>parked</b> on a semaphore, until a caller wakes it (a system call the caller pays).
 * </ul>
 * A caller decides from what it sees at the call ({@link #threadsToOffer}):
 * <ul>
 * <li>a job that pays for waking a parked worker, by the measured parked hand-off, or of at least
 *     {@link #FIXED_SECONDS_PER_THREAD} per thread, is offered to every thread it pays for, whatever
 *     the workers' state: mid-size jobs share in every process;
 * <li>a smaller job that a spinning worker would share (demand) is offered when a worker is awake
 *     (spinning, or running a job it is about to leave), as many threads as the measured spinning
 *     hand-off pays for (and, so that a hand-off measured in a busy moment is measured again, one
 *     such job in {@link #PROBE_EVERY} anyway);
 * <li>demand while every worker is parked runs on the caller, which adds its estimate up: once the
 *     demand run alone in one burst (calls within a spin budget of each other) reaches
 *     {@link #WAKE_AFTER_WAKE_UPS} times the measured parked wake-up, the next demand job wakes a
 *     worker (a second thread would have saved that wake-up by then), which then spins for the
 *     rest of the burst.
 * </ul>
 * The caller never waits for a worker to arrive: it starts its own claims at once, and a worker
 * that arrives when every unit is claimed stays out ({@link ExecutorJob#enter}).
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
    final HandOff fromSpinning = new HandOff(SPIN_PICKUP_START_NANOS, SPIN_OFFER_START_NANOS), fromParked = new HandOff(10_000, 5_000);
    /**
     * The measured hand-off only ever adds threads to what this much estimated work per thread
     * (the rule before it measured) offers, never takes them away. On a 2-core VM the caller's
     * measured offer to a parked worker reached 100-125 us (the woken worker lands on the caller's
     * core), above what a 40 us layer saves, so depthwise layers that had shared their work ran on
     * one thread (docs/results/2026-12-07_0840_executor_floor.txt).
     */
    private static final double FIXED_SECONDS_PER_THREAD = 10e-6;
    private static final double SPIN_PICKUP_START_NANOS = 1_000, SPIN_OFFER_START_NANOS = 500;
    /**
     * When a caller last started or finished a job that a spinning worker would share ({@link
     * System#nanoTime}): workers keep spinning while such jobs keep coming (a layer loop, a batch of
     * requests).
     */
    private volatile long lastDemandNanos = System.nanoTime();
    /**
     * Demand jobs that callers run alone now: workers keep spinning while one runs, so that a job
     * longer than the spin budget does not outlast the spin of a worker the next call would find.
     */
    private final AtomicInteger demandRunningAlone = new AtomicInteger();
    /**
     * The threads the last demand would share with a spinning worker: workers 0 to this less 2
     * spin on for demand, the others only their budget after their own last job.
     */
    private volatile int lastDemandThreads = 2;
    /**
     * Estimated seconds of demand the callers ran alone, every worker parked, since a worker was
     * last woken for demand (see {@link #threadsToOffer}). Racy: lost updates only delay a wake-up.
     */
    private double aloneDemandSeconds;
    /** What the executor did, for {@code bench} and the tests (see {@link #activity}). */
    final LongAdder jobs = new LongAdder(), offeredToAwake = new LongAdder(), offeredToParked = new LongAdder(),
            joined = new LongAdder();

    /** Direct-convolution flops per second used to turn a flop count into time (sgemm-bound code). */
    public static final double GEMM_FLOPS_PER_SECOND = 150e9;

    private static volatile ConvExecutor current;

    private final int threads;
    private final Semaphore permits;
    private final ConcurrentLinkedQueue<ExecutorWorkspace> workspaces = new ConcurrentLinkedQueue<>();
    /**
     * Offered tickets. Lock-free, so that a spinning worker's look at the queue never holds up the
     * caller's offer: a blocking queue's offer signals waiting takers under the lock that the
     * worker's poll takes as soon as it sees the ticket, and the caller then parked on that lock
     * (its measured offer to a spinning worker was 1.9-3.3 us in some processes, 0.3-0.6 us now).
     */
    private final ConcurrentLinkedQueue<ExecutorJob> tickets = new ConcurrentLinkedQueue<>();
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
        for (int i = 0; i < threads; i++) workspaces.add(new ExecutorWorkspace());
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

    /**
     * What this executor did so far, one line for {@code bench}'s log: calls, calls offered to an
     * awake worker and to parked ones (a wake-up the caller paid), and workers that joined.
     */
    public String activity() {
        return String.format(java.util.Locale.ROOT, "%d calls, offered to an awake worker %d, to a parked one %d (a wake-up),"
                + " a worker joined %d; measured parked wake-up %.1f us, spin budget %d us", jobs.sum(), offeredToAwake.sum(),
                offeredToParked.sum(), joined.sum(), parkedWakeUpSeconds() * 1e6, spinBudgetNanos() / 1000);
    }

    /** Workers parked now (for the tests). */
    int parkedWorkers() {
        return parked.get();
    }

    /** The worker threads (for the tests). */
    Thread[] workerThreads() {
        return workers.clone();
    }

    /**
     * Workers not parked: running a job or spinning after one. A caller offers small jobs to them:
     * a worker that has just left the caller's previous job is about to spin, and one busy with
     * another caller's job takes the ticket when it is done (the caller does not wait for it).
     */
    private boolean anyAwake() {
        return parked.get() < workers.length;
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
        jobs.increment();
        int most = (int) Math.min(threads, units);
        boolean demand = nominalThreads(most, seconds) > 1;
        int want = demand ? threadsToOffer(most, seconds) : 1;
        // A permit is released by the finally that follows its acquire and nothing else: whatever
        // the runner, the workspace or a concurrent setThreads does, it is never lost (a lost
        // permit would leave every later caller of this executor waiting for good).
        if (want == 1) { // the common small case: no job, no hand-off
            if (demand) demandRunningAlone.incrementAndGet();
            permits.acquireUninterruptibly();
            try {
                ExecutorWorkspace ws = takeWorkspace();
                try {
                    ws.ensure(workspaceBytes);
                    runner.run(0, units, ws.buffer);
                } finally {
                    returnWorkspace(ws);
                }
            } finally {
                permits.release();
                if (demand) {
                    lastDemandNanos = System.nanoTime();
                    demandRunningAlone.decrementAndGet();
                }
            }
            return;
        }
        ExecutorJob job = new ExecutorJob(units, want, workspaceBytes, runner, Thread.currentThread());

        permits.acquireUninterruptibly();
        try {
            ExecutorWorkspace ws = takeWorkspace();
            try {
                ws.ensure(workspaceBytes); // may throw OutOfMemoryError: nothing has run yet
                boolean awake = anyAwake();
                (awake ? offeredToAwake : offeredToParked).increment();
                HandOff handOff = awake ? fromSpinning : fromParked;
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
        lastDemandNanos = System.nanoTime(); // every shared job is demand
        job.rethrow();
    }

    /**
     * How many threads to offer a job of {@code seconds} estimated single-thread time, at most
     * {@code most} (the state machine in the class comment): every thread that waking a parked
     * worker pays for, by the measured parked hand-off or the fixed rule; beyond that, for a job
     * that a spinning worker would share (demand), what the measured spinning hand-off pays for
     * while a worker spins, and a wake-up once the demand run alone in this burst has reached
     * {@link #WAKE_AFTER_WAKE_UPS} parked wake-ups. Not while a ticket still waits in the queue:
     * then the workers are behind (descheduled, or busy with other callers' jobs), and small jobs
     * would only pile up tickets that are taken after their job has finished.
     */
    int threadsToOffer(int most, double seconds) {
        int nominal = nominalThreads(most, seconds);
        if (nominal == 1) return 1;
        long now = System.nanoTime();
        boolean burst = now - lastDemandNanos < spinBudgetNanos();
        noteDemand(now, nominal);
        int fixed = (int) Math.min(most, Math.max(1, (long) (seconds / FIXED_SECONDS_PER_THREAD)));
        int cold = Math.max(fixed, threadsWorthOffering(most, seconds, fromParked.pickup.seconds(), fromParked.offer.seconds()));
        if (cold >= nominal || !tickets.isEmpty()) return cold;
        if (anyAwake()) {
            int warm = threadsWorthOffering(most, seconds, fromSpinning.pickup.seconds(), fromSpinning.offer.seconds());
            return warm > cold ? warm : probe(cold, nominal);
        }
        double alone = (burst ? aloneDemandSeconds : 0) + seconds;
        if (alone >= WAKE_AFTER_WAKE_UPS * parkedWakeUpSeconds()) {
            aloneDemandSeconds = 0;
            return nominal;
        }
        aloneDemandSeconds = alone;
        return cold;
    }

    /**
     * The threads a spinning worker at the starting hand-off would share a job with; more than one
     * makes the job demand. Judged at the starting values, not the measured ones, so that a hand-off
     * measured in a busy moment does not end the demand that keeps workers spinning.
     */
    private static int nominalThreads(int most, double seconds) {
        return most <= 1 ? 1 : threadsWorthOffering(most, seconds, SPIN_PICKUP_START_NANOS * 1e-9, SPIN_OFFER_START_NANOS * 1e-9);
    }

    /**
     * Whether a job of {@code seconds} estimated single-thread time runs on its caller alone
     * whatever the thread count: not worth sharing even with a worker spinning at the starting
     * hand-off values. What lets a caller merge two such jobs into one.
     */
    public static boolean runsAlone(double seconds) {
        return nominalThreads(2, seconds) == 1;
    }

    /** Records a demand job of {@code threads} threads starting at {@code now} (see {@link #lastDemandNanos}). */
    private void noteDemand(long now, int threads) {
        if (lastDemandThreads != threads) lastDemandThreads = threads;
        lastDemandNanos = now;
    }

    /**
     * How many parked wake-ups of demand run alone in one burst wake a worker: by then a second
     * thread would have saved half of that work, one wake-up (ski rental: pay for the wake-up once
     * going without it has cost as much).
     */
    static final double WAKE_AFTER_WAKE_UPS = 2;

    /** The measured cost of waking a parked worker: the caller's offer plus the worker's pickup. */
    double parkedWakeUpSeconds() {
        return fromParked.offer.seconds() + fromParked.pickup.seconds();
    }

    /**
     * A measured spinning hand-off is only measured again when work is offered, so one learned in a
     * busy moment (a descheduled worker) would keep small jobs on the caller while a worker spins:
     * one job in {@link #PROBE_EVERY} is offered anyway.
     */
    private int probe(int cold, int nominal) {
        return ++probes % PROBE_EVERY == 0 ? nominal : cold;
    }

    /** How often a stale hand-off is probed (see {@link #probe}). */
    private static final int PROBE_EVERY = 16;
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
     * at most 1/{@code want} of the units (see {@link ExecutorJob#claimEnd}): the estimate of that much
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
     * How long a worker spins after its last job, or after the last demand, before it parks: {@link
     * #SPIN_PER_WAKE_UP} measured parked wake-ups, at least {@link #SPIN_MIN_NANOS}, at most {@link
     * #SPIN_MAX_NANOS}. A worker that parks and is woken for the next job costs that wake-up; one
     * that spins costs its CPU time, not the caller's.
     */
    long spinBudgetNanos() {
        double nanos = SPIN_PER_WAKE_UP * parkedWakeUpSeconds() * 1e9;
        return (long) Math.min(SPIN_MAX_NANOS, Math.max(SPIN_MIN_NANOS, nanos));
    }

    /** Spin budget per measured parked wake-up (see {@link #spinBudgetNanos}). */
    static final double SPIN_PER_WAKE_UP = 4;
    /** The shortest spin: about what a caller's next layer call takes to come in a layer loop. */
    static final long SPIN_MIN_NANOS = 100_000;
    /** The longest: bounds the CPU an idle process burns after its last call (per worker). */
    static final long SPIN_MAX_NANOS = 1_000_000;
    /**
     * A spinning worker yields its core this often: a woken worker may land on its caller's core (or
     * on one another process needs), and without a yield it would hold it until the scheduler's
     * next tick, while the caller runs the job; on an idle core a yield returns at once.
     */
    static final long YIELD_EVERY_NANOS = 20_000;

    /**
     * The next ticket: one already queued, else one that comes while this worker spins (see the
     * class comment), else one it is woken for. Each records its pickup delay with the state the
     * worker was in. A worker counts itself in {@link #parked} before its last look at the queue,
     * and a caller wakes parked workers after adding its tickets, so a ticket is either seen or
     * followed by a wake-up.
     */
    private ExecutorJob nextTicket(int index) throws InterruptedException {
        ExecutorJob job = tickets.poll();
        if (job == null) job = spinForTicket(index);
        if (job != null) return fromSpinning.tookTicket(job);
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

    /**
     * Watches the queue for a ticket for the spin budget after this call, or after the last demand
     * (workers that a demand job would share: {@code index < lastDemandThreads - 1}), or while a
     * demand job runs alone; null when none came.
     */
    private ExecutorJob spinForTicket(int index) {
        long budget = spinBudgetNanos(), start = System.nanoTime(), yielded = start;
        for (;;) {
            Thread.onSpinWait();
            ExecutorJob job;
            if (!tickets.isEmpty() && (job = tickets.poll()) != null) return job;
            long now = System.nanoTime();
            boolean forDemand = index < lastDemandThreads - 1;
            long from = forDemand ? Math.max(start, lastDemandNanos) : start;
            if (now - from >= budget && !(forDemand && demandRunningAlone.get() > 0)) return null;
            if (now - yielded >= YIELD_EVERY_NANOS) {
                Thread.yield();
                yielded = System.nanoTime();
            }
        }
    }

    /** Wakes up to {@code offered} parked workers for tickets just added. */
    private void wakeParked(int offered) {
        int asleep = parked.get();
        if (asleep > 0) wakeups.release(Math.min(offered, asleep));
    }

    private void workerLoop(int index) {
        for (;;) {
            ExecutorJob job;
            try {
                job = nextTicket(index);
            } catch (InterruptedException e) {
                return;
            }
            if (job == ExecutorJob.STOP) return;
            if (!job.hasUnclaimed()) continue;
            permits.acquireUninterruptibly();
            if (!job.enter()) { // the caller has claimed every unit and waits: too late to join
                permits.release();
                continue;
            }
            joined.increment();
            long finished = 0;
            try {
                ExecutorWorkspace ws = takeWorkspace();
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
    private ExecutorWorkspace takeWorkspace() {
        ExecutorWorkspace ws = workspaces.poll();
        return ws != null ? ws : new ExecutorWorkspace();
    }

    private void returnWorkspace(ExecutorWorkspace ws) {
        workspaces.add(ws);
        if (retired) freeWorkspaces();
    }

    /** Frees every idle workspace; each is polled by exactly one thread, so none is freed twice. */
    private void freeWorkspaces() {
        ExecutorWorkspace ws;
        while ((ws = workspaces.poll()) != null) ws.free();
    }

    /**
     * Stops the workers and frees the native workspaces: those idle now at once, those in use by
     * convolutions still running on this executor as they come back (so a replaced executor
     * leaks nothing, however often {@link #setThreads} is called).
     */
    private void shutdown() {
        retired = true;
        for (int i = 0; i < workers.length; i++) tickets.add(ExecutorJob.STOP);
        wakeParked(workers.length);
        freeWorkspaces();
    }
}
