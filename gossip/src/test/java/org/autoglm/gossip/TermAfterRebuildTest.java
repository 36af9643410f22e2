package org.autoglm.gossip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import org.autoglm.gossip.registry.NodeInfo;
import org.autoglm.gossip.registry.NodeLoad;
import org.junit.jupiter.api.Test;

/**
 * Terms only grow, even across a grid rebuilt from scratch. Found by the long fault run under load: every member
 * restarted its grid node (the grid's memory, the lease record with it, was gone), and the next leader was elected in
 * term 1 again, so term 1 had two different leaders and a node reported "leader in term 1" after term 3. A process
 * carries the highest term it saw onto its fresh grid node, and takes a term above it.
 */
class TermAfterRebuildTest {

    /** This test's grid port (communication: + 1000), moved by the suite's port offset where it fits. */
    private static final int PORT = port(33452);

    @Test
    void aNodeThatRejoinsAFreshGridLeadsInAHigherTerm() {
        Cluster node = Cluster.start(TestGrid.config("t0", PORT, PORT, 1).andThen(c -> c.rejoin = true),
                new NodeInfo(null, "t0", "glm-test", "h", List.of(), "djl", "CPU", 8, 128, "http://127.0.0.1:0"),
                () -> NodeLoad.IDLE);
        try {
            await().atMost(Duration.ofSeconds(15)).until(() -> node.lease().isLeader());
            long first = node.lease().leaderTerm();
            java.util.UUID before = node.grid().localId();

            node.grid().ignite().close(); // the whole grid is gone: its only member stopped, as a segmentation stops it

            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> !node.grid().localId().equals(before)
                    && node.lease().isLeader());
            assertThat(node.lease().current().orElseThrow().term()).isEqualTo(node.lease().leaderTerm());
            assertThat(node.lease().leaderTerm()).as("the term after the rebuild").isGreaterThan(first);
        } finally {
            node.close();
        }
    }

    private static int port(int port) {
        int moved = port + Integer.getInteger("autoglm.test.portOffset", 0);
        return moved + 1000 <= 65535 ? moved : port;
    }
}
