package org.autoglm.gossip.grid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicInteger;
import org.apache.ignite.spi.IgniteSpiException;
import org.junit.jupiter.api.Test;

/**
 * A grid node the cluster turns away as a duplicate of its own timed-out join request starts again with a fresh node id
 * (the long fault run's seed 67: a restarted serve process exited on it and never came back; at load 60 test clusters
 * formed without a member), and so does a join whose first cache operation asked for a topology version Ignite had
 * already dropped (stop 32's verify: a batch test node exited on it). The refusal is injected in place of Ignite's
 * start, with the message Ignite gives; any other failure still ends the start at once.
 */
class GridStartRetryTest {

    /** What TcpDiscoverySpi says when the ring already counted this node id. */
    private static final String DUPLICATE = "Node with the same ID was found in node IDs history or existing node in"
            + " topology has the same ID (fix configuration and restart local node)";

    @Test
    void aStartRefusedAsADuplicateIsTriedAgain() {
        AtomicInteger starts = new AtomicInteger();
        String started = GridNode.retriedWhileRefusedForNow("j0", () -> {
            if (starts.incrementAndGet() == 1) {
                throw new IllegalStateException("grid node 'j0' could not start",
                        new org.apache.ignite.IgniteException(new IgniteSpiException(DUPLICATE)));
            }
            return "up";
        });
        assertThat(started).isEqualTo("up");
        assertThat(starts).hasValue(2);
    }

    /** What Ignite threw at a node's first cache operation when two peers had joined its fresh one-node grid at once. */
    private static final String TOO_OLD = "Getting affinity for too old topology version that is already out of history"
            + " (try to increase 'IGNITE_AFFINITY_HISTORY_SIZE' system property) [grp=autoglm-nodes,"
            + " topVer=AffinityTopologyVersion [topVer=2, minorTopVer=0]]";

    @Test
    void aJoinWhoseFirstCacheOperationMetADroppedTopologyVersionIsTriedAgain() {
        AtomicInteger joins = new AtomicInteger();
        String joined = GridNode.retriedWhileRefusedForNow("j3", () -> {
            if (joins.incrementAndGet() == 1) {
                throw new org.apache.ignite.IgniteException(new javax.cache.CacheException(TOO_OLD));
            }
            return "member";
        });
        assertThat(joined).isEqualTo("member");
        assertThat(joins).hasValue(2);
    }

    @Test
    void anyOtherFailureEndsTheStartAtOnce_andADuplicateOnlyAfterTheLastTry() {
        AtomicInteger starts = new AtomicInteger();
        assertThatThrownBy(() -> GridNode.retriedWhileRefusedForNow("j1", () -> {
            starts.incrementAndGet();
            throw new IllegalStateException("grid node 'j1' could not start: Address already in use");
        })).hasMessageContaining("Address already in use");
        assertThat(starts).hasValue(1);

        AtomicInteger refused = new AtomicInteger();
        assertThatThrownBy(() -> GridNode.retriedWhileRefusedForNow("j2", () -> {
            refused.incrementAndGet();
            throw new IllegalStateException("x", new IgniteSpiException(DUPLICATE));
        })).hasRootCauseMessage(DUPLICATE);
        assertThat(refused).hasValue(GridNode.START_TRIES);
    }
}
