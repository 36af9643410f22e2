package org.autoglm.node.engine.runner;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.autoglm.models.djl.DjlBackend;
import org.autoglm.models.sampling.Sampler;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.node.engine.ReferenceCases;
import org.autoglm.node.engine.scheduler.ScheduledChunk;
import org.autoglm.node.engine.scheduler.SchedulerOutput;
import org.autoglm.node.engine.scheduler.Sequence;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The runner on the real CPU backend, which cannot sample on a device: every sequence, even one the GPU
 * could sample, gets the backend's logits and the host {@link Sampler} (seeded draws included).
 */
class ModelRunnerOnDjlTest {

    private static final int[] PROMPT = {5, 17, 42, 9, 3};
    private static DjlBackend backend;

    @BeforeAll
    static void load() {
        System.setProperty("ai.djl.offline", "true");
        backend = DjlBackend.load(ReferenceCases.fixturesDir().resolve("glm-tiny"));
        backend.allocateKvCache(8, 4);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    private static StepResult prefill(ModelRunner runner, long id, SamplingParams params, int[] blocks) {
        Sequence s = new Sequence(id, "r" + id, PROMPT, params, 0, id);
        return runner.execute(SchedulerOutput.of(List.of(new ScheduledChunk(s, 0, PROMPT.length, blocks, true, true)),
                new long[0], new long[0], List.of()));
    }

    private static float[] logits(int[] blocks) {
        return backend.forward(List.of(new SequenceChunk(99, PROMPT, 0, blocks, true)))[0];
    }

    @Test
    void greedyAndSeededSequencesFallBackToTheHostSampler() {
        SamplingParams greedy = SamplingParams.greedy(4);
        SamplingParams seeded = new SamplingParams(0.9, 0.95, 20, 0, 1, 0, 0, 1234L, 4, List.of(), false, -1);
        assertThat(backend.canSample(greedy)).isFalse();
        assertThat(backend.canSample(seeded)).isFalse();
        ModelRunner runner = new ModelRunner(backend, SamplerFactory.DEFAULT);

        int greedyToken = prefill(runner, 0, greedy, new int[] {0, 1}).sampledIds()[0];
        int seededToken = prefill(runner, 1, seeded, new int[] {2, 3}).sampledIds()[0];

        assertThat(greedyToken).isEqualTo(new Sampler(greedy, PROMPT).sample(logits(new int[] {4, 5})));
        assertThat(seededToken).isEqualTo(new Sampler(seeded, PROMPT).sample(logits(new int[] {6, 7})));
    }
}
