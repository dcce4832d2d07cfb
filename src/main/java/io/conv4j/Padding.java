package io.conv4j;

import java.util.Objects;

/**
 * Padding of a convolution, in TensorFlow's sense.
 *
 * <ul>
 *   <li>{@link #VALID}: no padding; windows lie wholly inside the input.
 *   <li>{@link #SAME}: output size = ceil(input / stride); total pad =
 *       max((out - 1) * stride + (k - 1) * dilation + 1 - input, 0), split with the odd pixel at the
 *       bottom/right (so it can be asymmetric). ONNX calls it SAME_UPPER; {@link #parse} takes both names.
 *   <li>{@link #SAME_LOWER}: ONNX's other SAME: the same output size and total pad, with the odd
 *       pixel at the top/left (the beginning of each axis).
 *   <li>{@link #explicit}: the given non-negative pads, begin and end per spatial axis in axis
 *       order: {@code explicit(top, bottom, left, right)} in 2-D, {@code explicit(begin, end)} in
 *       1-D, six numbers (depth, height, width) in 3-D.
 * </ul>
 * Padded positions read as zero.
 */
public final class Padding {
    /** How the pads are determined. */
    public enum Kind { VALID, SAME, SAME_LOWER, EXPLICIT }

    public static final Padding VALID = new Padding(Kind.VALID, new long[0]);
    public static final Padding SAME = new Padding(Kind.SAME, new long[0]);
    /** ONNX's name for {@link #SAME}: the odd pixel of padding at the end of each axis. */
    public static final Padding SAME_UPPER = SAME;
    /** SAME's output size and total pad with the odd pixel at the beginning of each axis (ONNX's {@code auto_pad=SAME_LOWER}). */
    public static final Padding SAME_LOWER = new Padding(Kind.SAME_LOWER, new long[0]);

    private final Kind kind;
    private final long[] pads; // begin, end per spatial axis (EXPLICIT only)

    private Padding(Kind kind, long[] pads) {
        this.kind = kind;
        this.pads = pads;
    }

    /** Explicit 2-D pads; each must be non-negative. */
    public static Padding explicit(long top, long bottom, long left, long right) {
        if (top < 0 || bottom < 0 || left < 0 || right < 0) {
            throw new IllegalArgumentException("padding must be non-negative, got top=" + top + " bottom=" + bottom
                    + " left=" + left + " right=" + right);
        }
        return new Padding(Kind.EXPLICIT, new long[] {top, bottom, left, right});
    }

    /**
     * Explicit pads of any rank: begin and end for each spatial axis in axis order (2 numbers for
     * 1-D, 4 for 2-D, 6 for 3-D); each must be non-negative.
     */
    public static Padding explicit(long... beginEndPerAxis) {
        Objects.requireNonNull(beginEndPerAxis, "padding");
        if (beginEndPerAxis.length == 0 || beginEndPerAxis.length % 2 != 0) {
            throw new IllegalArgumentException("explicit padding needs two numbers (begin, end) per spatial axis, got "
                    + beginEndPerAxis.length + " numbers: " + java.util.Arrays.toString(beginEndPerAxis));
        }
        for (long v : beginEndPerAxis) {
            if (v < 0) throw new IllegalArgumentException("padding must be non-negative, got " + java.util.Arrays.toString(beginEndPerAxis));
        }
        return new Padding(Kind.EXPLICIT, beginEndPerAxis.clone());
    }

    /**
     * Parses {@code VALID}, {@code SAME} (or its ONNX name {@code SAME_UPPER}), {@code SAME_LOWER}
     * (any case) or begin,end per axis ({@code T,B,L,R} in 2-D).
     */
    public static Padding parse(String text) {
        Objects.requireNonNull(text, "padding");
        String t = text.trim();
        if (t.equalsIgnoreCase("VALID")) return VALID;
        if (t.equalsIgnoreCase("SAME") || t.equalsIgnoreCase("SAME_UPPER")) return SAME;
        if (t.equalsIgnoreCase("SAME_LOWER")) return SAME_LOWER;
        String[] p = t.split("\\s*,\\s*");
        String usage = "padding must be VALID, SAME (SAME_UPPER), SAME_LOWER or T,B,L,R (two numbers, begin,end, per spatial axis), got \"" + text + "\"";
        if (p.length == 0 || p.length % 2 != 0 || p.length > 6) throw new IllegalArgumentException(usage);
        long[] v = new long[p.length];
        try {
            for (int i = 0; i < p.length; i++) v[i] = Long.parseLong(p[i]);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(usage);
        }
        return explicit(v);
    }

    /** Number of spatial axes explicit pads are given for (0 for VALID and the SAMEs, which fit any rank). */
    public int axes() {
        return pads.length / 2;
    }

    /** Explicit pad at the beginning of spatial axis {@code axis} (0 for VALID). */
    public long begin(int axis) {
        return kind == Kind.EXPLICIT ? pads[2 * axis] : 0;
    }

    /** Explicit pad at the end of spatial axis {@code axis} (0 for VALID). */
    public long end(int axis) {
        return kind == Kind.EXPLICIT ? pads[2 * axis + 1] : 0;
    }

    /** Whether the pads follow from the input size so that the output is ceil(input / stride): SAME or SAME_LOWER. */
    public boolean isSame() {
        return kind == Kind.SAME || kind == Kind.SAME_LOWER;
    }

    /** How the pads are determined. */
    public Kind kind() {
        return kind;
    }

    /** Explicit pads (0 for VALID; meaningless for the SAMEs, which depend on the input size). */
    public long top() {
        return pad2d(0);
    }

    public long bottom() {
        return pad2d(1);
    }

    public long left() {
        return pad2d(2);
    }

    public long right() {
        return pad2d(3);
    }

    private long pad2d(int i) {
        if (kind != Kind.EXPLICIT) return 0;
        if (pads.length != 4) {
            throw new IllegalArgumentException("padding " + this + " has " + axes() + " axes; a 2-D convolution needs 4 numbers"
                    + " (top, bottom, left, right)");
        }
        return pads[i];
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Padding)) return false;
        Padding p = (Padding) o;
        return kind == p.kind && java.util.Arrays.equals(pads, p.pads);
    }

    @Override
    public int hashCode() {
        return 31 * kind.hashCode() + java.util.Arrays.hashCode(pads);
    }

    @Override
    public String toString() {
        if (kind != Kind.EXPLICIT) return kind.name();
        StringBuilder b = new StringBuilder();
        for (long v : pads) b.append(b.length() == 0 ? "" : ",").append(v);
        return b.toString();
    }
}
