package org.autoglm.node.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import java.nio.file.Path;
import org.autoglm.models.backend.Backend;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.models.tokenizer.GlmTokenizer;
import org.autoglm.node.engine.runner.SamplerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The engine on a real CPU backend ({@link EngineOnDjlTest}, {@link EngineOnCpuTest}) and the reference checkpoints: whatever the batching does (batch-mates
 * of other lengths, joining and leaving mid-flight, chunked prefill, preemption and recompute, prefix-cache
 * hits), each sequence's greedy tokens are exactly what transformers produced for it alone.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class EngineReferenceTest {

    private static final int N = 24; // greedy tokens in the reference

    private final List<AutoCloseable> open = new ArrayList<>();

    /** Opens the backend under test on a reference checkpoint. */
    abstract Backend load(Path modelDir);

    /** What the engine drives: the backend as loaded, or (asynchronous scheduling) a wrapper around it. */
    Backend driven(Backend loaded) {
        return loaded;
    }

    @BeforeAll
    void quietDjl() {
        System.setProperty("ai.djl.offline", "true");
    }

    @AfterAll
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) open.get(i).close();
    }

    private Engine engine(String fixture, Consumer<EngineOptions.Builder> options) {
        Backend backend = driven(load(ReferenceCases.load(fixture).modelDir()));
        open.add(backend);
        Engine engine = new Engine(backend, EngineOptions.create(options), TextStream.Factory.NONE, SamplerFactory.DEFAULT);
        open.add(engine);
        return engine;
    }

    private static GenerationRequest greedy(String id, int[] prompt, int maxTokens) {
        return GenerationRequest.of(id, prompt,
                new SamplingParams(0, 1, 0, 0, 1, 0, 0, null, maxTokens, List.of(), true, -1));
    }

    @ParameterizedTest
    @ValueSource(strings = {"glm-tiny", "glm4-tiny"})
    void eachSequenceAloneMatchesTheReference(String fixture) throws Exception {
        Engine engine = engine(fixture, o -> {
            o.blockSize = 4;
            o.numKvBlocks = 256; // not the backend's default of a quarter of RAM: allocating that takes seconds
        });
        for (ReferenceCases.Case c : ReferenceCases.load(fixture).cases()) {
            Collector out = new Collector();
            engine.submit(greedy("alone", c.inputIds(), N), out);
            assertThat(out.await().reason()).isEqualTo(FinishReason.LENGTH);
            assertThat(out.ids()).as(c.text()).containsExactly(c.greedyIds());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"glm-tiny", "glm4-tiny"})
    void batchedWithJoiningLeavingChunkingAndPreemptionMatchesTheReference(String fixture) throws Exception {
        List<ReferenceCases.Case> cases = ReferenceCases.load(fixture).cases();
        int needed = cases.stream().mapToInt(c -> (c.inputIds().length + N + 3) / 4).sum();
        // A third of the blocks all sequences need at once, and 20 tokens per step: prompts are chunked,
        // sequences are preempted and recomputed.
        Backend djl = load(ReferenceCases.load(fixture).modelDir());
        open.add(djl);
        GatedBackend backend = new GatedBackend(djl);
        Engine engine = new Engine(driven(backend), EngineOptions.create(o -> {
            o.blockSize = 4;
            o.numKvBlocks = Math.max(needed / 3, 30);
            o.maxNumBatchedTokens = 20;
        }), TextStream.Factory.NONE, SamplerFactory.DEFAULT);
        open.add(engine);
        int half = cases.size() / 2;
        List<Collector> outs = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) outs.add(i == 0 ? null : new Collector());
        // Different lengths: some stop early and leave while others run.
        java.util.function.IntFunction<GenerationRequest> request =
                i -> greedy("r" + i, cases.get(i).inputIds(), i % 2 == 0 ? N : N / 2);
        // The second half joins from the engine thread once the first sequence decodes: mid-flight, always.
        outs.set(0, new Collector(n -> {
            if (n != 5) return;
            for (int i = half; i < cases.size(); i++) {
                try {
                    engine.submit(request.apply(i), outs.get(i));
                } catch (RequestRejectedException e) {
                    throw new IllegalStateException(e);
                }
            }
        }));
        for (int i = 0; i < half; i++) engine.submit(request.apply(i), outs.get(i));
        backend.open();
        for (int i = 0; i < cases.size(); i++) {
            assertThat(outs.get(i).await().reason()).isEqualTo(FinishReason.LENGTH);
            int n = i % 2 == 0 ? N : N / 2;
            assertThat(outs.get(i).ids()).as(cases.get(i).text()).containsExactly(Arrays.copyOf(cases.get(i).greedyIds(), n));
        }
        assertThat(engine.stats().preemptions()).as("preemptions").isPositive();
    }

    @ParameterizedTest
    @ValueSource(strings = {"glm-tiny", "glm4-tiny"})
    void prefixCacheHitsReproduceTheSameTokens(String fixture) throws Exception {
        Engine engine = engine(fixture, o -> {
            o.blockSize = 4;
            o.numKvBlocks = 256; // not the backend's default of a quarter of RAM: allocating that takes seconds
        });
        ReferenceCases.Case c = ReferenceCases.load(fixture).cases().stream()
                .max((a, b) -> Integer.compare(a.inputIds().length, b.inputIds().length)).orElseThrow();
        Collector first = new Collector();
        engine.submit(greedy("first", c.inputIds(), N), first);
        first.await();

        Collector again = new Collector();
        engine.submit(greedy("again", c.inputIds(), N), again);
        again.await();
        assertThat(engine.stats().prefixHitTokens()).isEqualTo((c.inputIds().length - 1) / 4 * 4L);
        assertThat(again.ids()).containsExactly(c.greedyIds());

        // A follow-up turn: the prompt plus the first 10 generated tokens continues with the other 14.
        int[] turn = IntStream.concat(Arrays.stream(c.inputIds()), Arrays.stream(c.greedyIds(), 0, 10)).toArray();
        Collector next = new Collector();
        long hitsBefore = engine.stats().prefixHitTokens();
        engine.submit(greedy("turn", turn, N - 10), next);
        next.await();
        assertThat(engine.stats().prefixHitTokens() - hitsBefore).isEqualTo((turn.length - 1) / 4 * 4L);
        assertThat(next.ids()).containsExactly(Arrays.copyOfRange(c.greedyIds(), 10, N));
    }

    @ParameterizedTest
    @ValueSource(strings = {"glm-tiny"})
    void textIsDetokenizedAndCutAtAStopString(String fixture) throws Exception {
        ReferenceCases.Case c = ReferenceCases.load(fixture).cases().get(0);
        GlmTokenizer tokenizer = GlmTokenizer.load(ReferenceCases.load(fixture).modelDir());
        open.add(tokenizer);
        Backend backend = driven(load(ReferenceCases.load(fixture).modelDir()));
        open.add(backend);
        Engine engine = new Engine(backend, EngineOptions.create(o -> o.numKvBlocks = 64), tokenizer);
        open.add(engine);

        String full = tokenizer.decode(c.greedyIds(), true);
        Collector plain = new Collector();
        engine.submit(greedy("plain", c.inputIds(), N), plain);
        assertThat(plain.await().reason()).isEqualTo(FinishReason.LENGTH);
        assertThat(plain.text.toString()).isEqualTo(full);

        // A stop string taken from the middle of the output: the text ends right before it.
        int at = full.length() / 2;
        String stop = full.substring(at, Math.min(full.length(), at + 3));
        String expected = full.substring(0, full.indexOf(stop));
        Collector stopped = new Collector();
        SamplingParams params = new SamplingParams(0, 1, 0, 0, 1, 0, 0, null, N, List.of(stop), true, 2);
        engine.submit(GenerationRequest.of("stop", c.inputIds(), params), stopped);
        assertThat(stopped.await().reason()).isEqualTo(FinishReason.STOP);
        assertThat(stopped.text.toString()).isEqualTo(expected);
        assertThat(stopped.logprobs).isNotEmpty().allSatisfy(lp -> assertThat(lp.topIds()).hasSize(2));
    }

    @ParameterizedTest
    @ValueSource(strings = {"glm-tiny"})
    void seededSamplingIsTheSameAloneAndInABatchOfOtherParameters(String fixture) throws Exception {
        Engine engine = engine(fixture, o -> {
            o.blockSize = 4;
            o.numKvBlocks = 256;
        });
        List<ReferenceCases.Case> cases = ReferenceCases.load(fixture).cases();
        SamplingParams seeded = new SamplingParams(0.9, 0.9, 50, 0, 1.1, 0, 0, 1234L, N, List.of(), true, -1);
        Collector alone = new Collector();
        engine.submit(GenerationRequest.of("alone", cases.get(1).inputIds(), seeded), alone);
        alone.await();

        List<Collector> mates = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            Collector out = new Collector();
            mates.add(out);
            SamplingParams p = i == 1 ? seeded
                    : new SamplingParams(1.2, 0.8, 0, 0.05, 1, 0.5, 0.5, (long) i, N, List.of(), true, -1);
            engine.submit(GenerationRequest.of("batch" + i, cases.get(i).inputIds(), p), out);
        }
        for (Collector m : mates) m.await();
        assertThat(mates.get(1).ids()).containsExactly(alone.ids());
    }
}
