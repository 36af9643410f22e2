package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.autoglm.models.chat.ChatTemplate;
import org.autoglm.models.tokenizer.GlmTokenizer;
import org.autoglm.node.engine.ReferenceCases;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Input far beyond the context, with the real (native) tokenizer of glm-tiny (context 512): a multi-megabyte prompt
 * is refused after counting about a context's worth of tokens, not after tokenizing all of it, and a session whose
 * system prompt can never fit is refused when it is created.
 */
class OversizedInputTest {

    static final int CONTEXT = 512;
    static GlmTokenizer tokenizer;
    static ScriptedServer api;
    static Http http;

    @BeforeAll
    static void start() {
        Path dir = ReferenceCases.fixturesDir().resolve("glm-tiny");
        tokenizer = GlmTokenizer.load(dir);
        api = ScriptedServer.start(new CheckpointModel("m", CONTEXT, 1 << 20, tokenizer, ChatTemplate.load(dir)),
                c -> c.maxRequestBytes = 8L << 20);
        api.engine.script = r -> List.of("a");
        http = api.http;
    }

    @AfterAll
    static void stop() {
        api.close();
        tokenizer.close();
    }

    /** About {@code bytes} of ordinary words. */
    static String words(int bytes, int seed) {
        StringBuilder b = new StringBuilder(bytes + 16);
        String[] pool = {"the", "grid", "node", "token", "cache", "leader", "quorum", "session", "stream", "batch"};
        for (int i = seed; b.length() < bytes; i++) {
            b.append(pool[(i * 7 + seed) % pool.length]).append(i % 13 == 0 ? ".\n" : " ");
        }
        return b.toString();
    }

    @Test
    void concurrentMultiMegabytePrompts_are400AfterCountingAboutAContext() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<long[]>> calls = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                int seed = i;
                boolean chat = i % 2 == 0;
                calls.add(pool.submit(() -> {
                    String text = words(3 << 20, seed);
                    String body = chat
                            ? "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"" + text + "\"}]}"
                            : "{\"model\":\"m\",\"prompt\":\"" + text + "\"}";
                    long t0 = System.nanoTime();
                    Http.Response r = http.post(chat ? "/v1/chat/completions" : "/v1/completions",
                            body.replace("\n", "\\n"));
                    long millis = (System.nanoTime() - t0) / 1_000_000;
                    assertThat(r.status()).as(r.body()).isEqualTo(400);
                    // "more than": counting stopped near the context; the whole text was never tokenized.
                    assertThat(r.json().at("/error/message").asText()).contains("more than " + (CONTEXT - 1) + " tokens");
                    assertThat(r.json().at("/error/param").asText()).isEqualTo(chat ? "messages" : "prompt");
                    return new long[] {millis};
                }));
            }
            List<Long> millis = new ArrayList<>();
            for (Future<long[]> f : calls) {
                millis.add(f.get()[0]);
            }
            System.out.println("time to the 400 of four concurrent 3 MiB prompts (ms): " + millis);
        } finally {
            pool.shutdownNow();
        }
        // A prompt that fits is still served.
        assertThat(http.post("/v1/completions", "{\"model\":\"m\",\"prompt\":\"" + words(200, 1).replace("\n", "\\n")
                + "\",\"max_tokens\":1}").status()).isEqualTo(200);
    }

    @Test
    void countingInPiecesAgreesWithTheWholeText() {
        for (int size : new int[] {100, 20_000, 70_000}) {
            String text = words(size, 3);
            int exact = tokenizer.encode(text).length;
            assertThat(tokenizer.exceeds(text, exact)).as("%d chars, %d tokens", size, exact).isFalse();
            assertThat(tokenizer.exceeds(text, exact - 2)).as("%d chars, %d tokens", size, exact).isTrue();
        }
    }

    @Test
    void aSystemPromptThatCanNeverFit_is400AtCreation() {
        Http.Response r = http.post("/v1/sessions", "{\"system_prompt\":\"" + words(1 << 20, 2).replace("\n", "\\n") + "\"}");
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.json().at("/error/param").asText()).isEqualTo("system_prompt");
        assertThat(r.json().at("/error/message").asText()).contains("more than").contains("context of " + CONTEXT);
        assertThat(http.post("/v1/sessions", "{\"system_prompt\":\"be brief\"}").status()).isEqualTo(200);
    }
}
