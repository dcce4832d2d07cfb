package io.conv4j;

import io.conv4j.internal.NativeBackward;
import io.conv4j.internal.NativeCore;
import io.conv4j.internal.Storage;

/**
 * Keeps the transform algorithms (Winograd, FFT) to data they compute as the convolution's
 * definition does. A transform mixes every value of a tile (F(4x4): 6x6 pixels; FFT: the whole
 * FFT tile) into every output of that tile, so an infinity or NaN anywhere in the tile spreads to
 * outputs whose window does not hold it, a huge value overflows inside the transform, and a value
 * far above the rest puts its rounding error on its neighbours. One read-only native pass over
 * each tensor the transform reads (input, gradient of the output, and the filter unless a
 * {@link PreparedFilter} has scanned it once) finds the largest magnitude and the mean binary
 * exponent of the nonzero values; the transform runs only when
 * <ul>
 *   <li>every value is finite,</li>
 *   <li>the largest magnitude is below 2^{@value #MAX_EXPONENT} (no transform overflows), and</li>
 *   <li>the largest magnitude is within 2^{@value #RANGE_WINOGRAD_4X4} (F(4x4), and the 1-D Winograd, whose
 *       windows of up to 10 points mix as much) or
 *       2^{@value #RANGE_OTHER} (F(2x2), FFT) of the geometric mean of the nonzero magnitudes
 *       (robust to a few outliers, unlike the arithmetic mean: 1% of values at 1e5 are caught).</li>
 * </ul>
 * Otherwise the call runs the exact (GEMM) route the cost model ranks best, and {@link Conv2d#plan}
 * on the data says so. The decision depends on the data alone, never on the thread count.
 */
final class TransformGuard {
    /** Magnitudes from 2^41 on may overflow float32 inside a transform (gains up to 2^10 per side, sums of 2^20 terms). */
    static final int MAX_EXPONENT = 41;
    /** log2 of the range Winograd F(4x4) accepts: an outlier 2^6 above the typical magnitude adds below 4e-6 to the error metric (README). */
    static final int RANGE_WINOGRAD_4X4 = 6;
    /**
     * log2 of the range F(2x2) and the FFT accept (same error budget as F(4x4); their error grows 10-20x more slowly
     * with an outlier; F(2x2) keeps an outlier to its own windows but may round it up to its tap-sum weights there, and
     * through space to depth also to zero taps).
     */
    static final int RANGE_OTHER = 10;

    /** What every plan of a transform algorithm adds to its reason. */
    static final String CONDITION = "; runs only on finite data within the transform's range, else on the exact GEMM route";

    private TransformGuard() {}

    /** The packed result of {@link NativeCore#scanRange} for an open 4-D tensor. */
    static long scan(Tensor t) {
        Storage s = t.storage();
        s.acquire();
        try {
            long[] shape = {t.shape().size(0), t.shape().size(1), t.shape().size(2), t.shape().size(3)};
            long[] strides = {t.stride(0), t.stride(1), t.stride(2), t.stride(3)};
            return NativeCore.scanRange(s.buffer(), t.offset() * Float.BYTES, shape, strides);
        } finally {
            s.release();
        }
    }

    /** Null when {@code algorithm} may run on {@code t} (named {@code what}), else the reason it may not. */
    static String refusal(Algorithm algorithm, Tensor t, String what) {
        if (algorithm.isExact() || t == null) return null;
        return refusal(algorithm, scan(t), what);
    }

    /** As {@link #refusal(Algorithm, Tensor, String)} from a {@link #scan} result. */
    static String refusal(Algorithm algorithm, long scan, String what) {
        if (algorithm.isExact()) return null;
        int maxExp = (int) (scan & 0xff), mean16 = (int) ((scan >>> 8) & 0xfff);
        if (maxExp == 0xff) return what + " holds non-finite values";
        if (maxExp - 127 >= MAX_EXPONENT) return what + " holds magnitudes of 2^" + MAX_EXPONENT + " or more";
        int range = algorithm.transformRangeLog2;
        if (maxExp * 16 - mean16 > range * 16) {
            return what + "'s largest magnitude exceeds 2^" + range + " times its typical one";
        }
        return null;
    }

    private static final Algorithm[] ALGORITHMS = Algorithm.values();

    /**
     * The transform algorithm a backward route id names (a forward algorithm's native id, or the fused Winograd filter
     * gradient, whose transforms are F(4x4, 3x3)'s), or null for an exact route.
     */
    static Algorithm transformOf(int route) {
        if (route == NativeBackward.WINOGRAD_FUSED) return Algorithm.WINOGRAD_4X4;
        for (Algorithm a : ALGORITHMS) {
            if (!a.isExact() && a.nativeId == route) return a;
        }
        return null;
    }

    /** Why the input-gradient {@code route} may not run on this gradient and filter, or null. */
    static String inputGradientRefusal(int route, Tensor gradOut, Tensor filter) {
        Algorithm a = transformOf(route);
        if (a == null) return null;
        String why = refusal(a, gradOut, "gradient of the output");
        return why != null ? why : refusal(a, filter, "filter");
    }

    /** Why the filter-gradient {@code route} may not run on this input and gradient, or null. */
    static String filterGradientRefusal(int route, Tensor input, Tensor gradOut) {
        Algorithm a = transformOf(route);
        if (a == null) return null;
        String why = refusal(a, input, "input");
        return why != null ? why : refusal(a, gradOut, "gradient of the output");
    }

    /** The cheaper exact route of the input gradient (the GEMM gather or the scatter). */
    static int exactInputRoute(long[] desc) {
        double gemm = NativeBackward.inputEstimateSeconds(desc, NativeBackward.GEMM);
        double scatter = NativeBackward.inputEstimateSeconds(desc, NativeBackward.SCATTER);
        return scatter >= 0 && (gemm < 0 || scatter < gemm) ? NativeBackward.SCATTER : NativeBackward.GEMM;
    }

    /** The exact plan that replaces a refused transform plan, with the refusal as its reason. */
    static Plan fallback(ConvGeometry geo, long[] desc, Conv2dOptions options, boolean prepared, Plan refused, String why) {
        Conv2dOptions exact = options.toBuilder().algorithm(Algorithm.AUTO).exactOnly(true).build();
        Plan p = Planner.plan(geo, desc, exact, prepared);
        return new Plan(p.algorithm(), p.units(), p.workspaceBytes(), p.preparedFloats(), p.estimatedSeconds(),
                why + ": " + refused.algorithm() + " refused, exact route instead (" + p.reason() + ")");
    }
}
