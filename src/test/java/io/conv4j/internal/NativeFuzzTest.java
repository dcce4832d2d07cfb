package io.conv4j.internal;

import static io.conv4j.FuzzSupport.CANARY;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.conv4j.FuzzSupport;
import io.conv4j.FuzzSupport.Tally;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The second line of defence, fuzzed on its own: the JNI entry points called directly (as a bug
 * in the Java validation would call them) with valid descriptors mutated to hostile values,
 * buffers too short, byte offsets negative, odd or past the end, bad unit ranges, missing or
 * short workspaces and unknown algorithms. Each call must throw (IllegalArgumentException,
 * IndexOutOfBoundsException, NullPointerException, IllegalStateException) leaving the output
 * buffer byte for byte as it was, or run in bounds: then no float outside the output view changes
 * and, over the full unit range, the view matches a reference computed from the descriptor.
 */
class NativeFuzzTest {
    static final int TRIES = Integer.getInteger("conv4j.fuzz.tries", 10_000);
    static final long SEED = Long.getLong("conv4j.fuzz.seed", 0xC0417L) ^ 0x5A5A5A5AL;
    static final int ONLY = Integer.getInteger("conv4j.fuzz.only", -1);

    @Test
    void nativeEntryPointsRefuseOrComputeInBounds() {
        NativeLibrary.ensureLoaded();
        Tally tally = new Tally();
        long t0 = System.nanoTime();
        int ran = 0;
        for (int i = 0; i < TRIES; i++) {
            if (ONLY >= 0 && i != ONLY) continue;
            NativeCase c = new NativeCase(new SplittableRandom(SEED * 0x9E3779B97F4A7C15L + i));
            try {
                c.run(tally);
            } catch (AssertionError e) {
                throw new AssertionError("native fuzz case " + i + " (replay with -Dconv4j.fuzz.only=" + i + "): " + c.log + "\n  "
                        + e.getMessage(), e);
            }
            ran++;
        }
        System.out.printf(Locale.ROOT, "fuzz: %d native-descriptor cases in %.1f s: %s%n", ran, (System.nanoTime() - t0) * 1e-9, tally);
        if (ONLY >= 0) return;
        assertTrue(tally.get("ran full range") >= TRIES / 10, "too few accepted calls: " + tally);
        assertTrue(tally.sumStartingWith("refused") >= TRIES / 5, "too few refused calls: " + tally);
        assertTrue(tally.get("through forwardAt") >= TRIES / 4, "too few calls through forwardAt: " + tally);
        for (String e : new String[] {"IllegalArgumentException", "IndexOutOfBoundsException", "NullPointerException"}) {
            assertTrue(tally.get("refused " + e) > 0, "no call threw " + e + ": " + tally);
        }
    }

    static final class NativeCase {
        final SplittableRandom r;
        final StringBuilder log = new StringBuilder();

        NativeCase(SplittableRandom r) {
            this.r = r;
        }

        int small(int lo, int hi) {
            return lo + r.nextInt(hi - lo + 1);
        }

