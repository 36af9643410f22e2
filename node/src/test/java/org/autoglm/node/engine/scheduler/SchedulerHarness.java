package org.autoglm.node.engine.scheduler;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.node.engine.kv.BlockPool;
import org.autoglm.node.engine.kv.KvCacheManager;
import org.autoglm.node.engine.policy.SchedulingPolicy;

/**
 * Drives a real {@link Scheduler} without a model: every sampled token is {@code 7}, and a sequence
 * finishes when it has its max_tokens. Records the order in which sequences first start.
 */
final class SchedulerHarness {

    final BlockPool pool;
    final KvCacheManager kv;
    final Scheduler scheduler;
    final List<String> startOrder = new ArrayList<>();
    final List<String> finishOrder = new ArrayList<>();
    final List<Sequence> active = new ArrayList<>();
    private long nextId;

    SchedulerHarness(int maxNumSeqs, int maxNumBatchedTokens, int numBlocks, int blockSize, SchedulingPolicy policy) {
        pool = new BlockPool(numBlocks);
        kv = new KvCacheManager(pool, blockSize, true);
        scheduler = new Scheduler(maxNumSeqs, maxNumBatchedTokens, kv, policy);
    }

    static int[] prompt(int length) {
        return IntStream.range(100, 100 + length).toArray();
    }

    /** Adds a sequence with a prompt of its own (no prefix shared with the others). */
    Sequence add(String name, int promptLength, int maxTokens, int priority, long arrivalNanos) {
        int[] p = IntStream.range(0, promptLength).map(i -> (int) (1000 * (nextId + 1)) + i).toArray();
        return add(name, p, maxTokens, priority, arrivalNanos);
    }

    Sequence add(String name, int[] prompt, int maxTokens, int priority, long arrivalNanos) {
        return add(name, prompt, maxTokens, priority, arrivalNanos, false);
    }

    /** A batch-class line with a prompt of its own. */
    Sequence addBatch(String name, int promptLength, int maxTokens, int priority, long arrivalNanos) {
        int[] p = IntStream.range(0, promptLength).map(i -> (int) (1000 * (nextId + 1)) + i).toArray();
        return add(name, p, maxTokens, priority, arrivalNanos, true);
    }

    Sequence add(String name, int[] prompt, int maxTokens, int priority, long arrivalNanos, boolean batch) {
        Sequence s = new Sequence(nextId++, name, prompt, SamplingParams.greedy(maxTokens), priority, arrivalNanos,
                batch);
        scheduler.add(s);
        active.add(s);
        return s;
    }

    /** One step: schedule, "compute", update, finish the sequences that are done. */
    SchedulerOutput step() {
        SchedulerOutput plan = scheduler.schedule();
        int[] sampled = new int[plan.chunks().size()];
        for (int i = 0; i < sampled.length; i++) {
            ScheduledChunk c = plan.chunks().get(i);
            if (c.resetBlockTable() && c.sequence().numPreemptions() == 0 && c.startPosition() == 0) {
                startOrder.add(c.sequence().requestId());
            }
            sampled[i] = c.wantLogits() ? 7 : Scheduler.NO_TOKEN;
        }
        scheduler.update(plan, sampled);
        for (ScheduledChunk c : plan.chunks()) {
            Sequence s = c.sequence();
            if (!s.isFinished() && s.numOutputTokens() >= s.params().maxTokens()) {
                scheduler.finish(s);
                finishOrder.add(s.requestId());
            }
        }
        return plan;
    }

    void runUntilIdle(int maxSteps) {
        for (int i = 0; i < maxSteps && scheduler.hasWork(); i++) step();
        if (scheduler.hasWork()) throw new AssertionError("still busy after " + maxSteps + " steps");
    }

    static String describe(SchedulerOutput plan) {
        StringBuilder sb = new StringBuilder();
        for (ScheduledChunk c : plan.chunks()) {
            sb.append(c.sequence().requestId()).append(':').append(c.startPosition()).append('+').append(c.numTokens())
                    .append(c.wantLogits() ? "" : "(partial)").append(' ');
        }
        return sb.toString().trim() + (plan.preemptedIds().length > 0 ? " preempted=" + Arrays.toString(plan.preemptedIds()) : "");
    }
}
