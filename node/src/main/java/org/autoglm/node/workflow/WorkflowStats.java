package org.autoglm.node.workflow;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import java.util.concurrent.atomic.LongAdder;

/**
 * What this node's run drivers did, counted and timed, so the cost of a step is explained and not only measured
 * ({@code GET /cluster/workflow-stats}): the grid operations on a step's path (transactions, run reads), the thread
 * hops, and how long each part took (the newest samples of each, with the time they were taken, so a bench reads
 * the percentiles of its own window). A step of a chain should cost one transaction and one queue submit (the same
 * submit a bare chat call makes); anything else shows up here.
 */
final class WorkflowStats {

    /** Samples kept per timer: the newest ones (a bench reads those taken since an earlier read). */
    static final int WINDOW = 1 << 16;

    final LongAdder plans = new LongAdder();
    final LongAdder transactions = new LongAdder();
    final LongAdder runReads = new LongAdder();
    final LongAdder staleReplans = new LongAdder();
    final LongAdder failedAdvances = new LongAdder();
    final LongAdder outcomes = new LongAdder();
    final LongAdder outcomesDropped = new LongAdder();
    final LongAdder attemptsStarted = new LongAdder();
    final LongAdder queueSubmits = new LongAdder();
    final LongAdder backoffTimers = new LongAdder();
    final LongAdder progressEvents = new LongAdder();
    final LongAdder orphanScans = new LongAdder();
    final LongAdder takeovers = new LongAdder();
    final LongAdder runsDeleted = new LongAdder();

    /** An attempt's answer arrived → the next step's attempt is handed to the queue (the per-step overhead). */
    final Timer nextStep = new Timer();
    /** The last answer arrived → the run's end is committed. */
    final Timer runEnd = new Timer();
    /** The run was created → its first attempt is handed to the queue. */
    final Timer runStart = new Timer();
    /** An answer arrived → the driver's re-plan starts (thread hops and waiting for an earlier plan). */
    final Timer hop = new Timer();
    /** One pessimistic transaction on the run (lock, read, plan, write, commit). */
    final Timer transaction = new Timer();
    /** Planning inside it (expressions rendered, the state machine moved). */
    final Timer plan = new Timer();

    /** The newest {@link #WINDOW} samples of one duration, in microseconds, each with the wall-clock time it ended. */
    static final class Timer {
        private final long[] micros = new long[WINDOW];
        private final long[] at = new long[WINDOW];
        private long count;

        synchronized void add(long nanos) {
            int i = (int) (count++ % WINDOW);
            micros[i] = nanos / 1_000;
            at[i] = System.currentTimeMillis();
        }

        /** Percentiles of the kept samples taken at or after {@code sinceMillis} (epoch ms; 0: all kept). */
        synchronized ObjectNode json(long sinceMillis) {
            int kept = (int) Math.min(count, WINDOW);
            long[] xs = new long[kept];
            int n = 0;
            for (int i = 0; i < kept; i++) {
                if (at[i] >= sinceMillis) {
                    xs[n++] = micros[i];
                }
            }
            Arrays.sort(xs, 0, n);
            ObjectNode o = JsonNodeFactory.instance.objectNode().put("count", count).put("samples", n);
            if (n > 0) {
                o.put("p50_us", xs[n / 2]).put("p90_us", xs[(int) (n * 0.9)]).put("p99_us", xs[(int) (n * 0.99)])
                        .put("max_us", xs[n - 1]);
            }
            return o;
        }
    }

    /** Counters (since the node started), and each timer's percentiles over its samples since {@code sinceMillis}. */
    ObjectNode json(long sinceMillis) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        ObjectNode c = o.putObject("counters");
        c.put("plans", plans.sum()).put("transactions", transactions.sum()).put("run_reads", runReads.sum())
                .put("stale_replans", staleReplans.sum()).put("failed_advances", failedAdvances.sum())
                .put("outcomes", outcomes.sum()).put("outcomes_dropped", outcomesDropped.sum())
                .put("attempts_started", attemptsStarted.sum()).put("queue_submits", queueSubmits.sum())
                .put("backoff_timers", backoffTimers.sum()).put("progress_events", progressEvents.sum())
                .put("orphan_scans", orphanScans.sum()).put("takeovers", takeovers.sum())
                .put("runs_deleted", runsDeleted.sum());
        ObjectNode t = o.putObject("timers");
        t.set("next_step", nextStep.json(sinceMillis));
        t.set("run_start", runStart.json(sinceMillis));
        t.set("run_end", runEnd.json(sinceMillis));
        t.set("hop", hop.json(sinceMillis));
        t.set("transaction", transaction.json(sinceMillis));
        t.set("plan", plan.json(sinceMillis));
        return o;
    }
}
