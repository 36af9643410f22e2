package org.autoglm.node.engine.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.autoglm.node.engine.scheduler.SchedulerHarness.describe;

import org.autoglm.node.engine.policy.FcfsPolicy;
import org.junit.jupiter.api.Test;

class SchedulerTest {

    @Test
    void chunkedPrefillAndDecodeShareOneTokenBudget() {
        SchedulerHarness h = new SchedulerHarness(8, 16, 64, 4, new FcfsPolicy());
        h.add("a", 10, 3, 0, 1);
        h.add("b", 10, 3, 0, 2);
        h.add("c", 10, 3, 0, 3);

        assertThat(describe(h.step())).isEqualTo("a:0+10 b:0+6(partial)");
        assertThat(describe(h.step())).isEqualTo("a:10+1 b:6+4 c:0+10");
        assertThat(describe(h.step())).isEqualTo("a:11+1 b:10+1 c:10+1");
        h.runUntilIdle(10);
        assertThat(h.finishOrder).containsExactly("a", "b", "c");
        assertThat(h.pool.numUsedBlocks()).isZero();
    }

    @Test
    void reprioritizedWaitingSequencesAreAdmittedInTheirNewOrder() {
        SchedulerHarness h = new SchedulerHarness(1, 1000, 64, 4,
                new org.autoglm.node.engine.policy.PriorityPolicy(java.time.Duration.ofHours(1)));
        for (int i = 0; i < 4; i++) h.add("s" + i, 3, 2, 5, i);
        h.step(); // s0 runs; s1..s3 wait
        assertThat(h.scheduler.reprioritize(id -> id.equals("s3") || id.equals("s0"), 0)).containsExactly("s3");
        h.runUntilIdle(40);
        // s3 now outranks the running s0 and, max_num_seqs being full, preempts it (issue 18's rule within a class)
        assertThat(h.finishOrder).containsExactly("s3", "s0", "s1", "s2");
    }

    @Test
    void respectsMaxNumSeqs() {
        SchedulerHarness h = new SchedulerHarness(2, 1000, 64, 4, new FcfsPolicy());
        for (int i = 0; i < 5; i++) h.add("s" + i, 3, 2, 0, i);
        SchedulerOutput first = h.step();
        assertThat(first.chunks()).hasSize(2);
        assertThat(h.scheduler.numRunning()).isEqualTo(2);
        assertThat(h.scheduler.numWaiting()).isEqualTo(3);
        h.runUntilIdle(20);
        assertThat(h.finishOrder).containsExactly("s0", "s1", "s2", "s3", "s4");
    }

    @Test
    void newBlocksAreReportedOnlyWhenATableGrows() {
        SchedulerHarness h = new SchedulerHarness(4, 100, 16, 4, new FcfsPolicy());
        h.add("a", 4, 10, 0, 1);
        ScheduledChunk first = h.step().chunks().get(0);
        assertThat(first.resetBlockTable()).isTrue();
        assertThat(first.newBlockIds()).hasSize(1);
        ScheduledChunk second = h.step().chunks().get(0); // position 4 starts the second block
        assertThat(second.resetBlockTable()).isFalse();
        assertThat(second.newBlockIds()).hasSize(1);
        ScheduledChunk third = h.step().chunks().get(0);
        assertThat(third.newBlockIds()).isEmpty();
    }

    @Test
    void preemptsTheLastInPolicyOrderAndRecomputesItLater() {
        // 6 blocks of 4: two sequences of 8 prompt + 8 output tokens need 8 blocks together.
        SchedulerHarness h = new SchedulerHarness(4, 100, 6, 4, new FcfsPolicy());
        Sequence a = h.add("a", 8, 8, 0, 1);
        Sequence b = h.add("b", 8, 8, 0, 2);
        boolean sawPreemption = false;
        for (int i = 0; i < 40 && h.scheduler.hasWork(); i++) {
            SchedulerOutput plan = h.step();
            if (plan.preemptedIds().length > 0) {
                assertThat(plan.preemptedIds()).containsExactly(b.id());
                assertThat(b.numComputed()).isZero();
                assertThat(b.status()).isEqualTo(Sequence.Status.WAITING);
                assertThat(plan.chunks()).extracting(c -> c.sequence().requestId()).containsExactly("a");
                sawPreemption = true;
            }
        }
        assertThat(sawPreemption).isTrue();
        assertThat(b.numPreemptions()).isEqualTo(1);
        assertThat(h.finishOrder).containsExactly("a", "b");
        // Recompute kept b's tokens: its output is complete and identical in length to a's.
        assertThat(b.outputIds()).containsExactly(a.outputIds());
        assertThat(h.pool.numUsedBlocks()).isZero();
    }

