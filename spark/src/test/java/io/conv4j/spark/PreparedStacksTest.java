package io.conv4j.spark;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The executor JVM's cache of prepared layers: shared by content, bounded, never closed under a user. */
class PreparedStacksTest {
    private static List<ConvLayerSpec> layers(float value) {
        return List.of(ConvLayerSpec.of(new float[] {value}, 1, 1, 1, 1));
    }

    private static float[] apply(PreparedStacks.Lease lease) {
        return lease.stack().apply(new InputLayout.Pixels(new float[] {1, 2}, 1, 2, 1), new int[3]);
    }

    @Test
    void equalContentSharesOnePreparationAndEvictionWaitsForTheLastUser() {
        float base = 1000 + (float) Math.random(); // values no other test uses
        long before = PreparedStacks.preparedCount();
        PreparedStacks.Lease held = PreparedStacks.acquire(layers(base));
        try (PreparedStacks.Lease again = PreparedStacks.acquire(new ArrayList<>(layers(base)))) {
            assertSame(held.stack(), again.stack(), "a list with equal layers finds the same prepared stack");
        }
        assertEquals(1, PreparedStacks.preparedCount() - before);

        List<PreparedStacks.Lease> others = new ArrayList<>();
        for (int i = 1; i <= PreparedStacks.CAPACITY; i++) others.add(PreparedStacks.acquire(layers(base + i)));
        others.forEach(PreparedStacks.Lease::close);
        assertEquals(1 + PreparedStacks.CAPACITY, PreparedStacks.preparedCount() - before);

        // the first stack is now evicted but still held: it keeps working until released
        assertArrayEquals(new float[] {base, 2 * base}, apply(held));
        PreparedStack evicted = held.stack();
        held.close();
        held.close(); // idempotent: the user count is not taken twice
        assertThrows(IllegalStateException.class, () -> evicted.apply(new InputLayout.Pixels(new float[] {1}, 1, 1, 1), new int[3]));

        try (PreparedStacks.Lease fresh = PreparedStacks.acquire(layers(base))) { // prepared anew
            assertEquals(2 + PreparedStacks.CAPACITY, PreparedStacks.preparedCount() - before);
            assertArrayEquals(new float[] {base, 2 * base}, apply(fresh));
        }
    }
}
