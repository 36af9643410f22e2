package org.autoglm.node.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.apache.ignite.failure.FailureContext;
import org.apache.ignite.failure.FailureType;
import org.apache.ignite.internal.IgniteEx;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.node.engine.EngineStats;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A batch in progress on a node the cluster segments (see {@link ControlCluster}; grid ports 29500..29502): Ignite stops
 * the node's grid node with the batch's coordination and some of its lines on it, and the node rejoins on a fresh one.
 * The batch still finishes with every line in the output exactly once, and the rejoined node runs batch lines again
 * (of a second batch, if the first ended before it was back): its batch poll and line puller follow the node to its new
 * grid node.
 */
class BatchAcrossRejoinTest {

    private static final String URSULA = ControlCluster.token("ursula", List.of("user"), null);
    private static final int LINES = 400;

    @TempDir
    static Path dir;
    static ControlCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        // Failure detection of 10 s: at load 60-80 the default 2 s had the three nodes segment one another while the
        // cluster formed. The node segmented below leaves at once (its grid node stops), so the test waits for nothing.
        cluster = new ControlCluster(dir, 29500, List.of("--grid-failure-detection", "10000")).awaitReady();
    }

    @AfterAll
    static void stop() {
        if (cluster != null) cluster.close();
    }

    @Test
    void aBatchOnASegmentedNodeFinishesExactlyOnceAndTheNodeRunsLinesAgainAfterRejoining() throws Exception {
        String batchId = submit(LINES);

        // The node coordinating the batch, once it has lines done: the one segmented.
        int[] runner = {-1};
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(20)).until(() -> {
            UUID id = cluster.nodes[0].cluster().cluster().batches().get(batchId).runner();
            for (int i = 0; i < 3; i++) {
                if (cluster.nodes[i].cluster().cluster().grid().localId().equals(id)) runner[0] = i;
            }
            return runner[0] >= 0 && batch(0, batchId).at("/request_counts/completed").asInt() > 0;
        });
        int r = runner[0];
        int other = (r + 1) % 3;
        Cluster segmented = cluster.nodes[r].cluster().cluster();
        GridNode before = segmented.grid();
        ((IgniteEx) before.ignite()).context().failure().process(new FailureContext(FailureType.SEGMENTATION, null));
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(100))
                .until(() -> segmented.grid() != before && segmented.grid().running());
        EngineStats engine = cluster.nodes[r].state().current().engine().stats();
        long generatedAtRejoin = engine.generatedTokens();

        JsonNode done = completed(other, batchId);
        assertThat(done.at("/request_counts/completed").asInt()).isEqualTo(LINES);
        assertThat(done.at("/request_counts/failed").asInt()).isZero();
        assertThat(done.get("error_file_id").isNull()).isTrue();
        String output = cluster.get(other, "/v1/files/" + done.get("output_file_id").asText() + "/content", URSULA).body();
        Set<String> seen = new HashSet<>();
        for (String line : output.split("\n")) {
            JsonNode n = ControlCluster.JSON.readTree(line);
            assertThat(seen.add(n.get("custom_id").asText())).as("line twice: " + line).isTrue();
            assertThat(n.at("/response/body/usage/completion_tokens").asInt()).isEqualTo(32);
        }
        assertThat(seen).hasSize(LINES);

        // The rejoined node runs batch lines again (the first batch may have ended before it was back): its batch poll
        // and line puller followed it to its new grid node. As many lines as the first batch: with 160, the two other
        // nodes of a fast machine finished them all before the rejoined one took any (a verify of stop 35).
        String next = submit(LINES);
        assertThat(completed(other, next).at("/request_counts/completed").asInt()).isEqualTo(LINES);
        assertThat(engine.generatedTokens()).as("the rejoined node ran batch lines again")
                .isGreaterThan(generatedAtRejoin);
    }

    /** Uploads {@code lines} completion lines of 32 tokens and starts them as a batch on node 0; returns its id. */
    private static String submit(int lines) throws Exception {
        StringBuilder file = new StringBuilder();
        for (int i = 0; i < lines; i++) {
            file.append("{\"custom_id\":\"line-").append(i).append("\",\"method\":\"POST\",\"url\":\"/v1/completions\",")
                    .append("\"body\":{\"prompt\":\"line number ").append(i)
                    .append("\",\"max_tokens\":32,\"temperature\":0,\"ignore_eos\":true}}\n");
        }
        String fileId = ControlCluster.JSON.readTree(upload(file.toString())).get("id").asText();
        return ControlCluster.JSON.readTree(cluster.post(0, "/v1/batches", URSULA, "{\"input_file_id\":\""
                + fileId + "\",\"endpoint\":\"/v1/completions\",\"completion_window\":\"24h\"}", null).body())
                .get("id").asText();
    }

    /** The batch once it has completed (polled on {@code node}; 300 s at most on a loaded machine). */
    private static JsonNode completed(int node, String id) {
        await().atMost(Duration.ofSeconds(300)).pollInterval(Duration.ofMillis(250)).ignoreExceptions()
                .until(() -> batch(node, id).get("status").asText().equals("completed"));
        try {
            return batch(node, id);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode batch(int node, String id) throws Exception {
        return ControlCluster.JSON.readTree(cluster.get(node, "/v1/batches/" + id, URSULA).body());
    }

    private static String upload(String content) throws Exception {
        String boundary = "----autoglm" + System.nanoTime();
        String body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
                + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"lines.jsonl\"\r\n"
                + "Content-Type: application/jsonl\r\n\r\n" + content + "\r\n--" + boundary + "--\r\n";
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(cluster.base(0) + "/v1/files"))
                .header("Authorization", "Bearer " + URSULA)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }
}
