package io.conv4j;

import io.conv4j.internal.ConvExecutor;
import io.conv4j.internal.NativeCore;
import java.lang.ref.WeakReference;
import java.util.Locale;
import java.util.Objects;

/**
 * Channels-first calls (layout NCHW: input {@code [N,C,H,W]}, filter OIHW, output {@code [N,Cout,OH,OW]}).
 *
 * <p>Two designs, both costed with the planner's estimates for the layer at hand, the cheaper taken
 * (where the estimates are a near tie, the one that ran faster on the layer, {@link ChannelsFirstTrial}):
 * <ul>
 * <li>in place ({@link Algorithm#GEMM_NCHW}): Caffe's im2col + sgemm on the channels-first data as it
 *     is, writing the output planes directly; no transpose anywhere;
 * <li>through channels-last copies: the input is transposed once into a channels-last copy, the
 *     cheapest channels-last route (Winograd, FFT, tiled GEMM...) runs on it, and its result is
 *     transposed into the output, both by blocked transposes whose cost is counted per float moved
 *     (bands of image rows on conv4j's threads, {@link #transpose}).
 *     This wins where a transform algorithm saves more than the two copies cost. On a layer too
 *     large for the cache, the route runs band by band instead ({@link ChannelsFirstBands}): each
 *     band of output rows copies in the input rows it reads and copies out its result while both
 *     are in cache, so the copies add no trip to memory.
 * </ul>
 * Either way the filter is read as HWIO (an OIHW tensor viewed as HWIO, copied per call unless prepared).
 * Each thread remembers its last call's views and route, so a loop over the same tensors pays neither
 * the planning nor the validation again (the convolution's own per-thread call cache then applies),
 * and keeps the channels-last copies of the staged route between calls ({@link ThreadScratch}).
 */
final class ChannelsFirst {
    private ChannelsFirst() {}

    /**
     * Seconds per float moved by one layout transpose (read and written; measured 0.3 ns on images
     * of 0.1-1 M floats, about 1 ns on 3 M). Its error matters little: it decides only between
     * routes whose estimates differ by at least the two transposes.
     */
    static final double TRANSPOSE_SECONDS_PER_FLOAT = 0.5e-9;

    private static final ThreadLocal<Last> LAST = new ThreadLocal<>();

    /** The channels-last copies of the staged route, kept per thread (see {@link ThreadScratch}). */
    private static final ThreadLocal<ThreadScratch> STAGING = ThreadLocal.withInitial(() -> new ThreadScratch(2));
    private static final int STAGED_INPUT = 0, STAGED_OUTPUT = 1;

    /** A thread's last channels-first call into a caller's output: the tensors, and the views it ran on. */
    private static final class Last {
        final WeakReference<Tensor> input, filter, bias, output, x, w, y;
        final WeakReference<PreparedFilter> prepared;
        final Conv2dOptions options, run;
        final Shape staged; // the channels-last output shape of the staged route, null in place
        final ChannelsFirstBands cut; // the staged route by bands, or null

        Last(Tensor input, Tensor filter, Tensor bias, Tensor output, PreparedFilter prepared, Conv2dOptions options,
             Tensor x, Tensor w, Tensor y, Conv2dOptions run, Shape staged, ChannelsFirstBands cut) {
            this.input = new WeakReference<>(input);
            this.filter = new WeakReference<>(filter);
            this.bias = new WeakReference<>(bias);
            this.output = new WeakReference<>(output);
            this.prepared = new WeakReference<>(prepared);
            this.options = options;
            this.x = new WeakReference<>(x);
            this.w = new WeakReference<>(w);
            this.y = new WeakReference<>(y);
            this.run = run;
            this.staged = staged;
            this.cut = cut;
        }

        boolean matches(Tensor in, Tensor f, Tensor b, Tensor out, PreparedFilter p, Conv2dOptions o) {
            return input.get() == in && filter.get() == f && bias.get() == b && output.get() == out && prepared.get() == p
                    && (options == o || options.equals(o));
        }
    }

