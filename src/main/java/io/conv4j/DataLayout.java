package io.conv4j;

/**
 * The memory order of a convolution's tensors, named in {@link Conv2dOptions.Builder#layout}.
 * The layout covers all three tensors together, so a filter in the other order is refused by its
 * shape (its input-channel dimension does not match the input) rather than read wrongly; only a
 * filter whose dimensions are equal in both orders cannot be told apart.
 */
public enum DataLayout {
    /** Channels last (TensorFlow, the default): input {@code [N,H,W,C]}, filter HWIO {@code [KH,KW,Cin/groups,Cout]}, output {@code [N,OH,OW,Cout]}. */
    NHWC,
    /**
     * Channels first (PyTorch, ONNX): input {@code [N,C,H,W]}, filter OIHW {@code [Cout,Cin/groups,KH,KW]}, output
     * {@code [N,Cout,OH,OW]}. conv4j reads such tensors through permuted views (no copy of the input)
     * and writes the output by a cache-blocked transpose from its channels-last result.
     */
    NCHW;

    /** The {@code [N,H,W,C]} order of an input or output shape given in this layout. */
    Shape toNhwc(Shape s) {
        return this == NHWC || s.rank() != 4 ? s : Shape.of(s.size(0), s.size(2), s.size(3), s.size(1));
    }

    /** The HWIO order of a filter shape given in this layout. */
    Shape toHwio(Shape s) {
        return this == NHWC || s.rank() != 4 ? s : Shape.of(s.size(2), s.size(3), s.size(1), s.size(0));
    }

    /** An {@code [N,H,W,C]} shape in this layout. */
    Shape fromNhwc(Shape s) {
        return this == NHWC ? s : Shape.of(s.size(0), s.size(3), s.size(1), s.size(2));
    }
}
