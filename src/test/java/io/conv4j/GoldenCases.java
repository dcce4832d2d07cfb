package io.conv4j;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The reference vectors in {@code ../shared/golden} (see its README): one {@link Case} per row of cases.csv. */
final class GoldenCases {
    private GoldenCases() {}

    /**
     * {@code conv4j.golden.dir} (the pom passes ../shared/golden) when it holds the vectors, else the
     * verbatim copy committed under src/test/resources/golden for checkouts without ../shared.
     */
    static Path dir() {
        Path shared = Path.of(System.getProperty("conv4j.golden.dir", "../shared/golden"));
        if (Files.isRegularFile(shared.resolve("cases.csv"))) return shared;
        return Path.of("src/test/resources/golden");
    }

    /** One row of cases.csv. */
    static final class Case {
        final String name;
        final int n, h, w, cin, kh, kw, cout, sh, sw, dh, dw, pt, pb, pl, pr, groups, oh, ow;
        final String padding;
        final boolean hasBias, flip;

        Case(String[] f) {
            int i = 0;
            name = f[i++];
            n = Integer.parseInt(f[i++]); h = Integer.parseInt(f[i++]); w = Integer.parseInt(f[i++]);
            cin = Integer.parseInt(f[i++]); kh = Integer.parseInt(f[i++]); kw = Integer.parseInt(f[i++]);
            cout = Integer.parseInt(f[i++]); sh = Integer.parseInt(f[i++]); sw = Integer.parseInt(f[i++]);
            dh = Integer.parseInt(f[i++]); dw = Integer.parseInt(f[i++]); padding = f[i++];
            pt = Integer.parseInt(f[i++]); pb = Integer.parseInt(f[i++]); pl = Integer.parseInt(f[i++]);
            pr = Integer.parseInt(f[i++]); groups = Integer.parseInt(f[i++]); hasBias = f[i++].equals("1");
            flip = f[i++].equals("1"); oh = Integer.parseInt(f[i++]); ow = Integer.parseInt(f[i]);
        }

        Shape inputShape() { return Shape.of(n, h, w, cin); }
        Shape filterShape() { return Shape.of(kh, kw, cin / groups, cout); }
        Shape outputShape() { return Shape.of(n, oh, ow, cout); }

        /** The options as the CSV states them (SAME and VALID by name, EXPLICIT with its pads). */
        Conv2dOptions options() {
            Padding p = padding.equals("EXPLICIT") ? Padding.explicit(pt, pb, pl, pr) : Padding.parse(padding);
            return Conv2dOptions.builder().strides(sh, sw).dilations(dh, dw).padding(p).groups(groups).flipKernel(flip).build();
        }

        Path file(String kind) { return dir().resolve(name + "." + kind + ".f32"); }

        float[] read(String kind) throws IOException { return readFloats(file(kind)); }

        @Override
        public String toString() { return name; }
    }

    static List<Case> all() throws IOException {
        List<String> lines = Files.readAllLines(dir().resolve("cases.csv"));
        List<Case> out = new ArrayList<>();
        for (String l : lines.subList(1, lines.size())) {
            if (!l.isBlank()) out.add(new Case(l.trim().split(",")));
        }
        return out;
    }

    static float[] readFloats(Path p) throws IOException {
        byte[] b = Files.readAllBytes(p);
        float[] f = new float[b.length / 4];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
        return f;
    }
}
