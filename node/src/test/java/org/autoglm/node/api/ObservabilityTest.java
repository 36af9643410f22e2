package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.trace.data.SpanData;
import java.time.Duration;
import org.autoglm.node.telemetry.Telemetry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What tracing and scraping tools expect (issue 15): a server span for every request, refused ones too, with the HTTP
 * and GenAI attributes; and /metrics with the JVM and process series, in OpenMetrics when the scraper asks.
 */
class ObservabilityTest {

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

    @Test
    void everyRequestGetsASpanWithHttpAndGenAiAttributes() {
        SpanData ok = spanOf(send("POST", "/v1/chat/completions",
                "{\"model\":\"test-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));
        assertThat(ok.getName()).isEqualTo("POST /v1/chat/completions");
        assertThat(ok.getKind()).isEqualTo(SpanKind.SERVER);
        assertHttp(ok, "POST", "/v1/chat/completions", 200);
        assertThat(ok.getAttributes().get(AttributeKey.stringKey("gen_ai.operation.name"))).isEqualTo("chat");
        assertThat(ok.getAttributes().get(AttributeKey.stringKey("gen_ai.request.model"))).isEqualTo("test-model");
        assertThat(ok.getAttributes().get(AttributeKey.longKey("gen_ai.usage.output_tokens"))).isEqualTo(3);

        // Refused while parsing: the span is there, with the model asked for and the 400.
        SpanData invalid = spanOf(send("POST", "/v1/completions", "{\"model\":\"test-model\",\"prompt\":\"a\",\"n\":0}"));
        assertThat(invalid.getName()).isEqualTo("POST /v1/completions");
        assertHttp(invalid, "POST", "/v1/completions", 400);
        assertThat(invalid.getAttributes().get(AttributeKey.stringKey("gen_ai.operation.name")))
                .isEqualTo("text_completion");
        assertThat(invalid.getAttributes().get(AttributeKey.stringKey("gen_ai.request.model"))).isEqualTo("test-model");
        assertThat(invalid.getAttributes().get(AttributeKey.stringKey("error.type"))).isEqualTo("400");
        assertThat(invalid.getStatus().getStatusCode()).isNotEqualTo(StatusCode.ERROR); // a client's mistake

        SpanData wrongModel = spanOf(send("POST", "/v1/chat/completions",
                "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));
        assertHttp(wrongModel, "POST", "/v1/chat/completions", 404);
        assertThat(wrongModel.getAttributes().get(AttributeKey.stringKey("gen_ai.request.model"))).isEqualTo("gpt-4o");

        SpanData malformed = spanOf(send("POST", "/v1/chat/completions", "{\"messages\":"));
        assertHttp(malformed, "POST", "/v1/chat/completions", 400);
        assertThat(malformed.getAttributes().get(AttributeKey.stringKey("gen_ai.operation.name"))).isEqualTo("chat");

        // No such route: named by the method alone (no http.route), as the HTTP conventions say.
        SpanData missing = spanOf(send("GET", "/v1/nothing-here", null));
        assertThat(missing.getName()).isEqualTo("GET");
        assertHttp(missing, "GET", "/v1/nothing-here", 404);
        assertThat(missing.getAttributes().get(AttributeKey.stringKey("http.route"))).isNull();

        SpanData wrongMethod = spanOf(send("GET", "/v1/completions", null));
        assertHttp(wrongMethod, "GET", "/v1/completions", 405);

        SpanData session = spanOf(send("GET", "/v1/sessions/nope", null));
        assertThat(session.getName()).isEqualTo("GET /v1/sessions/{id}");
        assertHttp(session, "GET", "/v1/sessions/nope", 404);
    }

    @Test
    void theClientsTraceContinuesOnRefusalsToo() {
        String traceId = "4bf92f3577b34da6a3ce929d0e0e4799";
        Http.Response r = http.send(http.builder("/v1/completions").header("Content-Type", "application/json")
                .header("traceparent", "00-" + traceId + "-00f067aa0ba902b7-01")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"prompt\":\"a\",\"temperature\":9}")));
        assertThat(r.status()).isEqualTo(400);
        SpanData span = spanOf(r);
        assertThat(span.getTraceId()).isEqualTo(traceId);
        assertThat(span.getParentSpanId()).isEqualTo("00f067aa0ba902b7");
    }

    @Test
    void metricsCarryJvmAndProcessSeriesAndSpeakOpenMetricsWhenAsked() {
        http.post("/v1/completions", "{\"prompt\":\"abc\",\"max_tokens\":3}");
        Http.Response text = http.get("/metrics");
        assertThat(text.headers().firstValue("content-type").orElse("")).startsWith("text/plain; version=0.0.4");
        assertThat(text.body()).contains("autoglm:prompt_tokens_total{model_name=\"test-model\"}",
                "jvm_memory_used_bytes{area=\"heap\"}", "jvm_threads_current", "jvm_gc_collection_seconds_count",
                "process_cpu_seconds_total", "process_start_time_seconds").doesNotContain("# EOF");
        if (System.getProperty("os.name").toLowerCase().contains("linux")) {
            assertThat(text.body()).contains("process_resident_memory_bytes", "process_open_fds");
        }

        // What Prometheus sends when it prefers OpenMetrics.
        Http.Response open = http.send(http.builder("/metrics").header("Accept",
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                        + "text/plain;version=0.0.4;q=0.5,*/*;q=0.1").GET());
        assertThat(open.status()).isEqualTo(200);
        assertThat(open.headers().firstValue("content-type").orElse(""))
                .startsWith("application/openmetrics-text; version=1.0.0");
        assertThat(open.body()).contains("# TYPE autoglm:prompt_tokens counter",
                "autoglm:prompt_tokens_total{model_name=\"test-model\"}", "jvm_memory_used_bytes")
                .endsWith("# EOF\n");
    }

    private static void assertHttp(SpanData span, String method, String path, int status) {
        assertThat(span.getAttributes().get(AttributeKey.stringKey("http.request.method"))).isEqualTo(method);
        assertThat(span.getAttributes().get(AttributeKey.stringKey("url.path"))).isEqualTo(path);
        assertThat(span.getAttributes().get(AttributeKey.longKey("http.response.status_code"))).isEqualTo(status);
    }

    private static final java.util.concurrent.atomic.AtomicInteger ids = new java.util.concurrent.atomic.AtomicInteger();

    /** Sends with an x-request-id of its own, which the span carries: how the test finds it. */
    private static Http.Response send(String method, String path, String body) {
        var b = http.builder(path).header("x-request-id", "obs-" + ids.incrementAndGet());
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        return http.send(b.method(method, body == null ? java.net.http.HttpRequest.BodyPublishers.noBody()
                : java.net.http.HttpRequest.BodyPublishers.ofString(body)));
    }

    /** The server span of the request that got {@code r}. */
    private static SpanData spanOf(Http.Response r) {
        String id = r.headers().firstValue("x-request-id").orElseThrow();
        AttributeKey<java.util.List<String>> key = AttributeKey.stringArrayKey("http.response.header.x-request-id");
        await().atMost(Duration.ofSeconds(5)).until(() -> spans.spans.stream()
                .anyMatch(s -> java.util.List.of(id).equals(s.getAttributes().get(key))));
        return spans.spans.stream().filter(s -> java.util.List.of(id).equals(s.getAttributes().get(key)))
                .findFirst().orElseThrow();
    }
}
