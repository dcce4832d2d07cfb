package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Fixtures made by numpy, independent of conv4j (scripts committed beside them):
 * transposed convolutions with output padding in ranks 1-3 and both dtypes
 * ({@code src/test/resources/transposed/make_fixtures.py}, a scatter loop by the definition), and the
 * seed example in float64 against numpy's as_strided + tensordot
 * ({@code src/test/resources/seed64/make_seed64.py}) to 1e-12 relative.
 */
class TransposedAndSeedTest {
    static final Path TRANSPOSED = Path.of("src/test/resources/transposed");

    /** One row of transposed/cases.csv. */
    static final class Case {
        final String name;
        final int rank;
        final DType dtype;
        final Shape input, filter, output;
        final long[] strides, dilations, pads, outputPadding;
        final long groups;
        final boolean hasBias, flip;

        Case(String[] f) {
            name = f[0];
            rank = Integer.parseInt(f[1]);
            dtype = DType.parse(f[2]);
            input = Shape.of(dims(f[3]));
            filter = Shape.of(dims(f[4]));
            strides = dims(f[5]);
            dilations = dims(f[6]);
            pads = dims(f[7]);
            outputPadding = dims(f[8]);
            groups = Long.parseLong(f[9]);
            hasBias = f[10].equals("1");
            flip = f[11].equals("1");
            output = Shape.of(dims(f[12]));
        }

        static long[] dims(String s) {
            return Arrays.stream(s.split("x")).mapToLong(Long::parseLong).toArray();
        }

        ConvOptions options() {
            return ConvOptions.builder().strides(strides).dilations(dilations).padding(Padding.explicit(pads)).groups(groups)
                    .flipKernel(flip).build();
        }

        double[] read(String kind) throws IOException {
            return readRaw(TRANSPOSED.resolve(name + "." + kind + (dtype == DType.FLOAT64 ? ".f64" : ".f32")), dtype);
        }

        Tensor tensor(String kind, Shape s) throws IOException {
            return ConvNdPropertyTest.tensor(dtype, read(kind), s);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static double[] readRaw(Path p, DType dt) throws IOException {
        ByteBuffer bb = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        double[] d = new double[bb.capacity() / dt.bytes()];
        for (int i = 0; i < d.length; i++) d[i] = dt == DType.FLOAT64 ? bb.getDouble() : bb.getFloat();
        return d;
    }

    static List<Case> cases() throws IOException {
        List<Case> out = new ArrayList<>();
        List<String> lines = Files.readAllLines(TRANSPOSED.resolve("cases.csv"));
        for (String l : lines.subList(1, lines.size())) {
            if (!l.isBlank()) out.add(new Case(l.trim().split(",")));
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void transposedWithOutputPadding(Case c) throws IOException {
        assertEquals(c.output, Conv.transposeOutputShape(c.input, c.filter, c.options(), c.outputPadding));
        long cin = c.filter.size(c.rank) * c.groups;
        try (Tensor x = c.tensor("input", c.input); Tensor w = c.tensor("filter", c.filter);
             Tensor b = c.hasBias ? c.tensor("bias", Shape.of(cin)) : null;
             Tensor y = Conv.transpose(x, w, b, c.options(), c.outputPadding)) {
            assertEquals(c.output, y.shape());
            double[] want = c.read("output"), got = GoldenNd.values(y);
            double scale = 1;
            for (double v : want) scale = Math.max(scale, Math.abs(v));
            double tol = (c.dtype == DType.FLOAT64 ? 1e-12 : 1e-5) * scale;
            for (int i = 0; i < want.length; i++) {
                if (!(Math.abs(got[i] - want[i]) <= tol)) throw new AssertionError(c + "[" + i + "]: got " + got[i] + " want " + want[i]);
            }
        }
    }

    /** x[i] = ((i * mult) % 2001) / 1000 - 1, exactly as make_seed64.py computes it. */
    static double[] formula(int count, long mult) {
        double[] v = new double[count];
        for (int i = 0; i < count; i++) v[i] = ((i * mult) % 2001) / 1000.0 - 1.0;
        return v;
    }

    @Test
    void seedExampleInFloat64MatchesNumpyTensordot() throws IOException {
        Shape xs = Shape.of(2, 64, 64, 3), ws = Shape.of(5, 5, 3, 16);
        double[] want = readRaw(Path.of("src/test/resources/seed64/seed64.output.f64"), DType.FLOAT64);
        double[] got = Conv.conv(formula(2 * 64 * 64 * 3, 7919), xs, formula(5 * 5 * 3 * 16, 104729), ws, null, ConvOptions.defaults());
        assertEquals(want.length, got.length);
        double scale = 0;
        for (double v : want) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < want.length; i++) { // relative 1e-12 (elements near zero: of the largest magnitude)
            if (!(Math.abs(got[i] - want[i]) <= 1e-12 * Math.max(Math.abs(want[i]), 1e-3 * scale))) {
                throw new AssertionError("seed64[" + i + "]: got " + got[i] + " want " + want[i]);
            }
        }
        // the nested double drop-in gives the same numbers
        double[][][][] nested = Conv.conv((double[][][][]) NestedDoubles.unflatten(formula(2 * 64 * 64 * 3, 7919), xs),
                (double[][][][]) NestedDoubles.unflatten(formula(5 * 5 * 3 * 16, 104729), ws), ConvOptions.defaults());
        assertEquals(got[((1 * 60 + 7) * 60 + 14) * 16 + 9], nested[1][7][14][9]);
        assertEquals(want[want.length - 1], nested[1][59][59][15], 1e-12 * scale);
    }
}
