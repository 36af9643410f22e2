package org.autoglm.gossip.session;

import java.io.Serializable;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import javax.cache.expiry.TouchedExpiryPolicy;
import javax.cache.Cache;
import org.apache.ignite.IgniteCache;
import org.apache.ignite.cache.CacheAtomicityMode;
import org.apache.ignite.cache.query.QueryCursor;
import org.apache.ignite.cache.query.ScanQuery;
import org.apache.ignite.lang.IgniteBiPredicate;
import org.apache.ignite.transactions.Transaction;
import org.apache.ignite.transactions.TransactionConcurrency;
import org.apache.ignite.transactions.TransactionIsolation;
import org.autoglm.gossip.grid.GridCaches;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.gossip.grid.GridUnavailable;
import org.autoglm.gossip.grid.MajorityValidator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Conversation sessions in the grid: a replicated cache, a copy on every node, so any node can serve any session's
 * next turn and a session outlives every node but one losing its grid state at once. With one backup, the fault run's
 * pause schedules lost the sessions whose two copies were on the two of three nodes that restarted their grid nodes
 * together (seed 27). The price: each write goes to every node, and each node's data region ({@code --grid-memory},
 * refused past {@code --grid-memory-high-water}) holds all sessions, so the cluster holds as many as one node can. Each session expires after its own TTL without being read
 * or written (touched expiry). Values are opaque bytes: the node decides the session format, the grid only keeps it,
 * with the owner beside them so that sessions can be counted per user.
 */
public final class SessionCache {

    private static final Logger log = LoggerFactory.getLogger(SessionCache.class);
    private static final long TX_TIMEOUT_MILLIS = 5_000;

    private final GridNode grid;
    private final IgniteCache<String, StoredSession> cache;

    public SessionCache(GridNode grid) {
        this.grid = grid;
        // On every node, read from the primary (as the partitioned caches, so that a read sees the latest turn).
        // A minority cannot write (the majority validator): a node cut off alone, its grid view holding only itself,
        // committed a turn there and answered it as saved, and the turn was gone when it rejoined on a fresh grid node
        // (the pause-only fault run, seed 6).
        this.cache = grid.ignite().getOrCreateCache(GridCaches.<String, StoredSession>replicated(
                        GridCaches.SESSIONS, CacheAtomicityMode.TRANSACTIONAL)
                .setReadFromBackup(false)
                .setTopologyValidator(new MajorityValidator(grid.config().expectedNodes)));
    }

    /** Creates or replaces a session of {@code owner} that expires {@code ttl} after its last use. */
    public void put(String id, String owner, byte[] data, Duration ttl) {
        requireMajority();
        view(ttl.toMillis()).put(id, new StoredSession(owner, data, ttl.toMillis()));
    }

    /** Live sessions of {@code owner} on the whole grid (a scan of every partition: for session creation, not turns). */
    public int countOwnedBy(String owner) {
        int n = 0;
        try (QueryCursor<Cache.Entry<String, StoredSession>> owned = cache.query(new ScanQuery<>(new OwnedBy(owner)))) {
            for (Cache.Entry<String, StoredSession> ignored : owned) n++;
        }
        return n;
    }

    /** A session's data, resetting its expiry; empty when unknown or expired. */
    public Optional<byte[]> get(String id) {
        StoredSession stored = cache.get(id);
        if (stored == null) {
            return Optional.empty();
        }
        view(stored.ttlMillis).get(id); // touch with the session's own TTL
        return Optional.of(stored.data);
    }

    /**
     * Replaces a session's data with {@code change(old)} in one transaction (two turns of one session on two nodes
     * cannot lose each other's writes).
     *
     * @return the new data, or empty when the session does not exist
     */
    public Optional<byte[]> update(String id, UnaryOperator<byte[]> change) {
        // A lock wait that times out is tried again while the grid settles: during a partition a transaction of the
        // cut-off side holds the session's key until the partition heals or that node is dropped (failure detection).
        // Answering the turn with an error then lost it (the long fault run's seed 25: HTTP 500 on a finished turn).
        long deadline = System.nanoTime() + contentionWait().toNanos();
        for (int attempt = 1; ; attempt++) {
            try {
                return updateOnce(id, change);
            } catch (RuntimeException e) {
                if (!GridUnavailable.contended(e) || System.nanoTime() > deadline) {
                    throw e;
                }
                log.info("update of session {} failed (try {}), trying again: {}", id, attempt, e.toString());
                pause(Math.min(1_000L, 100L * attempt));
            }
        }
    }

    /** How long an update waits for a contended session: three failure detections, at least 15 s. */
    private Duration contentionWait() {
        Duration three = grid.config().failureDetection.multipliedBy(3);
        return three.compareTo(Duration.ofSeconds(15)) > 0 ? three : Duration.ofSeconds(15);
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new org.apache.ignite.IgniteInterruptedException("interrupted while waiting to update a session");
        }
    }

    private Optional<byte[]> updateOnce(String id, UnaryOperator<byte[]> change) {
        try (Transaction tx = grid.ignite().transactions().txStart(
                TransactionConcurrency.PESSIMISTIC, TransactionIsolation.REPEATABLE_READ, TX_TIMEOUT_MILLIS, 0)) {
            StoredSession stored = cache.get(id);
            if (stored == null) {
                return Optional.empty();
            }
            byte[] next = change.apply(stored.data);
            view(stored.ttlMillis).put(id, new StoredSession(stored.owner, next, stored.ttlMillis));
            requireMajority();
            tx.commit();
            return Optional.of(next);
        }
    }

    /**
     * Checked before each write as well: the validator judges a topology only once its exchange is done, and a write
     * in between would still land though this node already sees itself in a minority.
     */
    private void requireMajority() {
        if (!grid.hasQuorum()) {
            throw new javax.cache.CacheException(new org.apache.ignite.internal.processors.cache.CacheInvalidStateException(
                    "this node sees " + grid.visibleNodes() + " of " + grid.config().expectedNodes + " expected nodes,"
                            + " no majority: sessions cannot change here until it rejoins the cluster"));
        }
    }

    /** Removes a session; false when it did not exist. */
    public boolean remove(String id) {
        return cache.remove(id);
    }

    private IgniteCache<String, StoredSession> view(long ttlMillis) {
        return cache.withExpiryPolicy(new TouchedExpiryPolicy(
                new javax.cache.expiry.Duration(TimeUnit.MILLISECONDS, ttlMillis)));
    }

    /** The cache value: the owner, the node's bytes and the TTL to renew on each touch. */
    static final class StoredSession implements Serializable {
        private static final long serialVersionUID = 2L;
        final String owner;
        final byte[] data;
        final long ttlMillis;

        StoredSession(String owner, byte[] data, long ttlMillis) {
            this.owner = owner;
            this.data = data;
            this.ttlMillis = ttlMillis;
        }
    }

    /**
     * The scan filter of {@link #countOwnedBy}; it is shipped to the nodes that hold the partitions. A class with a
     * plain field, not a record: Ignite's binary marshaller cannot set a record's final fields.
     */
    private static final class OwnedBy implements IgniteBiPredicate<String, StoredSession> {
        private static final long serialVersionUID = 1L;
        private String owner;

        OwnedBy(String owner) {
            this.owner = owner;
        }

        @Override
        public boolean apply(String id, StoredSession session) {
            return owner.equals(session.owner);
        }
    }
}
