package io.conv4j;

import io.conv4j.internal.NativeCore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Run by {@link MemoryTest} in its own JVM (fixed heap, pre-touched, so heap growth cannot show
 * up as RSS growth): a warm-up, then {@code calls} small convolutions, a fifth of which throw
 * (Java validation, native refusal through JNI, an injected allocation failure, a closed tensor).
 * Prints native bytes (conv4j's counted allocations) and RSS after the warm-up and at ten
 * checkpoints, then a line {@code result calls C native-growth N rss-growth-kib R}.
 */
public final class MemoryProbe {
    private MemoryProbe() {}

    public static void main(String[] args) {
        long calls = Long.parseLong(args[0]);
        // "leak": keep one 1 KiB tensor per 1000 calls, to show the measurement sees a leak
        boolean leak = args.length > 1 && args[1].equals("leak");
        java.util.List<Tensor> kept = new java.util.ArrayList<>();
        long warmup = Math.min(100_000, Math.max(calls / 10, 1000));
        SplittableRandom r = new SplittableRandom(11);
        Shape is = Shape.of(1, 8, 8, 4), fs = Shape.of(3, 3, 4, 8);
        Conv2dOptions same = Conv2dOptions.builder().padding(Padding.SAME).activation(Activation.RELU).build();
        Conv2dOptions valid = Conv2dOptions.defaults();
        Conv2dOptions direct = Conv2dOptions.builder().algorithm(Algorithm.GEMM_DIRECT).build();
        try (Tensor x = Tensor.fromArray(FuzzSupport.randomFloats(is.numElements(), r), is);
             Tensor w = Tensor.fromArray(FuzzSupport.randomFloats(fs.numElements(), r), fs);
             Tensor w1 = Tensor.fromArray(FuzzSupport.randomFloats(4 * 8, r), Shape.of(1, 1, 4, 8));
             Tensor b = Tensor.fromArray(FuzzSupport.randomFloats(8, r), Shape.of(8));
             Tensor badBias = Tensor.allocate(7);
             Tensor out = Tensor.allocate(Conv2d.outputShape(is, fs, valid));
             PreparedFilter pf = Conv2d.prepare(w, b, same)) {
            float[] xa = x.toArray(), wa = w.toArray();
            long[] desc = ConvGeometry.of(is, fs, valid).toNative(x, ForwardCall.denseOutputStrides(out.shape()), valid, false);
            ByteBuffer small = ByteBuffer.allocateDirect(64).order(ByteOrder.nativeOrder());
            Runnable[] mix = {
                    () -> { try (Tensor y = Conv2d.conv2d(x, w, b, same)) { y.get(0, 0, 0, 0); } },
                    () -> { try (Tensor y = Conv2d.conv2d(x, w1, direct)) { y.get(0, 0, 0, 0); } },
                    () -> Conv2d.conv2d(x, w, null, valid, out),
                    () -> { try (Tensor y = Conv2d.conv2d(x, pf)) { y.get(0, 0, 0, 0); } },
                    () -> Conv2d.conv2d(xa, is, wa, fs, null, valid),
                    () -> { try (Tensor y = Conv2d.conv2d(x.permute(0, 2, 1, 3), w, b, valid)) { y.get(0, 0, 0, 0); } },
                    () -> expect(IllegalArgumentException.class, () -> Conv2d.conv2d(x, w, badBias, valid)),
                    () -> expect(IndexOutOfBoundsException.class, // refused by the JNI layer itself
                            () -> NativeCore.forward(desc, Algorithm.GEMM_TILED.nativeId, small, 0, small, 0, null, 0, null, 0, small, 0,
                                    null, 0, 1)),
                    () -> {
                        NativeCore.failNextAllocations(1);
                        try {
                            expect(OutOfMemoryError.class, () -> Conv2d.conv2d(x, w, b, same));
                        } finally {
                            NativeCore.failNextAllocations(0);
                        }
                    },
                    () -> {
                        Tensor t = Tensor.allocate(1, 8, 8, 4);
                        t.close();
                        expect(IllegalStateException.class, () -> Conv2d.conv2d(t, w, valid));
                    },
            };
            for (long i = 0; i < warmup; i++) mix[(int) (i % mix.length)].run();
            long native0 = NativeCore.allocatedBytes(), rss0 = rssKib();
            NativeCore.resetPeakAllocatedBytes();
            System.out.printf(Locale.ROOT, "after warm-up (%d calls): native %d bytes, rss %d KiB%n", warmup, native0, rss0);
            long t0 = System.nanoTime();
            long step = Math.max(calls / 10, 1);
            for (long i = 0; i < calls; i++) {
                mix[(int) (i % mix.length)].run();
                if (leak && i % 1000 == 0) kept.add(Tensor.allocate(256));
                if ((i + 1) % step == 0) {
                    System.out.printf(Locale.ROOT, "checkpoint %d: native %d bytes, rss %d KiB%n", i + 1, NativeCore.allocatedBytes(),
                            rssKib());
                }
            }
            double secs = (System.nanoTime() - t0) * 1e-9;
            long native1 = NativeCore.allocatedBytes(), rss1 = rssKib();
            System.out.printf(Locale.ROOT, "%d calls (%d throwing) in %.1f s; peak native %d bytes (baseline %d)%n", calls,
                    calls / mix.length * 4, secs, NativeCore.peakAllocatedBytes(), native0);
            System.out.printf(Locale.ROOT, "result calls %d native-growth %d rss-growth-kib %d%n", calls, native1 - native0, rss1 - rss0);
            kept.forEach(Tensor::close);
        }
    }

    static void expect(Class<? extends Throwable> type, Runnable call) {
        try {
            call.run();
        } catch (Throwable e) {
            if (type.isInstance(e) && e.getMessage() != null) return;
            throw new AssertionError("expected " + type.getSimpleName() + ", got " + e, e);
        }
        throw new AssertionError("expected " + type.getSimpleName() + ", but the call returned");
    }

    /** Resident set size of this process in KiB (VmRSS). */
    static long rssKib() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.substring(6).replace("kB", "").trim());
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("no VmRSS in /proc/self/status");
    }
}
