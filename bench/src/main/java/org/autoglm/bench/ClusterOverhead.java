package org.autoglm.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * What the cluster path costs: three {@code serve} processes of the node jar on loopback, two of them drained so
 * that every request runs on p0. The same streaming requests are sent alternately to p0 (it executes them itself)
 * and to p1 (tokens come back over the grid), and time to first token and end-to-end latency are compared, then
 * throughput at a concurrency. Last, the leader is killed with {@code kill -9} a few times and the time until a
 * survivor reports a new leader is measured. Not a test: figures go to the README.
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar org.autoglm.bench.ClusterOverhead node/target/autoglm-node.jar MODEL_DIR
 *      [--requests 200] [--max-tokens 16] [--concurrency 8] [--failovers 3]
 * </pre>
 */
public final class ClusterOverhead {

    private static final int GRID = 47900;

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: ClusterOverhead NODE_JAR MODEL_DIR [--requests 200] [--max-tokens 16] "
                    + "[--concurrency 8] [--failovers 3]");
            System.exit(2);
        }
        Path jar = Path.of(args[0]);
        Path model = Path.of(args[1]);
        int requests = 200;
        int maxTokens = 16;
        int concurrency = 8;
        int failovers = 3;
        for (int i = 2; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--requests" -> requests = Integer.parseInt(args[i + 1]);
                case "--max-tokens" -> maxTokens = Integer.parseInt(args[i + 1]);
                case "--concurrency" -> concurrency = Integer.parseInt(args[i + 1]);
                case "--failovers" -> failovers = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        List<ServeNode> nodes = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                ServeNode node = new ServeNode("p" + i, jar, model, GRID + i, GRID, 3, Path.of("target", "cluster-overhead"),
                        "--num-kv-blocks", "512", "--block-size", "4").start();
                nodes.add(node);
                ServeNode.waitFor(() -> node.status("/ready") == 200, 120);
            }
            ServeNode.waitFor(() -> nodes.stream().allMatch(n -> n.status("/cluster/health") == 200), 60);
            nodes.get(0).post("/cluster/nodes/p1/drain", "");
            nodes.get(0).post("/cluster/nodes/p2/drain", "");
            ServeNode executing = nodes.get(0);
            ServeNode forwarding = nodes.get(1);

            for (int i = 0; i < 30; i++) { // warm up both paths (JIT, prefix cache)
                complete(executing, maxTokens);
                complete(forwarding, maxTokens);
            }
            List<ServeNode.Timing> direct = new ArrayList<>();
            List<ServeNode.Timing> viaPeer = new ArrayList<>();
            for (int i = 0; i < requests; i++) {
                direct.add(complete(executing, maxTokens));
                viaPeer.add(complete(forwarding, maxTokens));
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
                done.add(clients.submit(() -> complete(node, maxTokens)));
            }
            for (Future<ServeNode.Timing> f : done) {
                f.get();
            }
            return requests / ((System.nanoTime() - start) / 1e9);
        } finally {
            clients.shutdownNow();
        }
    }

    /** One streaming completion of a fixed 4-token prompt, greedy, exactly {@code maxTokens} tokens. */
    private static ServeNode.Timing complete(ServeNode node, int maxTokens) throws IOException, InterruptedException {
        return node.stream("{\"prompt\":[10,11,12,13],\"max_tokens\":" + maxTokens
                + ",\"temperature\":0,\"ignore_eos\":true,\"stream\":true}");
    }
}
