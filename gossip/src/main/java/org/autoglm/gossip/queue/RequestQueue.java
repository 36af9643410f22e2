package org.autoglm.gossip.queue;

import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import javax.cache.configuration.FactoryBuilder;
import javax.cache.expiry.Duration;
import javax.cache.expiry.ModifiedExpiryPolicy;
import org.apache.ignite.IgniteCache;
import org.apache.ignite.cache.CacheAtomicityMode;
import org.apache.ignite.cache.query.ContinuousQuery;
import org.apache.ignite.cache.query.QueryCursor;
import org.apache.ignite.cache.query.ScanQuery;
import org.apache.ignite.transactions.Transaction;
import org.apache.ignite.transactions.TransactionConcurrency;
import org.apache.ignite.transactions.TransactionIsolation;
import org.autoglm.gossip.grid.GridCaches;
import org.autoglm.gossip.grid.GridConfig;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.gossip.grid.MajorityValidator;
import org.autoglm.gossip.lease.LeaderLease;
import org.autoglm.gossip.lease.LeaseRecord;
import org.autoglm.gossip.lease.StaleTermException;

/**
 * The shared request queue: a replicated transactional cache keyed by request id (a copy on every node, read from
 * its primary), holding each request's state. With one backup, the entries whose two copies were on two nodes that
 * restarted their grid nodes together were lost, and their clients told so; now one node that kept its grid node
 * keeps them all, at the price of each transition writing every node's copy. Every transition is a pessimistic transaction that re-reads the entry, so two nodes never both
 * move a request. Assignments also check the lease record (this node's copy, unlocked): only the current term's
 * leader can assign (fencing). The cache carries the majority validator, so a minority partition can neither
 * assign nor claim work. Finished entries linger for a minute, then expire.
 */
public final class RequestQueue {

    /** How long DONE / FAILED entries stay, so late duplicates and stale workers see the outcome. */
    private static final Duration FINISHED_TTL = new Duration(TimeUnit.MINUTES, 1);
    private static final long TX_TIMEOUT_MILLIS = 5_000;

    private final GridNode grid;
    private final IgniteCache<String, QueuedRequest> cache;
    private final IgniteCache<String, LeaseRecord> lease;
    private final GridConfig.Failover failover;

    public RequestQueue(GridNode grid) {
        this.grid = grid;
        this.cache = grid.ignite().getOrCreateCache(GridCaches.<String, QueuedRequest>replicated(
                        GridCaches.REQUESTS, CacheAtomicityMode.TRANSACTIONAL)
                .setReadFromBackup(false)
                .setTopologyValidator(new MajorityValidator(grid.config().expectedNodes)));
        this.lease = LeaderLease.cache(grid);
        this.failover = grid.config().failover;
    }

    /**
     * Adds a new request in state PENDING.
     *
     * @throws IllegalStateException when the id is already in the queue, or this node is in a minority
     */
    public void enqueue(QueuedRequest request) {
        // Checked first as well: the cache's validator judges a topology only once its exchange is done, and a put
        // in between would still land on the old, whole topology though this node already sees the minority.
        if (!grid.hasQuorum()) {
            throw noMajority(null);
        }
        boolean added;
        try {
            added = cache.putIfAbsent(request.id(), request);
        } catch (RuntimeException e) {
            if (!grid.hasQuorum()) {
                throw noMajority(e);
            }
            throw e;
        }
        if (!added) {
            throw new IllegalStateException("request id " + request.id() + " is already in the queue");
        }
    }

    private IllegalStateException noMajority(RuntimeException cause) {
        return new IllegalStateException("this node sees " + grid.serverNodeIds().size() + " of "
                + grid.config().expectedNodes + " expected nodes, no majority: it takes no work until"
                + " the cluster is whole again", cause);
    }

    public QueuedRequest get(String id) {
        return cache.get(id);
    }

    /** PENDING requests whose backoff has passed, oldest first. */
    public List<QueuedRequest> placeable(long nowMillis) {
        return inState(RequestState.PENDING).stream()
                .filter(r -> r.notBeforeMillis() <= nowMillis)
                .sorted(Comparator.comparingLong(QueuedRequest::enqueuedAtMillis))
                .toList();
    }

    /** Every entry in one state (a scan filtered where the data lives). */
    public List<QueuedRequest> inState(RequestState state) {
        return scan(new StateFilter(state, null, null));
    }

    /** ASSIGNED entries waiting for {@code node} to claim them. */
    public List<QueuedRequest> assignedTo(UUID node) {
        return scan(new StateFilter(RequestState.ASSIGNED, node, null));
    }

    /** Every entry that is not finished. */
    public List<QueuedRequest> unfinished() {
        return scan(new StateFilter(null, null, null)).stream().filter(r -> !r.state().finished()).toList();
    }

