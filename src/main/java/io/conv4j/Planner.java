package io.conv4j;

import io.conv4j.internal.NativeCore;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The cost model: picks the algorithm for a convolution when the options say {@link Algorithm#AUTO}.
 * Package-private; its decisions are visible through {@link Conv2d#plan} and {@link Conv2d#explain}.
 */
final class Planner {
    /** Plans are pure functions of their key: cached, bounded. */
    private static final int CACHE_LIMIT = 4096;
    private static final ConcurrentHashMap<Key, Plan> CACHE = new ConcurrentHashMap<>();

    private Planner() {}

    private static final class Key {
        final long[] desc;
        final Algorithm requested;
        final boolean exactOnly;
        final int hash;

        Key(long[] desc, Algorithm requested, boolean exactOnly) {
            this.desc = desc;
            this.requested = requested;
            this.exactOnly = exactOnly;
            this.hash = (Arrays.hashCode(desc) * 31 + requested.ordinal()) * 2 + (exactOnly ? 1 : 0);
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Key)) return false;
            Key k = (Key) o;
            return hash == k.hash && requested == k.requested && exactOnly == k.exactOnly && Arrays.equals(desc, k.desc);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    /**
     * The plan for a descriptor (see {@link Conv2d#plan}). {@code prepared} (whether the caller
     * keeps the filter transform) is accepted from the entry points and deliberately ignored: the
     * plan of a convolution is the same through every entry point.
     */
    static Plan plan(ConvGeometry geo, long[] desc, Conv2dOptions options, boolean prepared) {
        return plan(geo, desc, options);
    }

    /** The plan for a descriptor and options (see {@link Conv2d#plan}), cached. */
    static Plan plan(ConvGeometry geo, long[] desc, Conv2dOptions options) {
        Key key = new Key(desc, options.algorithm(), options.exactOnly());
        Plan p = CACHE.get(key);
        if (p != null) return p;
        p = decide(geo, desc, options);
        if (CACHE.size() >= CACHE_LIMIT) CACHE.clear();
        CACHE.put(key, p);
        return p;
    }

    /** Tests: forget the cached plans (the measured sgemm times stay), so the next plan is decided again. */
    static void forgetPlans() {
        CACHE.clear();
    }

    /**
     * A transform algorithm (Winograd, FFT) replaces the best exact one only when its estimate is
     * below this fraction of the exact one's: the native planner's {@code C4J_TRANSFORM_MARGIN}
     * (checked against it by a test).
     */
    static final double TRANSFORM_MARGIN = 0.8;

    /**
     * The forward pass's band (the native planner's {@code C4J_TRIAL_LOW}, {@code C4J_TRIAL_HIGH},
     * {@code C4J_TRIAL_MARGIN}): with the cost model measured here, a transform algorithm estimated
     * below {@code TRIAL_LOW} x the best exact one wins, one at {@code TRIAL_HIGH} x or more loses,
     * and in between every exact and transform algorithm in the band runs once on the convolution's
     * geometry at its first plan (the verdict kept for the process): the measured times alone
     * decide (near ties to the table's order, not to the estimates) and the transform wins below
     * {@code TRIAL_MARGIN} x the exact one's measured time. The gradients take the same rule; on
     * the built-in model every direction uses {@link #TRANSFORM_MARGIN} on the estimates.
     */
    static final double TRIAL_LOW = 0.5, TRIAL_HIGH = 1.25, TRIAL_MARGIN = 0.95;

    /**
     * AUTO is decided by the native planner (native/src/planner.c), one rule for the forward pass
     * and both gradients: every algorithm that can run the convolution (only exact ones under
     * exactOnly; transforms left out when the padding exceeds half the kernel extent) is costed by
     * its own estimate, and the cheapest exact algorithm wins unless a transform algorithm is
     * estimated faster than plain im2col + sgemm and either clearly faster than the exact one or,
     * when the estimates lie too close to rank them, measured faster on the convolution itself
     * ({@link #TRIAL_LOW}; {@link #TRANSFORM_MARGIN} on the built-in model).
     * The decision is a function of the descriptor and options alone: a prepared filter, a layer
     * and a plain call get the same algorithm, hence the same bits. Here: the requested algorithm,
     * the empty batch, and the cache.
     */
    private static Plan decide(ConvGeometry geo, long[] desc, Conv2dOptions options) {
        Algorithm requested = options.algorithm();
        if (geo.batch() == 0) { // as Conv2d.run: nothing to compute, no native call (the output may be beyond int)
            return new Plan(requested == Algorithm.AUTO ? Algorithm.GEMM_TILED : requested, 0, 0, 0, 0, "empty batch: nothing to compute");
        }
        if (requested != Algorithm.AUTO) {
            long units = NativeCore.units(desc, requested.nativeId);
            if (units <= 0 && geo.batch() > 0) {
                throw new IllegalArgumentException("algorithm " + requested + " cannot run this convolution (" + geo + "): "
                        + requirements(requested));
            }
            return make(requested, desc, "requested explicitly");
        }
        String[] why = new String[1];
        int id = NativeCore.plan(desc, NativeCore.FORWARD, options.exactOnly(), why);
        return make(Algorithm.ofNativeId(id), desc, why[0]);
    }

    /**
     * The native planner's padding rule as the tests see it (planner.c decides): padding wider
     * than half the dilated kernel extent on some side keeps the transform algorithms out.
     */
    static boolean wideUnevenPadding(ConvGeometry g) {
        long eh = (g.kernelHeight() - 1) * g.dilationHeight() + 1, ew = (g.kernelWidth() - 1) * g.dilationWidth() + 1;
        long mh = eh / 2, mw = ew / 2;
        return g.padTop() > mh || g.padBottom() > mh || g.padLeft() > mw || g.padRight() > mw;
    }

    private static Plan make(Algorithm a, long[] desc, String reason) {
        return new Plan(a, NativeCore.units(desc, a.nativeId), NativeCore.workspaceBytes(desc, a.nativeId),
                NativeCore.preparedFloats(desc, a.nativeId), Math.max(0, NativeCore.estimateSeconds(desc, a.nativeId, false)),
                a.isExact() ? reason : reason + TransformGuard.CONDITION);
    }

    static String requirements(Algorithm a) {
        switch (a) {
            case GEMM_DIRECT: return "needs a 1x1 kernel, no padding and input channels contiguous in memory";
            case WINOGRAD_2X2:
            case WINOGRAD_4X4: return "needs dilation 1 and a 3x3 kernel at stride 1, or, with one group, a kernel of"
                    + " 2s+1 to 3s taps at stride s (3x3 after space to depth)";
            case FFT: return "needs a dilated kernel extent of at most 48 at stride 1, or, when strided, one group,"
                    + " dilation 1 and a kernel larger than the stride";
            case GROUPED_DIRECT: return "needs groups > 1 and at most 16 input channels per group";
            case WINOGRAD_1D: return "needs dilation 1 and 2 to 7 taps per stride phase (stride 1 to 4) along the kernel's width or height, or 8 to 9"
                    + " with at least 16 input channels times taps across";
            case WINOGRAD_K2: return "needs dilation 1 and a 2x2 kernel at stride 1, or, with one group, a kernel of"
                    + " 3 or 4 taps at stride 2 (2x2 after space to depth)";
            case DIRECT_DENSE: return "needs one group and input channels contiguous in memory";
            case DIRECT_NARROW: return "needs one group and at most 16 output channels";
            case GEMM_NCHW: return "needs channels-first data (layout NCHW): input rows and output channel planes contiguous";
            default: return "not applicable";
        }
    }
}
