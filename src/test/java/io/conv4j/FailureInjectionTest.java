package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.conv4j.internal.NativeCore;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Native allocation failures, injected with {@link NativeCore#failNextAllocations}: each one must
 * reach the caller as an {@link OutOfMemoryError} with a message, leave the output untouched, free
 * whatever the call had already allocated, and leave conv4j working (the next call is correct).
 * Each scenario arranges for the failing allocation to be a different one of the call's.
 */
class FailureInjectionTest {
    static final Shape IN = Shape.of(2, 12, 11, 6), FILTER = Shape.of(3, 3, 6, 10);
    static final Conv2dOptions OPTS = Conv2dOptions.builder().padding(Padding.SAME).build();

    int savedThreads;
    Tensor x, w, b;
    float[] want;
    /** The prepared path may plan another algorithm (its transform is paid once), so its own reference. */
    float[] wantPrepared;

    @BeforeEach
    void setUp() {
        savedThreads = Conv4j.threads();
        SplittableRandom r = new SplittableRandom(5);
        x = Tensor.fromArray(FuzzSupport.randomFloats(IN.numElements(), r), IN);
        w = Tensor.fromArray(FuzzSupport.randomFloats(FILTER.numElements(), r), FILTER);
        b = Tensor.fromArray(FuzzSupport.randomFloats(10, r), Shape.of(10));
        Conv4j.setThreads(1);
        try (Tensor y = Conv2d.conv2d(x, w, b, OPTS)) {
            want = y.toArray();
        }
        try (PreparedFilter pf = Conv2d.prepare(w, b, OPTS); Tensor y = Conv2d.conv2d(x, pf)) {
            wantPrepared = y.toArray();
        }
    }

    @AfterEach
    void tearDown() {
        NativeCore.failNextAllocations(0);
        x.close();
        w.close();
        b.close();
        Conv4j.setThreads(savedThreads);
    }

    /** Injects one failure before {@code call}: it must throw OutOfMemoryError, leak nothing, and conv4j must work after. */
    void failsCleanly(String what, Runnable call) {
        long before = settledNativeBytes();
        NativeCore.failNextAllocations(1);
        OutOfMemoryError e = assertThrows(OutOfMemoryError.class, call::run, what + ": the injected failure must surface");
        NativeCore.failNextAllocations(0);
        assertNotNull(e.getMessage(), what + ": message");
        assertTrue(e.getMessage().contains("conv4j"), what + ": message names conv4j: " + e.getMessage());
        assertEquals(before, NativeCore.allocatedBytes(), what + ": native bytes after the failure (a leak?)");
        stillWorks(what);
    }

    /**
     * Native bytes held by tensors alone: the executor is replaced by a fresh one of the same
     * size (so its workspaces, which grow to the largest convolution seen, are freed) and the
     * count is read once the old workers have handed theirs back.
     */
    static long nativeBytesWithoutWorkspaces() {
        int t = Conv4j.threads();
        Conv4j.setThreads(t == 1 ? 2 : 1);
        Conv4j.setThreads(t);
        return settledNativeBytes();
    }

    /**
     * conv4j's native bytes once the Cleaner has nothing left to free: earlier tests' unreachable
     * tensors are freed by the Cleaner thread at any moment, so a baseline read while it works
     * would make an exact before/after comparison flaky. The operation measured after this
     * baseline is read without any GC, so a leak of its own still shows.
     */
    static long settledNativeBytes() {
        long last = Long.MIN_VALUE;
        int stable = 0;
        for (int i = 0; i < 200 && stable < 3; i++) {
            System.gc();
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            long now = NativeCore.allocatedBytes();
            stable = now == last ? stable + 1 : 0;
            last = now;
        }
        return last;
    }

    void stillWorks(String what) {
        try (Tensor y = Conv2d.conv2d(x, w, b, OPTS)) {
            assertArrayEquals(want, y.toArray(), what + ": the next call must be right");
        }
    }

    @Test
    void freshOutputAllocation() {
        failsCleanly("fresh output", () -> Conv2d.conv2d(x, w, b, OPTS));
    }

    @Test
    void temporaryForAChannelStridedOutput() {
        // an NCHW output seen as NHWC has channel stride != 1: conv4j computes into a temporary first
        Shape os = Conv2d.outputShape(IN, FILTER, OPTS);
        try (Tensor nchw = Tensor.allocate(os.size(0), os.size(3), os.size(1), os.size(2))) {
            Tensor out = nchw.permute(0, 2, 3, 1);
            failsCleanly("temporary output", () -> Conv2d.conv2d(x, w, b, OPTS, out));
            assertArrayEquals(new float[(int) os.numElements()], out.toArray(), "output written by a failed call");
            Conv2d.conv2d(x, w, b, OPTS, out);
            assertArrayEquals(want, out.toArray());
        }
    }

    @Test
    void copyOfANonContiguousFilter() {
        Shape os = Conv2d.outputShape(IN, FILTER, OPTS);
        try (Tensor oihw = Tensor.allocate(10, 6, 3, 3); Tensor out = Tensor.allocate(os)) {
            Tensor wv = oihw.permute(2, 3, 1, 0);
            wv.copyFrom(w);
            failsCleanly("filter copy", () -> Conv2d.conv2d(x, wv, b, OPTS, out));
            assertArrayEquals(new float[(int) os.numElements()], out.toArray(), "output written by a failed call");
        }
    }

    @Test
    void executorWorkspace() {
        Shape os = Conv2d.outputShape(IN, FILTER, OPTS);
        try (Tensor out = Tensor.allocate(os)) {
            Conv4j.setThreads(2);
            Conv4j.setThreads(1); // a fresh executor: its workspace is allocated by the next call
            failsCleanly("workspace", () -> Conv2d.conv2d(x, w, b, OPTS, out));
            assertArrayEquals(new float[(int) os.numElements()], out.toArray(), "output written by a failed call");
        }
    }

    @Test
    void tensorsAndPreparedFilters() {
        failsCleanly("Tensor.allocate", () -> Tensor.allocate(3, 4));
        failsCleanly("Tensor.fromArray", () -> Tensor.fromArray(new float[12], Shape.of(3, 4)));
        failsCleanly("Conv2d.prepare", () -> Conv2d.prepare(w, b, OPTS));
        failsCleanly("array API", () -> Conv2d.conv2d(x.toArray(), IN, w.toArray(), FILTER, null, OPTS));
        try (PreparedFilter pf = Conv2d.prepare(w, b, OPTS)) {
            failsCleanly("prepared filter call", () -> Conv2d.conv2d(x, pf));
            try (Tensor y = Conv2d.conv2d(x, pf)) {
                assertArrayEquals(wantPrepared, y.toArray());
            }
        }
    }

    @Test
    void severalFailuresInARow() {
        // more failures than one call makes allocations: every call in between fails cleanly
        long before = settledNativeBytes();
        for (int n = 1; n <= 6; n++) {
            NativeCore.failNextAllocations(n);
            int failed = 0;
            for (int k = 0; k < n + 2; k++) {
                try (Tensor y = Conv2d.conv2d(x, w, b, OPTS)) {
                    assertArrayEquals(want, y.toArray(), "a call that succeeded must be right");
                } catch (OutOfMemoryError e) {
                    failed++;
                    assertTrue(e.getMessage() != null && e.getMessage().contains("conv4j"), e.getMessage());
                }
            }
            NativeCore.failNextAllocations(0);
            assertTrue(failed >= 1, n + " injected failures made no call fail");
            assertEquals(before, NativeCore.allocatedBytes(), "native bytes after " + n + " failures");
        }
        stillWorks("after repeated failures");
    }

    @Test
    void failuresWhileWorkersJoinABigConvolution() {
        // A convolution spread over threads: whichever allocation fails (the caller's workspace,
        // which comes first, or a joining worker's, which then simply does not join), the call
        // either throws OutOfMemoryError or returns exactly the single-threaded bits.
        Shape big = Shape.of(1, 64, 64, 16), bigF = Shape.of(3, 3, 16, 32);
        SplittableRandom r = new SplittableRandom(9);
        try (Tensor bx = Tensor.fromArray(FuzzSupport.randomFloats(big.numElements(), r), big);
             Tensor bw = Tensor.fromArray(FuzzSupport.randomFloats(bigF.numElements(), r), bigF);
             Tensor out = Tensor.allocate(Conv2d.outputShape(big, bigF, OPTS))) {
            Supplier<float[]> run = () -> {
                Conv2d.conv2d(bx, bw, null, OPTS, out);
                return out.toArray();
            };
            float[] single = run.get();
            Conv4j.setThreads(2);
            Conv4j.setThreads(1); // an executor with no workspace yet: the baseline is tensors only
            long before = settledNativeBytes();
            for (int attempt = 0; attempt < 6; attempt++) {
                Conv4j.setThreads(2 + attempt % 2); // a fresh executor: workspaces allocated on demand
                if (attempt >= 2) run.get(); // some workspaces sized already, so later failures hit workers
                NativeCore.failNextAllocations(1 + attempt % 3);
                float[] got = null;
                try {
                    got = run.get();
                } catch (OutOfMemoryError e) {
                    assertTrue(e.getMessage().contains("conv4j"), e.getMessage());
                } finally {
                    NativeCore.failNextAllocations(0);
                }
                if (got != null) assertArrayEquals(single, got, "result with an allocation refused");
                assertArrayEquals(single, run.get(), "result after the failures");
                Conv4j.setThreads(1); // frees the executor's workspaces: nothing else may remain
                assertEquals(before, NativeCore.allocatedBytes(), "native bytes after attempt " + attempt);
            }
        }
        stillWorks("after worker failures");
    }
}
