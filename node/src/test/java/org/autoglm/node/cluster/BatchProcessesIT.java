package org.autoglm.node.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.autoglm.node.engine.ReferenceCases;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Three {@code serve} processes of the real jar: a batch is uploaded and started on one node, and the node running it
 * (its coordinator, killed while it runs a chunk of the batch's lines itself) is killed with {@code kill -9} mid-way. A
 * survivor takes the batch over and another the dead node's chunk, which it says with a {@code request_failed_over}
 * event; every line ends in the output file exactly once, with the answer a direct request gets.
 */
class BatchProcessesIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int GRID = 14610 + Integer.getInteger("autoglm.test.portOffset", 0);
    private static final String PEERS = "127.0.0.1:" + GRID + ".." + (GRID + 2);
    private static final int LINES = 240;
    private static final int PROMPTS = 4;
    private static final int MAX_TOKENS = 24;

    private final List<ServeProcess> nodes = new ArrayList<>();

    @AfterEach
    void stop() {
        nodes.forEach(ServeProcess::stop);
    }

    @Test
    void killingTheNodeThatRunsABatchLosesAndRepeatsNoLine() throws Exception {
        assumeTrue(System.getProperty("autoglm.node.jar") != null, "runs in the integration-test phase (mvn verify)");
        Path jar = Path.of(System.getProperty("autoglm.node.jar"));
        Path model = ReferenceCases.fixturesDir().resolve("glm-tiny");
        Path logs = Path.of("target", "batch-processes");
        for (int i = 0; i < 3; i++) {
            // Failure detection of 15 s: a shared, loaded machine must not cut off a live node before the kill.
            nodes.add(new ServeProcess("b" + i, jar, model, GRID + i, PEERS, 3, logs, "--grid-failure-detection", "15000"));
        }
        for (ServeProcess node : nodes) {
            node.start(); // all at once: a lone node of three is never ready, and they load in parallel
        }
        for (ServeProcess node : nodes) {
            await().atMost(Duration.ofSeconds(180)).until(() -> node.answers("/ready"));
        }
        ServeProcess entry = nodes.get(0);
        Map<Integer, String> reference = new HashMap<>();
        for (int p = 0; p < PROMPTS; p++) {
            int prompt = p;
            // A cold node on a loaded machine may take longer than a request's 5 s: ask again (the answer is greedy).
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(() -> {
                reference.put(prompt, JSON.readTree(entry.post("/v1/completions", body(prompt)))
                        .at("/choices/0/text").asText());
                return true;
            });
        }
        StringBuilder file = new StringBuilder();
        for (int i = 0; i < LINES; i++) {
            file.append("{\"custom_id\":\"line-").append(i).append("\",\"method\":\"POST\",\"url\":\"/v1/completions\",")
                    .append("\"body\":").append(body(i % PROMPTS)).append("}\n");
        }
        String fileId = JSON.readTree(upload(entry, file.toString())).get("id").asText();
        String batchId = JSON.readTree(entry.post("/v1/batches", "{\"input_file_id\":\"" + fileId
                + "\",\"endpoint\":\"/v1/completions\",\"completion_window\":\"24h\"}")).get("id").asText();

        await().atMost(Duration.ofSeconds(60)).until(() -> runnerOf(batchId, logs) != null);
        ServeProcess runner = runnerOf(batchId, logs);
        // Killed with lines of its own running: the chunk holding them must move to a survivor.
        await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(50)).ignoreExceptions()
                .until(() -> batch(entry, batchId).at("/request_counts/completed").asInt() >= LINES / 5
                        && running(runner) > 0);
        runner.kill();
        ServeProcess survivor = nodes.stream().filter(ServeProcess::alive).findFirst().orElseThrow();
        System.out.println("killed " + runner.name + ", which ran " + batchId + ", at "
                + batch(survivor, batchId).at("/request_counts").toString());

        // While the grid moves the dead node's partitions a read can stall past the poll's timeout: poll again.
        await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(250)).ignoreExceptions()
                .until(() -> batch(survivor, batchId).get("status").asText().equals("completed"));
        JsonNode done = batch(survivor, batchId);
        assertThat(done.at("/request_counts/completed").asInt()).isEqualTo(LINES);
        assertThat(done.at("/request_counts/failed").asInt()).isZero();
        assertThat(done.get("error_file_id").isNull()).isTrue();
        String output = survivor.get("/v1/files/" + done.get("output_file_id").asText() + "/content");
        Map<String, JsonNode> lines = new HashMap<>();
        for (String line : output.split("\n")) {
            JsonNode n = JSON.readTree(line);
            assertThat(lines.put(n.get("custom_id").asText(), n)).as("line twice: " + line).isNull();
        }
        assertThat(lines).hasSize(LINES);
        for (int i = 0; i < LINES; i++) {
            JsonNode n = lines.get("line-" + i);
            assertThat(n.at("/response/status_code").asInt()).isEqualTo(200);
            assertThat(n.at("/response/body/choices/0/text").asText()).as("line-" + i)
                    .isEqualTo(reference.get(i % PROMPTS));
        }
        // Every node pulls chunks of lines: the dead one's moved to a survivor, which said so.
        JsonNode moved = event(survivor, "request_failed_over", e -> e.at("/data/batch_id").asText().equals(batchId));
        assertThat(moved.at("/data/from").asText()).isEqualTo(runner.name);
        assertThat(moved.at("/data/lines").asInt()).isPositive();
    }

    /** Sequences a node's engine runs now ({@code autoglm:num_requests_running}). */
    private static int running(ServeProcess node) throws Exception {
        for (String line : node.get("/metrics").split("\n")) {
            if (line.startsWith("autoglm:num_requests_running{") || line.startsWith("autoglm:num_requests_running ")) {
                return (int) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError("no autoglm:num_requests_running in " + node.name + "'s /metrics");
    }

    /** The first event of a type that matches, from the start of the cluster's event stream (60 s at most). */
    private static JsonNode event(ServeProcess node, String type, java.util.function.Predicate<JsonNode> matches)
            throws Exception {
        HttpResponse<java.util.stream.Stream<String>> stream = ServeProcess.HTTP.send(HttpRequest.newBuilder(
                node.uri("/cluster/events?last_event_id=0")).GET().build(),
                HttpResponse.BodyHandlers.ofLines());
        java.util.concurrent.CompletableFuture<JsonNode> found = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            String current = null;
            for (java.util.Iterator<String> it = stream.body().iterator(); it.hasNext(); ) {
                String line = it.next();
                if (line.startsWith("event:")) {
                    current = line.substring(6).trim();
                } else if (line.startsWith("data:") && type.equals(current)) {
                    try {
                        JsonNode data = JSON.readTree(line.substring(5).trim());
                        if (matches.test(data)) {
                            return data;
                        }
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
            }
            return null;
        });
        try {
            return found.get(60, java.util.concurrent.TimeUnit.SECONDS);
        } finally {
            stream.body().close();
        }
    }

    @Test
    void withADataDirectoryABatchResumesAfterTheWholeClusterRestarts() throws Exception {
        assumeTrue(System.getProperty("autoglm.node.jar") != null, "runs in the integration-test phase (mvn verify)");
        Path jar = Path.of(System.getProperty("autoglm.node.jar"));
        Path model = ReferenceCases.fixturesDir().resolve("glm-tiny");
        Path logs = Path.of("target", "batch-processes");
        Path data = Files.createTempDirectory("autoglm-data-");
        int port = GRID + 5;
        ServeProcess node = new ServeProcess("solo", jar, model, port, "127.0.0.1:" + port, 1, logs,
                "--data-dir", data.toString());
        nodes.add(node);
        node.start();
        await().atMost(Duration.ofSeconds(90)).until(() -> node.answers("/ready"));
        StringBuilder file = new StringBuilder();
        for (int i = 0; i < LINES; i++) {
            file.append("{\"custom_id\":\"line-").append(i).append("\",\"method\":\"POST\",\"url\":\"/v1/completions\",")
                    .append("\"body\":").append(body(i % PROMPTS)).append("}\n");
        }
        String fileId = JSON.readTree(upload(node, file.toString())).get("id").asText();
        String batchId = JSON.readTree(node.post("/v1/batches", "{\"input_file_id\":\"" + fileId
                + "\",\"endpoint\":\"/v1/completions\",\"completion_window\":\"24h\"}")).get("id").asText();
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(100))
                .until(() -> batch(node, batchId).at("/request_counts/completed").asInt() >= LINES / 5);
        node.kill();
        node.start();
        await().atMost(Duration.ofSeconds(90)).until(() -> node.answers("/ready"));
        assertThat(node.get("/v1/files/" + fileId)).contains("\"bytes\":" + file.length());
        await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(250))
                .until(() -> batch(node, batchId).get("status").asText().equals("completed"));
        JsonNode done = batch(node, batchId);
        assertThat(done.at("/request_counts/completed").asInt()).isEqualTo(LINES);
        String output = node.get("/v1/files/" + done.get("output_file_id").asText() + "/content");
        Map<String, JsonNode> lines = new HashMap<>();
        for (String line : output.split("\n")) {
            JsonNode n = JSON.readTree(line);
            assertThat(lines.put(n.get("custom_id").asText(), n)).as("line twice: " + line).isNull();
            assertThat(n.at("/response/status_code").asInt()).isEqualTo(200);
        }
        assertThat(lines).hasSize(LINES);
    }

    private static String body(int prompt) {
        return "{\"prompt\":\"batch prompt number " + prompt + "\",\"max_tokens\":" + MAX_TOKENS
                + ",\"temperature\":0,\"ignore_eos\":true}";
    }

    private ServeProcess runnerOf(String batchId, Path logs) throws Exception {
        for (ServeProcess node : nodes) {
            if (Files.exists(node.log) && Files.readString(node.log).contains("batch " + batchId + " runs on node")) {
                return node;
            }
        }
        return null;
    }

    private static JsonNode batch(ServeProcess node, String id) throws Exception {
        return JSON.readTree(node.get("/v1/batches/" + id));
    }

    private static String upload(ServeProcess node, String content) throws Exception {
        String boundary = "----batchit" + System.nanoTime();
        String body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
                + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"lines.jsonl\"\r\n"
                + "Content-Type: application/jsonl\r\n\r\n" + content + "\r\n--" + boundary + "--\r\n";
        return ServeProcess.HTTP.send(HttpRequest.newBuilder(node.uri("/v1/files")).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }
}
