package io.conv4j;

import static io.conv4j.BadInputTest.refused;

import io.conv4j.internal.NativeCore;
import org.junit.jupiter.api.Test;

/**
 * Bad input to the rank-generic API: ranks that differ between input, filter and options,
 * per-axis lists of the wrong length, mixed dtypes, float64 tensors given to float32-only classes.
 * Each is an exception naming the parameter and the values, thrown before native code runs
 * (the native allocation count does not move).
 */
class NdBadInputTest {
    private static void refusedBeforeNative(String part, org.junit.jupiter.api.function.Executable call) {
        long before = NativeCore.allocatedBytes();
        refused(IllegalArgumentException.class, part, call);
        if (NativeCore.allocatedBytes() != before) throw new AssertionError("native memory moved while refusing: " + part);
    }

    @Test
    void rankMismatches() {
        ConvOptions o = ConvOptions.defaults();
        refused(IllegalArgumentException.class, "filter must have rank 5 [K1..K3,Cin/groups,Cout] for an input of rank 5",
                () -> Conv.outputShape(Shape.of(1, 4, 4, 4, 2), Shape.of(3, 3, 2, 2), o));
        refused(IllegalArgumentException.class, "input must have rank 3, 4 or 5",
                () -> Conv.outputShape(Shape.of(1, 4, 4, 4, 4, 2), Shape.of(3, 3, 3, 3, 2, 2), o));
        refused(IllegalArgumentException.class, "input must have rank 3, 4 or 5",
                () -> Conv.outputShape(Shape.of(4, 2), Shape.of(2, 2), o));
    }

    @Test
    void perAxisListsOfTheWrongLength() {
        Shape in = Shape.of(1, 8, 8, 8, 2), f = Shape.of(3, 3, 3, 2, 4);
        refused(IllegalArgumentException.class, "strides have 2 values but the input [1, 8, 8, 8, 2] has 3 spatial axes",
                () -> Conv.outputShape(in, f, ConvOptions.builder().strides(2, 2).build()));
        refused(IllegalArgumentException.class, "dilations have 1 values but the input [1, 8, 8, 8, 2] has 3 spatial axes",
                () -> Conv.outputShape(in, f, ConvOptions.builder().dilations(2).build()));
        refused(IllegalArgumentException.class, "padding 1,1,1,1 has 4 numbers but a 3-D convolution needs 6",
                () -> Conv.outputShape(in, f, ConvOptions.builder().padding(Padding.explicit(1, 1, 1, 1)).build()));
        refused(IllegalArgumentException.class, "explicit padding needs two numbers (begin, end) per spatial axis, got 3",
                () -> Padding.explicit(new long[] {1, 2, 3}));
        refused(IllegalArgumentException.class, "strides must be >= 1, got [1, 0]", () -> ConvOptions.builder().strides(1, 0));
        refused(IllegalArgumentException.class, "output padding has 1 values but the input [1, 4, 4, 4, 4] has 3 spatial axes",
                () -> Conv.transposeOutputShape(Shape.of(1, 4, 4, 4, 4), f, ConvOptions.defaults(), 1));
        refused(IllegalArgumentException.class, "output padding 1 (spatial axis 0) with SAME padding",
                () -> Conv.transposeOutputShape(Shape.of(1, 4, 4), Shape.of(3, 2, 4), ConvOptions.builder().strides(2)
                        .padding(Padding.SAME).build(), 1));
        if (!Conv.transposeOutputShape(Shape.of(1, 4, 4), Shape.of(3, 2, 4), ConvOptions.builder().strides(2).padding(Padding.SAME)
                .build()).equals(Shape.of(1, 8, 2))) {
            throw new AssertionError("SAME transposed output is not input x stride");
        }
        refused(IllegalArgumentException.class, "output padding 2 (spatial axis 0) must be in [0, max(stride 2, dilation 1))",
                () -> Conv.transposeOutputShape(Shape.of(1, 4, 4), Shape.of(3, 2, 4), ConvOptions.builder().strides(2).build(), 2));
    }

    @Test
    void mixedDTypes() {
        try (Tensor x = Tensor.allocate(DType.FLOAT64, Shape.of(1, 8, 2)); Tensor w = Tensor.allocate(Shape.of(3, 2, 4));
             Tensor w64 = Tensor.allocate(DType.FLOAT64, Shape.of(3, 2, 4)); Tensor b = Tensor.allocate(Shape.of(4));
             Tensor dy = Tensor.allocate(Shape.of(1, 6, 4))) {
            refusedBeforeNative("tensors of one call must have one dtype, got float64 and float32",
                    () -> Conv.conv(x, w, null, ConvOptions.defaults()));
            refusedBeforeNative("tensors of one call must have one dtype, got float64 and float32",
                    () -> Conv.conv(x, w64, b, ConvOptions.defaults()));
            refusedBeforeNative("tensors of one call must have one dtype, got float32 and float64",
                    () -> Conv.gradInput(dy, w64, x.shape(), ConvOptions.defaults()));
            refusedBeforeNative("tensors of one call must have one dtype, got float64 and float32",
                    () -> Conv.gradFilter(x, dy, w.shape(), ConvOptions.defaults()));
            refused(IllegalStateException.class, "tensor is float64, this method is for float32 tensors", x::toArray);
            refused(IllegalStateException.class, "tensor is float32, this method is for float64 tensors", w::toDoubleArray);
            refused(IllegalArgumentException.class, "dtype float64 does not match float32", () -> w.copyFrom(w64));
        }
    }

