package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ReadOnlyBufferException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Every kind of bad argument is refused in Java, before native code runs, with the documented
 * exception type and a message naming the parameter and the values; the output is untouched.
 */
class BadInputTest {
    static final Shape IN = Shape.of(1, 6, 6, 4), F = Shape.of(3, 3, 4, 2);

    static <T extends Throwable> void refused(Class<T> type, String messagePart, Executable call) {
        T e = assertThrows(type, call);
        assertTrue(e.getMessage() != null && e.getMessage().contains(messagePart),
                () -> "message \"" + e.getMessage() + "\" lacks \"" + messagePart + "\"");
    }

    static void shapeRefused(Shape in, Shape f, Conv2dOptions o, String part) {
        refused(IllegalArgumentException.class, part, () -> Conv2d.outputShape(in, f, o));
        try (Tensor x = Tensor.allocate(in); Tensor w = Tensor.allocate(f)) {
            refused(IllegalArgumentException.class, part, () -> Conv2d.conv2d(x, w, o));
        }
    }

    @Test
    void shapesAndOptions() {
        Conv2dOptions d = Conv2dOptions.defaults();
        shapeRefused(Shape.of(6, 6, 4), F, d, "input must have rank 4");
        shapeRefused(IN, Shape.of(3, 3, 4), d, "filter must have rank 4");
        shapeRefused(IN, Shape.of(3, 3, 5, 2), d, "dimension 2 must be input channels / groups = 4/1 = 4, got 5");
        shapeRefused(IN, Shape.of(3, 3, 2, 3), Conv2dOptions.builder().groups(2).build(), "groups 2 does not divide the output channels 3");
        shapeRefused(IN, F, Conv2dOptions.builder().groups(3).build(), "groups 3 does not divide the input channels 4");
        shapeRefused(IN, Shape.of(7, 3, 4, 2), d, "kernel height 7 is larger than the padded input height 6");
        shapeRefused(IN, F, Conv2dOptions.builder().dilations(3, 1).build(), "(dilation 3, extent 7) is larger than the padded input height 6");
        shapeRefused(Shape.of(1, 0, 6, 4), F, d, "input height must be in [1, 2147483647], got 0");
        shapeRefused(IN, Shape.of(3, 3, 4, 0), d, "filter out-channels must be in [1, 2147483647], got 0");
        refused(IllegalArgumentException.class, "input height must be in [1, 2147483647], got 3000000000",
                () -> Conv2d.outputShape(Shape.of(1, 3_000_000_000L, 6, 4), F, d));
        refused(IllegalArgumentException.class, "strides must be >= 1, got 0,1", () -> Conv2dOptions.builder().strides(0, 1));
        refused(IllegalArgumentException.class, "dilations must be >= 1, got 1,-2", () -> Conv2dOptions.builder().dilations(1, -2));
        refused(IllegalArgumentException.class, "padding must be non-negative", () -> Padding.explicit(0, -1, 0, 0));
        refused(IllegalArgumentException.class, "groups must be >= 1, got 0", () -> Conv2dOptions.builder().groups(0));
        refused(IllegalArgumentException.class, "padding must be VALID, SAME (SAME_UPPER), SAME_LOWER or T,B,L,R", () -> Padding.parse("1,2,3"));
        refused(IllegalArgumentException.class, "negative", () -> Shape.of(1, -2, 3));
        refused(IllegalArgumentException.class, "more than 2^63-1 elements", () -> Shape.of(1L << 32, 1L << 32));
        refused(NullPointerException.class, "options", () -> Conv2d.outputShape(IN, F, null));
    }

    @Test
    void algorithmThatCannotRunTheCase() {
        try (Tensor x = Tensor.allocate(IN); Tensor w = Tensor.allocate(F)) {
            refused(IllegalArgumentException.class, "algorithm GEMM_DIRECT cannot run this convolution",
                    () -> Conv2d.conv2d(x, w, Conv2dOptions.builder().algorithm(Algorithm.GEMM_DIRECT).build()));
        }
    }

    @Test
    void biasAndOutput() {
        Conv2dOptions o = Conv2dOptions.defaults();
        try (Tensor x = Tensor.allocate(IN); Tensor w = Tensor.allocate(F); Tensor b3 = Tensor.allocate(3);
             Tensor y = Tensor.allocate(1, 4, 4, 2); Tensor wrong = Tensor.allocate(1, 4, 4, 3)) {
            refused(IllegalArgumentException.class, "bias must have shape [2], got [3]", () -> Conv2d.conv2d(x, w, b3, o));
            refused(IllegalArgumentException.class, "output must have shape [1, 4, 4, 2], got [1, 4, 4, 3]",
                    () -> Conv2d.conv2d(x, w, null, o, wrong));
            // an output view that maps two elements to one address
            Tensor overlapping = Tensor.wrap(y.buffer(), Shape.of(1, 4, 4, 2), new long[] {0, 4, 1, 1}, 0);
            refused(IllegalArgumentException.class, "output view overlaps itself", () -> Conv2d.conv2d(x, w, null, o, overlapping));
        }
    }

