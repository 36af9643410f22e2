package org.autoglm.node.engine.runner;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.autoglm.models.backend.Backend;
import org.autoglm.models.backend.SampledStep;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.models.config.GlmConfig;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.node.engine.scheduler.ScheduledChunk;
import org.autoglm.node.engine.scheduler.Scheduler;
import org.autoglm.node.engine.scheduler.SchedulerOutput;
import org.autoglm.node.engine.scheduler.Sequence;
import org.junit.jupiter.api.Test;

class ModelRunnerTest {

    /** Records what it is asked to compute; logits put all mass on (sequence id + 1). */
    private static final class RecordingBackend implements Backend {
        final List<List<SequenceChunk>> calls = new ArrayList<>();
        long failFor = -1;

        @Override
        public float[][] forward(List<SequenceChunk> chunks) {
            calls.add(chunks);
            float[][] out = new float[chunks.size()][];
            for (int i = 0; i < chunks.size(); i++) {
                if (chunks.get(i).sequenceId() == failFor) throw new IllegalStateException("broken sequence " + failFor);
                if (!chunks.get(i).wantLogits()) continue;
                out[i] = new float[8];
                out[i][(int) chunks.get(i).sequenceId() + 1] = 5;
            }
            return out;
        }

        @Override
        public GlmConfig config() {
            throw new UnsupportedOperationException();
        }

        @Override
        public String description() {
            return "recording";
        }

        @Override
        public int maxKvBlocks(int blockSize) {
            return 64;
        }

        @Override
        public void allocateKvCache(int numBlocks, int blockSize) {}

        @Override
        public void close() {}
    }

    /**
     * A backend that samples on the "device" every sequence without a presence penalty: its token is
     * (sequence id + 3), where the host sampler over its logits would pick (sequence id + 1).
     */
    private static final class SamplingBackend implements Backend {
        final RecordingBackend logits = new RecordingBackend();
        final List<List<SamplingParams>> sampleCalls = new ArrayList<>();
        long failFor = -1;

        @Override
        public boolean canSample(SamplingParams params) {
            return params.presencePenalty() == 0 && params.logprobs() < 0;
        }

        @Override
        public SampledStep forwardAndSample(List<SequenceChunk> chunks, List<SamplingParams> params) {
            sampleCalls.add(params);
            int[] ids = new int[chunks.size()];
            float[][] rows = new float[chunks.size()][];
            for (int i = 0; i < chunks.size(); i++) {
                SequenceChunk c = chunks.get(i);
                if (c.sequenceId() == failFor) throw new IllegalStateException("broken sequence " + failFor);
                ids[i] = -1;
                if (!c.wantLogits()) continue;
                if (params.get(i) != null) {
                    ids[i] = (int) c.sequenceId() + 3;
                } else {
                    rows[i] = new float[8];
                    rows[i][(int) c.sequenceId() + 1] = 5;
                }
            }
            return new SampledStep(ids, rows);
        }

        @Override
        public float[][] forward(List<SequenceChunk> chunks) {
            return logits.forward(chunks);
        }

        @Override
        public GlmConfig config() {
            throw new UnsupportedOperationException();
        }

        @Override
        public String description() {
            return "sampling";
        }

        @Override
        public int maxKvBlocks(int blockSize) {
            return 64;
        }

        @Override
        public void allocateKvCache(int numBlocks, int blockSize) {}

        @Override
        public void close() {}
    }

    private static Sequence penalized(long id) {
        SamplingParams p = new SamplingParams(0, 1, 0, 0, 1, 0.5, 0, null, 10, List.of(), false, -1);
        return new Sequence(id, "r" + id, new int[] {1, 2, 3}, p, 0, id);
    }

    private static Sequence seq(long id) {
        return new Sequence(id, "r" + id, new int[] {1, 2, 3}, SamplingParams.greedy(10), 0, id);
    }

    private static SchedulerOutput plan(List<ScheduledChunk> chunks, long[] preempted, long[] finished) {
        return SchedulerOutput.of(chunks, preempted, finished, List.of());
    }

    @Test
    void keepsBlockTablesBetweenStepsAndResetsThemOnPreemption() {
        RecordingBackend backend = new RecordingBackend();
        ModelRunner runner = new ModelRunner(backend, SamplerFactory.DEFAULT);
        Sequence a = seq(0);
        StepResult first = runner.execute(plan(List.of(new ScheduledChunk(a, 0, 3, new int[] {7}, true, true)),
                new long[0], new long[0]));
        assertThat(first.sampledIds()).containsExactly(1);
        runner.execute(plan(List.of(new ScheduledChunk(a, 3, 1, new int[] {9}, false, true)), new long[0], new long[0]));
        assertThat(backend.calls.get(1).get(0).blockTable()).containsExactly(7, 9);
        runner.execute(plan(List.of(new ScheduledChunk(a, 4, 1, new int[0], false, true)), new long[0], new long[0]));
        assertThat(backend.calls.get(2).get(0).blockTable()).containsExactly(7, 9);
        // Preempted, then restarted with a fresh table.
        runner.execute(plan(List.of(new ScheduledChunk(a, 0, 5, new int[] {4, 5}, true, true)),
                new long[] {a.id()}, new long[0]));
        assertThat(backend.calls.get(3).get(0).blockTable()).containsExactly(4, 5);
        assertThat(runner.numSequences()).isEqualTo(1);
        runner.execute(plan(List.of(), new long[0], new long[] {a.id()}));
        assertThat(runner.numSequences()).isZero();
    }

