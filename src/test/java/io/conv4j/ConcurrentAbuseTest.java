package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.conv4j.internal.NativeCore;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Settings and lifetimes changed under running calls: {@link Conv4j#setThreads} while other
 * threads convolve, and {@link Tensor#buffer()} racing {@link Tensor#close()}.
 */
class ConcurrentAbuseTest {

    /**
     * Four callers loop small and larger convolutions (single-unit calls on the caller's thread
     * and calls split over workers) while another thread flips the thread count: no call may
     * fail or hang, every result is bit-identical to the single-threaded one.
     */
    @Test
    void setThreadsWhileCallsRunNeitherFailsNorHangs() throws Exception {
        int saved = Conv4j.threads();
        SplittableRandom r = new SplittableRandom(11);
        Conv2dOptions same = Conv2dOptions.builder().padding(Padding.SAME).build();
        Shape smallIn = Shape.of(1, 8, 8, 4), smallW = Shape.of(3, 3, 4, 4);
        Shape bigIn = Shape.of(1, 48, 48, 16), bigW = Shape.of(3, 3, 16, 16);
        try (Tensor xs = Tensor.fromArray(FuzzSupport.randomFloats(smallIn.numElements(), r), smallIn);
             Tensor ws = Tensor.fromArray(FuzzSupport.randomFloats(smallW.numElements(), r), smallW);
             Tensor xb = Tensor.fromArray(FuzzSupport.randomFloats(bigIn.numElements(), r), bigIn);
             Tensor wb = Tensor.fromArray(FuzzSupport.randomFloats(bigW.numElements(), r), bigW)) {
            Conv4j.setThreads(1);
            float[] wantSmall, wantBig;
            try (Tensor y = Conv2d.conv2d(xs, ws, same)) {
                wantSmall = y.toArray();
            }
            try (Tensor y = Conv2d.conv2d(xb, wb, same)) {
                wantBig = y.toArray();
            }
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicInteger calls = new AtomicInteger();
            List<Thread> callers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                boolean big = t == 3;
                Thread th = new Thread(() -> {
                    try {
                        while (!stop.get()) {
                            try (Tensor y = big ? Conv2d.conv2d(xb, wb, same) : Conv2d.conv2d(xs, ws, same)) {
                                if (!Arrays.equals(big ? wantBig : wantSmall, y.toArray())) {
                                    throw new AssertionError("result differs from the single-threaded one");
                                }
                            }
                            calls.incrementAndGet();
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }, "setThreads-caller-" + t);
                th.setDaemon(true); // a caller stuck for good must not keep the test JVM alive
                th.start();
                callers.add(th);
            }
            long end = System.nanoTime() + 2_000_000_000L;
            for (int i = 0; System.nanoTime() < end && failure.get() == null; i++) {
                Conv4j.setThreads(1 + (i & 1));
                Thread.sleep(0, 200_000);
            }
            stop.set(true);
            for (Thread th : callers) th.join(20_000);
            for (Thread th : callers) {
                if (th.isAlive()) {
                    throw new AssertionError(th.getName() + " still waits 20 s after the last setThreads: "
                            + Arrays.toString(th.getStackTrace()), failure.get());
                }
            }
            if (failure.get() != null) throw new AssertionError("a call failed while setThreads ran", failure.get());
            assertTrue(calls.get() > 0, "no call completed");
        } finally {
            Conv4j.setThreads(saved);
        }
    }

    /**
     * {@code buffer()} and {@code close()} on two threads at once: either buffer() refuses
     * (close came first), or the buffer it returns points at memory that stays allocated until
     * the buffer is unreachable. Counted exactly: every buffer handed out keeps its tensor's
     * bytes in conv4j's native count, every refused one frees them. In each round one thread
     * calls buffer() on a row of tensors from the first, the other closes them from the last,
     * so the two meet once per round, on one tensor, at nearly the same instant (when both are
     * on a CPU: the closer announces that it is spinning, ready to start, before each round).
     */
    @Test
    void bufferRacingCloseNeverHandsOutFreedMemory() throws Exception {
        io.conv4j.internal.NativeLibrary.ensureLoaded();
        long base = FailureInjectionTest.settledNativeBytes();
        int row = 64;
        List<ByteBuffer> handedOut = new ArrayList<>(); // kept reachable: the Cleaner must not run meanwhile
        Tensor[] tensors = new Tensor[row];
        AtomicInteger ready = new AtomicInteger(), go = new AtomicInteger(), closed = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> closerFailure = new AtomicReference<>();
        Thread closer = new Thread(() -> {
            try {
                for (int round = 1;; round++) {
                    ready.set(round);
                    for (int spins = 0; go.get() < round; spins++) {
                        if (stop.get()) return;
                        pause(spins);
                    }
                    for (int k = row - 1; k >= 0; k--) tensors[k].close();
                    closed.set(round);
                }
            } catch (Throwable e) {
                closerFailure.set(e);
                closed.set(Integer.MAX_VALUE);
            }
        }, "closer");
        closer.setDaemon(true);
        closer.start();
        int refused = 0, rounds = 0;
        long end = System.nanoTime() + 2_000_000_000L;
        try {
            for (int round = 1; round <= 4000 && (round <= 200 || System.nanoTime() < end); round++) {
                for (int k = 0; k < row; k++) tensors[k] = Tensor.allocate(16);
                for (int spins = 0; ready.get() < round; spins++) pause(spins);
                go.set(round);
                int handedBefore = handedOut.size();
                for (int k = 0; k < row; k++) {
                    try {
                        handedOut.add(tensors[k].buffer());
                    } catch (IllegalStateException e) {
                        refused++;
                    }
                }
                for (int spins = 0; closed.get() < round; spins++) pause(spins); // every close() has returned
                if (closerFailure.get() != null) throw new AssertionError(closerFailure.get());
                long want = base + 64L * handedOut.size(); // 16 floats each
                if (NativeCore.allocatedBytes() != want) {
                    throw new AssertionError("round " + round + ": " + (NativeCore.allocatedBytes() - base) + " native bytes held"
                            + " for " + handedOut.size() + " buffers handed out: one of them points at freed memory");
                }
                for (int i = handedBefore; i < handedOut.size(); i++) handedOut.get(i).putFloat(60, i); // still ours
                rounds = round;
            }
        } finally {
            stop.set(true);
        }
        System.out.println("buffer() racing close(): " + rounds + " rounds, " + handedOut.size() + " buffers handed out, "
                + refused + " refused");
        handedOut.clear();
    }

    /**
     * The same check-then-use race in {@link PreparedFilter}: a call that found the filter open
     * computes its transform while another thread closes the filter. The transform must then be
     * freed by that close (or refused), never left behind: after each round conv4j's native bytes
     * are back where they were, without waiting for the garbage collector.
     */
    @Test
    void preparedFilterClosedWhileItsTransformIsComputedLeaksNothing() throws Exception {
        int saved = Conv4j.threads();
        Conv4j.setThreads(1); // one workspace, warmed below, so the count is exact
        Shape in = Shape.of(1, 8, 8, 64), fs = Shape.of(3, 3, 64, 64);
        Conv2dOptions o = Conv2dOptions.builder().padding(Padding.SAME).algorithm(Algorithm.WINOGRAD_4X4).build();
        SplittableRandom r = new SplittableRandom(4);
        try (Tensor x = Tensor.fromArray(FuzzSupport.randomFloats(in.numElements(), r), in);
             Tensor w = Tensor.fromArray(FuzzSupport.randomFloats(fs.numElements(), r), fs)) {
            try (PreparedFilter pf = Conv2d.prepare(w, null, o); Tensor y = Conv2d.conv2d(x, pf)) {
                y.toArray(); // warms the workspace
            }
            long base = FailureInjectionTest.settledNativeBytes();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            int refused = 0;
            for (int round = 0; round < 300 && failure.get() == null; round++) {
                PreparedFilter pf = Conv2d.prepare(w, null, o);
                AtomicBoolean wasRefused = new AtomicBoolean(), calling = new AtomicBoolean();
                Thread caller = new Thread(() -> {
                    calling.set(true);
                    try (Tensor y = Conv2d.conv2d(x, pf)) {
                        y.toArray();
                    } catch (IllegalStateException e) {
                        wasRefused.set(true); // closed first: a clean refusal
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                caller.start();
                for (int spins = 0; !calling.get(); spins++) pause(spins);
                for (int k = round % 50 * 40; k > 0; k--) Thread.onSpinWait(); // close at many points of the call
                pf.close();
                caller.join();
                if (wasRefused.get()) refused++;
                long now = NativeCore.allocatedBytes();
                if (now != base) throw new AssertionError("round " + round + ": " + (now - base) + " native bytes left behind");
            }
            if (failure.get() != null) throw new AssertionError(failure.get());
            System.out.println("prepared filter closed during calls: 300 rounds, " + refused + " calls refused");
        } finally {
            Conv4j.setThreads(saved);
        }
    }

    /** Spins, then yields: on a loaded machine the other thread may need this one's core. */
    private static void pause(int spins) {
        if (spins < 2000) Thread.onSpinWait();
        else Thread.yield();
    }
}