    /**
     * Runs a channels-first convolution ({@code options.layout()} is NCHW); {@code filter} is OIHW,
     * or, with a prepared filter, the HWIO filter it keeps. Returns the tensor written.
     */
    static Tensor run(Tensor input, Tensor filter, Tensor bias, Conv2dOptions options, Tensor output, PreparedFilter prepared) {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(filter, "filter");
        Objects.requireNonNull(options, "options");
        Last last = output == null ? null : LAST.get();
        if (last != null && last.matches(input, filter, bias, output, prepared, options)) {
            Tensor x = last.x.get(), w = last.w.get(), y = last.y.get();
            if (x != null && w != null && y != null) {
                execute(x, w, bias, last.run, y, last.staged, last.cut, prepared);
                return output;
            }
        }
        Operands.requireOpen("input", input);
        Operands.requireOpen("filter", filter);
        if (input.rank() != 4) throw new IllegalArgumentException("layout NCHW: input must have rank 4 [N,C,H,W], got shape " + input.shape());
        Tensor w = filter; // a prepared filter is kept HWIO
        if (prepared == null) {
            Conv2d.checkOihw(input.shape(), filter.shape(), options);
            w = filter.permute(2, 3, 1, 0);
        }
        Tensor x = input.permute(0, 2, 3, 1);
        Conv2dOptions nhwc = options.toBuilder().layout(DataLayout.NHWC).build();
        ConvGeometry geo = ConvGeometry.of(x.shape(), w.shape(), nhwc);
        Shape out = DataLayout.NCHW.fromNhwc(geo.outputShape());
        if (output != null) {
            Operands.requireOpen("output", output);
            if (!output.shape().equals(out)) {
                throw new IllegalArgumentException("layout NCHW: output must have shape " + out + " [N,Cout,OH,OW], got " + output.shape());
            }
        }
        Tensor result = output != null ? output : Tensor.allocate(out);
        try {
            Tensor y = result.permute(0, 2, 3, 1);
            Algorithm inPlace = geo.batch() > 0 ? inPlace(geo, x, y, nhwc, prepared != null, bias != null) : null;
            Conv2dOptions run = inPlace != null ? nhwc.toBuilder().algorithm(inPlace).build() : nhwc;
            Shape staged = inPlace != null ? null : geo.outputShape();
            ChannelsFirstBands cut = inPlace != null || !cuttable(x, w, bias, y, geo) ? null
                    : ChannelsFirstBands.of(geo, ForwardCall.dense(geo, run, bias != null, prepared != null));
            execute(x, w, bias, run, y, staged, cut, prepared);
            if (output != null) LAST.set(new Last(input, filter, bias, output, prepared, options, x, w, y, run, staged, cut));
            return result;
        } catch (RuntimeException | Error e) {
            if (output == null) result.close();
            throw e;
        }
    }

    /**
     * In place when {@code staged} is null, else through channels-last copies (that output shape):
     * by bands when {@code cut} is not null and the route's transform may run on this data, else
     * of whole images.
     */
    private static void execute(Tensor x, Tensor w, Tensor bias, Conv2dOptions run, Tensor y, Shape staged, ChannelsFirstBands cut,
                                PreparedFilter prepared) {
        if (staged == null) {
            Conv2d.run(x, w, bias, run, y, prepared);
        } else if (cut != null && Conv2d.refusal(cut.whole.plan.algorithm(), x.permute(0, 3, 1, 2), w, prepared) == null) {
            // (the guard scans the input in its own order, channels first: the same values, read in runs)
            runBands(cut, x, w, bias, y, prepared);
        } else {
            ThreadScratch copies = STAGING.get();
            Tensor xs = null, ys = null;
            try {
                xs = x.isContiguous() ? x : copies.get(STAGED_INPUT, x.shape());
                if (xs != x) transpose(x, xs);
                ys = copies.get(STAGED_OUTPUT, staged);
                Conv2d.run(xs, w, bias, run, ys, prepared);
                transpose(ys, y); // into the output planes
            } finally {
                if (xs != x) copies.release(xs);
                copies.release(ys);
            }
        }
    }

