package org.autoglm.node.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.autoglm.node.cli.ServeCommand;
import org.autoglm.node.engine.ReferenceCases;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code GET} and {@code POST /cluster/members} over real HTTP on a one-node cluster started by {@code serve}: the
 * voting set as it starts, bad bodies refused with the field named, the last voter kept, and a change that leaves this
 * node without a majority of the new voters refusing the next change (the other side could be changing them too).
 * The node ends without a quorum, so this class has a node of its own.
 */
class ClusterMembersRoutesTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final int GRID_PORT = gridPort(21450);
    private static ServeCommand.RunningNode node;
    private static String base;

    @BeforeAll
    static void start() throws Exception {
        CommandLine cli = new CommandLine(new ServeCommand());
        cli.parseArgs("--model", ReferenceCases.fixturesDir().resolve("glm-tiny").toString(), "--port", "0",
                "--num-kv-blocks", "64", "--block-size", "4", "--node-name", "solo",
                "--grid-port", Integer.toString(GRID_PORT));
        node = ((ServeCommand) cli.getCommand()).start();
        base = "http://127.0.0.1:" + node.port();
        await().atMost(Duration.ofSeconds(120)).until(() -> get("/cluster/members").statusCode() == 200
                && JSON.readTree(get("/cluster/members").body()).path("voters").size() == 1);
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void membersAreListedChangedOnlyWithAMajorityAndBadBodiesAreRefused() throws Exception {
        JsonNode members = JSON.readTree(get("/cluster/members").body());
        assertThat(members.get("voters")).extracting(JsonNode::asText).containsExactly("solo");
        assertThat(members.get("seats").asInt()).isEqualTo(1);
        assertThat(members.get("quorum").asInt()).isEqualTo(1);
        assertThat(members.get("removed")).isEmpty();
        assertThat(members.get("has_quorum").asBoolean()).isTrue();
        await().atMost(Duration.ofSeconds(10)).until(() ->
                JSON.readTree(get("/cluster/members").body()).get("visible").size() == 1);
        JsonNode self = JSON.readTree(get("/cluster/members").body()).get("visible").get(0);
        assertThat(self.get("name").asText()).isEqualTo("solo");
        assertThat(self.get("voter").asBoolean()).isTrue();
        assertThat(self.get("removed").asBoolean()).isFalse();

        assertBad(post("not json"), "not valid JSON");
        assertBad(post("{}"), "exactly one of");
        assertBad(post("{\"add\": \"a\", \"remove\": \"b\"}"), "exactly one of");
        assertBad(post("{\"promote\": \"a\"}"), "exactly one of");
        assertBad(post("{\"add\": 5}"), "'add' must be a node name");
        assertBad(post("{\"remove\": \"  \"}"), "'remove' must be a node name");

        HttpResponse<String> last = post("{\"remove\": \"solo\"}");
        assertThat(last.statusCode()).isEqualTo(409);
        assertThat(last.body()).contains("last voter");

        HttpResponse<String> added = post("{\"add\": \"ghost\"}");
        assertThat(added.statusCode()).isEqualTo(200);
        JsonNode after = JSON.readTree(added.body());
        assertThat(after.get("voters")).extracting(JsonNode::asText).containsExactlyInAnyOrder("solo", "ghost");
        assertThat(after.get("quorum").asInt()).isEqualTo(2);
        assertThat(after.get("has_quorum").asBoolean()).isFalse(); // ghost has not joined: 1 of 2 voters in view

        HttpResponse<String> refused = post("{\"remove\": \"ghost\"}");
        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(refused.body()).contains("no majority");
    }

    private static void assertBad(HttpResponse<String> response, String message) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
        assertThat(response.body()).contains(message);
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> post(String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base + "/cluster/members"))
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** In this test's grid port range, moved by the suite's port offset where the communication port still fits. */
    private static int gridPort(int port) {
        int moved = port + Integer.getInteger("autoglm.test.portOffset", 0);
        return moved + 1000 <= 65535 ? moved : port;
    }
}
