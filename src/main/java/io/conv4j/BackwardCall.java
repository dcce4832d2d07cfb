package io.conv4j;

import io.conv4j.internal.ConvExecutor;
import io.conv4j.internal.NativeBackward;
import io.conv4j.internal.NativeNd;
import java.nio.ByteBuffer;

/**
 * The gradients of a 2-D convolution described and planned, as {@link ForwardCall} is for the
 * forward pass: the same pipeline for {@link Conv2dBackward} (per call) and {@link Conv2dLayer}
 * (planned once per input shape, then reused): the geometry validated by {@link ConvGeometry#of}
 * and the tensors by {@link Operands}; one descriptor packed by {@link ConvGeometry#toNative}; the
 * route from the cost model (or a test override, see {@link Conv2dBackward#inputRoute}); units,
 * workspace and scratch sizes from the core; executed by {@link NativeCall} with the estimate in
 * seconds.
 */
final class BackwardCall {
    private BackwardCall() {}

    /**
     * Estimated single-thread seconds of a gradient, for the thread split: as many multiply-adds as
     * the forward convolution, at the rate of sgemm-bound code.
     */
    static double seconds(ConvGeometry geo) {
        return geo.flops() / ConvExecutor.GEMM_FLOPS_PER_SECOND;
    }

    /** Bytes per second of the reduction of partial filter gradients (a streaming sum), for its thread split. */
    private static final double REDUCE_BYTES_PER_SECOND = 10e9;

    /** Estimated single-thread seconds per prepared float of a filter transform, for its thread split (the core's estimate). */
    private static final double PREPARE_SECONDS_PER_FLOAT = 0.55e-9;

    /** dL/d(input), planned: from the gradient of the pre-activation output and the rearranged filter. */
    static final class Input {
        final ConvGeometry geo;
        final long[] desc;
        final int route;
        final long units, workspaceBytes, preparedFloats, prepareUnits;

        private Input(ConvGeometry geo, long[] desc, int route) {
            this.geo = geo;
            this.desc = desc;
            this.route = route;
            this.units = NativeBackward.inputUnits(desc, route);
            this.workspaceBytes = NativeBackward.inputWorkspaceBytes(desc, route);
            if ((units <= 0 && geo.batch() > 0) || workspaceBytes < 0) throw Conv2dBackward.tooLarge(geo);
            // the tap-wise route reads the contiguous filter as it is: nothing to rearrange
            this.preparedFloats = route == NativeBackward.TAPS ? 0 : NativeBackward.inputPreparedFloats(desc, route);
            this.prepareUnits = preparedFloats > 0 ? NativeBackward.inputPrepareUnits(desc, route) : 0;
        }

        /**
         * The input gradient written into the view {@code gradInput} from an output gradient with
         * element strides {@code gradOutStrides} ({@link #outputViewStrides}); the route is the
         * cost model's (remembered in {@code cache} when not null) unless a test forces one.
         */
        static Input of(ConvGeometry geo, Conv2dOptions o, Tensor gradInput, long[] gradOutStrides, Conv2dGradients cache) {
            long[] desc = geo.toNative(gradInput, gradOutStrides, o, false);
            return new Input(geo, desc, Conv2dBackward.inputRoute(desc, o.exactOnly(), false, cache));
        }

        /**
         * As {@link #of}, for a filter whose rearrangement is prepared once ({@link PreparedFilter#inputGradientFilter}):
         * the route the cost model estimates fastest without that preparation.
         */
        static Input ofPrepared(ConvGeometry geo, Conv2dOptions o, Tensor gradInput, long[] gradOutStrides,
                                Conv2dGradients cache) {
            long[] desc = geo.toNative(gradInput, gradOutStrides, o, false);
            return new Input(geo, desc, Conv2dBackward.inputRoute(desc, o.exactOnly(), true, cache));
        }

        /** This gradient on another route (the exact one, when {@link TransformGuard} refuses a transform for the data). */
        Input withRoute(int other) {
            return other == route ? this : new Input(geo, desc, other);
        }

        /**
         * Rearranges (transforms) {@code filter} (contiguous HWIO) into {@code prepared} ({@link #preparedFloats}
         * floats): on the executor's threads when the route splits it into units (a deep layer's
         * Winograd transform, paid on every training step), else on the calling thread.
         */
        void prepare(Tensor filter, Tensor prepared) {
            Prepare k = new Prepare();
            k.desc = desc;
            k.route = route;
            k.operand(0, filter);
            k.operand(1, prepared);
            if (prepareUnits > 1) k.execute(prepareUnits, 0, preparedFloats * PREPARE_SECONDS_PER_FLOAT);
            else k.executeHere();
        }

        /**
         * Runs it: rearranges {@code filter} (contiguous HWIO; it may have changed since the last
         * call) into {@code prepared} ({@link #preparedFloats} floats; null when that is 0, the
         * route then reads the filter as it is), then runs the units. {@code k} is the caller's
         * reusable kernel object.
         */
        void execute(InputKernel k, Tensor gradOut, Tensor filter, Tensor prepared, Tensor gradIn) {
            if (geo.batch() == 0) return;
            if (preparedFloats > 0) prepare(filter, prepared);
            run(k, gradOut, filter, prepared, gradIn);
        }

