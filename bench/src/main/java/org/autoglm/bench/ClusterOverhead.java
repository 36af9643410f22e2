package org.autoglm.bench;

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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;
import org.autoglm.node.cluster.ServeProcess;

/**
 * What the cluster path costs: three {@code serve} processes of the node jar on loopback, two of them drained so
 * that every request runs on p0. The same streaming requests are sent alternately to p0 (it executes them itself)
 * and to p1 (tokens come back over the grid), and time to first token and end-to-end latency are compared, then
 * throughput at a concurrency. Last, the leader is killed with {@code kill -9} a few times and the time until a
 * survivor reports a new leader is measured. Not a test: figures go to the README.
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar org.autoglm.bench.ClusterOverhead node/target/autoglm-node.jar MODEL_DIR
 *      [--requests 200] [--max-tokens 16] [--concurrency 8] [--failovers 3] [--grid-port 47900]
 *      [--grid-failure-detection 2000]
 * </pre>
 */
public final class ClusterOverhead {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    /** Nodes of a cluster with --expected-nodes 3 are ready only together: a lone one has no majority. */
    static final int NODES = 3;

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: ClusterOverhead NODE_JAR MODEL_DIR [--requests 200] [--max-tokens 16] "
                    + "[--concurrency 8] [--failovers 3] [--grid-port 47900] [--grid-failure-detection 2000]");
            System.exit(2);
        }
        Path jar = Path.of(args[0]);
        Path model = Path.of(args[1]);
        int requests = 200;
        int maxTokens = 16;
        int concurrency = 8;
        int failovers = 3;
        int gridPort = 47900;
        long failureDetectionMillis = 2000; // short, so that failover is quick to measure
        for (int i = 2; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--requests" -> requests = Integer.parseInt(args[i + 1]);
                case "--max-tokens" -> maxTokens = Integer.parseInt(args[i + 1]);
                case "--concurrency" -> concurrency = Integer.parseInt(args[i + 1]);
                case "--failovers" -> failovers = Integer.parseInt(args[i + 1]);
                case "--grid-port" -> gridPort = Integer.parseInt(args[i + 1]);
                case "--grid-failure-detection" -> failureDetectionMillis = Long.parseLong(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        List<Node> nodes = new ArrayList<>();
        try {
            startCluster(jar, model, gridPort, failureDetectionMillis, nodes);
            nodes.get(0).post("/cluster/nodes/p1/drain", "");
            nodes.get(0).post("/cluster/nodes/p2/drain", "");
            Node executing = nodes.get(0);
            Node forwarding = nodes.get(1);

            for (int i = 0; i < 30; i++) { // warm up both paths (JIT, prefix cache)
                executing.complete(maxTokens);
                forwarding.complete(maxTokens);
            }
            List<Timing> direct = new ArrayList<>();
            List<Timing> viaPeer = new ArrayList<>();
            for (int i = 0; i < requests; i++) {
                direct.add(executing.complete(maxTokens));
                viaPeer.add(forwarding.complete(maxTokens));
            }
            System.out.printf("sequential streaming requests, %d each, %d tokens:%n", requests, maxTokens);
            report("  to the executing node p0     ", direct);
            report("  to p1 (runs on p0, via grid) ", viaPeer);
            System.out.printf("  added at p50: TTFT %.2f ms, end-to-end %.2f ms; at p99: TTFT %.2f ms, end-to-end %.2f ms%n",
                    pct(viaPeer, 50, true) - pct(direct, 50, true), pct(viaPeer, 50, false) - pct(direct, 50, false),
                    pct(viaPeer, 99, true) - pct(direct, 99, true), pct(viaPeer, 99, false) - pct(direct, 99, false));

            System.out.printf("throughput at concurrency %d (%d requests):%n", concurrency, requests);
            System.out.printf("  to p0: %.1f requests/s%n", throughput(executing, concurrency, requests, maxTokens));
            System.out.printf("  to p1: %.1f requests/s%n", throughput(forwarding, concurrency, requests, maxTokens));

            for (int run = 0; run < failovers; run++) {
                Node leader = nodes.stream().filter(n -> n.name.equals(n.leaderName())).findFirst().orElseThrow();
                long killed = System.nanoTime();
                leader.kill();
                waitFor(() -> nodes.stream().filter(Node::alive).anyMatch(n -> {
                    String name = n.leaderName();
                    return name != null && !name.equals(leader.name);
                }), 30);
                System.out.printf("failover %d: new leader %.0f ms after kill -9 of %s%n", run + 1,
                        (System.nanoTime() - killed) / 1e6, leader.name);
                leader.start();
                waitFor(() -> leader.status("/ready") == 200, 120);
                waitFor(() -> nodes.stream().allMatch(n -> n.status("/cluster/health") == 200), 60);
            }
        } finally {
            nodes.forEach(Node::stop);
        }
    }

    /**
     * Starts the three nodes at once and waits for all of them to be ready (each loads its model and needs the others
     * for a majority), then for the cluster to be healthy. {@code nodes} gets each node as it starts, so the caller
     * can stop them whatever happens.
     */
    static void startCluster(Path jar, Path model, int gridPort, long failureDetectionMillis, List<Node> nodes)
            throws IOException, InterruptedException {
        for (int i = 0; i < NODES; i++) {
            nodes.add(new Node("p" + i, jar, model, gridPort, i, failureDetectionMillis).start());
        }
        System.err.printf("started %d serve processes (logs in %s); waiting for them to load and form the cluster%n",
                NODES, Node.LOGS.toAbsolutePath());
        waitFor(() -> nodes.stream().allMatch(n -> n.running() && n.status("/ready") == 200), 180);
        waitFor(() -> nodes.stream().allMatch(n -> n.status("/cluster/health") == 200), 60);
    }

    record Timing(double firstTokenMillis, double totalMillis) {}

    private static void report(String label, List<Timing> timings) {
        System.out.printf("%s TTFT p50 %.2f ms p99 %.2f ms | end-to-end p50 %.2f ms p99 %.2f ms%n", label,
                pct(timings, 50, true), pct(timings, 99, true), pct(timings, 50, false), pct(timings, 99, false));
    }

    private static double pct(List<Timing> timings, int p, boolean firstToken) {
        double[] values = timings.stream().mapToDouble(t -> firstToken ? t.firstTokenMillis() : t.totalMillis())
                .sorted().toArray();
        return values[Math.min(values.length - 1, (int) Math.ceil(p / 100.0 * values.length) - 1)];
    }

    private static double throughput(Node node, int concurrency, int requests, int maxTokens) throws Exception {
        ExecutorService clients = Executors.newFixedThreadPool(concurrency);
        try {
            long start = System.nanoTime();
            List<Future<Timing>> done = new ArrayList<>();
            for (int i = 0; i < requests; i++) {
                done.add(clients.submit(() -> node.complete(maxTokens)));
            }
            for (Future<Timing> f : done) {
                f.get();
            }
            return requests / ((System.nanoTime() - start) / 1e9);
        } finally {
            clients.shutdownNow();
        }
    }

    private static void waitFor(BooleanSupplier condition, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("not reached within " + seconds + " s");
            }
            Thread.sleep(20); // polling an external process: there is nothing to wait on
        }
    }

    /** One serve process. */
    static final class Node {
        static final Path LOGS = Path.of("target", "cluster-overhead");
        final String name;
        final List<String> command;
        final int port;
        Process process;

        /** Node {@code index} of three, on grid port {@code gridBase + index}. */
        Node(String name, Path jar, Path model, int gridBase, int index, long failureDetectionMillis) throws IOException {
            this.name = name;
            this.port = ServeProcess.httpPortFor(gridBase + index); // below the ephemeral ports where it can
            // The Vector API module given here: without it the jar relaunches itself, two JVMs per node.
            this.command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
                    "--add-modules", "jdk.incubator.vector",
                    "-jar", jar.toString(), "serve", "--model", model.toString(), "--port", Integer.toString(port),
                    "--num-kv-blocks", "512", "--block-size", "4", "--node-name", name,
                    "--grid-port", Integer.toString(gridBase + index),
                    "--peers", "127.0.0.1:" + gridBase + ".." + (gridBase + NODES - 1),
                    "--expected-nodes", Integer.toString(NODES),
                    "--grid-failure-detection", Long.toString(failureDetectionMillis));
        }

        Node start() throws IOException {
            Path log = LOGS.resolve(name + ".log");
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

        /** True while the process runs; throws, naming the node and its log, once it exited (it will not come back). */
        boolean running() {
            if (!process.isAlive()) {
                Path log = LOGS.resolve(name + ".log").toAbsolutePath();
                String tail;
                try {
                    List<String> lines = Files.readAllLines(log);
                    tail = String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
                } catch (IOException e) {
                    tail = "(unreadable: " + e + ")";
                }
                throw new IllegalStateException("node " + name + " exited with status " + process.exitValue()
                        + "; the end of " + log + ":\n" + tail);
            }
            return true;
        }

        void kill() throws InterruptedException {
            process.destroyForcibly();
            process.waitFor();
        }

        void stop() {
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

        void post(String path, String body) throws IOException, InterruptedException {
            HTTP.send(HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.discarding());
        }

        /** One streaming completion; times to the first token chunk and to [DONE]. */
        Timing complete(int maxTokens) throws IOException, InterruptedException {
            String body = "{\"prompt\":[10,11,12,13],\"max_tokens\":" + maxTokens
                    + ",\"temperature\":0,\"ignore_eos\":true,\"stream\":true}";
            long start = System.nanoTime();
            HttpResponse<InputStream> response = HTTP.send(HttpRequest.newBuilder(uri("/v1/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body))
                    .build(), HttpResponse.BodyHandlers.ofInputStream());
            long first = -1;
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = lines.readLine()) != null) {
                    if (line.startsWith("data: ") && first < 0) {
                        first = System.nanoTime();
                    }
                    if (line.equals("data: [DONE]")) {
                        break;
                    }
                }
            }
            if (response.statusCode() != 200 || first < 0) {
                throw new IOException(name + " answered " + response.statusCode());
            }
            long end = System.nanoTime();
            return new Timing((first - start) / 1e6, (end - start) / 1e6);
        }

        private URI uri(String path) {
            return URI.create("http://127.0.0.1:" + port + path);
        }
    }
}
