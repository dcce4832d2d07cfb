package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.conv4j.GoldenFilterRoutesTest.Entry;
import io.conv4j.internal.NativeBackward;
import io.conv4j.internal.NativeLibrary;
import java.io.IOException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every golden backward case through every input-gradient route that can run it
 * ({@link BackwardRoutesTest#IDS}, each forced in turn by {@link Conv2dBackward#inputRouteOverride}),
 * through all three entry points ({@link GoldenFilterRoutesTest#run}: the plain call, a
 * {@link PreparedFilter} with its rearranged filter kept, a {@link Conv2dLayer}'s training step):
 * gradinput within the golden tolerance, the same bits through every entry point and at 1 and 3
 * threads. The filter-gradient routes have {@link GoldenFilterRoutesTest}.
 */
class GoldenInputRoutesTest {
    @ParameterizedTest(name = "{0}")
    @MethodSource("io.conv4j.GoldenBackwardTest#cases")
    void everyInputRouteMatchesGoldenThroughEveryEntryPoint(GoldenCases.Case c) throws IOException {
        NativeLibrary.ensureLoaded();
        GoldenBackwardTest.Data d = new GoldenBackwardTest.Data(c);
        long[] desc = BackwardRoutesTest.inputDesc(new BackwardRoutesTest.Layer(c.toString(), c.inputShape(), c.filterShape(), c.options()));
        int routes = 0;
        for (int route : BackwardRoutesTest.IDS) {
            if (NativeBackward.inputUnits(desc, route) <= 0) continue;
            routes++;
            float[] plain = GoldenFilterRoutesTest.run(c, d, route, NativeBackward.AUTO, 1, Entry.PLAIN)[0];
            d.check(plain, d.dw, d.db, "input route " + route);
            for (Entry e : Entry.values()) {
                for (int threads : new int[] {1, 3}) {
                    float[] other = GoldenFilterRoutesTest.run(c, d, route, NativeBackward.AUTO, threads, e)[0];
                    assertArrayEquals(plain, other, c + " route " + route + " " + e + " " + threads + " threads");
                }
            }
        }
        assertTrue(routes >= 1, c + ": input routes run " + routes);
    }
}
