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
        final boolean exactOnly, prepared;
        final int hash;

        Key(long[] desc, Algorithm requested, boolean exactOnly, boolean prepared) {
            this.desc = desc;
            this.requested = requested;
            this.exactOnly = exactOnly;
            this.prepared = prepared;
            this.hash = ((Arrays.hashCode(desc) * 31 + requested.ordinal()) * 2 + (exactOnly ? 1 : 0)) * 2 + (prepared ? 1 : 0);
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Key)) return false;
            Key k = (Key) o;
            return hash == k.hash && requested == k.requested && exactOnly == k.exactOnly && prepared == k.prepared
                    && Arrays.equals(desc, k.desc);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    /**
     * The plan for a descriptor (see {@link Conv2d#plan}). {@code prepared}: the filter transform
     * is kept by a {@link PreparedFilter}, so its cost is not paid per call.
     */
    static Plan plan(ConvGeometry geo, long[] desc, Conv2dOptions options, boolean prepared) {
        Key key = new Key(desc, options.algorithm(), options.exactOnly(), prepared);
        Plan p = CACHE.get(key);
        if (p != null) return p;
        p = decide(geo, desc, options, prepared);
        if (CACHE.size() >= CACHE_LIMIT) CACHE.clear();
        CACHE.put(key, p);
        return p;
    }

    /** Tests: forget the cached plans (the measured sgemm times stay), so the next plan is decided again. */
    static void forgetPlans() {
        CACHE.clear();
    }

    static Plan plan(ConvGeometry geo, long[] desc, Conv2dOptions options) {
        return plan(geo, desc, options, false);
    }

    /**
     * A transform algorithm (Winograd, FFT) replaces the best exact one only when its estimate is
     * below this fraction of the exact one's: only its sgemm calls are timed on this machine, its
     * transforms are modelled, so its estimate errs more (a 7x1 layer estimated 0.650 ms by the FFT
     * against 0.656 ms by the tiled GEMM took 1.17 ms by the FFT).
     */
    static final double TRANSFORM_MARGIN = 0.8;

    /**
     * AUTO: every algorithm that can run the convolution (only exact ones under exactOnly) is
     * costed by the native cost model, from its real blocking and sgemm times measured on this
     * machine; the cheapest exact algorithm wins unless a transform algorithm is estimated clearly
     * faster ({@link #TRANSFORM_MARGIN}) and faster than plain im2col + sgemm. Transform
     * algorithms are left out when the padding exceeds half the kernel extent: their rounding
     * error follows a whole tile's magnitude, which for windows lying mostly in wide padding can
     * exceed the golden tolerance. Plans are cached, so one convolution keeps its route in a process.
     */
    private static Plan decide(ConvGeometry geo, long[] desc, Conv2dOptions options, boolean prepared) {
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
        Algorithm exact = null, transform = null;
        double exactCost = Double.POSITIVE_INFINITY, transformCost = Double.POSITIVE_INFINITY;
        StringBuilder why = new StringBuilder();
        for (Algorithm a : Algorithm.values()) {
            if (a == Algorithm.AUTO) continue;
            String skip = null;
            if (!a.isExact() && options.exactOnly()) skip = "excluded by exactOnly";
            else if (!a.isExact() && wideUnevenPadding(geo)) skip = "excluded: padding wider than half the kernel";
            double cost = skip == null ? NativeCore.estimateSeconds(desc, a.nativeId, !prepared) : -1;
            if (skip == null && cost < 0) skip = "not applicable";
            if (why.length() > 0) why.append("; ");
            why.append(a.name().toLowerCase(java.util.Locale.ROOT)).append(' ');
            if (skip != null) {
                why.append(skip);
                continue;
            }
            why.append(String.format(java.util.Locale.ROOT, "%.3f ms", cost * 1e3));
            if (!a.isExact() && (geo.strideHeight() > 1 || geo.strideWidth() > 1)) why.append(" (space to depth)");
            if (a.isExact() && cost < exactCost) {
                exactCost = cost;
                exact = a;
            } else if (!a.isExact() && cost < transformCost) {
                transformCost = cost;
                transform = a;
            }
        }
        if (exact == null) exact = Algorithm.GEMM_TILED; // always applicable; reached only for an empty batch
        double floor = NativeCore.rooflineSeconds(desc);
        why.append(String.format(java.util.Locale.ROOT, "; plain im2col + sgemm %.3f ms", floor * 1e3));
        Algorithm best = exact;
        if (transform != null && transformCost < TRANSFORM_MARGIN * exactCost && transformCost < floor) best = transform;
        return make(best, desc, "cost model, estimated single-thread time" + (prepared ? "" : " incl. filter transform")
                + " (a transform algorithm needs < " + TRANSFORM_MARGIN + " x the best exact one): " + why);
    }

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
            default: return "not applicable";
        }
    }
}
