package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The JNI-touching tests again, in a JVM started with {@code -Xcheck:jni}: they must all pass,
 * and the JVM must print no warning (the checked JNI reports, e.g., calls with an exception
 * pending, unchecked exceptions, local reference overflow, bad buffer or array use). The fuzz
 * tests run with fewer cases here, the checked JNI being slower.
 */
class CheckJniTest {
    static final String[] CLASSES = {"io.conv4j.GoldenForwardTest", "io.conv4j.ConvPropertyTest", "io.conv4j.FuzzTest",
            "io.conv4j.internal.NativeFuzzTest", "io.conv4j.GuardRegionTest", "io.conv4j.FailureInjectionTest",
            "io.conv4j.LifecycleTest", "io.conv4j.cli.CliHostileTest", "io.conv4j.cli.StressCommandTest",
            "io.conv4j.GoldenNdTest", "io.conv4j.ConvNdPropertyTest", "io.conv4j.NdGuardTest", "io.conv4j.NdFuzzTest",
            "io.conv4j.TransposeExtentPropertyTest"};
    static final Pattern SUMMARY = Pattern.compile("jni-check found (\\d+) succeeded (\\d+) failed (\\d+) skipped (\\d+)");

    @Test
    void jniTestsPassUnderCheckJniWithoutWarnings() {
        List<String> jvm = new ArrayList<>(List.of("-Xcheck:jni", "-Xss8m", "-Dconv4j.fuzz.tries=1000"));
        String golden = System.getProperty("conv4j.golden.dir");
        if (golden != null) jvm.add("-Dconv4j.golden.dir=" + golden);
        ForkedJvm.Result r = ForkedJvm.run(jvm, JniCheckRunner.class.getName(), List.of(CLASSES), 480);
        String all = r.out + "\n" + r.err;
        List<String> warnings = all.lines().filter(l -> l.contains("WARNING")).collect(Collectors.toList());
        assertTrue(warnings.isEmpty(), "-Xcheck:jni warnings:\n" + String.join("\n", warnings));
        Matcher m = SUMMARY.matcher(r.out);
        assertTrue(m.find(), () -> "no summary: " + r);
        System.out.println("-Xcheck:jni: " + m.group(0) + ", 0 warnings");
        assertEquals("0", m.group(3), () -> "failures under -Xcheck:jni:\n" + r);
        assertTrue(Long.parseLong(m.group(2)) >= 100, () -> "too few tests ran: " + m.group(0));
        assertEquals(0, r.exit, r::toString);
    }
}
