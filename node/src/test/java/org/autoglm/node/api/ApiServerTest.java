package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.opentelemetry.sdk.trace.data.SpanData;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.autoglm.node.engine.RequestRejectedException;
import org.autoglm.node.telemetry.Telemetry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The HTTP layer over real HTTP, against a scripted engine (the real engine is tested in OpenAiClientTest). */
class ApiServerTest {

    static final ScriptedEngine engine = new ScriptedEngine();
    static final CharModel model = new CharModel("test-model", 512);
    static final SpanCollector spans = new SpanCollector();
    static ServingState state;
    static Telemetry telemetry;
    static ApiServer server;
    static Http http;

    @BeforeAll
    static void start() {
        state = new ServingState();
        telemetry = new Telemetry(model.name(), state::load, null, spans);
        server = ApiServer.create(c -> {
            c.port = 0;
            c.maxRequestBytes = 64 * 1024;
            c.sseKeepAlive = Duration.ofMillis(100);
            c.requestTimeout = Duration.ofMinutes(10);
            c.state = state;
            c.telemetry = telemetry;
        }).start();
        state.ready(new ServingState.Loaded(model, engine, engine));
        http = new Http(server.port());
    }

    @AfterAll
    static void stop() {
        server.close();
        telemetry.close();
        engine.shutdown();
    }

    @BeforeEach
    void defaultScript() {
        engine.script = r -> List.of("Hello", " world", "!");
        engine.firstTokenDelayMillis = 0;
    }

