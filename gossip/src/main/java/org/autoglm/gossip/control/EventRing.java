package org.autoglm.gossip.control;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.ignite.IgniteCache;
import org.apache.ignite.cache.CacheAtomicityMode;
import org.apache.ignite.cache.query.ContinuousQuery;
import org.apache.ignite.transactions.Transaction;
import org.apache.ignite.transactions.TransactionConcurrency;
import org.apache.ignite.transactions.TransactionIsolation;
import org.autoglm.gossip.grid.GridCaches;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.gossip.grid.GridWatches;
import org.autoglm.gossip.grid.OnCurrentGrid;

/**
 * The cluster's recent events: a bounded ring in a replicated transactional cache. An event takes the next number and
 * is stored in one transaction that holds the counter's lock, so events are stored in the order of their ids and a
 * reader that saw id N finds every earlier one already there: it resumes after the last id it saw
 * ({@code Last-Event-ID}) as long as that event is still in the ring. It follows this process's current grid node:
 * after a rejoin ({@link #rejoined}) listeners hear the events of the new one.
 */
public final class EventRing implements AutoCloseable {

    static final String EVENTS = "autoglm-events";
    /** Events kept; older ones fall out of the ring. */
    public static final int CAPACITY = 1000;

    private static final String COUNTER = "autoglm-event-counter";

    /** The ring and its counter on one grid node. */
    private record Caches(GridNode grid, IgniteCache<Long, ClusterEvent> events, IgniteCache<String, Long> counter) {
        static Caches on(GridNode grid) {
            return new Caches(grid,
                    grid.ignite().getOrCreateCache(GridCaches.replicated(EVENTS, CacheAtomicityMode.TRANSACTIONAL)),
                    grid.ignite().getOrCreateCache(GridCaches.replicated(COUNTER, CacheAtomicityMode.TRANSACTIONAL)));
        }
    }

    private final OnCurrentGrid<Caches> caches;
    private final GridWatches watches = new GridWatches();

    /** @param grid the grid node this process is in now (a rejoin replaces it) */
    public EventRing(Supplier<GridNode> grid) {
        this.caches = new OnCurrentGrid<>(grid, Caches::on);
        caches.get();
    }

    /** This process rejoined the cluster on a fresh grid node: listeners move to it. */
    public void rejoined() {
        watches.reopen();
    }

    /** Appends an event seen or caused by this node. */
    public ClusterEvent append(String type, String data) {
        Caches c = caches.get();
        IgniteCache<Long, ClusterEvent> events = c.events();
        IgniteCache<String, Long> counter = c.counter();
        try (Transaction tx = c.grid().ignite().transactions().txStart(TransactionConcurrency.PESSIMISTIC,
                TransactionIsolation.REPEATABLE_READ)) {
            Long last = counter.get(COUNTER);
            long id = last == null ? 1 : last + 1;
            ClusterEvent e = new ClusterEvent(id, System.currentTimeMillis(), type, c.grid().name(), data);
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
        Long last = caches.get().counter().get(COUNTER);
        return last == null ? 0 : last;
    }

    /** Events after {@code afterId} still in the ring, oldest first. */
    public List<ClusterEvent> after(long afterId) {
        long last = latestId();
        TreeSet<Long> keys = new TreeSet<>();
        for (long id = Math.max(afterId + 1, last - CAPACITY + 1); id <= last; id++) keys.add(Math.max(1, id));
        List<ClusterEvent> out = new ArrayList<>(caches.get().events().getAll(keys).values());
        out.sort(Comparator.comparingLong(ClusterEvent::id));
        return out;
    }

    /**
     * Calls {@code listener} (on a grid thread: return quickly) for every event written from now on, by any node;
     * events written while this node was away and rejoining are not heard (read them with {@link #after}).
     */
    public AutoCloseable listen(Consumer<ClusterEvent> listener) {
        return watches.add(() -> {
            ContinuousQuery<Long, ClusterEvent> query = new ContinuousQuery<>();
            query.setLocalListener(batch -> batch.forEach(e -> {
                if (e.getValue() != null && e.getEventType() != javax.cache.event.EventType.REMOVED) {
                    listener.accept(e.getValue());
                }
            }));
            return caches.get().events().query(query);
        });
    }

    @Override
    public void close() {
        watches.close();
    }
}