    private List<QueuedRequest> scan(StateFilter filter) {
        try (QueryCursor<javax.cache.Cache.Entry<String, QueuedRequest>> cursor =
                     cache.query(new ScanQuery<>(filter))) {
            return cursor.getAll().stream().map(javax.cache.Cache.Entry::getValue).toList();
        }
    }

    /**
     * The leader of {@code term} places a PENDING request on {@code node}.
     *
     * @return the assigned entry, or null when it is no longer PENDING (cancelled, placed already)
     * @throws StaleTermException when {@code term} is not the lease's current term held by this node
     */
    public QueuedRequest assign(String id, long term, UUID node) {
        return inTx(() -> {
            LeaseRecord current = leaseWithoutLock();
            if (current == null || current.term() != term || !grid.localId().equals(current.holderId())
                    || current.released()) {
                throw new StaleTermException(term, current == null ? 0 : current.term());
            }
            QueuedRequest entry = cache.get(id);
            if (entry == null || entry.state() != RequestState.PENDING || entry.cancelled()) {
                return null;
            }
            if (entry.term() > term) {
                throw new StaleTermException(term, entry.term());
            }
            QueuedRequest assigned = entry.assigned(term, node);
            cache.put(id, assigned);
            return assigned;
        });
    }

    /**
     * The lease as this node's copy of the replicated lease cache holds it, read without joining the transaction: a
     * locked read made every assignment hold the lease record, so the leader's renewals queued behind its own
     * assignments (under load for longer than the lease: leaders stepped down for nothing). Renewals and take-overs
     * commit to every copy before they return (FULL_SYNC), so a term that changed is seen here as soon as it is
     * committed; an assignment racing a take-over is still one assignment, because the request's own lock and state
     * (PENDING only, never an entry of a newer term) decide it.
     */
    private LeaseRecord leaseWithoutLock() {
        LeaseRecord local = lease.localPeek("leader", org.apache.ignite.cache.CachePeekMode.PRIMARY,
                org.apache.ignite.cache.CachePeekMode.BACKUP);
        return local != null ? local : lease.get("leader"); // a copy still arriving: read it the ordinary way
    }

    /**
     * The worker claims an assignment it was told about. Refused unless the entry is still ASSIGNED to this node
     * in the same term: a late notification of an older assignment is not run.
     *
     * @return the RUNNING entry, or null if the claim is refused
     */
    public QueuedRequest claim(String id, long term, UUID node) {
        return claim(id, term, node, false);
    }

    /**
     * Repeats a claim whose transaction failed with an unknown outcome (a grid node left during the commit): as
     * {@link #claim}, and also returns the entry when it is already RUNNING on {@code node} in the same term, which
     * means the failed claim did commit.
     */
    public QueuedRequest claimAgain(String id, long term, UUID node) {
        return claim(id, term, node, true);
    }

    private QueuedRequest claim(String id, long term, UUID node, boolean again) {
        return inTx(() -> {
            QueuedRequest entry = cache.get(id);
            if (entry == null || entry.term() != term || !node.equals(entry.assignee()) || entry.cancelled()) {
                return null;
            }
            if (again && entry.state() == RequestState.RUNNING) {
                return entry;
            }
            if (entry.state() != RequestState.ASSIGNED) {
                return null;
            }
            QueuedRequest running = entry.running();
            cache.put(id, running);
            return running;
        });
    }

    /**
     * Takes a request back from a node that died or could not run it: PENDING again after an exponential backoff,
     * continuing after {@code resumeIds} if given, or FAILED once it has had {@code maxAttempts}.
     *
     * @param from      the node it was assigned to; nothing happens if it has moved on since
     * @param resumeIds tokens the client already has, or null to keep the entry's
     * @return the updated entry, or null if it was not assigned to {@code from} any more
     */
    public QueuedRequest requeue(String id, UUID from, int[] resumeIds, String reason) {
        QueuedRequest after = requeueInTx(id, from, resumeIds, reason);
        if (after != null && after.state() == RequestState.PENDING) {
            for (FailoverListener l : failoverListeners) {
                try {
                    l.failedOver(after, from, reason);
                } catch (RuntimeException e) {
                    org.slf4j.LoggerFactory.getLogger(RequestQueue.class).debug("failover listener: {}", e.toString());
                }
            }
        }
        return after;
    }

    /** Told of every request this node moved off a node that died or could not run it (events, metrics). */
    public interface FailoverListener {
        void failedOver(QueuedRequest request, UUID from, String reason);
    }

    private final java.util.List<FailoverListener> failoverListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

    public void onFailover(FailoverListener listener) {
        failoverListeners.add(listener);
    }

