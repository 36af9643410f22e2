package org.autoglm.gossip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.autoglm.gossip.registry.NodeInfo;
import org.autoglm.gossip.registry.NodeLoad;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A node that starts while its peers cannot hear it is alone while they form a cluster of their own. Seen on a loaded
 * machine: three serve processes started at once, the first too busy in its first partition exchange to answer the
 * others' handshakes, and the other two made a cluster without it; it waited for them for ever. Here the two are
 * simply never told of it. Having never had a majority, it looks again on a fresh grid node and joins them.
 */
class LonelyStartTest {

    private static final int BASE = 27760 + Integer.getInteger("autoglm.test.portOffset", 0);
    private final List<Cluster> members = new ArrayList<>();

    @AfterEach
    void stop() {
        members.forEach(Cluster::close);
    }

    @Test
    void aNodeLeftAloneAtStartJoinsThePeersThatFormedAClusterWithoutIt() {
        Cluster alone = start("n0", BASE, BASE, 3);
        members.add(alone);
        await().atMost(Duration.ofSeconds(30)).until(() -> alone.grid().running());
        // n1 and n2 know only each other: they make a cluster of two that holds a majority of the three seats.
        members.addAll(TestGrid.start(BASE + 1, 2, i -> start("n" + (i + 1), BASE + 1 + i, BASE + 1, 2)));
        Cluster n1 = members.get(1);

        // They never reach n0 (it is not in their --peers): only n0 looking again brings the three together.
        // While it swaps grid nodes, the old one answers that it has stopped.
        await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(() ->
                alone.grid().serverNodeIds().size() == 3 && alone.grid().hasQuorum());
        assertThat(n1.grid().serverNodeIds()).hasSize(3);
        await().atMost(Duration.ofSeconds(15)).until(() ->
                members.stream().filter(m -> m.lease().isLeader()).count() == 1);
    }

    @Test
    void aNodeStillStartingKeepsItsGridNode() throws Exception {
        // Seen at load 30: a serve process still building its parts (its model loading) swapped grid nodes, and the
        // command channel it then built on the stopped one failed its start. It looks again only once it serves.
        Cluster starting = Cluster.start(TestGrid.config("s0", BASE + 10, BASE + 10, 3).andThen(config -> {
            config.expectedNodes = 3;
            config.rejoin = true;
        }), new NodeInfo(null, "s0", null, null, List.of(), null, null, 0, 0, null), () -> NodeLoad.IDLE);
        members.add(starting);
        java.util.UUID first = starting.grid().localId();
        Thread.sleep(10_000); // twice the 5 s a serving node looks on one grid node
        assertThat(starting.grid().localId()).as("the same grid node").isEqualTo(first);
    }

    /** A member of three seats with test timings that rejoins by itself, told of {@code peers} peers from {@code peerBase}. */
    private Cluster start(String name, int port, int peerBase, int peers) {
        return Cluster.start(TestGrid.config(name, port, peerBase, peers).andThen(config -> {
            config.expectedNodes = 3;
            config.rejoin = true;
        }), new NodeInfo(null, name, "glm-test", "h", List.of(), "djl", "CPU", 8, 128, "http://127.0.0.1:0"),
                () -> NodeLoad.IDLE, new CountingExecutor(name, 15));
    }
}
