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
 * Every golden backward case through every filter-gradient route that can run it, each forced in
 * turn ({@link Conv2dBackward#filterRouteOverride}), through all three entry points: the plain
 * {@link Conv2dBackward#backward} call, the call with a {@link PreparedFilter} and a
 * {@link Conv2dLayer}'s training step. gradfilter and gradbias within the golden tolerance, the same
 * bits through every entry point and at 1 and 3 threads.
 */
class GoldenFilterRoutesTest {
    /** Native filter-gradient route ids: GEMM, Winograd F(2x2), F(4x4), FFT, grouped direct, direct. */
    static final int[] FILTER_ROUTES = {NativeBackward.GEMM, 3, 4, 5, 6, 9};

    static List<GoldenCases.Case> cases() throws IOException {
        return GoldenBackwardTest.cases();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void everyFilterRouteMatchesGoldenThroughEveryEntryPoint(GoldenCases.Case c) throws IOException {
        NativeLibrary.ensureLoaded();
        GoldenBackwardTest.Data d = new GoldenBackwardTest.Data(c);
        long[] desc = BackwardRoutesTest.filterDesc(new BackwardRoutesTest.Layer(c.toString(), c.inputShape(), c.filterShape(), c.options()));
        int routes = 0;
        for (int route : FILTER_ROUTES) {
            if (NativeBackward.filterUnits(desc, route) <= 0) continue;
            routes++;
            float[][] plain = run(c, d, NativeBackward.AUTO, route, 1, Entry.PLAIN);
            d.check(d.dx, plain[1], plain[2], "filter route " + route);
            for (Entry e : Entry.values()) {
                for (int threads : new int[] {1, 3}) {
                    float[][] other = run(c, d, NativeBackward.AUTO, route, threads, e);
                    assertArrayEquals(plain[1], other[1], c + " route " + route + " " + e + " " + threads + " threads: gradFilter");
                    if (c.hasBias) assertArrayEquals(plain[2], other[2], c + " route " + route + " " + e + " " + threads + " threads: gradBias");
                }
            }
        }
        assertTrue(routes >= 2, c + ": filter routes run " + routes);
    }

    enum Entry { PLAIN, PREPARED, LAYER }

    /**
     * gradInput, gradFilter and gradBias (null without a bias) of case c by the given routes
     * ({@link NativeBackward#AUTO}: the cost model's), through one entry point.
     */
    static float[][] run(GoldenCases.Case c, GoldenBackwardTest.Data d, int inputRoute, int filterRoute, int threads,
                         Entry entry) {
        int before = Conv4j.threads();
        Conv2dBackward.inputRouteOverride = inputRoute;
        Conv2dBackward.filterRouteOverride = filterRoute;
        Conv2dOptions o = c.options();
        try (Tensor x = Tensor.fromArray(d.x, c.inputShape()); Tensor w = Tensor.fromArray(d.w, c.filterShape());
             Tensor b = d.bias == null ? null : Tensor.fromArray(d.bias, Shape.of(c.cout));
             Tensor dy = Tensor.fromArray(d.dy, c.outputShape())) {
            Conv4j.setThreads(threads);
            switch (entry) {
                case PLAIN:
                    try (Conv2dGradients g = Conv2dBackward.backward(x, w, b, null, dy, o)) {
                        return new float[][] {g.gradInput().toArray(), g.gradFilter().toArray(), b == null ? null : g.gradBias().toArray()};
                    }
                case PREPARED:
                    try (PreparedFilter pf = Conv2d.prepare(w, b, o); Conv2dGradients g = Conv2dBackward.backward(x, pf, null, dy, null)) {
                        return new float[][] {g.gradInput().toArray(), g.gradFilter().toArray(), b == null ? null : g.gradBias().toArray()};
                    }
                default:
                    try (Conv2dLayer layer = Conv2dLayer.create(c.filterShape(), b != null, o, 1)) {
                        layer.filter().copyFrom(w);
                        if (b != null) layer.bias().copyFrom(b);
                        layer.forward(x);
                        float[] gradInput = layer.backward(dy).toArray();
                        return new float[][] {gradInput, layer.gradFilter().toArray(), b == null ? null : layer.gradBias().toArray()};
                    }
            }
        } finally {
            Conv4j.setThreads(before);
            Conv2dBackward.inputRouteOverride = NativeBackward.AUTO;
            Conv2dBackward.filterRouteOverride = NativeBackward.AUTO;
        }
    }
}
