package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.gossip.session.SessionCache;
import org.autoglm.node.cluster.GridSessionStore;
import org.autoglm.node.telemetry.Telemetry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Sessions with megabyte system prompts on a real grid node with a small data region: past the high-water mark new
 * sessions get 507 and the grid node keeps running (a full region would stop it); a node whose grid node has stopped
 * fails {@code /health}, so that its supervisor restarts it, and {@code /ready} says why instead of a 500.
 */
class GridMemoryTest {

    private static final int PORT = 14240 + Integer.getInteger("autoglm.test.portOffset", 0);
    static final ScriptedEngine engine = new ScriptedEngine();
    static GridNode grid;
    static Telemetry telemetry;
    static ApiServer server;
    static Http http;

    @BeforeAll
    static void start() {
        grid = GridNode.start(c -> {
            c.nodeName = "mem";
            c.gridPort = PORT;
            c.dataRegionBytes = 32L << 20;
            c.storageHighWater = 0.4;
        });
        GridSessionStore sessions = new GridSessionStore(new SessionCache(grid), java.time.Clock.systemUTC(),
                grid::storageFullReason);
        ServingState state = new ServingState();
        state.readinessCheck(() -> grid.running() ? null : "this node's grid node has stopped");
        telemetry = new Telemetry("m", state::load, null, null);
        server = ApiServer.create(c -> {
            c.port = 0;
            c.maxRequestBytes = 2L << 20;
            c.maxSessionsPerUser = 0;
            c.sessions = sessions;
            c.deadReason = () -> grid.running() ? null : "this node's grid node has stopped; restart the process";
            c.state = state;
            c.telemetry = telemetry;
        }).start();
        state.ready(new ServingState.Loaded(new CharModel("m", 4_000_000), engine, engine));
        http = new Http("http://127.0.0.1:" + server.port(),
                HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build());
    }

    @AfterAll
    static void stop() {
        server.close();
        telemetry.close();
        engine.shutdown();
        grid.close();
    }

    @Test
    void newSessionsAre507BeforeTheRegionFills_andAStoppedGridFailsHealth() {
        String body = "{\"system_prompt\":\"" + "x".repeat(1 << 20) + "\"}";
        List<Integer> statuses = new ArrayList<>();
        Http.Response refused = null;
        for (int i = 0; i < 60 && refused == null; i++) {
            Http.Response r = http.post("/v1/sessions", body);
            statuses.add(r.status());
            if (r.status() != 200) {
                refused = r;
            }
        }
        assertThat(refused).as("statuses %s", statuses).isNotNull();
        assertThat(refused.status()).as(refused.body()).isEqualTo(507);
        assertThat(refused.json().at("/error/code").asText()).isEqualTo("insufficient_storage");
        assertThat(refused.json().at("/error/message").asText()).contains("--grid-memory-high-water");
        assertThat(statuses.subList(0, statuses.size() - 1)).isNotEmpty().containsOnly(200);
        assertThat(grid.running()).isTrue();
        assertThat(http.get("/health").status()).isEqualTo(200);
        assertThat(http.get("/ready").status()).isEqualTo(200);

        grid.close(); // as Ignite's failure handler does to a node whose region overflowed or that was segmented
        Http.Response health = http.get("/health");
        assertThat(health.status()).isEqualTo(503);
        assertThat(health.json().at("/error/message").asText()).contains("grid node has stopped");
        assertThat(http.get("/ready").status()).isEqualTo(503);
    }
}
