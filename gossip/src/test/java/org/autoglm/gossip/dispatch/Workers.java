package org.autoglm.gossip.dispatch;

import org.autoglm.gossip.grid.GridNode;
import org.autoglm.gossip.queue.RequestQueue;

/** Test access to workers built in ways production code never builds them. */
public final class Workers {

    private Workers() {}

    /**
     * Sends output of attempt {@code attempt} of a request to its client's node as an executing worker would: tokens
     * {@code ids} starting at position {@code offset} of its output, in one message.
     */
    public static void sendTokens(GridNode grid, java.util.UUID client, String requestId, int attempt, int offset,
                                  int... ids) {
        grid.ignite().message(grid.ignite().cluster().forNodeId(client)).sendOrdered(StreamMessage.topic(requestId),
                StreamMessage.tokens(attempt, offset, ids, new byte[0]), 0);
    }

    /**
     * A worker whose output to the client's node is lost once, as on a connection that broke: its {@code lostSend}-th
     * send (1-based) throws, the rest go through the grid.
     */
    public static Worker losingOneSend(GridNode grid, RequestQueue queue, RequestExecutor executor, int lostSend) {
        java.util.concurrent.atomic.AtomicInteger sends = new java.util.concurrent.atomic.AtomicInteger();
        return Worker.sendingThrough(grid, queue, executor, network -> (node, topic, message) -> {
            if (sends.incrementAndGet() == lostSend) {
                throw new IllegalStateException("connection to " + node + " broke (test)");
            }
            network.send(node, topic, message);
        });
    }

    /** A worker that gets no continuous-query notices: every assignment must reach it through its sweep. */
    public static Worker sweepingOnly(GridNode grid, RequestQueue queue, RequestExecutor executor) {
        return Worker.sweepingOnly(grid, queue, executor);
    }
}
