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

    static Plan plan(ConvGeometry geo, long[] desc, Conv2dOptions options) {
        return plan(geo, desc, options, false);
    }

    /**
     * AUTO: every algorithm that can run the convolution (only exact ones under exactOnly) is
     * costed by the native cost model, from its real blocking and measured sgemm speeds, and the
     * cheapest wins. Transform algorithms are left out when the padding exceeds half the kernel
     * extent: their rounding error follows a whole tile's magnitude, which for windows lying
     * mostly in wide padding can exceed the golden tolerance.
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
        Algorithm best = null;
        double bestCost = Double.POSITIVE_INFINITY;
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
            if (cost < bestCost) {
                bestCost = cost;
                best = a;
            }
        }
        if (best == null) best = Algorithm.GEMM_TILED; // always applicable; reached only for an empty batch
        return make(best, desc, "cost model, estimated single-thread time" + (prepared ? "" : " incl. filter transform")
                + ": " + why);
    }

    static boolean wideUnevenPadding(ConvGeometry g) {
        long eh = (g.kernelHeight() - 1) * g.dilationHeight() + 1, ew = (g.kernelWidth() - 1) * g.dilationWidth() + 1;
        long mh = eh / 2, mw = ew / 2;
        return g.padTop() > mh || g.padBottom() > mh || g.padLeft() > mw || g.padRight() > mw;
    }

    private static Plan make(Algorithm a, long[] desc, String reason) {
        return new Plan(a, NativeCore.units(desc, a.nativeId), NativeCore.workspaceBytes(desc, a.nativeId),
                NativeCore.preparedFloats(desc, a.nativeId), Math.max(0, NativeCore.estimateSeconds(desc, a.nativeId, false)), reason);
    }

    static String requirements(Algorithm a) {
        switch (a) {
            case GEMM_DIRECT: return "needs a 1x1 kernel, no padding and input channels contiguous in memory";
            case WINOGRAD_2X2:
            case WINOGRAD_4X4: return "needs dilation 1 and a 3x3 kernel at stride 1, or, with one group, a kernel of"
                    + " 2s+1 to 3s taps at stride s (3x3 after space to depth)";
            case FFT: return "needs a dilated kernel extent of at most 48 at stride 1, or, when strided, one group,"
                    + " dilation 1 and a kernel larger than the stride";
            default: return "not applicable";
        }
    }
}
