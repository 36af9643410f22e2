package org.autoglm.node.engine.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.node.engine.kv.BlockPool;
import org.autoglm.node.engine.kv.KvCacheManager;
import org.autoglm.node.engine.scheduler.ScheduledChunk;
import org.autoglm.node.engine.scheduler.Scheduler;
import org.autoglm.node.engine.scheduler.SchedulerOutput;
import org.autoglm.node.engine.scheduler.Sequence;
import org.junit.jupiter.api.Test;

/** Each policy's service order, through the real scheduler (one sequence at a time, so order is visible). */
class SchedulingPolicyTest {

    private static final long MS = 1_000_000L;

    /** A real scheduler that runs one sequence at a time and records who started when. */
    private static final class Run {
        final Scheduler scheduler;
        final List<String> started = new ArrayList<>();
        long nextId;

        Run(SchedulingPolicy policy, int maxNumSeqs, int maxNumBatchedTokens) {
            scheduler = new Scheduler(maxNumSeqs, maxNumBatchedTokens,
                    new KvCacheManager(new BlockPool(512), 4, false), policy);
        }

        Sequence add(String name, int promptLength, int maxTokens, int priority, long arrivalNanos) {
            int[] prompt = new int[promptLength];
            java.util.Arrays.fill(prompt, (int) nextId + 1);
            Sequence s = new Sequence(nextId++, name, prompt, SamplingParams.greedy(maxTokens), priority, arrivalNanos);
            scheduler.add(s);
            return s;
        }

        SchedulerOutput step() {
            SchedulerOutput plan = scheduler.schedule();
            int[] sampled = new int[plan.chunks().size()];
            for (int i = 0; i < sampled.length; i++) {
                ScheduledChunk c = plan.chunks().get(i);
                if (c.resetBlockTable() && c.sequence().numPreemptions() == 0) started.add(c.sequence().requestId());
                sampled[i] = c.wantLogits() ? 1 : Scheduler.NO_TOKEN;
            }
            scheduler.update(plan, sampled);
            for (ScheduledChunk c : plan.chunks()) {
                Sequence s = c.sequence();
                if (!s.isFinished() && s.numOutputTokens() >= s.params().maxTokens()) scheduler.finish(s);
            }
            return plan;
        }

        List<String> runAll() {
            for (int i = 0; i < 10_000 && scheduler.hasWork(); i++) step();
            return started;
        }
    }

    @Test
    void fcfsServesInArrivalOrder() {
        Run r = new Run(new FcfsPolicy(), 1, 64);
        r.add("late", 3, 2, -5, 30 * MS);
        r.add("early", 9, 9, 5, 10 * MS);
        r.add("middle", 1, 1, 0, 20 * MS);
        assertThat(r.runAll()).containsExactly("early", "middle", "late");
    }

    @Test
    void priorityServesLowerValuesFirstThenArrival() {
        Run r = new Run(new PriorityPolicy(Duration.ofHours(1)), 1, 64);
        r.add("p5", 3, 2, 5, 1 * MS);
        r.add("p0-late", 3, 2, 0, 3 * MS);
        r.add("p0-early", 3, 2, 0, 2 * MS);
        r.add("p-1", 3, 2, -1, 4 * MS);
        assertThat(r.runAll()).containsExactly("p-1", "p0-early", "p0-late", "p5");
    }

    @Test
    void sjfServesShortestPromptPlusMaxTokensFirst() {
        Run r = new Run(new ShortestJobFirstPolicy(Duration.ofDays(1)), 1, 64);
        r.add("long-output", 2, 40, 0, 1 * MS);   // 42
        r.add("long-prompt", 30, 2, 0, 2 * MS);   // 32
        r.add("short", 3, 3, 0, 3 * MS);          // 6
        r.add("short-later", 4, 2, 0, 4 * MS);    // 6, ties break by arrival
        assertThat(r.runAll()).containsExactly("short", "short-later", "long-prompt", "long-output");
    }

    @Test
    void mlfqDropsASequenceThatUsedItsQuantumAndServesLevelsInOrder() {
        MlfqPolicy mlfq = new MlfqPolicy(2, 3);
        // A token budget of 2 for more decoding sequences than that: each step someone waits, levels decide who.
        Run r = new Run(mlfq, 8, 2);
        Sequence veteran = r.add("veteran", 1, 100, 0, 1 * MS);
        r.step(); // the 1-token prompt samples the first output token: one decode step used
        r.step();
        assertThat(veteran.policyLevel()).isEqualTo(1); // quantum 2 on level 0 used up
        Sequence a = r.add("a", 1, 100, 0, 2 * MS);
        r.add("b", 1, 100, 0, 3 * MS);
        assertThat(names(r.step())).containsExactly("veteran", "a"); // running first, then admission
        // a is on level 0 and goes ahead of veteran, who arrived first but sits on level 1.
        assertThat(names(r.step())).containsExactly("a", "veteran");
        assertThat(a.policyLevel()).isEqualTo(1);
        // Now both are on level 1: arrival order decides.
        assertThat(names(r.step())).containsExactly("veteran", "a");
        assertThat(mlfq.quantum(0)).isEqualTo(2);
        assertThat(mlfq.quantum(2)).isEqualTo(8);
    }

    private static List<String> names(SchedulerOutput plan) {
        return plan.chunks().stream().map(c -> c.sequence().requestId()).toList();
    }

