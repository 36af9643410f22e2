package org.autoglm.gossip.lease;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.ignite.IgniteCompute;
import org.apache.ignite.lang.IgniteCallable;
import org.apache.ignite.lang.IgniteFuture;
import org.autoglm.gossip.grid.GridNode;

/**
 * Asks the other server nodes of this node's grid view, directly, whether they still count it: a node that dropped it
 * refuses anything it sends ("remote node does not observe current node in topology"). Used after a pause, when this
 * node's own view may still list peers that have long dropped it.
 */
final class MembershipCheck {

    private MembershipCheck() {}

    /**
     * True when this node and the voting peers that answered within {@code wait} make a majority of the voters (until
     * the member list is known, every server node votes).
     */
    static boolean majorityAnswers(GridNode grid, Duration wait) {
        try {
            return majorityOf(grid, wait);
        } catch (IllegalStateException stopped) { // its grid node stopped (segmented): nobody counts it
            return false;
        }
    }

    private static boolean majorityOf(GridNode grid, Duration wait) {
        UUID self = grid.localId();
        List<IgniteFuture<Boolean>> asked = new ArrayList<>();
        java.util.Set<String> voting = grid.voters();
        for (UUID peer : grid.serverNodeIds()) {
            if (!peer.equals(self) && (voting.isEmpty() || voting.contains(grid.nameOf(peer)))) {
                try {
                    IgniteCompute compute = grid.ignite().compute(grid.ignite().cluster().forNodeId(peer))
                            .withTimeout(wait.toMillis()).withNoFailover();
                    asked.add(compute.callAsync(new Answer()));
                } catch (RuntimeException gone) {
                    // left meanwhile: not counted
                }
            }
        }
        long deadline = System.nanoTime() + wait.toNanos();
        int members = 1;
        for (IgniteFuture<Boolean> answer : asked) {
            try {
                long left = Math.max(1, deadline - System.nanoTime());
                if (Boolean.TRUE.equals(answer.get(left, TimeUnit.NANOSECONDS))) {
                    members++;
                }
            } catch (RuntimeException refusedOrLate) {
                // dropped us, gone, or too slow: not counted
            }
        }
        return members >= grid.quorumSize();
    }

    /**
     * Registers the job's class with the grid now, while the cluster is whole. A class's first use is agreed on through
     * discovery; a node woken from a pause whose peers dropped it waited there for its grid node's stop (it blocked
     * that stop, as a thread inside the grid, for a failure detection) instead of being refused at once.
     */
    static void prepare(GridNode grid) {
        try {
            grid.ignite().binary().toBinary(new Answer());
        } catch (RuntimeException e) { // the first check registers it then
            org.slf4j.LoggerFactory.getLogger(MembershipCheck.class).debug("membership check not prepared on {}: {}",
                    grid.name(), e.toString());
        }
    }

    /** The job a peer runs: that it runs at all is the answer. A class, not a lambda: every node has the same jar. */
    private static final class Answer implements IgniteCallable<Boolean> {
        private static final long serialVersionUID = 1L;

        @Override
        public Boolean call() {
            return Boolean.TRUE;
        }
    }
}
