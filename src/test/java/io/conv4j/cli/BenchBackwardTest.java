package io.conv4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.conv4j.Conv2d;
import io.conv4j.Conv2dBackward;
import io.conv4j.Conv2dGradients;
import io.conv4j.Conv2dOptions;
import io.conv4j.Padding;
import io.conv4j.PreparedFilter;
import io.conv4j.Shape;
import io.conv4j.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bench --backward} as the peer harness's MODE=backward reads it (its README, "The conv4j peer"). */
class BenchBackwardTest {
    @TempDir Path dir;

    @Test
    void printsOnlyBwdRowsAndDumpsBothGradients() throws Exception {
        Path csv = dir.resolve("s.csv");
        Files.writeString(csv, "name,N,H,W,Cin,KH,KW,Cout,stride,padding\nsmall,2,9,8,3,3,3,5,2,SAME\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(new String[] {"bench", csv.toString(), "--threads", "1", "--backward",
                "--dump", dir.toString(), "--check-shapes", "small"},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, status, err.toString(StandardCharsets.UTF_8));
        String[] rows = out.toString(StandardCharsets.UTF_8).strip().split("\n");
        assertEquals(1, rows.length, out.toString(StandardCharsets.UTF_8));
        assertTrue(rows[0].startsWith("conv4j_bwd,1,small,"), rows[0]);

        // the dumps are the gradients for the harness's x, w and dY, computed independently here
        Shape xs = Shape.of(2, 9, 8, 3), ws = Shape.of(3, 3, 3, 5), ys = Shape.of(2, 5, 4, 5);
        Conv2dOptions o = Conv2dOptions.builder().strides(2, 2).padding(Padding.SAME).build();
        try (Tensor x = Tensor.fromArray(pattern(xs, 37, 11, 101, 50, 50f), xs);
             Tensor w = Tensor.fromArray(pattern(ws, 53, 7, 97, 48, 480f), ws);
             Tensor dy = Tensor.fromArray(pattern(ys, 29, 3, 89, 44, 44f), ys);
             PreparedFilter pf = Conv2d.prepare(w, null, o); Conv2dGradients g = Conv2dGradients.allocate(xs, ws, false)) {
            Conv2dBackward.backward(x, pf, null, dy, g); // what the conv4j_bwd row times
            assertArrayEquals(g.gradInput().toArray(), read(dir.resolve("conv4j_bwd__small.dx.f32")));
            assertArrayEquals(g.gradFilter().toArray(), read(dir.resolve("conv4j_bwd__small.dw.f32")));
        }
    }

    private static float[] pattern(Shape s, long a, long b, long m, long c, float d) {
        float[] f = new float[(int) s.numElements()];
        for (long i = 0; i < f.length; i++) f[(int) i] = (float) (((i * a + b) % m) - c) / d;
        return f;
    }

    private static float[] read(Path p) throws Exception {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        float[] f = new float[b.remaining() / 4];
        b.asFloatBuffer().get(f);
        return f;
    }
}
