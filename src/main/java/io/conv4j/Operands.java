package io.conv4j;

import java.util.Arrays;
import java.util.Objects;

/**
 * The rules for every tensor a call hands to native code, in one place for every entry point
 * ({@link Conv2d}, {@link PreparedFilter}, {@link Conv2dBackward}, {@link Conv2dLayer}, {@link Conv},
 * {@link ConvLayer}), so that no entry point checks less than another; the rules for shapes and
 * options are {@link ConvGeometry#of} (2-D) and {@link ConvDescriptor#of} (rank 1-3, dtype):
 *
 * <ul>
 *   <li>every operand of a call: one dtype ({@link #sameDType}); an operand whose shape follows
 *       from the others (a bias, an output gradient): exactly that shape ({@link #requireShape});
 *   <li>a gradient call: options without an activation ({@link #requireNoActivation});
 *   <li>every operand: not null, open, at an address aligned to its element size;
 *   <li>every output: also the expected shape, writable, and no two of its elements at one
 *       address (a broadcast or otherwise self-overlapping view may be read, never written);
 *   <li>every output against every input and every other output of the call: no shared element
 *       ({@link Overlap}, exact), since an output written while it is read gives garbage and two
 *       outputs sharing memory would overwrite each other.
 * </ul>
 *
 * Each refusal names the parameter: {@link NullPointerException}, {@link IllegalStateException},
 * {@link IllegalArgumentException} or {@link java.nio.ReadOnlyBufferException}.
 */
final class Operands {
    private Operands() {}

    /** Not null and open. */
    static void requireOpen(String what, Tensor t) {
        Objects.requireNonNull(t, what);
        if (!t.isOpen()) throw new IllegalStateException(what + " tensor is closed");
    }

    /** Not null, open and float32 (the 2-D backward, layer and prepared filter; float64 goes through {@link Conv}). */
    static void requireOpenFloat32(String what, Tensor t) {
        requireOpen(what, t);
        if (t.dtype() != DType.FLOAT32) {
            throw new IllegalArgumentException(what + " is " + t.dtype() + "; this class runs float32 tensors (use Conv for "
                    + t.dtype() + ": Conv.conv, Conv.gradInput, Conv.gradFilter, Conv.gradBias, ConvLayer)");
        }
    }

    /** An input: not null, open, aligned. */
    static void requireReadable(String what, Tensor t) {
        requireOpen(what, t);
        requireAligned(what, t);
    }

    /** An input of a float32-only class: not null, open, float32, aligned. */
    static void requireFloat32(String what, Tensor t) {
        requireOpenFloat32(what, t);
        requireAligned(what, t);
    }

    /** An output: readable, of {@code shape}, writable, without self-overlap. */
    static void requireWritable(String what, Tensor t, Shape shape) {
        requireReadable(what, t);
        if (!t.shape().equals(shape)) throw new IllegalArgumentException(what + " must have shape " + shape + ", got " + t.shape());
        if (t.isReadOnly()) throw new java.nio.ReadOnlyBufferException();
        requireNoSelfOverlap(what, t);
    }

    /** An output of a float32-only call (the 2-D engine): {@link #requireWritable} and float32, so float32 is never written into float64 memory. */
    static void requireWritableFloat32(String what, Tensor t, Shape shape) {
        requireOpenFloat32(what, t);
        requireWritable(what, t, shape);
    }

    /** An output view must not map two elements to one address (its result would be undefined). */
    static void requireNoSelfOverlap(String what, Tensor t) {
        long[] dims = t.shape().toArray(), strides = t.strides();
        if (!injective(dims, strides)) {
            throw new IllegalArgumentException(prefix(what) + "output view overlaps itself (shape " + t.shape() + ", strides "
                    + Arrays.toString(strides) + ")");
        }
    }

    /** Native code reads whole elements: a buffer at an odd address (a byte slice) is refused here, not there. */
    static void requireAligned(String what, Tensor t) {
        int bytes = t.dtype().bytes();
        if ((t.storage().address() & (bytes - 1)) != 0) {
            throw new IllegalArgumentException(what + " buffer address is not " + bytes + "-byte aligned (a ByteBuffer slice at an"
                    + " odd byte position?); conv4j reads " + t.dtype() + " elements at aligned addresses");
        }
    }

