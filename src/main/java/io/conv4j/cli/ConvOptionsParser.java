package io.conv4j.cli;

import io.conv4j.Activation;
import io.conv4j.Algorithm;
import io.conv4j.ConvOptions;
import io.conv4j.DType;
import io.conv4j.Padding;
import io.conv4j.Shape;
import java.util.Set;

/** The convolution options shared by the {@code conv}, {@code grad} and {@code transpose} commands. */
final class ConvOptionsParser {
    private ConvOptionsParser() {}

    static final Set<String> VALUED = Set.of("input", "input-shape", "filter", "filter-shape", "bias", "strides", "dilations",
            "padding", "groups", "activation", "algorithm", "output", "dtype");
    static final Set<String> SWITCHES = Set.of("flip", "exact");

    /**
     * The options of a convolution with {@code rank} spatial axes: {@code --strides} and
     * {@code --dilations} take one value per axis (or one value for every axis), {@code --padding}
     * VALID, SAME (SAME_UPPER), SAME_LOWER or two numbers (begin,end) per axis in axis order.
     */
    static ConvOptions options(Args a, int rank) throws UsageException {
        return options(a, rank, true);
    }

    /** As {@link #options(Args, int)}, without the activation when {@code withActivation} is false (what gradients take). */
    static ConvOptions options(Args a, int rank, boolean withActivation) throws UsageException {
        ConvOptions.Builder b = ConvOptions.builder().strides(perAxis(a, "strides", rank, 1, 1))
                .dilations(perAxis(a, "dilations", rank, 1, 1));
        b.groups(a.positiveLong("groups", 1));
        try {
            if (a.get("padding") != null) {
                Padding p = Padding.parse(a.get("padding"));
                if (p.kind() == Padding.Kind.EXPLICIT && p.axes() != rank) {
                    throw new UsageException("--padding has " + 2 * p.axes() + " numbers but a " + rank + "-D convolution needs "
                            + 2 * rank + " (begin,end per spatial axis), got \"" + a.get("padding") + "\"");
                }
                b.padding(p);
            }
            if (a.get("activation") != null) {
                Activation act = Activation.parse(a.get("activation"));
                if (withActivation) b.activation(act);
            }
            if (a.get("algorithm") != null) b.algorithm(Algorithm.parse(a.get("algorithm")));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        return b.flipKernel(a.has("flip")).exactOnly(a.has("exact")).build();
    }

    /** {@code --NAME v1,...,vRank} (or one value for every axis), each >= min; all {@code dflt} when absent. */
    static long[] perAxis(Args a, String name, int rank, long min, long dflt) throws UsageException {
        long[] v = new long[rank];
        java.util.Arrays.fill(v, dflt);
        String text = a.get(name);
        if (text == null) return v;
        String[] p = text.split("\\s*,\\s*");
        if (p.length != 1 && p.length != rank) {
            throw new UsageException("--" + name + " has " + p.length + " values but the convolution has " + rank
                    + " spatial axes, got \"" + text + "\"");
        }
        for (int i = 0; i < rank; i++) {
            try {
                v[i] = Long.parseLong(p[p.length == 1 ? 0 : i].trim());
            } catch (NumberFormatException e) {
                throw new UsageException("--" + name + " must be integers, one per spatial axis, got \"" + text + "\"");
            }
            if (v[i] < min) throw new UsageException("--" + name + " values must be >= " + min + ", got \"" + text + "\"");
        }
        return v;
    }

    /** {@code --dtype float32|float64} (float32 when absent): the element type of every file. */
    static DType dtype(Args a) throws UsageException {
        try {
            return a.get("dtype") == null ? DType.FLOAT32 : DType.parse(a.get("dtype"));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--dtype: " + e.getMessage());
        }
    }

    /** A shape option of a 1-D, 2-D or 3-D convolution's tensor (3 to 5 dimensions), or null if not given. */
    static Shape shapeN(Args a, String name) throws UsageException {
        if (a.get(name) == null) return null;
        Shape s;
        try {
            s = Shape.parse(a.get(name));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--" + name + ": " + e.getMessage());
        }
        if (s.rank() < 3 || s.rank() > 5) {
            throw new UsageException("--" + name + " must have 3, 4 or 5 dimensions ([N,W,C], [N,H,W,C] or [N,D,H,W,C]), got " + s);
        }
        return s;
    }

    /**
     * The input (3, 4 or 5 dimensions, which set the rank) and filter files of a command, of dtype
     * {@code dt}: {@code [0]} input, {@code [1]} filter (checked before any data is read).
     */
    static FloatFile[] inputAndFilter(Args a, DType dt) throws UsageException {
        FloatFile in = FloatFile.open("input", a.require("input"), shapeN(a, "input-shape"), "--input-shape", 0, dt);
        int rank = in.shape.rank() - 2;
        FloatFile filter = FloatFile.open("filter", a.require("filter"), shapeN(a, "filter-shape"), "--filter-shape", rank + 2, dt);
        return new FloatFile[] {in, filter};
    }
}