    @Test
    void mlfqPreemptsTheLowestLevelFirst() {
        MlfqPolicy mlfq = new MlfqPolicy(4, 3);
        // 12 blocks of 4 tokens: two sequences that keep growing must collide.
        Scheduler s = new Scheduler(8, 64, new KvCacheManager(new BlockPool(12), 4, false), mlfq);
        Sequence old = new Sequence(0, "old", new int[] {1, 2, 3}, SamplingParams.greedy(100), 0, 1);
        s.add(old);
        for (int i = 0; i < 20; i++) step(s);
        assertThat(old.policyLevel()).isEqualTo(2);
        Sequence fresh = new Sequence(1, "fresh", new int[] {4, 5, 6}, SamplingParams.greedy(100), 0, 2);
        s.add(fresh);
        long[] preempted = {};
        for (int i = 0; i < 20 && preempted.length == 0; i++) preempted = step(s).preemptedIds();
        assertThat(fresh.policyLevel()).isLessThan(2);
        assertThat(preempted).containsExactly(old.id());
    }

    private static SchedulerOutput step(Scheduler s) {
        SchedulerOutput plan = s.schedule();
        int[] sampled = new int[plan.chunks().size()];
        for (int i = 0; i < sampled.length; i++) sampled[i] = plan.chunks().get(i).wantLogits() ? 1 : Scheduler.NO_TOKEN;
        s.update(plan, sampled);
        return plan;
    }

    @Test
    void agingLetsALowPriorityRequestThroughAStreamOfUrgentOnes() {
        // Priority 10 with a 10 ms aging step ranks it like an urgent request arriving at 100 ms: at most the
        // ~10 urgent requests that arrived before then run ahead of it.
        assertThat(startPositionOfLowPriority(Duration.ofMillis(10))).isBetween(1, 11);
        // Without meaningful aging the same stream starves it for the whole run.
        assertThat(startPositionOfLowPriority(Duration.ofDays(1))).isEqualTo(-1);
    }

    /**
     * One priority-10 request arrives first; then a priority-0 request arrives every 10 ms, each needing one
     * step, and the node runs one sequence at a time. Returns how many urgent requests ran before it.
     */
    private static int startPositionOfLowPriority(Duration agingStep) {
        Run r = new Run(new PriorityPolicy(agingStep), 1, 64);
        r.add("low", 2, 1, 10, 0);
        for (int t = 1; t <= 200; t++) {
            r.add("urgent" + t, 2, 1, 0, t * 10 * MS);
            r.step();
        }
        return r.started.indexOf("low");
    }

    @Test
    void sjfAgingLetsALongJobThroughAStreamOfShortOnes() {
        // 1,002 expected tokens with 100 ms per 1,000 tokens rank it like a short job arriving at ~100 ms: at most
        // the ~10 short jobs that arrived before then run ahead of it.
        assertThat(startPositionOf("long", new ShortestJobFirstPolicy(Duration.ofMillis(100)), 1000)).isBetween(1, 11);
        assertThat(startPositionOf("long", new ShortestJobFirstPolicy(Duration.ofDays(1)), 1000)).isEqualTo(-1);
    }

    @Test
    void mlfqBoostLetsADemotedSequenceThroughSustainedLevelZeroLoad() {
        assertThat(startPositionOf("demoted", new MlfqPolicy(2, 3, 16), 1)).isBetween(1, 16);
        assertThat(startPositionOf("demoted", new MlfqPolicy(2, 3, Integer.MAX_VALUE), 1)).isEqualTo(-1);
        assertThat(new MlfqPolicy(16, 4).boostInterval()).isEqualTo(256);
    }

    /**
     * {@code name} (a mlfq sequence on the bottom level, as if demoted and then preempted) arrives first with
     * {@code maxTokens}; then a 3-token job arrives every 10 ms and the node runs one sequence at a time. Returns
     * how many short jobs ran before it, or -1 if it never started.
     */
    private static int startPositionOf(String name, SchedulingPolicy policy, int maxTokens) {
        Run r = new Run(policy, 1, 64);
        Sequence first = r.add(name, 2, maxTokens, 0, 0);
        if (policy instanceof MlfqPolicy) first.setPolicyState(2, 0); // alone in the queue: its rank may change
        for (int t = 1; t <= 200; t++) {
            r.add("short" + t, 2, 1, 0, t * 10 * MS);
            r.step();
        }
        return r.started.indexOf(name);
    }

    @Test
    void policiesAreChosenByName() {
        assertThat(SchedulingPolicy.byName("FCFS", Duration.ofSeconds(1), 4, 3).name()).isEqualTo("fcfs");
        assertThat(SchedulingPolicy.byName("priority", Duration.ofSeconds(1), 4, 3)).isInstanceOf(PriorityPolicy.class);
        assertThat(SchedulingPolicy.byName("sjf", Duration.ofSeconds(1), 4, 3)).isInstanceOf(ShortestJobFirstPolicy.class);
        assertThat(SchedulingPolicy.byName("mlfq", Duration.ofSeconds(1), 4, 3)).isInstanceOf(MlfqPolicy.class);
        assertThatThrownBy(() -> SchedulingPolicy.byName("lottery", Duration.ofSeconds(1), 4, 3))
                .hasMessage("unknown scheduling policy 'lottery'; use one of: fcfs, priority, sjf, mlfq");
    }
}
