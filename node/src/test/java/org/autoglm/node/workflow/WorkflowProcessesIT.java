package org.autoglm.node.workflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.autoglm.node.api.JsonBody;
import org.autoglm.node.cluster.ServeProcess;
import org.autoglm.node.engine.ReferenceCases;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Three {@code serve} processes of the real jar (glm-tiny): runs of a template without {@code retry} are started on
 * all three, and one node (driving a third of the runs and running a share of every run's llm requests) is killed
 * with {@code kill -9} while they are in flight. Every run succeeds: the dead node's runs are taken over, and a
 * step whose request the cluster could not finish is sent again without counting as the step's failure. Each
 * step's and item's result is the one a direct request gets, with its tokens counted once.
 */
class WorkflowProcessesIT {

    private static final int GRID = 21110 + Integer.getInteger("autoglm.test.portOffset", 0);
    private static final String PEERS = "127.0.0.1:" + GRID + ".." + (GRID + 2);
    private static final int RUNS_PER_NODE = 8;
    private static final int MAX_TOKENS = 24;
    private static final List<String> ITEMS = List.of("a", "b", "c", "d");

    private static final String TEMPLATE = """
            {"name": "kill-nine",
             "params": {"type": "object", "properties": {"topic": {"type": "string"}}, "required": ["topic"]},
             "steps": [
               {"id": "first", "kind": "llm", "prompt": "Write about {{ params.topic }}", "max_tokens": %1$d,
                "temperature": 0},
               {"id": "each", "kind": "llm", "depends_on": ["first"], "for_each": "{{ %2$s }}",
                "prompt": "Part {{ item }} of {{ params.topic }}", "max_tokens": %1$d, "temperature": 0},
               {"id": "last", "kind": "llm", "depends_on": ["each"], "prompt": "Sum up {{ params.topic }}",
                "max_tokens": %1$d, "temperature": 0}],
             "output": "{{ steps.last.output }}"}
            """.formatted(MAX_TOKENS, "['a', 'b', 'c', 'd']");

    private final List<ServeProcess> nodes = new ArrayList<>();

    @AfterEach
    void stop() {
        nodes.forEach(ServeProcess::stop);
    }

    @Test
    void killingANodeMidRunFailsNoRunAndRecordsEachResultOnce() throws Exception {
        assumeTrue(System.getProperty("autoglm.node.jar") != null, "runs in the integration-test phase (mvn verify)");
        Path jar = Path.of(System.getProperty("autoglm.node.jar"));
        Path model = ReferenceCases.fixturesDir().resolve("glm-tiny");
        Path logs = Path.of("target", "workflow-processes");
        for (int i = 0; i < 3; i++) {
            // Failure detection of 5 s: a loaded machine must not cut off a live node, and the dead one goes soon.
            nodes.add(new ServeProcess("wf" + i, jar, model, GRID + i, PEERS, 3, logs,
                    "--grid-failure-detection", "5000"));
        }
        for (ServeProcess node : nodes) {
            node.start(); // all at once: a lone node of three is never ready
        }
        for (ServeProcess node : nodes) {
            await().atMost(Duration.ofSeconds(300)).until(() -> node.answers("/ready"));
        }
        ServeProcess entry = nodes.get(0);
        JsonNode created = JsonBody.MAPPER.readTree(post(entry, "/v1/workflows", TEMPLATE));
        assertThat(created.has("version")).as(created.toString()).isTrue();

        // Runs started on a node are driven by it: each node drives some.
        Map<String, String> topics = new HashMap<>();
        for (int i = 0; i < RUNS_PER_NODE; i++) {
            for (ServeProcess node : nodes) {
                String topic = "topic " + topics.size();
                JsonNode run = JsonBody.MAPPER.readTree(post(node, "/v1/workflows/kill-nine/runs",
                        "{\"params\": {\"topic\": \"" + topic + "\"}}"));
                assertThat(run.has("id")).as(run.toString()).isTrue();
                topics.put(run.get("id").asText(), topic);
            }
        }
        // Kill once llm requests are running all over the cluster, before the first run can have ended.
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).ignoreExceptions()
                .until(() -> JsonBody.MAPPER.readTree(get(entry, "/v1/workflow-runs?status=running&limit=100"))
                        .get("data").size() >= topics.size() / 2);
        ServeProcess victim = nodes.get(2);
        victim.kill();

        Map<String, JsonNode> ended = new HashMap<>();
        await().atMost(Duration.ofSeconds(240)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(() -> {
            for (String id : topics.keySet()) {
                if (!ended.containsKey(id)) {
                    JsonNode run = JsonBody.MAPPER.readTree(get(entry, "/v1/workflow-runs/" + id));
                    if (List.of("succeeded", "failed", "cancelled").contains(run.get("status").asText())) {
                        ended.put(id, run);
                    }
                }
            }
            return ended.size() == topics.size();
        });

        Map<String, JsonNode> reference = new HashMap<>();
        int resent = 0;
        for (JsonNode run : ended.values()) {
            assertThat(run.get("status").asText()).as(run.toString()).isEqualTo("succeeded");
            String topic = topics.get(run.get("id").asText());
            resent += check(entry, reference, WorkflowApiTest.step(run, "first"), "Write about " + topic);
            resent += check(entry, reference, WorkflowApiTest.step(run, "last"), "Sum up " + topic);
            JsonNode each = WorkflowApiTest.step(run, "each");
            assertThat(each.get("items")).hasSize(ITEMS.size());
            for (JsonNode item : each.get("items")) {
                resent += check(entry, reference, item, "Part " + item.get("item").asText() + " of " + topic);
            }
        }
        System.out.println("kill -9 of " + victim.name + ": " + ended.size() + " runs succeeded, " + resent
                + " steps or items sent again");
    }

    /** A POST with room for a loaded machine (a grid transaction there can take seconds). */
    private static String post(ServeProcess node, String path, String body) throws Exception {
        return ServeProcess.HTTP.send(HttpRequest.newBuilder(node.uri(path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    private static String get(ServeProcess node, String path) throws Exception {
        return ServeProcess.HTTP.send(HttpRequest.newBuilder(node.uri(path)).timeout(Duration.ofSeconds(30)).GET()
                .build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    /**
     * A step (or item) succeeded with the answer a direct request for {@code prompt} gets and that answer's tokens
     * (a result recorded twice would count them twice); attempts beyond the first were all the cluster's.
     *
     * @return attempts made beyond the first
     */
    private static int check(ServeProcess entry, Map<String, JsonNode> reference, JsonNode unit, String prompt)
            throws Exception {
        assertThat(unit.get("status").asText()).as(unit.toString()).isEqualTo("succeeded");
        JsonNode direct = reference.get(prompt);
        if (direct == null) {
            String body = JsonBody.MAPPER.createObjectNode().put("max_tokens", MAX_TOKENS).put("temperature", 0)
                    .set("messages", JsonBody.MAPPER.readTree("[{\"role\": \"user\", \"content\": "
                            + JsonBody.MAPPER.writeValueAsString(prompt) + "}]")).toString();
            direct = JsonBody.MAPPER.readTree(post(entry, "/v1/chat/completions", body));
            reference.put(prompt, direct);
        }
        assertThat(unit.get("output").asText()).as(prompt).isEqualTo(direct.at("/choices/0/message/content").asText());
        assertThat(unit.at("/tokens/completion").asInt()).as(unit.toString())
                .isEqualTo(direct.at("/usage/completion_tokens").asInt());
        assertThat(unit.at("/tokens/prompt").asInt()).isEqualTo(direct.at("/usage/prompt_tokens").asInt());
        int attempts = unit.get("attempts").asInt();
        assertThat(attempts - unit.get("cluster_retries").asInt()).as(unit.toString()).isEqualTo(1);
        return attempts - 1;
    }
}
