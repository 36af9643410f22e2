package org.autoglm.bench;



import java.io.IOException;







import java.nio.file.Path;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;



/**
 * What the cluster path costs: three {@code serve} processes of the node jar on loopback; only p0 has the tag every
 * request requires ({@code required_tags}), so every request runs on p0 (a drained node would refuse them instead).
 * The same streaming requests are sent alternately to p0 (it executes them itself) and to p1 (tokens come back over
 * the grid), and time to first token and end-to-end latency are compared, then
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

    /** Where the nodes' logs go. */
    static final Path LOGS = Path.of("target", "cluster-overhead");
    /** The tag only p0 has, which every request requires. */
    private static final String EXECUTOR_TAG = "executor";
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
        List<ServeNode> nodes = new ArrayList<>();
        try {
            startCluster(jar, model, gridPort, failureDetectionMillis, nodes);
            ServeNode executing = nodes.get(0);
            ServeNode forwarding = nodes.get(1);

            for (int i = 0; i < 30; i++) { // warm up both paths (JIT, prefix cache)
                executing.stream(completion(maxTokens));
                forwarding.stream(completion(maxTokens));
            }
            List<ServeNode.Timing> direct = new ArrayList<>();
            List<ServeNode.Timing> viaPeer = new ArrayList<>();
            for (int i = 0; i < requests; i++) {
                direct.add(executing.stream(completion(maxTokens)));
                viaPeer.add(forwarding.stream(completion(maxTokens)));
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
                ServeNode leader = nodes.stream().filter(n -> n.name.equals(n.leaderName())).findFirst().orElseThrow();
                long killed = System.nanoTime();
                leader.kill();
                ServeNode.waitFor(() -> nodes.stream().filter(ServeNode::alive).anyMatch(n -> {
                    String name = n.leaderName();
                    return name != null && !name.equals(leader.name);
                }), 30);
                System.out.printf("failover %d: new leader %.0f ms after kill -9 of %s%n", run + 1,
                        (System.nanoTime() - killed) / 1e6, leader.name);
                leader.start();
                ServeNode.waitFor(() -> leader.status("/ready") == 200, 120);
                ServeNode.waitFor(() -> nodes.stream().allMatch(n -> n.status("/cluster/health") == 200), 60);
            }
        } finally {
            nodes.forEach(ServeNode::stop);
        }
    }

    /**
     * Starts the three nodes at once and waits for all of them to be ready (each loads its model and needs the others
     * for a majority), then for the cluster to be healthy. {@code nodes} gets each node as it starts, so the caller
     * can stop them whatever happens.
     */
    static void startCluster(Path jar, Path model, int gridPort, long failureDetectionMillis, List<ServeNode> nodes)
            throws IOException, InterruptedException {
        for (int i = 0; i < NODES; i++) {
            // the Vector API module given by ServeNode: without it the jar relaunches itself, two JVMs per node
            nodes.add(new ServeNode("p" + i, jar, model, gridPort + i, gridPort, NODES, LOGS, "--num-kv-blocks", "512",
                    "--block-size", "4", "--grid-failure-detection", Long.toString(failureDetectionMillis),
                    "--tags", i == 0 ? EXECUTOR_TAG : "peer").start());
        }
        System.err.printf("started %d serve processes (logs in %s); waiting for them to load and form the cluster%n",
                NODES, LOGS.toAbsolutePath());
        ServeNode.waitFor(() -> nodes.stream().allMatch(n -> n.running() && n.status("/ready") == 200), 180);
        ServeNode.waitFor(() -> nodes.stream().allMatch(n -> n.status("/cluster/health") == 200), 60);
    }

    /** A streamed completion of {@code maxTokens} tokens that always runs to the end. */
    private static String completion(int maxTokens) {
        return "{\"prompt\":[10,11,12,13],\"max_tokens\":" + maxTokens
                + ",\"temperature\":0,\"ignore_eos\":true,\"stream\":true,\"required_tags\":[\"" + EXECUTOR_TAG + "\"]}";
    }

    private static void report(String label, List<ServeNode.Timing> timings) {
        System.out.printf("%s TTFT p50 %.2f ms p99 %.2f ms | end-to-end p50 %.2f ms p99 %.2f ms%n", label,
                pct(timings, 50, true), pct(timings, 99, true), pct(timings, 50, false), pct(timings, 99, false));
    }

    private static double pct(List<ServeNode.Timing> timings, int p, boolean firstToken) {
        double[] values = timings.stream().mapToDouble(t -> firstToken ? t.firstTokenMillis() : t.totalMillis())
                .sorted().toArray();
        return values[Math.min(values.length - 1, (int) Math.ceil(p / 100.0 * values.length) - 1)];
    }

    private static double throughput(ServeNode node, int concurrency, int requests, int maxTokens) throws Exception {
        ExecutorService clients = Executors.newFixedThreadPool(concurrency);
        try {
            long start = System.nanoTime();
            List<Future<ServeNode.Timing>> done = new ArrayList<>();
            for (int i = 0; i < requests; i++) {
                done.add(clients.submit(() -> node.stream(completion(maxTokens))));
            }
            for (Future<ServeNode.Timing> f : done) {
                f.get();
            }
            return requests / ((System.nanoTime() - start) / 1e9);
        } finally {
            clients.shutdownNow();
        }
    }
}
