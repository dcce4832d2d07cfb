package io.conv4j;

import io.conv4j.internal.NativeCore;
import io.conv4j.internal.Storage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * A tensor of float32 or float64 elements ({@link DType}): a strided view (shape, element strides, element offset) over direct memory
 * in native byte order.
 *
 * <p>Memory comes from {@link #allocate} (conv4j's own, zero-filled, 64-byte aligned) or from a
 * caller's direct {@link ByteBuffer} ({@link #wrap}). Views ({@link #permute}, {@link #slice},
 * {@link #reshape}) share the memory without copying; {@link Conv2d} accepts any such view as
 * input, so an NCHW buffer can be convolved as NHWC with {@code permute(0, 2, 3, 1)}.
 *
 * <p>{@link #close()} releases the memory shared by a tensor and all its views; any later use of
 * any of them throws {@link IllegalStateException}. Memory conv4j allocated is freed at once on
 * close, unless {@link #buffer()} handed it out (then the garbage collector frees it when the
 * buffer is unreachable). Tensors are safe to read from many threads; writes are the caller's to
 * coordinate.
 *
 * <p><b>Ownership, the same rule for every entry point.</b> Every tensor a conv4j method returns
 * is the caller's: close it when done (try-with-resources is always right), and closing it never
 * affects conv4j or any later call. Three cases, one rule:
 * <ul>
 *   <li>a result in fresh memory ({@code Conv2d.conv2d(x, w, options)}, the gradients, the
 *       array and N-d calls): closing it frees the memory;
 *   <li>a result written into a tensor the caller passed ({@code output}, {@code into}): the call
 *       returns that same tensor, still the caller's, as it was;
 *   <li>a tensor a layer returns ({@link Conv2dLayer#forward}, {@link Conv2dLayer#backward},
 *       {@link Conv2dLayer#filter()}, {@link ConvLayer#gradFilter()}, {@link Conv2dGradients#gradInput()}...):
 *       a handle of the caller's on memory the object keeps using. Its contents change with the
 *       object's next call (as each method says); closing it ends only the handle; closing the
 *       layer (or gradients object) frees the memory and ends every handle on it.
 * </ul>
 * Tensors the caller passes in stay the caller's; conv4j never closes them, and a layer that
 * keeps a reference to its last input for the backward pass says so.
 *
 * <p>The float methods ({@code fromArray(float[])}, {@code toArray}, {@code get}...) are for
 * float32 tensors and the double ones ({@code fromArray(double[])}, {@code toDoubleArray}...) for
 * float64 tensors; the wrong kind throws {@link IllegalStateException} naming the dtype, never
 * converts. Element strides and offsets count elements of the tensor's dtype.
 */
public final class Tensor implements AutoCloseable {
    private final DType dtype;
    private final Storage storage;
    private final Shape shape;
    private final long[] strides;
    private final long offset;

    private Tensor(DType dtype, Storage storage, Shape shape, long[] strides, long offset) {
        this.dtype = dtype;
        this.storage = storage;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        checkReach(storage.capacityElements(dtype.bytes()), shape, strides, offset);
    }

    // ------------------------------------------------------------------ creation

    /** A new zero-filled contiguous float32 tensor in conv4j-owned native memory. */
    public static Tensor allocate(Shape shape) {
        return allocate(DType.FLOAT32, shape);
    }

    /** A new zero-filled contiguous tensor of the given dtype in conv4j-owned native memory. */
    public static Tensor allocate(DType dtype, Shape shape) {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(shape, "shape");
        return new Tensor(dtype, Storage.allocate(shape.numElements(), dtype.bytes()), shape, contiguousStrides(shape), 0);
    }

    /** A new float64 tensor holding a copy of {@code data} (row-major, {@code shape.numElements()} long). */
    public static Tensor fromArray(double[] data, Shape shape) {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(shape, "shape");
        if (data.length != shape.numElements()) {
            throw new IllegalArgumentException("array of " + data.length + " doubles does not match shape " + shape
                    + " (" + shape.numElements() + " elements)");
        }
        Tensor t = allocate(DType.FLOAT64, shape);
        t.copyFrom(data);
        return t;
    }

    /** A new float64 tensor holding a copy of {@code data} with the given dimensions. */
    public static Tensor fromArray(double[] data, long... dims) {
        return fromArray(data, Shape.of(dims));
    }

    /** A new zero-filled contiguous tensor with the given dimensions. */
    public static Tensor allocate(long... dims) {
        return allocate(Shape.of(dims));
    }

    /** A new tensor holding a copy of {@code data} (row-major, {@code shape.numElements()} long). */
    public static Tensor fromArray(float[] data, Shape shape) {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(shape, "shape");
        if (data.length != shape.numElements()) {
            throw new IllegalArgumentException("array of " + data.length + " floats does not match shape " + shape
                    + " (" + shape.numElements() + " elements)");
        }
        Tensor t = allocate(shape);
        t.copyFrom(data);
        return t;
    }

    /** A new tensor holding a copy of {@code data} with the given dimensions. */
    public static Tensor fromArray(float[] data, long... dims) {
        return fromArray(data, Shape.of(dims));
    }

    /**
     * A new [N, H, W, C] tensor holding a copy of a rectangular nested array (a ragged or null
     * element is refused, naming it). Copies row by row, without an intermediate flat array.
     */
    public static Tensor fromNested(float[][][][] data) {
        Shape shape = NestedArrays.shapeOf("data", data);
        Tensor t = allocate(shape);
        try {
            t.fillFromNested(data);
            return t;
        } catch (RuntimeException | Error e) {
            t.close();
            throw e;
        }
    }

    /**
     * Copies a rectangular nested array of exactly this contiguous float32 tensor's shape (the caller
     * checked it, {@link NestedArrays#shapeOf}) into this tensor.
     */
    void fillFromNested(float[][][][] data) {
        storage.acquire();
        try {
            // one bulk put per image row: bulk calls on a direct buffer cost far more per call than
            // a short copy
            FloatBuffer fb = storage.buffer().asFloatBuffer();
            int w = (int) shape.size(2), c = (int) shape.size(3);
            float[] row = new float[w * c];
            long p = offset;
            for (float[][][] a : data)
                for (float[][] b : a) {
                    gatherRow(b, row, w, c);
                    fb.put((int) p, row, 0, row.length);
                    p += row.length;
                }
        } finally {
            storage.release();
        }
    }

    /**
     * Whether this contiguous float32 tensor holds exactly the values of a nested array of its shape
     * (bit for bit: -0.0 differs from 0.0, and NaNs compare by their bits).
     */
    boolean sameValues(float[][][][] data) {
        storage.acquire();
        try {
            FloatBuffer fb = storage.buffer().asFloatBuffer();
            int w = (int) shape.size(2), c = (int) shape.size(3);
            float[] row = new float[w * c], held = new float[w * c];
            long p = offset;
            for (float[][][] a : data)
                for (float[][] b : a) {
                    gatherRow(b, row, w, c);
                    fb.get((int) p, held, 0, held.length);
                    p += held.length;
                    if (!NestedArrays.sameBits(row, held)) return false;
                }
            return true;
        } finally {
            storage.release();
        }
    }

    /**
     * The {@code w} pixels of one image row of a nested array, {@code c} channels each, into
     * {@code row} (the layout of a contiguous tensor's row). The innermost arrays are often a few
     * channels, which a plain loop copies faster than arraycopy's per-call checks; gray, RGB and
     * RGBA pixels (a network's input) are copied without the inner loop, whose set-up per pixel
     * costs as much as the copy.
     */
    private static void gatherRow(float[][] pixels, float[] row, int w, int c) {
        if (c == 1) {
            for (int k = 0; k < w; k++) row[k] = pixels[k][0];
        } else if (c == 3) {
            for (int k = 0, q = 0; k < w; k++, q += 3) {
                float[] px = pixels[k];
                float r = px[0], g = px[1], b = px[2];
                row[q] = r;
                row[q + 1] = g;
                row[q + 2] = b;
            }
        } else if (c == 4) {
            for (int k = 0, q = 0; k < w; k++, q += 4) {
                float[] px = pixels[k];
                float r = px[0], g = px[1], b = px[2], a = px[3];
                row[q] = r;
                row[q + 1] = g;
                row[q + 2] = b;
                row[q + 3] = a;
            }
        } else if (c < 16) {
            for (int k = 0, q = 0; k < w; k++, q += c) {
                float[] px = pixels[k];
                for (int l = 0; l < c; l++) row[q + l] = px[l];
            }
        } else {
            for (int k = 0; k < w; k++) System.arraycopy(pixels[k], 0, row, k * c, c);
        }
    }

    /** This rank-4 tensor as a new nested array {@code [d0][d1][d2][d3]}, copied row by row. */
    public float[][][][] toNested() {
        requireDType(DType.FLOAT32);
        if (rank() != 4) throw new IllegalStateException("toNested needs a rank-4 tensor, this one has shape " + shape);
        long n = shape.size(0), h = shape.size(1), w = shape.size(2), c = shape.size(3);
        if (Math.max(Math.max(n, h), Math.max(w, c)) > Integer.MAX_VALUE - 8 || shape.numElements() > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("tensor too large for a Java array: " + shape);
        }
        // the innermost arrays are new arrays each filled at once by arraycopy from a row read in
        // bulk: the JIT then leaves out their zeroing (copyOfRange, which should do the same, ran
        // 1.3x slower on the demo's output)
        float[][][][] out = new float[(int) n][(int) h][(int) w][];
        storage.acquire();
        try {
            FloatBuffer fb = storage.buffer().asFloatBuffer();
            boolean rows = strides[3] == 1 && strides[2] == c; // each image row is one contiguous run
            float[] run = rows ? new float[(int) (w * c)] : null;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < h; j++) {
                    long e0 = offset + i * strides[0] + j * strides[1];
                    float[][] pixels = out[i][j];
                    if (rows) {
                        fb.get((int) e0, run, 0, run.length);
                        for (int k = 0; k < w; k++) {
                            float[] px = new float[(int) c];
                            System.arraycopy(run, (int) (k * c), px, 0, (int) c);
                            pixels[k] = px;
                        }
                        continue;
                    }
                    for (int k = 0; k < w; k++) {
                        float[] row = pixels[k] = new float[(int) c];
                        long e = e0 + k * strides[2];
                        for (int l = 0; l < c; l++) row[l] = fb.get((int) (e + l * strides[3]));
                    }
                }
        } finally {
            storage.release();
        }
        return out;
    }

    /**
     * A contiguous row-major view of a caller's direct buffer, from its index 0 (use
     * {@link ByteBuffer#slice()} to start elsewhere). The floats must be in native byte order;
     * conv4j never frees the buffer.
     */
    public static Tensor wrap(ByteBuffer buffer, Shape shape) {
        Objects.requireNonNull(shape, "shape");
        return wrap(buffer, shape, contiguousStrides(shape), 0);
    }

    /** A strided float32 view of a caller's direct buffer: element strides and element offset. */
    public static Tensor wrap(ByteBuffer buffer, Shape shape, long[] strides, long offset) {
        return wrap(buffer, DType.FLOAT32, shape, strides, offset);
    }

    /** A contiguous row-major view of a caller's direct buffer holding elements of {@code dtype}. */
    public static Tensor wrap(ByteBuffer buffer, DType dtype, Shape shape) {
        Objects.requireNonNull(shape, "shape");
        return wrap(buffer, dtype, shape, contiguousStrides(shape), 0);
    }

    /** A strided view of a caller's direct buffer of {@code dtype} elements: element strides and offset. */
    public static Tensor wrap(ByteBuffer buffer, DType dtype, Shape shape, long[] strides, long offset) {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(buffer, "buffer");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(strides, "strides");
        if (!buffer.isDirect()) {
            throw new IllegalArgumentException("buffer is a heap ByteBuffer; conv4j needs a direct buffer"
                    + " (ByteBuffer.allocateDirect, or Tensor.fromArray to copy)");
        }
        if (buffer.order() != ByteOrder.nativeOrder()) {
            throw new IllegalArgumentException("buffer byte order is " + buffer.order() + " but conv4j reads floats in native order "
                    + ByteOrder.nativeOrder() + " (set buffer.order(ByteOrder.nativeOrder()))");
        }
        return new Tensor(dtype, Storage.wrap(buffer), shape, strides.clone(), offset);
    }

    /**
     * Reads a NumPy {@code .npy} file (format version 1.0, 2.0 or 3.0) into a new tensor with the
     * shape its header gives: a {@link DType#FLOAT32} tensor for little-endian float32
     * ({@code '<f4'}), a {@link DType#FLOAT64} one for {@code '<f8'}, in C order; Fortran order,
     * big-endian, object and other dtypes are refused. The data is streamed into the tensor
     * through a small buffer, never held twice.
     *
     * @throws IOException if the file cannot be read, is not a .npy file, has a truncated or
     *     malformed header, a negative or overflowing shape, an unsupported dtype or order, or
     *     holds more or fewer bytes than its header declares
     * @throws IllegalArgumentException if the array is too large for one conv4j tensor
     */
    public static Tensor readNpy(Path file) throws IOException {
        return NpyFiles.read(file);
    }

    /**
     * Writes this tensor as a NumPy {@code .npy} file (format 1.0, C order, {@code '<f4'} or
     * {@code '<f8'} by its dtype), creating or truncating {@code file}; {@code numpy.load} reads
     * it back with this shape. The data is streamed through a small buffer (a non-contiguous view
     * is first copied once).
     *
     * @throws IOException if the file cannot be written
     * @throws IllegalStateException if this tensor is closed
     */
    public void writeNpy(Path file) throws IOException {
        NpyFiles.write(this, file);
    }

    // ------------------------------------------------------------------ views

    /**
     * A view with the axes reordered: axis {@code i} of the result is axis {@code axes[i]} of this
     * tensor. {@code permute(0, 2, 3, 1)} turns an NCHW tensor into an NHWC view.
     */
    public Tensor permute(int... axes) {
        Objects.requireNonNull(axes, "axes");
        int r = rank();
        if (axes.length != r) {
            throw new IllegalArgumentException("permute needs " + r + " axes, got " + Arrays.toString(axes));
        }
        boolean[] seen = new boolean[r];
        long[] dims = new long[r];
        long[] st = new long[r];
        for (int i = 0; i < r; i++) {
            int a = axes[i];
            if (a < 0 || a >= r || seen[a]) {
                throw new IllegalArgumentException("permute axes " + Arrays.toString(axes) + " are not a permutation of 0.." + (r - 1));
            }
            seen[a] = true;
            dims[i] = shape.size(a);
            st[i] = strides[a];
        }
        return new Tensor(dtype, storage, Shape.of(dims), st, offset);
    }

    /** A view of {@code length} entries of {@code axis} starting at {@code start} (a crop or a channel slice). */
    public Tensor slice(int axis, long start, long length) {
        Objects.checkIndex(axis, rank());
        Objects.checkFromIndexSize(start, length, shape.size(axis));
        long[] dims = shape.toArray();
        dims[axis] = length;
        Shape sliced = Shape.of(dims);
        // a view without elements keeps the offset: in an empty tensor (batch 0) a channel slice has no address to step to
        long off = sliced.numElements() == 0 ? offset : Math.addExact(offset, Math.multiplyExact(start, strides[axis]));
        return new Tensor(dtype, storage, sliced, strides.clone(), off);
    }

    /** A view with another shape of the same size; this tensor must be contiguous. */
    public Tensor reshape(Shape newShape) {
        Objects.requireNonNull(newShape, "newShape");
        if (newShape.numElements() != shape.numElements()) {
            throw new IllegalArgumentException("cannot reshape " + shape + " to " + newShape + ": sizes differ");
        }
        if (!isContiguous()) throw new IllegalStateException("reshape needs a contiguous tensor; call contiguous() first");
        return new Tensor(dtype, storage, newShape, contiguousStrides(newShape), offset);
    }

    /** This tensor if contiguous, else a new contiguous copy (which the caller then owns). */
    public Tensor contiguous() {
        if (isContiguous()) return this;
        Tensor copy = allocate(dtype, shape);
        try {
            copy.copyFrom(this);
        } catch (RuntimeException | Error e) { // e.g. this tensor is closed: free the copy now
            copy.close();
            throw e;
        }
        return copy;
    }

    // ------------------------------------------------------------------ data access

    /** Copies {@code data} (row-major over this tensor's shape) into this tensor. */
    public void copyFrom(float[] data) {
        Objects.requireNonNull(data, "data");
        requireDType(DType.FLOAT32);
        if (data.length != shape.numElements()) {
            throw new IllegalArgumentException("array of " + data.length + " floats does not match shape " + shape);
        }
        checkWritable();
        storage.acquire();
        try {
            FloatBuffer fb = storage.buffer().asFloatBuffer();
            if (isContiguous()) {
                fb.put((int) offset, data, 0, data.length);
            } else {
                forEachIndex((i, e) -> fb.put((int) e, data[(int) i]));
            }
        } finally {
            storage.release();
        }
    }

    /** Copies another tensor of the same shape (any strides) into this one. */
    public void copyFrom(Tensor src) {
        Objects.requireNonNull(src, "src");
        if (!src.shape.equals(shape)) throw new IllegalArgumentException("shape " + src.shape + " does not match " + shape);
        if (src.dtype != dtype) throw new IllegalArgumentException("dtype " + src.dtype + " does not match " + dtype);
        if (dtype == DType.FLOAT32 && rank() == 4 && shape.numElements() > 0 && nonNegativeStrides() && src.nonNegativeStrides()
                && !overlaps(src)) {
            copyViewFrom(src);
            return;
        }
        if (dtype == DType.FLOAT64) copyFrom(src.toDoubleArray());
        else copyFrom(src.toArray());
    }

    /** Rank-4 float32 views in disjoint memory: one native strided copy (a blocked transpose for NHWC to NCHW). */
    private void copyViewFrom(Tensor src) {
        checkWritable();
        src.storage.acquire();
        try {
            storage.acquire();
            try {
                NativeCore.copyView(src.storage.buffer(), src.offset * Float.BYTES, src.strides.clone(), storage.buffer(),
                        offset * Float.BYTES, strides.clone(), shape.toArray());
            } finally {
                storage.release();
            }
        } finally {
            src.storage.release();
        }
    }

    private boolean nonNegativeStrides() {
        for (long st : strides) if (st < 0) return false;
        return true;
    }

    /** Whether the memory this view spans and the one {@code other} spans intersect. */
    private boolean overlaps(Tensor other) {
        long a0 = storage.address() + offset * dtype.bytes(), a1 = storage.address() + (maxElementIndex() + 1) * dtype.bytes();
        long b0 = other.storage.address() + other.offset * other.dtype.bytes();
        long b1 = other.storage.address() + (other.maxElementIndex() + 1) * other.dtype.bytes();
        return a0 < b1 && b0 < a1;
    }

    /** Copies {@code data} (row-major over this float64 tensor's shape) into this tensor. */
    public void copyFrom(double[] data) {
        Objects.requireNonNull(data, "data");
        requireDType(DType.FLOAT64);
        if (data.length != shape.numElements()) {
            throw new IllegalArgumentException("array of " + data.length + " doubles does not match shape " + shape);
        }
        checkWritable();
        storage.acquire();
        try {
            java.nio.DoubleBuffer db = storage.buffer().asDoubleBuffer();
            if (isContiguous()) {
                db.put((int) offset, data, 0, data.length);
            } else {
                forEachIndex((i, e) -> db.put((int) e, data[(int) i]));
            }
        } finally {
            storage.release();
        }
    }

    /** Copies this float64 tensor, row-major, into {@code data}. */
    public void copyTo(double[] data) {
        Objects.requireNonNull(data, "data");
        requireDType(DType.FLOAT64);
        if (data.length != shape.numElements()) {
            throw new IllegalArgumentException("array of " + data.length + " doubles does not match shape " + shape);
        }
        storage.acquire();
        try {
            java.nio.DoubleBuffer db = storage.buffer().asDoubleBuffer();
            if (isContiguous()) {
                db.get((int) offset, data, 0, data.length);
            } else {
                forEachIndex((i, e) -> data[(int) i] = db.get((int) e));
            }
        } finally {
            storage.release();
        }
    }

    /** A new array with this float64 tensor's elements in row-major order. */
    public double[] toDoubleArray() {
        long n = shape.numElements();
        if (n > Integer.MAX_VALUE - 8) throw new IllegalStateException("tensor too large for a Java array: " + shape);
        double[] out = new double[(int) n];
        copyTo(out);
        return out;
    }

    /** Copies this tensor, row-major, into {@code data}. */
    public void copyTo(float[] data) {
        Objects.requireNonNull(data, "data");
        requireDType(DType.FLOAT32);
        if (data.length != shape.numElements()) {
            throw new IllegalArgumentException("array of " + data.length + " floats does not match shape " + shape);
        }
        storage.acquire();
        try {
            FloatBuffer fb = storage.buffer().asFloatBuffer();
            if (isContiguous()) {
                fb.get((int) offset, data, 0, data.length);
            } else {
                forEachIndex((i, e) -> data[(int) i] = fb.get((int) e));
            }
        } finally {
            storage.release();
        }
    }

    /** A new array with this tensor's elements in row-major order. */
    public float[] toArray() {
        long n = shape.numElements();
        if (n > Integer.MAX_VALUE - 8) throw new IllegalStateException("tensor too large for a Java array: " + shape);
        float[] out = new float[(int) n];
        copyTo(out);
        return out;
    }

    /** The element at the given index. */
    public float get(long... index) {
        requireDType(DType.FLOAT32);
        long e = elementIndex(index);
        storage.acquire();
        try {
            return storage.buffer().getFloat((int) (e * Float.BYTES));
        } finally {
            storage.release();
        }
    }

    /** Sets the element at the given index. */
    public void set(float value, long... index) {
        requireDType(DType.FLOAT32);
        long e = elementIndex(index);
        checkWritable();
        storage.acquire();
        try {
            storage.buffer().putFloat((int) (e * Float.BYTES), value);
        } finally {
            storage.release();
        }
    }

    // ------------------------------------------------------------------ properties

    /** The element type. */
    public DType dtype() {
        return dtype;
    }

    public Shape shape() {
        return shape;
    }

    public int rank() {
        return shape.rank();
    }

    /** Element strides, one per axis (a fresh array). */
    public long[] strides() {
        return strides.clone();
    }

    /** Element offset of index (0, ..., 0) in the underlying memory. */
    public long offset() {
        return offset;
    }

    /** True if the elements are densely packed in row-major order. */
    public boolean isContiguous() {
        long expect = 1;
        for (int i = rank() - 1; i >= 0; i--) {
            if (shape.size(i) != 1 && strides[i] != expect) return false;
            expect *= shape.size(i);
        }
        return true;
    }

    public boolean isReadOnly() {
        return storage.isReadOnly();
    }

    public boolean isOpen() {
        return storage.isOpen();
    }

    /**
     * The whole underlying memory as a direct buffer in native order (index 0 is element 0, not
     * {@link #offset()}). Once handed out, conv4j-allocated memory is no longer freed by
     * {@link #close()} but by the garbage collector, since the caller may still hold the buffer.
     */
    public ByteBuffer buffer() {
        return storage.exposedBuffer(); // atomic with close(): no check-then-use
    }

    /** Releases the memory of this tensor and of every view sharing it (idempotent). */
    @Override
    public void close() {
        storage.close();
    }

    @Override
    public String toString() {
        return "Tensor[" + (dtype == DType.FLOAT32 ? "" : dtype + ", ") + "shape=" + shape + ", strides=" + Arrays.toString(strides) + ", offset=" + offset
                + (storage.isOwned() ? ", conv4j memory" : ", wrapped buffer") + (storage.isOpen() ? "" : ", closed") + "]";
    }

    // ------------------------------------------------------------------ package-private, for Conv2d

    Storage storage() {
        return storage;
    }

    /**
     * The same view through a handle of its own on the same memory ({@link Storage#share}): closing
     * either never ends the other; the memory is freed when both are closed. What a layer returns,
     * so that a caller closing it never breaks the layer.
     */
    Tensor share() {
        return new Tensor(dtype, storage.share(), shape, strides, offset);
    }

    /**
     * A handle to give the caller: {@code last} (the handle given last time) while the caller keeps
     * it open, else a new {@link #share}; so a loop that never closes it allocates nothing.
     */
    Tensor lend(Tensor last) {
        return last != null && last.isOpen() ? last : share();
    }

    long stride(int axis) {
        return strides[axis];
    }

    /** The same view with a size-1 axis inserted before {@code axis} (a rank-1 convolution seen as rank 2). */
    Tensor withUnitAxis(int axis) {
        long[] dims = new long[rank() + 1], st = new long[rank() + 1];
        for (int i = 0, j = 0; i <= rank(); i++) {
            if (i == axis) {
                dims[i] = 1;
                st[i] = 0;
            } else {
                dims[i] = shape.size(j);
                st[i] = strides[j++];
            }
        }
        return new Tensor(dtype, storage, Shape.of(dims), st, offset);
    }

    void requireDType(DType want) {
        if (dtype != want) {
            throw new IllegalStateException("tensor is " + dtype + ", this method is for " + want + " tensors"
                    + (dtype == DType.FLOAT64 ? " (use the double[] methods, e.g. toDoubleArray)" : ""));
        }
    }

    /**
     * This view with the stride of every size-1 axis replaced by the extent of the axes inside it
     * (what a contiguous layout would have). Such a stride never moves an address, so the view is
     * the same; but a caller may give it any value up to 2^63-1, and the geometry arithmetic and
     * the native core need every stride bounded. The results stay below 2^30: each is at most
     * twice the reach of a non-empty view of a direct buffer. An empty view gets all-zero strides.
     */
    Tensor canonical() {
        if (shape.numElements() == 0) { // no element, no address: all-zero strides cannot overflow
            return Arrays.equals(strides, new long[rank()]) ? this : new Tensor(dtype, storage, shape, new long[rank()], offset);
        }
        long[] st = strides.clone();
        boolean changed = false;
        long inner = 1;
        for (int i = rank() - 1; i >= 0; i--) {
            if (shape.size(i) == 1 && st[i] != inner) {
                st[i] = inner;
                changed = true;
            }
            inner = Math.multiplyExact(shape.size(i), st[i]);
        }
        return changed ? new Tensor(dtype, storage, shape, st, offset) : this;
    }

    /** Highest element index this view touches, or -1 if it has no elements. */
    long maxElementIndex() {
        if (shape.numElements() == 0) return -1;
        long reach = offset;
        for (int i = 0; i < rank(); i++) reach = Math.addExact(reach, Math.multiplyExact(shape.size(i) - 1, strides[i]));
        return reach;
    }

    // ------------------------------------------------------------------ helpers

    static long[] contiguousStrides(Shape shape) {
        long[] st = new long[shape.rank()];
        long s = 1;
        try {
            for (int i = shape.rank() - 1; i >= 0; i--) {
                st[i] = s;
                s = Math.multiplyExact(s, Math.max(shape.size(i), 1));
            }
        } catch (ArithmeticException e) {
            // only an empty shape gets here (e.g. [0, 2^62, 4]): it has no element, so no stride
            // is ever used, and zeros describe it without overflowing
            return new long[shape.rank()];
        }
        return st;
    }

    private static void checkReach(long capacity, Shape shape, long[] strides, long offset) {
        if (strides.length != shape.rank()) {
            throw new IllegalArgumentException(strides.length + " strides given for shape " + shape + " of rank " + shape.rank());
        }
        if (offset < 0) throw new IllegalArgumentException("offset must be non-negative, got " + offset);
        for (int i = 0; i < strides.length; i++) {
            if (strides[i] < 0) throw new IllegalArgumentException("stride " + i + " is negative: " + strides[i]);
        }
        if (shape.numElements() == 0) {
            if (offset > capacity) throw new IndexOutOfBoundsException("offset " + offset + " beyond buffer of " + capacity + " floats");
            return;
        }
        long reach;
        try {
            reach = offset;
            for (int i = 0; i < shape.rank(); i++) reach = Math.addExact(reach, Math.multiplyExact(shape.size(i) - 1, strides[i]));
        } catch (ArithmeticException e) {
            throw new IndexOutOfBoundsException("view " + shape + " with strides " + Arrays.toString(strides) + " overflows");
        }
        if (reach >= capacity) {
            throw new IndexOutOfBoundsException("view " + shape + " with strides " + Arrays.toString(strides) + " and offset " + offset
                    + " reaches element " + reach + " but the buffer holds " + capacity + " floats");
        }
    }

    private void checkWritable() {
        if (storage.isReadOnly()) throw new java.nio.ReadOnlyBufferException();
    }

    private long elementIndex(long[] index) {
        Objects.requireNonNull(index, "index");
        if (index.length != rank()) throw new IllegalArgumentException("index of rank " + index.length + " for a tensor of rank " + rank());
        long e = offset;
        for (int i = 0; i < index.length; i++) {
            Objects.checkIndex(index[i], shape.size(i));
            e += index[i] * strides[i];
        }
        return e;
    }

    private interface IndexVisitor {
        void visit(long rowMajorIndex, long elementIndex);
    }

    /** Visits every element in row-major order with its element index in memory. */
    private void forEachIndex(IndexVisitor v) {
        int r = rank();
        long n = shape.numElements();
        if (n == 0) return;
        long[] idx = new long[r];
        long e = offset;
        for (long i = 0; i < n; i++) {
            v.visit(i, e);
            for (int a = r - 1; a >= 0; a--) {
                if (++idx[a] < shape.size(a)) {
                    e += strides[a];
                    break;
                }
                e -= (idx[a] - 1) * strides[a];
                idx[a] = 0;
            }
        }
    }
}
