package org.autoglm.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Cache-aware placement against load-only placement, in one run: many users share 16 system prompts of 1,000 tokens
 * each (then a few tokens of their own). The same request sequence goes to three {@code serve} processes placing by
 * prefix hit within the load bound, to three placing by load only ({@code --no-cache-aware-placement}), and to one
 * node with the three nodes' KV memory (the ideal: every prefix in one cache). Reported: the prefix-cache hit rate
 * over all nodes (from {@code /metrics}) and time to first token. With {@code --batch true} the same requests go as
 * the lines of one batch instead (nodes pull chunks of lines by the prefix they hold): reported are the hit rate and the
 * batch's time. Not a test: figures go to the README.
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar org.autoglm.bench.PrefixRouting node/target/autoglm-node.jar [MODEL_DIR]
 *      [--requests 320] [--concurrency 6] [--kv-blocks 512] [--batch false] [--setups cache-aware,load-only,one-node]
 * </pre>
 * {@code --setups} runs only the setups named (the ratios need all three).
 */
public final class PrefixRouting {

    /** Below Linux's ephemeral ports (32768-60999), where an outgoing connection could hold one. */
    private static final int GRID = 24980;
    private static final int PROMPTS = 16;
    private static final int PROMPT_TOKENS = 1000;
    private static final int BLOCK = 16;
    private static final int USERS = 200;

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: PrefixRouting NODE_JAR [MODEL_DIR] [--requests 320] [--concurrency 6]"
                    + " [--kv-blocks 512]");
            System.exit(2);
        }
        Path jar = Path.of(args[0]);
        int first = 1;
        Path model = null;
        if (args.length > 1 && !args[1].startsWith("--")) {
            model = Path.of(args[1]);
            first = 2;
        }
        int requests = 320;
        int concurrency = 6;
        // Per node: 8 of the 16 prompts (63 blocks each) fit, so the three nodes together hold all of them with room to
        // spare only when each prompt stays on one node; one node with the three nodes' blocks holds all 16. (At 320 a
        // node held 5 prompts less its requests' own blocks, and the cluster less than the 16 it had to hold.)
        int kvBlocks = 512;
        boolean batch = false;
        List<String> setups = List.of("cache-aware", "load-only", "one-node");
        for (int i = first; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--requests" -> requests = Integer.parseInt(args[i + 1]);
                case "--concurrency" -> concurrency = Integer.parseInt(args[i + 1]);
                case "--kv-blocks" -> kvBlocks = Integer.parseInt(args[i + 1]);
                case "--batch" -> batch = Boolean.parseBoolean(args[i + 1]);
                case "--setups" -> setups = List.of(args[i + 1].split(","));
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        List<String> workload = workload(requests);
        System.out.printf("%d requests, %d clients, %d system prompts of %d tokens, %d users; KV blocks of %d tokens:"
                        + " %d per node in the 3-node setups, %d in the one-node setup (%s)%n", requests, concurrency,
                PROMPTS, PROMPT_TOKENS, USERS, BLOCK, kvBlocks, kvBlocks * 3, LoadAverage.now());
        // Each setup prints as it ends: a run cut short on a loaded machine still leaves its figures.
        int n = workload.size();
        Result cacheAware = !setups.contains("cache-aware") ? null
                : print(run("cache-aware", jar, model, 3, kvBlocks, workload, concurrency, batch), batch, n);
        Result loadOnly = !setups.contains("load-only") ? null
                : print(run("load-only", jar, model, 3, kvBlocks, workload, concurrency, batch,
                        "--no-cache-aware-placement"), batch, n);
        Result single = !setups.contains("one-node") ? null
                : print(run("one node", jar, model, 1, kvBlocks * 3, workload, concurrency, batch), batch, n);
        if (cacheAware == null || loadOnly == null || single == null) {
            return;
        }
        System.out.printf("cache-aware hit rate = %.0f %% of one node's; load-only = %.0f %%; %s cache-aware /"
                        + " load-only = x%.2f%n", 100 * cacheAware.hitRate / single.hitRate,
                100 * loadOnly.hitRate / single.hitRate, batch ? "batch time" : "TTFT p50", batch
                        ? cacheAware.seconds / loadOnly.seconds
                        : ServeNode.percentile(cacheAware.ttft, 50) / ServeNode.percentile(loadOnly.ttft, 50));
    }

    record Result(String label, double hitRate, List<Double> ttft, double seconds) {}

    private static Result print(Result r, boolean batch, int lines) {
        if (batch) {
            System.out.printf("%-12s prefix hit rate %5.1f %% | batch of %d lines in %.1f s (%s)%n", r.label,
                    100 * r.hitRate, lines, r.seconds, LoadAverage.now());
        } else {
            System.out.printf("%-12s prefix hit rate %5.1f %% | TTFT p50 %7.1f ms p99 %7.1f ms | %d requests in"
                            + " %.1f s (%s)%n", r.label, 100 * r.hitRate, ServeNode.percentile(r.ttft, 50),
                    ServeNode.percentile(r.ttft, 99), r.ttft.size(), r.seconds, LoadAverage.now());
        }
        System.out.flush();
        return r;
    }

    /** The workload as the lines of one batch, sent to {@code entry}; returns once the batch has completed. */
    private static void runBatch(ServeNode entry, List<String> workload) throws Exception {
        StringBuilder file = new StringBuilder();
        for (int i = 0; i < workload.size(); i++) {
            file.append("{\"custom_id\":\"r").append(i).append("\",\"method\":\"POST\",\"url\":\"/v1/completions\",")
                    .append("\"body\":").append(workload.get(i).replace(",\"stream\":true", "")).append("}\n");
        }
        String fileId = entry.upload(file.toString());
        String id = ServeNode.JSON.readTree(entry.post("/v1/batches", "{\"input_file_id\":\"" + fileId
                + "\",\"endpoint\":\"/v1/completions\",\"completion_window\":\"24h\"}")).get("id").asText();
        ServeNode.waitFor(() -> {
            try {
                String status = entry.getJson("/v1/batches/" + id).get("status").asText();
                return !status.equals("validating") && !status.equals("in_progress") && !status.equals("finalizing");
            } catch (Exception e) {
                return false;
            }
        }, 3600);
    }

    /** Request bodies: user u sends system prompt u % 16, then 16 tokens of its own. */
    private static List<String> workload(int requests) {
        List<String> out = new ArrayList<>();
        java.util.Random random = new java.util.Random(7);
        for (int i = 0; i < requests; i++) {
            int user = random.nextInt(USERS);
            int prompt = user % PROMPTS;
            StringBuilder ids = new StringBuilder();
            for (int t = 0; t < PROMPT_TOKENS; t++) {
                ids.append(10 + (prompt * 7919 + t * 31) % 180).append(',');
            }
            for (int t = 0; t < 16; t++) {
                ids.append(10 + (user * 13 + i * 5 + t) % 180).append(t < 15 ? "," : "");
            }
            out.add("{\"prompt\":[" + ids + "],\"max_tokens\":8,\"temperature\":0,\"ignore_eos\":true,\"stream\":true}");
        }
        return out;
    }

    private static Result run(String label, Path jar, Path model, int size, int kvBlocks, List<String> workload,
                              int concurrency, boolean batch, String... extra) throws Exception {
        List<ServeNode> nodes = new ArrayList<>();
        ExecutorService clients = Executors.newFixedThreadPool(concurrency);
        try {
            for (int i = 0; i < size; i++) {
                List<String> flags = new ArrayList<>(List.of("--num-kv-blocks", Integer.toString(kvBlocks),
                        "--block-size", Integer.toString(BLOCK), "--grid-failure-detection", "6000"));
                flags.addAll(List.of(extra));
                ServeNode node = new ServeNode("r" + i, jar, model, GRID + i, GRID, size,
                        Path.of("target", "prefix-routing", label.replace(' ', '-')), flags.toArray(String[]::new)).start();
                nodes.add(node);
                ServeNode.waitFor(() -> node.status("/health") == 200, 900); // a loaded machine takes minutes
            }
            for (ServeNode node : nodes) {
                ServeNode.waitFor(() -> node.status("/ready") == 200, 900);
            }
            Thread.sleep(3000); // heartbeats carry the first load (and prefix) figures
            List<Double> ttft = Collections.synchronizedList(new ArrayList<>());
            long start = System.nanoTime();
            if (batch) {
                runBatch(nodes.get(0), workload);
            } else {
                List<Future<?>> done = new ArrayList<>();
                for (int i = 0; i < workload.size(); i++) {
                    ServeNode to = nodes.get(i % nodes.size());
                    String body = workload.get(i);
                    done.add(clients.submit(() -> {
                        ttft.add(to.stream(body).firstTokenMillis());
                        return null;
                    }));
                }
                for (Future<?> f : done) {
                    f.get();
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            double queries = 0;
            double hits = 0;
            for (ServeNode node : nodes) {
                queries += node.metric("autoglm:prefix_cache_queries_total");
                hits += node.metric("autoglm:prefix_cache_hits_total");
            }
            return new Result(label, queries == 0 ? 0 : hits / queries, ttft, seconds);
        } finally {
            clients.shutdownNow();
            nodes.forEach(ServeNode::stop);
        }
    }
}