        /** As {@link #execute}, with {@code prepared} already rearranged from {@code filter} ({@link #prepare}). */
        void run(InputKernel k, Tensor gradOut, Tensor filter, Tensor prepared, Tensor gradIn) {
            if (geo.batch() == 0) return;
            k.desc = desc;
            k.route = route;
            k.operand(0, gradOut);
            k.operand(1, preparedFloats > 0 ? prepared : filter);
            k.operand(2, gradIn);
            k.execute(units, workspaceBytes, seconds(geo));
        }
    }

    /**
     * dL/d(filter) (may be skipped) and dL/d(bias) (when the descriptor has a bias), planned; with
     * partial sums ({@link #partialFloats} above 0) a reduction runs after it.
     */
    static final class Filter {
        final ConvGeometry geo;
        final long[] desc;
        final int route;
        final long units, workspaceBytes, partialFloats, reduceUnits;

        private Filter(ConvGeometry geo, long[] desc, int route) {
            this.geo = geo;
            this.desc = desc;
            this.route = route;
            this.units = NativeBackward.filterUnits(desc, route);
            this.workspaceBytes = NativeBackward.filterWorkspaceBytes(desc, route);
            if (units <= 0 || workspaceBytes < 0) throw Conv2dBackward.tooLarge(geo);
            this.partialFloats = Math.max(0, NativeBackward.filterPartialFloats(desc, route));
            this.reduceUnits = partialFloats > 0 ? NativeBackward.filterReduceUnits(desc, route) : 0;
        }

        /** The gradients of a convolution of the view {@code input}, from an output gradient with element strides {@code gradOutStrides}. */
        static Filter of(ConvGeometry geo, Conv2dOptions o, Tensor input, long[] gradOutStrides, boolean hasBias,
                         Conv2dGradients cache) {
            long[] desc = geo.toNative(input, gradOutStrides, o, hasBias);
            return new Filter(geo, desc, Conv2dBackward.filterRoute(desc, o.exactOnly(), cache));
        }

        /** This gradient on another route (the exact one, when {@link TransformGuard} refuses a transform for the data). */
        Filter withRoute(int other) {
            return other == route ? this : new Filter(geo, desc, other);
        }

        /**
         * Runs it: {@code gradFilter} and {@code gradBias} contiguous or null, {@code partials} of
         * {@link #partialFloats} floats when that is above 0; {@code k} and {@code r} are the
         * caller's reusable kernel objects.
         */
        void execute(FilterKernel k, ReduceKernel r, Tensor input, Tensor gradOut, Tensor gradFilter, Tensor gradBias,
                     Tensor partials) {
            k.desc = desc;
            k.route = route;
            k.operand(0, gradFilter == null ? null : input); // the bias gradient alone reads no input
            k.operand(1, gradOut);
            k.operand(2, gradFilter);
            k.operand(3, gradBias);
            k.operand(4, partials);
            k.execute(units, workspaceBytes, seconds(geo));
            if (partialFloats <= 0) return;
            r.desc = desc;
            r.route = route;
            r.operand(0, gradFilter);
            r.operand(1, gradBias);
            r.operand(2, partials);
            r.execute(reduceUnits, 0, partialFloats * (double) Float.BYTES / REDUCE_BYTES_PER_SECOND);
        }
    }

    /**
     * Both gradients, {@link Filter} then {@link Input}, in one executor job and one native call:
     * on a layer of a few microseconds the second job and JNI crossing cost as much as a
     * gradient's kernel. Only for a pair the executor would run on its caller alone whatever its
     * thread count ({@link ConvExecutor#runsAlone}), so a layer whose gradients are worth sharing
     * among threads keeps its two jobs; the units and bits are those of the two calls.
     */
    static final class Both {
        final Filter filter;
        final Input input;
        private final long units, workspaceBytes;

        private Both(Filter filter, Input input, long units, long workspaceBytes) {
            this.filter = filter;
            this.input = input;
            this.units = units;
            this.workspaceBytes = workspaceBytes;
        }

        /** The pair in one call, or null when it must run as two (partial sums, too large, empty batch). */
        static Both of(Filter filter, Input input) {
            if (input == null || filter.partialFloats > 0 || filter.geo.batch() == 0) return null;
            if (!ConvExecutor.runsAlone(2 * seconds(filter.geo))) return null;
            long units = NativeBackward.bothUnits(filter.desc, filter.route, input.desc, input.route);
            long ws = units > 0 ? NativeBackward.bothWorkspaceBytes(filter.desc, filter.route, input.desc, input.route) : -1;
            return ws < 0 ? null : new Both(filter, input, units, ws);
        }

        /**
         * Runs it: the filter gradient of {@code in} into {@code gradFilter} (and {@code gradBias}
         * when not null, both contiguous), then the input gradient into {@code gradIn} from
         * {@code prepared} (the input gradient's rearranged filter, or the filter when its route
         * prepares none).
         */
        void run(BothKernel k, Tensor in, Tensor gradOut, Tensor gradFilter, Tensor gradBias, Tensor prepared, Tensor gradIn) {
            k.both = this;
            k.operand(0, in);
            k.operand(1, gradOut);
            k.operand(2, gradFilter);
            k.operand(3, gradBias);
            k.operand(4, prepared);
            k.operand(5, gradIn);
            k.execute(units, workspaceBytes, 2 * seconds(filter.geo));
        }
    }

