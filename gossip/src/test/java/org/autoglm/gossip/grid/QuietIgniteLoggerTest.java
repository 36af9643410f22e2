package org.autoglm.gossip.grid;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import org.apache.ignite.IgniteCheckedException;
import org.apache.ignite.internal.transactions.IgniteTxTimeoutCheckedException;
import org.junit.jupiter.api.Test;

/** Which Ignite reports are a grid's normal life (one debug line) and which still reach warn/error. */
class QuietIgniteLoggerTest {

    @Test
    void aPeerLeavingAndATimedOutLockWaitAreExpected() {
        assertThat(QuietIgniteLogger.expected("Failed to process selector key [ses=GridSelectorNioSessionImpl ...]",
                new IOException("Connection reset by peer"))).isTrue();
        assertThat(QuietIgniteLogger.expected("Failed to send message to remote node [node=TcpDiscoveryNode ...]",
                null)).isTrue();
        assertThat(QuietIgniteLogger.expected("Failed to commit transaction",
                new IgniteCheckedException("wrapped", new IgniteTxTimeoutCheckedException("lock wait timed out"))))
                .isTrue();
    }

    @Test
    void otherErrorsStillShow() {
        assertThat(QuietIgniteLogger.expected("Critical system error detected.", new IllegalStateException("boom")))
                .isFalse();
        assertThat(QuietIgniteLogger.expected("Failed to start cache", null)).isFalse();
    }

    @Test
    void aDumpBecomesOneShortLineWithItsRootCause() {
        String dump = "Failed to process selector key [ses=" + "x".repeat(1000) + "]\n  at a.b.C(C.java:1)\n  more";
        String line = QuietIgniteLogger.oneLine(dump, new IllegalStateException("outer", new IOException("reset\nby peer")));
        assertThat(line).doesNotContain("\n").startsWith("Failed to process selector key").endsWith("(IOException: reset)");
        assertThat(line.length()).isLessThan(300);
    }

    /**
     * Issue 15: tests that cut nodes off on purpose printed Ignite's "Critical system error detected" with a dump at
     * ERROR. Where a failure only stops the grid node (tests, tools) it is one debug line; where it halts the process
     * (serve) it stays an error, in one line that says what happens next.
     */
    @Test
    void aCriticalFailureIsDebugWhereItOnlyStopsTheNodeAndOneErrorLineWhereItHalts() {
        String critical = "Critical system error detected. Will be handled accordingly to configured handler "
                + "[hnd=StopNodeFailureHandler [...], failureCtx=FailureContext [type=SEGMENTATION, err=null]]\n  dump";
        java.util.List<String> calls = new java.util.ArrayList<>();
        org.apache.ignite.IgniteLogger recording = (org.apache.ignite.IgniteLogger) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {org.apache.ignite.IgniteLogger.class}, (proxy, method, args) -> {
                    calls.add(method.getName() + ": " + (args == null ? "" : args[0]));
                    return method.getReturnType() == boolean.class ? false : null;
                });
        new QuietIgniteLogger(recording, true).error(critical, null);
        assertThat(calls).singleElement().asString().startsWith("debug: Critical system error detected");
        calls.clear();
        new QuietIgniteLogger(recording, false).error(critical, null);
        assertThat(calls).singleElement().asString().startsWith("error: Critical system error detected")
                .doesNotContain("\n").contains("halts");
    }
}