    /** The cut's call: the filter (and bias) contiguous and the route's filter transform, as {@link Conv2d#run} makes them. */
    private static void runBands(ChannelsFirstBands cut, Tensor x, Tensor w, Tensor bias, Tensor y, PreparedFilter prepared) {
        Tensor wc = null, b = null, transformed = null;
        boolean ownTransform = false;
        try {
            wc = w.contiguous();
            b = bias == null ? null : bias.contiguous();
            if (cut.whole.transformFloats() > 0) {
                if (prepared != null) {
                    transformed = prepared.transformed(cut.whole);
                } else {
                    transformed = cut.whole.transform(wc);
                    ownTransform = true;
                }
            }
            cut.execute(x, wc, transformed, b, y);
        } finally {
            if (wc != null && wc != w) wc.close();
            if (b != null && b != bias) b.close();
            if (ownTransform) transformed.close();
        }
    }

    /**
     * Whether the operands allow the staged route by bands: float32 and aligned throughout, a bias of
     * the layer's output channels, and an output that shares no memory with what it is computed
     * from (bands are written while later bands are still read). Anything else takes whole-image
     * copies, which the convolution then checks as it checks any call.
     */
    private static boolean cuttable(Tensor x, Tensor w, Tensor bias, Tensor y, ConvGeometry geo) {
        for (Tensor t : new Tensor[] {x, w, bias, y}) {
            if (t == null) continue;
            if (t.dtype() != DType.FLOAT32 || (t.storage().address() & 3) != 0) return false;
            if (t != y && Overlap.of(y, t) != Overlap.DISJOINT) return false;
        }
        if (y.isReadOnly() || !Operands.injective(y.shape().toArray(), y.strides())) return false;
        return (bias == null || bias.shape().equals(Shape.of(geo.outputChannels()))) && w.shape().equals(geo.filterShape());
    }

    /** Floats of a unit of a split transpose: large beside its hand-off, small enough to spread over threads. */
    static final long TRANSPOSE_UNIT_FLOATS = 64 * 1024;

    /**
     * Copies {@code src} into {@code dst} (rank 4, same shape, one channels last and the other
     * first): blocked transposes of bands of image rows, as units on conv4j's executor, so a
     * staged call's two copies use the threads its convolution does. The bands depend on the shape
     * alone, and each element is copied once whoever copies it, so the result is the same for any
     * thread count.
     */
    static void transpose(Tensor src, Tensor dst) {
        Shape s = src.shape();
        long images = s.size(0), rows = s.size(1), rowFloats = Math.multiplyExact(s.size(2), s.size(3));
        long floats = Math.multiplyExact(Math.multiplyExact(images, rows), rowFloats);
        long band = Math.max(1, TRANSPOSE_UNIT_FLOATS / Math.max(1, rowFloats));
        long bands = (rows + band - 1) / band;
        long units = Math.multiplyExact(images, bands);
        if (units <= 1) {
            dst.copyFrom(src);
            return;
        }
        ConvExecutor.get().run(units, 0, floats * TRANSPOSE_SECONDS_PER_FLOAT, (u0, u1, workspace) -> {
            // the bands of a range that lie in one image as one copy (a thread that runs them all
            // makes one call per image)
            for (long u = u0; u < u1; ) {
                long image = u / bands, last = Math.min(u1, (image + 1) * bands);
                long r0 = (u % bands) * band, r1 = Math.min(rows, (last - image * bands) * band);
                dst.slice(0, image, 1).slice(1, r0, r1 - r0).copyFrom(src.slice(0, image, 1).slice(1, r0, r1 - r0));
                u = last;
            }
        });
    }

