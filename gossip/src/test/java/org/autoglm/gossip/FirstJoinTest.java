package org.autoglm.gossip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.apache.ignite.spi.IgniteSpiException;
import org.autoglm.gossip.grid.GridConfig;
import org.autoglm.gossip.registry.NodeInfo;
import org.autoglm.gossip.registry.NodeLoad;
import org.junit.jupiter.api.Test;

/**
 * A serve process whose first join the cluster turns away for a passing reason starts a fresh grid node and joins (the
 * long fault run's seed 67: a restarted process, starved at load 50, was refused as a duplicate of its own timed-out
 * join request, exited, and never came back). The refusal is injected where the grid node is configured, with the
 * message Ignite gives; the join after it is real. Any other failure still ends the start at once.
 */
class FirstJoinTest {

    private static final int PORT = 27780 + Integer.getInteger("autoglm.test.portOffset", 0);
    /** What TcpDiscoverySpi says when the ring already counted this node id (its own earlier join request). */
    private static final String DUPLICATE = "Node with the same ID was found in node IDs history or existing node in"
            + " topology has the same ID (fix configuration and restart local node)";

    @Test
    void aJoinRefusedAsADuplicateIsTriedAgainOnAFreshGridNode() {
        AtomicInteger starts = new AtomicInteger();
        Consumer<GridConfig> refusedOnce = TestGrid.config("j0", PORT, PORT, 1).andThen(config -> {
            if (starts.incrementAndGet() == 1) {
                throw new IllegalStateException("grid node 'j0' could not start",
                        new IgniteSpiException(DUPLICATE));
            }
        });
        try (Cluster cluster = Cluster.start(refusedOnce, node(), () -> NodeLoad.IDLE)) {
            assertThat(starts).hasValue(2);
            assertThat(cluster.grid().running()).isTrue();
        }
    }

    @Test
    void anyOtherFailureEndsTheStartAtOnce() {
        AtomicInteger starts = new AtomicInteger();
        Consumer<GridConfig> portTaken = TestGrid.config("j1", PORT, PORT, 1).andThen(config -> {
            starts.incrementAndGet();
            throw new IllegalStateException("grid node 'j1' could not start on 127.0.0.1:" + PORT + ": Address already"
                    + " in use (is the port free? are the --grid-tls-* files right?)");
        });
        assertThatThrownBy(() -> Cluster.start(portTaken, node(), () -> NodeLoad.IDLE))
                .hasMessageContaining("Address already in use");
        assertThat(starts).hasValue(1);
        assertThat(Cluster.refusedForNow(new IllegalStateException("x", new IgniteSpiException(DUPLICATE)))).isTrue();
    }

    private static NodeInfo node() {
        return new NodeInfo(null, "j", null, null, List.of(), null, null, 0, 0, null);
    }
}
