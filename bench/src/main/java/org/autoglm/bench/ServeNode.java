package org.autoglm.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.autoglm.node.cluster.ServeProcess;

/** One {@code serve} process of the node jar on loopback, for the cluster benchmarks. */
final class ServeNode {

    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    /** Time to first token and to the end of one streamed request. */
    record Timing(double firstTokenMillis, double totalMillis) {}

    final String name;
    final List<String> command;
    final int port;
    private final Path logDir;
    Process process;

    /**
     * @param model    checkpoint directory, or null for the built-in demo model
     * @param gridBase first grid port of the cluster ({@code size} consecutive ports)
     * @param extra    further {@code serve} flags
     */
    ServeNode(String name, Path jar, Path model, int gridPort, int gridBase, int size, Path logDir, String... extra)
            throws IOException {
        this.name = name;
        this.logDir = logDir;
        this.port = ServeProcess.httpPortFor(gridPort); // below the ephemeral ports where it can (why: there)
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "--add-modules", "jdk.incubator.vector", // one JVM per node: no relaunch for the Vector API
                "-jar", jar.toString(), "serve", "--port", Integer.toString(port), "--node-name", name,
                "--grid-port", Integer.toString(gridPort), "--peers", "127.0.0.1:" + gridBase + ".." + (gridBase + size - 1),
                "--expected-nodes", Integer.toString(size)));
        if (model != null) {
            cmd.addAll(List.of("--model", model.toString()));
        }
        if (!List.of(extra).contains("--grid-failure-detection")) {
            cmd.addAll(List.of("--grid-failure-detection", "2000"));
        }
        cmd.addAll(List.of(extra));
        this.command = cmd;
    }

    /** Adds a JVM option to the command (before {@link #start}), such as a logger's level. */
    ServeNode jvm(String option) {
        command.add(1, option);
        return this;
    }

    /** This node's log so far. */
    List<String> logLines() throws IOException {
        Path log = logDir.resolve(name + ".log");
        return Files.exists(log) ? Files.readAllLines(log) : List.of();
    }

    ServeNode start() throws IOException {
        Path log = logDir.resolve(name + ".log");
        Files.createDirectories(log.getParent());
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        builder.environment().put("OMP_NUM_THREADS", "1");
        process = builder.start();
        return this;
    }

    boolean alive() {
        return process.isAlive();
    }

    /** True while the process runs; throws, naming the node and the end of its log, once it exited (it will not come back). */
    boolean running() {
        if (process.isAlive()) {
            return true;
        }
        String tail;
        try {
            List<String> lines = logLines();
            tail = String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            tail = "(unreadable: " + e + ")";
        }
        throw new IllegalStateException("node " + name + " exited with status " + process.exitValue() + "; the end of "
                + logDir.resolve(name + ".log").toAbsolutePath() + ":\n" + tail);
    }

    /** {@code kill -9}. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    void stop() {
        if (process == null) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(15, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    int status(String path) {
        try {
            return HTTP.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(2)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException | InterruptedException e) {
            return -1;
        }
    }

    String leaderName() {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(uri("/cluster/leader"))
                    .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? JSON.readTree(r.body()).get("node").asText() : null;
        } catch (IOException | InterruptedException e) {
            return null;
        }
    }

    String get(String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(60)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    JsonNode getJson(String path) throws IOException, InterruptedException {
        return JSON.readTree(get(path));
    }

    String post(String path, String body) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    /** Uploads {@code jsonl} as a batch input file; returns its id. */
    String upload(String jsonl) throws IOException, InterruptedException {
        String boundary = "----bench" + System.nanoTime();
        String body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--"
                + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bench.jsonl\"\r\n"
                + "Content-Type: application/jsonl\r\n\r\n" + jsonl + "\r\n--" + boundary + "--\r\n";
        String answer = HTTP.send(HttpRequest.newBuilder(uri("/v1/files")).timeout(Duration.ofSeconds(120))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString()).body();
        return JSON.readTree(answer).get("id").asText();
    }

    /** One streaming completion of {@code body} (which must set {@code "stream": true}); times the first chunk and the end. */
    Timing stream(String body) throws IOException, InterruptedException {
        long start = System.nanoTime();
        HttpResponse<InputStream> response = HTTP.send(HttpRequest.newBuilder(uri("/v1/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body))
                .build(), HttpResponse.BodyHandlers.ofInputStream());
        long first = -1;
        StringBuilder answer = new StringBuilder();
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = lines.readLine()) != null) {
                if (response.statusCode() != 200) {
                    answer.append(line);
                } else if (line.startsWith("data: ") && first < 0) {
                    first = System.nanoTime();
                }
                if (line.equals("data: [DONE]")) {
                    break;
                }
            }
        }
        if (response.statusCode() != 200 || first < 0) {
            throw new IOException(name + " answered " + response.statusCode() + ": " + answer);
        }
        long end = System.nanoTime();
        return new Timing((first - start) / 1e6, (end - start) / 1e6);
    }

    /**
     * A counter from {@code /metrics} (the sum of its series). A name with no series is an error, not 0: reading
     * {@code prefix_cache_hits} where Prometheus exports {@code prefix_cache_hits_total} once made a bench report a
     * 0 % hit rate.
     */
    double metric(String name) throws IOException, InterruptedException {
        double sum = 0;
        boolean found = false;
        for (String line : get("/metrics").split("\n")) {
            if (line.startsWith(name) && (line.charAt(name.length()) == ' ' || line.charAt(name.length()) == '{')) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                found = true;
            }
        }
        if (!found) {
            throw new IOException(this.name + " exports no series named " + name + " in /metrics");
        }
        return sum;
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    /** Waits until every node answers {@code /ready}; fails at once, naming it, when one of them exits. */
    static void awaitReady(List<ServeNode> nodes, int seconds) throws InterruptedException {
        waitFor(() -> nodes.stream().allMatch(n -> n.running() && n.status("/ready") == 200), seconds);
    }

    static void waitFor(BooleanSupplier condition, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("not reached within " + seconds + " s");
            }
            Thread.sleep(20); // polling an external process: there is nothing to wait on
        }
    }

    /** Percentile {@code p} of {@code values} (nearest rank). */
    static double percentile(List<Double> values, int p) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return sorted[Math.min(sorted.length - 1, Math.max(0, (int) Math.ceil(p / 100.0 * sorted.length) - 1))];
    }
}
