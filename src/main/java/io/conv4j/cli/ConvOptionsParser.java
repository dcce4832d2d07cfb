package io.conv4j.cli;

import io.conv4j.Activation;
import io.conv4j.Algorithm;
import io.conv4j.Conv2dOptions;
import io.conv4j.Padding;
import io.conv4j.Shape;
import java.util.Set;

/** The convolution options shared by the {@code conv} and {@code grad} commands. */
final class ConvOptionsParser {
    private ConvOptionsParser() {}

    static final Set<String> VALUED = Set.of("input", "input-shape", "filter", "filter-shape", "bias", "strides", "dilations",
            "padding", "groups", "activation", "algorithm", "output");
    static final Set<String> SWITCHES = Set.of("flip", "exact");

    static Conv2dOptions options(Args a) throws UsageException {
        Conv2dOptions.Builder b = Conv2dOptions.builder();
        long[] s = a.pair("strides", 1), d = a.pair("dilations", 1);
        b.strides(s[0], s[1]).dilations(d[0], d[1]);
        b.groups(a.positiveLong("groups", 1));
        try {
            if (a.get("padding") != null) b.padding(Padding.parse(a.get("padding")));
            if (a.get("activation") != null) b.activation(Activation.parse(a.get("activation")));
            if (a.get("algorithm") != null) b.algorithm(Algorithm.parse(a.get("algorithm")));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        return b.flipKernel(a.has("flip")).exactOnly(a.has("exact")).build();
    }

    /** A 4-d shape option, or null if it is not given (a .npy file's header may give it). */
    static Shape shape4(Args a, String name) throws UsageException {
        if (a.get(name) == null) return null;
        Shape s;
        try {
            s = Shape.parse(a.get(name));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--" + name + ": " + e.getMessage());
        }
        if (s.rank() != 4) throw new UsageException("--" + name + " must have 4 dimensions, got " + s);
        return s;
    }
}
