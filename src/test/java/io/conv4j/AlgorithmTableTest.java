package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.conv4j.internal.NativeCore;
import io.conv4j.internal.NativeLibrary;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * {@link Algorithm}'s constants are the rows of the native forward table (native/src/conv2d_table.c)
 * in table order, with the same ids and exactness, and Java's transform margin is the native
 * planner's: adding an algorithm to the table without its constant (or the reverse) fails here.
 */
class AlgorithmTableTest {
    @Test
    void algorithmConstantsAreTheNativeForwardTable() {
        NativeLibrary.ensureLoaded();
        List<String> fromJava = new ArrayList<>();
        for (Algorithm a : Algorithm.values()) {
            if (a != Algorithm.AUTO) fromJava.add(a.name().toLowerCase(Locale.ROOT) + ":" + a.nativeId + ":" + (a.isExact() ? 1 : 0));
        }
        assertEquals(List.of(NativeCore.routes(NativeCore.FORWARD)), fromJava);
    }

    @Test
    void backwardTablesNameTheirRoutes() {
        NativeLibrary.ensureLoaded();
        // the general GEMM route first in both gradient tables, as the planner's fallback
        assertEquals("gemm:0:1", NativeCore.routes(NativeCore.INPUT_GRADIENT)[0]);
        assertEquals("gemm:0:1", NativeCore.routes(NativeCore.FILTER_GRADIENT)[0]);
    }

    @Test
    void planReasonNamesEveryRow() {
        NativeLibrary.ensureLoaded();
        Conv2dOptions o = Conv2dOptions.builder().padding(Padding.SAME).build();
        ConvGeometry geo = ConvGeometry.of(Shape.of(1, 20, 20, 16), Shape.of(3, 3, 16, 16), o);
        String[] why = new String[1];
        for (int dir : new int[] {NativeCore.FORWARD, NativeCore.INPUT_GRADIENT, NativeCore.FILTER_GRADIENT}) {
            int id = NativeCore.plan(ForwardCall.dense(geo, o, false, false).desc, dir, false, why);
            for (String row : NativeCore.routes(dir)) {
                String name = row.substring(0, row.indexOf(':'));
                assertEquals(true, why[0].contains(name + " "), dir + ": " + why[0]);
            }
            assertEquals(true, why[0].contains("plain im2col + sgemm"), why[0]);
            assertEquals(true, why[0].contains("< " + Planner.TRANSFORM_MARGIN + " x the best exact"), why[0]);
            if (dir == NativeCore.FORWARD) {
                assertEquals(true, why[0].contains(String.format(java.util.Locale.ROOT, "below %.2f x it wins; routes from there to %.2f x the "
                        + "best exact one run once on this geometry, and the exact route (the first in table order that no other ran "
                        + "below %.2f x) keeps it unless the transform ran below %.2f x it", Planner.TRIAL_LOW, Planner.TRIAL_HIGH,
                        Planner.TRIAL_MARGIN, Planner.TRIAL_MARGIN)), why[0]);
            }
            assertEquals(true, id >= 0, why[0]);
        }
    }
}
