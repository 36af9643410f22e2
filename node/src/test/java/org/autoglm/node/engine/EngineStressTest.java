package org.autoglm.node.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.node.engine.runner.SamplerFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Many requests of random lengths and priorities on a KV pool far too small for all of them, some cancelled
 * at random moments, under each policy: every request ends exactly once, every finished one has exactly
 * the tokens it would have had alone, and all KV blocks come back.
 */
class EngineStressTest {

    @ParameterizedTest
    @ValueSource(strings = {"fcfs", "priority", "sjf", "mlfq"})
    void everyRequestEndsOnceWithItsOwnTokensAndAllBlocksComeBack(String policy) throws Exception {
        PagedTokenBackend backend = new PagedTokenBackend(40, 4096);
        try (Engine engine = new Engine(backend, EngineOptions.create(o -> {
            o.blockSize = 4;
            o.maxNumSeqs = 12;
            o.maxNumBatchedTokens = 48;
            o.schedulingPolicy = policy;
            o.mlfqQuantum = 2;
        }), TextStream.Factory.NONE, SamplerFactory.DEFAULT)) {
            backend.gate = new java.util.concurrent.CountDownLatch(1); // all requests queue before the second step
            SplittableRandom random = new SplittableRandom(policy.hashCode());
            List<int[]> prompts = new ArrayList<>();
            List<Integer> maxTokens = new ArrayList<>();
            List<Collector> outs = new ArrayList<>();
            for (int i = 0; i < 120; i++) {
                // Some prompts share a prefix, so the prefix cache is in play too.
                int[] prompt = random.ints(1 + random.nextInt(40), 0, 90).toArray();
                if (i % 3 == 0 && i > 0) System.arraycopy(prompts.get(i - 1), 0, prompt, 0, Math.min(prompt.length, prompts.get(i - 1).length) / 2);
                int n = 1 + random.nextInt(30);
                prompts.add(prompt);
                maxTokens.add(n);
                int cancelAt = random.nextInt(8) == 0 ? 1 + random.nextInt(n) : -1;
                String id = "r" + i;
                Collector out = new Collector(k -> { if (k == cancelAt) engine.cancel(id); });
                outs.add(out);
                SamplingParams params = new SamplingParams(0, 1, 0, 0, 1, 0, 0, null, n, List.of(), true, -1);
                engine.submit(new GenerationRequest(id, prompt, params, random.nextInt(5), null, null, List.of(), null, null), out);
            }
            backend.gate.countDown();
            for (int i = 0; i < outs.size(); i++) {
                Completion done = outs.get(i).await();
                int[] got = outs.get(i).ids();
                assertThat(got.length).isEqualTo(done.completionTokens());
                int[] expected = expected(prompts.get(i), maxTokens.get(i));
                if (done.reason() == FinishReason.LENGTH) {
                    assertThat(got).as("r" + i).containsExactly(expected);
                } else {
                    assertThat(done.reason()).isEqualTo(FinishReason.CANCELLED);
                    assertThat(got).as("r" + i).containsExactly(Arrays.copyOf(expected, got.length));
                }
            }
            assertThat(engine.stats().preemptions()).isPositive();
            await().until(() -> engine.stats().kvBlocksUsed() == 0 && engine.stats().running() == 0);
        }
    }

    private static int[] expected(int[] prompt, int n) {
        int[] all = Arrays.copyOf(prompt, prompt.length + n);
        for (int i = 0; i < n; i++) all[prompt.length + i] = PagedTokenBackend.next(all, prompt.length + i);
        return Arrays.copyOfRange(all, prompt.length, all.length);
    }
}
