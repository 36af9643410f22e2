package org.autoglm.gossip.batch;

import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
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
 * Batches in the grid: each {@link BatchJob} in a transactional cache (every change re-reads the record under a
 * lock, so a cancel and the runner's progress cannot lose each other), and each finished line's outcome under
 * (batch, line) in a second cache, written put-if-absent: the first outcome of a line is its only one. Both caches
 * are durable and carry the majority guard.
 */
public final class BatchStore {

    private static final long TX_TIMEOUT_MILLIS = 5_000;

    private final GridNode grid;
    private final IgniteCache<String, BatchJob> jobs;
    private final IgniteCache<String, LineResult> lines;
    private final LineChunks chunks;

    public BatchStore(GridNode grid) {
        this.grid = grid;
        MajorityValidator majority = new MajorityValidator(grid.config().expectedNodes);
        GridCaches.createAll(grid, GridCaches.durable(grid, GridCaches.BATCHES, CacheAtomicityMode.TRANSACTIONAL)
                        .setTopologyValidator(majority),
                GridCaches.durable(grid, GridCaches.BATCH_LINES, CacheAtomicityMode.ATOMIC).setTopologyValidator(majority));
        this.jobs = grid.ignite().cache(GridCaches.BATCHES);
        this.lines = grid.ignite().cache(GridCaches.BATCH_LINES);
        this.chunks = new LineChunks(grid, majority);
    }

    /** The chunks of lines waiting for a node or running on one. */
    public LineChunks chunks() {
        return chunks;
    }

    public void create(BatchJob job) {
        if (!jobs.putIfAbsent(job.id(), job)) {
            throw new IllegalStateException("batch " + job.id() + " exists already");
        }
    }

    /** The batch, or null. */
    public BatchJob get(String id) {
        return jobs.get(id);
    }

    /** Every batch, newest first. */
    public List<BatchJob> list() {
        try (QueryCursor<Cache.Entry<String, BatchJob>> cursor = jobs.query(new ScanQuery<String, BatchJob>())) {
            return cursor.getAll().stream().map(Cache.Entry::getValue)
                    .sorted(Comparator.comparingLong(BatchJob::createdAt).reversed()
                            .thenComparing(BatchJob::id, Comparator.reverseOrder()))
                    .toList();
        }
    }

    /**
     * Replaces a batch with {@code change(current)} in one pessimistic transaction; {@code change} may return the
     * same object (or null) to leave it as it is.
     *
     * @return the batch after the change, or null when there is no such batch
     */
    public BatchJob update(String id, UnaryOperator<BatchJob> change) {
        try (Transaction tx = grid.ignite().transactions().txStart(
                TransactionConcurrency.PESSIMISTIC, TransactionIsolation.REPEATABLE_READ, TX_TIMEOUT_MILLIS, 0)) {
            BatchJob current = jobs.get(id);
            if (current == null) {
                return null;
            }
            BatchJob next = change.apply(current);
            if (next == null || next == current) {
                return current;
            }
            jobs.put(id, next);
            tx.commit();
            return next;
        }
    }

    /**
     * Takes over a batch that is not finished and has no living runner.
     *
     * @return the batch now run by {@code node}, or null when it is finished or someone alive runs it
     */
    public BatchJob claim(String id, UUID node, Predicate<UUID> alive) {
        BatchJob after = update(id, b -> b.status().terminal() || (b.runner() != null && alive.test(b.runner()))
                ? b : b.runBy(node));
        return after != null && node.equals(after.runner()) && !after.status().terminal() ? after : null;
    }

    /** Stores a line's outcome unless it has one; true when this call stored it. */
    public boolean record(String batchId, int line, LineResult result) {
        return lines.putIfAbsent(key(batchId, line), result);
    }

    /** A line's outcome, or null when it has none yet. */
    public LineResult result(String batchId, int line) {
        return lines.get(key(batchId, line));
    }

    /** The outcomes stored so far among {@code numbers} of a batch, by line number (one read for them all). */
    public java.util.Map<Integer, LineResult> results(String batchId, int[] numbers) {
        java.util.Map<String, Integer> byKey = new java.util.HashMap<>();
        for (int n : numbers) {
            byKey.put(key(batchId, n), n);
        }
        java.util.Map<Integer, LineResult> found = new java.util.HashMap<>();
        lines.getAll(byKey.keySet()).forEach((k, v) -> found.put(byKey.get(k), v));
        return found;
    }

    /** {@code [succeeded, failed]} lines of a batch so far (a scan, for a runner taking over). */
    public int[] counts(String batchId) {
        int[] counts = new int[2];
        try (QueryCursor<Cache.Entry<String, LineResult>> cursor = lines.query(new ScanQuery<>(new OfBatch(batchId)))) {
            for (Cache.Entry<String, LineResult> e : cursor) {
                counts[e.getValue().error() ? 1 : 0]++;
            }
        }
        return counts;
    }

    /** Drops the per-line outcomes of a batch whose output files are written. */
    public void forgetLines(String batchId, int total) {
        for (int from = 0; from < total; from += 1000) {
            java.util.Set<String> keys = new java.util.HashSet<>();
            for (int i = from; i < Math.min(total, from + 1000); i++) {
                keys.add(key(batchId, i));
            }
            lines.removeAll(keys);
        }
    }

    /** Drops one line's outcome (stored after its batch ended). */
    public void forgetLine(String batchId, int line) {
        lines.remove(key(batchId, line));
    }

    /** Line outcomes stored for a batch (a scan): none once its files are written. */
    public int lineRecords(String batchId) {
        int[] c = counts(batchId);
        return c[0] + c[1];
    }

    public void delete(String id) {
        jobs.remove(id);
    }

    private static String key(String batchId, int line) {
        return batchId + "#" + line;
    }

    /** Scan filter: the lines of one batch. A class with a plain field for the binary marshaller. */
    private static final class OfBatch implements IgniteBiPredicate<String, LineResult> {
        private static final long serialVersionUID = 1L;
        private String prefix;

        OfBatch(String batchId) {
            this.prefix = batchId + "#";
        }

        @Override
        public boolean apply(String key, LineResult value) {
            return key.startsWith(prefix);
        }
    }
}
