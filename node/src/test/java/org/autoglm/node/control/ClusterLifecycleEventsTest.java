package org.autoglm.node.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.ignite.failure.FailureContext;
import org.apache.ignite.failure.FailureType;
import org.apache.ignite.internal.IgniteEx;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.node.engine.Completion;
import org.autoglm.node.engine.GenerationListener;
import org.autoglm.node.engine.GenerationRequest;
import org.autoglm.node.engine.TokenDelta;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The life of a node as {@code GET /cluster/events} tells it, on three fresh nodes in this JVM (see
 * {@link ControlCluster}; grid ports 21010..21012, heartbeats every 250 ms, suspect after 1.5 s, dead or stalled after
 * 4 s, failure detection 6 s): a broadcast posted the moment the nodes are ready reaches all of them; the fresh cluster's joins and its
 * leader; drain; an engine that stops stepping while it has work (stalled, then healthy); a node whose heartbeats stop
 * (suspect), whose grid node then goes (dead, and its routes answer 503 meanwhile), whose entry expires (left) and
 * which comes back (joined); and the leader leaving, reported once by its successor.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterLifecycleEventsTest {

    @TempDir
    static Path dir;
    static ControlCluster cluster;
    private static final String USER = ControlCluster.token("ursula", List.of("user"), null);

    @BeforeAll
    static void start() throws Exception {
        // Failure detection longer than the other cluster tests': a node this test stops is stopped on purpose, and a
        // loaded machine then segments none of the others while they form the grid.
        cluster = new ControlCluster(dir, 21010, List.of("--heartbeat-interval", "250ms", "--suspect-after", "1500ms",
                "--dead-after", "4s", "--grid-failure-detection", "6000"));
    }

    @AfterAll
    static void stop() {
        if (cluster != null) cluster.close();
    }

    @Test
    @Order(1)
    void aBroadcastPostedTheMomentEveryNodeIsReadyTargetsEveryNode() throws Exception {
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(5)).until(() -> {
            for (int i = 0; i < 3; i++) if (cluster.get(i, "/ready", USER).statusCode() != 200) return false;
            return true;
        });
        for (int i = 0; i < 3; i++) { // at once, on each node: each must find itself and the others
            HttpResponse<String> posted = cluster.command(i, ControlCluster.admin(), ControlCluster.body("set-log-level",
                    "{\"all\":true}", "{\"level\":\"info\",\"logger\":\"org.autoglm.ready\"}", "root"), cluster.root);
            assertThat(posted.statusCode()).as(posted.body()).isEqualTo(201);
            assertThat(ControlCluster.JSON.readTree(posted.body()).get("nodes").fieldNames()).toIterable()
                    .as("targets of the command posted to node %s", ControlCluster.NAMES.get(i))
                    .containsExactly("a", "b", "c");
        }
    }

    @Test
    @Order(2)
    void theFreshClusterReportsEachNodeJoinedAndItsLeaderWithTheTerm() throws Exception {
        try (ControlCluster.EventTap tap = cluster.events(0, "?replay=1000")) {
            for (String name : ControlCluster.NAMES) {
                JsonNode joined = tap.await("node_joined", e -> e.at("/data/node").asText().equals(name));
                assertThat(joined.at("/data/id").asText()).isNotBlank();
                assertThat(joined.at("/data/health").asText()).isNotBlank();
                assertThat(joined.at("/data/groups/0").asText())
                        .isEqualTo(ControlCluster.GROUPS.get(ControlCluster.NAMES.indexOf(name)));
            }
            JsonNode leader = tap.await("leader_elected", e -> true);
            assertThat(leader.at("/data/term").asLong()).isPositive();
            assertThat(ControlCluster.NAMES).contains(leader.at("/data/node").asText());
            assertThat(leader.get("node").asText()).as("announced by the leader itself").isNotBlank();
        }
    }

    @Test
    @Order(3)
    void aDrainCommandIsReportedDrainingDrainedAndUndrained() throws Exception {
        int[] roles = roles();
        String victim = ControlCluster.NAMES.get(roles[1]);
        try (ControlCluster.EventTap tap = cluster.events(roles[2], "")) {
            cluster.settle(ControlCluster.body("drain", "{\"nodes\":[\"" + victim + "\"]}", "{}", "root"));
            JsonNode draining = tap.await("node_draining", e -> e.at("/data/node").asText().equals(victim));
            assertThat(draining.at("/data/groups").isArray()).isTrue();
            JsonNode drained = tap.await("node_drained", e -> e.at("/data/node").asText().equals(victim));
            assertThat(drained.get("node").asText()).as("reported by the node itself").isEqualTo(victim);
            cluster.settle(ControlCluster.body("undrain", "{\"nodes\":[\"" + victim + "\"]}", "{}", "root"));
            tap.await("node_undrained", e -> e.at("/data/node").asText().equals(victim));
        }
    }

    @Test
    @Order(4)
    void anEngineThatStopsSteppingWhileItHasWorkIsStalledThenHealthyAgain() throws Exception {
        int[] roles = roles();
        String victim = ControlCluster.NAMES.get(roles[1]);
        CountDownLatch release = new CountDownLatch(1);
        try (ControlCluster.EventTap tap = cluster.events(roles[2], "")) {
            // The listener runs on the engine thread: held there, the engine makes no step while it holds the request.
            cluster.nodes[roles[1]].cluster().localEngine().submit(GenerationRequest.of("held-" + victim,
                    new int[] {1, 2, 3, 4}, new SamplingParams(0, 1, 0, 0, 1, 0, 0, null, 8, List.of(), true, -1)),
                    new GenerationListener() {
                        @Override
                        public void onDelta(TokenDelta delta) {
                            try {
                                release.await(60, TimeUnit.SECONDS);
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        }

                        @Override
                        public void onFinish(Completion completion) {}
                    });
            JsonNode stalled;
            try {
                stalled = tap.await("node_stalled", e -> e.at("/data/node").asText().equals(victim));
            } finally {
                release.countDown();
            }
            assertThat(stalled.at("/data/health").asText()).isEqualTo("stalled");
            assertThat(stalled.at("/data/id").asText()).isEqualTo(gridOf(roles[1]).localId().toString());
            tap.await("node_healthy", e -> e.at("/data/node").asText().equals(victim)
                    && e.at("/data/was").asText().equals("stalled"));
        }
    }

    @Test
    @Order(5)
    void aSilentNodeIsSuspectThenDeadAnswers503WhileItsGridIsDownThenLeftAndJoinedAgain() throws Exception {
        int[] roles = roles();
        int v = roles[1];
        String victim = ControlCluster.NAMES.get(v);
        GridNode before = gridOf(v);
        String oldId = before.localId().toString();
        CountDownLatch heartbeats = new CountDownLatch(1);
        try (ControlCluster.EventTap tap = cluster.events(roles[2], "")) {
            // Its heartbeat reads the anomaly flag: held there, the node publishes no heartbeat (nor, after its grid
            // node stops, its registry entry on the fresh one it rejoins with) until released.
            cluster.nodes[v].cluster().reportAnomalies(() -> {
                try {
                    heartbeats.await(90, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return false;
            });
            try {
                JsonNode suspect = tap.await("node_suspect", e -> e.at("/data/node").asText().equals(victim));
                assertThat(suspect.at("/data/id").asText()).isEqualTo(oldId);
                assertThat(suspect.at("/data/was").asText()).isEqualTo("healthy");

                ((IgniteEx) before.ignite()).context().failure().process(new FailureContext(FailureType.SEGMENTATION,
                        null));
                await().atMost(Duration.ofSeconds(60)).until(() -> !before.running());
                JsonNode dead = tap.await("node_dead", e -> e.at("/data/node").asText().equals(victim));
                assertThat(dead.at("/data/id").asText()).isEqualTo(oldId);

                // Its grid node is down (the fresh one waits on the held heartbeat): the cluster routes answer 503.
                assertUnavailable(cluster.command(v, ControlCluster.admin(), ControlCluster.body("diagnostics",
                        "{\"all\":true}", "{}", "root"), cluster.root));
                assertUnavailable(cluster.get(v, "/cluster/leader", ControlCluster.admin()));
                assertUnavailable(cluster.get(v, "/v1/batches", USER));

                tap.await("node_left", e -> e.at("/data/node").asText().equals(victim));
            } finally {
                heartbeats.countDown();
            }
            JsonNode back = tap.await("node_joined", e -> e.at("/data/node").asText().equals(victim));
            assertThat(back.at("/data/id").asText()).isNotEqualTo(oldId);
            await().atMost(Duration.ofSeconds(60)).until(() -> cluster.get(v, "/ready", USER).statusCode() == 200);
        }
    }

    @Test
    @Order(6)
    void whenTheLeaderLeavesItsSuccessorReportsItLeftOnceAndLeads() throws Exception {
        int[] roles = roles();
        String leader = ControlCluster.NAMES.get(roles[0]);
        long term = cluster.nodes[roles[2]].cluster().cluster().lease().leaderTerm();
        try (ControlCluster.EventTap tap = cluster.events(roles[2], "")) {
            cluster.nodes[roles[0]].close();
            JsonNode left = tap.await("node_left", e -> e.at("/data/node").asText().equals(leader));
            JsonNode elected = tap.await("leader_elected", e -> e.at("/data/term").asLong() > term);
            assertThat(elected.at("/data/node").asText()).isNotEqualTo(leader);
            assertThat(left.get("node").asText()).as("reported by the new leader").isNotEqualTo(leader);
            // One report, and it stays one for 2 s: a second would come within a sweep (the leader looks every 250 ms).
            await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5)).until(() -> tap.events.stream()
                    .filter(e -> e.get("type").asText().equals("node_left")
                            && e.at("/data/node").asText().equals(leader)).count() == 1);
        } finally {
            cluster.nodes[roles[0]] = null;
        }
    }

    private static void assertUnavailable(HttpResponse<String> answer) {
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(503);
        assertThat(answer.headers().firstValue("Retry-After")).isPresent();
        assertThat(answer.body()).contains("cannot reach the cluster");
    }

    private static GridNode gridOf(int node) {
        return cluster.nodes[node].cluster().cluster().grid();
    }

    /** {leader, a node that is not the leader, the third node}: the third watches what happens to the second. */
    private static int[] roles() {
        int[] out = new int[3];
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            for (int i = 0; i < 3; i++) {
                if (cluster.nodes[i] != null && cluster.nodes[i].cluster().cluster().lease().isLeader()) {
                    out[0] = i;
                    out[1] = (i + 1) % 3;
                    out[2] = (i + 2) % 3;
                    return true;
                }
            }
            return false;
        });
        return out;
    }
}
