package org.autoglm.node.engine.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import org.autoglm.node.engine.policy.FcfsPolicy;
import org.junit.jupiter.api.Test;

/** Interactive work before batch lines, and arrivals that outrank the running set taking a place in it. */
class ClassPreemptionTest {

    @Test
    void anInteractiveArrivalDisplacesABatchLineFromAFullRunningSet() {
        SchedulerHarness h = new SchedulerHarness(2, 100, 64, 4, new FcfsPolicy());
        Sequence b1 = h.addBatch("b1", 4, 30, 0, 1);
        Sequence b2 = h.addBatch("b2", 4, 30, 0, 2);
        h.step();
        h.step();
        Sequence chat = h.add("chat", 4, 3, 0, 3);
        SchedulerOutput plan = h.step();
        assertThat(plan.preemptedIds()).containsExactly(b2.id());
        // b1 keeps its place and its KV but sits out the step that computes the chat prompt
        assertThat(plan.chunks()).extracting(c -> c.sequence().requestId()).containsExactly("chat");
        assertThat(h.step().chunks()).extracting(c -> c.sequence().requestId()).containsExactlyInAnyOrder("b1", "chat");
        h.runUntilIdle(200);
        assertThat(h.finishOrder).startsWith("chat");
        assertThat(b1.numPreemptions()).isZero();
        assertThat(b2.numPreemptions()).isEqualTo(1);
        assertThat(chat.numPreemptions()).isZero();
    }

    @Test
    void anInteractiveArrivalDisplacesABatchLineWhenMemoryIsShort() {
        // 6 blocks of 4: the batch line holds 5 of them; the chat prompt needs 2.
        SchedulerHarness h = new SchedulerHarness(8, 100, 6, 4, new FcfsPolicy());
        Sequence line = h.addBatch("line", 16, 8, 0, 1);
        h.step();
        h.step();
        assertThat(h.pool.numFreeBlocks()).isLessThan(2);
        h.add("chat", 8, 2, 0, 2);
        SchedulerOutput plan = h.step();
        assertThat(plan.preemptedIds()).containsExactly(line.id());
        assertThat(plan.chunks()).extracting(c -> c.sequence().requestId()).containsExactly("chat");
        h.runUntilIdle(200);
        assertThat(h.finishOrder).containsExactly("chat", "line");
    }

    @Test
    void batchLinesSitOutTheStepsThatComputeAnInteractivePrompt() {
        // Room for everyone: nothing is preempted, but the chat prompt (3 chunks of 8) is computed alone.
        SchedulerHarness h = new SchedulerHarness(8, 8, 64, 4, new FcfsPolicy());
        Sequence b1 = h.addBatch("b1", 4, 30, 0, 1);
        Sequence b2 = h.addBatch("b2", 4, 30, 0, 2);
        h.step();
        h.step();
        int b1Computed = b1.numComputed();
        h.add("chat", 20, 3, 0, 3);
        for (int chunk = 0; chunk < 3; chunk++) {
            SchedulerOutput plan = h.step();
            assertThat(plan.preemptedIds()).isEmpty();
            assertThat(plan.chunks()).extracting(c -> c.sequence().requestId()).containsExactly("chat");
        }
        assertThat(b1.numComputed()).isEqualTo(b1Computed);
        assertThat(b1.numPreemptions() + b2.numPreemptions()).isZero();
        // its first token is out: decode steps hold both classes again
        assertThat(h.step().chunks()).extracting(c -> c.sequence().requestId())
                .containsExactlyInAnyOrder("chat", "b1", "b2");
        h.runUntilIdle(200);
        assertThat(h.finishOrder).startsWith("chat");
    }

    @Test
    void batchLinesWaitWhileAnAnnouncedInteractiveRequestIsOnItsWay() {
        SchedulerHarness h = new SchedulerHarness(8, 100, 64, 4, new FcfsPolicy());
        Sequence line = h.addBatch("line", 4, 30, 0, 1);
        h.step();
        h.scheduler.holdBatchLines(System.nanoTime() + 60_000_000_000L); // only the admission ends it here
        assertThat(h.scheduler.batchLinesHeldNanos(System.nanoTime())).isPositive();
        int computed = line.numComputed();
        assertThat(h.step().chunks()).isEmpty(); // no step the arrival would have to wait for
        assertThat(line.numComputed()).isEqualTo(computed);
        assertThat(line.numPreemptions()).isZero(); // it keeps its KV cache

        h.add("chat", 4, 3, 0, 2);
        assertThat(h.step().chunks()).extracting(c -> c.sequence().requestId()).containsExactly("chat");
        assertThat(h.scheduler.batchLinesHeldNanos(System.nanoTime())).isZero();
        assertThat(h.step().chunks()).extracting(c -> c.sequence().requestId())
                .containsExactlyInAnyOrder("chat", "line");
    }

