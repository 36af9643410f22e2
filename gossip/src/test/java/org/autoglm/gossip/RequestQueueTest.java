package org.autoglm.gossip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.gossip.lease.LeaderLease;
import org.autoglm.gossip.lease.StaleTermException;
import org.autoglm.gossip.queue.QueuedRequest;
import org.autoglm.gossip.queue.RequestQueue;
import org.autoglm.gossip.queue.RequestState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The shared queue on three real Ignite nodes: state transitions, fencing of stale terms, retries, the majority guard. */
class RequestQueueTest {

    private static final int BASE = 27620 + Integer.getInteger("autoglm.test.portOffset", 0);
    private static final int SIZE = 3;

    private final List<GridNode> grids = new ArrayList<>();
    private final List<LeaderLease> leases = new ArrayList<>();
    private final List<RequestQueue> queues = new ArrayList<>();

    @BeforeEach
    void start() {
        grids.addAll(TestGrid.start(BASE, SIZE, i -> GridNode.start(TestGrid.config("q" + i, BASE + i, BASE, SIZE))));
        for (GridNode grid : grids) {
            queues.add(new RequestQueue(grid));
            leases.add(new LeaderLease(grid).start());
        }
    }

    @AfterEach
    void stop() {
        leases.forEach(LeaderLease::close);
        grids.forEach(GridNode::close);
    }

    @Test
    void aDeposedLeadersAssignmentsAreRefused() {
        int old = awaitLeader();
        long oldTerm = leases.get(old).leaderTerm();
        queues.get(0).enqueue(request("r1", grids.get(0)));
        leases.get(old).close(); // releases the lease: another node takes it with a higher term

        int next = awaitLeaderAmong(old);
        long newTerm = leases.get(next).leaderTerm();
        assertThat(newTerm).isGreaterThan(oldTerm);
        UUID target = grids.get(next).localId();
        assertThatThrownBy(() -> queues.get(old).assign("r1", oldTerm, target))
                .isInstanceOf(StaleTermException.class).hasMessageContaining("term " + oldTerm + " is stale");
        // The current term, but from a node that does not hold the lease, is refused too.
        assertThatThrownBy(() -> queues.get(old).assign("r1", newTerm, target)).isInstanceOf(StaleTermException.class);
        assertThat(queues.get(0).get("r1").state()).isEqualTo(RequestState.PENDING);

        QueuedRequest assigned = queues.get(next).assign("r1", newTerm, target);
        assertThat(assigned.state()).isEqualTo(RequestState.ASSIGNED);
        assertThat(assigned.term()).isEqualTo(newTerm);
        // A worker holding a stale notification of an older assignment cannot claim it.
        assertThat(queues.get(1).claim("r1", oldTerm, target)).isNull();
        assertThat(queues.get(1).claim("r1", newTerm, target).state()).isEqualTo(RequestState.RUNNING);
        // A second notification is not run twice; a claim repeated after an unknown outcome finds its own commit.
        assertThat(queues.get(1).claim("r1", newTerm, target)).isNull();
        assertThat(queues.get(1).claimAgain("r1", newTerm, target).state()).isEqualTo(RequestState.RUNNING);
        assertThat(queues.get(1).claimAgain("r1", oldTerm, target)).isNull();
        assertThat(queues.get(1).claimAgain("r1", newTerm, grids.get(old).localId())).isNull();
    }

    @Test
    void aRequestIsRetriedWithBackoffAndFailsAfterItsLastAttempt() {
        int leader = awaitLeader();
        long term = leases.get(leader).leaderTerm();
        RequestQueue queue = queues.get(leader);
        UUID node = grids.get(1).localId();
        queue.enqueue(request("r2", grids.get(0)));
        assertThatThrownBy(() -> queue.enqueue(request("r2", grids.get(0)))).hasMessageContaining("already");

        for (int attempt = 1; attempt <= 5; attempt++) {
            long before = System.currentTimeMillis();
            assertThat(queue.assign("r2", term, node).attempts()).isEqualTo(attempt);
            queue.claim("r2", term, node);
            QueuedRequest after = queue.requeue("r2", node, new int[] {7, 8}, "node died");
            if (attempt < 5) {
                assertThat(after.state()).isEqualTo(RequestState.PENDING);
                assertThat(after.notBeforeMillis()).isGreaterThanOrEqualTo(before + (50L << (attempt - 1)));
                assertThat(after.resumeIds()).containsExactly(7, 8);
            } else {
                assertThat(after.state()).isEqualTo(RequestState.FAILED);
                assertThat(after.error()).contains("failed after 5 attempts").contains("node died");
            }
        }
        // Re-queueing from a node it is not on does nothing.
        assertThat(queue.requeue("r2", node, null, "again")).isNull();
    }

    @Test
    void aMinorityCannotTakeWork() {
        awaitLeader();
        queues.get(0).enqueue(request("r3", grids.get(0)));
        leases.get(1).close();
        leases.get(2).close();
        grids.get(1).close();
        grids.get(2).close();
        await().atMost(Duration.ofSeconds(10)).until(() -> !grids.get(0).hasQuorum());
        assertThatThrownBy(() -> queues.get(0).enqueue(request("r4", grids.get(0))))
                .hasMessageContaining("no majority");
        assertThat(queues.get(0).claim("r3", 1, grids.get(0).localId())).isNull();
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(4)).until(() -> !leases.get(0).isLeader());
    }

    private int awaitLeader() {
        await().atMost(Duration.ofSeconds(15)).until(() -> leases.stream().filter(LeaderLease::isLeader).count() == 1);
        for (int i = 0; i < SIZE; i++) {
            if (leases.get(i).isLeader()) {
                return i;
            }
        }
        throw new AssertionError("no leader");
    }

    private int awaitLeaderAmong(int except) {
        await().atMost(Duration.ofSeconds(5)).until(() -> {
            for (int i = 0; i < SIZE; i++) {
                if (i != except && leases.get(i).isLeader()) {
                    return true;
                }
            }
            return false;
        });
        for (int i = 0; i < SIZE; i++) {
            if (i != except && leases.get(i).isLeader()) {
                return i;
            }
        }
        throw new AssertionError("no leader");
    }

    private static QueuedRequest request(String id, GridNode origin) {
        return QueuedRequest.pending(id, new byte[] {1}, "glm-test", null, List.of(), 4, 8, origin.localId());
    }
}