    @Test
    void chatAnswersWithMessageAndUsage() {
        Http.Response r = http.post("/v1/chat/completions", """
                {"model":"test-model","messages":[{"role":"user","content":"hi"}]}""");
        assertThat(r.status()).isEqualTo(200);
        JsonNode j = r.json();
        assertThat(j.get("object").asText()).isEqualTo("chat.completion");
        assertThat(j.at("/choices/0/message/content").asText()).isEqualTo("Hello world!");
        assertThat(j.at("/choices/0/message/role").asText()).isEqualTo("assistant");
        assertThat(j.at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        int promptLen = model.encodeChat(List.of(new org.autoglm.node.session.Message("user", "hi"))).length;
        assertThat(j.at("/usage/prompt_tokens").asInt()).isEqualTo(promptLen);
        assertThat(j.at("/usage/completion_tokens").asInt()).isEqualTo(3);
        assertThat(j.at("/usage/total_tokens").asInt()).isEqualTo(promptLen + 3);
        // Unspecified max_tokens fills the context.
        assertThat(engine.lastRequest.params().maxTokens()).isEqualTo(512 - promptLen);
    }

    @Test
    void chatStreamsChunksThenUsageThenDone() {
        Http.Response r = http.post("/v1/chat/completions", """
                {"messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}""");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        List<String> events = r.events();
        assertThat(events.get(events.size() - 1)).isEqualTo("[DONE]");
        List<JsonNode> chunks = events.subList(0, events.size() - 1).stream().map(ApiServerTest::json).toList();
        assertThat(chunks.get(0).at("/choices/0/delta/role").asText()).isEqualTo("assistant");
        String text = chunks.stream().map(c -> c.at("/choices/0/delta/content").asText("")).collect(Collectors.joining());
        assertThat(text).isEqualTo("Hello world!");
        JsonNode finish = chunks.get(chunks.size() - 2);
        assertThat(finish.at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        JsonNode usage = chunks.get(chunks.size() - 1);
        assertThat(usage.get("choices")).isEmpty();
        assertThat(usage.at("/usage/completion_tokens").asInt()).isEqualTo(3);
        assertThat(chunks).allSatisfy(c -> assertThat(c.get("object").asText()).isEqualTo("chat.completion.chunk"));
    }

    @Test
    void completionsTakeSeveralPromptsAndN() {
        int before = engine.submitted();
        Http.Response r = http.post("/v1/completions", """
                {"prompt":["ab",[1,2,3]],"n":2,"max_tokens":2,"seed":7,"temperature":0.8}""");
        assertThat(r.status()).isEqualTo(200);
        JsonNode choices = r.json().get("choices");
        assertThat(choices).hasSize(4);
        for (int i = 0; i < 4; i++) {
            assertThat(choices.get(i).get("index").asInt()).isEqualTo(i);
            assertThat(choices.get(i).get("text").asText()).isEqualTo("Hello world");
            assertThat(choices.get(i).get("finish_reason").asText()).isEqualTo("length");
        }
        assertThat(engine.submitted() - before).isEqualTo(4);
        List<Long> seeds = engine.requests.subList(engine.requests.size() - 4, engine.requests.size()).stream()
                .map(g -> g.params().seed()).toList();
        assertThat(seeds).containsExactly(7L, 8L, 7L, 8L);
        assertThat(r.json().at("/usage/prompt_tokens").asInt()).isEqualTo(2 + 3);
        assertThat(r.json().at("/usage/completion_tokens").asInt()).isEqualTo(8);
    }

    @Test
    void completionStreamCarriesEveryChoiceAndLogprobs() {
        Http.Response r = http.post("/v1/completions", """
                {"prompt":"ab","n":2,"stream":true,"logprobs":1}""");
        List<JsonNode> chunks = r.events().stream().filter(e -> !e.equals("[DONE]")).map(ApiServerTest::json).toList();
        for (int choice = 0; choice < 2; choice++) {
            int c = choice;
            String text = chunks.stream().filter(j -> j.at("/choices/0/index").asInt() == c)
                    .map(j -> j.at("/choices/0/text").asText("")).collect(Collectors.joining());
            assertThat(text).isEqualTo("Hello world!");
        }
        assertThat(chunks.get(0).at("/choices/0/logprobs/tokens/0").asText()).isEqualTo("t1");
        assertThat(chunks.get(0).at("/choices/0/logprobs/token_logprobs/0").asDouble()).isEqualTo(-0.5);
        assertThat(engine.lastRequest.params().logprobs()).isEqualTo(1);
    }

    @Test
    void samplingParametersReachTheEngine() {
        http.post("/v1/chat/completions", """
                {"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],
                 "max_completion_tokens":5,"temperature":0.5,"top_p":0.9,"top_k":40,"min_p":0.1,
                 "repetition_penalty":1.1,"presence_penalty":0.2,"frequency_penalty":-0.3,"stop":["x","y"],
                 "ignore_eos":true,"priority":3,"user":"u1","logprobs":true,"top_logprobs":2}""");
        var p = engine.lastRequest.params();
        assertThat(p.maxTokens()).isEqualTo(5);
        assertThat(p.temperature()).isEqualTo(0.5);
        assertThat(p.topP()).isEqualTo(0.9);
        assertThat(p.topK()).isEqualTo(40);
        assertThat(p.minP()).isEqualTo(0.1);
        assertThat(p.repetitionPenalty()).isEqualTo(1.1);
        assertThat(p.presencePenalty()).isEqualTo(0.2);
        assertThat(p.frequencyPenalty()).isEqualTo(-0.3);
        assertThat(p.stop()).containsExactly("x", "y");
        assertThat(p.ignoreEos()).isTrue();
        assertThat(p.logprobs()).isEqualTo(2);
        assertThat(engine.lastRequest.priority()).isEqualTo(3);
        assertThat(engine.lastRequest.deadline()).isBetween(java.time.Instant.now().plusSeconds(540),
                java.time.Instant.now().plusSeconds(600)); // --request-timeout
        assertThat(engine.lastRequest.promptIds()).isEqualTo(model.encodeChat(List.of(
                new org.autoglm.node.session.Message("system", "s"), new org.autoglm.node.session.Message("user", "ab"))));
    }

    @Test
    void invalidParametersAreNamed() {
        expectInvalid("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":\"hot\"}", "temperature");
        expectInvalid("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"top_p\":5}", "top_p");
        expectInvalid("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"n\":0}", "n");
        expectInvalid("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":1e30}", "max_tokens");
        expectInvalid("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":100000}", "max_tokens");
        expectInvalid("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stop\":[1]}", "stop");
        expectInvalid("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"seed\":1.5}", "seed");
        expectInvalid("{\"messages\":[{\"role\":\"pirate\",\"content\":\"hi\"}]}", "messages[0].role");
        expectInvalid("{\"messages\":[]}", "messages");
        expectInvalid("{}", "messages");
        Http.Response r = http.post("/v1/completions", "{\"prompt\":[1,2,100000]}");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.json().at("/error/param").asText()).isEqualTo("prompt");
    }

    private static void expectInvalid(String body, String param) {
        Http.Response r = http.post("/v1/chat/completions", body);
        assertThat(r.status()).as(body).isEqualTo(400);
        JsonNode e = r.json().get("error");
        assertThat(e.get("param").asText()).as(body).isEqualTo(param);
        assertThat(e.get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(e.get("message").asText()).contains(param.replaceAll("\\[.*", ""));
    }

    @Test
    void malformedBodiesAndUnknownThingsGetOpenAiErrors() {
        Http.Response bad = http.post("/v1/chat/completions", "{\"messages\":");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.json().at("/error/code").asText()).isEqualTo("invalid_json");

        Http.Response model = http.post("/v1/chat/completions",
                "{\"model\":\"gpt-9\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(model.status()).isEqualTo(404);
        assertThat(model.json().at("/error/code").asText()).isEqualTo("model_not_found");

        Http.Response route = http.get("/v1/nothing");
        assertThat(route.status()).isEqualTo(404);
        assertThat(route.json().at("/error/type").asText()).isEqualTo("not_found_error");

        Http.Response tooLarge = http.post("/v1/completions", "{\"prompt\":\"" + "a".repeat(70_000) + "\"}");
        assertThat(tooLarge.status()).isEqualTo(413);
        assertThat(tooLarge.json().at("/error/code").asText()).isEqualTo("request_too_large");
    }

    @Test
    void engineRefusalsMapToStatuses() {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        engine.rejectNext(new RequestRejectedException(RequestRejectedException.Kind.OVERLOADED, "Queue full (256 waiting)."));
        Http.Response overloaded = http.post("/v1/chat/completions", body);
        assertThat(overloaded.status()).isEqualTo(429);
        assertThat(overloaded.headers().firstValue("Retry-After")).isPresent();
        assertThat(overloaded.json().at("/error/message").asText()).contains("Queue full");

        engine.rejectNext(new RequestRejectedException(RequestRejectedException.Kind.TOO_LONG, "Prompt 500 + max_tokens 100 > 512."));
        assertThat(http.post("/v1/chat/completions", body).status()).isEqualTo(400);

        engine.rejectNext(new RequestRejectedException(RequestRejectedException.Kind.UNAVAILABLE, "Draining."));
        assertThat(http.post("/v1/chat/completions", body).status()).isEqualTo(503);
    }

    @Test
    void probesAndModelList() {
        assertThat(http.get("/health").json().get("status").asText()).isEqualTo("ok");
        assertThat(http.get("/ready").status()).isEqualTo(200);
        JsonNode models = http.get("/v1/models").json();
        assertThat(models.at("/data/0/id").asText()).isEqualTo("test-model");
        assertThat(models.at("/data/0/max_model_len").asInt()).isEqualTo(512);
    }

    @Test
    void aNodeStillLoadingAnswers503ButIsAlive() {
        ServingState loading = new ServingState();
        try (Telemetry t = new Telemetry("m", loading::load, null, null);
                ApiServer s = ApiServer.create(c -> {
                    c.port = 0;
                    c.state = loading;
                    c.telemetry = t;
                }).start()) {
            Http h = new Http(s.port());
            assertThat(h.get("/health").status()).isEqualTo(200);
            assertThat(h.get("/ready").status()).isEqualTo(503);
            Http.Response r = h.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
            assertThat(r.status()).isEqualTo(503);
            assertThat(r.json().at("/error/message").asText()).contains("loading");
            loading.failed("config.json: missing field hidden_size");
            assertThat(h.get("/ready").json().at("/error/message").asText()).contains("hidden_size");
        }
    }

    @Test
    void drainingRefusesNewWorkUntilUndrained() {
        assertThat(http.post("/admin/drain", "").json().get("draining").asBoolean()).isTrue();
        try {
            assertThat(http.get("/ready").status()).isEqualTo(503);
            assertThat(http.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")
                    .status()).isEqualTo(503);
        } finally {
            http.post("/admin/undrain", "");
        }
        assertThat(http.get("/ready").status()).isEqualTo(200);
    }

    @Test
    void sessionsCarryHistoryAcrossTurns() {
        JsonNode created = http.post("/v1/sessions", "{\"system_prompt\":\"Be brief.\",\"ttl_seconds\":60}").json();
        String id = created.get("id").asText();
        assertThat(created.get("ttl_seconds").asInt()).isEqualTo(60);

        engine.script = r -> List.of("one");
        http.post("/v1/chat/completions", "{\"session_id\":\"" + id + "\",\"messages\":[{\"role\":\"user\",\"content\":\"first\"}]}");
        engine.script = r -> List.of("two");
        Http.Response second = http.post("/v1/chat/completions",
                "{\"session_id\":\"" + id + "\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"second\"}]}");
        assertThat(second.status()).isEqualTo(200);
        List<org.autoglm.node.session.Message> expectedPrompt = List.of(
                new org.autoglm.node.session.Message("system", "Be brief."),
                new org.autoglm.node.session.Message("user", "first"),
                new org.autoglm.node.session.Message("assistant", "one"),
                new org.autoglm.node.session.Message("user", "second"));
        assertThat(engine.lastRequest.promptIds()).isEqualTo(model.encodeChat(expectedPrompt));
        assertThat(engine.lastRequest.sessionId()).isEqualTo(id);

        JsonNode got = http.get("/v1/sessions/" + id).json();
        assertThat(got.get("messages")).hasSize(4);
        assertThat(got.at("/messages/3/content").asText()).isEqualTo("two");
        assertThat(got.get("token_count").asInt()).isEqualTo(model.encodeChat(expectedPrompt).length);

        assertThat(http.delete("/v1/sessions/" + id).json().get("deleted").asBoolean()).isTrue();
        Http.Response gone = http.post("/v1/chat/completions",
                "{\"session_id\":\"" + id + "\",\"messages\":[{\"role\":\"user\",\"content\":\"third\"}]}");
        assertThat(gone.status()).isEqualTo(404);
        assertThat(gone.json().at("/error/code").asText()).isEqualTo("session_not_found");
        assertThat(http.get("/v1/sessions/nope").status()).isEqualTo(404);
    }

    @Test
    void clientDisconnectCancelsTheEngineRequest() throws Exception {
        engine.script = r -> List.of(); // endless
        int cancelledBefore = engine.cancelled();
        try (InputStream in = http.openStream("/v1/chat/completions",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"go on\"}],\"stream\":true}")) {
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            int data = 0;
            while (data < 3) {
                if (reader.readLine().startsWith("data: ")) {
                    data++;
                }
            }
            assertThat(engine.running()).isEqualTo(1);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> engine.running() == 0);
        assertThat(engine.cancelled()).isGreaterThan(cancelledBefore);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(http.get("/metrics").body())
                .contains("autoglm:request_success_total{finished_reason=\"cancelled\",model_name=\"test-model\"}"));
    }

    @Test
    void aClientLeavingWhileItsRequestIsQueuedIsNoticedByKeepAlives() throws Exception {
        engine.firstTokenDelayMillis = Long.MAX_VALUE; // never scheduled unless cancelled
        int cancelledBefore = engine.cancelled();
        try (InputStream in = http.openStream("/v1/chat/completions",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"wait\"}],\"stream\":true}")) {
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            assertThat(reader.readLine()).isEqualTo(": keep-alive");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> engine.cancelled() > cancelledBefore);
        await().atMost(Duration.ofSeconds(10)).until(() -> engine.running() == 0);
    }

    @Test
    void operatorSeesAndCancelsRunningRequests() throws Exception {
        engine.script = r -> List.of();
        try (InputStream in = http.openStream("/v1/completions", "{\"prompt\":\"x\",\"stream\":true}")) {
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            reader.readLine();
            JsonNode list = http.get("/admin/requests").json();
            assertThat(list.get("data")).hasSize(1);
            String id = list.at("/data/0/id").asText();
            assertThat(http.post("/admin/requests/" + id + "/cancel", "").status()).isEqualTo(200);
            String rest = reader.lines().collect(Collectors.joining("\n"));
            assertThat(rest.strip()).contains("\"finish_reason\":\"cancelled\"").endsWith("data: [DONE]");
        }
        assertThat(http.post("/admin/requests/cmpl-none/cancel", "").status()).isEqualTo(404);
    }

    @Test
    void metricsAreNamedLikeVllmWithModelLabel() {
        http.post("/v1/completions", "{\"prompt\":\"abc\",\"max_tokens\":3}");
        String text = http.get("/metrics").body();
        assertThat(text)
                .contains("# TYPE autoglm:prompt_tokens_total counter")
                .contains("autoglm:generation_tokens_total{model_name=\"test-model\"}")
                .contains("# TYPE autoglm:time_to_first_token_seconds histogram")
                .contains("autoglm:time_to_first_token_seconds_bucket{model_name=\"test-model\",le=\"+Inf\"}")
                .contains("autoglm:inter_token_latency_seconds_count")
                .contains("autoglm:e2e_request_latency_seconds_sum")
                .contains("autoglm:num_requests_running{model_name=\"test-model\"}")
                .contains("autoglm:num_requests_waiting{model_name=\"test-model\"}")
                .contains("autoglm:kv_cache_usage_perc{model_name=\"test-model\"}")
                .contains("autoglm:prefix_cache_queries_total{model_name=\"test-model\"} 10")
                .contains("autoglm:prefix_cache_hits_total{model_name=\"test-model\"} 4");
    }

    @Test
    void requestSpanContinuesTheClientTraceWithPhaseChildren() {
        String traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        http.send(http.builder("/v1/chat/completions").header("Content-Type", "application/json")
                .header("traceparent", "00-" + traceId + "-00f067aa0ba902b7-01")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                        "{\"messages\":[{\"role\":\"user\",\"content\":\"trace me\"}]}")));
        await().atMost(Duration.ofSeconds(5)).until(() -> spans.spans.stream()
                .anyMatch(s -> s.getTraceId().equals(traceId) && s.getName().startsWith("POST")));
        List<SpanData> trace = spans.spans.stream().filter(s -> s.getTraceId().equals(traceId)).toList();
        SpanData root = trace.stream().filter(s -> s.getName().startsWith("POST")).findFirst().orElseThrow();
        assertThat(root.getParentSpanId()).isEqualTo("00f067aa0ba902b7");
        assertThat(trace.stream().filter(s -> s.getParentSpanId().equals(root.getSpanId())).map(SpanData::getName))
                .contains("queue", "prefill", "decode");
        assertThat(engine.lastRequest.traceparent()).contains(traceId);
    }

    static JsonNode json(String s) {
        try {
            return JsonBody.MAPPER.readTree(s);
        } catch (Exception e) {
            throw new AssertionError(s, e);
        }
    }
}
