package io.conv4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@code bench-layout}: one CSV row per layer, both layouts timed and their results compared. */
class LayoutBenchCommandTest {
    @Test
    void timesBothLayoutsAndComparesTheirResults() {
        CliHostileTest.Run r = CliHostileTest.run("bench-layout", "--threads", "1", "--shapes", "tiny_3x3_8x8x4");
        assertEquals(0, r.exit, r.toString());
        String[] lines = r.out.strip().split("\n");
        assertEquals(2, lines.length, r.toString());
        assertTrue(lines[0].startsWith("layer,threads,nhwc_ms,nchw_ms,nchw/nhwc,"), r.toString());
        String[] f = lines[1].split(",");
        assertEquals("tiny_3x3_8x8x4", f[0], r.toString());
        assertTrue(Double.parseDouble(f[2]) > 0 && Double.parseDouble(f[3]) > 0, r.toString());
        assertTrue(Double.parseDouble(f[7]) < 1e-4, "channels first agrees with channels last: " + r);
    }
}
