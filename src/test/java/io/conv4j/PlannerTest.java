package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.conv4j.internal.NativeCore;
import io.conv4j.internal.NativeLibrary;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * AUTO's rules on the cost model measured on this machine: a transform algorithm only when it is
 * estimated faster than plain im2col + sgemm and either clearly faster than every exact one or
 * measured faster on the convolution itself (the trial, inside the band), and one route per
 * convolution for the life of the process, whichever entry point asks.
 */
class PlannerTest {
    /** {N, H, W, Cin, KH, KW, Cout, stride, same} */
    private static final List<long[]> SHAPES = List.of(
            new long[] {1, 17, 17, 64, 1, 7, 64, 1, 1}, new long[] {1, 17, 17, 64, 7, 1, 96, 1, 1},
            new long[] {1, 28, 28, 32, 3, 3, 64, 2, 1}, new long[] {2, 28, 28, 16, 5, 5, 32, 1, 1},
            new long[] {8, 14, 14, 64, 1, 1, 32, 1, 0}, new long[] {16, 16, 16, 3, 3, 3, 16, 1, 1},
            new long[] {3, 37, 37, 19, 3, 3, 29, 1, 1}, new long[] {1, 30, 30, 64, 3, 3, 64, 1, 1},
            new long[] {1, 40, 40, 8, 11, 11, 8, 1, 1}, new long[] {1, 8, 8, 4, 3, 3, 8, 1, 1});

    private static Conv2dOptions options(long[] s) {
        return Conv2dOptions.builder().strides(s[7], s[7]).padding(s[8] == 1 ? Padding.SAME : Padding.VALID).build();
    }

    @Test
    void transformOnlyWhenClearlyFasterThanExactAndRoofline() {
        NativeLibrary.ensureLoaded();
        for (long[] s : SHAPES) {
            Conv2dOptions o = options(s);
            ConvGeometry geo = ConvGeometry.of(Shape.of(s[0], s[1], s[2], s[3]), Shape.of(s[4], s[5], s[3], s[6]), o);
            long[] desc = ForwardCall.dense(geo, o, false, false).desc;
            Algorithm chosen = Planner.plan(geo, desc, o).algorithm();
            double exact = Double.POSITIVE_INFINITY;
            for (Algorithm a : Algorithm.values()) {
                if (a == Algorithm.AUTO || !a.isExact()) continue;
                double e = NativeCore.estimateSeconds(desc, a.nativeId, false);
                if (e >= 0) exact = Math.min(exact, e);
            }
            double own = NativeCore.estimateSeconds(desc, chosen.nativeId, false);
            String reason = Planner.plan(geo, desc, o).reason();
            String measured = chosen.name().toLowerCase(java.util.Locale.ROOT) + " below " + Planner.TRIAL_MARGIN + " x ";
            if (chosen.isExact()) {
                // the cheapest estimated exact algorithm, or the next one within the band measured faster on this convolution
                if (own != exact) {
                    assertTrue(own < Planner.TRIAL_HIGH * exact && reason.contains("among the exact routes"),
                            "AUTO took the slower exact algorithm " + chosen + " for " + geo + ": " + reason);
                }
            } else {
                // clearly faster on the estimates, or, inside the band, measured faster on this convolution, or
                // measured fastest among transforms that the best estimated one of them (clear of the exact
                // routes) ran against
                String among = chosen.name().toLowerCase(java.util.Locale.ROOT) + " among the transforms";
                assertTrue(own < Planner.TRIAL_LOW * exact || (own < Planner.TRIAL_HIGH * exact && reason.contains(measured))
                                || (own < Planner.TRIAL_HIGH * exact && reason.contains(among)),
                        chosen + " without a clear margin or a trial for " + geo + ": " + reason);
                assertTrue(own < NativeCore.rooflineSeconds(desc), chosen + " above im2col + sgemm for " + geo);
            }
        }
    }

    @Test
    void oneRoutePerConvolutionThroughEveryEntryPoint() {
        for (long[] s : SHAPES) {
            Conv2dOptions o = options(s);
            Shape xs = Shape.of(s[0], s[1], s[2], s[3]), ws = Shape.of(s[4], s[5], s[3], s[6]);
            try (Tensor x = Tensor.allocate(xs)) {
                Algorithm viaTensor = Conv2d.plan(x, ws, o).algorithm();
                String explained = Conv2d.explain(xs, ws, o);
                assertTrue(explained.contains("plan: " + viaTensor + " "), explained);
                assertTrue(explained.contains("plain im2col + sgemm"), explained);
                // decided again (the plan cache emptied; the measured sgemm times are kept): the same answer
                Planner.forgetPlans();
                assertSame(viaTensor, Conv2d.plan(x, ws, o).algorithm());
            }
        }
    }
}