    @Test
    void aFailingChunkFailsOnlyItsSequence() {
        RecordingBackend backend = new RecordingBackend();
        backend.failFor = 1;
        ModelRunner runner = new ModelRunner(backend, SamplerFactory.DEFAULT);
        List<ScheduledChunk> chunks = List.of(
                new ScheduledChunk(seq(0), 0, 3, new int[] {0}, true, true),
                new ScheduledChunk(seq(1), 0, 3, new int[] {1}, true, true),
                new ScheduledChunk(seq(2), 0, 2, new int[] {2}, true, false));
        StepResult result = runner.execute(plan(chunks, new long[0], new long[0]));
        assertThat(result.sampledIds()).containsExactly(1, Scheduler.FAILED, Scheduler.NO_TOKEN);
        assertThat(result.errors()[1]).isEqualTo("model forward failed: broken sequence 1");
        assertThat(result.errors()[0]).isNull();
        assertThat(backend.calls).hasSize(4); // the batch, then each chunk alone
    }

    @Test
    void aSamplerThatCannotBeMadeFailsOnlyItsSequence() {
        RecordingBackend backend = new RecordingBackend();
        ModelRunner runner = new ModelRunner(backend, (params, prompt) -> {
            if (params.maxTokens() == 7) throw new IllegalArgumentException("no sevens");
            return SamplerFactory.DEFAULT.create(params, prompt);
        });
        Sequence odd = new Sequence(5, "odd", new int[] {1}, SamplingParams.greedy(7), 0, 0);
        StepResult result = runner.execute(plan(List.of(
                new ScheduledChunk(seq(0), 0, 3, new int[] {0}, true, true),
                new ScheduledChunk(odd, 0, 1, new int[] {1}, true, true)), new long[0], new long[0]));
        assertThat(result.sampledIds()).containsExactly(1, Scheduler.FAILED);
        assertThat(result.errors()[1]).isEqualTo("invalid sampling parameters: no sevens");
        assertThat(backend.calls.get(0)).hasSize(1);
    }

    @Test
    void theBackendSamplesWhatItCanAndTheHostTheRestInOneForward() {
        SamplingBackend backend = new SamplingBackend();
        ModelRunner runner = new ModelRunner(backend, SamplerFactory.DEFAULT);
        Sequence device = seq(0);
        Sequence host = penalized(1);
        StepResult result = runner.execute(plan(List.of(
                new ScheduledChunk(device, 0, 3, new int[] {0}, true, true),
                new ScheduledChunk(host, 0, 3, new int[] {1}, true, true),
                new ScheduledChunk(seq(2), 0, 2, new int[] {2}, true, false)), new long[0], new long[0]));
        assertThat(result.sampledIds()).containsExactly(3, 2, Scheduler.NO_TOKEN);
        assertThat(backend.sampleCalls).hasSize(1);
        assertThat(backend.sampleCalls.get(0)).containsExactly(device.params(), null, null);
        assertThat(backend.logits.calls).isEmpty(); // no plain forward: one backend call for the step
    }

    @Test
    void aStepWithNothingToSampleOnTheBackendIsAPlainForward() {
        SamplingBackend backend = new SamplingBackend();
        ModelRunner runner = new ModelRunner(backend, SamplerFactory.DEFAULT);
        StepResult result = runner.execute(plan(List.of(
                new ScheduledChunk(penalized(4), 0, 3, new int[] {0}, true, true)),
                new long[0], new long[0]));
        assertThat(result.sampledIds()).containsExactly(5);
        assertThat(backend.sampleCalls).isEmpty();
        assertThat(backend.logits.calls).hasSize(1);
    }

    @Test
    void aSequenceKeepsItsSamplerWhateverItsBatchMates() {
        SamplingBackend backend = new SamplingBackend();
        ModelRunner runner = new ModelRunner(backend, SamplerFactory.DEFAULT);
        Sequence device = seq(0);
        Sequence host = penalized(1);
        int deviceAlone = runner.execute(plan(List.of(
                new ScheduledChunk(device, 0, 3, new int[] {0}, true, true)),
                new long[0], new long[0])).sampledIds()[0];
        int hostAlone = runner.execute(plan(List.of(
                new ScheduledChunk(host, 0, 3, new int[] {1}, true, true)),
                new long[0], new long[0])).sampledIds()[0];
        StepResult together = runner.execute(plan(List.of(
                new ScheduledChunk(device, 3, 1, new int[0], false, true),
                new ScheduledChunk(host, 3, 1, new int[0], false, true)), new long[0], new long[0]));
        assertThat(deviceAlone).isEqualTo(3);
        assertThat(hostAlone).isEqualTo(2);
        assertThat(together.sampledIds()).containsExactly(deviceAlone, hostAlone);
    }

    @Test
    void aFailingChunkFailsOnlyItsSequenceWithBackendSampling() {
        SamplingBackend backend = new SamplingBackend();
        backend.failFor = 1;
        ModelRunner runner = new ModelRunner(backend, SamplerFactory.DEFAULT);
        StepResult result = runner.execute(plan(List.of(
                new ScheduledChunk(seq(0), 0, 3, new int[] {0}, true, true),
                new ScheduledChunk(seq(1), 0, 3, new int[] {1}, true, true),
                new ScheduledChunk(penalized(2), 0, 3, new int[] {2}, true, true)),
                new long[0], new long[0]));
        assertThat(result.sampledIds()).containsExactly(3, Scheduler.FAILED, 3);
        assertThat(result.errors()[1]).isEqualTo("model forward failed: broken sequence 1");
        // the batch, then sequence 0 alone (device), 1 alone (fails), 2 alone (a plain forward: host sampled)
        assertThat(backend.sampleCalls).hasSize(3);
        assertThat(backend.logits.calls).hasSize(1);
    }
}
