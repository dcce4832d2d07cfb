package io.conv4j.internal;

import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The memory behind one or more tensors, and the rules for using and releasing it.
 *
 * <p>Every access (a native call, a copy) runs between {@link #acquire()} and {@link #release()}.
 * {@link #close()} forbids new accesses; memory conv4j allocated is freed once the last running
 * access ends, so a close racing with a convolution on another thread can never free memory in
 * use. Memory whose {@link ByteBuffer} was handed out ({@link #exposedBuffer()}) is never freed
 * early: a caller may still hold the buffer, so only the {@link Cleaner} frees it, when the
 * buffer is unreachable. Wrapped caller buffers are never freed by conv4j.
 *
 * <p>One memory may have several handles ({@link #share()}): each is closed on its own, and the
 * memory is freed when the last handle is closed (and idle). This is how a layer hands out a
 * tensor over memory it keeps using: the caller may close the tensor it got, which ends only its
 * handle, never the layer's.
 */
public final class Storage {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final int CLOSED = 1 << 30;

    private final ByteBuffer root;
    private final long address;
    private final long capacityFloats;
    private final boolean readOnly;
    private final Cleaner.Cleanable freeing; // null for caller memory
    private final AtomicInteger state = new AtomicInteger(); // users of this handle, plus CLOSED once closed
    /** What the handles of one memory share: how many are not yet closed and idle, and whether the buffer was handed out. */
    private final Shared shared;
    /** A caller's buffer, which may map a file (see {@link #requirePagesPresent}); null for conv4j memory. */
    private final MappedByteBuffer callerBuffer;

    private static final class Shared {
        final AtomicInteger handles = new AtomicInteger(1);
        volatile boolean exposed;
    }

    private Storage(ByteBuffer root, long address, boolean readOnly, Cleaner.Cleanable freeing, Shared shared) {
        this.root = root;
        this.callerBuffer = freeing == null && root instanceof MappedByteBuffer ? (MappedByteBuffer) root : null;
        this.address = address;
        this.capacityFloats = root.capacity() / Float.BYTES;
        this.readOnly = readOnly;
        this.freeing = freeing;
        this.shared = shared;
    }

    /**
     * A second handle on the same memory, open until its own {@link #close()}; the memory is freed
     * when every handle is closed. Throws {@link IllegalStateException} if this handle is closed.
     */
    public Storage share() {
        acquire(); // the memory cannot be freed while this handle is in use
        try {
            shared.handles.incrementAndGet();
            return new Storage(root, address, readOnly, freeing, shared);
        } finally {
            release();
        }
    }

    /** Fresh zero-filled native memory for {@code floats} floats (at least one), 64-byte aligned. */
    public static Storage allocate(long floats) {
        return allocate(floats, Float.BYTES);
    }

    /** Fresh zero-filled native memory for {@code elements} elements of {@code elementBytes} each (at least one). */
    public static Storage allocate(long elements, int elementBytes) {
        NativeLibrary.ensureLoaded();
        // compare before multiplying: a count above 2^61 would overflow into ArithmeticException
        if (elements > Integer.MAX_VALUE / elementBytes) {
            throw new IllegalArgumentException("tensor of " + elements + " " + (elementBytes == Float.BYTES ? "floats" : "doubles")
                    + " exceeds the 2 GiB a direct buffer can hold");
        }
        long bytes = Math.max(elements, 1) * elementBytes;
        ByteBuffer buf = NativeCore.allocate(bytes).order(ByteOrder.nativeOrder());
        long addr = NativeCore.address(buf);
        // The Cleaner watches the root buffer: every duplicate, slice or view of it keeps it reachable.
        Cleaner.Cleanable c = CLEANER.register(buf, new Free(addr));
        return new Storage(buf, addr, false, c, new Shared());
    }

    /** A caller's direct buffer (the whole of it, from index 0); conv4j never frees it. */
    public static Storage wrap(ByteBuffer buffer) {
        NativeLibrary.ensureLoaded();
        ByteBuffer whole = buffer.duplicate().clear().order(ByteOrder.nativeOrder());
        return new Storage(whole, NativeCore.address(whole), buffer.isReadOnly(), null, new Shared());
    }

    private static final class Free implements Runnable {
        private final long address;

        Free(long address) {
            this.address = address;
        }

        @Override
        public void run() {
            NativeCore.free(address);
        }
    }

    /**
     * Starts an access; throws {@link IllegalStateException} if closed, or if the buffer maps a
     * file that no longer covers it.
     */
    public void acquire() {
        for (;;) {
            int s = state.get();
            if ((s & CLOSED) != 0) throw new IllegalStateException("tensor is closed");
            if (state.compareAndSet(s, s + 1)) break;
        }
        if (callerBuffer != null) requirePagesPresent();
    }

    /**
     * A mapped file truncated after {@code wrap} leaves pages that no longer exist: native code
     * reading one dies of SIGBUS with the whole JVM, where Java code gets an {@link InternalError}
     * (the JDK marks its own accesses to mapped memory and turns the signal into that error). So
     * before an access the JDK is asked whether the pages are resident ({@code isLoaded}: no
     * system call for memory that maps no file, one {@code mincore} for a mapped file); if not,
     * they are loaded from Java, where a missing page becomes that error, and the access is
     * refused. A page the file loses while native code runs is beyond any such check.
     */
    private void requirePagesPresent() {
        if (callerBuffer.isLoaded()) return;
        try {
            callerBuffer.load();
            // HotSpot raises the error for such a fault asynchronously, when the thread next
            // enters Java code from the VM; creating a Java object from native code does that,
            // so this one-byte allocation makes it happen here, inside this try
            NativeCore.free(NativeCore.address(NativeCore.allocate(1)));
        } catch (InternalError e) {
            release();
            throw new IllegalStateException("the file mapped under this tensor no longer covers its buffer of " + root.capacity()
                    + " bytes (truncated after Tensor.wrap?); native code reading it would crash the JVM: " + e.getMessage(), e);
        }
    }

    /** Ends an access started by {@link #acquire()}. */
    public void release() {
        if (state.decrementAndGet() == CLOSED) freeNow();
    }

    /**
     * Closes this handle (idempotent). Frees conv4j memory at once when it was the last open
     * handle and is not in use (else the last user frees it).
     */
    public void close() {
        for (;;) {
            int s = state.get();
            if ((s & CLOSED) != 0) return;
            if (state.compareAndSet(s, s | CLOSED)) {
                if (s == 0) freeNow();
                return;
            }
        }
    }

    /** Runs once per handle, when it is closed and idle; the last handle's run frees the memory. */
    private void freeNow() {
        if (shared.handles.decrementAndGet() == 0 && freeing != null && !shared.exposed) freeing.clean();
    }

    public boolean isOpen() {
        return (state.get() & CLOSED) == 0;
    }

    /** The buffer for conv4j's own use inside acquire/release (position and limit unspecified). */
    public ByteBuffer buffer() {
        return root;
    }

    /**
     * A duplicate for the caller; from now on only the Cleaner may free this memory. Throws
     * {@link IllegalStateException} if closed. The memory is held while it is marked exposed, so a
     * {@link #close()} on another thread either comes first (and this refuses) or finds it exposed
     * and leaves it to the Cleaner: it can never free memory a returned buffer points at.
     */
    public ByteBuffer exposedBuffer() {
        acquire();
        try {
            shared.exposed = true;
            return root.duplicate().order(ByteOrder.nativeOrder());
        } finally {
            release();
        }
    }

    public long address() {
        return address;
    }

    public long capacityFloats() {
        return capacityFloats;
    }

    /** Whole elements of {@code elementBytes} bytes the memory holds. */
    public long capacityElements(int elementBytes) {
        return root.capacity() / elementBytes;
    }

    public boolean isReadOnly() {
        return readOnly;
    }

    public boolean isOwned() {
        return freeing != null;
    }
}
