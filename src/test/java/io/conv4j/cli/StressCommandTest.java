package io.conv4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.conv4j.Conv4j;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The stress command, in-process and short: T threads of mixed shapes, algorithms and API paths
 * against the single-threaded results, with OpenBLAS at one thread and at several (mvn verify
 * also runs the jar itself, see the pom's stress executions). Settings are restored after.
 */
class StressCommandTest {
    static final Pattern SUMMARY = Pattern.compile(
            "calls (\\d+) \\((\\d+) expected failures\\), mismatches (\\d+), errors (\\d+), peak RSS ([0-9.]+ MiB|n/a)");

    @ParameterizedTest(name = "threads {0}, conv4j threads {1}, OpenBLAS threads {2}")
    @CsvSource({"4, 2, 1", "6, 3, 3"})
    void everyResultMatchesTheSingleThreadedOne(int threads, int convThreads, int blasThreads) {
        int before = Conv4j.threads();
        CliHostileTest.Run r = CliHostileTest.run("stress", "--threads", "" + threads, "--seconds", "1.5", "--conv-threads", "" + convThreads,
                "--blas-threads", "" + blasThreads, "--seed", "7");
        System.out.print(r.out);
        assertEquals(0, r.exit, r.toString());
        assertEquals("", r.err, r.toString());
        Matcher m = SUMMARY.matcher(r.out);
        assertTrue(m.find(), r.out);
        assertTrue(Long.parseLong(m.group(1)) >= threads, "every thread makes at least one call: " + r.out);
        assertEquals("0", m.group(3), "mismatches");
        assertEquals("0", m.group(4), "errors");
        assertTrue(r.out.contains("algorithms AUTO GEMM_DIRECT GEMM_TILED"), r.out);
        assertTrue(r.out.contains("stress: OK"), r.out);
        assertEquals(before, Conv4j.threads(), "conv4j's thread count is restored");
    }

    @org.junit.jupiter.api.Test
    void aLongRunShowsProgressOnStderr() {
        long saved = StressCommand.progressNanos;
        StressCommand.progressNanos = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(200);
        try {
            CliHostileTest.Run r = CliHostileTest.run("stress", "--threads", "2", "--seconds", "1.5", "--seed", "3");
            assertEquals(0, r.exit, r.toString());
            assertTrue(r.err.lines().count() >= 3, "a progress line every 0.2 s: " + r);
            assertTrue(r.err.lines().allMatch(l -> l.matches("stress: \\d+ of 1.5 s, \\d+ calls, 0 mismatches, 0 errors")), r.toString());
            assertTrue(SUMMARY.matcher(r.out).find() && r.out.contains("stress: OK"), "stdout as before: " + r);
            assertTrue(r.out.lines().noneMatch(l -> l.contains(" of 1.5 s")), "no progress on stdout: " + r);
        } finally {
            StressCommand.progressNanos = saved;
        }
    }
}