    private QueuedRequest requeueInTx(String id, UUID from, int[] resumeIds, String reason) {
        return inTx(() -> {
            QueuedRequest entry = cache.get(id);
            if (entry == null || entry.state().finished() || entry.state() == RequestState.PENDING
                    || !from.equals(entry.assignee())) {
                return null;
            }
            if (entry.attempts() >= failover.maxAttempts) {
                QueuedRequest failed = entry.finished(RequestState.FAILED, "request " + id + " failed after "
                        + entry.attempts() + " attempts (last: " + reason + "); giving up");
                cache.withExpiryPolicy(new ModifiedExpiryPolicy(FINISHED_TTL)).put(id, failed);
                return failed;
            }
            long backoff = failover.initialBackoff.toMillis() << Math.min(20, Math.max(0, entry.attempts() - 1));
            QueuedRequest pending = entry.requeued(System.currentTimeMillis() + backoff, resumeIds, reason);
            cache.put(id, pending);
            return pending;
        });
    }

    /**
     * Takes back a request that {@code from} refused before running any of it because it was full: PENDING again after
     * the initial backoff, and the refused assignment does not count against its attempts (a busy cluster must not
     * turn into "failed after 5 attempts").
     *
     * @return the PENDING entry, or null if it was not assigned to {@code from} any more
     */
    public QueuedRequest refused(String id, UUID from, String reason) {
        return inTx(() -> {
            QueuedRequest entry = cache.get(id);
            if (entry == null || entry.state().finished() || entry.state() == RequestState.PENDING
                    || !from.equals(entry.assignee())) {
                return null;
            }
            QueuedRequest pending = entry.refused(System.currentTimeMillis() + failover.initialBackoff.toMillis(), reason);
            cache.put(id, pending);
            return pending;
        });
    }

    /** Records new resume tokens for a request that is PENDING again (its client got more than the queue knew). */
    public void updateResume(String id, int[] resumeIds) {
        inTx(() -> {
            QueuedRequest entry = cache.get(id);
            if (entry != null && entry.state() == RequestState.PENDING) {
                cache.put(id, entry.requeued(entry.notBeforeMillis(), resumeIds, entry.error()));
            }
            return null;
        });
    }

    /** The client has its whole answer (or gave up): DONE, kept briefly, then gone. */
    public void done(String id) {
        finish(id, RequestState.DONE, null);
    }

    /** Gives up on a request with a message for its client. Returns false if it had already finished. */
    public boolean fail(String id, String error) {
        return finish(id, RequestState.FAILED, error);
    }

    private boolean finish(String id, RequestState end, String error) {
        return inTx(() -> {
            QueuedRequest entry = cache.get(id);
            if (entry == null || entry.state().finished()) {
                return false;
            }
            cache.withExpiryPolicy(new ModifiedExpiryPolicy(FINISHED_TTL)).put(id, entry.finished(end, error));
            return true;
        });
    }

    /** Marks a request cancelled so that nobody places or claims it; returns its entry (to find its assignee). */
    public QueuedRequest cancel(String id) {
        return inTx(() -> {
            QueuedRequest entry = cache.get(id);
            if (entry == null || entry.state().finished()) {
                return null;
            }
            QueuedRequest cancelled = entry.withCancelled();
            cache.put(id, cancelled);
            return cancelled;
        });
    }

    /**
     * A new priority for a request still waiting to be placed (the leader orders the queue by it, and the node it
     * lands on runs it at it). False when it was placed meanwhile, cancelled or finished.
     */
    public boolean reprioritize(String id, int priority) {
        return inTx(() -> {
            QueuedRequest entry = cache.get(id);
            if (entry == null || entry.state() != RequestState.PENDING || entry.cancelled()) {
                return false;
            }
            if (entry.priority() != priority) {
                cache.put(id, entry.withPriority(priority));
            }
            return true;
        });
    }

    /** Drops an entry whose client is gone. */
    public void remove(String id) {
        cache.remove(id);
    }

    /** Calls {@code listener} (on an Ignite callback thread: hand off, do not block) for requests entering a state. */
    public AutoCloseable listen(RequestState state, UUID assignee, Consumer<QueuedRequest> listener) {
        ContinuousQuery<String, QueuedRequest> query = new ContinuousQuery<>();
        StateFilter filter = new StateFilter(state, assignee, null);
        query.setRemoteFilterFactory(FactoryBuilder.factoryOf(filter));
        query.setLocalListener(events -> events.forEach(e -> listener.accept(e.getValue())));
        query.setInitialQuery(new ScanQuery<>(filter));
        QueryCursor<javax.cache.Cache.Entry<String, QueuedRequest>> cursor = cache.query(query);
        for (var entry : cursor) { // the initial query: what was already there
            listener.accept(entry.getValue());
        }
        return cursor::close;
    }

    private <T> T inTx(Supplier<T> body) {
        try (Transaction tx = grid.ignite().transactions().txStart(
                TransactionConcurrency.PESSIMISTIC, TransactionIsolation.REPEATABLE_READ, TX_TIMEOUT_MILLIS, 0)) {
            T result = body.get();
            tx.commit();
            return result;
        }
    }
}
