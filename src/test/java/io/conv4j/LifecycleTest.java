package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.conv4j.internal.NativeCore;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Memory ownership: released tensors cannot be used (a clear IllegalStateException, never a read
 * of freed memory), close() frees conv4j memory at once, a buffer handed out keeps its memory
 * alive until the Cleaner frees it, and a close racing with convolutions on other threads never
 * frees memory in use.
 */
class LifecycleTest {

    static void closedError(Executable e, String what) {
        IllegalStateException x = assertThrows(IllegalStateException.class, e, what);
        assertTrue(x.getMessage() != null && x.getMessage().contains("closed"), what + ": " + x.getMessage());
    }

    @Test
    void everyUseOfAClosedTensorOrViewThrows() {
        Tensor x = Tensor.fromArray(new float[2 * 5 * 5 * 3], 2, 5, 5, 3);
        Tensor view = x.slice(1, 1, 4).permute(0, 2, 1, 3);
        Tensor w = Tensor.allocate(3, 3, 3, 4), b = Tensor.allocate(4), out = Tensor.allocate(2, 3, 3, 4);
        Conv2dOptions o = Conv2dOptions.defaults();
        Conv2d.conv2d(x, w, b, o, out).toArray(); // all usable before
        x.close();
        x.close(); // idempotent
        assertFalse(x.isOpen());
        assertFalse(view.isOpen(), "views share the memory's state");
        for (Tensor t : new Tensor[] {x, view}) {
            closedError(t::toArray, "toArray");
            closedError(() -> t.copyTo(new float[(int) t.shape().numElements()]), "copyTo");
            closedError(() -> t.copyFrom(new float[(int) t.shape().numElements()]), "copyFrom");
            closedError(() -> t.get(0, 0, 0, 0), "get");
            closedError(() -> t.set(1f, 0, 0, 0, 0), "set");
            closedError(t::buffer, "buffer");
        }
        long base = FailureInjectionTest.settledNativeBytes();
        closedError(view::contiguous, "contiguous copy of a closed view");
        assertEquals(base, NativeCore.allocatedBytes(), "the copy made for contiguous() is freed when it fails");
        closedError(() -> x.slice(0, 0, 1).toArray(), "a view made after close");
        closedError(() -> Conv2d.conv2d(x, w, o), "conv2d with a closed input");
        closedError(() -> Conv2d.conv2d(view.permute(0, 2, 1, 3), w, o), "conv2d with a closed view");
        closedError(() -> Conv2d.prepare(x, null, o), "prepare with a closed filter");
        try (Tensor x2 = Tensor.allocate(2, 5, 5, 3)) {
            w.close();
            closedError(() -> Conv2d.conv2d(x2, w, o), "closed filter");
            try (Tensor w2 = Tensor.allocate(3, 3, 3, 4)) {
                b.close();
                closedError(() -> Conv2d.conv2d(x2, w2, b, o), "closed bias");
                out.close();
                closedError(() -> Conv2d.conv2d(x2, w2, null, o, out), "closed output");
                PreparedFilter pf = Conv2d.prepare(w2, null, o);
                pf.close();
                closedError(() -> Conv2d.conv2d(x2, pf), "closed prepared filter");
            }
        }
        assertTrue(x.toString().contains("closed"), x.toString());
    }

    @Test
    void closeFreesAtOnceAndAnExposedBufferOnlyThroughTheCleaner() throws InterruptedException {
        long base = settledAfterGc(); // earlier tests' garbage must not be freed in the middle
        Tensor t = Tensor.allocate(1000);
        assertEquals(base + 4000, NativeCore.allocatedBytes());
        t.close();
        assertEquals(base, NativeCore.allocatedBytes(), "close() frees conv4j memory at once");

        Tensor exposed = Tensor.allocate(1000);
        ByteBuffer held = exposed.buffer();
        exposed.close();
        assertEquals(base + 4000, NativeCore.allocatedBytes(), "memory whose buffer was handed out outlives close()");
        held.putFloat(3996, 1.5f); // still valid memory
        assertEquals(1.5f, held.getFloat(3996));
        held = null;
        exposed = null;
        assertTrue(gcUntil(() -> NativeCore.allocatedBytes() == base), "the Cleaner frees it once unreachable");

        Tensor.allocate(2000); // never closed: the Cleaner is the safety net
        assertTrue(gcUntil(() -> NativeCore.allocatedBytes() == base), "an unclosed, unreachable tensor is freed");
    }

