package org.autoglm.gossip.lease;

import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.ignite.IgniteCache;
import org.apache.ignite.cache.CacheAtomicityMode;
import org.apache.ignite.transactions.Transaction;
import org.apache.ignite.transactions.TransactionConcurrency;
import org.apache.ignite.transactions.TransactionIsolation;
import org.autoglm.gossip.grid.Daemons;
import org.autoglm.gossip.grid.GridCaches;
import org.autoglm.gossip.grid.GridConfig;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.gossip.grid.MajorityValidator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Leader election by lease on the grid. The lease is one record in a transactional replicated cache; a node
 * becomes leader by compare-and-set of {@code (term + 1, self)} when the record is free, released, held by a node
 * that left, or unchanged for a whole lease duration on this node's monotonic clock. The leader renews every
 * interval and steps down when a renewal finds the record taken, or when it has failed to renew for a whole lease
 * duration (measured from the start of its last successful renewal, always before any observer's deadline). A leader
 * whose tick merely ran late renews as usual if nobody took over meanwhile: its belief is never what protects the
 * queue, since every assignment re-reads the lease in its own transaction. The cache has the majority validator, so
 * a minority partition cannot write the record at all.
 */
public final class LeaderLease implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LeaderLease.class);
    static final String KEY = "leader";

    private final GridNode grid;
    private final IgniteCache<String, LeaseRecord> cache;
    private final CopyOnWriteArrayList<LeadershipListener> listeners = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService ticker;
    private final long durationNanos;
    private final long renewMillis;

    // Touched only on the ticker thread, read by others: volatile.
    private volatile long leaderTerm = -1;
    private volatile long highestTermSeen;
    private long lastRenewStartNanos;
    private long observedTerm = -1;
    private long observedRenewals = -1;
    private long lastChangeNanos = System.nanoTime();

    public LeaderLease(GridNode grid) {
        this.grid = grid;
        this.cache = cache(grid);
        GridConfig.Lease times = grid.config().lease;
        this.durationNanos = times.duration.toNanos();
        this.renewMillis = times.renewInterval.toMillis();
        this.ticker = Daemons.scheduler("autoglm-lease-" + grid.name());
    }

    /** The lease cache; the request queue reads it inside its transactions to fence stale terms. */
    public static IgniteCache<String, LeaseRecord> cache(GridNode grid) {
        return grid.ignite().getOrCreateCache(GridCaches.<String, LeaseRecord>replicated(
                        GridCaches.LEASE, CacheAtomicityMode.TRANSACTIONAL)
                .setTopologyValidator(new MajorityValidator(grid.config().expectedNodes)));
    }

    /** Listeners first, then {@link #start()}: a listener added later may miss a start. */
    public LeaderLease addListener(LeadershipListener listener) {
        listeners.add(listener);
        return this;
    }

    public LeaderLease start() {
        ticker.scheduleWithFixedDelay(this::tick, 0, renewMillis, TimeUnit.MILLISECONDS);
        return this;
    }

    public boolean isLeader() {
        return leaderTerm > 0;
    }

    /** The term this node leads in, or -1. */
    public long leaderTerm() {
        return leaderTerm;
    }

    /** The highest term this node has seen in the lease record (workers refuse assignments from older ones). */
    public long highestTermSeen() {
        return highestTermSeen;
    }

    /** The lease record as the grid holds it now, if anyone ever led. */
    public Optional<LeaseRecord> current() {
        return Optional.ofNullable(cache.get(KEY));
    }

    /** The current leader, if the lease is held and not released. */
    public Optional<LeaseRecord> leader() {
        return current().filter(lease -> !lease.released() && grid.isAlive(lease.holderId()));
    }

    private void tick() {
        long start = System.nanoTime();
        try {
            if (!grid.hasQuorum()) {
                if (isLeader()) {
                    stepDown("lost the majority: " + grid.serverNodeIds().size() + " of "
                            + grid.config().expectedNodes + " expected nodes visible");
                }
                observe(cache.get(KEY), start);
                return;
            }
            if (isLeader()) {
                renew(start);
            } else {
                tryAcquire(start);
            }
        } catch (RuntimeException e) {
            // Transaction timeouts and topology changes land here; the next tick retries.
            log.debug("lease tick on {} failed: {}", grid.name(), e.toString());
            if (isLeader() && start - lastRenewStartNanos > durationNanos) {
                stepDown("could not renew the lease for "
                        + TimeUnit.NANOSECONDS.toMillis(start - lastRenewStartNanos) + " ms: " + e.getMessage());
            }
        }
    }

    private void renew(long start) {
        UUID self = grid.localId();
        try (Transaction tx = grid.ignite().transactions().txStart(
                TransactionConcurrency.PESSIMISTIC, TransactionIsolation.REPEATABLE_READ, renewMillis * 2, 0)) {
            LeaseRecord current = cache.get(KEY);
            observe(current, start);
            if (current == null || current.term() != leaderTerm || !self.equals(current.holderId()) || current.released()) {
                tx.rollback();
                stepDown("the lease is now " + current);
                return;
            }
            cache.put(KEY, current.renewed(expiryWallClock()));
            tx.commit();
            lastRenewStartNanos = start;
        }
    }

    private void tryAcquire(long start) {
        UUID self = grid.localId();
        LeaseRecord taken;
        try (Transaction tx = grid.ignite().transactions().txStart(
                TransactionConcurrency.PESSIMISTIC, TransactionIsolation.REPEATABLE_READ, renewMillis * 2, 0)) {
            LeaseRecord current = cache.get(KEY);
            observe(current, start);
            boolean free = current == null
                    || current.released()
                    || self.equals(current.holderId())
                    || !grid.isAlive(current.holderId())
                    || start - lastChangeNanos >= durationNanos;
            if (!free) {
                tx.rollback();
                return;
            }
            long term = current == null ? 1 : current.term() + 1;
            taken = new LeaseRecord(term, self, grid.name(), expiryWallClock(), 0, false);
            cache.put(KEY, taken);
            tx.commit();
        }
        lastRenewStartNanos = start;
        leaderTerm = taken.term();
        highestTermSeen = Math.max(highestTermSeen, taken.term());
        observe(taken, start);
        log.info("{} is leader in term {}", grid.name(), taken.term());
        for (LeadershipListener listener : listeners) {
            try {
                listener.onLeaderStart(taken.term());
            } catch (RuntimeException e) {
                log.error("onLeaderStart failed on {}", grid.name(), e);
            }
        }
    }

    /** Tracks when the record last changed, on this node's monotonic clock. */
    private void observe(LeaseRecord lease, long nowNanos) {
        if (lease == null) {
            return;
        }
        highestTermSeen = Math.max(highestTermSeen, lease.term());
        if (lease.term() != observedTerm || lease.renewals() != observedRenewals) {
            observedTerm = lease.term();
            observedRenewals = lease.renewals();
            lastChangeNanos = nowNanos;
        }
    }

    private long expiryWallClock() {
        return System.currentTimeMillis() + TimeUnit.NANOSECONDS.toMillis(durationNanos);
    }

    /** The one way out of leadership. */
    private void stepDown(String reason) {
        if (!isLeader()) {
            return;
        }
        long term = leaderTerm;
        leaderTerm = -1;
        log.info("{} steps down from term {}: {}", grid.name(), term, reason);
        for (LeadershipListener listener : listeners) {
            try {
                listener.onLeaderStop();
            } catch (RuntimeException e) {
                log.error("onLeaderStop failed on {}", grid.name(), e);
            }
        }
    }

    /** Stops taking part; a leader releases the lease so that another node takes over at once. */
    @Override
    public void close() {
        ticker.shutdownNow();
        try {
            ticker.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (isLeader()) {
            long term = leaderTerm;
            stepDown("shutting down");
            try (Transaction tx = grid.ignite().transactions().txStart(
                    TransactionConcurrency.PESSIMISTIC, TransactionIsolation.REPEATABLE_READ, renewMillis * 2, 0)) {
                LeaseRecord current = cache.get(KEY);
                if (current != null && current.term() == term && grid.localId().equals(current.holderId())) {
                    cache.put(KEY, current.release());
                }
                tx.commit();
            } catch (RuntimeException e) {
                log.debug("lease not released by {}: {}", grid.name(), e.toString());
            }
        }
    }
}
