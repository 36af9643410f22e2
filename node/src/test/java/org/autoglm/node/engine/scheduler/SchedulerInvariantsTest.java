package org.autoglm.node.engine.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.node.engine.kv.BlockPool;
import org.autoglm.node.engine.kv.KvCacheManager;
import org.autoglm.node.engine.policy.SchedulingPolicy;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Random arrivals, finishes and cancellations against a small pool, checking after every step what must
 * always hold: budgets are respected, a block's reference count is the number of tables holding it, every
 * scheduled chunk is covered by its table, running sequences are served in policy order, and when everything
 * is done every block is free again.
 */
class SchedulerInvariantsTest {

    @ParameterizedTest
    @ValueSource(strings = {"fcfs", "priority", "sjf", "mlfq"})
    void invariantsHoldUnderRandomLoad(String policyName) {
        SplittableRandom random = new SplittableRandom(policyName.hashCode());
        int blockSize = 4;
        BlockPool pool = new BlockPool(48);
        KvCacheManager kv = new KvCacheManager(pool, blockSize, true);
        int maxSeqs = 6;
        int maxTokens = 20;
        SchedulingPolicy policy = SchedulingPolicy.byName(policyName, Duration.ofMillis(5), 2, 3);
        Scheduler scheduler = new Scheduler(maxSeqs, maxTokens, kv, policy);
        List<Sequence> live = new ArrayList<>();
        int[] shared = random.ints(12, 0, 50).toArray(); // a "system prompt" some requests start with
        long id = 0;
        long preemptions = 0;
        for (int step = 0; step < 3000; step++) {
            if (step < 2500 && random.nextInt(3) == 0) {
                int length = 1 + random.nextInt(30);
                int[] prompt = random.ints(length, 0, 50).toArray();
                if (random.nextBoolean()) System.arraycopy(shared, 0, prompt, 0, Math.min(length, shared.length));
                Sequence s = new Sequence(id++, "r" + id, prompt, SamplingParams.greedy(1 + random.nextInt(40)),
                        random.nextInt(4), step * 1_000_000L);
                scheduler.add(s);
                live.add(s);
            }
            if (!live.isEmpty() && random.nextInt(25) == 0) {
                scheduler.finish(live.remove(random.nextInt(live.size()))); // a cancel
            }
            SchedulerOutput plan = scheduler.schedule();
            preemptions += plan.preemptedIds().length;
            assertThat(plan.chunks().size()).isLessThanOrEqualTo(maxSeqs);
            assertThat(plan.numBatchedTokens()).isLessThanOrEqualTo(maxTokens)
                    .isEqualTo(plan.chunks().stream().mapToInt(ScheduledChunk::numTokens).sum());
            for (ScheduledChunk c : plan.chunks()) {
                Sequence s = c.sequence();
                assertThat(s.status()).isEqualTo(Sequence.Status.RUNNING);
                assertThat(s.blockTable().size() * blockSize).isGreaterThanOrEqualTo(c.startPosition() + c.numTokens());
                for (int i = 0; i < c.numTokens(); i++) assertThat(c.tokens()[i]).isEqualTo(s.token(c.startPosition() + i));
            }
            assertReferenceCountsMatchTables(pool, live);
            assertRunningServedInPolicyOrder(plan, policy);

            int[] sampled = new int[plan.chunks().size()];
            for (int i = 0; i < sampled.length; i++) sampled[i] = plan.chunks().get(i).wantLogits() ? random.nextInt(50) : Scheduler.NO_TOKEN;
            scheduler.update(plan, sampled);
            for (Sequence s : plan.outOfMemory()) live.remove(s);
            for (ScheduledChunk c : plan.chunks()) {
                Sequence s = c.sequence();
                if (!s.isFinished() && s.numOutputTokens() >= s.params().maxTokens()) {
                    scheduler.finish(s);
                    live.remove(s);
                }
            }
        }
        assertThat(live).isEmpty();
        assertThat(scheduler.hasWork()).isFalse();
        assertThat(pool.numFreeBlocks()).isEqualTo(pool.numBlocks());
        assertThat(preemptions).isPositive();
        assertThat(kv.prefixHitTokens()).isPositive();
    }

    /** The plan starts with the running sequences (those not starting afresh), in the policy's order. */
    private static void assertRunningServedInPolicyOrder(SchedulerOutput plan, SchedulingPolicy policy) {
        for (int i = 1; i < plan.size() && !plan.resetBlockTable(i); i++) {
            assertThat(policy.order().compare(plan.sequence(i - 1), plan.sequence(i)))
                    .as("%s served before %s", plan.sequence(i - 1), plan.sequence(i)).isNegative();
        }
    }

    private static void assertReferenceCountsMatchTables(BlockPool pool, List<Sequence> live) {
        Map<Integer, Integer> holders = new HashMap<>();
        for (Sequence s : live) {
            if (s.status() == Sequence.Status.WAITING) assertThat(s.blockTable().size()).isZero();
            for (int i = 0; i < s.blockTable().size(); i++) holders.merge(s.blockTable().blockId(i), 1, Integer::sum);
        }
        int used = 0;
        for (int b = 0; b < pool.numBlocks(); b++) {
            int refs = pool.block(b).refCount();
            assertThat(refs).as("block " + b).isEqualTo(holders.getOrDefault(b, 0));
            if (refs > 0) used++;
        }
        assertThat(pool.numUsedBlocks()).isEqualTo(used);
    }
}
