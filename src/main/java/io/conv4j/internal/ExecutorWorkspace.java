package io.conv4j.internal;

import java.nio.ByteBuffer;

/** A permit's native scratch memory; grows to the largest size asked of it. */
final class ExecutorWorkspace {
    /** Growth granularity, so slightly different shapes reuse one allocation. */
    private static final long GRANULE = 64 * 1024;
    ByteBuffer buffer;
    long address;
    long capacity;

    void ensure(long bytes) {
        if (bytes <= capacity) return;
        if (bytes > Integer.MAX_VALUE - GRANULE) { // a direct buffer holds at most 2 GiB
            throw new OutOfMemoryError("conv4j: this convolution needs a workspace of " + bytes
                    + " bytes, more than the 2 GiB a direct buffer can hold");
        }
        long size = Math.max(GRANULE, (bytes + GRANULE - 1) / GRANULE * GRANULE);
        ByteBuffer fresh = NativeCore.allocate(size); // throws OutOfMemoryError; old one is kept then
        if (buffer != null) NativeCore.free(address);
        buffer = fresh;
        address = NativeCore.address(fresh);
        capacity = size;
    }

    void free() {
        if (buffer != null) NativeCore.free(address);
        buffer = null;
        address = 0;
        capacity = 0;
    }
}
