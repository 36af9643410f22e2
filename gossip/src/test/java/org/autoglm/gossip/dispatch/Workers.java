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

    /** A worker that gets no continuous-query notices: every assignment must reach it through its sweep. */
    public static Worker sweepingOnly(GridNode grid, RequestQueue queue, RequestExecutor executor) {
        return Worker.sweepingOnly(grid, queue, executor);
    }
}
