package org.autoglm.gossip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.autoglm.gossip.dispatch.RequestExecutor;
import org.autoglm.gossip.queue.QueuedRequest;
import org.autoglm.gossip.registry.NodeInfo;
import org.autoglm.gossip.registry.NodeLoad;
import org.junit.jupiter.api.Test;

/**
 * A node whose grid node stops (the cluster dropped it: a segmentation, a partition) rejoins on a fresh grid node by
 * itself. Found by the long fault run under load: when every member had restarted its grid node, the grid's memory and
 * the lease record with it were gone, and the next leader was elected in term 1 again, so term 1 had two different
 * leaders and a node reported "leader in term 1" after term 3. A process now carries the highest term it saw onto its
 * fresh grid node and takes a term above it. The requests its clients were waiting on end with an error that says
 * the node rejoins (the cluster stopped them when it dropped the node), not that it shuts down; before, when the grid
 * had stopped the grid node itself (a segmentation), ending them threw on the stopped grid and they never ended.
 */
class RejoinTest {

    /** This test's grid ports (communication: + 1000), moved by the suite's port offset where they fit. */
    private static final int PORT = port(21485);

    @Test
    void aNodeThatRejoinsAFreshGridLeadsInAHigherTerm() {
        Cluster node = start("t0", PORT, null);
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

    @Test
    void theRequestsItServedEndSayingItRejoins() {
        List<String> started = new CopyOnWriteArrayList<>();
        Cluster node = start("t1", PORT + 2, new RequestExecutor() {
            @Override
            public void start(QueuedRequest request, ExecutionSink sink) {
                started.add(request.id()); // runs for ever: only the rejoin ends it
            }

            @Override
            public void cancel(String requestId) {}
        });
        try {
            await().atMost(Duration.ofSeconds(15)).until(() -> node.lease().isLeader());
            RecordingListener client = new RecordingListener();
            node.dispatcher().submit(TaggedMembers.request(node, 10, null, List.of()), client);
            await().atMost(Duration.ofSeconds(15)).until(() -> started.size() == 1);

            node.grid().ignite().close();

            await().atMost(Duration.ofSeconds(30)).until(client::ended);
            assertThat(client.ends.get()).isEqualTo(1);
            assertThat(client.error).contains("is rejoining").doesNotContain("shutting down");
        } finally {
            node.close();
        }
    }

    private static Cluster start(String name, int port, RequestExecutor executor) {
        NodeInfo self = new NodeInfo(null, name, "glm-test", "h", List.of(), "djl", "CPU", 8, 128, "http://127.0.0.1:0");
        java.util.function.Consumer<org.autoglm.gossip.grid.GridConfig> config = TestGrid.config(name, port, port, 1)
                .andThen(c -> c.rejoin = true);
        return executor == null ? Cluster.start(config, self, () -> NodeLoad.IDLE)
                : Cluster.start(config, self, () -> NodeLoad.IDLE, executor);
    }

    private static int port(int port) {
        int moved = port + Integer.getInteger("autoglm.test.portOffset", 0);
        return moved + 1000 + 2 <= 65535 ? moved : port;
    }
}
