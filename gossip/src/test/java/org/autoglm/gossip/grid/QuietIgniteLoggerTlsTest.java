package org.autoglm.gossip.grid;

import static org.assertj.core.api.Assertions.assertThat;

import javax.net.ssl.SSLHandshakeException;
import org.apache.ignite.IgniteException;
import org.junit.jupiter.api.Test;

/** A handshake a peer refused becomes one line that says what to check. */
class QuietIgniteLoggerTlsTest {

    @Test
    void aFatalAlertFromAPeerIsOneClearLine() {
        String line = QuietIgniteLogger.refusedByPeer("Got exception while starting (will rollback startup routine).",
                new IgniteException("Unable to establish secure connection.",
                        new SSLHandshakeException("Received fatal alert: bad_certificate")));
        assertThat(line).startsWith("grid TLS: a peer turned this node away").contains("bad_certificate")
                .contains("--grid-tls-keystore").doesNotContain("\n");
        assertThat(QuietIgniteLogger.refusedByPeer("Failed to start cache", new IllegalStateException("x"))).isNull();
    }
}
