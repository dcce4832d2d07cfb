package io.conv4j;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The reference vectors of {@code ../shared/golden_nd} (1-D, 2-D, 3-D; float32, float64): one {@link Case} per row. */
final class GoldenNd {
    private GoldenNd() {}

    /** {@code ../shared/golden_nd} when it holds the vectors, else the copy under src/test/resources/golden_nd. */
    static Path dir() {
        Path shared = Path.of(System.getProperty("conv4j.golden_nd.dir", "../shared/golden_nd"));
        if (Files.isRegularFile(shared.resolve("cases.csv"))) return shared;
        return Path.of("src/test/resources/golden_nd");
    }

    /** One row of cases.csv. */
    static final class Case {
        final String name;
        final int rank;
        final DType dtype;
        final Shape input, filter, output;
        final long[] strides, dilations, pads;
        final String padding;
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
            padding = f[7];
            pads = dims(f[8]);
            groups = Long.parseLong(f[9]);
            hasBias = f[10].equals("1");
            flip = f[11].equals("1");
            output = Shape.of(dims(f[12]));
        }

        private static long[] dims(String s) {
            return Arrays.stream(s.split("x")).mapToLong(Long::parseLong).toArray();
        }

        /** The options as the CSV states them (SAME and VALID by name, EXPLICIT with its pads). */
        ConvOptions options() {
            Padding p = padding.equals("EXPLICIT") ? Padding.explicit(pads) : Padding.parse(padding);
            return ConvOptions.builder().strides(strides).dilations(dilations).padding(p).groups(groups).flipKernel(flip).build();
        }

        Path file(String kind) {
            return dir().resolve(name + "." + kind + (dtype == DType.FLOAT64 ? ".f64" : ".f32"));
        }

        /** The file's values as doubles (float32 files widened exactly). */
        double[] read(String kind) throws IOException {
            byte[] b = Files.readAllBytes(file(kind));
            ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
            if (dtype == DType.FLOAT64) {
                double[] d = new double[b.length / 8];
                bb.asDoubleBuffer().get(d);
                return d;
            }
            float[] f = new float[b.length / 4];
            bb.asFloatBuffer().get(f);
            double[] d = new double[f.length];
            for (int i = 0; i < f.length; i++) d[i] = f[i];
            return d;
        }

        /** A tensor of the case's dtype holding a file. */
        Tensor tensor(String kind, Shape shape) throws IOException {
            double[] d = read(kind);
            if (dtype == DType.FLOAT64) return Tensor.fromArray(d, shape);
            float[] f = new float[d.length];
            for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
            return Tensor.fromArray(f, shape);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static List<Case> all() throws IOException {
        List<String> lines = Files.readAllLines(dir().resolve("cases.csv"));
        List<Case> out = new ArrayList<>();
        for (String l : lines.subList(1, lines.size())) {
            if (!l.isBlank()) out.add(new Case(l.trim().split(",")));
        }
        return out;
    }

    static double[] values(Tensor t) {
        if (t.dtype() == DType.FLOAT64) return t.toDoubleArray();
        float[] f = t.toArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    /** The README's tolerance: relative 1e-4 for float32, 1e-10 for float64, scaled by the largest reference value. */
    static void assertClose(Case c, String what, double[] want, double[] got) {
        if (want.length != got.length) throw new AssertionError(c + " " + what + ": " + got.length + " values, want " + want.length);
        double scale = 1;
        for (double w : want) scale = Math.max(scale, Math.abs(w));
        double tol = (c.dtype == DType.FLOAT64 ? 1e-10 : 1e-4) * scale;
        for (int i = 0; i < want.length; i++) {
            if (!(Math.abs(got[i] - want[i]) <= tol)) {
                throw new AssertionError(c + " " + what + "[" + i + "]: got " + got[i] + ", want " + want[i] + " (tolerance " + tol + ")");
            }
        }
    }
}
