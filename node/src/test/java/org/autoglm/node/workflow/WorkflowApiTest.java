package org.autoglm.node.workflow;

import static org.assertj.core.api.Assertions.assertThat;
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
 * The workflow routes on one real node (glm-tiny, one-node grid, JWT on): templates written by operators, read by
 * everyone, refused with JSON pointers; served schema.
 */
class WorkflowApiTest {

    private static final int GRID_PORT = 33000 + Integer.getInteger("autoglm.test.portOffset", 0);

    @TempDir
    static Path dir;
    static ServeCommand.RunningNode node;
    static Client anonymous;

    @BeforeAll
    static void start() throws Exception {
        Path model = ReferenceCases.fixturesDir().resolve("glm-tiny");
        CommandLine cli = new CommandLine(new ServeCommand());
        cli.parseArgs("--model", model.toString(), "--port", "0", "--num-kv-blocks", "512", "--block-size", "4",
                "--grid-port", Integer.toString(GRID_PORT),
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
    void operatorsWriteTemplatesEveryoneReadsThemAndMistakesComeBackWithPointers() throws Exception {
        Client op = as("olga", "operator");
        Client user = as("uma", "user");
        Client auditor = as("ada", "auditor");
        String template = TemplateValidationTest.GOOD.replace("\"triage\"", "\"api-triage\"");

        assertThat(user.post("/v1/workflows", template).status()).isEqualTo(403);
        Client.Response created = op.post("/v1/workflows", template);
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        assertThat(created.json().get("version").asInt()).isEqualTo(1);
        assertThat(op.post("/v1/workflows", template).json().get("version").asInt()).isEqualTo(2);
        Client.Response conflict = op.post("/v1/workflows", template.replace("\"name\": \"api-triage\",",
                "\"name\": \"api-triage\", \"version\": 7,"));
        assertThat(conflict.status()).isEqualTo(409);

        String yaml = "name: api-yaml\nsteps:\n  - id: only\n    kind: transform\n    expression: \"{{ 1 + 1 }}\"\n";
        assertThat(op.post("/v1/workflows", yaml, "application/yaml").status()).isEqualTo(201);

        Client.Response bad = op.post("/v1/workflows", template.replace("\"depends_on\": [\"classify\", \"each\"]",
                "\"depends_on\": [\"classify\", \"ghost\"]"));
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.json().at("/error/param").asText()).isEqualTo("/steps/2/depends_on/1");
        assertThat(bad.json().at("/error/pointer").asText()).isEqualTo("/steps/2/depends_on/1");

        JsonNode list = user.get("/v1/workflows").json();
        assertThat(list.get("data").findValuesAsText("name")).contains("api-triage", "api-yaml");
        assertThat(auditor.get("/v1/workflows/api-triage").json().get("version").asInt()).isEqualTo(2);
        assertThat(user.get("/v1/workflows/api-triage?version=1").json().get("version").asInt()).isEqualTo(1);
        assertThat(user.get("/v1/workflows/api-triage?version=9").status()).isEqualTo(404);
        assertThat(anonymous.get("/v1/workflows").status()).isEqualTo(401);

        JsonNode schema = user.get("/v1/workflows/schema").json();
        assertThat(schema.at("/$defs/step/properties/kind/enum").toString()).contains("llm", "http", "transform");

        assertThat(user.delete("/v1/workflows/api-yaml").status()).isEqualTo(403);
        assertThat(op.delete("/v1/workflows/api-yaml").status()).isEqualTo(200);
        assertThat(op.get("/v1/workflows/api-yaml").status()).isEqualTo(404);
    }
}