    @Test
    void aHoldWhoseRequestNeverComesEndsByItself() {
        SchedulerHarness h = new SchedulerHarness(8, 100, 64, 4, new FcfsPolicy());
        h.addBatch("line", 4, 30, 0, 1);
        h.step();
        h.scheduler.holdBatchLines(System.nanoTime() - 1); // its time is up: the claim failed or went elsewhere
        assertThat(h.scheduler.batchLinesHeldNanos(System.nanoTime())).isZero();
        assertThat(h.step().chunks()).extracting(c -> c.sequence().requestId()).containsExactly("line");
        h.runUntilIdle(200);
        assertThat(h.finishOrder).containsExactly("line");
    }

    @Test
    void batchLinesTakeTurnsWithinTheirTokensPerStepAndInteractiveWorkIsNotCounted() {
        SchedulerHarness h = new SchedulerHarness(16, 100, 256, 4, new FcfsPolicy());
        h.scheduler.limitBatchLineTokens(6);
        java.util.List<Sequence> lines = new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) {
            lines.add(h.addBatch("b" + i, 4, 5, 0, i));
        }
        Sequence chat = h.add("chat", 3, 6, 0, 100);
        int steps = 0;
        boolean chatWithLines = false;
        while (h.scheduler.hasWork() && steps++ < 200) {
            SchedulerOutput plan = h.step();
            int lineTokens = 0;
            for (var c : plan.chunks()) {
                if (c.sequence().batch()) lineTokens += c.numTokens();
            }
            assertThat(lineTokens).as("batch-line tokens in step %d: %s", steps, SchedulerHarness.describe(plan))
                    .isLessThanOrEqualTo(6);
            chatWithLines |= lineTokens > 0 && plan.chunks().stream().anyMatch(c -> c.sequence() == chat);
        }
        assertThat(h.finishOrder).hasSize(9).startsWith("chat");
        assertThat(chatWithLines).as("decode steps hold the chat beside up to 6 line tokens").isTrue();
        assertThat(lines).allMatch(l -> l.numPreemptions() == 0);
    }

    @Test
    void aReloadKeepsInteractiveWorkBeforeBatchLines() {
        SchedulerHarness h = new SchedulerHarness(1, 100, 64, 4, new FcfsPolicy());
        h.addBatch("line", 4, 2, 0, 1);
        h.add("chat", 4, 2, 0, 2);
        h.scheduler.reconfigure(1, 100, new FcfsPolicy());
        h.runUntilIdle(50);
        assertThat(h.startOrder).containsExactly("chat", "line");
    }

    @Test
    void waitingInteractiveWorkIsAdmittedBeforeOlderBatchLines() {
        SchedulerHarness h = new SchedulerHarness(1, 100, 64, 4, new FcfsPolicy());
        h.addBatch("line", 4, 2, 0, 1);
        h.add("chat", 4, 2, 0, 2);
        h.runUntilIdle(50);
        assertThat(h.startOrder).containsExactly("chat", "line");
    }

    @Test
    void withinAClassAHigherPriorityDisplacesALowerOneOnlyWhenTheSetIsFull() {
        SchedulerHarness full = new SchedulerHarness(2, 100, 64, 4, new FcfsPolicy());
        Sequence low1 = full.add("low1", 4, 20, 5, 1);
        Sequence low2 = full.add("low2", 4, 20, 5, 2);
        full.step();
        full.add("urgent", 4, 2, 0, 3);
        assertThat(full.step().preemptedIds()).containsExactly(low2.id());
        full.runUntilIdle(200);
        assertThat(full.finishOrder.get(0)).isEqualTo("urgent");
        assertThat(low1.numPreemptions()).isZero();

        SchedulerHarness roomy = new SchedulerHarness(3, 100, 64, 4, new FcfsPolicy());
        roomy.add("low1", 4, 20, 5, 1);
        roomy.add("low2", 4, 20, 5, 2);
        roomy.step();
        roomy.add("urgent", 4, 2, 0, 3);
        assertThat(roomy.step().preemptedIds()).isEmpty();
    }

    @Test
    void equalsDoNotDisplaceEachOther() {
        SchedulerHarness h = new SchedulerHarness(1, 100, 64, 4, new FcfsPolicy());
        h.addBatch("line1", 4, 5, 0, 1);
        h.step();
        h.addBatch("line2", 4, 5, 0, 2);
        h.add("chat1", 4, 5, 0, 3);
        h.step(); // chat1 displaces line1
        h.add("chat2", 4, 5, 0, 4);
        for (int i = 0; i < 3; i++) {
            assertThat(h.step().preemptedIds()).isEmpty();
        }
        h.runUntilIdle(100);
        assertThat(h.finishOrder).containsExactly("chat1", "chat2", "line1", "line2");
    }
}
