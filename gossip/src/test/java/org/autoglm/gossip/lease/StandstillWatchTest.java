package org.autoglm.gossip.lease;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The rule that decides a process stood still, on an injected monotonic clock (milliseconds as nanoseconds here). */
class StandstillWatchTest {

    private final StandstillWatch watch = new StandstillWatch(1_000);

    @Test
    void runsOnTimeNeverStoodStill() {
        assertThat(watch.begin(0)).isZero();
        for (long t = 0; t < 10_000; t += 300) {
            assertThat(watch.begin(t)).isZero();
            watch.end(t, t + 50);
        }
    }

    @Test
    void aRunThatStartsPastTheLimitAfterTheLastOneEndedStoodStill() {
        watch.end(0, 50);
        assertThat(watch.begin(1_000)).isZero();
        assertThat(watch.begin(1_051)).isEqualTo(1_001);
    }

    @Test
    void aPauseInsideARunCountsAgainstTheNextRunThatStartsOnTime() {
        watch.end(0, 1_200); // SIGSTOP struck inside the run: it ended late, and the next one starts on time
        assertThat(watch.begin(1_500)).isEqualTo(1_200);
    }

    @Test
    void afterAResetOnlyLaterStandstillsCount() {
        watch.end(0, 5_000);
        watch.reset(5_000);
        assertThat(watch.begin(5_300)).isZero();
    }
}