    /**
     * The algorithm that runs the call in place ({@link Algorithm#GEMM_NCHW} or {@link Algorithm#DIRECT_NARROW}),
     * or null where it runs through channels-last copies.
     */
    private static Algorithm inPlace(ConvGeometry geo, Tensor x, Tensor y, Conv2dOptions nhwc, boolean prepared, boolean hasBias) {
        Algorithm requested = nhwc.algorithm();
        if (requested == Algorithm.GEMM_NCHW) return requested; // the planner refuses it, naming why, if it cannot run
        if (requested != Algorithm.AUTO) return null;
        Tensor c = y.canonical();
        long[] first = geo.toNative(x, new long[] {c.stride(0), c.stride(1), c.stride(2), c.stride(3)}, nhwc, hasBias);
        Route r = decide(geo, first, nhwc, prepared);
        return r.inPlace ? r.plan.algorithm() : null;
    }

    /** A channels-first call's plan, and whether it runs in place (on the channel planes) or through copies. */
    static final class Route {
        final Plan plan;
        final boolean inPlace;

        Route(Plan plan, boolean inPlace) {
            this.plan = plan;
            this.inPlace = inPlace;
        }
    }

    /**
     * The route for a channels-first descriptor {@code first} (NHWC views of NCHW memory) under AUTO:
     * the in-place plan, or the channels-last plan on dense copies, whichever the estimates favour
     * (a transform route needs the planner's margin, {@link Planner#TRANSFORM_MARGIN}); where the
     * estimates are a near tie, whichever ran faster on the layer's geometry ({@link ChannelsFirstTrial}).
     */
    static Plan route(ConvGeometry geo, long[] first, Conv2dOptions nhwc, boolean prepared) {
        return decide(geo, first, nhwc, prepared).plan;
    }

    /**
     * The in-place algorithm for {@code first}: of those that write channel planes and can run it
     * ({@link Algorithm#GEMM_NCHW}, and {@link Algorithm#DIRECT_NARROW} on narrow layers), the one of
     * the lower estimate (filter packing left out, so a prepared filter finds the same one), or,
     * where both can and their estimates are a near tie, the one that ran faster on the layer's
     * geometry ({@link ChannelsFirstTrial#fasterInPlace}); null where none can. {@code estimate[0]}
     * receives the lower of their estimates.
     */
    private static Algorithm inPlaceCandidate(ConvGeometry geo, long[] first, Conv2dOptions nhwc, double[] estimate) {
        Algorithm[] routes = {Algorithm.GEMM_NCHW, Algorithm.DIRECT_NARROW};
        double[] seconds = new double[routes.length];
        Algorithm best = null;
        for (int i = 0; i < routes.length; i++) {
            long units;
            try {
                units = NativeCore.units(first, routes[i].nativeId);
            } catch (IllegalArgumentException e) { // an output view the core cannot address as channels first
                units = 0;
            }
            seconds[i] = units > 0 ? NativeCore.estimateSeconds(first, routes[i].nativeId, false) : -1;
            if (seconds[i] >= 0 && (best == null || seconds[i] < estimate[0])) {
                best = routes[i];
                estimate[0] = seconds[i];
            }
        }
        if (seconds[0] >= 0 && seconds[1] >= 0) {
            // measured no slower than the other, the faster one costs at most the other's estimate too:
            // estimate[0] stays the lower one, so against the copies it fares as either would
            Algorithm faster = ChannelsFirstTrial.fasterInPlace(geo, nhwc, routes[0], seconds[0], routes[1], seconds[1]);
            if (faster != null) best = faster;
        }
        return best;
    }

