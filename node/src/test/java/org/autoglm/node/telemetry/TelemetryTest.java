package org.autoglm.node.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class TelemetryTest {

    @Test
    void tracesGoToTheOtlpEndpointOnlyWhenOneIsSet() throws Exception {
        List<String> received = new CopyOnWriteArrayList<>();
        HttpServer collector = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        collector.createContext("/", exchange -> {
            received.add(exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath() + " "
                    + exchange.getRequestHeaders().getFirst("Content-Type") + " " + exchange.getRequestBody().readAllBytes().length);
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        collector.start();
        try {
            Telemetry t = new Telemetry("m", () -> EngineLoad.EMPTY, "http://127.0.0.1:" + collector.getAddress().getPort(), null);
            RequestTracing.RequestSpan span = t.tracing().start("POST", "/v1/completions",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "req-1");
            span.route("/v1/completions");
            span.submitted(Instant.now());
            span.firstToken(Instant.now());
            span.finish(Instant.now(), List.of("stop"), 3, 4, null);
            span.end(200);
            t.close(); // flushes the batch processor
            assertThat(received).anySatisfy(r -> assertThat(r).startsWith("POST /v1/traces application/x-protobuf"));
        } finally {
            collector.stop(0);
        }
        assertThat(Telemetry.tracesUrl("http://c:4318")).isEqualTo("http://c:4318/v1/traces");
        assertThat(Telemetry.tracesUrl("http://c:4318/custom/path")).isEqualTo("http://c:4318/custom/path");
        assertThatThrownBy(() -> Telemetry.tracesUrl("collector")).hasMessageContaining("--otlp-endpoint");
    }

    @Test
    void prometheusTextHasCumulativeBucketsAndOurPrefix() {
        try (Telemetry t = new Telemetry("glm", () -> new EngineLoad(2, 5, 0.25, 100, 40), null, null)) {
            RequestMetrics m = t.metrics();
            m.firstToken(Duration.ofMillis(3));
            m.firstToken(Duration.ofMillis(30));
            m.finished("stop", 10, 5, Duration.ofMillis(50));
            String text = t.scrape();
            assertThat(text)
                    .contains("autoglm:time_to_first_token_seconds_bucket{model_name=\"glm\",le=\"0.005\"} 1")
                    .contains("autoglm:time_to_first_token_seconds_bucket{model_name=\"glm\",le=\"0.04\"} 2")
                    .contains("autoglm:time_to_first_token_seconds_bucket{model_name=\"glm\",le=\"+Inf\"} 2")
                    .contains("autoglm:time_to_first_token_seconds_count{model_name=\"glm\"} 2")
                    .contains("autoglm:num_requests_waiting{model_name=\"glm\"} 5")
                    .contains("autoglm:kv_cache_usage_perc{model_name=\"glm\"} 0.25")
                    .contains("autoglm:prompt_tokens_total{model_name=\"glm\"} 10.0")
                    .contains("autoglm:request_success_total{finished_reason=\"stop\",model_name=\"glm\"} 1.0")
                    .doesNotContain("otel_scope").doesNotContain("target_info");
        }
    }
}
