package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every forward case of the golden vectors (made by another implementation), through the tensor
 * API, with the automatic choice and with every algorithm that can run the case.
 */
class GoldenForwardTest {
    /** The golden README's tolerance: |got - want| <= 1e-5 (1 + sum over the window of |x*w|). */
    static final double TOL = 1e-5;

    static Stream<Arguments> cases() throws IOException {
        List<Arguments> out = new ArrayList<>();
        for (GoldenCases.Case c : GoldenCases.all()) {
            for (Algorithm a : Algorithm.values()) out.add(Arguments.of(c, a));
        }
        return out.stream();
    }

    @Test
    void allCasesPresent() throws IOException {
        assertEquals(18, GoldenCases.all().size(), "cases.csv rows");
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void forwardMatchesGolden(GoldenCases.Case c, Algorithm algorithm) throws IOException {
        float[] x = c.read("input"), w = c.read("filter"), want = c.read("output");
        float[] bias = c.hasBias ? c.read("bias") : null;
        Conv2dOptions o = c.options().toBuilder().algorithm(algorithm).build();
        assertEquals(c.outputShape(), Conv2d.outputShape(c.inputShape(), c.filterShape(), o), "output shape");
        ConvGeometry g = ConvGeometry.of(c.inputShape(), c.filterShape(), o);
        assertEquals(c.pt, g.padTop());
        assertEquals(c.pb, g.padBottom());
        assertEquals(c.pl, g.padLeft());
        assertEquals(c.pr, g.padRight());

        try (Tensor tx = Tensor.fromArray(x, c.inputShape()); Tensor tw = Tensor.fromArray(w, c.filterShape());
             Tensor tb = bias == null ? null : Tensor.fromArray(bias, Shape.of(c.cout))) {
            assumeTrue(algorithm == Algorithm.AUTO || runs(tx, c, o), "algorithm not applicable to this case");
            try (Tensor y = Conv2d.conv2d(tx, tw, tb, o)) {
                float[] got = y.toArray();
                double[] scale = ReferenceConv2d.errorScale(x, w, bias, g, c.flip);
                double[] wantD = new double[want.length];
                for (int i = 0; i < want.length; i++) wantD[i] = want[i];
                int bad = ReferenceConv2d.firstMismatch(got, wantD, scale, TOL);
                assertTrue(bad < 0, () -> c + " " + algorithm + ": element " + bad + " got " + got[bad] + " want " + want[bad]);
            }
        }
    }

    static boolean runs(Tensor x, GoldenCases.Case c, Conv2dOptions o) {
        try {
            Conv2d.plan(x, c.filterShape(), o);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
