package org.autoglm.node.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import org.autoglm.node.cli.ServeCommand;
import org.autoglm.node.engine.ReferenceCases;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code /cluster/*} over real HTTP on a one-node cluster started by {@code serve}, and the cluster flags' errors. */
class ClusterRoutesTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static ServeCommand.RunningNode node;
    private static String base;

    @BeforeAll
    static void start() throws Exception {
        CommandLine cli = new CommandLine(new ServeCommand());
        cli.parseArgs("--model", ReferenceCases.fixturesDir().resolve("glm-tiny").toString(), "--port", "0", "--num-kv-blocks", "256",
                "--block-size", "4", "--node-name", "solo", "--grid-port", "27740", "--tags", "gpu,eu");
        node = ((ServeCommand) cli.getCommand()).start();
        await().atMost(Duration.ofSeconds(120)).until(() -> node.state().isReady()
                || node.state().notReadyReason().startsWith("model failed"));
        base = "http://127.0.0.1:" + node.port();
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void nodesLeaderAndHealthDescribeTheCluster() throws Exception {
        await().atMost(Duration.ofSeconds(10)).until(() -> get("/cluster/health").statusCode() == 200);
        JsonNode nodes = JSON.readTree(get("/cluster/nodes").body());
        assertThat(nodes).hasSize(1);
        JsonNode solo = nodes.get(0);
        assertThat(solo.get("name").asText()).isEqualTo("solo");
        assertThat(solo.get("id").asText()).isNotBlank();
        assertThat(solo.get("health").asText()).isEqualTo("healthy");
        assertThat(solo.get("draining").asBoolean()).isFalse();
        assertThat(solo.get("tags")).extracting(JsonNode::asText).containsExactly("gpu", "eu");
        assertThat(solo.get("endpoint").asText()).isEqualTo(base);
        assertThat(solo.get("model").asText()).isEqualTo("glm-tiny");
        assertThat(solo.get("load").has("running")).isTrue();
        assertThat(solo.get("load").has("kv_usage")).isTrue();

        JsonNode leader = JSON.readTree(get("/cluster/leader").body());
        assertThat(leader.get("node").asText()).isEqualTo("solo");
        assertThat(leader.get("term").asLong()).isPositive();
        assertThat(Instant.parse(leader.get("lease_expires_at").asText())).isAfter(Instant.now().minusSeconds(60));

        JsonNode health = JSON.readTree(get("/cluster/health").body());
        assertThat(health.get("status").asText()).isEqualTo("healthy");
        assertThat(health.get("problems")).isEmpty();
    }

    @Test
    void drainingByNameOrIdIsVisibleAndUnknownNodesAre404() throws Exception {
        String id = JSON.readTree(get("/cluster/nodes").body()).get(0).get("id").asText();
        HttpResponse<String> drained = post("/cluster/nodes/solo/drain");
        assertThat(drained.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(drained.body()).get("draining").asBoolean()).isTrue();
        assertThat(JSON.readTree(get("/cluster/nodes").body()).get(0).get("draining").asBoolean()).isTrue();
        assertThat(post("/cluster/nodes/" + id + "/undrain").statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(get("/cluster/nodes").body()).get(0).get("draining").asBoolean()).isFalse();

        HttpResponse<String> unknown = post("/cluster/nodes/nobody/drain");
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(unknown.body()).contains("nobody").contains("GET /cluster/nodes");
    }

    @Test
    void adminDrainAndClusterDrainAreOneState() throws Exception {
        assertThat(post("/admin/drain").statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(5)).until(() ->
                JSON.readTree(get("/cluster/nodes").body()).get(0).get("draining").asBoolean());
        assertThat(get("/ready").statusCode()).isEqualTo(503);
        assertThat(post("/cluster/nodes/solo/undrain").statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(5)).until(() -> get("/ready").statusCode() == 200);
        assertThat(JSON.readTree(get("/admin/requests").body()).get("draining").asBoolean()).isFalse();

        assertThat(post("/cluster/nodes/solo/drain").statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(5)).until(() -> get("/ready").statusCode() == 503);
        assertThat(get("/ready").body()).contains("draining");
        assertThat(JSON.readTree(get("/admin/requests").body()).get("draining").asBoolean()).isTrue();
        assertThat(post("/admin/undrain").statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(5)).until(() ->
                !JSON.readTree(get("/cluster/nodes").body()).get(0).get("draining").asBoolean());
        assertThat(get("/ready").statusCode()).isEqualTo(200);
    }

    @Test
    void badClusterFlagsAreRefusedWithTheFlagNamed() {
        CommandLine peers = new CommandLine(new ServeCommand());
        peers.parseArgs("--port", "0", "--peers", "10.0.0.5");
        assertThatThrownBy(() -> ((ServeCommand) peers.getCommand()).start()).hasMessageContaining("--peers")
                .hasMessageContaining("10.0.0.5");
        CommandLine expected = new CommandLine(new ServeCommand());
        expected.parseArgs("--port", "0", "--expected-nodes", "0");
        assertThatThrownBy(() -> ((ServeCommand) expected.getCommand()).start()).hasMessageContaining("--expected-nodes");
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> post(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
    }

}
