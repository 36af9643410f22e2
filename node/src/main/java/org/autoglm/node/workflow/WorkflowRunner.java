package org.autoglm.node.workflow;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.grid.Daemons;
import org.autoglm.gossip.workflow.WorkflowRun;
import org.autoglm.gossip.workflow.WorkflowStore;
import org.autoglm.node.api.ServedModel;
import org.autoglm.node.engine.InferenceService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's share of the cluster's workflow runs: it drives the runs started here at once, and every half second
 * takes over runs that are unfinished and have no living driver (their node died, or they were started before any
 * node could drive them). It also notices, for the runs it drives, a cancel or an end decided elsewhere. Drivers
 * only coordinate: llm steps go through the shared queue, so the leader spreads them over all nodes. On the
 * leader it also deletes runs that ended longer ago than the retention ({@code --workflow-run-retention}).
 */
final class WorkflowRunner implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(WorkflowRunner.class);
    /** Runs one node drives at once; more wait for a node with room. */
    static final int MAX_DRIVEN = 4096;

    private final Cluster cluster;
    private final StepAttempts attempts;
    private final ScheduledExecutorService timers;
    private final ExecutorService pool;
    private final Map<String, RunDriver> drivers = new ConcurrentHashMap<>();
    private final WorkflowStats stats = new WorkflowStats();
    private final java.time.Duration retention;

    private final java.util.function.BiConsumer<String, com.fasterxml.jackson.databind.node.ObjectNode> events;

    /**
     * @param events    where {@code workflow_progress} events go (the cluster's event stream)
     * @param retention how long ended runs are kept
     */
    WorkflowRunner(Cluster cluster, ServedModel model, InferenceService engine, Set<String> httpAllow,
                   java.util.function.BiConsumer<String, com.fasterxml.jackson.databind.node.ObjectNode> events,
                   java.time.Duration retention) {
        this.cluster = cluster;
        this.events = events;
        this.retention = retention;
        String name = cluster.grid().name();
        this.timers = Daemons.scheduler("autoglm-workflows-" + name);
        this.pool = Daemons.pool("autoglm-workflow-run-" + name, 8);
        this.attempts = new StepAttempts(model, engine, httpAllow, timers, pool);
        timers.scheduleWithFixedDelay(this::poll, 200, 500, TimeUnit.MILLISECONDS);
        long sweepMillis = Math.max(1_000, Math.min(60_000, retention.toMillis() / 4));
        timers.scheduleWithFixedDelay(this::sweep, sweepMillis, sweepMillis, TimeUnit.MILLISECONDS);
    }

    WorkflowStats stats() {
        return stats;
    }

    WorkflowStore store() {
        return cluster.workflows();
    }

    UUID localId() {
        return cluster.grid().localId();
    }

    ScheduledExecutorService timers() {
        return timers;
    }

    ExecutorService pool() {
        return pool;
    }

    StepAttempts attempts() {
        return attempts;
    }

    /** Reports a run's progress (this node drives it), naming this node. */
    void progress(com.fasterxml.jackson.databind.node.ObjectNode data) {
        try {
            events.accept("workflow_progress", data.put("node", cluster.grid().name()));
        } catch (RuntimeException e) {
            log.debug("workflow run {}: progress event not sent: {}", data.path("run_id").asText(), e.toString());
        }
    }

    /**
     * Starts driving a run this node has claimed (or created with itself as driver).
     *
     * @param known the run as this node just wrote it, so the first advance need not read it
     */
    void drive(String runId, WorkflowRun known) {
        drivers.computeIfAbsent(runId, id -> {
            RunDriver d = new RunDriver(id, this);
            d.primed(known);
            return d;
        }).advance();
    }

    /**
     * Creates {@code run} (its driver is this node) with its first plan in the same write, and starts its first
     * attempts: no transaction before the first request is queued.
     *
     * @throws IllegalStateException when a run of that id exists
     */
    void create(WorkflowRun run) {
        RunDriver d = new RunDriver(run.id, this);
        RunPlanner first = d.firstPlan(run);
        store().create(run);
        if (run.status.terminal()) {
            return; // nothing to run (an ended run has no driver)
        }
        drivers.put(run.id, d);
        d.begin(run, first);
    }

    /** Re-plans a run this node drives now (a cancel came in); nothing for others. */
    void nudge(String runId) {
        RunDriver d = drivers.get(runId);
        if (d != null) {
            d.advance();
        }
    }

    /** True when this node can take another run. */
    boolean hasRoom() {
        return drivers.size() < MAX_DRIVEN;
    }

    void forget(RunDriver driver, String why) {
        drivers.remove(driver.runId(), driver);
        log.debug("workflow run {}: no longer driven here ({})", driver.runId(), why);
    }

    private void poll() {
        try {
            if (!cluster.grid().hasQuorum()) {
                return;
            }
            WorkflowStore store = store();
            UUID self = localId();
            stats.orphanScans.increment();
            Map<String, WorkflowStore.Unfinished> open = new java.util.HashMap<>();
            List<String> orphans = new java.util.ArrayList<>();
            for (WorkflowStore.Unfinished u : store.unfinished()) {
                open.put(u.id(), u);
                if (u.driver() == null || !cluster.grid().isAlive(u.driver())) {
                    orphans.add(u.id());
                }
            }
            // Runs driven here that ended, were cancelled or are driven elsewhere now: their drivers re-plan.
            drivers.forEach((id, d) -> {
                WorkflowStore.Unfinished u = open.get(id);
                if (u == null || u.cancelRequested() || !self.equals(u.driver())) {
                    d.advance();
                }
            });
            for (String id : orphans) {
                if (!hasRoom()) {
                    return;
                }
                if (drivers.containsKey(id)) {
                    continue;
                }
                WorkflowRun before = store.run(id);
                WorkflowRun claimed = store.claim(id, localId(), cluster.grid()::isAlive);
                if (claimed != null) {
                    stats.takeovers.increment();
                    if (before != null && before.driver != null) {
                        log.info("workflow run {} is driven by node '{}' now, taken over from node {} that is gone",
                                id, cluster.grid().name(), before.driver);
                    }
                    drive(id, claimed);
                }
            }
        } catch (RuntimeException e) {
            log.debug("workflow poll failed", e);
        }
    }

    /**
     * On the leader: deletes the runs that ended more than the retention ago (the run record is all a run keeps in
     * the grid), a few thousand at a time.
     */
    private void sweep() {
        try {
            if (!cluster.grid().hasQuorum() || !cluster.lease().isLeader()) {
                return;
            }
            List<String> old = store().endedBefore(System.currentTimeMillis() - retention.toMillis());
            for (int from = 0; from < old.size(); from += 1000) {
                List<String> chunk = old.subList(from, Math.min(old.size(), from + 1000));
                store().deleteRuns(chunk);
                stats.runsDeleted.add(chunk.size());
            }
            if (!old.isEmpty()) {
                log.debug("deleted {} workflow runs that ended more than {} ago", old.size(), retention);
            }
        } catch (RuntimeException e) {
            log.debug("workflow retention sweep failed", e);
        }
    }

    @Override
    public void close() {
        timers.shutdownNow();
        drivers.values().forEach(d -> d.stop("node closing"));
        pool.shutdownNow();
    }
}
