package io.conv4j;

import java.util.Objects;

/**
 * Padding of a convolution, in TensorFlow's sense.
 *
 * <ul>
 *   <li>{@link #VALID}: no padding; windows lie wholly inside the input.
 *   <li>{@link #SAME}: output size = ceil(input / stride); total pad =
 *       max((out - 1) * stride + (k - 1) * dilation + 1 - input, 0), split with the odd pixel at the
 *       bottom/right (so it can be asymmetric).
 *   <li>{@link #explicit}: the given non-negative top, bottom, left and right pads.
 * </ul>
 * Padded positions read as zero.
 */
public final class Padding {
    /** How the pads are determined. */
    public enum Kind { VALID, SAME, EXPLICIT }

    public static final Padding VALID = new Padding(Kind.VALID, 0, 0, 0, 0);
    public static final Padding SAME = new Padding(Kind.SAME, 0, 0, 0, 0);

    private final Kind kind;
    private final long top, bottom, left, right;

    private Padding(Kind kind, long top, long bottom, long left, long right) {
        this.kind = kind;
        this.top = top;
        this.bottom = bottom;
        this.left = left;
        this.right = right;
    }

    /** Explicit pads; each must be non-negative. */
    public static Padding explicit(long top, long bottom, long left, long right) {
        if (top < 0 || bottom < 0 || left < 0 || right < 0) {
            throw new IllegalArgumentException("padding must be non-negative, got top=" + top + " bottom=" + bottom
                    + " left=" + left + " right=" + right);
        }
        return new Padding(Kind.EXPLICIT, top, bottom, left, right);
    }

    /** Parses {@code VALID}, {@code SAME} (any case) or {@code T,B,L,R}. */
    public static Padding parse(String text) {
        Objects.requireNonNull(text, "padding");
        String t = text.trim();
        if (t.equalsIgnoreCase("VALID")) return VALID;
        if (t.equalsIgnoreCase("SAME")) return SAME;
        String[] p = t.split("\\s*,\\s*");
        if (p.length != 4) throw new IllegalArgumentException("padding must be VALID, SAME or T,B,L,R, got \"" + text + "\"");
        try {
            return explicit(Long.parseLong(p[0]), Long.parseLong(p[1]), Long.parseLong(p[2]), Long.parseLong(p[3]));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("padding must be VALID, SAME or T,B,L,R, got \"" + text + "\"");
        }
    }

    public Kind kind() {
        return kind;
    }

    /** Explicit pads (0 for VALID; meaningless for SAME, which depends on the input size). */
    public long top() {
        return top;
    }

    public long bottom() {
        return bottom;
    }

    public long left() {
        return left;
    }

    public long right() {
        return right;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Padding)) return false;
        Padding p = (Padding) o;
        return kind == p.kind && top == p.top && bottom == p.bottom && left == p.left && right == p.right;
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, top, bottom, left, right);
    }

    @Override
    public String toString() {
        return kind == Kind.EXPLICIT ? top + "," + bottom + "," + left + "," + right : kind.name();
    }
}
