package org.autoglm.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What a big batch does to interactive traffic, and what a node's death does to the batch: three {@code serve}
 * processes on loopback (demo model unless a model is given). In one run: interactive time to first token on the idle
 * cluster; a batch alone (its tokens/s); the same batch with interactive requests beside it (their TTFT, its tokens/s);
 * and the batch again with one non-entry node killed by {@code kill -9} mid-way (every line in the output exactly
 * once). Not a test: figures go to the README.
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar org.autoglm.bench.BatchInterference node/target/autoglm-node.jar [MODEL_DIR]
 *      [--lines 5000] [--max-tokens 16] [--interactive 100] [--kill-only true] [--kill false]
 *      [--batch-line-tokens 16] [--kill-runner false]
 * </pre>
 * {@code --batch-line-tokens} is each node's {@code --batch-line-tokens-per-step} (0: no limit of its own).
 * {@code --kill-only true} runs just the last phase (the batch through a {@code kill -9}): the exactly-once figure for a
 * big batch when the machine has no time for all four; {@code --kill false} leaves that phase out. The node killed is
 * i2, or with {@code --kill-runner true} the node coordinating the batch (its runner, found in the nodes' logs), so that
 * another node takes the batch over. The nodes log each
 * interactive request's timeline ({@code autoglm.timeline}), and the stages of the time to first token are printed for
 * the idle cluster and beside the batch.
 */
public final class BatchInterference {

    /** Below Linux's ephemeral ports (32768-60999), where an outgoing connection could hold one. */
    private static final int GRID = 24950;

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: BatchInterference NODE_JAR [MODEL_DIR] [--lines 5000] [--max-tokens 16]"
                    + " [--interactive 100]");
            System.exit(2);
        }
        Path jar = Path.of(args[0]);
        int first = 1;
        Path model = null;
        if (args.length > 1 && !args[1].startsWith("--")) {
            model = Path.of(args[1]);
            first = 2;
        }
        int lines = 5000;
        int maxTokens = 16;
        int interactive = 100;
        boolean killOnly = false;
        boolean kill = true;
        int batchLineTokens = 16;
        boolean killRunner = false;
        for (int i = first; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--lines" -> lines = Integer.parseInt(args[i + 1]);
                case "--max-tokens" -> maxTokens = Integer.parseInt(args[i + 1]);
                case "--interactive" -> interactive = Integer.parseInt(args[i + 1]);
                case "--kill-only" -> killOnly = Boolean.parseBoolean(args[i + 1]);
                case "--kill" -> kill = Boolean.parseBoolean(args[i + 1]);
                case "--batch-line-tokens" -> batchLineTokens = Integer.parseInt(args[i + 1]);
                case "--kill-runner" -> killRunner = Boolean.parseBoolean(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        List<ServeNode> nodes = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) { // started together: each waits for the others' grid ports anyway
                nodes.add(new ServeNode("i" + i, jar, model, GRID + i, GRID, 3,
                        Path.of("target", "batch-interference"), "--grid-failure-detection", "6000",
                        "--batch-line-tokens-per-step", Integer.toString(batchLineTokens))
                        .jvm("-Dorg.slf4j.simpleLogger.log.autoglm.timeline=debug").start());
            }
            for (ServeNode node : nodes) { // a loaded machine may take minutes to start three JVMs
                ServeNode.waitFor(() -> node.status("/ready") == 200, 900);
            }
            ServeNode entry = nodes.get(0);
            String file = entry.upload(batchFile(lines, maxTokens));
            for (int i = 0; i < 20; i++) { // warm up (JIT) the interactive path
                nodes.get(i % 3).stream(interactiveBody(i, maxTokens));
            }

            if (killOnly) {
                killPhase(nodes, file, lines, killRunner);
                return;
            }
            // Each phase prints as it ends: a long run that is cut short still leaves its figures.
            long idleFrom = System.currentTimeMillis();
            List<Double> idle = interactive(nodes, interactive, maxTokens, null, null);
            long idleTo = System.currentTimeMillis();
            System.out.printf("interactive TTFT, idle cluster (%d requests): p50 %.1f ms, p99 %.1f ms (%s)%n",
                    idle.size(), ServeNode.percentile(idle, 50), ServeNode.percentile(idle, 99), LoadAverage.now());
            double txBefore = transactions(nodes);
            Run alone = runBatch(entry, file, lines, null, null);
            double txAfter = transactions(nodes);
            System.out.printf("batch alone: %d lines in %.1f s, %.0f completion tok/s; %.0f grid transactions started"
                    + " by the nodes meanwhile (%.2f per line, everything included)%n", lines, alone.seconds,
                    alone.tokensPerSecond(), txAfter - txBefore, (txAfter - txBefore) / lines);
            List<Double> busy = new ArrayList<>();
            long busyFrom = System.currentTimeMillis();
            Run mixed = runBatch(entry, file, lines, nodes, busy);
            long busyTo = System.currentTimeMillis();
            System.out.printf("interactive TTFT, %d-line batch running (%d requests): p50 %.1f ms, p99 %.1f ms"
                    + " (p50 x%.2f, p99 x%.2f idle)%n", lines, busy.size(), ServeNode.percentile(busy, 50),
                    ServeNode.percentile(busy, 99), ServeNode.percentile(busy, 50) / ServeNode.percentile(idle, 50),
                    ServeNode.percentile(busy, 99) / ServeNode.percentile(idle, 99));
            System.out.printf("batch with interactive traffic: %.1f s, %.0f tok/s (x%.2f of alone) (%s)%n", mixed.seconds,
                    mixed.tokensPerSecond(), mixed.tokensPerSecond() / alone.tokensPerSecond(), LoadAverage.now());
            Timeline.print("idle cluster", nodes, idleFrom, idleTo);
            Timeline.print("batch running", nodes, busyFrom, busyTo);
            System.out.flush();
            if (kill) {
                killPhase(nodes, file, lines, killRunner);
            }
        } finally {
            nodes.forEach(ServeNode::stop);
        }
    }

    /** Grid transactions the nodes started so far ({@code autoglm:grid_transactions_total}, summed). */
    private static double transactions(List<ServeNode> nodes) throws Exception {
        double sum = 0;
        for (ServeNode node : nodes) {
            sum += node.metric("autoglm:grid_transactions_total");
        }
        return sum;
    }

    private static void killPhase(List<ServeNode> nodes, String file, int lines, boolean killRunner)
            throws Exception {
        ServeNode entry = nodes.get(0);
        long start = System.nanoTime();
        String id = create(entry, file);
        ServeNode.waitFor(() -> counts(entry, id) >= lines / 4, 600);
        ServeNode victim = killRunner ? runnerOf(nodes, id) : nodes.get(2);
        ServeNode reader = nodes.stream().filter(n -> n != victim).findFirst().orElseThrow();
        int killedAt = counts(entry, id);
        victim.kill();
        awaitEnd(reader, id);
        Run withKill = finished(reader, id, (System.nanoTime() - start) / 1e9);
        System.out.printf("batch with kill -9 of %s%s at %d lines done: %.1f s, %d lines in the output, %d distinct,"
                + " %d in the error file (%s)%n", victim.name, killRunner ? " (its runner)" : "", killedAt,
                withKill.seconds, withKill.outputLines, withKill.distinct, withKill.errorLines, LoadAverage.now());
    }

    /** The node whose log says it took the batch (before any kill only one has). */
    private static ServeNode runnerOf(List<ServeNode> nodes, String id) throws Exception {
        String said = "batch " + id + " runs on node '";
        for (ServeNode node : nodes) {
            if (node.logLines().stream().anyMatch(l -> l.contains(said + node.name + "'"))) {
                return node;
            }
        }
        throw new IllegalStateException("no node's log says it runs " + id);
    }

    /** A finished batch: time from creation to completion and what its files hold. */
    record Run(double seconds, long completionTokens, int outputLines, int distinct, int errorLines) {
        double tokensPerSecond() {
            return completionTokens / seconds;
        }
    }

    private static String batchFile(int lines, int maxTokens) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < lines; i++) {
            out.append("{\"custom_id\":\"line-").append(i).append("\",\"method\":\"POST\",\"url\":\"/v1/completions\",")
                    .append("\"body\":{\"prompt\":[").append(20 + i % 50).append(",21,22,23,24,25,26,27],\"max_tokens\":")
                    .append(maxTokens).append(",\"temperature\":0,\"ignore_eos\":true}}\n");
        }
        return out.toString();
    }

    private static String interactiveBody(int i, int maxTokens) {
        return "{\"prompt\":[" + (100 + i % 30) + ",11,12,13],\"max_tokens\":" + maxTokens
                + ",\"temperature\":0,\"ignore_eos\":true,\"stream\":true}";
    }

    /** Sequential interactive streams, round robin over the nodes, until {@code count} or until {@code until} ends. */
    private static List<Double> interactive(List<ServeNode> nodes, int count, int maxTokens, Thread until,
                                            List<Double> into) throws Exception {
        List<Double> ttft = into != null ? into : new ArrayList<>();
        for (int i = 0; until != null ? until.isAlive() : i < count; i++) {
            try {
                ttft.add(nodes.get(i % nodes.size()).stream(interactiveBody(i, maxTokens)).firstTokenMillis());
            } catch (java.io.IOException e) { // counted and reported, not a reason to lose the run's other figures
                System.out.println("interactive request " + i + " failed: " + e.getMessage());
            }
        }
        return ttft;
    }

    private static Run runBatch(ServeNode entry, String file, int lines, List<ServeNode> interactiveNodes,
                                List<Double> ttft) throws Exception {
        long start = System.nanoTime();
        String id = create(entry, file);
        if (interactiveNodes != null) {
            Thread waiter = new Thread(() -> awaitEnd(entry, id));
            waiter.start();
            interactive(interactiveNodes, 0, 16, waiter, ttft);
            waiter.join();
        } else {
            awaitEnd(entry, id);
        }
        return finished(entry, id, (System.nanoTime() - start) / 1e9);
    }

    private static String create(ServeNode entry, String file) throws Exception {
        return ServeNode.JSON.readTree(entry.post("/v1/batches", "{\"input_file_id\":\"" + file
                + "\",\"endpoint\":\"/v1/completions\",\"completion_window\":\"24h\"}")).get("id").asText();
    }

    private static int counts(ServeNode entry, String id) {
        try {
            JsonNode b = entry.getJson("/v1/batches/" + id);
            return b.at("/request_counts/completed").asInt() + b.at("/request_counts/failed").asInt();
        } catch (Exception e) {
            return 0;
        }
    }

    private static void awaitEnd(ServeNode entry, String id) {
        try {
            ServeNode.waitFor(() -> {
                try {
                    String status = entry.getJson("/v1/batches/" + id).get("status").asText();
                    return status.equals("completed") || status.equals("failed") || status.equals("cancelled")
                            || status.equals("expired");
                } catch (Exception e) {
                    return false;
                }
            }, 3600);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Run finished(ServeNode entry, String id, double seconds) throws Exception {
        JsonNode b = entry.getJson("/v1/batches/" + id);
        long tokens = 0;
        int outputLines = 0;
        Set<String> ids = new HashSet<>();
        if (b.hasNonNull("output_file_id")) {
            for (String line : entry.get("/v1/files/" + b.get("output_file_id").asText() + "/content").split("\n")) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode n = ServeNode.JSON.readTree(line);
                outputLines++;
                ids.add(n.get("custom_id").asText());
                tokens += n.at("/response/body/usage/completion_tokens").asLong();
            }
        }
        int errors = 0;
        if (b.hasNonNull("error_file_id")) {
            errors = (int) entry.get("/v1/files/" + b.get("error_file_id").asText() + "/content").lines()
                    .filter(l -> !l.isBlank()).count();
        }
        return new Run(seconds, tokens, outputLines, ids.size(), errors);
    }
}
