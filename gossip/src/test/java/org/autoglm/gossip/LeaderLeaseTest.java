package org.autoglm.gossip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.gossip.lease.LeaderLease;
import org.autoglm.gossip.lease.LeadershipListener;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Election on three real Ignite nodes on loopback: one leader per term, quick takeover, no minority leader. */
class LeaderLeaseTest {

    private static final int BASE = 27600 + Integer.getInteger("autoglm.test.portOffset", 0);
    private static final int SIZE = 3;

    /** Every term that ever started, with the nodes that led it (must be exactly one each). */
    private final Map<Long, Set<String>> leadersByTerm = new ConcurrentHashMap<>();
    private final List<GridNode> grids = new ArrayList<>();
    private final List<LeaderLease> leases = new ArrayList<>();

    @BeforeEach
    void start() {
        List<GridNode> started = TestGrid.start(BASE, SIZE,
                i -> GridNode.start(TestGrid.config("n" + i, BASE + i, BASE, SIZE)));
        grids.addAll(started);
        for (GridNode grid : grids) {
            leases.add(new LeaderLease(grid).addListener(new LeadershipListener() {
                @Override
                public void onLeaderStart(long term) {
                    leadersByTerm.computeIfAbsent(term, t -> ConcurrentHashMap.newKeySet()).add(grid.name());
                }

                @Override
                public void onLeaderStop() {}
            }).start());
        }
    }

    @AfterEach
    void stop() {
        leases.forEach(LeaderLease::close);
        grids.forEach(GridNode::close);
    }

    @Test
    void electsOneLeaderAndTakesOverWithinThreeSecondsWhenItLeaves() {
        int first = awaitSingleLeader();
        long firstTerm = leases.get(first).leaderTerm();
        assertThat(leases.get((first + 1) % SIZE).leader()).hasValueSatisfying(
                lease -> assertThat(lease.holderName()).isEqualTo("n" + first));

        leases.get(first).close();
        grids.get(first).close();
        long gone = System.nanoTime();
        int second = awaitSingleLeaderAmong(others(first), Duration.ofSeconds(3));
        assertThat(Duration.ofNanos(System.nanoTime() - gone)).isLessThan(Duration.ofSeconds(3));
        assertThat(leases.get(second).leaderTerm()).isGreaterThan(firstTerm);
        leadersByTerm.values().forEach(nodes -> assertThat(nodes).hasSize(1));
    }

    @Test
    void takesOverFromACrashedLeaderThatNeverReleased() {
        int first = awaitSingleLeader();
        long firstTerm = leases.get(first).leaderTerm();
        // A crash: the node vanishes from discovery without leaving and without releasing its lease.
        ((org.apache.ignite.spi.discovery.tcp.TcpDiscoverySpi) grids.get(first).ignite().configuration()
                .getDiscoverySpi()).simulateNodeFailure();
        int second = awaitSingleLeaderAmong(others(first), Duration.ofSeconds(6));
        assertThat(leases.get(second).leaderTerm()).isGreaterThan(firstTerm);
        leadersByTerm.values().forEach(nodes -> assertThat(nodes).hasSize(1));
    }

    @Test
    void aMinorityDoesNotElectALeader() {
        int leader = awaitSingleLeader();
        int survivor = (leader + 1) % SIZE;
        for (int i = 0; i < SIZE; i++) {
            if (i != survivor) {
                leases.get(i).close();
                grids.get(i).close();
            }
        }
        LeaderLease alone = leases.get(survivor);
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).until(() -> !alone.isLeader());
        assertThat(grids.get(survivor).hasQuorum()).isFalse();
    }

    private int awaitSingleLeader() {
        return awaitSingleLeaderAmong(List.of(0, 1, 2), Duration.ofSeconds(15));
    }

    private int awaitSingleLeaderAmong(List<Integer> candidates, Duration within) {
        await().atMost(within).until(() -> candidates.stream().filter(i -> leases.get(i).isLeader()).count() == 1);
        return candidates.stream().filter(i -> leases.get(i).isLeader()).findFirst().orElseThrow();
    }

    private static List<Integer> others(int index) {
        return List.of(0, 1, 2).stream().filter(i -> i != index).toList();
    }
}
