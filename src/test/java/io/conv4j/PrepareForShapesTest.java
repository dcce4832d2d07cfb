package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.conv4j.internal.NativeCore;
import org.junit.jupiter.api.Test;

/**
 * {@link PreparedFilter#prepareFor} plans from shapes alone, as {@link Conv2d#explain} does: a
 * bad shape gets the same clear refusal as a convolution, and a shape too large for one direct
 * buffer (which explain plans fine) is prepared without allocating anything of its size.
 */
class PrepareForShapesTest {
    static final Conv2dOptions SAME = Conv2dOptions.builder().padding(Padding.SAME).build();

    @Test
    void badShapesAreRefusedByName() {
        try (Tensor w = Tensor.allocate(3, 3, 4, 4); PreparedFilter pf = Conv2d.prepare(w, null, SAME)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> pf.prepareFor(Shape.of(8, 8, 4)));
            assertTrue(e.getMessage().contains("input must have rank 4"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> pf.prepareFor(Shape.of(1, 8, 8, 5)));
            assertTrue(e.getMessage().contains("input channels"), e.getMessage());
            NullPointerException n = assertThrows(NullPointerException.class, () -> pf.prepareFor(null));
            assertTrue(String.valueOf(n.getMessage()).contains("input shape"), n.getMessage());
        }
    }

    @Test
    void shapesBeyondOneDirectBufferArePlannedWithoutAllocatingThem() {
        // 4096 x 4096 x 64 floats = 4 GiB: more than a direct buffer holds, far more than the transform
        Shape huge = Shape.of(1, 4096, 4096, 64), fs = Shape.of(3, 3, 64, 64);
        String explained = Conv2d.explain(huge, fs, SAME);
        try (Tensor w = Tensor.fromArray(ConvCase.data(fs.numElements(), 1), fs); PreparedFilter pf = Conv2d.prepare(w, null, SAME)) {
            long before = NativeCore.allocatedBytes();
            assertSame(pf, pf.prepareFor(huge));
            long grown = NativeCore.allocatedBytes() - before;
            assertTrue(grown < 64L << 20, "prepareFor allocated " + grown + " bytes for a plan (explain: " + explained + ")");
            // whatever it prepared is what a call of a smaller input with the same plan reuses: prepared once
            long again = NativeCore.allocatedBytes();
            pf.prepareFor(huge);
            assertEquals(again, NativeCore.allocatedBytes(), "a second prepareFor of the same shape computes nothing new");
        }
    }
}
