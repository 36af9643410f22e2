package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.opentelemetry.sdk.trace.data.SpanData;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.node.engine.Completion;
import org.autoglm.node.engine.Engine;
import org.autoglm.node.engine.EngineOptions;
import org.autoglm.node.engine.GenerationListener;
import org.autoglm.node.engine.GenerationRequest;
import org.autoglm.node.engine.RequestRejectedException;
import org.autoglm.node.engine.TextStream;
import org.autoglm.node.engine.TokenDelta;
import org.autoglm.node.engine.runner.SamplerFactory;
import org.autoglm.node.telemetry.EngineLoad;
import org.autoglm.node.telemetry.Telemetry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The HTTP layer on the real engine (over a model-free backend): trace phases and draining. */
class EngineOverHttpTest {

    static final HeldPrefillBackend backend = new HeldPrefillBackend();
    static final CharModel model = new CharModel("test-model", 512);
    static final SpanCollector spans = new SpanCollector();
    static Engine engine;
    static ServingState state;
    static Telemetry telemetry;
    static ApiServer server;
    static Http http;

    @BeforeAll
    static void start() {
        engine = new Engine(backend, EngineOptions.create(o -> o.blockSize = 16), TextStream.Factory.NONE,
                SamplerFactory.DEFAULT);
        state = new ServingState();
        telemetry = new Telemetry(model.name(), state::load, null, spans);
        server = ApiServer.create(c -> {
            c.port = 0;
            c.state = state;
            c.telemetry = telemetry;
        }).start();
        state.ready(new ServingState.Loaded(model, engine, () -> EngineLoad.EMPTY));
        http = new Http(server.port());
    }

    @AfterAll
    static void stop() {
        server.close();
        telemetry.close();
        engine.close();
    }

    @AfterEach
    void releaseAndUndrain() {
        backend.release();
        http.post("/admin/undrain", "");
    }

    private static CompletableFuture<Http.Response> chat(String content, int maxTokens, String traceparent) {
        String body = "{\"max_tokens\":" + maxTokens + ",\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]}";
        java.net.http.HttpRequest.Builder b = http.builder("/v1/chat/completions").header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body));
        if (traceparent != null) b.header("traceparent", traceparent);
        return CompletableFuture.supplyAsync(() -> http.send(b));
    }

    @Test
    void traceShowsQueuePrefillAndDecodeAtTheEnginesBoundaries() throws Exception {
        String traceId = "4bf92f3577b34da6a3ce929d0e0e4737";
        backend.hold();
        CompletableFuture<Http.Response> call = chat("trace my phases", 4, "00-" + traceId + "-00f067aa0ba902b7-01");
        assertThat(backend.held.await(30, TimeUnit.SECONDS)).isTrue();
        Instant insidePrefill = backend.heldAt;
        backend.release();
        assertThat(call.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);

        await().atMost(Duration.ofSeconds(10)).until(() -> spans.spans.stream()
                .anyMatch(s -> s.getTraceId().equals(traceId) && s.getName().startsWith("POST")));
        List<SpanData> trace = spans.spans.stream().filter(s -> s.getTraceId().equals(traceId)).toList();
        SpanData root = trace.stream().filter(s -> s.getName().startsWith("POST")).findFirst().orElseThrow();
        SpanData queue = child(trace, root, "queue");
        SpanData prefill = child(trace, root, "prefill");
        SpanData decode = child(trace, root, "decode");
        // The engine scheduled the request before running its prefill forward, which produced the first token.
        assertThat(queue.getEndEpochNanos()).isEqualTo(prefill.getStartEpochNanos());
        assertThat(prefill.getStartEpochNanos()).isLessThanOrEqualTo(nanos(insidePrefill));
        assertThat(prefill.getEndEpochNanos()).isGreaterThan(nanos(insidePrefill));
        assertThat(decode.getStartEpochNanos()).isEqualTo(prefill.getEndEpochNanos());
        assertThat(decode.getEndEpochNanos()).isLessThanOrEqualTo(root.getEndEpochNanos());
    }

    @Test
    void drainFinishesRunningWorkRefusesNewWorkAndUndrainResumes() throws Exception {
        backend.hold();
        CompletableFuture<Http.Response> running = chat("finish me", 3, null);
        assertThat(backend.held.await(30, TimeUnit.SECONDS)).isTrue();

        Http.Response drain = http.post("/admin/drain", "");
        assertThat(drain.status()).isEqualTo(200);
        assertThat(drain.json().get("draining").asBoolean()).isTrue();
        assertThat(drain.json().get("drained").asBoolean()).isFalse(); // one request is still inside its prefill
        assertThat(engine.isDraining()).isTrue();
        assertThat(chat("too late", 3, null).get(30, TimeUnit.SECONDS).status()).isEqualTo(503);
        // the engine itself takes no new work either (what a cluster peer placing work here would hit)
        assertThatThrownBy(() -> engine.submit(GenerationRequest.of("direct", new int[] {1, 2},
                SamplingParams.greedy(2)), new GenerationListener() {
                    @Override
                    public void onDelta(TokenDelta d) {}

                    @Override
                    public void onFinish(Completion c) {}
                }))
                .isInstanceOf(RequestRejectedException.class).hasMessageContaining("takes no new requests");

        backend.release();
        Http.Response finished = running.get(30, TimeUnit.SECONDS);
        assertThat(finished.status()).isEqualTo(200);
        assertThat(finished.json().at("/usage/completion_tokens").asInt()).isEqualTo(3);
        await().atMost(Duration.ofSeconds(10))
                .until(() -> http.get("/admin/requests").json().get("drained").asBoolean());

        Http.Response undrain = http.post("/admin/undrain", "");
        assertThat(undrain.json().get("draining").asBoolean()).isFalse();
        assertThat(engine.isDraining()).isFalse();
        assertThat(chat("again", 2, null).get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
    }

    private static SpanData child(List<SpanData> trace, SpanData root, String name) {
        return trace.stream().filter(s -> s.getName().equals(name) && s.getParentSpanId().equals(root.getSpanId()))
                .findFirst().orElseThrow(() -> new AssertionError("no '" + name + "' span in " + trace));
    }

    private static long nanos(Instant t) {
        return TimeUnit.SECONDS.toNanos(t.getEpochSecond()) + t.getNano();
    }
}
