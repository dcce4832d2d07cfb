package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every case of ../shared/golden_nd (ranks 1-3, float32 and float64) through the public {@link Conv} API. */
class GoldenNdTest {
    static List<GoldenNd.Case> cases() throws IOException {
        return GoldenNd.all();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void forward(GoldenNd.Case c) throws IOException {
        try (Tensor x = c.tensor("input", c.input); Tensor w = c.tensor("filter", c.filter);
             Tensor b = c.hasBias ? c.tensor("bias", Shape.of(c.output.size(c.rank + 1))) : null;
             Tensor y = Conv.conv(x, w, b, c.options())) {
            assertEquals(c.output, y.shape());
            assertEquals(c.dtype, y.dtype());
            GoldenNd.assertClose(c, "output", c.read("output"), GoldenNd.values(y));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradients(GoldenNd.Case c) throws IOException {
        try (Tensor x = c.tensor("input", c.input); Tensor w = c.tensor("filter", c.filter);
             Tensor dy = c.tensor("gradout", c.output);
             Tensor dx = Conv.gradInput(dy, w, c.input, c.options());
             Tensor dw = Conv.gradFilter(x, dy, c.filter, c.options());
             Tensor db = Conv.gradBias(dy)) {
            GoldenNd.assertClose(c, "gradinput", c.read("gradinput"), GoldenNd.values(dx));
            GoldenNd.assertClose(c, "gradfilter", c.read("gradfilter"), GoldenNd.values(dw));
            if (c.hasBias) GoldenNd.assertClose(c, "gradbias", c.read("gradbias"), GoldenNd.values(db));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void transposedIsTheInputGradient(GoldenNd.Case c) throws IOException {
        try (Tensor w = c.tensor("filter", c.filter); Tensor dy = c.tensor("gradout", c.output);
             Tensor t = Conv.transpose(dy, w, null, c.options(), c.input)) {
            GoldenNd.assertClose(c, "transpose", c.read("gradinput"), GoldenNd.values(t));
        }
    }
}
