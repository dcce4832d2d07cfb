package io.conv4j;

import io.conv4j.internal.NativeCore;

/**
 * The cost model: picks the algorithm for a convolution when the options say {@link Algorithm#AUTO}.
 * Package-private; its decisions are visible through {@link Conv2d#plan} and {@link Conv2d#explain}.
 */
final class Planner {
    /** Below this many output pixels per contiguous row run, per-run sgemm calls are too small. */
    private static final long DIRECT_MIN_RUN = 64;

    private Planner() {}

    static Plan plan(ConvGeometry geo, long[] desc, Conv2dOptions options) {
        Algorithm requested = options.algorithm();
        if (geo.batch() == 0) { // as Conv2d.run: nothing to compute, no native call (the output may be beyond int)
            return new Plan(requested == Algorithm.AUTO ? Algorithm.GEMM_TILED : requested, 0, 0, "empty batch: nothing to compute");
        }
        if (requested != Algorithm.AUTO) {
            long units = NativeCore.units(desc, requested.nativeId);
            if (units <= 0 && geo.batch() > 0) {
                throw new IllegalArgumentException("algorithm " + requested + " cannot run this convolution (" + geo + "): "
                        + requirements(requested));
            }
            return new Plan(requested, units, NativeCore.workspaceBytes(desc, requested.nativeId), "requested explicitly");
        }
        long directUnits = NativeCore.units(desc, Algorithm.GEMM_DIRECT.nativeId);
        if (directUnits > 0 && runLength(geo, desc) >= DIRECT_MIN_RUN) {
            return new Plan(Algorithm.GEMM_DIRECT, directUnits, 0,
                    "1x1 unpadded convolution: one sgemm per run of output rows straight on the input, no copy");
        }
        long units = NativeCore.units(desc, Algorithm.GEMM_TILED.nativeId);
        return new Plan(Algorithm.GEMM_TILED, units, NativeCore.workspaceBytes(desc, Algorithm.GEMM_TILED.nativeId),
                "general case: patch tiles sized for L2, one sgemm per tile");
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
            case FFT: return "needs stride 1 and dilation 1";
            default: return "not applicable";
        }
    }
}
