package io.conv4j;

import static io.conv4j.FuzzSupport.CANARY;
import static io.conv4j.FuzzSupport.LIMIT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.conv4j.FuzzSupport.Acc4;
import io.conv4j.FuzzSupport.Tally;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Property: for random and hostile shapes, options, memory layouts, outputs and API paths, every
 * call through the public API either matches the plain reference or throws one of the documented
 * exceptions ({@link FuzzSupport#documented}) with its output untouched; inputs never change and
 * no byte of a caller's output buffer outside the output view changes.
 *
 * <p>About 40% of the cases are benign (valid by construction: those must succeed, unless an
 * explicitly requested algorithm cannot run them); the others mix in hostile values (signs,
 * int/long limits), hostile layouts (huge strides, buffers one float short, odd addresses, heap or
 * wrong-order buffers), closed tensors, nulls, read-only or self-overlapping or aliased outputs.
 * Deterministic: case i uses seed {@code conv4j.fuzz.seed} and i; {@code -Dconv4j.fuzz.only=i}
 * replays one case. {@code conv4j.fuzz.tries} cases (10^4 in mvn verify, 10^5 with -Pfuzz-long).
 */
class FuzzTest {
    static final int TRIES = Integer.getInteger("conv4j.fuzz.tries", 10_000);
    static final long SEED = Long.getLong("conv4j.fuzz.seed", 0xC0417L);
    static final int ONLY = Integer.getInteger("conv4j.fuzz.only", -1);

    @Test
    void apiCallsMatchTheReferenceOrThrowDocumentedExceptions() {
        Tally tally = new Tally();
        long t0 = System.nanoTime();
        int ran = 0;
        for (int i = 0; i < TRIES; i++) {
            if (ONLY >= 0 && i != ONLY) continue;
            ApiCase c = new ApiCase(new SplittableRandom(SEED * 0x9E3779B97F4A7C15L + i));
            try {
                c.run(tally);
            } catch (AssertionError e) {
                throw new AssertionError("API fuzz case " + i + " (replay with -Dconv4j.fuzz.only=" + i + "): " + c.log + "\n  "
                        + e.getMessage(), e);
            } finally {
                c.close();
            }
            ran++;
        }
        System.out.printf(Locale.ROOT, "fuzz: %d API cases in %.1f s: %s%n", ran, (System.nanoTime() - t0) * 1e-9, tally);
        if (ONLY >= 0) return;
        // the generator must really reach both sides, or the property proves nothing
        assertTrue(tally.get("benign ok") >= TRIES / 5, "too few benign successes: " + tally);
        assertTrue(tally.get("hostile ok") >= TRIES / 100, "too few hostile cases that are valid: " + tally);
        for (String e : new String[] {"IllegalArgumentException", "IndexOutOfBoundsException", "IllegalStateException",
                "NullPointerException", "ReadOnlyBufferException"}) {
            assertTrue(tally.sumStartingWith("hostile " + e) > 0, "no hostile case threw " + e + ": " + tally);
        }
    }

    /** One generated case: parameters, tensors, the call, and what is checked afterwards. */
    static final class ApiCase {
        final SplittableRandom r;
        final StringBuilder log = new StringBuilder();
        final List<AutoCloseable> owned = new ArrayList<>();
        boolean benign;

        long n, h, w, c, kh, kw, fc, cout, groups;
        Conv2dOptions o;
        Tensor x, wt, b, out, result;
        float[] xArr, wArr, biasVals, resultArr;
        Acc4 xAcc, wAcc;
        ByteBuffer xBuf, outBuf;
        byte[] xBefore, outBefore;
        boolean outAliasesInput;
        long[] outSt;
        long outOff;
        float[] outTensorBefore;
        Algorithm planned;
        boolean planRefused;
        int path;

        ApiCase(SplittableRandom r) {
            this.r = r;
        }

        /** A small value, or (in hostile cases, 1 time in 12) a hostile one. */
        long v(long small) {
            return !benign && r.nextInt(12) == 0 ? FuzzSupport.hostile(r) : small;
        }

        boolean rare(int oneIn) {
            return !benign && r.nextInt(oneIn) == 0;
        }

        <T extends AutoCloseable> T own(T t) {
            if (t != null) owned.add(t);
            return t;
        }

        void close() {
            for (int i = owned.size() - 1; i >= 0; i--) {
                try {
                    owned.get(i).close();
                } catch (Exception e) {
                    throw new AssertionError("close failed", e);
                }
            }
            if (result != null && result != out) result.close();
        }

        void run(Tally tally) {
            Throwable thrown = null;
            try {
                setUpAndCall();
            } catch (AssertionError e) {
                throw e;
            } catch (Throwable e) {
                thrown = e;
            }
            String kind = benign ? "benign" : "hostile";
            if (thrown == null) {
                verifySuccess();
                tally.add(kind + " ok");
                return;
            }
            log.append(" -> ").append(thrown);
            if (!FuzzSupport.documented(thrown)) {
                throw new AssertionError("undocumented exception " + thrown, thrown);
            }
            if (benign) {
                boolean notApplicable = thrown instanceof IllegalArgumentException && o != null
                        && o.algorithm() != Algorithm.AUTO && String.valueOf(thrown.getMessage()).contains("cannot run");
                if (!notApplicable) throw new AssertionError("a valid call failed: " + thrown, thrown);
                tally.add("benign refused: algorithm not applicable");
            } else {
                tally.add("hostile " + thrown.getClass().getSimpleName());
            }
            verifyUntouched();
        }

        void setUpAndCall() {
            benign = r.nextInt(10) < 4;
            long gS = 1 + r.nextInt(3), cg = 1 + r.nextInt(4), og = 1 + r.nextInt(4);
            groups = v(gS);
            n = v(r.nextInt(8) == 0 ? 0 : 1 + r.nextInt(3));
            h = v(1 + r.nextInt(9));
            w = v(1 + r.nextInt(9));
            c = v(gS * cg);
            kh = v(1 + r.nextInt(4));
            kw = v(1 + r.nextInt(4));
            fc = v(cg);
            cout = v(gS * og);
            long sh = v(1 + r.nextInt(3)), sw = v(1 + r.nextInt(3)), dh = v(1 + r.nextInt(2)), dw = v(1 + r.nextInt(2));
            int pk = r.nextInt(3);
            long pt = v(r.nextInt(4)), pb = v(r.nextInt(4)), pl = v(r.nextInt(4)), pr = v(r.nextInt(4));
            if (benign && pk != 1) { // the kernel must fit the padded input
                while ((kh - 1) * dh + 1 > h + (pk == 2 ? pt + pb : 0)) kh--;
                while ((kw - 1) * dw + 1 > w + (pk == 2 ? pl + pr : 0)) kw--;
            }
            // AUTO a third of the time, else any algorithm (those that cannot run a case must say so)
            Algorithm alg = r.nextInt(3) == 0 ? Algorithm.AUTO : Algorithm.values()[r.nextInt(Algorithm.values().length)];
            Activation act = Activation.values()[r.nextInt(Activation.values().length)];
            boolean flip = r.nextBoolean(), exactOnly = r.nextInt(4) == 0;
            log.append(benign ? "benign" : "hostile").append(" input ").append(n).append('x').append(h).append('x').append(w)
                    .append('x').append(c).append(" filter ").append(kh).append('x').append(kw).append('x').append(fc).append('x')
                    .append(cout).append(" groups ").append(groups).append(" strides ").append(sh).append(',').append(sw)
                    .append(" dilations ").append(dh).append(',').append(dw).append(" padding ")
                    .append(pk == 0 ? "VALID" : pk == 1 ? "SAME" : pt + "," + pb + "," + pl + "," + pr).append(' ').append(alg)
                    .append(' ').append(act).append(flip ? " flip" : "");

            Conv2dOptions.Builder ob = Conv2dOptions.builder().strides(sh, sw).dilations(dh, dw).groups(groups)
                    .flipKernel(flip).activation(act).algorithm(alg).exactOnly(exactOnly);
            ob.padding(pk == 0 ? Padding.VALID : pk == 1 ? Padding.SAME : Padding.explicit(pt, pb, pl, pr));
            o = rare(60) ? null : ob.build();

            x = rare(60) ? null : makeInput();
            wt = rare(60) ? null : makeFilter();
            b = makeBias();
            out = makeOutput();
            path = r.nextInt(10);
            log.append(path < 7 ? " | tensor API" : path < 9 ? " | prepared filter" : " | arrays");

            // introspection must also return or refuse cleanly (an empty batch crashed plan() once)
            if (x != null && wt != null) {
                try {
                    planned = Conv2d.plan(x, wt.shape(), o).algorithm();
                } catch (RuntimeException e) {
                    requireDocumented("plan", e);
                    planRefused = true;
                }
                probe("explain", () -> Conv2d.explain(x.shape(), wt.shape(), o));
                probe("patchView", () -> Conv2d.patchView(x, wt.shape(), o));
                probe("outputShape", () -> Conv2d.outputShape(x.shape(), wt.shape(), o));
            }

            if (path < 7) {
                result = Conv2d.conv2d(x, wt, b, o, out);
            } else if (path < 9) {
                PreparedFilter pf = own(Conv2d.prepare(wt, b, o));
                result = Conv2d.conv2d(x, pf, out);
            } else {
                Shape xs = x == null ? Shape.of(n, h, w, c) : x.shape(), ws = wt == null ? Shape.of(kh, kw, fc, cout) : wt.shape();
                float[] xa = xArr != null ? xArr : new float[r.nextInt(4)];
                float[] wa = wArr != null ? wArr : new float[r.nextInt(4)];
                resultArr = Conv2d.conv2d(x == null && rare(2) ? null : xa, xs, wa, ws, biasVals, o);
            }
            // plan() sees the same view, filter shape and options as the tensor paths (the array path
            // copies the input into a contiguous tensor, whose plan may differ)
            if (planRefused && path < 9) throw new AssertionError("plan() refused but the convolution ran");
        }

        void requireDocumented(String what, Throwable e) {
            if (!FuzzSupport.documented(e)) throw new AssertionError(what + " threw an undocumented " + e, e);
        }

        void probe(String what, Runnable body) {
            try {
                body.run();
            } catch (RuntimeException | Error e) {
                if (e instanceof AssertionError) throw e;
                requireDocumented(what, e);
            }
        }

        // ------------------------------------------------------------------ tensors

        Tensor makeInput() {
            long[] dims = {n, h, w, c};
            Shape s = Shape.of(dims);
            long count = s.numElements();
            int layout = r.nextInt(6);
            if (count > LIMIT) {
                // only hostile sizes get here: either conv4j refuses to allocate, or they are broadcast
                if (layout < 2) {
                    log.append(" | input allocate");
                    return own(Tensor.allocate(s));
                }
                layout = 3;
            }
            switch (layout) {
                case 0: {
                    log.append(" | input contiguous");
                    xArr = FuzzSupport.randomFloats(count, r);
                    xAcc = FuzzSupport.rowMajor(xArr, dims);
                    return own(Tensor.fromArray(xArr, s));
                }
                case 1: {
                    log.append(" | input NCHW permuted");
                    Tensor t = own(Tensor.allocate(n, c, h, w));
                    Tensor view = t.permute(0, 2, 3, 1);
                    xArr = FuzzSupport.randomFloats(count, r);
                    view.copyFrom(xArr);
                    xAcc = FuzzSupport.rowMajor(xArr, dims);
                    return view;
                }
                case 2: {
                    log.append(" | input crop of a larger tensor");
                    Tensor big = own(Tensor.allocate(n + 1, h + 2, w + 1, c + 3));
                    Tensor view = big.slice(0, 1, n).slice(1, 2, h).slice(2, 0, w).slice(3, 1, c);
                    xArr = FuzzSupport.randomFloats(count, r);
                    view.copyFrom(xArr);
                    xAcc = FuzzSupport.rowMajor(xArr, dims);
                    return view;
                }
                default:
                    return wrapInput(dims, s, count <= LIMIT);
            }
        }

        /** The input as a strided view of a caller's direct buffer, ending at (or near) its last float. */
        Tensor wrapInput(long[] dims, Shape s, boolean materialize) {
            int[] order = permutation(4);
            long[] st = new long[4];
            long inner = 1;
            for (int k = 3; k >= 0; k--) {
                int axis = order[k];
                boolean broadcast = dims[axis] > LIMIT || r.nextInt(8) == 0;
                st[axis] = broadcast ? 0 : inner;
                if (!broadcast) inner *= Math.max(dims[axis], 1) + (r.nextInt(3) == 0 ? r.nextInt(3) : 0);
            }
            for (int axis = 0; axis < 4; axis++) { // a size-1 axis may carry any stride: it never moves
                if (dims[axis] == 1 && r.nextInt(4) == 0) st[axis] = new long[] {Long.MAX_VALUE, 1L << 62, Integer.MAX_VALUE, 1L << 40, 0}[r.nextInt(5)];
            }
            if (rare(10)) st[r.nextInt(4)] = FuzzSupport.hostile(r);
            long off = r.nextInt(3) == 0 ? r.nextInt(5) : 0;
            if (rare(20)) off = FuzzSupport.hostile(r);
            long reach = FuzzSupport.reach(dims, st, off);
            boolean tooShort = rare(8);
            long cap = reach < 0 || off < 0 || reach >= 4 * LIMIT ? 16 : reach + 1 + (tooShort ? -1 : r.nextInt(3));
            cap = Math.max(cap, 1);
            int misalign = rare(15) ? 1 + r.nextInt(3) : 0;
            ByteBuffer raw = ByteBuffer.allocateDirect((int) cap * 4 + misalign);
            ByteBuffer bb = (misalign > 0 ? raw.position(misalign).slice() : raw).order(ByteOrder.nativeOrder());
            for (int i = 0; i < cap; i++) bb.putFloat(i * 4, (float) (r.nextDouble() * 2 - 1));
            float[] mem = FuzzSupport.floats(bb);
            log.append(" | input wrapped strides ").append(Arrays.toString(st)).append(" offset ").append(off)
                    .append(" capacity ").append(cap).append(misalign > 0 ? " misaligned" : "");
            if (r.nextInt(6) == 0) {
                bb = bb.asReadOnlyBuffer().order(ByteOrder.nativeOrder());
                log.append(" read-only");
            }
            if (rare(25)) {
                bb = ByteBuffer.allocate((int) cap * 4).order(ByteOrder.nativeOrder());
                log.append(" heap");
            } else if (rare(25)) {
                bb.order(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
                log.append(" wrong byte order");
            }
            xBuf = bb.isDirect() ? bb : null;
            xBefore = xBuf == null ? null : FuzzSupport.bytes(bb);
            xAcc = FuzzSupport.strided(mem, st, off);
            boolean fits = s.numElements() == 0 ? off >= 0 && off <= cap : reach >= 0 && off >= 0 && reach < cap;
            if (materialize && fits && allNonNegative(st)) {
                xArr = new float[(int) s.numElements()];
                int k = 0;
                for (long a = 0; a < dims[0] && xArr.length > 0; a++) // an empty view may have a 2^63-1 axis
                    for (long bb2 = 0; bb2 < dims[1]; bb2++)
                        for (long cc = 0; cc < dims[2]; cc++)
                            for (long d = 0; d < dims[3]; d++) xArr[k++] = xAcc.at(a, bb2, cc, d);
            }
            Tensor t = own(Tensor.wrap(bb, s, st, off));
            if (!fits || !allNonNegative(st)) throw new AssertionError("Tensor.wrap accepted a view outside its buffer");
            return t;
        }

        Tensor makeFilter() {
            long[] dims = {kh, kw, fc, cout};
            Shape s = Shape.of(dims);
            long count = s.numElements();
            if (count > LIMIT) {
                log.append(" | filter allocate");
                return own(Tensor.allocate(s));
            }
            wArr = FuzzSupport.randomFloats(count, r);
            wAcc = FuzzSupport.rowMajor(wArr, dims);
            int k = r.nextInt(4);
            if (k == 0) { // non-contiguous: a permuted view of an OIHW-like buffer
                log.append(" | filter permuted view");
                Tensor t = own(Tensor.allocate(cout, fc, kh, kw));
                Tensor view = t.permute(2, 3, 1, 0);
                view.copyFrom(wArr);
                return view;
            }
            Tensor t = own(Tensor.fromArray(wArr, s));
            if (rare(30)) {
                log.append(" | filter closed");
                t.close();
            }
            return t;
        }

        Tensor makeBias() {
            int k = r.nextInt(10);
            if (k < 5) return null;
            if (cout < 0 || cout > LIMIT) {
                log.append(" | bias allocate");
                return own(Tensor.allocate(Shape.of(cout)));
            }
            if (k == 9 && !benign) {
                if (r.nextBoolean()) {
                    log.append(" | bias of the wrong length");
                    biasVals = FuzzSupport.randomFloats(cout + 1, r);
                    return own(Tensor.fromArray(biasVals, Shape.of(cout + 1)));
                }
                log.append(" | bias closed");
                biasVals = FuzzSupport.randomFloats(cout, r);
                Tensor t = own(Tensor.fromArray(biasVals, Shape.of(cout)));
                t.close();
                return t;
            }
            if (k == 8) { // every other float of a caller buffer
                log.append(" | bias strided");
                ByteBuffer bb = FuzzSupport.randomBuffer(2 * cout + 1, r);
                float[] mem = FuzzSupport.floats(bb);
                biasVals = new float[(int) cout];
                for (int i = 0; i < cout; i++) biasVals[i] = mem[1 + 2 * i];
                return own(Tensor.wrap(bb, Shape.of(cout), new long[] {2}, 1));
            }
            log.append(" | bias");
            biasVals = FuzzSupport.randomFloats(cout, r);
            return own(Tensor.fromArray(biasVals, Shape.of(cout)));
        }

        Tensor makeOutput() {
            Shape os = null;
            try {
                if (x != null && wt != null && o != null) os = Conv2d.outputShape(x.shape(), wt.shape(), o);
            } catch (RuntimeException e) {
                requireDocumented("outputShape", e);
            }
            int k = r.nextInt(10);
            if (os == null || os.numElements() > LIMIT || k < 4) return null;
            if (k < 6) {
                log.append(" | output allocated");
                out = own(Tensor.allocate(os));
                outTensorBefore = out.toArray();
                return out;
            }
            if (k < 9 || benign) return guardedOutput(os);
            switch (r.nextInt(4)) {
                case 0: {
                    long[] d = os.toArray();
                    d[r.nextInt(4)] += 1;
                    log.append(" | output of the wrong shape");
                    return out = own(Tensor.allocate(d));
                }
                case 1: {
                    log.append(" | output closed");
                    out = own(Tensor.allocate(os));
                    out.close();
                    return out;
                }
                case 2:
                    if (xBuf != null && !xBuf.isReadOnly() && os.numElements() > 0
                            && os.numElements() <= xBuf.capacity() / 4) { // aliases the input's buffer
                        log.append(" | output aliasing the input buffer");
                        outAliasesInput = true;
                        return out = own(Tensor.wrap(xBuf, os));
                    }
                    return guardedOutput(os);
                default:
                    return guardedOutput(os);
            }
        }

        /** The output as a view into a caller buffer full of canaries, with gaps and a guard each side. */
        Tensor guardedOutput(Shape os) {
            long[] d = os.toArray();
            int style = r.nextInt(3); // 0: NHWC with gaps, 1: H and W transposed in memory, 2: channels outermost
            int[] order = style == 0 ? new int[] {0, 1, 2, 3} : style == 1 ? new int[] {0, 2, 1, 3} : new int[] {0, 3, 1, 2};
            long[] st = new long[4];
            long inner = 1;
            for (int k = 3; k >= 0; k--) {
                int axis = order[k];
                st[axis] = inner;
                inner *= Math.max(d[axis], 1) + (r.nextBoolean() ? r.nextInt(3) : 0);
            }
            String variant = "";
            if (!benign && r.nextInt(6) == 0) {
                int axis = r.nextInt(4);
                if (d[axis] > 1) {
                    st[axis] = r.nextBoolean() ? 0 : Math.max(0, st[axis] - 1);
                    variant = " self-overlapping";
                }
            }
            long guard = 8 + r.nextInt(9);
            long reach = FuzzSupport.reach(d, st, guard);
            long cap = reach + 1 + guard;
            ByteBuffer bb = FuzzSupport.canaryBuffer(cap);
            outBuf = bb;
            outBefore = FuzzSupport.bytes(bb);
            outSt = st;
            outOff = guard;
            ByteBuffer given = bb;
            if (!benign && r.nextInt(8) == 0) {
                given = bb.asReadOnlyBuffer().order(ByteOrder.nativeOrder());
                variant += " read-only";
            }
            log.append(" | output guarded style ").append(style).append(" strides ").append(Arrays.toString(st))
                    .append(variant);
            return out = own(Tensor.wrap(given, os, st, guard));
        }

        // ------------------------------------------------------------------ checks

        void verifySuccess() {
            ConvGeometry g = ConvGeometry.of(Shape.of(n, h, w, c), Shape.of(kh, kw, fc, cout), o);
            double[][] ref = FuzzSupport.reference(xAcc, wAcc, biasVals, g, o.flipKernel(), o.activation());
            double tol = exactAlgorithm() ? 1e-5 : 1e-4;
            float[] got;
            if (resultArr != null) {
                got = resultArr;
                if (outBuf != null) assertArrayEquals(outBefore, FuzzSupport.bytes(outBuf), "unrelated output buffer changed");
            } else {
                assertEquals(g.outputShape(), result.shape(), "output shape");
                if (out != null) assertSame(out, result, "the output tensor given must be the one returned");
                got = outBuf != null ? readGuarded(g.outputShape()) : result.toArray();
            }
            assertEquals(ref[0].length, got.length, "output length");
            for (int i = 0; i < got.length; i++) {
                if (!(Math.abs(got[i] - ref[0][i]) <= tol * ref[1][i])) {
                    fail("element " + i + " got " + got[i] + " want " + ref[0][i] + " (tolerance " + tol * ref[1][i] + ", planned "
                            + planned + ")");
                }
            }
            inputsUnchanged();
        }

        boolean exactAlgorithm() {
            if (o.algorithm() != Algorithm.AUTO) return o.algorithm().isExact();
            if (path == 9 && !o.exactOnly()) return false; // the array path plans a contiguous copy: maybe another algorithm
            return o.exactOnly() || (planned != null && planned.isExact());
        }

        /** Reads the output view from the guarded buffer and checks every other float is still a canary. */
        float[] readGuarded(Shape os) {
            long[] d = os.toArray();
            ByteBuffer bb = outBuf.duplicate().order(ByteOrder.nativeOrder());
            int cap = bb.capacity() / 4;
            boolean[] inView = new boolean[cap];
            float[] got = new float[(int) os.numElements()];
            int k = 0;
            for (long a = 0; a < d[0]; a++)
                for (long p = 0; p < d[1]; p++)
                    for (long q = 0; q < d[2]; q++)
                        for (long e = 0; e < d[3]; e++) {
                            int idx = (int) (outOff + a * outSt[0] + p * outSt[1] + q * outSt[2] + e * outSt[3]);
                            inView[idx] = true;
                            got[k++] = bb.getFloat(idx * 4);
                        }
            for (int i = 0; i < cap; i++) {
                if (!inView[i] && bb.getInt(i * 4) != CANARY) fail("float " + i + " outside the output view changed");
            }
            return got;
        }

        void verifyUntouched() {
            if (outBuf != null) assertArrayEquals(outBefore, FuzzSupport.bytes(outBuf), "output buffer changed by a failed call");
            if (outTensorBefore != null && out.isOpen()) {
                assertArrayEquals(outTensorBefore, out.toArray(), "output tensor changed by a failed call");
            }
            inputsUnchanged();
        }

        void inputsUnchanged() {
            if (xBuf != null && outAliasesInput && resultArr == null && result != null) {
                // the output (contiguous from float 0 of the input's buffer) may share the buffer
                // where the input view does not reach: every byte after it must be unchanged
                byte[] now = FuzzSupport.bytes(xBuf);
                int from = (int) out.shape().numElements() * 4;
                assertArrayEquals(Arrays.copyOfRange(xBefore, from, xBefore.length), Arrays.copyOfRange(now, from, now.length),
                        "input buffer changed outside the output");
            } else if (xBuf != null) {
                assertArrayEquals(xBefore, FuzzSupport.bytes(xBuf), "input buffer changed");
            }
            if (xArr != null && x != null && x.isOpen() && xBuf == null) assertArrayEquals(xArr, x.toArray(), "input changed");
        }

        int[] permutation(int k) {
            int[] p = new int[k];
            for (int i = 0; i < k; i++) p[i] = i;
            for (int i = k - 1; i > 0; i--) {
                int j = r.nextInt(i + 1), t = p[i];
                p[i] = p[j];
                p[j] = t;
            }
            return p;
        }

        static boolean allNonNegative(long[] a) {
            for (long v : a) if (v < 0) return false;
            return true;
        }
    }
}
