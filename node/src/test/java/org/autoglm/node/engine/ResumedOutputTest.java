package org.autoglm.node.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.autoglm.models.djl.DjlBackend;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.models.tokenizer.GlmTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A request restarted on another node after failover ({@link GenerationRequest#resumedOutput()}) continues the
 * client's text exactly where the first node left it, even when that node held back half a UTF-8 character or
 * the start of a possible stop string.
 */
class ResumedOutputTest {

    private static final int N = 24;
    private static GlmTokenizer tokenizer;
    private static DjlBackend backend;
    private static Engine engine;

    @BeforeAll
    static void start() {
        ReferenceCases fixture = ReferenceCases.load("glm-tiny");
        tokenizer = GlmTokenizer.load(fixture.modelDir());
        backend = DjlBackend.load(fixture.modelDir());
        engine = new Engine(backend, EngineOptions.create(o -> o.numKvBlocks = 256), tokenizer);
    }

    @AfterAll
    static void stop() {
        engine.close();
        backend.close();
        tokenizer.close();
    }

    @Test
    void aRestartAfterAnyTokenStreamsTheSameTextAsAnUninterruptedRun() throws Exception {
        for (ReferenceCases.Case c : ReferenceCases.load("glm-tiny").cases().subList(0, 3)) { // ASCII, code, Chinese
            // The uninterrupted run, with the text the client had after each token.
            List<Integer> textLengthAfter = new ArrayList<>();
            Collector[] holder = new Collector[1];
            holder[0] = new Collector(n -> textLengthAfter.add(holder[0].text.length()));
            engine.submit(request("whole-" + c.hashCode(), c.inputIds(), new int[0], N), holder[0]);
            holder[0].await();
            String whole = holder[0].text.toString();
            assertThat(holder[0].ids()).containsExactly(c.greedyIds());

            for (int k = 1; k < N; k++) {
                int[] delivered = Arrays.copyOf(c.greedyIds(), k);
                int[] prompt = IntStream.concat(Arrays.stream(c.inputIds()), Arrays.stream(delivered)).toArray();
                Collector rest = new Collector();
                engine.submit(request("resume-" + k + "-" + c.hashCode(), prompt, delivered, N - k), rest);
                rest.await();
                String clientText = whole.substring(0, textLengthAfter.get(k - 1)) + rest.text;
                assertThat(clientText).as("restart after %d tokens of '%s'", k, c.text()).isEqualTo(whole);
                assertThat(rest.ids()).containsExactly(Arrays.copyOfRange(c.greedyIds(), k, N));
            }
        }
    }

    private static GenerationRequest request(String id, int[] prompt, int[] resumed, int maxTokens) {
        SamplingParams greedy = new SamplingParams(0, 1, 0, 0, 1, 0, 0, null, maxTokens, List.of(), true, -1);
        return new GenerationRequest(id, prompt, greedy, 0, null, null, List.of(), null, null, resumed);
    }
}
