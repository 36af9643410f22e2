package org.autoglm.node.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.ignite.failure.FailureContext;
import org.apache.ignite.failure.FailureType;
import org.apache.ignite.internal.IgniteEx;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.gossip.queue.RequestState;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node the cluster segments while it runs streamed requests (see {@link ControlCluster}; grid ports 21000..21002):
 * Ignite's own segmentation handling stops its grid node, its requests fail over (the event and the metric say so),
 * and the node rejoins on a fresh grid node. Its control plane follows: it runs the command addressed to its group
 * while it was away, acks and runs new commands (drain shows in the registry under its new grid id), and its events
 * and audit entries still reach the cluster.
 */
class SegmentedNodeTest {

    @TempDir
    static Path dir;
    static ControlCluster cluster;
    private static final String AUDITOR = ControlCluster.token("audrey", List.of("auditor"), null);
    private static final String URSULA = ControlCluster.token("ursula", List.of("user"), null);

    @BeforeAll
    static void start() throws Exception {
        cluster = new ControlCluster(dir, 21000);
    }

    @AfterAll
    static void stop() {
        if (cluster != null) cluster.close();
    }

    @Test
    void aSegmentedNodeFailsItsRequestsOverRejoinsRunsWhatItMissedAndStillAcksAndReports() throws Exception {
        ControlCluster.EventTap tap = cluster.events(1, "");

        // Streamed requests from clients on node a that only c can run (tag y), one at a time there.
        settle(ControlCluster.body("reload-config", "{\"nodes\":[\"c\"]}", "{\"max_num_seqs\":1}", "root"));
        ExecutorService clients = Executors.newFixedThreadPool(16);
        List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            answers.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return cluster.post(0, "/v1/completions", URSULA, "{\"prompt\":\"hold the line\",\"max_tokens\":480,"
                            + "\"ignore_eos\":true,\"stream\":true,\"required_tags\":[\"y\"]}", null);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, clients));
        }
        Cluster c = cluster.nodes[2].cluster().cluster();
        GridNode before = c.grid();
        java.util.UUID cBefore = before.localId();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(5)).until(() ->
                queueOf(0).unfinished().stream().anyMatch(r -> r.state() == RequestState.RUNNING
                        && cBefore.equals(r.assignee())));

        String missed;
        // Held, the node's lock keeps its fresh grid node from being handed to its parts, so the command below is
        // certainly accepted while c's control plane is away: it must find it when it comes back.
        synchronized (c) {
            ((IgniteEx) before.ignite()).context().failure().process(new FailureContext(FailureType.SEGMENTATION, null));
            await().atMost(Duration.ofSeconds(30)).until(() -> !before.running());
            HttpResponse<String> posted = cluster.command(0, ControlCluster.admin(), ControlCluster.body("set-log-level",
                    "{\"groups\":[\"b\"]}", "{\"level\":\"warn\",\"logger\":\"org.autoglm.missed\"}", "root"), cluster.root);
            assertThat(posted.statusCode()).as(posted.body()).isEqualTo(201);
            missed = ControlCluster.JSON.readTree(posted.body()).get("id").asText();
            assertThat(c.grid()).isSameAs(before);
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> c.grid() != before && c.grid().running());
        assertThat(c.grid().localId()).isNotEqualTo(cBefore);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() ->
                "done".equals(command(missed).at("/nodes/c/state").asText()));

        // The requests running or waiting on c moved off it: the node that moved each says so, and counts it.
        JsonNode failedOver = tap.await("request_failed_over", e -> e.at("/data/from").asText().equals("c"));
        assertThat(failedOver.at("/data/request_id").asText()).isNotBlank();
        int mover = ControlCluster.NAMES.indexOf(failedOver.get("node").asText());
        assertThat(failoversTotal(mover)).isPositive();

        // Back in the cluster, c acks and runs new commands; its drain is the one its registry entry shows.
        JsonNode drained = settle(ControlCluster.body("drain", "{\"nodes\":[\"c\"]}", "{}", "root"));
        assertThat(drained.at("/nodes/c/state").asText()).as(drained.toString()).isEqualTo("done");
        assertThat(drained.get("nodes").size()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(10)).until(() -> registryDraining("c"));
        JsonNode undrained = settle(ControlCluster.body("undrain", "{\"nodes\":[\"c\"]}", "{}", "root"));
        assertThat(undrained.at("/nodes/c/state").asText()).isEqualTo("done");
        await().atMost(Duration.ofSeconds(10)).until(() -> !registryDraining("c"));
        String drainId = drained.get("id").asText();
        tap.await("command_acked", e -> e.get("node").asText().equals("c")
                && e.at("/data/command_id").asText().equals(drainId));

        // Its results are in the audit chain, signed under its new grid id, and the chain is intact.
        JsonNode audit = ControlCluster.JSON.readTree(cluster.get(1, "/cluster/audit?since=0&limit=10000", AUDITOR).body());
        List<String> byC = new ArrayList<>();
        audit.get("data").forEach(e -> {
            if (e.get("node").asText().equals("c")) byC.add(e.get("action").asText() + " " + e.get("target").asText());
        });
        assertThat(byC).contains("command set-log-level done " + missed, "command drain done " + drainId);
        JsonNode verdict = ControlCluster.JSON.readTree(cluster.get(2, "/cluster/audit/verify", AUDITOR).body());
        assertThat(verdict.get("status").asText()).as(verdict.toString()).isEqualTo("intact");

        settle(ControlCluster.body("cancel", "{\"all\":true}", "{\"user\":\"ursula\"}", "root"));
        answers.forEach(a -> a.orTimeout(60, TimeUnit.SECONDS).exceptionally(e -> null).join());
        clients.shutdownNow();
        tap.close();
    }

    private static JsonNode command(String id) throws Exception {
        return ControlCluster.JSON.readTree(cluster.get(0, "/cluster/commands/" + id, ControlCluster.admin()).body());
    }

    private static JsonNode settle(String body) throws Exception {
        return cluster.settle(body);
    }

    private static boolean registryDraining(String name) throws Exception {
        JsonNode nodes = ControlCluster.JSON.readTree(cluster.get(0, "/cluster/nodes", ControlCluster.admin()).body());
        for (JsonNode n : nodes) {
            if (n.get("name").asText().equals(name) && n.get("health").asText().equals("healthy")) {
                return n.get("draining").asBoolean();
            }
        }
        return false;
    }

    private static long failoversTotal(int node) throws Exception {
        for (String line : cluster.get(node, "/metrics", AUDITOR).body().split("\n")) {
            if (line.startsWith("autoglm:failovers_total")) {
                return (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError("no autoglm:failovers_total on node " + node);
    }

    private static org.autoglm.gossip.queue.RequestQueue queueOf(int node) {
        return cluster.nodes[node].cluster().cluster().queue();
    }
}
