package org.autoglm.node.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Groups, scoped operators and signed commands on three real nodes (see {@link ControlCluster}). */
class GroupControlTest {

    @TempDir
    static Path dir;
    static ControlCluster cluster;
    static final String OPS_A = ControlCluster.token("olga", List.of("operator"), List.of("a"));

    @BeforeAll
    static void start() throws Exception {
        cluster = new ControlCluster(dir);
    }

    @AfterAll
    static void stop() {
        if (cluster != null) cluster.close();
    }

    @Test
    void nodesShowGroupsAndScopedOperatorsAreRefusedOutsideThem() throws Exception {
        JsonNode nodes = ControlCluster.JSON.readTree(cluster.get(0, "/cluster/nodes", OPS_A).body());
        assertThat(nodes).hasSize(3);
        for (JsonNode n : nodes) {
            String expected = ControlCluster.GROUPS.get(ControlCluster.NAMES.indexOf(n.get("name").asText()));
            assertThat(n.get("groups")).extracting(JsonNode::asText).containsExactly(expected);
        }
        HttpResponse<String> other = cluster.post(0, "/cluster/nodes/c/drain", OPS_A, "", null);
        assertThat(other.statusCode()).isEqualTo(403);
        assertThat(other.body()).contains("group(s) [b]").contains("[a]");
        HttpResponse<String> local = cluster.post(2, "/admin/drain", OPS_A, "", null);
        assertThat(local.statusCode()).isEqualTo(403);
        assertThat(local.body()).contains("[b]");
    }

    @Test
    void aSignedDrainReachesItsGroupAndIsAckedByEachNode() throws Exception {
        String body = ControlCluster.body("drain", "{\"groups\":[\"a\"]}", "{}", "ops-a");
        HttpResponse<String> posted = cluster.command(2, OPS_A, body, cluster.opsA);
        assertThat(posted.statusCode()).as(posted.body()).isEqualTo(201);
        String id = ControlCluster.JSON.readTree(posted.body()).get("id").asText();
        JsonNode done = cluster.awaitSettled(id);
        assertThat(done.get("nodes").fieldNames()).toIterable().containsExactly("a", "b");
        assertThat(done.at("/nodes/a/state").asText()).isEqualTo("done");
        assertThat(done.at("/nodes/b/result/draining").asBoolean()).isTrue();
        await().atMost(Duration.ofSeconds(5)).until(() -> cluster.get(1, "/ready", OPS_A).statusCode() == 503);
        assertThat(cluster.get(2, "/ready", OPS_A).statusCode()).isEqualTo(200);
        JsonNode nodes = ControlCluster.JSON.readTree(cluster.get(2, "/cluster/nodes", OPS_A).body());
        assertThat(nodes.findValues("draining")).extracting(JsonNode::asBoolean).containsExactly(true, true, false);

        String again = ControlCluster.body("undrain", "{\"nodes\":[\"a\",\"b\"]}", "{}", "ops-a");
        String undrain = ControlCluster.JSON.readTree(cluster.command(0, OPS_A, again, cluster.opsA).body())
                .get("id").asText();
        assertThat(cluster.awaitSettled(undrain).get("summary").get("done").asInt()).isEqualTo(2);
        await().atMost(Duration.ofSeconds(5)).until(() -> cluster.get(1, "/ready", OPS_A).statusCode() == 200);
    }

