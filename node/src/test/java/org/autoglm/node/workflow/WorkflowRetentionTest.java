package org.autoglm.node.workflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.autoglm.node.cli.ServeCommand;
import org.autoglm.node.engine.ReferenceCases;
import org.autoglm.node.security.JwtVerifierTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code --workflow-run-retention} on one real node (glm-tiny): an ended run is deleted from the grid once it is
 * older than the retention, a run that has not ended is kept, and a bad value is refused naming the flag. The
 * driver's figures at {@code GET /cluster/workflow-stats} count what each step did.
 */
class WorkflowRetentionTest {

    private static final int GRID_PORT = 21120 + Integer.getInteger("autoglm.test.portOffset", 0);

    @TempDir
    static Path dir;
    static ServeCommand.RunningNode node;
    static Client anonymous;

    @BeforeAll
    static void start() throws Exception {
        Path model = ReferenceCases.fixturesDir().resolve("glm-tiny");
        CommandLine cli = new CommandLine(new ServeCommand());
        cli.parseArgs("--model", model.toString(), "--port", "0", "--num-kv-blocks", "256", "--block-size", "4",
                "--grid-port", Integer.toString(GRID_PORT), "--workflow-run-retention", "3s",
                "--workflow-http-allow", "127.0.0.1",
                "--jwt-secret-file", JwtVerifierTest.secretFile(dir).toString());
        node = ((ServeCommand) cli.getCommand()).start();
        await().atMost(Duration.ofSeconds(120)).until(() -> node.state().isReady()
                || String.valueOf(node.state().notReadyReason()).startsWith("model failed"));
        assertThat(node.state().notReadyReason()).isNull();
        anonymous = Client.of(node.port());
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    static Client as(String subject, String role) throws Exception {
        return anonymous.as(JwtVerifierTest.hs256(subject, List.of(role), Instant.now().plusSeconds(600)));
    }

    @Test
    void endedRunsAreDeletedAfterTheRetentionAndRunningOnesAreKept() throws Exception {
        Client op = as("olga", "operator");
        assertThat(op.post("/v1/workflows", """
                {"name": "short", "steps": [{"id": "a", "kind": "llm", "prompt": "Hi", "max_tokens": 2,
                 "temperature": 0}, {"id": "b", "kind": "llm", "depends_on": ["a"], "prompt": "{{ steps.a.output }}",
                 "max_tokens": 2, "temperature": 0}]}""").status()).isEqualTo(201);
        // A run that waits out a long backoff (nothing listens on the port): it has not ended, so it is kept.
        int closed;
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
            closed = socket.getLocalPort();
        }
        assertThat(op.post("/v1/workflows", """
                {"name": "waiting", "steps": [{"id": "a", "kind": "http", "url": "http://127.0.0.1:%d/",
                 "method": "GET", "retry": {"max_attempts": 2, "initial_ms": 60000, "max_ms": 60000}}]}
                """.formatted(closed)).status()).isEqualTo(201);
        String waiting = startRun(op, "waiting");
        String id = startRun(op, "short");
        JsonNode[] run = new JsonNode[1];
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() -> {
            run[0] = op.get("/v1/workflow-runs/" + id).json();
            return "succeeded".equals(run[0].path("status").asText());
        });
        long ended = run[0].get("ended_at").asLong();
        // Kept while younger than the retention (3 s), deleted after it (the leader sweeps every second).
        Client.Response young = op.get("/v1/workflow-runs/" + id);
        if (System.currentTimeMillis() - ended < 2_000) {
            assertThat(young.status()).isEqualTo(200);
        }
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> op.get("/v1/workflow-runs/" + id).status() == 404);
        assertThat(System.currentTimeMillis() - ended).isGreaterThanOrEqualTo(3_000);
        assertThat(op.get("/v1/workflow-runs/" + waiting).json().get("status").asText()).isEqualTo("running");

        JsonNode stats = op.get("/cluster/workflow-stats").json();
        assertThat(stats.at("/counters/runs_deleted").asLong()).isGreaterThanOrEqualTo(1);
        // Each run's first plan is in the write that creates it; then one transaction per answer: two for the short
        // run, one for the waiting one. The two llm steps went to the queue once each; one step followed another.
        assertThat(stats.at("/counters/transactions").asLong()).isGreaterThanOrEqualTo(3);
        assertThat(stats.at("/counters/queue_submits").asLong()).isEqualTo(2);
        assertThat(stats.at("/timers/next_step/samples").asInt()).isEqualTo(1);
        assertThat(as("uma", "user").get("/cluster/workflow-stats").status()).isEqualTo(403);
        assertThat(op.get("/cluster/workflow-stats?since=soon").status()).isEqualTo(400);
        op.post("/v1/workflow-runs/" + waiting + "/cancel", "{}");
    }

    /**
     * Starts a run; asks again when Jetty answered 408 (a body slower than its minimum data rate, which a machine at
     * load 50 produces even for "{}"): a client's retry, not the code under test.
     */
    static String startRun(Client c, String name) throws Exception {
        for (int attempt = 1; ; attempt++) {
            Client.Response r = c.post("/v1/workflows/" + name + "/runs", "{}");
            if (r.status() != 408 || attempt == 3) {
                assertThat(r.status()).as(r.body()).isEqualTo(201);
                return r.json().get("id").asText();
            }
        }
    }

    @Test
    void aBadRetentionIsRefusedNamingTheFlag() {
        assertThat(Workflows.parseRetention("7d")).isEqualTo(Duration.ofDays(7));
        assertThat(Workflows.parseRetention("90m")).isEqualTo(Duration.ofMinutes(90));
        for (String bad : List.of("0s", "7", "1w", "-1d", "")) {
            assertThatThrownBy(() -> Workflows.parseRetention(bad)).hasMessageContaining("--workflow-run-retention")
                    .hasMessageContaining("'" + bad + "'");
        }
    }
}
