package io.conv4j;

import io.conv4j.internal.ConvExecutor;
import io.conv4j.internal.Storage;
import java.nio.ByteBuffer;

/**
 * The last step of the pipeline every entry point runs (validate, describe, plan, execute): one
 * native operation on validated tensors. The caller puts the operands in numbered slots
 * ({@link #operand}); {@link #execute} acquires each one's memory (so a tensor closed meanwhile is
 * refused and none is freed while native code reads it), runs all work units on conv4j's executor
 * through the subclass's {@link #run(long, long, ByteBuffer)}, which reads the slots' buffers and
 * byte offsets ({@link #buffer}, {@link #offset}), then releases them in reverse order and
 * forgets the operands (a long-lived call object keeps no tensor alive).
 *
 * <p>The executor's cost argument is always the estimated single-thread time in seconds (the
 * planner's estimate), which sizes the thread split. Objects are reusable (a layer calls the same
 * one in a loop without allocating) and not thread-safe: one per caller.
 */
abstract class NativeCall implements ConvExecutor.UnitRunner {
    /**
     * The most operands of any native call (both gradients in one call: input, output gradient,
     * filter gradient, bias gradient, prepared filter, input gradient).
     */
    private static final int SLOTS = 6;

    private final Tensor[] operands = new Tensor[SLOTS];
    private final ByteBuffer[] buffers = new ByteBuffer[SLOTS];
    private final long[] offsets = new long[SLOTS];
    private final long[] addresses = new long[SLOTS];
    private final long[] floats = new long[SLOTS];
    private final Storage[] held = new Storage[SLOTS];
    private int count;

    /** Puts {@code t} (may be null: the native call gets a null buffer) in {@code slot} for the next execution. */
    final void operand(int slot, Tensor t) {
        operands[slot] = t;
    }

    /** The buffer of the operand in {@code slot} while it runs; null for a null operand. */
    final ByteBuffer buffer(int slot) {
        return buffers[slot];
    }

    /** The byte offset of the operand's element 0 in its buffer; 0 for a null operand. */
    final long offset(int slot) {
        return offsets[slot];
    }

    /**
     * The native address of the operand's element 0 while it runs; 0 for a null operand. Live while
     * the call runs: its storage is acquired (so not freed by a close) and held by this object (so
     * its buffer stays reachable and the Cleaner cannot free it) until the operands are released.
     */
    final long address(int slot) {
        return addresses[slot];
    }

    /** The floats of the operand's buffer from {@link #address} on; 0 for a null operand. */
    final long floats(int slot) {
        return floats[slot];
    }

    /**
     * Acquires the operands, runs units [0, units) over conv4j's executor, releases.
     * {@code seconds}: the estimated single-thread time, which sizes the thread split.
     */
    final void execute(long units, long workspaceBytes, double seconds) {
        try {
            acquireAll();
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
        executeOnCaller(1, null);
    }

    /**
     * Runs units [0, units) on the calling thread alone, whatever threads the executor has, with
     * the caller's {@code workspace} (at least the call's workspace bytes; null when it needs none):
     * what a measurement of one thread's time runs ({@link ChannelsFirstTrial}).
     */
    final void executeOnCaller(long units, ByteBuffer workspace) {
        try {
            acquireAll();
            run(0, units, workspace);
        } finally {
            releaseAll();
        }
    }

    private void acquireAll() {
        for (int i = 0; i < SLOTS; i++) {
            Tensor t = operands[i];
            if (t == null) {
                buffers[i] = null;
                offsets[i] = 0;
                addresses[i] = 0;
                floats[i] = 0;
                continue;
            }
            Storage s = t.storage();
            s.acquire(); // throws IllegalStateException for a closed tensor; releaseAll() releases the rest
            held[count++] = s;
            buffers[i] = s.buffer();
            offsets[i] = t.offset() * t.dtype().bytes();
            // the tensor's checks proved offset <= capacity: the floats behind element 0, never negative
            addresses[i] = s.address() + offsets[i];
            floats[i] = (s.capacityElements(1) - offsets[i]) / Float.BYTES;
        }
    }

    private void releaseAll() {
        while (count > 0) {
            held[--count].release();
            held[count] = null;
        }
        for (int i = 0; i < SLOTS; i++) {
            operands[i] = null;
            buffers[i] = null;
        }
    }
}