    @Test
    void badSignaturesReplaysExpiryAndScopeAreRefused() throws Exception {
        String body = ControlCluster.body("diagnostics", "{\"groups\":[\"a\"]}", "{}", "ops-a");
        HttpResponse<String> unsigned = cluster.post(0, "/cluster/commands", OPS_A, body, null);
        assertThat(unsigned.statusCode()).isEqualTo(401);
        assertThat(unsigned.body()).contains("X-Command-Signature");
        String forged = CommandSignature.sign(cluster.root.getPrivate(), body); // signed by another key than key_id
        HttpResponse<String> wrong = cluster.post(0, "/cluster/commands", OPS_A, body, forged);
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(wrong.body()).contains("does not match");
        String tampered = body.replace("\"args\":{}", "\"args\":{ }");
        // whitespace is not part of the canonical form: still valid
        assertThat(cluster.post(0, "/cluster/commands", OPS_A, tampered,
                CommandSignature.sign(cluster.opsA.getPrivate(), body)).statusCode()).isEqualTo(201);
        HttpResponse<String> replay = cluster.command(1, OPS_A, body, cluster.opsA);
        assertThat(replay.statusCode()).isEqualTo(409);
        assertThat(replay.body()).contains("nonce");

        String groupB = ControlCluster.body("drain", "{\"groups\":[\"b\"]}", "{}", "ops-a");
        HttpResponse<String> outOfKeyScope = cluster.command(0, ControlCluster.admin(), groupB, cluster.opsA);
        assertThat(outOfKeyScope.statusCode()).isEqualTo(403);
        assertThat(outOfKeyScope.body()).contains("'b'");
        String rootSigned = ControlCluster.body("drain", "{\"nodes\":[\"c\"]}", "{}", "root");
        HttpResponse<String> outOfTokenScope = cluster.command(0, OPS_A, rootSigned, cluster.root);
        assertThat(outOfTokenScope.statusCode()).isEqualTo(403);
        assertThat(outOfTokenScope.body()).contains("group(s) [b]");

        String expired = body.replaceAll("\"expires_at\":\\d+", "\"expires_at\":1000").replace("diagnostics", "undrain");
        assertThat(cluster.command(0, OPS_A, expired, cluster.opsA).statusCode()).isEqualTo(400);
        String unknownField = body.replace("\"op\"", "\"extra\":1,\"op\"");
        HttpResponse<String> unknown = cluster.command(0, OPS_A, unknownField, cluster.opsA);
        assertThat(unknown.statusCode()).isEqualTo(400);
        assertThat(unknown.body()).contains("extra");
    }

    @Test
    void everyNodeRunsDiagnosticsReloadAndLogLevelAndAcksWithinASecond() throws Exception {
        List<Long> ackMillis = new ArrayList<>();
        for (int round = 0; round < 10; round++) {
            String body = ControlCluster.body("set-log-level", "{\"all\":true}",
                    "{\"level\":\"info\",\"logger\":\"org.autoglm.test\"}", "root");
            String id = ControlCluster.JSON.readTree(cluster.command(round % 3, ControlCluster.admin(), body, cluster.root)
                    .body()).get("id").asText();
            JsonNode settled = cluster.awaitSettled(id);
            assertThat(settled.get("summary").get("done").asInt()).as(settled.toString()).isEqualTo(3);
            settled.get("nodes").forEach(n -> ackMillis.add(n.get("ack_ms").asLong()));
        }
        ackMillis.sort(null);
        System.out.printf("command acks from 3 nodes: n=%d p50=%d ms p99=%d ms max=%d ms%n", ackMillis.size(),
                ackMillis.get(ackMillis.size() / 2), ackMillis.get((int) Math.ceil(ackMillis.size() * 0.99) - 1),
                ackMillis.get(ackMillis.size() - 1));

        String diag = ControlCluster.body("diagnostics", "{\"all\":true}", "{}", "root");
        JsonNode d = cluster.awaitSettled(ControlCluster.JSON.readTree(cluster.command(0, ControlCluster.admin(), diag,
                cluster.root).body()).get("id").asText());
        assertThat(d.at("/nodes/c/result/threads").size()).isPositive();
        assertThat(d.at("/nodes/a/result/engine/model").asText()).isEqualTo("glm-tiny");

        String reload = ControlCluster.body("reload-config", "{\"groups\":[\"a\"]}",
                "{\"max_waiting\":7,\"scheduling_policy\":\"priority\"}", "ops-a");
        JsonNode r = cluster.awaitSettled(ControlCluster.JSON.readTree(cluster.command(0, OPS_A, reload, cluster.opsA)
                .body()).get("id").asText());
        assertThat(r.at("/nodes/a/result/engine/max_waiting").asInt()).isEqualTo(7);
        assertThat(cluster.nodes[1].state().current().engine().options().schedulingPolicy()).isEqualTo("priority");
        assertThat(cluster.nodes[2].state().current().engine().options().maxWaiting()).isNotEqualTo(7);

        String badReload = ControlCluster.body("reload-config", "{\"all\":true}", "{\"block_size\":8}", "root");
        HttpResponse<String> refused = cluster.command(0, ControlCluster.admin(), badReload, cluster.root);
        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(refused.body()).contains("block_size");
    }
}
