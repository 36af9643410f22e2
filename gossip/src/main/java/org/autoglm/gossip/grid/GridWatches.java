package org.autoglm.gossip.grid;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
import org.apache.ignite.cache.query.QueryCursor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous queries that must outlive this process's grid node: each is opened again on the current grid node by
 * {@link #reopen} (after the node rejoined the cluster on a fresh one), since a query lives and dies with the grid
 * node it was opened on.
 */
public final class GridWatches implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(GridWatches.class);

    private final List<Watch> watches = new CopyOnWriteArrayList<>();

    /** One watch: how to open it on the current grid node, and its cursor there. */
    private final class Watch implements AutoCloseable {
        private final Supplier<QueryCursor<?>> open;
        private QueryCursor<?> cursor;
        private boolean closed;

        Watch(Supplier<QueryCursor<?>> open) {
            this.open = open;
        }

        synchronized void reopen() {
            if (!closed) {
                closeCursor();
                cursor = open.get();
            }
        }

        @Override
        public synchronized void close() {
            closed = true;
            closeCursor();
            watches.remove(this);
        }

        private void closeCursor() {
            if (cursor != null) {
                try {
                    cursor.close();
                } catch (RuntimeException e) { // its grid node is gone, and the query with it
                    log.debug("watch on a stopped grid node: {}", e.toString());
                }
                cursor = null;
            }
        }
    }

    /** Opens a watch now and again after every {@link #reopen}; close the answer to end it. */
    public AutoCloseable add(Supplier<QueryCursor<?>> open) {
        Watch w = new Watch(open);
        w.reopen();
        watches.add(w);
        return w;
    }

    /** The grid node changed: every watch is opened again on the current one. */
    public void reopen() {
        for (Watch w : watches) {
            try {
                w.reopen();
            } catch (RuntimeException e) {
                log.warn("a grid watch could not be opened on the new grid node: {}", e.toString());
            }
        }
    }

    @Override
    public void close() {
        watches.forEach(Watch::close);
    }
}
