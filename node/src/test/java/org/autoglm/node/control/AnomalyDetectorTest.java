package org.autoglm.node.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.autoglm.node.engine.FinishReason;
import org.junit.jupiter.api.Test;

/** Baselines per load level, 3σ for N intervals, with a node made slow on purpose. */
class AnomalyDetectorTest {

    private final Random random = new Random(7);

    /** One interval of a node stepping {@code seqs} sequences at about {@code stepMs} per step. */
    private void interval(AnomalyDetector d, int seqs, double stepMs) {
        for (int i = 0; i < 20; i++) {
            d.step((long) ((stepMs + random.nextGaussian() * stepMs * 0.03) * 1e6), seqs, seqs);
        }
        d.timeToFirstToken((long) (stepMs * 3e6));
        d.finished(FinishReason.STOP, 10, 10);
        d.closeInterval();
    }

    @Test
    void anInjectedSlowNodeIsFlaggedAfterNIntervalsAndClearedWhenItRecovers() {
        AnomalyDetector d = new AnomalyDetector(3, 1000);
        for (int i = 0; i < 30; i++) {
            interval(d, 1, 10);
            interval(d, 8, 25); // a busier load level has its own, higher baseline
        }
        assertThat(d.anomalous()).isFalse();
        interval(d, 8, 26); // normal for its level
        interval(d, 1, 30); // slow once, twice: not yet
        interval(d, 1, 30);
        assertThat(d.anomalous()).isFalse();
        interval(d, 1, 30);
        assertThat(d.anomalous()).isTrue();
        assertThat(d.reason()).startsWith("step_ms@0");
        for (int i = 0; i < 5; i++) interval(d, 1, 30); // the slowness does not become the new normal
        assertThat(d.anomalous()).isTrue();
        for (int i = 0; i < 3; i++) interval(d, 1, 10);
        assertThat(d.anomalous()).isFalse();
    }

    @Test
    void errorsBeyondTheBaselineAlsoCount() {
        AnomalyDetector d = new AnomalyDetector(2, 1000);
        for (int i = 0; i < 20; i++) interval(d, 2, 10);
        for (int i = 0; i < 2; i++) {
            for (int k = 0; k < 5; k++) d.finished(FinishReason.ERROR, 1, 0);
            interval(d, 2, 10);
        }
        assertThat(d.anomalous()).isTrue();
        assertThat(d.reason()).startsWith("error_rate");
    }

    @Test
    void anIdleNodeIsNeverJudged() {
        AnomalyDetector d = new AnomalyDetector(1, 1000);
        for (int i = 0; i < 50; i++) d.closeInterval();
        assertThat(d.anomalous()).isFalse();
    }
}
