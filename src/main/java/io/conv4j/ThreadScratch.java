package io.conv4j;

/**
 * Tensors a thread keeps between its calls, one per slot, reused while the slot's shape stays the
 * same: fresh native memory costs more than the copies that fill it (its pages are zeroed and
 * faulted in on first touch, then returned), and calls through the same tensor objects also hit
 * the convolution's per-thread call cache. Each owner (the nested-array drop-in, the channels-first
 * route) holds its own instance in a {@link ThreadLocal}, so no tensor is ever shared between
 * threads or between owners, and none leaves its owner. Tensors above {@link #KEPT_FLOATS} floats
 * are handed out as temporaries instead: a call that large is dominated by its arithmetic, and a
 * thread should not hold that much memory after it. The memory is freed when the thread ends.
 */
final class ThreadScratch {
    /** Largest tensor (floats) a slot keeps between calls: 16 MiB. */
    static final long KEPT_FLOATS = 4L << 20;

    private final Tensor[] slots;

    ThreadScratch(int slots) {
        this.slots = new Tensor[slots];
    }

    /** The slot's float32 tensor of {@code shape} (contiguous; its values are stale): kept, or a temporary to {@link #release}. */
    Tensor get(int slot, Shape shape) {
        Tensor t = slots[slot];
        if (t != null && t.shape().equals(shape) && t.isOpen()) return t;
        if (t != null) {
            slots[slot] = null;
            t.close();
        }
        t = Tensor.allocate(shape);
        if (shape.numElements() <= KEPT_FLOATS) slots[slot] = t;
        return t;
    }

    /** Whether {@code t} is one of the kept tensors (the same object). */
    boolean keeps(Tensor t) {
        for (Tensor k : slots) if (k == t) return true;
        return false;
    }

    /** Closes {@code t} (may be null) unless it is kept. */
    void release(Tensor t) {
        if (t != null && !keeps(t)) t.close();
    }
}