        void run(Tally tally) {
            // a valid base: small geometry, strided input and output views
            long n = small(1, 2), h = small(1, 7), w = small(1, 7), g = small(1, 2), cg = small(1, 3), og = small(1, 3);
            long kh = small(1, 3), kw = small(1, 3), sh = small(1, 2), sw = small(1, 2), dh = small(1, 2), dw = small(1, 2);
            long pt = small(0, 2), pb = small(0, 2), pl = small(0, 2), pr = small(0, 2);
            if (r.nextInt(3) == 0) { // in reach of the direct algorithm
                kh = kw = 1;
                pt = pb = pl = pr = 0;
            }
            while ((kh - 1) * dh + 1 > h + pt + pb) kh--;
            while ((kw - 1) * dw + 1 > w + pl + pr) kw--;
            long c = g * cg, oc = g * og;
            long oh = (h + pt + pb - ((kh - 1) * dh + 1)) / sh + 1, ow = (w + pl + pr - ((kw - 1) * dw + 1)) / sw + 1;
            long[] inDims = {n, h, w, c}, outDims = {n, oh, ow, oc};
            long[] inSt = strides(inDims, permutation(), true);
            int[] outOrder = r.nextInt(4) == 0 ? new int[] {0, 2, 1, 3} : new int[] {0, 1, 2, 3};
            long[] outSt = strides(outDims, outOrder, false);
            long[] d = rawDescriptor(inDims, inSt, new long[] {kh, kw, oc, g},
                    new long[] {sh, sw, dh, dw, pt, pl, oh, ow}, outSt, r.nextBoolean(), r.nextInt(3), r.nextBoolean());

            // buffers sized for the base descriptor (the mutations below must fit them or be refused)
            long inOff = small(0, 3), outOff = small(4, 12);
            long inCap = reach(inDims, inSt) + 1 + inOff + (r.nextInt(4) == 0 ? small(-1, 2) : 0);
            long fCap = kh * kw * cg * oc + (r.nextInt(8) == 0 ? -1 : 0), bCap = oc + (r.nextInt(8) == 0 ? -1 : 0);
            long outCap = reach(outDims, outSt) + 1 + 2 * outOff + (r.nextInt(8) == 0 ? -outOff - 1 : 0);
            ByteBuffer in = FuzzSupport.randomBuffer(Math.max(inCap, 1), r), f = FuzzSupport.randomBuffer(Math.max(fCap, 1), r);
            ByteBuffer b = FuzzSupport.randomBuffer(Math.max(bCap, 1), r), out = FuzzSupport.canaryBuffer(Math.max(outCap, 1));

            // mostly an algorithm that can run the base (whichever exist), sometimes any id at all
            java.util.List<Integer> runnable = new java.util.ArrayList<>();
            for (int a = 1; a <= 8; a++) if (NativeCore.units(d, a) > 0) runnable.add(a);
            int algo = r.nextInt(8) > 0 ? runnable.get(r.nextInt(runnable.size()))
                    : new int[] {0, -1, 3, 4, 5, 6, 99, Integer.MAX_VALUE, Integer.MIN_VALUE}[r.nextInt(9)];
            int mutations = r.nextBoolean() ? 0 : small(1, 3);
            for (int m = 0; m < mutations; m++) {
                int field = r.nextInt(DESC_FIELDS);
                d[field] = r.nextInt(3) == 0 ? FuzzSupport.hostile(r) : d[field] + small(-3, 3);
            }
            long inByte = inOff * 4, fByte = 0, bByte = 0, outByte = outOff * 4;
            switch (r.nextInt(16)) {
                case 0: inByte = FuzzSupport.hostile(r); break;
                case 1: outByte = r.nextBoolean() ? outByte + small(1, 3) : -4; break;
                case 2: fByte = r.nextBoolean() ? 2 : f.capacity() + 4L; break;
                case 3: bByte = FuzzSupport.hostile(r); break;
                default: break;
            }
            ByteBuffer inArg = r.nextInt(40) == 0 ? null : in, fArg = r.nextInt(40) == 0 ? null : f;
            ByteBuffer bArg = d[26] != 0 || r.nextBoolean() ? (r.nextInt(30) == 0 ? null : b) : null;
            ByteBuffer outArg = r.nextInt(40) == 0 ? null : out;
            long[] desc = r.nextInt(60) == 0 ? Arrays.copyOf(d, d.length - 1) : d;
            log.append("descriptor ").append(Arrays.toString(d)).append(" algo ").append(algo).append(" capacities in ")
                    .append(inCap).append(" filter ").append(fCap).append(" bias ").append(bCap).append(" out ").append(outCap)
                    .append(" byte offsets ").append(inByte).append(',').append(fByte).append(',').append(bByte).append(',')
                    .append(outByte);

            // sizes: the descriptor-only entry points must agree with forward about what is valid
            long units = -1, wsBytes = -1, prepFloats = 0;
            boolean sizesRefused = false;
            try {
                units = NativeCore.units(desc, algo);
                wsBytes = NativeCore.workspaceBytes(desc, algo);
                prepFloats = NativeCore.preparedFloats(desc, algo);
            } catch (RuntimeException e) {
                requireDocumented(e);
                sizesRefused = true;
            }
            // the prepared (transformed) filter, for algorithms that have one: prepare must write
            // exactly its floats, or refuse and write nothing
            ByteBuffer prep = null;
            long prepByte = 0;
            if (r.nextInt(3) == 0 && prepFloats >= 0 && prepFloats < (1 << 20)) {
                long pCap = Math.max(prepFloats + (r.nextInt(6) == 0 ? -1 : 0), 0);
                prepByte = r.nextInt(10) == 0 ? FuzzSupport.hostile(r) : 4L * small(0, 3);
                prep = FuzzSupport.canaryBuffer(pCap + (prepByte >= 0 && prepByte < 64 ? prepByte / 4 : 0) + 8);
                byte[] pBefore = FuzzSupport.bytes(prep);
                try {
                    NativeCore.prepare(desc, algo, fArg, fByte, prep, prepByte);
                    long first = prepByte / 4, end = first + prepFloats;
                    for (int i = 0; i < prep.capacity() / 4; i++) {
                        if ((i < first || i >= end) && prep.getInt(i * 4) != CANARY) {
                            throw new AssertionError("prepare wrote float " + i + " outside [" + first + ", " + end + ")");
                        }
                    }
                    tally.add("prepared");
                } catch (RuntimeException e) {
                    requireDocumented(e);
                    assertArrayEquals(pBefore, FuzzSupport.bytes(prep), "a refused prepare changed its buffer");
                    prep = r.nextBoolean() ? prep : null;
                }
            }
            ByteBuffer ws = null;
            if (wsBytes > 0 && wsBytes < (1 << 26)) {
                long size = wsBytes - (r.nextInt(10) == 0 ? 4 : 0);
                // exactly `size` bytes at a 64-byte aligned address, whatever malloc returned
                ws = ByteBuffer.allocateDirect((int) size + 128).alignedSlice(64).limit((int) size).slice();
                if (r.nextInt(15) == 0) ws = ByteBuffer.allocateDirect((int) size + 64).position(4).slice(); // misaligned
            }
            long u0 = 0, u1 = Math.max(units, 1);
            boolean full = true;
            switch (r.nextInt(14)) {
                case 0: u1 = Math.max(units / 2, 0); full = u1 >= units; break;
                case 1: u0 = -1; break;
                case 2: u1 = units + 1; break;
                case 3: u0 = u1 + 1; break;
                default: break;
            }
            log.append(" units [").append(u0).append(',').append(u1).append(") of ").append(units).append(" workspace ")
                    .append(ws == null ? "none" : ws.capacity()).append(" of ").append(wsBytes);

            byte[] before = FuzzSupport.bytes(out);
            // half the time through forwardAt, the hot path's entry point, with each buffer as the address and floats
            // NativeCall passes: only for offsets inside their buffers, which Java's checks guarantee there (an address
            // outside a buffer is beyond any native check); short buffers, odd offsets, null buffers stay in play
            boolean at = r.nextBoolean() && inside(inArg, inByte) && inside(fArg, fByte) && inside(prep, prepByte)
                    && inside(bArg, bByte) && inside(outArg, outByte);
            if (at) tally.add("through forwardAt");
            try {
                if (at) {
                    NativeCore.forwardAt(desc, algo, address(inArg, inByte), floats(inArg, inByte), address(fArg, fByte),
                            floats(fArg, fByte), address(prep, prepByte), floats(prep, prepByte), address(bArg, bByte),
                            floats(bArg, bByte), address(outArg, outByte), floats(outArg, outByte), ws, u0, u1);
                } else {
                    NativeCore.forward(desc, algo, inArg, inByte, fArg, fByte, prep, prepByte, bArg, bByte, outArg, outByte, ws, u0, u1);
                }
            } catch (RuntimeException e) {
                requireDocumented(e);
                assertArrayEquals(before, FuzzSupport.bytes(out), "a refused call changed the output buffer");
                tally.add("refused " + e.getClass().getSimpleName());
                return;
            }
            if (sizesRefused) throw new AssertionError("units/workspaceBytes refused a descriptor that forward ran");
            checkRan(desc, in, inByte, f, fByte, bArg, bByte, out, outByte, full && u0 == 0 && u1 == units);
            tally.add(full && u0 == 0 && u1 == units ? "ran full range" : "ran part");
        }

