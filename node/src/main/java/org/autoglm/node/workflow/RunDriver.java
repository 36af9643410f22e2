package org.autoglm.node.workflow;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.autoglm.gossip.workflow.AttemptRecord;
import org.autoglm.gossip.workflow.StepState;
import org.autoglm.gossip.workflow.WorkflowRun;
import org.autoglm.gossip.workflow.WorkflowStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives one run from this node: each {@link #advance} re-plans the run in one grid transaction ({@link RunPlanner})
 * that also records the answers that came in since the last one, and then starts the attempts it decided on. An
 * answer comes straight from the request this driver holds (no polling); advances of one run never overlap, and
 * any number of runs advance side by side on the runner's pool. Nothing here is needed again after a crash: the
 * next driver plans from the grid, and sends again (under the same key) an attempt whose answer was not recorded.
 */
final class RunDriver {

    private static final Logger log = LoggerFactory.getLogger(RunDriver.class);

    private final String runId;
    private final WorkflowRunner runner;
    private final Map<String, StepAttempts.Running> inFlight = new ConcurrentHashMap<>();
    /** Answers of attempts this driver started that the run has not taken in yet. */
    private final Map<String, Answer> fresh = new ConcurrentHashMap<>();
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final AtomicBoolean again = new AtomicBoolean();
    private volatile WorkflowTemplate template;
    private volatile boolean stopped;
    private long timerAt;
    /** When this node began creating the run (0: not here, or its first attempt started), for run_start. */
    private long createdNanos;
    /** What the last workflow_progress event said, and when (touched only by step(), which never overlaps). */
    private static final long PROGRESS_EVERY_MILLIS = 2000;
    private String reportedStatus;
    private String reportedCounts;
    private long reportedAtMillis;
    /**
     * The run as this driver's last transaction left it (null: read it from the grid). Only this driver starts
     * attempts, so it names every attempt the stored run can show; what others change (a cancel) the transaction
     * reads anyway.
     */
    private volatile WorkflowRun last;

    RunDriver(String runId, WorkflowRunner runner) {
        this.runId = runId;
        this.runner = runner;
    }

    String runId() {
        return runId;
    }

    /** The run as this node just claimed it: the first advance need not read it. */
    void primed(WorkflowRun run) {
        last = run;
    }

    /** Asks for a re-plan soon (coalesced: many requests while one runs make one more). */
    void advance() {
        if (stopped) {
            return;
        }
        again.set(true);
        if (scheduled.compareAndSet(false, true)) {
            runner.pool().execute(this::drain);
        }
    }

    private void drain() {
        try {
            while (again.getAndSet(false) && !stopped) {
                step();
            }
        } catch (RuntimeException e) {
            // The grid refused the transaction (a node left, a lock timed out): nothing was recorded; try again.
            log.debug("workflow run {}: advance failed ({}), trying again shortly", runId, e.toString());
            runner.stats().failedAdvances.increment();
            last = null;
            runner.timers().schedule(this::advance, 100, TimeUnit.MILLISECONDS);
        } finally {
            scheduled.set(false);
            if (again.get() && !stopped) {
                advance();
            }
        }
    }

    private void step() {
        long began = System.nanoTime();
        WorkflowStore store = runner.store();
        WorkflowStats stats = runner.stats();
        stats.plans.increment();
        UUID self = runner.localId();
        WorkflowRun seen = last;
        if (seen == null) {
            stats.runReads.increment();
            seen = store.run(runId);
        }
        if (seen == null || seen.status.terminal() || !self.equals(seen.driver)) {
            stop(seen == null ? "gone" : seen.status.terminal() ? seen.status.wire() : "driven elsewhere");
            return;
        }
        if (template == null) {
            template = WorkflowTemplate.of((com.fasterxml.jackson.databind.node.ObjectNode)
                    WorkflowTemplates.read(seen.template), seen.version);
        }
        // Order matters: first what is in flight, then the answers (an answer is kept before it leaves inFlight).
        Set<String> flying = new HashSet<>(inFlight.keySet());
        Map<String, Answer> answers = new HashMap<>(fresh);
        long now = System.currentTimeMillis();
        RunPlanner[] planner = new RunPlanner[1];
        long txStart = System.nanoTime();
        WorkflowRun after = store.update(runId, r -> {
            if (!self.equals(r.driver)) {
                return null;
            }
            long p = System.nanoTime();
            // The answers are recorded here, in the transaction that plans what comes next: an answer is taken
            // only while its step (or item) still runs that attempt, so none is recorded twice.
            planner[0] = new RunPlanner(template, flying, key -> answers.containsKey(key)
                    ? answers.get(key).outcome() : null, now);
            WorkflowRun planned = planner[0].plan(r);
            planner[0].planNanos = System.nanoTime() - p;
            return planned;
        });
        long committed = System.nanoTime();
        stats.transactions.increment();
        stats.transaction.add(committed - txStart);
        if (planner[0] != null) {
            stats.plan.add(planner[0].planNanos);
        }
        if (after != null && planner[0] != null) { // planned here (an ended run has no driver any more)
            report(after);
        }
        Set<String> open = after == null ? Set.of() : runningKeys(after);
        long lastArrival = 0;
        for (Map.Entry<String, Answer> e : answers.entrySet()) {
            if (!open.contains(e.getKey()) && fresh.remove(e.getKey(), e.getValue())) { // taken in (or stale)
                stats.hop.add(began - e.getValue().arrivedNanos());
                lastArrival = Math.max(lastArrival, e.getValue().arrivedNanos());
            }
        }
        if (after == null || after.status.terminal() || !self.equals(after.driver) || planner[0] == null) {
            last = null;
            if (after != null && after.status.terminal() && lastArrival != 0) {
                stats.runEnd.add(committed - lastArrival);
            }
            if (after == null || after.status.terminal()) {
                stop(after == null ? "gone" : after.status.wire());
            }
            return;
        }
        launch(after, planner[0], lastArrival, now);
    }

    /**
     * The first plan of a run this node is creating, made on the new record before it is written: the write that
     * creates the run also holds its first attempts, so they start without a transaction of their own.
     *
     * @return the planner, whose attempts {@link #begin} starts once the run is stored
     */
    RunPlanner firstPlan(WorkflowRun run) {
        createdNanos = System.nanoTime();
        template = WorkflowTemplate.of((com.fasterxml.jackson.databind.node.ObjectNode)
                WorkflowTemplates.read(run.template), run.version);
        RunPlanner planner = new RunPlanner(template, Set.of(), key -> null, System.currentTimeMillis());
        planner.plan(run);
        return planner;
    }

    /** Starts what {@link #firstPlan} decided, now that the run is stored; as one advance (none overlaps it). */
    void begin(WorkflowRun run, RunPlanner planner) {
        scheduled.set(true);
        try {
            runner.stats().plans.increment();
            report(run);
            launch(run, planner, 0, System.currentTimeMillis());
        } finally {
            scheduled.set(false);
            if (again.get() && !stopped) {
                advance();
            }
        }
    }

    /** After a plan was stored: start its attempts and arm its backoff timer. */
    private void launch(WorkflowRun after, RunPlanner planner, long lastArrival, long now) {
        WorkflowStats stats = runner.stats();
        last = after;
        for (Attempt a : planner.launches) {
            long handedOver = System.nanoTime();
            if (a.settled() == null) {
                if (lastArrival != 0) {
                    stats.nextStep.add(handedOver - lastArrival);
                    lastArrival = 0; // one sample per plan: a fan-out's items start together
                }
                if (createdNanos != 0) {
                    stats.runStart.add(handedOver - createdNanos);
                    createdNanos = 0;
                }
            }
            start(a);
        }
        long wake = planner.wakeAt;
        if (wake > 0 && (timerAt == 0 || wake < timerAt || timerAt <= now)) {
            timerAt = wake;
            stats.backoffTimers.increment();
            runner.timers().schedule(this::advance, Math.max(1, wake - now), TimeUnit.MILLISECONDS);
        }
    }

    /** An attempt's outcome as it arrived here, not yet taken into the run, and when it arrived. */
    private record Answer(AttemptRecord outcome, long arrivedNanos) {}

    /**
     * A {@code workflow_progress} event on the cluster's stream: when the run's status changes, and at most every
     * {@value #PROGRESS_EVERY_MILLIS} ms while its steps move.
     */
    private void report(WorkflowRun r) {
        int succeeded = 0;
        int failed = 0;
        int running = 0;
        for (StepState st : r.steps.values()) {
            switch (st.status) {
                case SUCCEEDED, SKIPPED -> succeeded++;
                case FAILED -> failed++;
                case RUNNING -> running++;
                default -> { }
            }
        }
        String counts = succeeded + "/" + failed + "/" + running;
        long now = System.currentTimeMillis();
        if (r.status.wire().equals(reportedStatus)
                && (counts.equals(reportedCounts) || now - reportedAtMillis < PROGRESS_EVERY_MILLIS)) {
            return;
        }
        reportedStatus = r.status.wire();
        reportedCounts = counts;
        reportedAtMillis = now;
        runner.stats().progressEvents.increment();
        runner.progress(com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode().put("run_id", r.id)
                .put("workflow", r.workflow).put("status", r.status.wire()).put("steps", r.steps.size())
                .put("succeeded", succeeded).put("failed", failed).put("running", running));
    }

    /** The keys of the current attempts of the run's running steps and items. */
    private static Set<String> runningKeys(WorkflowRun r) {
        Set<String> keys = new HashSet<>();
        r.steps.forEach((id, st) -> {
            if (st.items == null) {
                key(keys, r.id, id, -1, st);
            } else {
                for (int i = 0; i < st.items.size(); i++) {
                    key(keys, r.id, id, i, st.items.get(i));
                }
            }
        });
        return keys;
    }

    private static void key(Set<String> keys, String run, String step, int item, StepState u) {
        if (u.status == StepState.Status.RUNNING && u.attempts > 0) {
            keys.add(WorkflowStore.attemptKey(run, step, item, u.attempts));
        }
    }

    private void start(Attempt a) {
        // In flight before it starts: its outcome may arrive before start() returns.
        inFlight.put(a.key(), () -> {});
        WorkflowStats stats = runner.stats();
        stats.attemptsStarted.increment();
        if (a.settled() == null && a.step().kind() == WorkflowTemplate.Kind.LLM) {
            stats.queueSubmits.increment();
        }
        StepAttempts.Running running = runner.attempts().start(a, (outcome, arrived) -> {
            stats.outcomes.increment();
            fresh.put(a.key(), new Answer(outcome, arrived)); // before it leaves inFlight: step() reads in that order
            inFlight.remove(a.key());
            advance();
        });
        inFlight.computeIfPresent(a.key(), (k, placeholder) -> running);
    }

    /** Stops driving: in-flight attempts are cancelled (the run ended, or this node is closing). */
    void stop(String why) {
        if (stopped) {
            return;
        }
        stopped = true;
        inFlight.values().forEach(StepAttempts.Running::cancel);
        inFlight.clear();
        runner.forget(this, why);
    }

    /** True while this driver has attempts in flight. */
    boolean busy() {
        return !inFlight.isEmpty();
    }
}
