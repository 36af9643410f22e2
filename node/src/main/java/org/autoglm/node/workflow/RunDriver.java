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
 * Drives one run from this node: each {@link #advance} re-plans the run in a grid transaction ({@link RunPlanner})
 * and then starts the attempts it decided on; each attempt's outcome is stored once under its key before the run
 * is advanced again. Advances of one run never overlap; any number of runs advance side by side on the runner's
 * pool. Nothing here is needed again after a crash: the next driver plans from the grid.
 */
final class RunDriver {

    private static final Logger log = LoggerFactory.getLogger(RunDriver.class);

    private final String runId;
    private final WorkflowRunner runner;
    private final Map<String, StepAttempts.Running> inFlight = new ConcurrentHashMap<>();
    /** Outcomes this driver stored and the run has not taken yet: no grid read needed for them. */
    private final Map<String, AttemptRecord> fresh = new ConcurrentHashMap<>();
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final AtomicBoolean again = new AtomicBoolean();
    private volatile WorkflowTemplate template;
    private volatile boolean stopped;
    private long timerAt;
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

    /** The run as it was just created here: the first advance need not read it. */
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
            log.debug("workflow run {}: advance failed ({}), trying again shortly", runId, e.toString());
            runner.timers().schedule(this::advance, 500, TimeUnit.MILLISECONDS);
        } finally {
            scheduled.set(false);
            if (again.get() && !stopped) {
                advance();
            }
        }
    }

    private void step() {
        WorkflowStore store = runner.store();
        UUID self = runner.localId();
        WorkflowRun seen = last != null ? last : store.run(runId);
        if (seen == null || seen.status.terminal() || !self.equals(seen.driver)) {
            stop(seen == null ? "gone" : seen.status.terminal() ? seen.status.wire() : "driven elsewhere");
            return;
        }
        if (template == null) {
            template = WorkflowTemplate.of((com.fasterxml.jackson.databind.node.ObjectNode)
                    WorkflowTemplates.read(seen.template), seen.version);
        }
        // Order matters: first what is in flight, then the outcomes (an attempt's outcome is kept before it leaves
        // inFlight).
        Set<String> flying = new HashSet<>(inFlight.keySet());
        Map<String, AttemptRecord> outcomes = outcomes(store, seen, flying);
        long now = System.currentTimeMillis();
        RunPlanner[] planner = new RunPlanner[1];
        WorkflowRun after;
        try {
            after = store.update(runId, r -> {
                if (!self.equals(r.driver)) {
                    return null;
                }
                planner[0] = new RunPlanner(template, flying, key -> known(outcomes, key), now);
                return planner[0].plan(r);
            });
        } catch (StaleView e) {
            last = null; // the grid's run names an attempt ours did not: read it and plan again
            again.set(true);
            return;
        }
        if (after != null && planner[0] != null) { // planned here (an ended run has no driver any more)
            report(after);
        }
        if (after == null || after.status.terminal() || !self.equals(after.driver) || planner[0] == null) {
            last = null;
            if (after != null && after.status.terminal()) {
                forgetAttempts(store, after);
            }
            if (after == null || after.status.terminal()) {
                stop(after == null ? "gone" : after.status.wire());
            }
            return;
        }
        last = after;
        fresh.keySet().retainAll(runningKeys(after));
        for (Attempt a : planner[0].launches) {
            start(a);
        }
        long wake = planner[0].wakeAt;
        if (wake > 0 && (timerAt == 0 || wake < timerAt || timerAt <= now)) {
            timerAt = wake;
            runner.timers().schedule(this::advance, Math.max(1, wake - now), TimeUnit.MILLISECONDS);
        }
    }

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
        runner.progress(com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode().put("run_id", r.id)
                .put("workflow", r.workflow).put("status", r.status.wire()).put("steps", r.steps.size())
                .put("succeeded", succeeded).put("failed", failed).put("running", running));
    }

    /**
     * The run ended: its attempt outcomes are no longer needed (they guard against running an attempt twice while
     * the run goes on; the run keeps each step's result), so they are deleted rather than kept forever.
     */
    static void forgetAttempts(WorkflowStore store, WorkflowRun r) {
        java.util.List<String> keys = new java.util.ArrayList<>();
        r.steps.forEach((id, st) -> {
            if (st.items == null) {
                for (int n = 1; n <= st.attempts; n++) {
                    keys.add(WorkflowStore.attemptKey(r.id, id, -1, n));
                }
            } else {
                for (int i = 0; i < st.items.size(); i++) {
                    for (int n = 1; n <= st.items.get(i).attempts; n++) {
                        keys.add(WorkflowStore.attemptKey(r.id, id, i, n));
                    }
                }
            }
        });
        if (!keys.isEmpty()) {
            try {
                store.forgetAttempts(keys);
            } catch (RuntimeException e) {
                log.debug("workflow run {}: its attempt outcomes were not deleted ({})", r.id, e.toString());
            }
        }
    }

    /** The outcome of {@code key} as read before the transaction (null: none stored). */
    private static AttemptRecord known(Map<String, AttemptRecord> outcomes, String key) {
        if (!outcomes.containsKey(key)) {
            throw new StaleView();
        }
        return outcomes.get(key);
    }

    /** The run in the grid names an attempt the driver's copy did not: plan again from the grid's. */
    private static final class StaleView extends RuntimeException {
        StaleView() {
            super(null, null, false, false);
        }
    }

    /**
     * Outcomes of the attempts the run records as started and this driver does not have in flight, by key (null:
     * none stored yet): those this driver stored itself from memory, the rest read from the grid in one call.
     */
    private Map<String, AttemptRecord> outcomes(WorkflowStore store, WorkflowRun r, Set<String> flying) {
        Map<String, AttemptRecord> out = new HashMap<>();
        Set<String> missing = new HashSet<>();
        for (String key : runningKeys(r)) {
            if (flying.contains(key)) {
                continue;
            }
            AttemptRecord mine = fresh.get(key);
            if (mine != null) {
                out.put(key, mine);
            } else {
                missing.add(key);
                out.put(key, null);
            }
        }
        if (!missing.isEmpty()) {
            out.putAll(store.attempts(missing));
        }
        return out;
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
        StepAttempts.Running running = runner.attempts().start(a, outcome -> {
            try {
                fresh.put(a.key(), runner.store().record(a.key(), outcome)); // the first outcome stored is the one
                runner.recorded();
            } catch (RuntimeException e) {
                log.debug("workflow run {}: outcome of {} not stored ({}); the attempt runs again", runId, a.key(),
                        e.toString());
            } finally {
                inFlight.remove(a.key());
                advance();
            }
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