        static boolean inside(ByteBuffer b, long byteOffset) {
            return b == null || (byteOffset >= 0 && byteOffset <= b.capacity());
        }

        /** A buffer at a byte offset as forwardAt takes it: its address there (0: none) and the floats behind. */
        static long address(ByteBuffer b, long byteOffset) {
            return b == null ? 0 : NativeCore.address(b) + byteOffset;
        }

        static long floats(ByteBuffer b, long byteOffset) {
            return b == null ? 0 : (b.capacity() - byteOffset) / Float.BYTES;
        }

        static void requireDocumented(RuntimeException e) {
            boolean ok = e.getMessage() != null && (e instanceof IllegalArgumentException || e instanceof IndexOutOfBoundsException
                    || e instanceof NullPointerException || e instanceof IllegalStateException);
            if (!ok) throw new AssertionError("undocumented exception " + e, e);
        }

        /** After an accepted call: nothing outside the output view changed; over all units, the view is right. */
        void checkRan(long[] d, ByteBuffer in, long inByte, ByteBuffer f, long fByte, ByteBuffer bias, long bByte, ByteBuffer out,
                      long outByte, boolean full) {
            float[] x = FuzzSupport.floats(in), wv = FuzzSupport.floats(f), bv = bias == null ? null : FuzzSupport.floats(bias);
            ByteBuffer o = out.duplicate().order(ByteOrder.nativeOrder());
            int cap = o.capacity() / 4;
            boolean[] inView = new boolean[cap];
            long n = d[0], ih = d[1], iw = d[2], ic = d[3], kh = d[8], kw = d[9], oc = d[10], g = d[11];
            long sh = d[12], sw = d[13], dh = d[14], dw = d[15], pt = d[16], pl = d[17], oh = d[18], ow = d[19];
            long xo = inByte / 4, fo = fByte / 4, bo = bByte / 4, yo = outByte / 4;
            long cg = ic / g, og = oc / g;
            for (long a = 0; a < n; a++)
                for (long i = 0; i < oh; i++)
                    for (long j = 0; j < ow; j++)
                        for (long e = 0; e < oc; e++) {
                            int idx = Math.toIntExact(yo + a * d[20] + i * d[21] + j * d[22] + e * d[23]);
                            if (inView[idx]) throw new AssertionError("accepted an output view that overlaps itself");
                            inView[idx] = true;
                            if (!full) continue;
                            long grp = e / og;
                            double s = d[26] != 0 ? bv[(int) (bo + e)] : 0, scale = 1 + Math.abs(s);
                            for (long p = 0; p < kh; p++)
                                for (long q = 0; q < kw; q++) {
                                    long row = i * sh + p * dh - pt, col = j * sw + q * dw - pl;
                                    if (row < 0 || row >= ih || col < 0 || col >= iw) continue;
                                    long fp = d[24] != 0 ? kh - 1 - p : p, fq = d[24] != 0 ? kw - 1 - q : q;
                                    for (long k = 0; k < cg; k++) {
                                        double xv = x[Math.toIntExact(xo + a * d[4] + row * d[5] + col * d[6] + (grp * cg + k) * d[7])];
                                        double fv = wv[Math.toIntExact(fo + ((fp * kw + fq) * cg + k) * oc + e)];
                                        s += xv * fv;
                                        scale += Math.abs(xv * fv);
                                    }
                                }
                            if (d[25] == 1) s = Math.max(s, 0);
                            if (d[25] == 2) s = Math.min(Math.max(s, 0), 6);
                            float got = o.getFloat(idx * 4);
                            if (!(Math.abs(got - s) <= 1e-4 * scale)) {
                                throw new AssertionError("output (" + a + "," + i + "," + j + "," + e + ") got " + got + " want " + s);
                            }
                        }
            for (int i = 0; i < cap; i++) {
                if (!inView[i] && o.getInt(i * 4) != CANARY) throw new AssertionError("float " + i + " outside the output view changed");
            }
        }

