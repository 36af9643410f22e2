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

    private static final int GRID_PORT = 21000 + Integer.getInteger("autoglm.test.portOffset", 0);

    @TempDir
    static Path dir;
    static ServeCommand.RunningNode node;
    static Client anonymous;
    static HookServer hooks;

    @BeforeAll
    static void start() throws Exception {
        hooks = new HookServer();
        Path model = ReferenceCases.fixturesDir().resolve("glm-tiny");
        CommandLine cli = new CommandLine(new ServeCommand());
        cli.parseArgs("--model", model.toString(), "--port", "0", "--num-kv-blocks", "512", "--block-size", "4",
                "--grid-port", Integer.toString(GRID_PORT), "--workflow-http-allow", "127.0.0.1",
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
        if (hooks != null) {
            hooks.close();
        }
    }

    static JsonNode waitForEnd(Client c, String runId) {
        JsonNode[] last = new JsonNode[1];
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100)).until(() -> {
            last[0] = c.get("/v1/workflow-runs/" + runId).json();
            return List.of("succeeded", "failed", "cancelled").contains(last[0].get("status").asText());
        });
        return last[0];
    }

    static JsonNode step(JsonNode run, String id) {
        for (JsonNode s : run.get("steps")) {
            if (s.get("id").asText().equals(id)) {
                return s;
            }
        }
        throw new AssertionError("no step " + id + " in " + run);
    }

    /** An llm step, an llm step fanned out over 4 items, and a step whose condition is false. */
    static final String FAN_OUT = """
            {"name": "%s",
             "params": {"type": "object", "properties": {"topic": {"type": "string"}, "items": {"type": "array"},
                        "urgent": {"type": "boolean"}}, "required": ["topic", "items"]},
             "steps": [
               {"id": "draft", "kind": "llm", "prompt": "Write about {{ params.topic }}", "max_tokens": 3,
                "temperature": 0},
               {"id": "each", "kind": "llm", "depends_on": ["draft"], "for_each": "{{ params['items'] }}",
                "messages": [{"role": "system", "content": "Context: {{ steps.draft.output }}"},
                             {"role": "user", "content": "Expand {{ item }}"}], "max_tokens": 2, "temperature": 0},
               {"id": "notify", "kind": "transform", "depends_on": ["each"], "when": "params.urgent",
                "expression": "{{ steps.each.json | length }}"}
             ],
             "output": "{{ steps.each.json | length }}"}
            """;

    @Test
    void aFanOutRunSucceedsRecordingEachStepAndItemOnce() throws Exception {
        Client op = as("olga", "operator");
        Client user = as("ursula", "user");
        assertThat(op.post("/v1/workflows", FAN_OUT.formatted("fan-out")).status()).isEqualTo(201);
        Client.Response started = user.post("/v1/workflows/fan-out/runs",
                "{\"params\": {\"topic\": \"tides\", \"items\": [\"a\", \"b\", \"c\", \"d\"], \"urgent\": false},"
                        + " \"priority\": 5}");
        assertThat(started.status()).as(started.body()).isEqualTo(201);
        String id = started.json().get("id").asText();
        JsonNode run = waitForEnd(user, id);
        assertThat(run.get("status").asText()).as(run.toString()).isEqualTo("succeeded");
        assertThat(run.get("output").asInt()).isEqualTo(4);
        JsonNode draft = step(run, "draft");
        assertThat(draft.get("status").asText()).isEqualTo("succeeded");
        assertThat(draft.get("attempts").asInt()).isEqualTo(1);
        assertThat(draft.at("/input/messages/0/content").asText()).isEqualTo("Write about tides");
        assertThat(draft.at("/input/priority").asInt()).isEqualTo(5);
        assertThat(draft.at("/tokens/completion").asInt()).isBetween(1, 3);
        JsonNode each = step(run, "each");
        assertThat(each.get("items")).hasSize(4);
        for (JsonNode item : each.get("items")) {
            assertThat(item.get("status").asText()).isEqualTo("succeeded");
            assertThat(item.get("attempts").asInt()).isEqualTo(1);
            assertThat(item.at("/input/messages/1/content").asText()).isEqualTo("Expand " + item.get("item").asText());
            assertThat(item.at("/input/messages/0/content").asText()).isEqualTo("Context: " + draft.get("output").asText());
        }
        assertThat(step(run, "notify").get("status").asText()).isEqualTo("skipped");
        // Each result recorded once, as the run in the grid says; a skipped step records none.
        assertThat(draft.get("results_recorded").asInt()).isEqualTo(1);
        each.get("items").forEach(item -> assertThat(item.get("results_recorded").asInt()).isEqualTo(1));
        assertThat(step(run, "notify").get("results_recorded").asInt()).isZero();

        Client.Response missing = user.post("/v1/workflows/fan-out/runs", "{\"params\": {\"topic\": \"x\"}}");
        assertThat(missing.status()).isEqualTo(400);
        assertThat(missing.json().at("/error/pointer").asText()).startsWith("/params");
        assertThat(user.post("/v1/workflows/no-such/runs", "{}").status()).isEqualTo(404);
        assertThat(user.post("/v1/workflows/fan-out/runs", "{\"params\": {}, \"colour\": 1}").status()).isEqualTo(400);
    }

    @Test
    void anHttpStepRetriesWithBackoffUnderOneIdempotencyKeyPerAttempt() throws Exception {
        Client op = as("olga", "operator");
        String template = """
                {"name": "hook",
                 "params": {"type": "object", "properties": {"ticket": {"type": "string"}}},
                 "steps": [
                   {"id": "call", "kind": "http", "url": "%s", "body": {"ticket": "{{ params.ticket }}", "n": 2},
                    "headers": {"X-Ticket": "{{ params.ticket }}"},
                    "retry": {"max_attempts": 3, "backoff": "exponential", "initial_ms": 100, "max_ms": 1000}},
                   {"id": "shape", "kind": "transform", "depends_on": ["call"],
                    "expression": "{{ steps.call.json.echo.ticket | upper }}"},
                   {"id": "blocked", "kind": "http", "depends_on": ["shape"], "url": "http://example.com/x",
                    "continue_on_error": true}
                 ],
                 "output": "{{ steps.shape.output }}"}
                """.formatted(hooks.url("/retry"));
        assertThat(op.post("/v1/workflows", template).status()).isEqualTo(201);
        hooks.failures.set(2);
        int before = hooks.calls.size();
        String id = op.post("/v1/workflows/hook/runs", "{\"params\": {\"ticket\": \"t-7\"}}").json().get("id").asText();
        JsonNode run = waitForEnd(op, id);
        assertThat(run.get("status").asText()).as(run.toString()).isEqualTo("succeeded");
        assertThat(run.get("output").asText()).isEqualTo("T-7");
        JsonNode call = step(run, "call");
        assertThat(call.get("attempts").asInt()).as(hooks.calls + " " + run).isEqualTo(3);
        List<HookServer.Call> calls = hooks.calls.subList(before, hooks.calls.size());
        assertThat(calls).extracting(HookServer.Call::idempotencyKey)
                .containsExactly(id + "/call/1", id + "/call/2", id + "/call/3");
        assertThat(calls.get(0).body()).isEqualTo("{\"ticket\":\"t-7\",\"n\":2}");
        assertThat(calls.get(1).atMillis() - calls.get(0).atMillis()).isGreaterThanOrEqualTo(100);
        assertThat(calls.get(2).atMillis() - calls.get(1).atMillis()).isGreaterThanOrEqualTo(200);
        JsonNode blocked = step(run, "blocked");
        assertThat(blocked.get("status").asText()).isEqualTo("failed");
        assertThat(blocked.get("error").asText()).contains("example.com").contains("--workflow-http-allow");
    }

    @Test
    void runsAreCancelledAndSeenOnlyByThoseAllowed() throws Exception {
        Client op = as("olga", "operator");
        Client owner = as("uwe", "user");
        Client other = as("ulla", "user");
        Client auditor = as("ada", "auditor");
        String template = """
                {"name": "slow", "steps": [
                   {"id": "wait", "kind": "http", "url": "%s", "method": "GET"},
                   {"id": "after", "kind": "transform", "depends_on": ["wait"], "expression": "{{ 1 }}"}]}
                """.formatted(hooks.url("/slow"));
        assertThat(op.post("/v1/workflows", template).status()).isEqualTo(201);
        hooks.gate = new java.util.concurrent.CountDownLatch(1);
        try {
            assertThat(auditor.post("/v1/workflows/slow/runs", "{}").status()).isEqualTo(403);
            String id = owner.post("/v1/workflows/slow/runs", "{}").json().get("id").asText();
            await().atMost(Duration.ofSeconds(30)).until(() ->
                    step(owner.get("/v1/workflow-runs/" + id).json(), "wait").get("status").asText().equals("running"));
            assertThat(other.get("/v1/workflow-runs/" + id).status()).isEqualTo(404);
            assertThat(other.post("/v1/workflow-runs/" + id + "/cancel", "").status()).isEqualTo(404);
            assertThat(auditor.get("/v1/workflow-runs/" + id).status()).isEqualTo(200);
            assertThat(auditor.post("/v1/workflow-runs/" + id + "/cancel", "").status()).isEqualTo(403);
            Client.Response cancelled = owner.post("/v1/workflow-runs/" + id + "/cancel", "");
            assertThat(cancelled.status()).as(cancelled.body()).isEqualTo(200);
            JsonNode run = waitForEnd(owner, id);
            assertThat(run.get("status").asText()).isEqualTo("cancelled");
            assertThat(step(run, "after").get("status").asText()).isEqualTo("skipped");
            assertThat(owner.post("/v1/workflow-runs/" + id + "/cancel", "").status()).isEqualTo(409);
            String events = owner.get("/v1/workflow-runs/" + id + "/events").body();
            assertThat(events).contains("event: run").contains("event: done").contains("\"cancelled\"");
        } finally {
            hooks.gate.countDown();
        }
    }

    @Test
    void runsAreListedNewestFirstInPagesUsersSeeingTheirOwn() throws Exception {
        Client op = as("olga", "operator");
        Client lisa = as("lisa", "user");
        Client lars = as("lars", "user");
        Client auditor = as("ada", "auditor");
        assertThat(op.post("/v1/workflows", "{\"name\": \"listed\", \"steps\": [{\"id\": \"one\","
                + " \"kind\": \"transform\", \"expression\": \"{{ 1 }}\"}]}").status()).isEqualTo(201);
        List<String> mine = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            mine.add(0, lisa.post("/v1/workflows/listed/runs", "{}").json().get("id").asText());
            Thread.sleep(3); // distinct creation times: the list is newest first
        }
        Thread.sleep(3);
        String his = lars.post("/v1/workflows/listed/runs", "{}").json().get("id").asText();
        for (String id : mine) {
            assertThat(waitForEnd(lisa, id).get("status").asText()).isEqualTo("succeeded");
        }
        waitForEnd(lars, his);

        JsonNode first = lisa.get("/v1/workflow-runs?workflow=listed&limit=2").json();
        assertThat(first.get("object").asText()).isEqualTo("list");
        assertThat(ids(first)).containsExactly(mine.get(0), mine.get(1));
        assertThat(first.get("has_more").asBoolean()).isTrue();
        assertThat(first.get("last_id").asText()).isEqualTo(mine.get(1));
        JsonNode row = first.get("data").get(0);
        assertThat(row.get("status").asText()).isEqualTo("succeeded");
        assertThat(row.get("owner").asText()).isEqualTo("lisa");
        assertThat(row.at("/steps/0/id").asText()).isEqualTo("one");
        assertThat(row.at("/steps/0/status").asText()).isEqualTo("succeeded");
        JsonNode second = lisa.get("/v1/workflow-runs?workflow=listed&limit=2&after=" + mine.get(1)).json();
        assertThat(ids(second)).containsExactly(mine.get(2));
        assertThat(second.get("has_more").asBoolean()).isFalse();

        assertThat(ids(auditor.get("/v1/workflow-runs?workflow=listed&status=succeeded").json()))
                .containsExactly(his, mine.get(0), mine.get(1), mine.get(2));
        assertThat(ids(lars.get("/v1/workflow-runs?workflow=listed").json())).containsExactly(his);
        assertThat(lisa.get("/v1/workflow-runs?workflow=listed&status=failed").json().get("data")).isEmpty();
        assertThat(lisa.get("/v1/workflow-runs?after=" + his).json().at("/error/param").asText()).isEqualTo("after");
        assertThat(lisa.get("/v1/workflow-runs?status=done").json().at("/error/param").asText()).isEqualTo("status");
        assertThat(lisa.get("/v1/workflow-runs?limit=0").status()).isEqualTo(400);
        assertThat(lisa.get("/v1/workflow-runs?owner=lars").json().at("/error/param").asText()).isEqualTo("owner");
        assertThat(anonymous.get("/v1/workflow-runs").status()).isEqualTo(401);
    }

    @Test
    void theEventsOfARunInFlightArriveAsItMoves() throws Exception {
        Client op = as("olga", "operator");
        String template = """
                {"name": "streamed", "steps": [
                   {"id": "wait", "kind": "http", "url": "%s", "method": "GET"},
                   {"id": "after", "kind": "transform", "depends_on": ["wait"], "expression": "{{ 2 }}"}]}
                """.formatted(hooks.url("/stream"));
        assertThat(op.post("/v1/workflows", template).status()).isEqualTo(201);
        hooks.gate = new java.util.concurrent.CountDownLatch(1);
        try {
            String id = op.post("/v1/workflows/streamed/runs", "{}").json().get("id").asText();
            await().atMost(Duration.ofSeconds(30)).until(() ->
                    step(op.get("/v1/workflow-runs/" + id).json(), "wait").get("status").asText().equals("running"));
            java.net.http.HttpRequest request = java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create(op.base() + "/v1/workflow-runs/" + id + "/events"))
                    .header("Authorization", "Bearer " + op.token()).GET().build();
            java.net.http.HttpResponse<java.util.stream.Stream<String>> response = java.net.http.HttpClient
                    .newHttpClient().send(request, java.net.http.HttpResponse.BodyHandlers.ofLines());
            assertThat(response.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
            java.util.Iterator<String> lines = response.body().iterator();
            List<String> before = new java.util.ArrayList<>();
            org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
                // The run as it is now: the run, then each step.
                while (before.stream().filter(l -> l.startsWith("event:")).count() < 3) {
                    before.add(lines.next());
                }
            });
            assertThat(String.join("\n", before)).contains("event: run").contains("\"status\":\"running\"")
                    .doesNotContain("\"status\":\"succeeded\"");
            hooks.gate.countDown();
            StringBuilder after = new StringBuilder();
            org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
                while (lines.hasNext()) {
                    after.append(lines.next()).append('\n');
                }
            });
            assertThat(after.toString()).contains("event: step").contains("\"id\":\"wait\",\"status\":\"succeeded\"")
                    .contains("\"id\":\"after\",\"status\":\"succeeded\"").contains("event: done")
                    .endsWith("\n\n");
            assertThat(after.toString().indexOf("event: done")).isGreaterThan(after.toString().indexOf("event: step"));
        } finally {
            hooks.gate.countDown();
        }
    }

    static List<String> ids(JsonNode list) {
        List<String> out = new java.util.ArrayList<>();
        list.get("data").forEach(r -> out.add(r.get("id").asText()));
        return out;
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