    static Route decide(ConvGeometry geo, long[] first, Conv2dOptions nhwc, boolean prepared) {
        io.conv4j.internal.NativeLibrary.ensureLoaded();
        ForwardCall copies = ForwardCall.dense(geo, nhwc, first[ConvGeometry.NATIVE_FIELDS - 1] != 0, prepared);
        long[] dense = copies.desc;
        Plan last = copies.plan;
        ChannelsFirstBands cut = ChannelsFirstBands.of(geo, copies);
        double transposes = cut != null ? cut.transposeSeconds() : TRANSPOSE_SECONDS_PER_FLOAT
                * ((double) geo.batch() * geo.inputHeight() * geo.inputWidth() * geo.inputChannels()
                + (double) geo.batch() * geo.outputHeight() * geo.outputWidth() * geo.outputChannels());
        double route = Math.max(0, NativeCore.estimateSeconds(dense, last.algorithm().nativeId, false));
        // the filter transform a plain call pays per call (none for a prepared filter)
        double transform = prepared ? 0 : Math.max(0, NativeCore.estimateSeconds(dense, last.algorithm().nativeId, true) - route);
        double lastCost = route + transform + transposes;
        double[] estimate = new double[1];
        Algorithm inPlace = inPlaceCandidate(geo, first, nhwc, estimate);
        String via = String.format(Locale.ROOT, "channels first: in place (%s) %%s; through channels-last %s %.3f ms"
                + " (%s %.3f ms + transposes %.3f ms)", inPlace == null ? "gemm_nchw" : inPlace.name().toLowerCase(Locale.ROOT),
                cut != null ? "bands of " + cut.rows() + " rows" : "copies",
                lastCost * 1e3, last.algorithm().name().toLowerCase(Locale.ROOT),
                (lastCost - transposes) * 1e3, transposes * 1e3);
        if (inPlace == null) return new Route(withReason(last, String.format(Locale.ROOT, via, "not applicable") + "; " + last.reason()), false);
        double direct = estimate[0];
        boolean copiesWin = last.algorithm().isExact() ? lastCost < direct : lastCost < Planner.TRANSFORM_MARGIN * direct;
        String why = String.format(Locale.ROOT, via, String.format(Locale.ROOT, "%.3f ms", direct * 1e3));
        // the near tie and the trial leave the filter transform out, as the planner's estimates do, so
        // a plain call and a prepared filter find the same verdict
        double[] measured = ChannelsFirstTrial.nearTie(direct, lastCost - transform)
                ? ChannelsFirstTrial.seconds(geo, nhwc, inPlace, last.algorithm()) : null;
        if (measured != null) {
            double copiesMeasured = measured[1] + transform;
            copiesWin = last.algorithm().isExact() ? copiesMeasured < measured[0] : copiesMeasured < Planner.TRIAL_MARGIN * measured[0];
            why += String.format(Locale.ROOT, "; a near tie, both run once on this geometry: in place %.3f ms, through channels-last %.3f ms",
                    measured[0] * 1e3, copiesMeasured * 1e3);
        }
        if (copiesWin) return new Route(withReason(last, why + "; " + last.reason()), false);
        return new Route(new Plan(inPlace, NativeCore.units(first, inPlace.nativeId), NativeCore.workspaceBytes(first, inPlace.nativeId),
                NativeCore.preparedFloats(first, inPlace.nativeId), direct, why), true);
    }

    private static Plan withReason(Plan p, String reason) {
        return new Plan(p.algorithm(), p.units(), p.workspaceBytes(), p.preparedFloats(), p.estimatedSeconds(), reason);
    }

    /** The descriptor of dense channels-first input and output as the NHWC views the core reads. */
    static long[] denseFirst(ConvGeometry geo, Conv2dOptions nhwc, boolean hasBias) {
        return geo.toNative(strides(geo.batch(), geo.inputHeight(), geo.inputWidth(), geo.inputChannels()),
                outputStrides(geo), nhwc.flipKernel(), nhwc.activation(), hasBias);
    }

    /** The strides of a dense channels-first output as the NHWC view the core writes. */
    static long[] outputStrides(ConvGeometry geo) {
        return strides(geo.batch(), geo.outputHeight(), geo.outputWidth(), geo.outputChannels());
    }

    /**
     * Element strides (n, h, w, c) of a dense NCHW tensor viewed as NHWC, those of axes of size 1 set
     * as {@link Tensor#canonical} sets them, so the descriptor is the one a call on such a tensor builds.
     */
    private static long[] strides(long n, long h, long w, long c) {
        long[] dims = {n, h, w, c}, st = {c * h * w, w, 1, h * w};
        long inner = 1;
        for (int i = 3; i >= 0; i--) {
            if (dims[i] == 1) st[i] = inner;
            inner = Math.multiplyExact(dims[i], st[i]);
        }
        return st;
    }
}
