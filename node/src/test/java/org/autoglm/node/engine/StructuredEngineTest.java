package org.autoglm.node.engine;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.autoglm.models.djl.DjlBackend;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.models.structured.OutputConstraint;
import org.autoglm.models.tokenizer.GlmTokenizer;
import org.autoglm.node.engine.grammar.StructuredOutput;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The engine under an output grammar, on the random-weight glm4-tiny with the DJL backend: every output validates,
 * forced text is appended without a forward step per token (jump-forward), the grammar state survives preemption,
 * and a request resumed after failover replays the delivered tokens into its grammar and continues exactly.
 */
class StructuredEngineTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SCHEMA = "{\"type\":\"object\",\"properties\":{"
            + "\"answer\":{\"enum\":[\"yes\",\"no\",\"perhaps\"]},\"count\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":99},"
            + "\"tags\":{\"type\":\"array\",\"items\":{\"enum\":[\"a\",\"bb\"]},\"maxItems\":3}},"
            + "\"required\":[\"answer\",\"count\",\"tags\"],\"additionalProperties\":false}";
    private static final OutputConstraint CONSTRAINT = OutputConstraint.of(OutputConstraint.Kind.JSON_SCHEMA, SCHEMA);
    private static final JsonSchema VALIDATOR = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(SCHEMA);

    private static GlmTokenizer tokenizer;
    private static DjlBackend backend;
    private static StructuredOutput structured;
    private static final AtomicLong steps = new AtomicLong();

    @BeforeAll
    static void start() {
        ReferenceCases fixture = ReferenceCases.load("glm4-tiny");
        tokenizer = GlmTokenizer.load(fixture.modelDir());
        backend = DjlBackend.load(fixture.modelDir());
        structured = StructuredOutput.forModel(fixture.modelDir(), tokenizer, backend.config().eosTokenIds(),
                backend.config().vocabSize());
    }

    @AfterAll
    static void stop() {
        structured.close();
        backend.close();
        tokenizer.close();
    }

    private static Engine engine(int kvBlocks) {
        Engine engine = new Engine(backend, EngineOptions.create(o -> {
            o.numKvBlocks = kvBlocks;
            o.blockSize = 4;
        }), tokenizer, structured);
        engine.stats().addObserver(new EngineStats.Observer() {
            @Override
            public void step(long nanos, int numSequences, int numTokens) {
                steps.incrementAndGet();
            }
        });
        return engine;
    }

    private static GenerationRequest request(String id, int[] prompt, int[] resumed, SamplingParams params) {
        return new GenerationRequest(id, prompt, params, 0, null, null, List.of(), null, null, resumed)
                .withConstraint(CONSTRAINT);
    }

    private static SamplingParams sampled(long seed, int maxTokens) {
        return new SamplingParams(1.0, 1, 0, 0, 1, 0, 0, seed, maxTokens, List.of(), false, -1);
    }

    @Test
    void everyOutputValidatesAndForcedTextTakesNoForwardStepOfItsOwn() throws Exception {
        try (Engine engine = engine(256)) {
            int[] prompt = tokenizer.encode("Answer in JSON:");
            for (int seed = 0; seed < 6; seed++) {
                Collector c = new Collector();
                long before = steps.get();
                engine.submit(request("s" + seed, prompt, new int[0], sampled(seed, 80)), c);
                Completion done = c.await();
                long used = steps.get() - before;
                assertThat(done.reason()).as(c.text.toString()).isEqualTo(FinishReason.STOP);
                assertThat(VALIDATOR.validate(JSON.readTree(c.text.toString()))).as(c.text.toString()).isEmpty();
                // {"answer":" ... ","count": ... ,"tags":[ ... ]} : the keys and punctuation are forced
                assertThat(used).as("steps for %d tokens of %s", c.tokens.size(), c.text).isLessThan(c.tokens.size());
            }
        }
    }

    @Test
    void theGrammarSurvivesPreemption() throws Exception {
        try (Engine engine = engine(24)) { // 96 token slots for 8 sequences of ~30: some are preempted and recomputed
            int[] prompt = tokenizer.encode("JSON please:");
            List<Collector> out = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                Collector c = new Collector();
                engine.submit(request("p" + i, prompt, new int[0], sampled(100 + i, 60)), c);
                out.add(c);
            }
            for (Collector c : out) {
                Completion done = c.await();
                if (done.reason() == FinishReason.STOP) {
                    assertThat(VALIDATOR.validate(JSON.readTree(c.text.toString()))).as(c.text.toString()).isEmpty();
                }
                assertThat(done.reason()).isIn(FinishReason.STOP, FinishReason.LENGTH);
            }
            assertThat(engine.stats().preemptions()).isPositive();
        }
    }

    /**
     * A cut inside forced text re-tokenizes the rest of it, so the tokens after a resume may differ from an
     * uninterrupted run's; what the client sees must still be one output that the grammar accepts.
     */
    @Test
    void aResumedRequestReplaysItsOutputIntoTheGrammarAndTheJoinedTextValidates() throws Exception {
        try (Engine engine = engine(256)) {
            int[] prompt = tokenizer.encode("Give JSON:");
            SamplingParams greedy = new SamplingParams(0, 1, 0, 0, 1, 0, 0, null, 60, List.of(), false, -1);
            Collector whole = new Collector();
            engine.submit(request("whole", prompt, new int[0], greedy), whole);
            assertThat(whole.await().reason()).isEqualTo(FinishReason.STOP);
            int[] ids = whole.ids();
            for (int k = 1; k < ids.length - 1; k += 3) {
                int[] delivered = Arrays.copyOf(ids, k);
                int[] resumedPrompt = IntStream.concat(Arrays.stream(prompt), Arrays.stream(delivered)).toArray();
                Collector rest = new Collector();
                engine.submit(request("resume-" + k, resumedPrompt, delivered, greedy.withMaxTokens(60 - k)), rest);
                assertThat(rest.await().reason()).isEqualTo(FinishReason.STOP);
                String joined = tokenizer.decode(delivered, true) + rest.text;
                assertThat(VALIDATOR.validate(JSON.readTree(joined))).as("resumed after %d tokens: %s", k, joined).isEmpty();
            }
        }
    }
}
