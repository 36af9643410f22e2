package org.autoglm.gossip.dispatch;

import org.autoglm.gossip.grid.GridNode;
import org.autoglm.gossip.queue.RequestQueue;

/** Test access to workers built in ways production code never builds them. */
public final class Workers {

    private Workers() {}

    /** A worker that gets no continuous-query notices: every assignment must reach it through its sweep. */
    public static Worker sweepingOnly(GridNode grid, RequestQueue queue, RequestExecutor executor) {
        return Worker.sweepingOnly(grid, queue, executor);
    }
}
