package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.conv4j.internal.NativeBackward;
import io.conv4j.internal.NativeLibrary;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every golden backward case through every input-gradient route that can run it
 * ({@link BackwardRoutesTest#IDS}, each forced in turn by {@link Conv2dBackward#inputRouteOverride}),
 * through all three entry points: the plain {@link Conv2dBackward#backward} call, the call with a
 * {@link PreparedFilter} (its rearranged filter kept) and a {@link Conv2dLayer}'s training step.
 * gradinput within the golden tolerance, the same bits through every entry point and at 1 and 3
 * threads. The filter-gradient routes have {@link GoldenFilterRoutesTest}.
 */
class GoldenInputRoutesTest {
    static List<GoldenCases.Case> cases() throws IOException {
        return GoldenBackwardTest.cases();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void everyInputRouteMatchesGoldenThroughEveryEntryPoint(GoldenCases.Case c) throws IOException {
        NativeLibrary.ensureLoaded();
        GoldenBackwardTest.Data d = new GoldenBackwardTest.Data(c);
        long[] desc = BackwardRoutesTest.inputDesc(new BackwardRoutesTest.Layer(c.toString(), c.inputShape(), c.filterShape(), c.options()));
        int routes = 0;
        for (int route : BackwardRoutesTest.IDS) {
            if (NativeBackward.inputUnits(desc, route) <= 0) continue;
            routes++;
            float[] plain = run(c, d, route, 1, GoldenFilterRoutesTest.Entry.PLAIN);
            d.check(plain, d.dw, d.db, "input route " + route);
            for (GoldenFilterRoutesTest.Entry e : GoldenFilterRoutesTest.Entry.values()) {
                for (int threads : new int[] {1, 3}) {
                    assertArrayEquals(plain, run(c, d, route, threads, e), c + " route " + route + " " + e + " " + threads + " threads");
                }
            }
        }
        assertTrue(routes >= 1, c + ": input routes run " + routes);
    }

    /** gradInput of case c by the forced input route. */
    static float[] run(GoldenCases.Case c, GoldenBackwardTest.Data d, int route, int threads, GoldenFilterRoutesTest.Entry entry) {
        int before = Conv4j.threads();
        Conv2dBackward.inputRouteOverride = route;
        Conv2dOptions o = c.options();
        try (Tensor x = Tensor.fromArray(d.x, c.inputShape()); Tensor w = Tensor.fromArray(d.w, c.filterShape());
             Tensor b = d.bias == null ? null : Tensor.fromArray(d.bias, Shape.of(c.cout));
             Tensor dy = Tensor.fromArray(d.dy, c.outputShape())) {
            Conv4j.setThreads(threads);
            switch (entry) {
                case PLAIN:
                    try (Conv2dGradients g = Conv2dBackward.backward(x, w, b, null, dy, o)) {
                        return g.gradInput().toArray();
                    }
                case PREPARED:
                    try (PreparedFilter pf = Conv2d.prepare(w, b, o); Conv2dGradients g = Conv2dBackward.backward(x, pf, null, dy, null)) {
                        return g.gradInput().toArray();
                    }
                default:
                    try (Conv2dLayer layer = Conv2dLayer.create(c.filterShape(), b != null, o, 1)) {
                        layer.filter().copyFrom(w);
                        if (b != null) layer.bias().copyFrom(b);
                        layer.forward(x);
                        return layer.backward(dy).toArray();
                    }
            }
        } finally {
            Conv4j.setThreads(before);
            Conv2dBackward.inputRouteOverride = NativeBackward.AUTO;
        }
    }
}
