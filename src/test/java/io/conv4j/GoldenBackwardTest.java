package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.conv4j.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every backward case of the golden vectors (PyTorch, float64): gradinput, gradfilter and, where
 * the case has a bias, gradbias, through the Java API ({@link Conv2dBackward#backward} with a filter
 * tensor and with a {@link PreparedFilter}, and the single-gradient functions; gradInput and
 * gradFilter must agree with it bit for bit) and through the {@code grad} command
 * on the golden files. Tolerance as in the golden README: |got - want| <= 1e-5 (1 + sum of the
 * |terms| of that gradient element).
 */
class GoldenBackwardTest {
    static final double TOL = 1e-5;
    /** largest |got - want| / (1 + scale) seen per gradient, over all cases (printed at the end) */
    private static final double[] MAX_SEEN = new double[3];

    static List<GoldenCases.Case> cases() throws IOException {
        List<GoldenCases.Case> all = GoldenCases.all();
        assertEquals(18, all.size(), "cases.csv rows");
        return all;
    }

    /** The golden data of one case plus the reference's error scales. */
    static final class Data {
        final GoldenCases.Case c;
        final float[] x, w, bias, dy, dx, dw, db;
        final ReferenceConv2dBackward ref;

        Data(GoldenCases.Case c) throws IOException {
            this.c = c;
            x = c.read("input");
            w = c.read("filter");
            bias = c.hasBias ? c.read("bias") : null;
            dy = c.read("gradout");
            dx = c.read("gradinput");
            dw = c.read("gradfilter");
            db = c.hasBias ? c.read("gradbias") : null;
            ref = ReferenceConv2dBackward.of(x, w, ReferenceConv2dBackward.toDouble(dy),
                    ConvGeometry.of(c.inputShape(), c.filterShape(), c.options()), c.flip);
        }

        void check(float[] gotDx, float[] gotDw, float[] gotDb, String how) {
            check(how + " gradinput", 0, gotDx, dx, ref.inputScale);
            check(how + " gradfilter", 1, gotDw, dw, ref.filterScale);
            if (c.hasBias) check(how + " gradbias", 2, gotDb, db, ref.biasScale);
        }

        private void check(String what, int slot, float[] got, float[] want, double[] scale) {
            double[] wantD = ReferenceConv2dBackward.toDouble(want);
            double err = ReferenceConv2dBackward.maxScaledError(got, wantD, scale);
            synchronized (MAX_SEEN) {
                MAX_SEEN[slot] = Math.max(MAX_SEEN[slot], err);
            }
            int bad = ReferenceConv2dBackward.firstMismatch(got, wantD, scale, TOL);
            assertTrue(bad < 0, () -> c + " " + what + ": element " + bad + " got " + got[bad] + " want " + want[bad]);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void javaApiMatchesGolden(GoldenCases.Case c) throws IOException {
        Data d = new Data(c);
        // the plain reference agrees with the golden vectors too (so its scales are meaningful)
        d.check(toFloat(d.ref.gradInput), toFloat(d.ref.gradFilter), toFloat(d.ref.gradBias), "reference");
        Conv2dOptions o = c.options();
        try (Tensor x = Tensor.fromArray(d.x, c.inputShape()); Tensor w = Tensor.fromArray(d.w, c.filterShape());
             Tensor b = d.bias == null ? null : Tensor.fromArray(d.bias, Shape.of(c.cout));
             Tensor dy = Tensor.fromArray(d.dy, c.outputShape());
             Conv2dGradients g = Conv2dBackward.backward(x, w, b, null, dy, o)) {
            float[] dx = g.gradInput().toArray(), dw = g.gradFilter().toArray();
            float[] db = g.gradBias() == null ? null : g.gradBias().toArray();
            if (b == null) assertNull(db);
            d.check(dx, dw, db, "backward");
            // the single-gradient entry points run the same kernels: bit-identical
            try (Tensor gi = Conv2dBackward.gradInput(dy, w, c.inputShape(), o);
                 Tensor gt = Conv2dBackward.conv2dTranspose(dy, w, c.inputShape(), o);
                 Tensor gf = Conv2dBackward.gradFilter(x, dy, c.filterShape(), o);
                 Tensor gb = Conv2dBackward.gradBias(dy)) {
                assertArrayEquals(dx, gi.toArray(), "gradInput");
                assertArrayEquals(dx, gt.toArray(), "conv2dTranspose");
                assertArrayEquals(dw, gf.toArray(), "gradFilter");
                // gradBias alone sums over all channels at once, backward per group: the same sums,
                // possibly rounded in another order
                check(d, "gradBias", gb.toArray(), d.ref.gradBias, d.ref.biasScale);
            }
            // with the filter prepared once (a training step's weights): the input gradient may take
            // another route, so it is checked against the golden vectors; the filter gradient is the same
            try (PreparedFilter pf = Conv2d.prepare(w, b, o); Conv2dGradients p = Conv2dBackward.backward(x, pf, null, dy, null)) {
                float[] pdb = p.gradBias() == null ? null : p.gradBias().toArray();
                d.check(p.gradInput().toArray(), p.gradFilter().toArray(), pdb, "backward with a prepared filter");
                assertArrayEquals(dw, p.gradFilter().toArray(), "gradFilter with a prepared filter");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradCommandMatchesGolden(GoldenCases.Case c, @TempDir Path tmp) throws IOException {
        Data d = new Data(c);
        List<String> argv = new ArrayList<>(List.of("grad",
                "--input", c.file("input").toString(), "--input-shape", dims(c.inputShape()),
                "--filter", c.file("filter").toString(), "--filter-shape", dims(c.filterShape()),
                "--strides", c.sh + "," + c.sw, "--dilations", c.dh + "," + c.dw,
                "--padding", c.padding.equals("EXPLICIT") ? c.pt + "," + c.pb + "," + c.pl + "," + c.pr : c.padding,
                "--groups", Integer.toString(c.groups),
                "--grad-output", c.file("gradout").toString(),
                "--grad-input-out", tmp.resolve("gi.f32").toString(),
                "--grad-filter-out", tmp.resolve("gf.f32").toString()));
        if (c.flip) argv.add("--flip");
        if (c.hasBias) argv.addAll(List.of("--bias", c.file("bias").toString(), "--grad-bias-out", tmp.resolve("gb.f32").toString()));
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(argv.toArray(new String[0]), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, status, () -> c + ": " + err.toString(StandardCharsets.UTF_8));
        assertEquals("", err.toString(StandardCharsets.UTF_8));
        float[] db = c.hasBias ? GoldenCases.readFloats(tmp.resolve("gb.f32")) : null;
        d.check(GoldenCases.readFloats(tmp.resolve("gi.f32")), GoldenCases.readFloats(tmp.resolve("gf.f32")), db, "grad command");
    }

    private static void check(Data d, String what, float[] got, double[] want, double[] scale) {
        int bad = ReferenceConv2dBackward.firstMismatch(got, want, scale, TOL);
        assertTrue(bad < 0, () -> d.c + " " + what + ": element " + bad);
    }

    static String dims(Shape s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.rank(); i++) b.append(i > 0 ? "," : "").append(s.size(i));
        return b.toString();
    }

    static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    @AfterAll
    static void report() {
        System.out.printf(Locale.ROOT, "golden backward: max |got - want| / (1 + sum|terms|): gradinput %.2e, gradfilter %.2e,"
                + " gradbias %.2e (tolerance %.0e)%n", MAX_SEEN[0], MAX_SEEN[1], MAX_SEEN[2], TOL);
    }
}
