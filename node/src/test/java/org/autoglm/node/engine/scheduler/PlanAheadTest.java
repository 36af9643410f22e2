package org.autoglm.node.engine.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import org.autoglm.node.engine.policy.FcfsPolicy;
import org.junit.jupiter.api.Test;

/** {@link Scheduler#planAhead}: the next plan is made before the last one's tokens are known (asynchronous scheduling). */
class PlanAheadTest {

    @Test
    void theNextPlanComputesTheTokenStillOnTheDeviceAndTheResultFillsItIn() {
        SchedulerHarness h = new SchedulerHarness(4, 100, 64, 4, new FcfsPolicy());
        Sequence a = h.add("a", 5, 10, 0, 1);
        SchedulerOutput first = h.scheduler.schedule();
        h.scheduler.planAhead(first, s -> true);
        assertThat(a.numComputed()).isEqualTo(5);
        assertThat(a.numTokens()).isEqualTo(6);
        assertThat(a.numPending()).isEqualTo(1);

        SchedulerOutput second = h.scheduler.schedule();
        assertThat(second.startPosition(0)).isEqualTo(5);
        assertThat(second.tokens(0)).containsExactly(Scheduler.PENDING_TOKEN);
        h.scheduler.planAhead(second, s -> true);
        assertThat(a.numPending()).isEqualTo(2);

        h.scheduler.update(first, new int[] {42});
        assertThat(a.token(5)).isEqualTo(42);
        assertThat(a.numPending()).isEqualTo(1);
        assertThat(a.numKnownTokens()).isEqualTo(6);
        h.scheduler.update(second, new int[] {43});
        assertThat(a.outputIds()).containsExactly(42, 43);
        assertThat(a.numPending()).isZero();
        assertThat(h.scheduler.schedule().tokens(0)).containsExactly(43);
    }

    @Test
    void aSequenceWhoseTokenIsNotDrawnAheadSitsOutOneStepAndResumesWithIt() {
        SchedulerHarness h = new SchedulerHarness(4, 100, 64, 4, new FcfsPolicy());
        Sequence a = h.add("a", 3, 10, 0, 1);
        Sequence b = h.add("b", 4, 10, 0, 2);
        SchedulerOutput first = h.scheduler.schedule();
        h.scheduler.planAhead(first, s -> s == a);   // b is sampled on the host: its token comes with the result
        SchedulerOutput second = h.scheduler.schedule();
        assertThat(second.size()).isEqualTo(1);
        assertThat(second.sequence(0)).isSameAs(a);
        h.scheduler.planAhead(second, s -> s == a);
        h.scheduler.update(first, new int[] {7, 8});
        assertThat(b.outputIds()).containsExactly(8);
        SchedulerOutput third = h.scheduler.schedule();
        assertThat(third.size()).isEqualTo(2);
        assertThat(third.tokens(1)).containsExactly(8);
    }

    @Test
    void aSequenceFinishedWhileItsStepRunsIgnoresThatStepsToken() {
        SchedulerHarness h = new SchedulerHarness(4, 100, 64, 4, new FcfsPolicy());
        Sequence a = h.add("a", 3, 10, 0, 1);
        SchedulerOutput first = h.scheduler.schedule();
        h.scheduler.planAhead(first, s -> true);
        h.scheduler.finish(a);   // stands for a stop seen one step late: the in-flight token is discarded
        h.scheduler.update(first, new int[] {5});
        assertThat(a.outputIds()).containsExactly(Scheduler.PENDING_TOKEN);   // finished: nothing more is written
        assertThat(h.scheduler.hasWork()).isFalse();
        assertThat(h.pool.numUsedBlocks()).isZero();
    }
}