        int[] permutation() {
            int[] p = {0, 1, 2, 3};
            for (int i = 3; i > 0; i--) {
                int j = r.nextInt(i + 1), t = p[i];
                p[i] = p[j];
                p[j] = t;
            }
            return p;
        }

        /** Strides for dims laid out in memory in the given order (outermost first), with random gaps. */
        long[] strides(long[] dims, int[] order, boolean input) {
            long[] st = new long[4];
            long inner = 1;
            for (int k = 3; k >= 0; k--) {
                int axis = order[k];
                st[axis] = input && r.nextInt(10) == 0 ? 0 : inner; // inputs may broadcast
                inner *= dims[axis] + (r.nextInt(3) == 0 ? small(0, 2) : 0);
            }
            return st;
        }

        static long reach(long[] dims, long[] st) {
            long e = 0;
            for (int i = 0; i < 4; i++) e += (dims[i] - 1) * st[i];
            return e;
        }
    }

    /** Fields of c4j_conv2d_desc (native/include/conv4j.h). */
    private static final int DESC_FIELDS = 27;

    /**
     * A raw c4j_conv2d_desc in its field order, built here without Java's validation (the public
     * API packs it in ConvGeometry.toNative): in dims, in strides, {kh, kw, out_c, groups},
     * {stride h/w, dilation h/w, pad top/left, out h/w}, out strides, flip, activation, has_bias.
     */
    private static long[] rawDescriptor(long[] in, long[] inStride, long[] kernel, long[] geometry, long[] outStride,
                                        boolean flip, int activation, boolean hasBias) {
        long[] d = new long[DESC_FIELDS];
        int i = 0;
        for (long[] part : new long[][] {in, inStride, kernel, geometry, outStride}) {
            for (long v : part) d[i++] = v;
        }
        d[i++] = flip ? 1 : 0;
        d[i++] = activation;
        d[i++] = hasBias ? 1 : 0;
        assertEquals(DESC_FIELDS, i);
        return d;
    }
}
