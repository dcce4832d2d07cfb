package io.conv4j;

import io.conv4j.internal.NativeLibrary;
import io.conv4j.internal.Storage;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The measured choice between a channels-first call's two designs ({@link ChannelsFirst}: in place
 * by {@link Algorithm#GEMM_NCHW}, or a channels-last route between two transposes) where their
 * estimates lie too close to rank them. GEMM_NCHW's estimate prices each of its sgemm calls as the
 * measured product of the same sizes, but it runs them with the filter transposed on channel
 * planes, which OpenBLAS runs at another speed; the copies' estimate models the transposes. Both
 * err by more than such near ties are apart, so a layer could take the slower design, or another
 * design in another process.
 *
 * <p>As the forward planner's trial does for transform against exact routes (native
 * {@code cost_trial.c}), both designs run once on the layer's own geometry at its first plan: dense
 * made-up tensors, no bias, activation or flip, the channels-last route's filter transform prepared
 * beforehand (estimates leave it out too), each design run as the call would run it (the whole
 * layer in place; through the bands or the whole-image copies), on the calling thread alone
 * ({@link NativeCall#executeOnCaller}), alternately for a few rounds, the fastest of each kept
 * (wall time on one thread: interruptions only add time, and the fastest round is the undisturbed one).
 * The verdict is kept per geometry and channels-last route for the life of the process (measured
 * once, under a lock), so every entry point of one convolution (a plain call, a prepared filter, a
 * layer, an output view) gets one design, and it never depends on the thread count. Not measured:
 * layers too small for the Java side of a call to stay out of the comparison (the staged design
 * makes more calls), layers too long to run a few times at a first plan, and processes on the
 * built-in cost model ({@code conv4j.cost=model}, plans that depend on no timing).
 */
final class ChannelsFirstTrial {
    private ChannelsFirstTrial() {}

    /** The near tie: the copies' estimate within [LOW, HIGH] x the in-place one (the forward trial's upper bound). */
    static final double LOW = 0.8, HIGH = Planner.TRIAL_HIGH;

    /**
     * The near tie between two in-place routes: estimates within this factor of each other. Wider
     * than the designs' band, as GEMM_NCHW's estimate leaves out its calls' fixed costs, which
     * dominate a layer of a few microseconds (estimated at a third of its measured time there).
     */
    static final double IN_PLACE_BAND = 3;

    /** Estimated single-thread seconds of both designs at least (per-call overhead out of the comparison) and at most. */
    static final double MIN_SECONDS = 20e-6, MAX_SECONDS = 20e-3;

    /** Timed rounds after one warm-up; each design's fastest round is kept (a busy machine only adds time). */
    private static final int ROUNDS = 5;

    /** A timing repeats its design until about this much work, for the clock's granularity. */
    private static final double MIN_TIMING_SECONDS = 200e-6;

    /** Verdicts kept at most; a layer beyond them goes by its estimates, and stays so. */
    private static final int MAX_VERDICTS = 1024;

    /** Tests only: the two designs' seconds {in place, copies} instead of running them. */
    interface Timer {
        double[] seconds(ConvGeometry geo, Algorithm staged, boolean banded);
    }

    private static Timer timer;
    private static double low = LOW, high = HIGH, minSeconds = MIN_SECONDS;
    private static final Map<List<Long>, double[]> VERDICTS = new HashMap<>(); // guarded by the class lock
    private static int measured; // trials run (tests)

    /** Tests only: forgets every verdict and measures with {@code t} (null: runs the designs) in the band [lo, hi]. */
    static synchronized void reset(Timer t, double lo, double hi, double min) {
        VERDICTS.clear();
        timer = t;
        low = lo;
        high = hi;
        minSeconds = min;
        measured = 0;
    }

    /** Tests only: how many trials have run since the last {@link #reset}. */
    static synchronized int trials() {
        return measured;
    }

    /** Whether the two designs' estimates are a near tie the trial settles. */
    static synchronized boolean nearTie(double inPlaceSeconds, double copiesSeconds) {
        double lo = Math.min(inPlaceSeconds, copiesSeconds), hi = Math.max(inPlaceSeconds, copiesSeconds);
        return lo >= minSeconds && hi <= MAX_SECONDS && copiesSeconds >= low * inPlaceSeconds && copiesSeconds <= high * inPlaceSeconds
                && NativeLibrary.costSetting().equals("measured");
    }

    /**
     * Measured single-thread seconds {in place, through channels-last copies} of the geometry with
     * {@code staged} as the channels-last route (no filter transform in either), or null where
     * the trial cannot run (a design not applicable to the dense geometry, the table full).
     * {@code nhwc}: the call's options (layout NHWC); their bias, activation and flip are left out.
     */
    static synchronized double[] seconds(ConvGeometry geo, Conv2dOptions nhwc, Algorithm inPlace, Algorithm staged) {
        Conv2dOptions plain = nhwc.toBuilder().flipKernel(false).activation(Activation.NONE).algorithm(Algorithm.AUTO).build();
        List<Long> key = new ArrayList<>();
        for (long f : ChannelsFirst.denseFirst(geo, plain, false)) key.add(f);
        key.add((long) inPlace.nativeId);
        key.add((long) staged.nativeId);
        double[] verdict = VERDICTS.get(key);
        if (verdict != null || VERDICTS.containsKey(key)) return verdict;
        if (VERDICTS.size() >= MAX_VERDICTS) return null;
        measured++;
        if (timer != null) {
            ForwardCall copies = ForwardCall.dense(geo, plain.toBuilder().algorithm(staged).build(), false, true);
            verdict = timer.seconds(geo, staged, ChannelsFirstBands.of(geo, copies) != null);
        } else {
            verdict = measure(geo, plain, inPlace, staged);
        }
        VERDICTS.put(key, verdict); // a trial that could not run is kept as such: the layer's plan must not change later
        return verdict;
    }

    /** Runs both designs on made-up dense tensors of the geometry; null where one cannot run it. */
    private static double[] measure(ConvGeometry geo, Conv2dOptions plain, Algorithm inPlaceRoute, Algorithm staged) {
        try (Scratch scratch = new Scratch()) {
            Tensor[] xwy = scratch.madeUpLayer(geo);
            Tensor x = xwy[0], w = xwy[1], y = xwy[2];
            ForwardCall inPlace, copies;
            try {
                inPlace = ForwardCall.of(geo, x, ChannelsFirst.outputStrides(geo), plain.toBuilder().algorithm(inPlaceRoute).build(),
                        false, true);
                copies = ForwardCall.dense(geo, plain.toBuilder().algorithm(staged).build(), false, true);
            } catch (IllegalArgumentException e) { // a design that cannot run the dense geometry
                return null;
            }
            ChannelsFirstBands cut = ChannelsFirstBands.of(geo, copies);
            Tensor transformed = copies.transformFloats() > 0 ? scratch.own(copies.transform(w)) : null;
            Tensor xs = cut != null ? null : scratch.own(Tensor.allocate(x.shape()));
            Tensor ys = cut != null ? null : scratch.own(Tensor.allocate(geo.outputShape()));
            ByteBuffer inPlaceSpace = scratch.workspace(inPlace.plan.workspaceBytes());
            ByteBuffer copiesSpace = scratch.workspace(cut != null ? cut.workspaceBytes() : copies.plan.workspaceBytes());
            ForwardCall.Kernel k = new ForwardCall.Kernel();
            Tensor packed = inPlace.transformFloats() > 0 ? scratch.own(inPlace.transform(w)) : null; // DIRECT_NARROW's packing
            Runnable first = () -> inPlace.executeOnCaller(k, x, w, packed, null, y, inPlaceSpace);
            Runnable last = cut != null ? () -> cut.executeOnCaller(x, w, transformed, null, y, copiesSpace) : () -> {
                xs.copyFrom(x);
                copies.executeOnCaller(k, xs, w, transformed, null, ys, copiesSpace);
                y.copyFrom(ys);
            };
            return fastest(first, inPlace.plan.estimatedSeconds(), last, copies.plan.estimatedSeconds());
        }
    }

    /**
     * The faster of two routes that both write the channel planes in place ({@link Algorithm#GEMM_NCHW},
     * {@link Algorithm#DIRECT_NARROW}), given their estimates, where those are a near tie (within
     * {@link #IN_PLACE_BAND}x of each other, at most {@link #MAX_SECONDS}): both run on the layer's geometry as
     * {@link #seconds} runs a design, the verdict kept per geometry; null where the estimates decide
     * (no near tie, the built-in cost model, a route that cannot run the dense geometry, the table
     * full). Both designs take the same Java path, so small layers are measured too.
     */
    static synchronized Algorithm fasterInPlace(ConvGeometry geo, Conv2dOptions nhwc, Algorithm a, double aSeconds, Algorithm b,
                                                double bSeconds) {
        double lo = Math.min(aSeconds, bSeconds), hi = Math.max(aSeconds, bSeconds);
        if (!(lo > 0) || hi > IN_PLACE_BAND * lo || hi > MAX_SECONDS || !NativeLibrary.costSetting().equals("measured")) return null;
        Conv2dOptions plain = nhwc.toBuilder().flipKernel(false).activation(Activation.NONE).algorithm(Algorithm.AUTO).build();
        List<Long> key = new ArrayList<>();
        for (long f : ChannelsFirst.denseFirst(geo, plain, false)) key.add(f);
        key.add(-1L); // in place against in place, not against copies
        key.add((long) a.nativeId);
        key.add((long) b.nativeId);
        double[] verdict = VERDICTS.get(key);
        if (verdict == null && !VERDICTS.containsKey(key)) {
            if (VERDICTS.size() >= MAX_VERDICTS) return null;
            verdict = measureInPlace(geo, plain, a, b);
            VERDICTS.put(key, verdict);
        }
        return verdict == null ? null : verdict[0] <= verdict[1] ? a : b;
    }

    /** Runs both in-place routes on made-up dense tensors of the geometry; null where one cannot run it. */
    private static double[] measureInPlace(ConvGeometry geo, Conv2dOptions plain, Algorithm a, Algorithm b) {
        try (Scratch scratch = new Scratch()) {
            Tensor[] xwy = scratch.madeUpLayer(geo);
            Tensor x = xwy[0], w = xwy[1], y = xwy[2];
            ForwardCall.Kernel k = new ForwardCall.Kernel();
            Runnable[] run = new Runnable[2];
            double[] estimate = new double[2];
            Algorithm[] routes = {a, b};
            for (int i = 0; i < 2; i++) {
                ForwardCall call;
                try {
                    call = ForwardCall.of(geo, x, ChannelsFirst.outputStrides(geo), plain.toBuilder().algorithm(routes[i]).build(), false, true);
                } catch (IllegalArgumentException e) { // a route that cannot run the dense geometry
                    return null;
                }
                Tensor transformed = call.transformFloats() > 0 ? scratch.own(call.transform(w)) : null;
                ByteBuffer space = scratch.workspace(call.plan.workspaceBytes());
                run[i] = () -> call.executeOnCaller(k, x, w, transformed, null, y, space);
                estimate[i] = call.plan.estimatedSeconds();
            }
            return fastest(run[0], estimate[0], run[1], estimate[1]);
        }
    }

    /**
     * Seconds per run {first, last}: one warm-up each (caches, the sgemm shapes' first use), then
     * {@link #ROUNDS} alternated rounds, the fastest round of each kept.
     */
    private static double[] fastest(Runnable first, double firstEstimate, Runnable last, double lastEstimate) {
        int firstRepeat = repeats(firstEstimate), lastRepeat = repeats(lastEstimate);
        first.run();
        last.run();
        double bestFirst = Double.MAX_VALUE, bestLast = Double.MAX_VALUE;
        for (int round = 0; round < ROUNDS; round++) {
            bestFirst = Math.min(bestFirst, time(first, firstRepeat));
            bestLast = Math.min(bestLast, time(last, lastRepeat));
        }
        return new double[] {bestFirst, bestLast};
    }

    /** What a trial allocates, closed (and its workspaces released) when the trial ends. */
    private static final class Scratch implements AutoCloseable {
        private final List<Tensor> owned = new ArrayList<>();
        private final List<Storage> held = new ArrayList<>();

        Tensor own(Tensor t) {
            owned.add(t);
            return t;
        }

        /**
         * The layer's made-up operands {input, filter, output}: the input and output dense
         * channels-first tensors viewed as NHWC (as a channels-first call sees them), the filter HWIO.
         */
        Tensor[] madeUpLayer(ConvGeometry geo) {
            Shape in = Shape.of(geo.batch(), geo.inputChannels(), geo.inputHeight(), geo.inputWidth());
            Shape out = Shape.of(geo.batch(), geo.outputChannels(), geo.outputHeight(), geo.outputWidth());
            Tensor x = own(madeUp(in, 7, 0.25f)).permute(0, 2, 3, 1), w = own(madeUp(geo.filterShape(), 5, 0.125f));
            return new Tensor[] {x, w, own(Tensor.allocate(out)).permute(0, 2, 3, 1)};
        }

        /** Native memory of {@code bytes} (64-byte aligned, as the executor's workspaces) held until the trial ends. */
        ByteBuffer workspace(long bytes) {
            Storage s = own(Tensor.allocate(Shape.of(Math.max(16, (bytes + 3) / 4)))).storage();
            s.acquire();
            held.add(s);
            return s.buffer();
        }

        @Override
        public void close() {
            for (int i = held.size() - 1; i >= 0; i--) held.get(i).release();
            for (int i = owned.size() - 1; i >= 0; i--) owned.get(i).close();
        }
    }

    /** A tensor of {@code shape} holding small values (i mod period, centred, times scale): finite, not all zero. */
    private static Tensor madeUp(Shape shape, int period, float scale) {
        float[] v = new float[Math.toIntExact(shape.numElements())];
        for (int i = 0; i < v.length; i++) v[i] = (i % period - period / 2) * scale;
        return Tensor.fromArray(v, shape);
    }

    /** Runs of {@code repeat} per timing: about {@link #MIN_TIMING_SECONDS} of estimated work. */
    private static int repeats(double estimate) {
        return (int) Math.max(1, Math.min(1000, Math.ceil(MIN_TIMING_SECONDS / Math.max(estimate, 1e-7))));
    }

    /** Seconds per run of {@code r}, over {@code repeat} runs. */
    private static double time(Runnable r, int repeat) {
        long t0 = System.nanoTime();
        for (int i = 0; i < repeat; i++) r.run();
        return (System.nanoTime() - t0) * 1e-9 / repeat;
    }
}