    @Test
    void aliasedAndReadOnlyOutput() {
        Conv2dOptions same = Conv2dOptions.builder().padding(Padding.SAME).build();
        ByteBuffer buf = ByteBuffer.allocateDirect(4 * 6 * 6 * 4).order(ByteOrder.nativeOrder());
        Tensor x = Tensor.wrap(buf, Shape.of(1, 6, 6, 4));
        try (Tensor w = Tensor.allocate(3, 3, 4, 4)) {
            Tensor aliased = Tensor.wrap(buf.duplicate().order(ByteOrder.nativeOrder()), Shape.of(1, 6, 6, 4));
            refused(IllegalArgumentException.class, "output memory overlaps the input", () -> Conv2d.conv2d(x, w, null, same, aliased));
            Tensor ro = Tensor.wrap(ByteBuffer.allocateDirect(4 * 144).order(ByteOrder.nativeOrder()).asReadOnlyBuffer()
                    .order(ByteOrder.nativeOrder()), Shape.of(1, 6, 6, 4));
            assertThrows(ReadOnlyBufferException.class, () -> Conv2d.conv2d(x, w, null, same, ro));
            assertThrows(ReadOnlyBufferException.class, () -> ro.set(1f, 0, 0, 0, 0));
        }
    }

    @Test
    void closedTensors() {
        Tensor x = Tensor.allocate(IN), w = Tensor.allocate(F), y = Tensor.allocate(1, 4, 4, 2);
        Conv2dOptions o = Conv2dOptions.defaults();
        Conv2d.conv2d(x, w, null, o, y); // fine while open
        w.close();
        refused(IllegalStateException.class, "filter tensor is closed", () -> Conv2d.conv2d(x, w, o));
        x.close();
        refused(IllegalStateException.class, "input tensor is closed", () -> Conv2d.conv2d(x, w, o));
        Tensor x2 = Tensor.allocate(IN), w2 = Tensor.allocate(F);
        y.close();
        refused(IllegalStateException.class, "output tensor is closed", () -> Conv2d.conv2d(x2, w2, null, o, y));
        refused(IllegalStateException.class, "tensor is closed", () -> y.get(0, 0, 0, 0));
        refused(IllegalStateException.class, "tensor is closed", y::toArray);
        Tensor view = x2.slice(1, 0, 2);
        x2.close();
        refused(IllegalStateException.class, "tensor is closed", view::toArray); // views share the memory
        w2.close();
        x2.close(); // idempotent
    }

    @Test
    void buffersAndViews() {
        refused(IllegalArgumentException.class, "heap ByteBuffer", () -> Tensor.wrap(ByteBuffer.allocate(64), Shape.of(16)));
        ByteOrder other = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        refused(IllegalArgumentException.class, "byte order", () -> Tensor.wrap(ByteBuffer.allocateDirect(64).order(other), Shape.of(16)));
        ByteBuffer small = ByteBuffer.allocateDirect(60).order(ByteOrder.nativeOrder());
        refused(IndexOutOfBoundsException.class, "reaches element 15 but the buffer holds 15 floats", () -> Tensor.wrap(small, Shape.of(16)));
        ByteBuffer b = ByteBuffer.allocateDirect(64).order(ByteOrder.nativeOrder());
        refused(IndexOutOfBoundsException.class, "reaches element 16", () -> Tensor.wrap(b, Shape.of(2, 2), new long[] {8, 1}, 7));
        refused(IllegalArgumentException.class, "stride 1 is negative", () -> Tensor.wrap(b, Shape.of(2, 2), new long[] {2, -1}, 4));
        refused(IllegalArgumentException.class, "offset must be non-negative", () -> Tensor.wrap(b, Shape.of(2), new long[] {1}, -1));
        refused(IndexOutOfBoundsException.class, "overflows",
                () -> Tensor.wrap(b, Shape.of(3, 2), new long[] {Long.MAX_VALUE / 2 + 1, 1}, 0));
        refused(IllegalArgumentException.class, "2 strides given for shape [4] of rank 1", () -> Tensor.wrap(b, Shape.of(4), new long[] {1, 1}, 0));
        refused(NullPointerException.class, "buffer", () -> Tensor.wrap(null, Shape.of(1)));
        try (Tensor t = Tensor.allocate(2, 3)) {
            assertThrows(IndexOutOfBoundsException.class, () -> t.slice(1, 2, 2));
            assertThrows(IndexOutOfBoundsException.class, () -> t.get(2, 0));
            refused(IllegalArgumentException.class, "not a permutation", () -> t.permute(0, 0));
            refused(IllegalArgumentException.class, "array of 5 floats does not match shape [2, 3]", () -> t.copyFrom(new float[5]));
            refused(IllegalStateException.class, "reshape needs a contiguous tensor", () -> t.permute(1, 0).reshape(Shape.of(6)));
        }
        refused(IllegalArgumentException.class, "exceeds the 2 GiB", () -> Tensor.allocate(1L << 29, 2));
    }

    @Test
    void arraysEntryPoints() {
        Conv2dOptions o = Conv2dOptions.defaults();
        refused(IllegalArgumentException.class, "input array has 10 floats but shape [1, 6, 6, 4] needs 144",
                () -> Conv2d.conv2d(new float[10], IN, new float[72], F, null, o));
        refused(IllegalArgumentException.class, "bias has 3 values but the filter has 2 output channels",
                () -> Conv2d.conv2d(new float[144], IN, new float[72], F, new float[3], o));
        float[][][][] ragged = new float[1][2][2][3];
        ragged[0][1][1] = new float[2];
        refused(IllegalArgumentException.class, "input[0][1][1] has length 2, expected 3 (ragged array)",
                () -> Conv2d.conv2d(ragged, new float[1][1][3][1]));
        float[][][][] holey = new float[1][2][2][3];
        holey[0][1] = null;
        refused(NullPointerException.class, "input[0][1]", () -> Conv2d.conv2d(holey, new float[1][1][3][1]));
        refused(NullPointerException.class, "filter", () -> Conv2d.conv2d(new float[1][2][2][3], null));
        assertEquals(Shape.of(1, 2, 2, 1), Shape.of(1, 2, 2, 1));
    }
}
