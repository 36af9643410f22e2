package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.gossip.session.SessionCache;
import org.autoglm.node.cluster.GridSessionStore;
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
    static GridNode grid;
    static ScriptedServer api;
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
        api = ScriptedServer.start(new CharModel("m", 4_000_000), c -> {
            c.maxRequestBytes = 2L << 20;
            c.maxSessionsPerUser = 0;
            c.sessions = sessions;
            c.deadReason = () -> grid.running() ? null : "this node's grid node has stopped; restart the process";
        });
        api.state.readinessCheck(() -> grid.running() ? null : "this node's grid node has stopped");
        http = api.http;
    }

    @AfterAll
    static void stop() {
        api.close();
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
