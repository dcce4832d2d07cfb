package io.conv4j.cli;

import io.conv4j.Conv2d;
import io.conv4j.PreparedFilter;
import io.conv4j.Shape;
import io.conv4j.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Aggregate throughput of many JVM threads calling conv4j at once, as a service would: what decides
 * whether conv4j or OpenBLAS should own the threads (see the bench command's {@code --callers}).
 */
final class Throughput {
    private Throughput() {}

    /** GFLOP/s summed over {@code callers} threads convolving for about {@code seconds} each. */
    static double gflops(int callers, double seconds, double flopsPerCall, Tensor input, PreparedFilter filter, Shape outShape) {
        AtomicLong calls = new AtomicLong();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        List<Tensor> outputs = new ArrayList<>();
        long[] elapsed = new long[callers];
        try {
            for (int i = 0; i < callers; i++) outputs.add(Tensor.allocate(outShape));
            for (int i = 0; i < callers; i++) {
                final int id = i;
                Thread t = new Thread(() -> {
                    Tensor y = outputs.get(id);
                    for (int w = 0; w < 3; w++) Conv2d.conv2d(input, filter, y); // warm-up
                    try {
                        start.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    long t0 = System.nanoTime(), deadline = t0 + (long) (seconds * 1e9);
                    long n = 0;
                    do {
                        Conv2d.conv2d(input, filter, y);
                        n++;
                    } while (System.nanoTime() < deadline);
                    elapsed[id] = System.nanoTime() - t0;
                    calls.addAndGet(n);
                }, "bench-caller-" + i);
                threads.add(t);
                t.start();
            }
            start.countDown();
            for (Thread t : threads) t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            outputs.forEach(Tensor::close);
        }
        long longest = 0;
        for (long e : elapsed) longest = Math.max(longest, e);
        return longest == 0 ? 0 : calls.get() * flopsPerCall / (longest * 1e-9) * 1e-9;
    }
}
