package org.autoglm.node.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.autoglm.node.engine.ReferenceCases;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code serve} on the glm-tiny reference checkpoint with the real engine, driven by the official OpenAI Java
 * SDK: chat and completions, streaming and not, stop strings, n > 1, sessions over several turns, and a
 * client that disconnects mid-stream (its engine slot must be freed).
 */
class OpenAiClientTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static ServeCommand.RunningNode node;
    static OpenAIClient client;
    static String base;
    static JsonNode reference;

    @BeforeAll
    static void start() throws Exception {
        Path fixtures = ReferenceCases.fixturesDir();
        Path model = fixtures.resolve("glm-tiny");
        reference = JSON.readTree(Files.readString(fixtures.resolve("glm-tiny.reference.json")));
        CommandLine cli = new CommandLine(new ServeCommand());
        // DJL, not the CPU backend auto now picks: the disconnect test needs a generation that outlasts the client's
        // disconnect, and the CPU backend runs glm-tiny's 480 tokens in well under a tenth of a second.
        cli.parseArgs("--model", model.toString(), "--port", "0", "--num-kv-blocks", "512", "--block-size", "4",
                "--backend", "djl");
        node = ((ServeCommand) cli.getCommand()).start();
        await().atMost(Duration.ofSeconds(120)).until(() -> node.state().isReady() || node.state().notReadyReason().startsWith("model failed"));
        assertThat(node.state().notReadyReason()).isNull();
        base = "http://127.0.0.1:" + node.port();
        client = OpenAIOkHttpClient.builder().baseUrl(base + "/v1").apiKey("unused").maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        if (node != null) {
            node.close();
        }
    }

    static JsonNode referenceCase(String text) {
        for (JsonNode c : reference.get("cases")) {
            if (c.get("text").asText().equals(text)) {
                return c;
            }
        }
        throw new AssertionError("no reference case " + text);
    }

    /** The reference's greedy text up to its first special token or replacement character. */
    static String plainPrefix(String greedyText) {
        int cut = greedyText.length();
        for (String marker : List.of("<|", "[gMASK]", "<sop>", "\uFFFD")) {
            int i = greedyText.indexOf(marker);
            if (i >= 0) {
                cut = Math.min(cut, i);
            }
        }
        return greedyText.substring(0, cut);
    }

    @Test
    void greedyCompletionReproducesTheReferenceTokens() {
        JsonNode c = referenceCase("The quick brown fox jumps over the lazy dog.");
        Completion out = client.completions().create(CompletionCreateParams.builder().model("glm-tiny")
                .prompt(c.get("text").asText()).maxTokens(24).temperature(0.0)
                .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true)).build());
        String text = out.choices().get(0).text();
        String expected = plainPrefix(c.get("greedy_text").asText());
        assertThat(expected).hasSizeGreaterThan(5);
        assertThat(text).startsWith(expected);
        assertThat(out.usage().orElseThrow().promptTokens()).isEqualTo(c.get("input_ids").size());
        assertThat(out.usage().orElseThrow().completionTokens()).isEqualTo(24);
        assertThat(out.choices().get(0).finishReason().asString()).isEqualTo("length");
    }

    /**
     * logit_bias through the official SDK, the queue path and the real engine: +100 on one token makes the greedy
     * output that token again and again; -100 on the reference's first greedy token makes the output start elsewhere.
     */
    @Test
    void logitBiasSteersTheRealEngine() {
        JsonNode c = referenceCase("The quick brown fox jumps over the lazy dog.");
        int forced = c.get("greedy_ids").get(4).asInt();
        Completion out = client.completions().create(CompletionCreateParams.builder().model("glm-tiny")
                .prompt(c.get("text").asText()).maxTokens(3).temperature(0.0)
                .logitBias(CompletionCreateParams.LogitBias.builder()
                        .putAdditionalProperty(Integer.toString(forced), JsonValue.from(100)).build())
                .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true)).build());
        try (var tokenizer = org.autoglm.models.tokenizer.GlmTokenizer.load(ReferenceCases.fixturesDir()
                .resolve("glm-tiny"))) {
            assertThat(out.choices().get(0).text()).isEqualTo(tokenizer.decode(new int[] {forced, forced, forced}, true));
            int first = c.get("greedy_ids").get(0).asInt();
            Completion banned = client.completions().create(CompletionCreateParams.builder().model("glm-tiny")
                    .prompt(c.get("text").asText()).maxTokens(1).temperature(0.0)
                    .logitBias(CompletionCreateParams.LogitBias.builder()
                            .putAdditionalProperty(Integer.toString(first), JsonValue.from(-100)).build())
                    .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true)).build());
            assertThat(banned.choices().get(0).text()).isNotEqualTo(tokenizer.decode(new int[] {first}, true));
        }
    }

    @Test
    void chatUsesTheCheckpointTemplate_streamedEqualsNonStreamed() {
        JsonNode chatCase = null;
        for (JsonNode c : reference.get("cases")) {
            if (c.get("kind").asText().equals("chat")) {
                chatCase = c;
                break;
            }
        }
        ChatCompletionCreateParams.Builder b = ChatCompletionCreateParams.builder().model("glm-tiny")
                .maxCompletionTokens(16).temperature(0.0);
        JsonNode messages = reference.get("chat_messages").get(0);
        for (JsonNode m : messages) {
            switch (m.get("role").asText()) {
                case "system" -> b.addSystemMessage(m.get("content").asText());
                case "assistant" -> b.addAssistantMessage(m.get("content").asText());
                default -> b.addUserMessage(m.get("content").asText());
            }
        }
        ChatCompletionCreateParams params = b.putAdditionalBodyProperty("ignore_eos", JsonValue.from(true)).build();
        ChatCompletion whole = client.chat().completions().create(params);
        assertThat(whole.usage().orElseThrow().promptTokens()).isEqualTo(chatCase.get("input_ids").size());
        assertThat(whole.usage().orElseThrow().completionTokens()).isEqualTo(16);
        String text = whole.choices().get(0).message().content().orElseThrow();
        assertThat(text).startsWith(plainPrefix(chatCase.get("greedy_text").asText()));
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(params)) {
            String streamed = s.stream().flatMap(k -> k.choices().stream())
                    .map(ch -> ch.delta().content().orElse("")).collect(Collectors.joining());
            assertThat(streamed).isEqualTo(text);
        }
    }

    @Test
    void stopStringsCutTheOutputAndDoNotLeak() {
        CompletionCreateParams.Builder b = CompletionCreateParams.builder().model("glm-tiny").prompt("x")
                .maxTokens(24).temperature(0.0).putAdditionalBodyProperty("ignore_eos", JsonValue.from(true));
        String full = client.completions().create(b.build()).choices().get(0).text();
        String plain = plainPrefix(full);
        assertThat(plain).isNotEmpty();
        String stop = full.substring(1, Math.min(3, full.length()));
        int at = full.indexOf(stop);
        Completion cut = client.completions().create(b.stop(stop).build());
        assertThat(cut.choices().get(0).text()).isEqualTo(full.substring(0, at));
        assertThat(cut.choices().get(0).finishReason().asString()).isEqualTo("stop");
        try (StreamResponse<Completion> s = client.withOptions(o -> o.responseValidation(false)).completions()
                .createStreaming(b.stop(stop).build())) {
            assertThat(s.stream().map(k -> k.choices().get(0).text()).collect(Collectors.joining()))
                    .isEqualTo(full.substring(0, at));
        }
    }

    @Test
    void nChoicesAreSampledSeparately() {
        ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder().model("glm-tiny")
                .addUserMessage("Hello").n(3).temperature(1.0).seed(42).maxCompletionTokens(12)
                .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true)).build());
        assertThat(c.choices()).hasSize(3);
        assertThat(c.choices().stream().map(ch -> ch.index()).toList()).containsExactly(0L, 1L, 2L);
        assertThat(c.usage().orElseThrow().completionTokens()).isEqualTo(36);
        assertThat(c.choices().stream().map(ch -> ch.message().content().orElse("")).distinct().count()).isGreaterThan(1);
    }

    @Test
    void sessionCarriesTheConversationOverSeveralTurns() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        String id = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(base + "/v1/sessions"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"system_prompt\":\"You are a helpful assistant.\"}")).build(),
                HttpResponse.BodyHandlers.ofString()).body()).get("id").asText();
        long previousPrompt = 0;
        for (String turn : List.of("Hello, who are you?", "Tell me more.", "Thanks!")) {
            ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder()
                    .model("glm-tiny").addUserMessage(turn).maxCompletionTokens(8).temperature(0.0)
                    .putAdditionalBodyProperty("session_id", JsonValue.from(id)).build());
            long prompt = c.usage().orElseThrow().promptTokens();
            assertThat(prompt).isGreaterThan(previousPrompt); // the history rides along
            previousPrompt = prompt;
        }
        JsonNode session = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(base + "/v1/sessions/" + id)).build(),
                HttpResponse.BodyHandlers.ofString()).body());
        assertThat(session.get("messages")).hasSize(6);
        assertThat(session.at("/messages/4/content").asText()).isEqualTo("Thanks!");
        assertThat(session.get("token_count").asLong()).isEqualTo(previousPrompt);
    }

    @Test
    void disconnectingMidStreamFreesTheEngineSlot() throws Exception {
        double cancelledBefore = metric("autoglm:request_success_total\\{finished_reason=\"cancelled\",model_name=\"glm-tiny\"\\}");
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model("glm-tiny").addUserMessage("go")
                .maxCompletionTokens(480).temperature(0.0).putAdditionalBodyProperty("ignore_eos", JsonValue.from(true)).build();
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(params)) {
            Iterator<ChatCompletionChunk> it = s.stream().iterator();
            it.next();
            it.next();
            assertThat(metric("autoglm:num_requests_running\\{model_name=\"glm-tiny\"\\}")).isEqualTo(1);
        }
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            assertThat(metric("autoglm:num_requests_running\\{model_name=\"glm-tiny\"\\}")).isZero();
            assertThat(metric("autoglm:request_success_total\\{finished_reason=\"cancelled\",model_name=\"glm-tiny\"\\}"))
                    .isGreaterThan(cancelledBefore);
        });
    }

    @Test
    void extremeButWellTypedParametersNeverHurtTheEngine() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        java.util.Random rnd = new java.util.Random(7);
        // Every value is in range, at its edge: these all reach the engine.
        java.util.Map<String, String[]> extremes = java.util.Map.of(
                "temperature", new String[] {"0", "1e-30", "2"},
                "top_p", new String[] {"1e-9", "1"},
                "top_k", new String[] {"-1", "1", "2147483647"},
                "min_p", new String[] {"0", "1"},
                "repetition_penalty", new String[] {"0.01", "10"},
                "presence_penalty", new String[] {"-2", "2"},
                "frequency_penalty", new String[] {"-2", "2"},
                "seed", new String[] {"0", "-1", "9223372036854775807"},
                "priority", new String[] {"-1000000", "1000000"},
                "logprobs", new String[] {"0", "20"});
        List<String> fields = extremes.keySet().stream().sorted().toList(); // fixed order: reproducible
        int ok = 0;
        for (int i = 0; i < 40; i++) {
            StringBuilder body = new StringBuilder("{\"prompt\":");
            body.append(switch (rnd.nextInt(4)) {
                case 0 -> "\"" + "\u4f60\u597d".repeat(rnd.nextInt(3)) + "x\"";
                case 1 -> "[0, 609, 608, 600]";
                case 2 -> "[\"a\", \"" + "b".repeat(rnd.nextInt(200)) + "\"]";
                default -> "\"\\u0000 \\ud83d\\ude00 <|user|> [gMASK]\"";
            });
            body.append(",\"max_tokens\":").append(1 + rnd.nextInt(3)).append(",\"n\":").append(1 + rnd.nextInt(3));
            for (String field : fields) {
                if (rnd.nextInt(3) == 0) {
                    String[] v = extremes.get(field);
                    body.append(",\"").append(field).append("\":").append(v[rnd.nextInt(v.length)]);
                }
            }
            if (rnd.nextBoolean()) {
                body.append(",\"stop\":[\"").append("a".repeat(rnd.nextInt(3))).append("x\",\"\\n\"]");
            }
            body.append(",\"stream\":").append(rnd.nextBoolean()).append("}");
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(body + " -> " + r.body()).isLessThan(500);
            assertThat(r.body()).as(body.toString()).doesNotContain("\"finish_reason\":\"error\"");
            assertThat(r.body()).as(body.toString()).doesNotContain("\"error\":{\"message\":\"Generation failed");
            if (r.statusCode() == 200) {
                ok++;
            }
        }
        assertThat(ok).isEqualTo(40); // every value was in range: all are served
        Completion after = client.completions().create(CompletionCreateParams.builder().model("glm-tiny").prompt("x")
                .maxTokens(2).build());
        assertThat(after.choices()).hasSize(1);
    }

    static double metric(String pattern) throws Exception {
        String text = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = Pattern.compile("(?m)^" + pattern + " (\\S+)$").matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }
}
