package io.conv4j;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.io.PrintWriter;
import java.util.Arrays;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * Runs the named test classes with the JUnit Platform launcher and prints a one-line summary
 * ({@code jni-check found F succeeded S failed X skipped K}); exit status 0 when nothing failed.
 * {@link CheckJniTest} runs it in a JVM started with {@code -Xcheck:jni}.
 */
public final class JniCheckRunner {
    private JniCheckRunner() {}

    public static void main(String[] classes) throws ClassNotFoundException {
        LauncherDiscoveryRequestBuilder b = LauncherDiscoveryRequestBuilder.request();
        for (String c : classes) b.selectors(selectClass(Class.forName(c)));
        LauncherDiscoveryRequest request = b.build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        launcher.execute(request, listener);
        TestExecutionSummary s = listener.getSummary();
        PrintWriter out = new PrintWriter(System.out, true);
        s.printFailuresTo(out, 30);
        out.printf("jni-check classes %s%n", Arrays.toString(classes));
        out.printf("jni-check found %d succeeded %d failed %d skipped %d%n", s.getTestsFoundCount(), s.getTestsSucceededCount(),
                s.getTotalFailureCount(), s.getTestsSkippedCount() + s.getTestsAbortedCount());
        out.flush();
        System.exit(s.getTotalFailureCount() == 0 && s.getTestsFoundCount() > 0 ? 0 : 1);
    }
}
