package org.autoglm.node.workflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.autoglm.node.cli.ServeCommand;
import org.autoglm.node.engine.ReferenceCases;
import org.autoglm.node.security.JwtVerifierTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * A run outlives the node that created and drove it: two real nodes in one grid (glm-tiny, loopback); the run is
 * started on node A (which drives it) and A is stopped while the run's http step is in flight. Node B takes the run over, sends the
 * same attempt again under the same Idempotency-Key (so the receiver can tell it is a repeat), and finishes the
 * remaining transform and llm steps.
 */
class WorkflowFailoverTest {

    private static final int GRID_PORT = 28770 + Integer.getInteger("autoglm.test.portOffset", 0);

    @TempDir
    Path dir;
    ServeCommand.RunningNode a;
    ServeCommand.RunningNode b;
    HookServer hooks;

    ServeCommand.RunningNode start(String name, int gridPort) throws Exception {
        CommandLine cli = new CommandLine(new ServeCommand());
        cli.parseArgs("--model", ReferenceCases.fixturesDir().resolve("glm-tiny").toString(), "--port", "0",
                "--num-kv-blocks", "256", "--block-size", "4", "--node-name", name,
                "--grid-port", Integer.toString(gridPort), "--peers", "127.0.0.1:" + GRID_PORT + ".." + (GRID_PORT + 1),
                "--grid-failure-detection", "2000", "--workflow-http-allow", "127.0.0.1",
                "--jwt-secret-file", JwtVerifierTest.secretFile(dir).toString());
        return ((ServeCommand) cli.getCommand()).start();
    }

    @AfterEach
    void stop() {
        if (hooks != null) {
            hooks.close();
        }
        for (ServeCommand.RunningNode n : new ServeCommand.RunningNode[] {b, a}) {
            if (n != null) {
                n.close();
            }
        }
    }

    @Test
    void anotherNodeFinishesARunWhoseDriverStopped() throws Exception {
        hooks = new HookServer();
        hooks.gate = new CountDownLatch(1);
        // B joins first and so holds the grid's one voting seat: A's death leaves B with the majority.
        b = start("wf-b", GRID_PORT + 1);
        a = start("wf-a", GRID_PORT);
        await().atMost(Duration.ofSeconds(180)).until(() -> a.state().isReady() && b.state().isReady());
        String token = JwtVerifierTest.hs256("olga", List.of("operator"), Instant.now().plusSeconds(600));
        Client onA = Client.of(a.port()).as(token);
        Client onB = Client.of(b.port()).as(token);
        String template = """
                {"name": "survivor",
                 "params": {"type": "object", "properties": {"who": {"type": "string"}}},
                 "steps": [
                   {"id": "wait", "kind": "http", "url": "%s", "body": {"who": "{{ params.who }}"}},
                   {"id": "shape", "kind": "transform", "depends_on": ["wait"],
                    "expression": "{{ steps.wait.json.echo.who | upper }}"},
                   {"id": "say", "kind": "llm", "depends_on": ["shape"], "prompt": "Greet {{ steps.shape.output }}",
                    "max_tokens": 2, "temperature": 0}],
                 "output": "{{ steps.shape.output }}"}
                """.formatted(hooks.url("/gate"));
        assertThat(onA.post("/v1/workflows", template).status()).isEqualTo(201);
        String id = onA.post("/v1/workflows/survivor/runs", "{\"params\": {\"who\": \"bea\"}}").json().get("id").asText();
        await().atMost(Duration.ofSeconds(30)).until(() -> hooks.calls.size() == 1);

        a.close(); // the node that created the run and drives it
        a = null;
        await().atMost(Duration.ofSeconds(60)).until(() -> hooks.calls.size() == 2); // B sends the attempt again
        hooks.gate.countDown();

        JsonNode[] run = new JsonNode[1];
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() -> {
            run[0] = onB.get("/v1/workflow-runs/" + id).json();
            return List.of("succeeded", "failed", "cancelled").contains(run[0].get("status").asText());
        });
        assertThat(run[0].get("status").asText()).as(run[0].toString()).isEqualTo("succeeded");
        assertThat(run[0].get("output").asText()).isEqualTo("BEA");
        assertThat(hooks.calls).extracting(HookServer.Call::idempotencyKey).containsExactly(id + "/wait/1", id + "/wait/1");
        for (JsonNode step : run[0].get("steps")) {
            assertThat(step.get("status").asText()).isEqualTo("succeeded");
            assertThat(step.get("attempts").asInt()).isEqualTo(1);
            assertThat(step.get("results_recorded").asInt()).as("sent twice, recorded once").isEqualTo(1);
        }
        assertThat(WorkflowApiTest.step(run[0], "say").at("/input/messages/0/content").asText()).isEqualTo("Greet BEA");
    }
}
