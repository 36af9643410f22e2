package org.autoglm.node.console;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.autoglm.node.cli.ServeCommand;
import org.autoglm.node.engine.ReferenceCases;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The console's routes on one real node (glm-tiny, JWT auth, grid port 21250 plus the test offset): the page and its
 * assets with their security headers, {@code /cluster/requests} listing a running request with its user, priority and
 * node, and {@code /cluster/metrics/stream} snapshots with the leader, the node's load and pooled TTFT samples.
 */
class ConsoleRoutesTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SECRET = "console-routes-secret-0123456789abcdef";
    private static final int GRID = 21250 + Integer.getInteger("autoglm.test.portOffset", 0);
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TempDir
    static Path dir;
    private static ServeCommand.RunningNode node;

    @BeforeAll
    static void start() throws Exception {
        Files.writeString(dir.resolve("jwt.secret"), SECRET);
        CommandLine cli = new CommandLine(new ServeCommand());
        cli.parseArgs("--model", ReferenceCases.fixturesDir().resolve("glm-tiny").toString(), "--port", "0",
                "--num-kv-blocks", "256", "--block-size", "4", "--node-name", "solo", "--groups", "a",
                "--grid-port", Integer.toString(GRID), "--jwt-secret-file", dir.resolve("jwt.secret").toString());
        node = ((ServeCommand) cli.getCommand()).start();
        await().atMost(Duration.ofSeconds(120)).until(() -> node.state().isReady());
    }

    @AfterAll
    static void stop() {
        if (node != null) node.close();
    }

    @Test
    void thePageAndItsAssetsAreServedWithoutATokenAndCannotBeFramed() throws Exception {
        HttpResponse<String> page = get("/console", null);
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Type").orElse("")).startsWith("text/html");
        assertThat(page.headers().firstValue("Content-Security-Policy").orElse(""))
                .contains("script-src 'self'", "frame-ancestors 'none'", "connect-src 'self'");
        assertThat(page.body()).contains("<script type=\"module\" src=\"/console/js/main.js\">");
        assertThat(get("/console/js/main.js", null).headers().firstValue("Content-Type").orElse(""))
                .startsWith("text/javascript");
        assertThat(get("/console/vendor/uPlot.esm.js", null).body()).contains("uPlot");
        assertThat(get("/console/vendor/uPlot.min.css", null).statusCode()).isEqualTo(200);
        assertThat(get("/console/js/missing.js", null).statusCode()).isEqualTo(404);
        assertThat(get("/console/js/..%2F..%2Fsimplelogger.properties", null).statusCode()).isIn(400, 404);
    }

    @Test
    void requestsAreListedClusterWideWithUserPriorityAndNode() throws Exception {
        String operator = token("ops", List.of("operator"));
        String user = token("alice", List.of("user"));
        assertThat(get("/cluster/requests", user).statusCode()).isEqualTo(403);
        assertThat(get("/cluster/requests?limit=0", operator).statusCode()).isEqualTo(400);
        // A long stream read slowly stays running while we look.
        List<CompletableFuture<Void>> streams = new java.util.concurrent.CopyOnWriteArrayList<>();
        streams.add(CompletableFuture.runAsync(() -> slowStream(user)));
        try {
            JsonNode[] listed = new JsonNode[1];
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(2)).until(() -> {
                // On a quiet machine glm-tiny can finish its 400 tokens between two looks: then send another.
                if (streams.get(streams.size() - 1).isDone()) {
                    streams.add(CompletableFuture.runAsync(() -> slowStream(user)));
                }
                // Listed from acceptance on (pending), then placed on this node (assigned, running).
                for (JsonNode entry : JSON.readTree(get("/cluster/requests", operator).body()).path("data")) {
                    if (!entry.path("state").asText().equals("pending")) {
                        listed[0] = entry;
                        return true;
                    }
                }
                return false;
            });
            JsonNode r = listed[0];
            assertThat(r.path("id").asText()).isNotBlank();
            assertThat(r.path("user").asText()).isEqualTo("alice");
            assertThat(r.path("priority").asInt()).isEqualTo(3);
            assertThat(r.path("class").asText()).isEqualTo("interactive");
            assertThat(r.path("state").asText()).isIn("assigned", "running");
            assertThat(r.path("node").asText()).isEqualTo("solo");
            assertThat(r.path("received_by").asText()).isEqualTo("solo");
            assertThat(r.path("age_ms").asLong()).isNotNegative();
        } finally {
            streams.forEach(f -> f.cancel(true));
        }
    }

    @Test
    void theMetricsStreamSendsSnapshotsWithTheLeaderLoadAndLatencies() throws Exception {
        String operator = token("ops", List.of("operator"));
        assertThat(get("/cluster/metrics/stream", token("alice", List.of("user"))).statusCode()).isEqualTo(403);
        // One short request first, so that the node has a time-to-first-token sample to publish.
        HttpResponse<String> chat = post("/v1/chat/completions", token("alice", List.of("user")),
                "{\"model\":\"glm-tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":4}");
        assertThat(chat.statusCode()).isEqualTo(200);
        HttpResponse<InputStream> res = HTTP.send(HttpRequest.newBuilder(uri("/cluster/metrics/stream"))
                .header("Authorization", "Bearer " + operator).build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(res.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8))) {
            JsonNode snapshot = null;
            long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            for (String line; System.nanoTime() < deadline && (line = lines.readLine()) != null; ) {
                if (!line.startsWith("data: ")) continue;
                snapshot = JSON.readTree(line.substring(6));
                if (snapshot.path("cluster").path("ttft_ms").path("samples").asInt() > 0) break;
            }
            assertThat(snapshot).isNotNull();
            assertThat(snapshot.path("leader").path("node").asText()).isEqualTo("solo");
            assertThat(snapshot.path("leader").path("term").asLong()).isPositive();
            JsonNode self = snapshot.path("nodes").get(0);
            assertThat(self.path("name").asText()).isEqualTo("solo");
            assertThat(self.path("groups").get(0).asText()).isEqualTo("a");
            assertThat(self.path("health").asText()).isEqualTo("healthy");
            assertThat(self.has("kv_usage") && self.has("tokens_per_second")).isTrue();
            assertThat(snapshot.path("queue").has("interactive")).isTrue();
            assertThat(snapshot.path("cluster").path("ttft_ms").path("samples").asInt()).isPositive();
            assertThat(snapshot.path("cluster").path("ttft_ms").path("p95").asDouble()).isPositive();
        }
    }

    private static void slowStream(String token) {
        try {
            String body = "{\"model\":\"glm-tiny\",\"stream\":true,\"priority\":3,\"ignore_eos\":true,\"max_tokens\":400,"
                    + "\"messages\":[{\"role\":\"user\",\"content\":\"count\"}]}";
            HttpResponse<InputStream> res = HTTP.send(HttpRequest.newBuilder(uri("/v1/chat/completions"))
                    .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofInputStream());
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8))) {
                while (lines.readLine() != null) Thread.sleep(50);
            }
        } catch (Exception e) {
            // cancelled at the end of the test
        }
    }

    private static URI uri(String path) {
        return URI.create("http://127.0.0.1:" + node.port() + path);
    }

    private static HttpResponse<String> get(String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10));
        if (token != null) b.header("Authorization", "Bearer " + token);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> post(String path, String token, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String token(String subject, List<String> roles) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), new JWTClaimsSet.Builder().subject(subject)
                .claim("roles", roles).expirationTime(Date.from(Instant.now().plusSeconds(600))).build());
        jwt.sign(new MACSigner(SECRET.getBytes()));
        return jwt.serialize();
    }
}
