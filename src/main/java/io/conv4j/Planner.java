package io.conv4j;

import io.conv4j.internal.NativeCore;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The cost model: picks the algorithm for a convolution when the options say {@link Algorithm#AUTO}.
 * Package-private; its decisions are visible through {@link Conv2d#plan} and {@link Conv2d#explain}.
 */
final class Planner {
    /** Below this many output pixels per contiguous row run, per-run sgemm calls are too small. */
    private static final long DIRECT_MIN_RUN = 64;

    /** Plans are pure functions of (descriptor, requested algorithm, exactOnly): cached, bounded. */
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

    /** The plan for a descriptor (see {@link Conv2d#plan}); cached, since planning asks native code. */
    static Plan plan(ConvGeometry geo, long[] desc, Conv2dOptions options) {
        Key key = new Key(desc, options.algorithm(), options.exactOnly());
        Plan p = CACHE.get(key);
        if (p != null) return p;
        p = decide(geo, desc, options);
        if (CACHE.size() >= CACHE_LIMIT) CACHE.clear();
        CACHE.put(key, p);
        return p;
    }

    private static Plan decide(ConvGeometry geo, long[] desc, Conv2dOptions options) {
        Algorithm requested = options.algorithm();
        if (requested != Algorithm.AUTO) {
            long units = NativeCore.units(desc, requested.nativeId);
            if (units <= 0 && geo.batch() > 0) {
                throw new IllegalArgumentException("algorithm " + requested + " cannot run this convolution (" + geo + "): "
                        + requirements(requested));
            }
            return make(requested, desc, "requested explicitly");
        }
        long directUnits = NativeCore.units(desc, Algorithm.GEMM_DIRECT.nativeId);
        if (directUnits > 0 && runLength(geo, desc) >= DIRECT_MIN_RUN) {
            return make(Algorithm.GEMM_DIRECT, desc,
                    "1x1 unpadded convolution: one sgemm per run of output rows straight on the input, no copy");
        }
        return make(Algorithm.GEMM_TILED, desc, "general case: patch tiles sized for L2, one sgemm per tile");
    }

    private static Plan make(Algorithm a, long[] desc, String reason) {
        return new Plan(a, NativeCore.units(desc, a.nativeId), NativeCore.workspaceBytes(desc, a.nativeId),
                NativeCore.preparedFloats(desc, a.nativeId), reason);
    }

    /** Output pixels a direct sgemm covers in one call: whole images when rows are evenly spaced. */
    private static long runLength(ConvGeometry geo, long[] d) {
        // d: [4..7] input strides n,h,w,c; [20..23] output strides
        boolean uniformH = d[5] * geo.strideHeight() == geo.outputWidth() * geo.strideWidth() * d[6]
                && d[21] == geo.outputWidth() * d[22];
        return uniformH ? geo.outputHeight() * geo.outputWidth() : geo.outputWidth();
    }

    static String requirements(Algorithm a) {
        switch (a) {
            case GEMM_DIRECT: return "needs a 1x1 kernel, no padding and input channels contiguous in memory";
            case WINOGRAD_2X2:
            case WINOGRAD_4X4: return "needs a 3x3 kernel, stride 1 and dilation 1";
            case FFT: return "needs stride 1 and a dilated kernel extent of at most 48";
            default: return "not applicable";
        }
    }
}
