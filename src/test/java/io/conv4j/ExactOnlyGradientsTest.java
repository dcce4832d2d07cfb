package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.conv4j.internal.NativeCore;
import io.conv4j.internal.NativeLibrary;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link Conv2dOptions#exactOnly()} holds for the gradients as for the forward pass: with it, the
 * input and filter gradients never run a transform route (Winograd, FFT), chosen by the one native
 * planner. Layers where AUTO does pick a transform gradient without it show the option matters.
 */
class ExactOnlyGradientsTest {
    private static Map<Integer, Boolean> exactness(int direction) {
        Map<Integer, Boolean> m = new HashMap<>();
        for (String row : NativeCore.routes(direction)) {
            String[] f = row.split(":");
            m.put(Integer.parseInt(f[1]), f[2].equals("1"));
        }
        return m;
    }

    @Test
    void exactOnlyKeepsBothGradientsOnExactRoutes() {
        NativeLibrary.ensureLoaded();
        Map<Integer, Boolean> inputExact = exactness(NativeCore.INPUT_GRADIENT);
        Map<Integer, Boolean> filterExact = exactness(NativeCore.FILTER_GRADIENT);
        int transformsWithoutIt = 0;
        long[][] layers = { // N, H, W, Cin, K, Cout
            {1, 56, 56, 64, 3, 64}, {1, 28, 28, 128, 3, 128}, {4, 32, 32, 32, 3, 32}, {1, 64, 64, 16, 11, 16},
            {2, 40, 40, 24, 5, 48}, {8, 28, 28, 128, 3, 128},
        };
        for (long[] l : layers) {
            for (boolean exactOnly : new boolean[] {false, true}) {
                Conv2dOptions o = Conv2dOptions.builder().padding(Padding.SAME).exactOnly(exactOnly).build();
                Shape in = Shape.of(l[0], l[1], l[2], l[3]);
                ConvGeometry geo = ConvGeometry.of(in, Shape.of(l[4], l[4], l[3], l[5]), o);
                long[] dyStrides = ForwardCall.denseOutputStrides(geo.outputShape());
                try (Tensor x = Tensor.allocate(in)) {
                    int inputRoute = BackwardCall.Input.of(geo, o, x, dyStrides, null).route;
                    int filterRoute = BackwardCall.Filter.of(geo, o, x, dyStrides, false, null).route;
                    String what = java.util.Arrays.toString(l) + " exactOnly " + exactOnly;
                    if (exactOnly) {
                        assertTrue(inputExact.get(inputRoute), what + ": input gradient route " + inputRoute + " is a transform");
                        assertTrue(filterExact.get(filterRoute), what + ": filter gradient route " + filterRoute + " is a transform");
                    } else if (!inputExact.get(inputRoute) || !filterExact.get(filterRoute)) {
                        transformsWithoutIt++;
                    }
                }
            }
        }
        assertTrue(transformsWithoutIt > 0, "no layer took a transform gradient route without exactOnly: the test shows nothing");
    }
}
