package org.autoglm.gossip.lease;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ignite.spi.discovery.tcp.TcpDiscoverySpi;
import org.autoglm.gossip.TestGrid;
import org.autoglm.gossip.grid.GridNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A holder that left a node's view may still run on the far side of a partition it has not noticed yet, reporting itself
 * and placing work for its acting window after its last renewal. A successor therefore takes the lease only once that
 * window has closed on its own clock, counted from the last renewal it saw. (Stop 32's fault run: the majority dropped a
 * cut-off leader within 0.1 s and elected a successor at 0.43 s, while the cut-off leader, which noticed 0.3 s later,
 * still answered as the leader of its old term.) Three real grid nodes; the survivors' monotonic clocks stand still
 * while the holder is dropped, so the window cannot close by itself however slow the machine is. Grid ports
 * 29430-29432 (+ the offset).
 */
class LeaseAfterHolderLeftTest {

    private static final int BASE = TestGrid.offsetPort(29430, 3);
    private static final int SIZE = 3;
    private static final Duration FAILURE_DETECTION = Duration.ofSeconds(5);

    private final List<GridNode> grids = new ArrayList<>();
    private final List<LeaderLease> leases = new ArrayList<>();
    /** Per node: the clock's value while it stands still, or -1 while it runs. */
    private final List<AtomicLong> frozenAt = new ArrayList<>();

    @AfterEach
    void stop() {
        leases.forEach(LeaderLease::close);
        grids.forEach(GridNode::close);
    }

    @Test
    void aSuccessorWaitsOutTheLeftHoldersActingWindow() {
        for (int i = 0; i < SIZE; i++) { // one after the other: at once, a loaded machine can miss a handshake
            grids.add(GridNode.start(TestGrid.config("h" + i, BASE + i, BASE, SIZE)
                    .andThen(config -> config.failureDetection = FAILURE_DETECTION)));
        }
        for (GridNode grid : grids) {
            AtomicLong frozen = new AtomicLong(-1);
            frozenAt.add(frozen);
            leases.add(new LeaderLease(grid, () -> frozen.get() >= 0 ? frozen.get() : System.nanoTime(), () -> true)
                    .start());
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> leases.stream().filter(LeaderLease::holdsLease).count() == 1);
        int holder = leases.indexOf(leases.stream().filter(LeaderLease::holdsLease).findFirst().orElseThrow());
        long term = leases.get(holder).leaderTerm();
        List<Integer> survivors = new ArrayList<>();
        for (int i = 0; i < SIZE; i++) {
            if (i != holder) {
                survivors.add(i);
                frozenAt.get(i).set(System.nanoTime());
            }
        }

        // The holder drops out without releasing; the survivors see it gone, with no time passing on their clocks.
        ((TcpDiscoverySpi) grids.get(holder).ignite().configuration().getDiscoverySpi()).simulateNodeFailure();
        await().atMost(Duration.ofSeconds(30)).until(() -> survivors.stream()
                .allMatch(i -> grids.get(i).serverNodeIds().size() == SIZE - 1));
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).until(() -> survivors.stream()
                .noneMatch(i -> leases.get(i).isLeader()));

        // Their clocks run again, past the window: one of them leads the next term.
        survivors.forEach(i -> frozenAt.get(i).set(-1));
        await().atMost(Duration.ofSeconds(20)).until(() -> survivors.stream()
                .anyMatch(i -> leases.get(i).leaderTerm() > term && leases.get(i).holdsLease()));
        assertThat(survivors.stream().filter(i -> leases.get(i).isLeader()).count()).isEqualTo(1);
    }
}
