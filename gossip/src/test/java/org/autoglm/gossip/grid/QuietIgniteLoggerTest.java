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
}
