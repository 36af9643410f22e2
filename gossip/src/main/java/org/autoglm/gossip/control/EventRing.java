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
    /** What the events reported so far add up to (the membership the leaders reported), changed only with them. */
    private static final String STATE = "autoglm-event-state";

    /** The ring, its counter and the reported state on one grid node. */
    private record Caches(GridNode grid, IgniteCache<Long, ClusterEvent> events, IgniteCache<String, Long> counter,
                          IgniteCache<String, String> state) {
        static Caches on(GridNode grid) {
            GridCaches.createAll(grid, GridCaches.replicated(EVENTS, CacheAtomicityMode.TRANSACTIONAL),
                    GridCaches.replicated(COUNTER, CacheAtomicityMode.TRANSACTIONAL),
                    GridCaches.replicated(STATE, CacheAtomicityMode.TRANSACTIONAL));
            return new Caches(grid, grid.ignite().cache(EVENTS), grid.ignite().cache(COUNTER),
                    grid.ignite().cache(STATE));
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
        try (Transaction tx = c.grid().ignite().transactions().txStart(TransactionConcurrency.PESSIMISTIC,
                TransactionIsolation.REPEATABLE_READ)) {
            ClusterEvent e = store(c, type, data);
            tx.commit();
            return e;
        }
    }

    /** One event of {@code type} with JSON {@code data}, for {@link #appendIf}. */
    public record Pending(String type, String data) {}

    /** The shared state under {@code key} that {@link #appendIf} keeps, or null when none was written. */
    public String state(String key) {
        return caches.get().state().get(key);
    }

    /**
     * Appends {@code events} and moves the shared state {@code key} from {@code expected} (null: never written) to
     * {@code next}, in one transaction; or does nothing and answers false when {@code key} no longer holds
     * {@code expected} (another node reported first). A change reported this way is in the ring exactly once, whichever
     * node reports it and even when the reporter changes (a new leader goes on from what the old one reported).
     */
    public boolean appendIf(String key, String expected, String next, List<Pending> events) {
        Caches c = caches.get();
        try (Transaction tx = c.grid().ignite().transactions().txStart(TransactionConcurrency.PESSIMISTIC,
                TransactionIsolation.REPEATABLE_READ)) {
            if (!java.util.Objects.equals(c.state().get(key), expected)) {
                return false;
            }
            for (Pending p : events) {
                store(c, p.type(), p.data());
            }
            c.state().put(key, next);
            tx.commit();
            return true;
        }
    }

    /** Inside a transaction: the next id, the event under it, the oldest one out of the ring. */
    private static ClusterEvent store(Caches c, String type, String data) {
        Long last = c.counter().get(COUNTER);
        long id = last == null ? 1 : last + 1;
        ClusterEvent e = new ClusterEvent(id, System.currentTimeMillis(), type, c.grid().name(), data);
        c.events().put(id, e);
        if (id > CAPACITY) {
            c.events().remove(id - CAPACITY);
        }
        c.counter().put(COUNTER, id);
        return e;
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
