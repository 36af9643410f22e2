package org.autoglm.node.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.Javalin;
import io.javalin.security.RouteRole;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code GET /cluster/health} over real HTTP on a real one-node grid: a node that is alive but has no model (still
 * loading, or its model failed to load) cannot serve, so the cluster is not healthy. Three serve processes started
 * together used to report "healthy" while two of them had failed to load the demo model.
 */
class ClusterHealthTest {

    private static final RouteRole ANY = new RouteRole() {};

    @Test
    void aNodeWithoutItsModelMakesTheClusterUnhealthy() throws Exception {
        ClusterOptions options = new ClusterOptions();
        new CommandLine(options).parseArgs("--grid-port", "47880", "--node-name", "health-0", "--expected-nodes", "1",
                "--grid-failure-detection", "1500");
        try (ClusterNode node = ClusterNode.start(options)) {
            Javalin app = Javalin.create(c -> c.showJavalinBanner = false);
            node.installRoutes(app, ANY, ANY);
            app.start("127.0.0.1", 0);
            try {
                HttpClient http = HttpClient.newHttpClient();
                URI health = URI.create("http://127.0.0.1:" + app.port() + "/cluster/health");
                await().atMost(Duration.ofSeconds(20)).until(() -> node.cluster().lease().leader().isPresent());
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(health).build(),
                        HttpResponse.BodyHandlers.ofString());
                JsonNode body = new ObjectMapper().readTree(r.body());
                assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
                assertThat(body.get("leader").asText()).isEqualTo("health-0");
                assertThat(body.get("healthy_nodes").asInt()).isZero();
                assertThat(body.get("problems").toString()).contains("health-0 has no model loaded");
            } finally {
                app.stop();
            }
        }
    }
}
