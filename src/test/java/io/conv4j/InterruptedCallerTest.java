package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A service thread may call conv4j with its interrupt flag set (a cancelled request, say). The
 * convolution still completes exactly (workers finish their chunks regardless), and the flag is
 * still set afterwards for the caller's own cancellation logic: conv4j clears it only while it
 * waits for its workers, where a set flag would make every wait return at once.
 */
class InterruptedCallerTest {

    @Test
    void interruptedCallerGetsTheExactResultAndKeepsItsFlag() {
        int saved = Conv4j.threads();
        Conv4j.setThreads(2); // so the call is split over the caller and a worker
        try (Tensor x = random(1, 96, 96, 32); Tensor w = random(3, 3, 32, 32)) {
            Conv2dOptions o = Conv2dOptions.builder().padding(Padding.SAME).algorithm(Algorithm.GEMM_TILED).build();
            float[] want = Conv2d.conv2d(x, w, o).toArray();
            for (int i = 0; i < 20; i++) {
                Thread.currentThread().interrupt();
                float[] got;
                try {
                    got = Conv2d.conv2d(x, w, o).toArray();
                } finally {
                    assertTrue(Thread.interrupted(), "the caller's interrupt flag was lost"); // and cleared here
                }
                assertArrayEquals(want, got, "call " + i);
            }
        } finally {
            Conv4j.setThreads(saved);
        }
    }

    static Tensor random(long... shape) {
        Random r = new Random(7);
        float[] v = new float[Math.toIntExact(Shape.of(shape).numElements())];
        for (int i = 0; i < v.length; i++) v[i] = r.nextFloat() * 2 - 1;
        return Tensor.fromArray(v, shape);
    }
}