    @Test
    void float64IntoFloat32OnlyClassesIsRefused() {
        try (Tensor x = Tensor.allocate(DType.FLOAT64, Shape.of(1, 8, 8, 2)); Tensor w = Tensor.allocate(DType.FLOAT64, Shape.of(3, 3, 2, 4));
             Tensor dy = Tensor.allocate(DType.FLOAT64, Shape.of(1, 6, 6, 4))) {
            refused(IllegalArgumentException.class, "filter is float64; this class runs float32 tensors",
                    () -> Conv2d.prepare(w, null, Conv2dOptions.defaults()));
            refused(IllegalArgumentException.class, "gradOutput is float64; this class runs float32 tensors",
                    () -> Conv2dBackward.gradInput(dy, w, x.shape(), Conv2dOptions.defaults()));
            // the 2-D forward call itself hands float64 to the N-d engine
            try (Tensor y = Conv2d.conv2d(x, w, Conv2dOptions.defaults())) {
                if (y.dtype() != DType.FLOAT64 || !y.shape().equals(Shape.of(1, 6, 6, 4))) throw new AssertionError(y.toString());
            }
        }
    }

    @Test
    void algorithmsThatDoNotExistForTheDTypeOrRank() {
        refused(IllegalArgumentException.class, "algorithm WINOGRAD_4X4 is not available for a 2-D float64 convolution",
                () -> Conv.explain(Shape.of(1, 8, 8, 2), Shape.of(3, 3, 2, 2), ConvOptions.builder().algorithm(Algorithm.WINOGRAD_4X4).build(),
                        DType.FLOAT64));
        refused(IllegalArgumentException.class, "algorithm FFT is not available for a 3-D float32 convolution",
                () -> Conv.outputShape(Shape.of(1, 8, 8, 8, 2), Shape.of(3, 3, 3, 2, 2), ConvOptions.builder().algorithm(Algorithm.FFT).build()));
    }

    /** The transposed convolution and the calls into a caller's output refuse ranks, lists and dtypes as the forward call does. */
    @Test
    void transposeAndOutputsRefuseMismatches() {
        ConvOptions o = ConvOptions.builder().strides(2).build();
        try (Tensor x = Tensor.allocate(Shape.of(1, 4, 6)); Tensor w = Tensor.allocate(Shape.of(3, 2, 6));
             Tensor w3 = Tensor.allocate(Shape.of(3, 3, 2, 6)); Tensor b64 = Tensor.allocate(DType.FLOAT64, Shape.of(2));
             Tensor y64 = Tensor.allocate(DType.FLOAT64, Shape.of(1, 1, 6)); Tensor dy = Tensor.allocate(Shape.of(1, 2, 6));
             Tensor dw64 = Tensor.allocate(DType.FLOAT64, Shape.of(3, 2, 6))) {
            refusedBeforeNative("filter must have rank 3 for an input of rank 3, got shape [3, 3, 2, 6]",
                    () -> Conv.transpose(x, w3, null, o, 0));
            refusedBeforeNative("output shape [1, 9, 9, 2] of a transposed convolution must have rank 3 like the input [1, 4, 6]",
                    () -> Conv.transpose(x, w, null, o, Shape.of(1, 9, 9, 2)));
            refusedBeforeNative("output padding has 2 values but the input [1, 4, 6] has 1 spatial axes",
                    () -> Conv.transpose(x, w, null, o, 0, 0));
            refusedBeforeNative("strides and dilations need 1 values each for the input [1, 4, 6]",
                    () -> Conv.transpose(x, w, null, ConvOptions.builder().strides(2, 2).build(), Shape.of(1, 9, 2)));
            refusedBeforeNative("tensors of one call must have one dtype, got float32 and float64",
                    () -> Conv.transpose(x, w, b64, o, 0));
            refusedBeforeNative("tensors of one call must have one dtype, got float32 and float64",
                    () -> Conv.conv(x, w, null, ConvOptions.builder().strides(4).build(), y64));
            refusedBeforeNative("tensors of one call must have one dtype, got float32 and float64",
                    () -> Conv.gradFilter(x, dy, w.shape(), o, dw64));
        }
    }
}
