package org.autoglm.node.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * What {@code /health} tells an operator while this node's grid node is down: the node rejoins the cluster on a fresh
 * grid node by itself, so the reason says that (it used to say "restart the process"), and the node does rejoin.
 */
class DeadReasonTest {

    /** This test's grid port (communication: + 1000), moved by the suite's port offset where it fits. */
    private static final int PORT = port(21480);

    @Test
    void aStoppedGridNodeIsReportedAsRejoiningAndRejoins() {
        ClusterOptions options = new ClusterOptions();
        new CommandLine(options).parseArgs("--grid-port", Integer.toString(PORT), "--node-name", "dead-0",
                "--expected-nodes", "1", "--grid-failure-detection", "2000");
        ClusterNode node = ClusterNode.start(options);
        try {
            assertThat(node.deadReason()).isNull();
            java.util.UUID before = node.cluster().grid().localId();
            AtomicReference<String> seen = new AtomicReference<>();
            Thread watcher = new Thread(() -> { // the reason while the grid node is down (it rejoins within seconds)
                while (seen.get() == null && !Thread.currentThread().isInterrupted()) {
                    String reason = node.deadReason();
                    if (reason != null) {
                        seen.set(reason);
                    }
                    Thread.onSpinWait();
                }
            });
            watcher.start();
            node.cluster().grid().ignite().close(); // as a segmentation or a critical failure stops it

            await().atMost(Duration.ofSeconds(20)).until(() -> seen.get() != null);
            watcher.interrupt();
            assertThat(seen.get()).contains("grid node has stopped").contains("rejoining the cluster")
                    .doesNotContain("restart the process");
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> node.deadReason() == null
                    && !node.cluster().grid().localId().equals(before));
        } finally {
            node.close();
        }
    }

    /**
     * From the moment the grid's failure handler decides to stop a segmented grid node, the node is reported down: Ignite
     * still calls it STARTED while it stops, and requests answered in that window failed inside Ignite (an NPE, "grid is
     * stopping") and came back as 500 (seen in the long fault run) instead of 503 "rejoining, send again".
     */
    @Test
    void aGridNodeIsReportedDownFromTheMomentItsFailureHandlerStopsIt() {
        ClusterOptions options = new ClusterOptions();
        new CommandLine(options).parseArgs("--grid-port", Integer.toString(port(29420)), "--node-name", "dead-1",
                "--expected-nodes", "1", "--grid-failure-detection", "2000");
        ClusterNode node = ClusterNode.start(options);
        try {
            assertThat(node.deadReason()).isNull();
            java.util.UUID before = node.cluster().grid().localId();
            ((org.apache.ignite.internal.IgniteEx) node.cluster().grid().ignite()).context().failure().process(
                    new org.apache.ignite.failure.FailureContext(org.apache.ignite.failure.FailureType.SEGMENTATION, null));
            // Right away: the handler stops the grid node on a thread of its own, which takes a while.
            assertThat(node.deadReason()).contains("rejoining the cluster");
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> node.deadReason() == null
                    && !node.cluster().grid().localId().equals(before));
        } finally {
            node.close();
        }
    }

    private static int port(int port) {
        int moved = port + Integer.getInteger("autoglm.test.portOffset", 0);
        return moved + 1000 <= 65535 ? moved : port;
    }
}
