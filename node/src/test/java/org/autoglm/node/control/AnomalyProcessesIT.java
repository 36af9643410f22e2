package org.autoglm.node.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.autoglm.node.cluster.ServeProcess;
import org.autoglm.node.engine.ReferenceCases;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Anomaly detection on a node that is really slowed, not fed numbers: a {@code serve} process of the jar learns its
 * baselines under steady traffic, then is throttled from outside as a starved or throttled container is (stopped
 * with {@code SIGSTOP} and resumed with {@code SIGCONT}, 120 ms of every 240 ms). Its step times leave the 3σ band,
 * so after N intervals it is flagged anomalous in {@code /cluster/nodes} and on {@code /cluster/events}; unthrottled,
 * it becomes normal again.
 */
class AnomalyProcessesIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int GRID = 33500 + Integer.getInteger("autoglm.test.portOffset", 0);

    private ServeProcess node;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicBoolean throttling = new AtomicBoolean(true);

    @AfterEach
    void stop() {
        running.set(false);
        throttling.set(false);
        if (node != null) {
            node.resume();
            node.stop();
        }
    }

    @Test
    void aThrottledNodeIsFlaggedAnomalousAndRecovers() throws Exception {
        assumeTrue(System.getProperty("autoglm.node.jar") != null, "runs in the integration-test phase (mvn verify)");
        Path jar = Path.of(System.getProperty("autoglm.node.jar"));
        Path model = ReferenceCases.fixturesDir().resolve("glm-tiny");
        node = new ServeProcess("slow", jar, model, GRID, "127.0.0.1:" + GRID, 1, Path.of("target", "anomaly-processes"),
                "--anomaly-interval", "500", "--anomaly-intervals", "3").start();
        await().atMost(Duration.ofSeconds(120)).until(() -> node.status("/ready") == 200);

        // Steady traffic, one request at a time, so that every interval is judged at the same load level.
        AtomicInteger answered = new AtomicInteger();
        Thread traffic = new Thread(() -> {
            while (running.get()) {
                try {
                    node.post("/v1/completions", "{\"prompt\":\"steady\",\"max_tokens\":16,\"ignore_eos\":true}");
                    answered.incrementAndGet();
                } catch (Exception e) {
                    // a request cut by the throttling: the next one follows
                }
            }
        }, "anomaly-traffic");
        traffic.setDaemon(true);
        traffic.start();
        // Baselines need 10 normal intervals (5 s); a loaded machine may flag a spike meanwhile: wait for normal.
        await().atMost(Duration.ofSeconds(60)).until(() -> answered.get() > 50);
        await().atMost(Duration.ofSeconds(60)).pollDelay(Duration.ofSeconds(6)).until(() -> !anomalous());

        Thread throttle = new Thread(() -> {
            while (throttling.get()) {
                node.pause();
                sleep(120);
                node.resume();
                sleep(120);
            }
        }, "anomaly-throttle");
        throttle.setDaemon(true);
        throttle.start();
        try {
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                    .until(this::anomalous);
        } finally {
            throttling.set(false);
            throttle.join();
            node.resume();
        }
        JsonNode self = JSON.readTree(node.get("/cluster/nodes")).get(0);
        assertThat(self.get("anomalous").asBoolean()).isTrue();
        String events = eventsSoFar();
        assertThat(events).contains("\"type\":\"node_anomalous\"").contains("step_ms");

        // Unthrottled, with the same traffic: N normal intervals clear the flag.
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> !anomalous());
        assertThat(eventsSoFar()).contains("\"type\":\"node_normal\"");
    }

    private boolean anomalous() throws Exception {
        return JSON.readTree(node.get("/cluster/nodes")).get(0).get("anomalous").asBoolean();
    }

    /** The event ring from its start, read until the stream has been quiet for a moment. */
    private String eventsSoFar() throws Exception {
        java.net.http.HttpResponse<java.io.InputStream> stream = ServeProcess.HTTP.send(java.net.http.HttpRequest
                .newBuilder(node.uri("/cluster/events")).header("Last-Event-ID", "0").build(),
                java.net.http.HttpResponse.BodyHandlers.ofInputStream());
        StringBuilder seen = new StringBuilder();
        try (java.io.InputStream in = stream.body()) {
            long quietUntil = System.currentTimeMillis() + 2000;
            byte[] buffer = new byte[8192];
            while (System.currentTimeMillis() < quietUntil) {
                if (in.available() > 0) {
                    int n = in.read(buffer);
                    if (n < 0) break;
                    seen.append(new String(buffer, 0, n, java.nio.charset.StandardCharsets.UTF_8));
                    quietUntil = System.currentTimeMillis() + 1000;
                } else {
                    sleep(50);
                }
            }
        }
        return seen.toString();
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