    // ------------------------------------------------------------------ native kernels

    /** The native input-gradient call: slots grad output, prepared filter (or the filter), grad input. */
    static final class InputKernel extends NativeCall {
        private long[] desc;
        private int route;

        @Override
        public void run(long u0, long u1, ByteBuffer workspace) {
            NativeBackward.backwardInput(desc, route, buffer(0), offset(0), buffer(1), offset(1), buffer(2), offset(2), workspace, u0, u1);
        }
    }

    /** The native rearrangement of the filter for the input gradient: slots filter, prepared. */
    private static final class Prepare extends NativeCall {
        long[] desc;
        int route;

        @Override
        public void run(long u0, long u1, ByteBuffer workspace) {
            NativeBackward.prepareInput(desc, route, buffer(0), offset(0), buffer(1), offset(1), u0, u1);
        }
    }

    /** The native filter- and bias-gradient call: slots input, grad output, grad filter, grad bias, partials. */
    static final class FilterKernel extends NativeCall {
        private long[] desc;
        private int route;

        @Override
        public void run(long u0, long u1, ByteBuffer workspace) {
            NativeBackward.backwardFilter(desc, route, buffer(0), offset(0), buffer(1), offset(1), buffer(2), offset(2), buffer(3),
                    offset(3), buffer(4), offset(4), workspace, u0, u1);
        }
    }

    /** The native call of both gradients: slots input, grad output, grad filter, grad bias, prepared filter, grad input. */
    static final class BothKernel extends NativeCall {
        private Both both;

        @Override
        public void run(long u0, long u1, ByteBuffer workspace) {
            Filter f = both.filter;
            Input i = both.input;
            NativeBackward.backwardBothAt(f.desc, f.route, i.desc, i.route, address(0), floats(0), address(1), floats(1),
                    address(2), floats(2), address(3), floats(3), address(4), floats(4), address(5), floats(5), workspace, u0, u1);
        }
    }

    /** The native sum of a split filter gradient's partial sums: slots grad filter, grad bias, partials. */
    static final class ReduceKernel extends NativeCall {
        private long[] desc;
        private int route;

        @Override
        public void run(long u0, long u1, ByteBuffer workspace) {
            NativeBackward.backwardFilterReduce(desc, route, buffer(0), offset(0), buffer(1), offset(1), buffer(2), offset(2), u0, u1);
        }
    }

    /**
     * gradPre = gradOut * activation'(output), all three contiguous with one element count;
     * {@code nd}: the N-d engine's kernel (any dtype) rather than the 2-D engine's (float32).
     */
    static void activation(Activation act, Tensor output, Tensor gradOut, Tensor gradPre, boolean nd) {
        ActivationKernel k = new ActivationKernel();
        k.activation = act;
        k.nd = nd;
        k.dtype = gradPre.dtype();
        k.count = gradPre.shape().numElements();
        k.operand(0, output);
        k.operand(1, gradOut);
        k.operand(2, gradPre);
        k.executeHere();
    }

    /** The native activation derivative: slots output, grad output, grad pre-activation. */
    private static final class ActivationKernel extends NativeCall {
        Activation activation;
        boolean nd;
        DType dtype;
        long count;

        @Override
        public void run(long u0, long u1, ByteBuffer workspace) {
            if (nd) {
                NativeNd.activationBackward(dtype.nativeId, activation.nativeId, buffer(0), offset(0), buffer(1), offset(1), buffer(2),
                        offset(2), count);
            } else {
                NativeBackward.activationBackward(activation.nativeId, buffer(0), offset(0), buffer(1), offset(1), buffer(2), offset(2),
                        count);
            }
        }
    }

    // ------------------------------------------------------------------ output-gradient views

    /**
     * Whether the core can read {@code t} ([N, OH, OW, C]) through an output view as it is. The
     * core checks output views as it would an output it writes (no two elements at one address),
     * so a gradient that overlaps itself, such as a broadcast (stride-0) tensor of ones, is
     * copied first: an input may overlap itself, and must not be refused for it.
     */
    static boolean usableAsOutputView(Tensor t) {
        long c = t.shape().size(3);
        if (c > 1 && t.stride(3) != 1) return false;
        if (t.stride(2) < c && t.shape().size(2) > 1) return false; // pixels overlapping channels
        for (int i = 0; i < 4; i++) {
            if (t.stride(i) > Integer.MAX_VALUE) return false;
        }
        return Operands.injective(t.shape().toArray(), outputViewStrides(t));
    }

    /** Strides the core sees for an output-shaped view that passed {@link #usableAsOutputView}. */
    static long[] outputViewStrides(Tensor t) {
        long c = t.shape().size(3);
        return new long[] {t.stride(0), t.stride(1), Math.max(t.stride(2), c), 1};
    }
}
