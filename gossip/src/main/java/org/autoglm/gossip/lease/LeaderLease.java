package org.autoglm.gossip.lease;

import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
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
import org.autoglm.gossip.grid.QuietIgniteLogger;
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
 *
 * <p>Two clocks, so that a loaded machine does not pass leadership around: a holder that left the grid frees the
 * lease once its acting window (below) has surely closed, and the lease itself ({@link GridConfig#leaseDuration()},
 * longer than failure detection) only deposes a holder that stays in the grid without renewing. The leader acts
 * (places work, reports itself) only within {@link GridConfig#leaseActingWindow()} of its last renewal, half the
 * failure detection: a leader paused long enough to be dropped wakes with that window shut and places nothing; one
 * whose renewal was merely slow waits for the next one and goes on in the same term.
 *
 * <p>A topology change (a node joining, as when several start at once) holds every transaction until the grid has
 * rebalanced, so nobody can renew or take the lease meanwhile: leader and observers alike restart their lease clocks
 * when they see the topology change, and a renewal waits for its lock as long as the lease still runs rather than
 * giving up after one interval. A busy start therefore does not depose a leader that did nothing wrong.
 */
public final class LeaderLease implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LeaderLease.class);
    static final String KEY = "leader";

    private final GridNode grid;
    private final IgniteCache<String, LeaseRecord> cache;
    private final CopyOnWriteArrayList<LeadershipListener> listeners = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService ticker;
    private final long durationNanos;
    private final long actingNanos;
    private final long renewMillis;

    // Written on the ticker thread (and by a step-down anywhere), read by others: volatile.
    private volatile long leaderTerm = -1;
    private volatile long highestTermSeen;
    private volatile long lastRenewStartNanos;
    private volatile long observedTerm = -1;
    private volatile long observedRenewals = -1;
    private volatile long lastChangeNanos;
    private long topologyVersion = -1;
    private long topologyChangeNanos;
    /** The monotonic clock every lease time is read from (a test moves it to stand for a pause of this process). */
    private final LongSupplier clock;
    /** Whether a majority of the voters, counting this node, answer it directly now (see {@link MembershipCheck}). */
    private final BooleanSupplier majorityAnswers;
    private final StandstillWatch standstill;
    /** Stood still past failure detection: its grid view may be stale; it leads, takes and reports nothing meanwhile. */
    private volatile boolean doubtful;

    public LeaderLease(GridNode grid) {
        this(grid, System::nanoTime,
                () -> MembershipCheck.majorityAnswers(grid, grid.config().failureDetection));
    }

    LeaderLease(GridNode grid, LongSupplier clock, BooleanSupplier majorityAnswers) {
        this.grid = grid;
        this.clock = clock;
        this.majorityAnswers = majorityAnswers;
        this.lastChangeNanos = clock.getAsLong();
        this.topologyChangeNanos = lastChangeNanos;
        this.standstill = new StandstillWatch(grid.config().failureDetection.toNanos());
        this.cache = cache(grid);
        GridConfig.Lease times = grid.config().lease;
        this.durationNanos = grid.config().leaseDuration().toNanos();
        this.actingNanos = grid.config().leaseActingWindow().toNanos();
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
        ticker.execute(() -> MembershipCheck.prepare(grid));
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

    /**
     * Carries the highest term this process saw on its previous grid node (it rejoined on a fresh one): a term this
     * node takes is always above it. Call before {@link #start()}.
     */
    public LeaderLease rememberTerm(long term) {
        highestTermSeen = Math.max(highestTermSeen, term);
        return this;
    }

    /** The lease record as the grid holds it now, if anyone ever led. */
    public Optional<LeaseRecord> current() {
        return Optional.ofNullable(cache.get(KEY));
    }

    /**
     * The current leader, if the lease is held, not released and not expired. Expiry is judged on this node's
     * monotonic clock: its own lease counts within its acting window from the start of its last renewal; a peer's for
     * the lease duration from when this node last saw the record change. A leader woken from a pause longer than
     * failure detection is therefore not reported by itself, even before its next tick steps it down.
     */
    public Optional<LeaseRecord> leader() {
        long now = clock.getAsLong();
        return current().filter(lease -> !lease.released() && grid.isAlive(lease.holderId()) && (
                grid.localId().equals(lease.holderId())
                        ? lease.term() == leaderTerm && now - lastRenewStartNanos < actingNanos && !doubtful
                        : lease.term() != observedTerm || lease.renewals() != observedRenewals
                        || now - lastChangeNanos < durationNanos));
    }

    /**
     * True while this node leads and its last renewal started within the acting window on its monotonic clock. Past
     * the window (a pause, or renewals held up) it places nothing until its next renewal: peers may already have
     * elected a successor. Past the whole lease it steps down at once. The queue fences a stale term anyway; this keeps
     * a woken leader from trying.
     */
    public boolean holdsLease() {
        if (!isLeader()) {
            return false;
        }
        long unrenewed = clock.getAsLong() - lastRenewStartNanos;
        if (unrenewed < actingNanos && !doubtful) {
            return true;
        }
        if (unrenewed < durationNanos) {
            return false;
        }
        stepDown("its lease ran out " + TimeUnit.NANOSECONDS.toMillis(unrenewed - durationNanos)
                + " ms ago without a renewal (the process was paused or starved)");
        return false;
    }

    private void tick() {
        long start = clock.getAsLong();
        try {
            start = confirmPeersAfterStandstill(start);
            if (start < 0) {
                return;
            }
            long version = grid.ignite().cluster().topologyVersion();
            if (version != topologyVersion) { // transactions were held up by the change: nobody could renew
                topologyVersion = version;
                topologyChangeNanos = start;
            }
            if (!grid.hasQuorum()) {
                if (isLeader()) {
                    stepDown("lost the majority: " + grid.serverNodeIds().size() + " node(s) visible, voters "
                            + (grid.voters().isEmpty() ? grid.config().expectedNodes + " expected" : grid.voters()));
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
            log.debug("lease tick on {} failed: {}", grid.name(), QuietIgniteLogger.oneLine(null, e));
            long unrenewed = clock.getAsLong() - renewClockNanos();
            if (isLeader() && unrenewed > durationNanos) {
                stepDown("could not renew the lease for " + TimeUnit.NANOSECONDS.toMillis(unrenewed) + " ms"
                        + QuietIgniteLogger.oneLine("", e));
            }
        } finally {
            if (start >= 0) {
                standstill.end(start, clock.getAsLong());
            }
        }
    }

    /**
     * A process that stood still past failure detection (SIGSTOP, a starved machine) may have been dropped by its peers
     * without knowing it yet: until the grid notices (it is segmented and stopped), its view is stale, and a lease
     * transaction in that view may commit on this node alone. In the fault harness's pause schedules a leader woken
     * after 9 s (failure detection 8 s) so answered {@code /cluster/leader} as the leader of its old term for seconds
     * while its peers led the next one. Such a node leads, takes and reports nothing until a majority of the voters
     * answer it directly (a peer that dropped it refuses to); a leader whose peers do not steps down.
     *
     * @return when the tick may go on (its start, or now after a confirmation), or -1 while in doubt
     */
    private long confirmPeersAfterStandstill(long start) {
        long still = standstill.begin(start);
        if (still > 0 && !doubtful) {
            doubtful = true;
            log.info("{} did not run for {} ms (paused or starved past failure detection): it leads and takes nothing"
                    + " until a majority of its peers answer it", grid.name(), TimeUnit.NANOSECONDS.toMillis(still));
        }
        if (!doubtful) {
            return start;
        }
        if (majorityAnswers.getAsBoolean()) {
            long now = clock.getAsLong();
            standstill.reset(now);
            lastChangeNanos = now; // a peer's record was not watched meanwhile: its age counts from now
            doubtful = false;
            log.info("{}: a majority of its peers still count it; it goes on", grid.name());
            return now;
        }
        if (isLeader()) {
            stepDown("its peers do not answer it after a standstill: they may have dropped it and elected another");
        }
        standstill.reset(clock.getAsLong()); // asking took time of its own; the doubt stays until they answer
        return -1;
    }

    private void renew(long start) {
        UUID self = grid.localId();
        // Wait for the lock as long as the lease runs (a topology change may hold it), never less than an interval.
        long left = TimeUnit.NANOSECONDS.toMillis(durationNanos - (start - renewClockNanos()));
        try (Transaction tx = grid.ignite().transactions().txStart(TransactionConcurrency.PESSIMISTIC,
                TransactionIsolation.REPEATABLE_READ, Math.max(renewMillis, left), 0)) {
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

    /**
     * Takes the lease if it is free. The record is first read without a lock (a replicated cache reads its local
     * copy): followers look every renew interval, and had each look locked the record, the leader's renewals and
     * every assignment (which reads the record under lock to fence stale terms) would queue behind them, on a loaded
     * machine for longer than the lease, and deposed leaders that did nothing wrong. Only a free-looking record is
     * locked, read again and taken.
     */
    private void tryAcquire(long start) {
        LeaseRecord seen = cache.get(KEY);
        observe(seen, start);
        if (!free(seen, start)) {
            return;
        }
        UUID self = grid.localId();
        LeaseRecord taken;
        try (Transaction tx = grid.ignite().transactions().txStart(
                TransactionConcurrency.PESSIMISTIC, TransactionIsolation.REPEATABLE_READ, renewMillis * 2, 0)) {
            LeaseRecord current = cache.get(KEY);
            observe(current, start);
            if (!free(current, start)) {
                tx.rollback();
                return;
            }
            // Past every term this process has seen, on this grid node or an earlier one: a grid rebuilt from scratch
            // (every member restarted its grid node) starts with no record, and a term counted again from 1 would name
            // a second leader of a term that already had one.
            long term = Math.max(current == null ? 0 : current.term(), highestTermSeen) + 1;
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

    /**
     * Free to take: nobody holds it, it was released, it has not changed for a whole lease, or its holder left and the
     * holder's acting window has closed. A holder that left this node's view may still be running on the far side of a
     * partition that it has not noticed yet (its own view drops us later than ours drops it): it reports itself and
     * places work for an acting window after its last renewal, so a successor waits that long after the last renewal it
     * saw (which started before this node saw it) plus one interval. In the fault run a successor that took the lease at
     * once led term 5 for 0.3-0.6 s while the cut-off holder still answered as the leader of term 4.
     */
    private boolean free(LeaseRecord current, long start) {
        return current == null
                || current.released()
                || grid.localId().equals(current.holderId())
                || !grid.isAlive(current.holderId()) && start - lastChangeNanos >= actingNanos + renewNanos()
                || start - Math.max(lastChangeNanos, topologyChangeNanos) >= durationNanos;
    }

    private long renewNanos() {
        return TimeUnit.MILLISECONDS.toNanos(renewMillis);
    }

    /** Where the leader's lease clock starts: its last renewal, or the last topology change if later. */
    private long renewClockNanos() {
        return Math.max(lastRenewStartNanos, topologyChangeNanos);
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

    /** True while it doubts, after a standstill, that its peers still count it (and so leads and takes nothing). */
    boolean doubtful() {
        return doubtful;
    }

    private long expiryWallClock() {
        return System.currentTimeMillis() + TimeUnit.NANOSECONDS.toMillis(durationNanos);
    }

    /** The one way out of leadership (from the ticker, or from a leader finding its lease run out). */
    private void stepDown(String reason) {
        long term;
        synchronized (this) {
            term = leaderTerm;
            if (term < 0) {
                return;
            }
            leaderTerm = -1;
        }
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