    @Test
    void recomputeAfterPreemptionStartsFromTheCachedPrefix() {
        SchedulerHarness h = new SchedulerHarness(4, 100, 6, 4, new FcfsPolicy());
        h.add("a", 8, 8, 0, 1);
        Sequence b = h.add("b", 8, 8, 0, 2);
        ScheduledChunk resumed = null;
        for (int i = 0; i < 40 && h.scheduler.hasWork(); i++) {
            for (ScheduledChunk c : h.step().chunks()) {
                if (c.sequence() == b && c.resetBlockTable() && b.numPreemptions() == 1 && resumed == null) resumed = c;
            }
        }
        assertThat(resumed).isNotNull();
        // The recompute covers the prompt and the output so far, minus whatever full blocks stayed cached.
        assertThat(resumed.startPosition() % 4).isZero();
        assertThat(resumed.startPosition()).isPositive();
        assertThat(resumed.wantLogits()).isTrue();
        assertThat(h.finishOrder).containsExactly("a", "b");
    }

    @Test
    void aSequenceThatCannotFitAloneIsReportedOutOfMemory() {
        SchedulerHarness h = new SchedulerHarness(4, 100, 2, 4, new FcfsPolicy());
        Sequence a = h.add("a", 6, 100, 0, 1);
        SchedulerOutput plan = null;
        for (int i = 0; i < 10; i++) {
            plan = h.step();
            if (!plan.outOfMemory().isEmpty()) break;
        }
        assertThat(plan.outOfMemory()).containsExactly(a);
        assertThat(a.isFinished()).isTrue();
        // Both blocks filled (8 positions computed); computing position 8 would need a third block.
        assertThat(a.numComputed()).isEqualTo(8);
        assertThat(a.numTokens()).isEqualTo(9);
        assertThat(h.pool.numUsedBlocks()).isZero();
        assertThat(h.scheduler.hasWork()).isFalse();
    }

    @Test
    void finishingFreesBlocksAtOnceAndTellsTheNextPlan() {
        SchedulerHarness h = new SchedulerHarness(4, 100, 16, 4, new FcfsPolicy());
        Sequence a = h.add("a", 10, 50, 0, 1);
        Sequence w = h.add("w", 10, 50, 0, 2);
        h.step();
        assertThat(h.pool.numUsedBlocks()).isEqualTo(6);
        assertThat(h.scheduler.finish(a)).isTrue();
        assertThat(h.scheduler.finish(a)).isFalse();
        assertThat(h.pool.numUsedBlocks()).isEqualTo(3);
        SchedulerOutput next = h.step();
        assertThat(next.finishedIds()).containsExactly(a.id());
        assertThat(h.step().finishedIds()).isEmpty();
        assertThat(w.status()).isEqualTo(Sequence.Status.RUNNING);
    }

    @Test
    void cancellingAWaitingSequenceRemovesIt() {
        SchedulerHarness h = new SchedulerHarness(1, 100, 16, 4, new FcfsPolicy());
        h.add("a", 4, 5, 0, 1);
        Sequence b = h.add("b", 4, 5, 0, 2);
        h.step();
        assertThat(h.scheduler.finish(b)).isTrue();
        h.runUntilIdle(20);
        assertThat(h.startOrder).containsExactly("a");
    }

    @Test
    void sharedPromptPrefixIsComputedOnce() {
        SchedulerHarness h = new SchedulerHarness(4, 100, 32, 4, new FcfsPolicy());
        int[] system = SchedulerHarness.prompt(13);
        h.add("first", system, 2, 0, 1);
        h.runUntilIdle(10);
        h.add("second", system, 2, 0, 2);
        ScheduledChunk c = h.step().chunks().get(0);
        assertThat(c.startPosition()).isEqualTo(12);
        assertThat(c.numTokens()).isEqualTo(1);
        assertThat(h.kv.prefixHitTokens()).isEqualTo(12);
        assertThat(h.kv.prefixQueryTokens()).isEqualTo(26);
    }
}
