package org.autoglm.gossip.workflow;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 * Workflow templates and runs in the grid, in transactional caches: every change re-reads the record under a lock,
 * so a cancel, a driver's progress (which records each attempt's answer in the same transaction that plans the next
 * steps) and a takeover cannot lose each other. Both are durable and carry the majority guard; ended runs are
 * deleted once they are older than the retention ({@link #endedBefore}).
 */
public final class WorkflowStore {

    private static final long TX_TIMEOUT_MILLIS = 5_000;

    private final GridNode grid;
    private final IgniteCache<String, StoredWorkflow> templates;
    private final IgniteCache<String, WorkflowRun> runs;
    private final RunWatch watch;

    public WorkflowStore(GridNode grid) {
        this.grid = grid;
        MajorityValidator majority = new MajorityValidator(grid.config().expectedNodes);
        GridCaches.createAll(grid, GridCaches.durable(grid, GridCaches.WORKFLOWS, CacheAtomicityMode.TRANSACTIONAL)
                        .setTopologyValidator(majority),
                GridCaches.durable(grid, GridCaches.WORKFLOW_RUNS, CacheAtomicityMode.TRANSACTIONAL)
                        .setTopologyValidator(majority));
        this.templates = grid.ignite().cache(GridCaches.WORKFLOWS);
        this.runs = grid.ignite().cache(GridCaches.WORKFLOW_RUNS);
        this.watch = new RunWatch(runs);
    }

    // --- templates ---

    /** Adds {@code json} as the next version of {@code name} (1 for a new name); returns the stored template. */
    public StoredWorkflow addVersion(String name, String json, String author, int expectedVersion) {
        try (Transaction tx = tx()) {
            StoredWorkflow current = templates.get(name);
            StoredWorkflow base = current == null ? StoredWorkflow.named(name) : current;
            if (expectedVersion > 0 && expectedVersion != base.latest() + 1) {
                throw new VersionConflict(base.latest());
            }
            StoredWorkflow next = base.withVersion(json, author, System.currentTimeMillis());
            templates.put(name, next);
            tx.commit();
            return next;
        }
    }

    /** Thrown when a template names a version other than the next one. */
    public static final class VersionConflict extends RuntimeException {
        private final int latest;

        VersionConflict(int latest) {
            super(null, null, false, false);
            this.latest = latest;
        }

        public int latest() {
            return latest;
        }
    }

    /** The template, or null. */
    public StoredWorkflow template(String name) {
        return templates.get(name);
    }

    /** Every template, by name. */
    public List<StoredWorkflow> templates() {
        try (QueryCursor<Cache.Entry<String, StoredWorkflow>> cursor = templates.query(new ScanQuery<>())) {
            return cursor.getAll().stream().map(Cache.Entry::getValue)
                    .sorted(Comparator.comparing(StoredWorkflow::name)).toList();
        }
    }

    /** True when it existed. */
    public boolean deleteTemplate(String name) {
        return templates.getAndRemove(name) != null;
    }

    // --- runs ---

    public void create(WorkflowRun run) {
        if (!runs.putIfAbsent(run.id, run)) {
            throw new IllegalStateException("workflow run " + run.id + " exists already");
        }
    }

    /**
     * True when this node holds the primary copy of the run {@code id} would name: its transactions then lock and
     * read it here, and only the write to the backup crosses the network.
     */
    public boolean primaryHere(String id) {
        return grid.ignite().affinity(runs.getName()).isPrimary(grid.ignite().cluster().localNode(), id);
    }

    /** The run, or null. */
    public WorkflowRun run(String id) {
        return runs.get(id);
    }

    /** The runs of {@code ids} that exist. */
    public Map<String, WorkflowRun> runs(Set<String> ids) {
        return runs.getAll(ids);
    }

    /** An unfinished run as the runners' scan sees it: its id, its driver (null: none) and whether a cancel is asked. */
    public record Unfinished(String id, UUID driver, boolean cancelRequested) {}

    /**
     * Every run that is not finished, as {@link Unfinished}: a scan filtered where the data lives, from which only
     * those three fields travel (the runners look for orphans and for cancels of the runs they drive).
     */
    public List<Unfinished> unfinished() {
        try (QueryCursor<String[]> cursor = runs.query(new ScanQuery<>(new NotEnded()), new IdDriverCancel())) {
            List<Unfinished> out = new ArrayList<>();
            for (String[] r : cursor) {
                out.add(new Unfinished(r[0], r[1] == null ? null : UUID.fromString(r[1]), r[2] != null));
            }
            return out;
        }
    }

    /** Every run, newest first (a scan). */
    public List<WorkflowRun> allRuns() {
        try (QueryCursor<Cache.Entry<String, WorkflowRun>> cursor = runs.query(new ScanQuery<String, WorkflowRun>())) {
            return cursor.getAll().stream().map(Cache.Entry::getValue)
                    .sorted(Comparator.comparingLong((WorkflowRun r) -> r.createdAt).reversed()).toList();
        }
    }

    /**
     * The runs that match, as summaries, newest first: a scan filtered where the data lives, from which only the
     * summaries travel.
     *
     * @param owner    only runs of this owner (null: everyone's)
     * @param workflow only runs of this template (null: all)
     * @param status   only runs in this status (null: all)
     */
    public List<RunSummary> summaries(String owner, String workflow, WorkflowRun.Status status) {
        return retried(() -> scanSummaries(owner, workflow, status));
    }

    private List<RunSummary> scanSummaries(String owner, String workflow, WorkflowRun.Status status) {
        try (QueryCursor<RunSummary> cursor = runs.query(
                new ScanQuery<>(new Matching(owner, workflow, status)), new Summarize())) {
            List<RunSummary> out = new ArrayList<>();
            cursor.forEach(out::add);
            out.sort(RunSummary::newestFirst);
            return out;
        }
    }

    /**
     * Calls {@code changed} each time run {@code id} changes, pushed by the grid, until the handle is closed; on a
     * grid callback thread, so it must only signal. Read the run after watching it: earlier changes are not told.
     */
    public AutoCloseable watch(String id, Runnable changed) {
        return watch.watch(id, changed);
    }

    /**
     * Changes a run in one pessimistic transaction: {@code change} gets a private copy and returns it changed, or
     * null to leave the run as it is. Bumps the revision of a changed run.
     *
     * @return the run after the call, or null when there is no such run
     */
    public WorkflowRun update(String id, UnaryOperator<WorkflowRun> change) {
        try (Transaction tx = tx()) {
            WorkflowRun current = runs.get(id);
            if (current == null) {
                return null;
            }
            long revision = current.revision;
            WorkflowRun next = change.apply(current);
            if (next == null) {
                return runs.get(id);
            }
            next.revision = revision + 1;
            runs.put(id, next);
            tx.commit();
            return next;
        }
    }

    /**
     * Takes over a run that is not finished and has no living driver.
     *
     * @return the run now driven by {@code node}, or null when it is finished or someone alive drives it
     */
    public WorkflowRun claim(String id, UUID node, Predicate<UUID> alive) {
        WorkflowRun after = update(id, r -> r.status.terminal() || node.equals(r.driver)
                || (r.driver != null && alive.test(r.driver)) ? null : driven(r, node));
        return after != null && node.equals(after.driver) && !after.status.terminal() ? after : null;
    }

    private static WorkflowRun driven(WorkflowRun r, UUID node) {
        r.driver = node;
        return r;
    }

    public void deleteRun(String id) {
        runs.remove(id);
    }

    /**
     * The ids of the runs that ended before {@code cutoffMillis} (epoch ms): a scan filtered where the runs are
     * stored, from which only the ids travel.
     */
    public List<String> endedBefore(long cutoffMillis) {
        try (QueryCursor<String> cursor = runs.query(new ScanQuery<>(new EndedBefore(cutoffMillis)),
                new IdOnly())) {
            List<String> out = new ArrayList<>();
            cursor.forEach(out::add);
            return out;
        }
    }

    /** Deletes these runs (those already gone are skipped). */
    public void deleteRuns(Collection<String> ids) {
        runs.removeAll(Set.copyOf(ids));
    }

    /** The key of one attempt: {@code run/step/attempt}, or {@code run/step[item]/attempt} inside a for_each. */
    public static String attemptKey(String runId, String stepId, int item, int attempt) {
        return runId + "/" + stepId + (item < 0 ? "" : "[" + item + "]") + "/" + attempt;
    }

    /**
     * A scan, asked again when a node that held part of it left the grid meanwhile (up to 5 times, 200 ms more
     * apart each time: the grid needs a moment to hand the dead node's partitions to their backups), so a node's
     * death does not fail a list.
     */
    private static <T> T retried(java.util.function.Supplier<T> scan) {
        for (int attempt = 1; ; attempt++) {
            try {
                return scan.get();
            } catch (javax.cache.CacheException e) {
                if (attempt == 5 || !topologyChanged(e)) {
                    throw e;
                }
                try {
                    Thread.sleep(200L * attempt);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    private static boolean topologyChanged(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof org.apache.ignite.cluster.ClusterTopologyException) {
                return true;
            }
        }
        return false;
    }

    private Transaction tx() {
        return grid.ignite().transactions().txStart(TransactionConcurrency.PESSIMISTIC,
                TransactionIsolation.REPEATABLE_READ, TX_TIMEOUT_MILLIS, 0);
    }

    /** Scan filter: runs not finished. A class with no captured state for the binary marshaller. */
    private static final class NotEnded implements IgniteBiPredicate<String, WorkflowRun> {
        private static final long serialVersionUID = 1L;

        @Override
        public boolean apply(String key, WorkflowRun value) {
            return !value.status.terminal();
        }
    }

    /** Scan transformer: a run's id, driver (null when none) and cancel request (non-null when asked), not the record. */
    private static final class IdDriverCancel implements org.apache.ignite.lang.IgniteClosure<Cache.Entry<String, WorkflowRun>, String[]> {
        private static final long serialVersionUID = 1L;

        @Override
        public String[] apply(Cache.Entry<String, WorkflowRun> e) {
            WorkflowRun r = e.getValue();
            return new String[] {e.getKey(), r.driver == null ? null : r.driver.toString(), r.cancelRequested ? "c" : null};
        }
    }

    /** Scan filter: runs of one owner, template and status (a null field matches any). */
    private static final class Matching implements IgniteBiPredicate<String, WorkflowRun> {
        private static final long serialVersionUID = 1L;
        private final String owner;
        private final String workflow;
        private final WorkflowRun.Status status;

        Matching(String owner, String workflow, WorkflowRun.Status status) {
            this.owner = owner;
            this.workflow = workflow;
            this.status = status;
        }

        @Override
        public boolean apply(String key, WorkflowRun r) {
            return (owner == null || owner.equals(r.owner)) && (workflow == null || workflow.equals(r.workflow))
                    && (status == null || status == r.status);
        }
    }

    /** Scan transformer: a run's summary. */
    private static final class Summarize implements org.apache.ignite.lang.IgniteClosure<Cache.Entry<String, WorkflowRun>, RunSummary> {
        private static final long serialVersionUID = 1L;

        @Override
        public RunSummary apply(Cache.Entry<String, WorkflowRun> e) {
            return RunSummary.of(e.getValue());
        }
    }

    /** Scan filter: runs that ended before a time. */
    private static final class EndedBefore implements IgniteBiPredicate<String, WorkflowRun> {
        private static final long serialVersionUID = 1L;
        private final long cutoffMillis;

        EndedBefore(long cutoffMillis) {
            this.cutoffMillis = cutoffMillis;
        }

        @Override
        public boolean apply(String key, WorkflowRun r) {
            return r.status.terminal() && r.endedAt > 0 && r.endedAt < cutoffMillis;
        }
    }

    /** Scan transformer: a run's id only. */
    private static final class IdOnly implements org.apache.ignite.lang.IgniteClosure<Cache.Entry<String, WorkflowRun>, String> {
        private static final long serialVersionUID = 1L;

        @Override
        public String apply(Cache.Entry<String, WorkflowRun> e) {
            return e.getKey();
        }
    }
}
