package org.autoglm.gossip.control;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.apache.ignite.IgniteAtomicSequence;
import org.apache.ignite.IgniteCache;
import org.apache.ignite.cache.CacheAtomicityMode;
import org.apache.ignite.cache.CacheMode;
import org.apache.ignite.cache.query.ContinuousQuery;
import org.apache.ignite.cache.query.QueryCursor;
import org.apache.ignite.configuration.AtomicConfiguration;
import org.autoglm.gossip.grid.GridCaches;
import org.autoglm.gossip.grid.GridNode;

/**
 * The cluster's recent events: a bounded ring in a replicated cache, numbered by one cluster-wide sequence (reserved
 * one number at a time, so ids grow in the order events are written). A reader resumes after the last id it saw
 * ({@code Last-Event-ID}) as long as that event is still in the ring.
 */
public final class EventRing implements AutoCloseable {

    static final String EVENTS = "autoglm-events";
    /** Events kept; older ones fall out of the ring. */
    public static final int CAPACITY = 1000;

    private final GridNode grid;
    private final IgniteCache<Long, ClusterEvent> events;
    private final IgniteAtomicSequence ids;
    private final List<QueryCursor<?>> watches = new ArrayList<>();

    public EventRing(GridNode grid) {
        this.grid = grid;
        this.events = grid.ignite().getOrCreateCache(GridCaches.replicated(EVENTS, CacheAtomicityMode.ATOMIC));
        this.ids = grid.ignite().atomicSequence("autoglm-event-ids", new AtomicConfiguration()
                .setCacheMode(CacheMode.REPLICATED).setAtomicSequenceReserveSize(1), 0, true);
    }

    /** Appends an event seen or caused by this node. */
    public ClusterEvent append(String type, String data) {
        long id = ids.incrementAndGet();
        ClusterEvent e = new ClusterEvent(id, System.currentTimeMillis(), type, grid.name(), data);
        events.put(id, e);
        if (id > CAPACITY) {
            events.remove(id - CAPACITY);
        }
        return e;
    }

    /** The id of the newest event (0 when none). */
    public long latestId() {
        return ids.get();
    }

    /** Events after {@code afterId} still in the ring, oldest first. */
    public List<ClusterEvent> after(long afterId) {
        long last = ids.get();
        TreeSet<Long> keys = new TreeSet<>();
        for (long id = Math.max(afterId + 1, last - CAPACITY + 1); id <= last; id++) keys.add(Math.max(1, id));
        List<ClusterEvent> out = new ArrayList<>(events.getAll(keys).values());
        out.sort(Comparator.comparingLong(ClusterEvent::id));
        return out;
    }

    /** Calls {@code listener} (on a grid thread: return quickly) for every event written from now on, by any node. */
    public AutoCloseable listen(Consumer<ClusterEvent> listener) {
        ContinuousQuery<Long, ClusterEvent> query = new ContinuousQuery<>();
        query.setLocalListener(batch -> batch.forEach(e -> {
            if (e.getValue() != null && e.getEventType() != javax.cache.event.EventType.REMOVED) {
                listener.accept(e.getValue());
            }
        }));
        QueryCursor<?> cursor = events.query(query);
        synchronized (watches) {
            watches.add(cursor);
        }
        return () -> {
            cursor.close();
            synchronized (watches) {
                watches.remove(cursor);
            }
        };
    }

    @Override
    public void close() {
        synchronized (watches) {
            watches.forEach(QueryCursor::close);
            watches.clear();
        }
    }
}