    /** Native bytes once a few GCs in a row free nothing more. */
    static long settledAfterGc() throws InterruptedException {
        long last = -1, now = NativeCore.allocatedBytes();
        for (int i = 0; i < 40 && now != last; i++) {
            System.gc();
            Thread.sleep(50);
            last = now;
            now = NativeCore.allocatedBytes();
        }
        return now;
    }

    /** Runs the GC until {@code done} holds (at most about 10 seconds). */
    static boolean gcUntil(java.util.function.BooleanSupplier done) throws InterruptedException {
        for (int i = 0; i < 200 && !done.getAsBoolean(); i++) {
            System.gc();
            Thread.sleep(50);
        }
        return done.getAsBoolean();
    }

    @Test
    void closeRacingWithConvolutionsNeverFreesMemoryInUse() throws InterruptedException {
        // Three threads convolve the same input in a loop; once each has one result, the input is
        // closed under them. Calls in flight finish on live memory (the last one frees it); calls
        // that start later are refused. Every result must be right; nothing may leak.
        Shape is = Shape.of(1, 24, 24, 8), fs = Shape.of(3, 3, 8, 8);
        SplittableRandom r = new SplittableRandom(3);
        float[] xa = FuzzSupport.randomFloats(is.numElements(), r), wa = FuzzSupport.randomFloats(fs.numElements(), r);
        float[] want;
        try (Tensor w = Tensor.fromArray(wa, fs)) {
            try (Tensor x = Tensor.fromArray(xa, is); Tensor y = Conv2d.conv2d(x, w, Conv2dOptions.defaults())) {
                want = y.toArray();
            }
            long base = FailureInjectionTest.nativeBytesWithoutWorkspaces();
            AtomicInteger ok = new AtomicInteger(), refused = new AtomicInteger();
            AtomicReference<Throwable> bad = new AtomicReference<>();
            for (int round = 0; round < 50; round++) {
                Tensor x = Tensor.fromArray(xa, is);
                CountDownLatch eachRanOnce = new CountDownLatch(3);
                List<Thread> threads = new ArrayList<>();
                for (int t = 0; t < 3; t++) {
                    Thread th = new Thread(() -> {
                        try {
                            for (boolean first = true;; first = false) {
                                try (Tensor y = Conv2d.conv2d(x, w, Conv2dOptions.defaults())) {
                                    if (!java.util.Arrays.equals(want, y.toArray())) bad.compareAndSet(null, new AssertionError("wrong result"));
                                    ok.incrementAndGet();
                                } catch (IllegalStateException e) {
                                    refused.incrementAndGet(); // closed before this call began: clean refusal
                                    return;
                                } finally {
                                    if (first) eachRanOnce.countDown();
                                }
                            }
                        } catch (Throwable e) {
                            bad.compareAndSet(null, e);
                        }
                    });
                    th.start();
                    threads.add(th);
                }
                eachRanOnce.await();
                x.close();
                for (Thread th : threads) th.join();
            }
            if (bad.get() != null) throw new AssertionError("a racing call went wrong", bad.get());
            assertTrue(ok.get() >= 150 && refused.get() == 150, "ok " + ok + ", refused " + refused);
            assertEquals(base, FailureInjectionTest.nativeBytesWithoutWorkspaces(), "every input freed once its last user finished");
        }
    }

    @Test
    void threadCountIsBoundedByWhatOpenBlasSupports() {
        int max = io.conv4j.internal.ConvExecutor.maxThreads();
        assertEquals(Math.min(4096, io.conv4j.internal.NativeLibrary.blasMaxThreads()), max);
        assertTrue(max >= 1 && max <= 4096, "max " + max);
        int before = Conv4j.threads();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Conv4j.setThreads(max + 1));
        assertTrue(e.getMessage().contains("" + max), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Conv4j.setThreads(0));
        assertEquals(before, Conv4j.threads(), "a refused setting changes nothing");
        assertTrue(before <= max);
    }

    @Test
    void wrappedCallerMemoryIsNeverFreedByConv4j() {
        ByteBuffer mine = ByteBuffer.allocateDirect(64).order(java.nio.ByteOrder.nativeOrder());
        long base = FailureInjectionTest.settledNativeBytes();
        Tensor t = Tensor.wrap(mine, Shape.of(16));
        t.copyFrom(new float[16]);
        t.close();
        assertEquals(base, NativeCore.allocatedBytes());
        mine.putFloat(60, 2f); // still the caller's, still valid
        assertArrayEquals(new float[] {2f}, new float[] {mine.getFloat(60)});
        closedError(t::toArray, "the wrapper is closed even though the memory lives on");
    }
}
