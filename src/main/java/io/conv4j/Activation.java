package io.conv4j;

import java.util.Locale;

/** An activation fused into the convolution: applied after the bias, before the output is written. */
public enum Activation {
    /** The identity. */
    NONE(0),
    /** max(x, 0) as {@link Math#max(float, float)}: NaN stays NaN, -0.0 becomes +0.0. */
    RELU(1),
    /** min(max(x, 0), 6) as {@link Math#min(float, float)} and {@code max}: NaN stays NaN, +Inf becomes 6. */
    RELU6(2);

    final int nativeId;

    Activation(int nativeId) {
        this.nativeId = nativeId;
    }

    /** Parses {@code none}, {@code relu} or {@code relu6} (any case). */
    public static Activation parse(String text) {
        try {
            return valueOf(text.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException("activation must be none, relu or relu6, got \"" + text + "\"");
        }
    }

    /** Applies the activation to one value (what the native epilogue does, for references). */
    public float apply(float x) {
        switch (this) {
            case RELU: return Math.max(x, 0f);
            case RELU6: return Math.min(Math.max(x, 0f), 6f);
            default: return x;
        }
    }
}