    /**
     * {@code out} (an output) shares no element with {@code other} (an input or another output of
     * the call; null is allowed and ignored).
     */
    static void requireDisjoint(String what, Tensor out, String otherName, Tensor other) {
        if (other == null) return;
        int overlap = Overlap.of(out, other);
        if (overlap == Overlap.SHARED) {
            throw new IllegalArgumentException(prefix(what) + "output memory overlaps the " + otherName
                    + " (aliased buffers: they share elements)");
        }
        if (overlap == Overlap.UNDECIDED) {
            throw new IllegalArgumentException(prefix(what) + "output memory may overlap the " + otherName
                    + ": their address ranges meet and their strides are too irregular to prove that no element is shared"
                    + " (output strides " + Arrays.toString(out.strides()) + ", " + otherName + " strides "
                    + Arrays.toString(other.strides()) + "); copy one of them");
        }
    }

    /**
     * Whether a view of these sizes and strides maps no two elements to one address, by the rule
     * the native core applies to output views: sorted by stride, each axis of size above 1 must
     * step beyond everything the smaller axes reach.
     */
    static boolean injective(long[] dims, long[] strides) {
        int r = dims.length;
        int[] order = new int[r];
        for (int i = 0; i < r; i++) { // insertion sort of the axes by stride (rank is small)
            if (dims[i] == 0) return true;
            int j = i;
            while (j > 0 && strides[order[j - 1]] > strides[i]) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = i;
        }
        long extent = 0; // memory span of the axes placed so far
        for (int i : order) {
            long d = dims[i];
            if (d <= 1) continue;
            if (strides[i] <= extent) return false;
            extent = Math.addExact(extent, Math.multiplyExact(d - 1, strides[i]));
        }
        return true;
    }

    private static String prefix(String what) {
        return what.equals("output") ? "" : what + ": ";
    }

    /** {@code t}'s shape is {@code want}. */
    static void requireShape(String what, Tensor t, Shape want) {
        if (!t.shape().equals(want)) throw new IllegalArgumentException(what + " must have shape " + want + ", got " + t.shape());
    }

    /** The common dtype of the non-null tensors (the first is required); a mix is refused, naming each. */
    static DType sameDType(Tensor first, Tensor second, Tensor third, Tensor fourth) {
        DType dt = first.dtype();
        for (Tensor t : new Tensor[] {second, third, fourth}) {
            if (t != null && t.dtype() != dt) {
                throw new IllegalArgumentException("tensors of one call must have one dtype, got " + dt + " and " + t.dtype()
                        + " (shapes " + first.shape() + " and " + t.shape() + "); convert explicitly");
            }
        }
        return dt;
    }

    /**
     * A gradient call takes dL/d(output before the activation): options with one are refused,
     * naming {@code api}'s way to apply its derivative first ({@code Conv2dBackward} or {@code Conv}).
     */
    static void requireNoActivation(Activation a, String method, String api) {
        if (a != Activation.NONE) {
            throw new IllegalArgumentException("options have activation " + a + ", but " + method
                    + " takes dL/d(output before the activation), the pre-activation output gradient: apply " + api
                    + ".activationGrad(output, gradOutput, " + a + ") first" + (api.equals("Conv2dBackward") ? ", or use Conv2dBackward.backward" : ""));
        }
    }

    /** A caller's output (null: none): {@link #requireWritable} and disjoint from each operand it is computed from (null ones ignored). */
    static void requireTarget(String what, Tensor out, Shape want, String aName, Tensor a, String bName, Tensor b, Tensor bias) {
        if (out == null) return;
        requireWritable(what, out, want);
        requireDisjoint(what, out, aName, a);
        requireDisjoint(what, out, bName, b);
        requireDisjoint(what, out, "bias", bias);
    }

    /** A 2-D filter kept by an object (a prepared filter, a layer) has rank 4, HWIO. */
    static void requireHwioFilter(Shape filter) {
        if (filter.rank() != 4) throw new IllegalArgumentException("filter must have rank 4 [KH,KW,Cin/groups,Cout], got shape " + filter);
    }
}
