package org.autoglm.gossip.control;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.apache.ignite.IgniteCache;
import org.apache.ignite.cache.CacheAtomicityMode;
import org.apache.ignite.cache.query.ContinuousQuery;
import org.apache.ignite.cache.query.QueryCursor;
import org.apache.ignite.transactions.Transaction;
import org.apache.ignite.transactions.TransactionConcurrency;
import org.apache.ignite.transactions.TransactionIsolation;
import org.autoglm.gossip.grid.GridCaches;
import org.autoglm.gossip.grid.GridNode;

/**
 * The cluster's recent events: a bounded ring in a replicated transactional cache. An event takes the next number and
 * is stored in one transaction that holds the counter's lock, so events are stored in the order of their ids and a
 * reader that saw id N finds every earlier one already there: it resumes after the last id it saw
 * ({@code Last-Event-ID}) as long as that event is still in the ring.
 */
public final class EventRing implements AutoCloseable {

    static final String EVENTS = "autoglm-events";
    /** Events kept; older ones fall out of the ring. */
    public static final int CAPACITY = 1000;

    private final GridNode grid;
    private final IgniteCache<Long, ClusterEvent> events;
    private final IgniteCache<String, Long> counter;
    private static final String COUNTER = "autoglm-event-counter";
    private final List<QueryCursor<?>> watches = new ArrayList<>();

    public EventRing(GridNode grid) {
        this.grid = grid;
        this.events = grid.ignite().getOrCreateCache(GridCaches.replicated(EVENTS, CacheAtomicityMode.TRANSACTIONAL));
        this.counter = grid.ignite().getOrCreateCache(GridCaches.replicated(COUNTER, CacheAtomicityMode.TRANSACTIONAL));
    }

    /** Appends an event seen or caused by this node. */
    public ClusterEvent append(String type, String data) {
        try (Transaction tx = grid.ignite().transactions().txStart(TransactionConcurrency.PESSIMISTIC,
                TransactionIsolation.REPEATABLE_READ)) {
            Long last = counter.get(COUNTER);
            long id = last == null ? 1 : last + 1;
            ClusterEvent e = new ClusterEvent(id, System.currentTimeMillis(), type, grid.name(), data);
            events.put(id, e);
            if (id > CAPACITY) {
                events.remove(id - CAPACITY);
            }
            counter.put(COUNTER, id);
            tx.commit();
            return e;
        }
    }

    /** The id of the newest event (0 when none). */
    public long latestId() {
        Long last = counter.get(COUNTER);
        return last == null ? 0 : last;
    }

    /** Events after {@code afterId} still in the ring, oldest first. */
    public List<ClusterEvent> after(long afterId) {
        long last = latestId();
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
