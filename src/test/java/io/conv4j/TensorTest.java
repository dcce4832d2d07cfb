package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.conv4j.internal.NativeCore;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** Tensors: allocation, copies, views sharing memory, closing. */
class TensorTest {
    @Test
    void allocateIsZeroedAlignedAndCopiesRoundTrip() {
        try (Tensor t = Tensor.allocate(2, 3, 4)) {
            assertEquals(Shape.of(2, 3, 4), t.shape());
            assertArrayEquals(new long[] {12, 4, 1}, t.strides());
            assertArrayEquals(new float[24], t.toArray());
            assertEquals(0, NativeCore.address(t.buffer()) % 64, "conv4j memory is 64-byte aligned");
            float[] d = ConvCase.data(24, 1);
            t.copyFrom(d);
            assertArrayEquals(d, t.toArray());
            assertEquals(d[(1 * 3 + 2) * 4 + 3], t.get(1, 2, 3));
            t.set(42f, 0, 1, 2);
            assertEquals(42f, t.get(0, 1, 2));
        }
    }

    @Test
    void viewsShareMemory() {
        try (Tensor t = Tensor.fromArray(ConvCase.data(24, 2), Shape.of(2, 3, 4))) {
            Tensor p = t.permute(2, 0, 1);
            assertEquals(Shape.of(4, 2, 3), p.shape());
            assertEquals(t.get(1, 2, 3), p.get(3, 1, 2));
            Tensor s = t.slice(2, 1, 2);
            s.set(-1f, 1, 1, 0);
            assertEquals(-1f, t.get(1, 1, 1));
            assertFalse(s.isContiguous());
            Tensor c = s.contiguous();
            assertTrue(c.isContiguous());
            assertArrayEquals(s.toArray(), c.toArray());
            c.close();
            assertTrue(t.isOpen(), "closing a copy leaves the original open");
            assertSame(t, t.contiguous());
            Tensor r = t.reshape(Shape.of(6, 4));
            assertEquals(t.get(1, 0, 3), r.get(3, 3));
            float[] perm = p.toArray();
            Tensor back = Tensor.allocate(4, 2, 3);
            back.copyFrom(p);
            assertArrayEquals(perm, back.toArray());
            back.close();
        }
    }

    @Test
    void wrapSeesCallerWritesAndNeverFreesCallerMemory() {
        ByteBuffer b = ByteBuffer.allocateDirect(40).order(ByteOrder.nativeOrder());
        Tensor t = Tensor.wrap(b, Shape.of(10));
        b.putFloat(12, 3.5f);
        assertEquals(3.5f, t.get(3));
        t.close();
        assertFalse(t.isOpen());
        assertEquals(3.5f, b.getFloat(12), "the caller's buffer stays usable after close");
    }

    @Test
    void closeFreesNativeMemoryUnlessTheBufferWasHandedOut() {
        // (the Cleaner may free other memory at any moment, so only a decrease can be asserted)
        Tensor t = Tensor.allocate(1000);
        long before = NativeCore.allocatedBytes();
        t.close();
        assertTrue(NativeCore.allocatedBytes() <= before - 4000, "close frees at once");
        Tensor u = Tensor.allocate(1000);
        ByteBuffer held = u.buffer();
        u.close();
        held.putFloat(3996, 1f); // a handed-out buffer stays valid after close: only the GC frees it
        assertEquals(1f, held.getFloat(3996));
    }

    @Test
    void nestedArraysRoundTripContiguousAndStrided() {
        float[][][][] a = new float[2][3][4][5];
        float v = 0;
        for (float[][][] x : a) for (float[][] y : x) for (float[] z : y) for (int i = 0; i < 5; i++) z[i] = v++;
        try (Tensor t = Tensor.fromNested(a)) {
            assertEquals(Shape.of(2, 3, 4, 5), t.shape());
            assertEquals(a[1][2][3][4], t.get(1, 2, 3, 4));
            float[][][][] back = t.toNested();
            for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) for (int k = 0; k < 4; k++) assertArrayEquals(a[i][j][k], back[i][j][k]);
            // a permuted (non-contiguous) view copies element by element
            float[][][][] p = t.permute(0, 3, 1, 2).toNested();
            assertEquals(a[1][2][3][4], p[1][4][2][3]);
            assertEquals(a[0][1][2][0], p[0][0][1][2]);
            // a channel slice: rows are not contiguous runs
            float[][][][] sl = t.slice(3, 1, 2).toNested();
            assertEquals(a[1][2][3][2], sl[1][2][3][1]);
        }
    }

    @Test
    void toStringDescribesTheView() {
        try (Tensor t = Tensor.allocate(2, 3)) {
            String s = t.permute(1, 0).toString();
            assertTrue(s.contains("shape=[3, 2]") && s.contains("strides=[1, 3]") && s.contains("conv4j memory"), s);
        }
    }
}
