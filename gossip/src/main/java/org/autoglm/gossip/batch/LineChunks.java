package org.autoglm.gossip.batch;

import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
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
import org.autoglm.gossip.grid.MajorityValidator;

/**
 * The chunks of batch lines waiting for a node or running on one (durable, with the majority guard). Batch lines do
 * not go through the request queue: a line there cost about six grid transactions (enqueue, the leader's assignment
 * under the lease lock, the claim, the end, the outcome) and each waited for the leader's placement, so a big batch
 * filled the grid with transactions that interactive requests then queued behind. A chunk costs two transactions (claim,
 * done) for all its lines, and the leader never sees it: a node pulls a chunk only when its engine has room.
 */
public final class LineChunks {

    private static final long TX_TIMEOUT_MILLIS = 5_000;

    private final GridNode grid;
    private final IgniteCache<String, LineChunk> cache;

    LineChunks(GridNode grid, MajorityValidator majority) {
        this.grid = grid;
        this.cache = grid.ignite().getOrCreateCache(GridCaches.<String, LineChunk>durable(grid, GridCaches.BATCH_CHUNKS,
                CacheAtomicityMode.TRANSACTIONAL).setTopologyValidator(majority));
    }

    /** Adds a new unclaimed chunk (its batch's runner does). */
    public void add(LineChunk chunk) {
        if (!cache.putIfAbsent(chunk.key(), chunk)) {
            throw new IllegalStateException(chunk.key() + " exists already");
        }
    }

    /** Every chunk not yet done, of every batch. */
    public List<LineChunk> unfinished() {
        return scan(new Matching(null, true));
    }

    /** Every chunk of one batch, done or not. */
    public List<LineChunk> of(String batchId) {
        return scan(new Matching(batchId + "#", false));
    }

    /** The chunks under {@code keys} that still exist. */
    public Map<String, LineChunk> get(Set<String> keys) {
        return cache.getAll(keys);
    }

    /**
     * Takes a chunk that nobody runs, or whose node is gone.
     *
     * @param alive the grid's live server nodes now
     * @return the chunk now owned by {@code node}, or null when it is gone, done, or a live node runs it
     */
    public LineChunk claim(String key, UUID node, Set<UUID> alive) {
        return inTx(() -> {
            LineChunk current = cache.get(key);
            if (current == null || current.done() || (current.owner() != null && alive.contains(current.owner()))) {
                return null;
            }
            LineChunk mine = current.ownedBy(node);
            cache.put(key, mine);
            return mine;
        });
    }

    /** Marks a chunk done by its owner with its counts; false when it is gone or another node owns it now. */
    public boolean finish(String key, UUID node, int succeeded, int failed) {
        return inTx(() -> {
            LineChunk current = cache.get(key);
            if (current == null || !node.equals(current.owner())) {
                return false;
            }
            cache.put(key, current.finished(succeeded, failed));
            return true;
        });
    }

    /** Gives a chunk back unfinished (its node drains or closes): another node claims it. */
    public void release(String key, UUID node) {
        inTx(() -> {
            LineChunk current = cache.get(key);
            if (current != null && !current.done() && node.equals(current.owner())) {
                cache.put(key, current.ownedBy(null));
            }
            return null;
        });
    }

    public void remove(Collection<String> keys) {
        cache.removeAll(new HashSet<>(keys));
    }

    private List<LineChunk> scan(Matching filter) {
        try (QueryCursor<Cache.Entry<String, LineChunk>> cursor = cache.query(new ScanQuery<>(filter))) {
            return cursor.getAll().stream().map(Cache.Entry::getValue).toList();
        }
    }

    private <T> T inTx(java.util.function.Supplier<T> body) {
        try (Transaction tx = grid.ignite().transactions().txStart(
                TransactionConcurrency.PESSIMISTIC, TransactionIsolation.REPEATABLE_READ, TX_TIMEOUT_MILLIS, 0)) {
            T result = body.get();
            tx.commit();
            return result;
        }
    }

    /** Scan filter: one batch's chunks (by key prefix) and/or those not done. Plain fields for the marshaller. */
    private static final class Matching implements IgniteBiPredicate<String, LineChunk> {
        private static final long serialVersionUID = 1L;
        private String prefix;
        private boolean unfinishedOnly;

        Matching(String prefix, boolean unfinishedOnly) {
            this.prefix = prefix;
            this.unfinishedOnly = unfinishedOnly;
        }

        @Override
        public boolean apply(String key, LineChunk value) {
            return (prefix == null || key.startsWith(prefix)) && (!unfinishedOnly || !value.done());
        }
    }
}
