package org.autoglm.gossip.lease;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.apache.ignite.spi.discovery.tcp.TcpDiscoverySpi;
import org.autoglm.gossip.TestGrid;
import org.autoglm.gossip.grid.GridNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A lease holder that stood still past failure detection (SIGSTOP, a starved machine) leads, takes and reports nothing
 * until a majority of its peers answer it directly. In the fault harness's pause schedules a leader woken after 9 s
 * (failure detection 8 s) answered {@code /cluster/leader} as the leader of its old term for seconds while its peers led
 * the next one. Three real grid nodes with a generous failure detection (no spurious drops under load); the standstill
 * is the holder's own monotonic clock jumping past failure detection between two ticks, so whether it "was paused" does
 * not depend on how busy the machine is. Grid ports 29410-29412 (+ the offset).
 */
class LeaseAfterStandstillTest {

    private static final int BASE = TestGrid.offsetPort(29410, 3);
    private static final int SIZE = 3;
    private static final Duration FAILURE_DETECTION = Duration.ofSeconds(5);

    private final List<GridNode> grids = new ArrayList<>();
    private final List<LeaderLease> leases = new ArrayList<>();
    private final List<AtomicLong> jumps = new ArrayList<>();

    @AfterEach
    void stop() {
        leases.forEach(LeaderLease::close);
        grids.forEach(GridNode::close);
    }

    @Test
    void aHolderThatStoodStillLeadsNothingUntilAMajorityAnswersIt() {
        AtomicBoolean peersAnswer = new AtomicBoolean(true);
        start(grid -> peersAnswer::get);
        int leader = awaitOneLeader();
        LeaderLease woken = leases.get(leader);
        long term = woken.leaderTerm();

        peersAnswer.set(false); // its peers dropped it while it stood still (they refuse to answer it)
        standStill(leader);
        await().atMost(Duration.ofSeconds(10)).until(() -> !woken.isLeader());
        long watchUntil = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        while (System.nanoTime() < watchUntil) {
            assertThat(woken.doubtful()).isTrue();
            assertThat(woken.isLeader()).as("leads again although its peers do not answer it").isFalse();
            assertThat(woken.holdsLease()).isFalse();
            assertThat(woken.leader().map(LeaseRecord::holderName)).isNotEqualTo(Optional.of("s" + leader));
            pause(50);
        }

        peersAnswer.set(true); // they answer again: the doubt is over, and a term above the old one starts
        await().atMost(Duration.ofSeconds(30)).until(() -> !woken.doubtful()
                && leases.stream().anyMatch(lease -> lease.leaderTerm() > term && lease.holdsLease()));
    }

    @Test
    void aHolderThatStoodStillWhoseRealPeersStillCountItGoesOnInItsTerm() {
        java.util.Map<GridNode, AtomicInteger> asked = new java.util.concurrent.ConcurrentHashMap<>();
        start(grid -> () -> {
            asked.computeIfAbsent(grid, g -> new AtomicInteger()).incrementAndGet();
            return MembershipCheck.majorityAnswers(grid, FAILURE_DETECTION);
        });
        int leader = awaitOneLeader();
        LeaderLease woken = leases.get(leader);
        long term = woken.leaderTerm();
        int askedBefore = asked.computeIfAbsent(grids.get(leader), g -> new AtomicInteger()).get();

        standStill(leader);
        await().atMost(Duration.ofSeconds(20)).until(() -> asked.get(grids.get(leader)).get() > askedBefore
                && !woken.doubtful() && woken.holdsLease());
        assertThat(woken.leaderTerm()).isEqualTo(term);
    }

    @Test
    void peersThatDroppedANodeDoNotAnswerIt() {
        start(grid -> () -> true);
        GridNode dropped = grids.get(0);
        assertThat(MembershipCheck.majorityAnswers(dropped, FAILURE_DETECTION)).isTrue();

        // Its peers drop it. Its own view lists them until it notices (then its grid node stops): either way, no majority.
        ((TcpDiscoverySpi) dropped.ignite().configuration().getDiscoverySpi()).simulateNodeFailure();
        await().atMost(Duration.ofSeconds(30)).until(() ->
                grids.get(1).serverNodeIds().size() == SIZE - 1 && grids.get(2).serverNodeIds().size() == SIZE - 1);
        assertThat(MembershipCheck.majorityAnswers(dropped, FAILURE_DETECTION)).isFalse();
        assertThat(MembershipCheck.majorityAnswers(grids.get(1), FAILURE_DETECTION)).isTrue();
    }

    private void start(java.util.function.Function<GridNode, BooleanSupplier> check) {
        // One after the other: started at once on a loaded machine, members can miss each other's handshake.
        for (int i = 0; i < SIZE; i++) {
            grids.add(GridNode.start(TestGrid.config("s" + i, BASE + i, BASE, SIZE)
                    .andThen(config -> config.failureDetection = FAILURE_DETECTION)));
        }
        for (GridNode grid : grids) {
            AtomicLong jump = new AtomicLong();
            jumps.add(jump);
            leases.add(new LeaderLease(grid, () -> System.nanoTime() + jump.get(), check.apply(grid)).start());
        }
    }

    /** The node's clock jumps past failure detection: to it, it did not run for that long. */
    private void standStill(int node) {
        jumps.get(node).addAndGet(FAILURE_DETECTION.plusMillis(500).toNanos());
    }

    private int awaitOneLeader() {
        await().atMost(Duration.ofSeconds(60)).until(() -> leases.stream().filter(LeaderLease::holdsLease).count() == 1);
        return leases.indexOf(leases.stream().filter(LeaderLease::holdsLease).findFirst().orElseThrow());
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
