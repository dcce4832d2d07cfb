package io.conv4j.spark;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The executor JVM's prepared filters: one {@link PreparedStack} per distinct stack of layers (compared by
 * content, bit for bit), made by the first task that needs it and shared by every later task and partition.
 * A task holds a {@link Lease} while it runs; the least recently used stacks beyond {@link #CAPACITY} are
 * closed once no task holds them, so a long-lived executor running many different filters keeps a bounded
 * amount of native memory.
 */
final class PreparedStacks {
    /** Distinct stacks kept per JVM. */
    static final int CAPACITY = 8;

    private static final class Entry {
        final PreparedStack stack;
        int users;
        boolean evicted;

        Entry(PreparedStack stack) {
            this.stack = stack;
        }
    }

    /** One task's hold on a prepared stack; {@link #close()} is idempotent. */
    static final class Lease implements AutoCloseable {
        private final Entry entry;
        private final AtomicBoolean closed = new AtomicBoolean();

        private Lease(Entry entry) {
            this.entry = entry;
        }

        PreparedStack stack() {
            return entry.stack;
        }

        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) release(entry);
        }
    }

    private static final Map<List<ConvLayerSpec>, Entry> CACHE = new LinkedHashMap<>(16, 0.75f, true);
    private static final AtomicLong PREPARED = new AtomicLong();

    private PreparedStacks() {}

    /** The prepared stack for {@code layers}, prepared now if this JVM has not got it. */
    static Lease acquire(List<ConvLayerSpec> layers) {
        synchronized (CACHE) {
            Entry e = CACHE.get(layers);
            if (e == null) {
                e = new Entry(new PreparedStack(layers));
                PREPARED.incrementAndGet();
                CACHE.put(List.copyOf(layers), e);
                evictBeyondCapacity();
            }
            e.users++;
            return new Lease(e);
        }
    }

    /** How many stacks this JVM has prepared so far (for tests and monitoring). */
    static long preparedCount() {
        return PREPARED.get();
    }

    private static void release(Entry e) {
        synchronized (CACHE) {
            e.users--;
            if (e.evicted && e.users == 0) e.stack.close();
        }
    }

    private static void evictBeyondCapacity() {
        List<Entry> out = new ArrayList<>();
        Iterator<Entry> it = CACHE.values().iterator();
        while (CACHE.size() > CAPACITY && it.hasNext()) {
            Entry old = it.next();
            it.remove();
            out.add(old);
        }
        for (Entry old : out) {
            old.evicted = true;
            if (old.users == 0) old.stack.close();
        }
    }
}
