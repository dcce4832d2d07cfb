package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * 10^6 small calls, two in five of them throwing, in a JVM of its own: conv4j's native memory
 * must not grow by a single byte after the warm-up, and the process RSS (which would show leaks
 * conv4j does not count: JNI references, OpenBLAS buffers, malloc) must stay flat. The heap is
 * fixed and pre-touched, so heap growth cannot pass for RSS growth; a heap leak would end in an
 * OutOfMemoryError. A second run that leaks on purpose proves the measurement sees leaks.
 */
class MemoryTest {
    static final long CALLS = Long.getLong("conv4j.memory.calls", 1_000_000L);
    /** RSS may move a little (JIT code, malloc arenas); a leak of 9 bytes per call would exceed it. */
    static final long RSS_SLACK_KIB = 8 * 1024;
    static final Pattern RESULT = Pattern.compile("result calls (\\d+) native-growth (-?\\d+) rss-growth-kib (-?\\d+)");
    static final List<String> JVM = List.of("-Xms64m", "-Xmx64m", "-XX:+AlwaysPreTouch", "-XX:+UseSerialGC");

    static long[] probe(String... args) {
        ForkedJvm.Result r = ForkedJvm.run(JVM, MemoryProbe.class.getName(), List.of(args), 300);
        System.out.print(r.out);
        assertEquals(0, r.exit, () -> "memory probe failed: " + r);
        Matcher m = RESULT.matcher(r.out);
        assertTrue(m.find(), () -> "no result line: " + r);
        return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Long.parseLong(m.group(3))};
    }

    @Test
    void nativeMemoryAndRssStayFlatOverAMillionCalls() {
        long[] res = probe(Long.toString(CALLS));
        assertEquals(CALLS, res[0]);
        assertEquals(0, res[1], "conv4j native bytes grew over " + CALLS + " calls");
        assertTrue(res[2] <= RSS_SLACK_KIB, "RSS grew by " + res[2] + " KiB over " + CALLS + " calls");
        System.out.printf("memory: %d calls, native growth %d bytes, RSS growth %d KiB%n", res[0], res[1], res[2]);
    }

    @Test
    void theMeasurementSeesALeak() {
        long[] res = probe("100000", "leak");
        assertEquals(100 * 1024, res[1], "100 leaked tensors of 1 KiB must show as native growth");
    }
}
