package io.conv4j;

import io.conv4j.internal.ConvExecutor;
import io.conv4j.internal.Storage;
import java.nio.ByteBuffer;

/**
 * The last step of the pipeline every entry point runs (validate, describe, plan, execute): one
 * native operation on validated tensors. A subclass names its operands in fields and its native
 * function in {@link #run(long, long, ByteBuffer)}; {@link #execute} acquires every operand's
 * memory ({@link #acquire}, so a tensor closed meanwhile is refused and none is freed while native
 * code reads it), runs all work units on conv4j's executor, and releases them in reverse order.
 *
 * <p>The executor's cost argument is always the estimated single-thread time in seconds (the
 * planner's estimate), which sizes the thread split. Objects are reusable (a layer calls the same
 * one in a loop without allocating) and not thread-safe: one per caller.
 */
abstract class NativeCall implements ConvExecutor.UnitRunner {
    private final Storage[] held = new Storage[5];
    private int count;

    /** Acquires {@code t}'s memory until the end of {@link #execute} and returns its buffer; null for null. */
    final ByteBuffer hold(Tensor t) {
        if (t == null) return null;
        Storage s = t.storage();
        s.acquire(); // throws IllegalStateException for a closed tensor; execute() releases the rest
        held[count++] = s;
        return s.buffer();
    }

    /** Byte offset of {@code t}'s element 0 in its buffer; 0 for null. */
    static long bytes(Tensor t) {
        return t == null ? 0 : t.offset() * t.dtype().bytes();
    }

    /** Calls {@link #hold} for every tensor the operation reads or writes, and keeps the buffers and offsets. */
    abstract void acquire();

    /**
     * Acquires the operands, runs units [0, units) over conv4j's executor, releases.
     * {@code seconds}: the estimated single-thread time, which sizes the thread split.
     */
    final void execute(long units, long workspaceBytes, double seconds) {
        try {
            acquire();
            ConvExecutor.get().run(units, workspaceBytes, seconds, this);
        } finally {
            releaseAll();
        }
    }

    /**
     * Runs an operation of one unit on the calling thread (a filter transform, an elementwise
     * pass): acquires, runs unit 0 without a workspace, releases.
     */
    final void executeHere() {
        try {
            acquire();
            run(0, 1, null);
        } finally {
            releaseAll();
        }
    }

    private void releaseAll() {
        while (count > 0) {
            held[--count].release();
            held[count] = null;
        }
    }
}
