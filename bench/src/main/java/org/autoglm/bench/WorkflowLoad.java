package org.autoglm.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Workflow runs on a cluster: three {@code serve} processes of the node jar on loopback with the demo model.
 * <ol>
 *   <li>Per-step overhead: a chain of {@code --chain} llm steps against the same chat request sent bare to
 *       {@code /v1/chat/completions}, alternately, sequentially; overhead per step = (run p50 - steps x bare p50) /
 *       steps, both measured in this run.</li>
 *   <li>Load with a failure: {@code --runs} runs of a 3-step template (a classify step, a {@code for_each} over 4
 *       items, a step with a {@code when}) started at once through {@code POST /v1/workflows/{name}/runs/bulk}; once
 *       a share of them has ended, one node that is not the one we talk to is killed with {@code kill -9}. Every run
 *       must succeed, and no step (or item) may have two successful attempts recorded.</li>
 * </ol>
 * Not a test: figures go to the README and bench/RESULTS.md.
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar org.autoglm.bench.WorkflowLoad node/target/autoglm-node.jar
 *      [--runs 1000] [--chain 3] [--samples 100] [--max-tokens 4] [--kill-after 0.3] [--grid-port 47950]
 *      [--grid-failure-detection 10000]
 * </pre>
 */
public final class WorkflowLoad {

    static final int NODES = 3;

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: WorkflowLoad NODE_JAR [--runs 1000] [--chain 3] [--samples 100] [--max-tokens 4]"
                    + " [--kill-after 0.3] [--grid-port 47950] [--grid-failure-detection 10000]");
            System.exit(2);
        }
        Path jar = Path.of(args[0]);
        int runs = 1000;
        int chain = 3;
        int samples = 100;
        int maxTokens = 4;
        double killAfter = 0.3;
        int gridPort = 47950;
        long failureDetectionMillis = 10_000; // a loaded machine stalls nodes for seconds; 2 s segments them
        for (int i = 1; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--runs" -> runs = Integer.parseInt(args[i + 1]);
                case "--chain" -> chain = Integer.parseInt(args[i + 1]);
                case "--samples" -> samples = Integer.parseInt(args[i + 1]);
                case "--max-tokens" -> maxTokens = Integer.parseInt(args[i + 1]);
                case "--kill-after" -> killAfter = Double.parseDouble(args[i + 1]);
                case "--grid-port" -> gridPort = Integer.parseInt(args[i + 1]);
                case "--grid-failure-detection" -> failureDetectionMillis = Long.parseLong(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        List<ServeNode> nodes = new ArrayList<>();
        Path logs = Path.of("target", "workflow-load");
        try {
            for (int i = 0; i < NODES; i++) {
                nodes.add(new ServeNode("w" + i, jar, null, gridPort + i, gridPort, NODES, logs,
                        "--num-kv-blocks", "2048", "--block-size", "8",
                        "--grid-failure-detection", Long.toString(failureDetectionMillis)).start());
            }
            System.err.printf("started %d serve processes (logs in %s)%n", NODES, logs.toAbsolutePath());
            ServeNode.waitFor(() -> nodes.stream().allMatch(n -> n.status("/ready") == 200), 600); // minutes on a loaded machine
            ServeNode.waitFor(() -> nodes.stream().allMatch(n -> n.status("/cluster/health") == 200), 60);
            ServeNode client = nodes.get(0);
            overhead(client, chain, samples, maxTokens);
            load(client, nodes.get(NODES - 1), runs, maxTokens, killAfter);
        } finally {
            nodes.forEach(ServeNode::stop);
        }
    }

    /** The same chat request bare and as each step of a chain, alternately; p50s and the overhead per step. */
    static void overhead(ServeNode node, int chain, int samples, int maxTokens) throws Exception {
        ObjectNode template = ServeNode.JSON.createObjectNode().put("name", "bench-chain");
        template.putObject("params").put("type", "object").putObject("properties");
        ArrayNode steps = template.putArray("steps");
        for (int s = 1; s <= chain; s++) {
            ObjectNode step = steps.addObject().put("id", "s" + s).put("kind", "llm").put("prompt", "Say something.")
                    .put("max_tokens", maxTokens).put("temperature", 0);
            if (s > 1) {
                step.putArray("depends_on").add("s" + (s - 1));
            }
        }
        template.put("output", "{{ steps.s" + chain + ".output }}");
        createTemplate(node, template);
        String bare = ServeNode.JSON.createObjectNode().put("model", "demo").put("max_tokens", maxTokens)
                .put("temperature", 0).set("messages", ServeNode.JSON.readTree(
                        "[{\"role\":\"user\",\"content\":\"Say something.\"}]")).toString();
        for (int i = 0; i < 10; i++) { // warm-up: JIT, prefix cache, grammar-free path
            timeBare(node, bare);
            timeRun(node, "bench-chain", "{}");
        }
        List<Double> bareMillis = new ArrayList<>();
        List<Double> runMillis = new ArrayList<>();
        for (int i = 0; i < samples; i++) {
            bareMillis.add(timeBare(node, bare));
            runMillis.add(timeRun(node, "bench-chain", "{}"));
        }
        double bare50 = ServeNode.percentile(bareMillis, 50);
        double run50 = ServeNode.percentile(runMillis, 50);
        System.out.printf("per-step overhead, %d samples, %d-step chain, %d tokens per call, %s:%n",
                samples, chain, maxTokens, LoadAverage.now());
        System.out.printf("  bare chat call      p50 %.1f ms  p99 %.1f ms%n", bare50, ServeNode.percentile(bareMillis, 99));
        System.out.printf("  %d-step run          p50 %.1f ms  p99 %.1f ms%n", chain, run50,
                ServeNode.percentile(runMillis, 99));
        System.out.printf("  overhead per step   p50 %.1f ms  ((run p50 - %d x bare p50) / %d)%n",
                (run50 - chain * bare50) / chain, chain, chain);
    }

    /** Many runs of the 3-step template at once, with {@code kill -9} of {@code victim} part-way. */
    static void load(ServeNode client, ServeNode victim, int runs, int maxTokens, double killAfter) throws Exception {
        createTemplate(client, ServeNode.JSON.readTree(LOAD_TEMPLATE.replace("MAX_TOKENS", Integer.toString(maxTokens))));
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < runs; i++) {
            lines.append("{\"ticket\":\"ticket number ").append(i).append("\",\"urgent\":").append(i % 2 == 0)
                    .append("}\n");
        }
        String fileId = client.upload(lines.toString());
        long start = System.nanoTime();
        JsonNode bulk = ServeNode.JSON.readTree(client.post("/v1/workflows/bench-load/runs/bulk",
                ServeNode.JSON.createObjectNode().put("input_file_id", fileId).toString()));
        if (!bulk.has("run_ids")) {
            throw new IllegalStateException("bulk start failed: " + bulk);
        }
        List<String> ids = new ArrayList<>();
        bulk.get("run_ids").forEach(id -> ids.add(id.asText()));
        System.out.printf("load: %d runs started through the bulk route in %.1f s%n", ids.size(),
                (System.nanoTime() - start) / 1e9);
        boolean killed = false;
        Map<String, JsonNode> ended = new HashMap<>();
        while (ended.size() < ids.size()) {
            for (String id : ids) {
                if (!ended.containsKey(id)) {
                    JsonNode run = client.getJson("/v1/workflow-runs/" + id);
                    if (ENDED.contains(run.path("status").asText())) {
                        ended.put(id, run);
                    }
                }
            }
            if (!killed && ended.size() >= killAfter * ids.size()) {
                victim.kill();
                killed = true;
                System.out.printf("  kill -9 of %s after %.1f s, %d runs ended%n", victim.name,
                        (System.nanoTime() - start) / 1e9, ended.size());
            }
            Thread.sleep(500);
            if ((System.nanoTime() - start) / 1e9 > 1800) {
                throw new IllegalStateException("runs still open after 30 minutes: " + (ids.size() - ended.size()));
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        Map<String, Integer> statuses = new HashMap<>();
        int inconsistent = 0;
        int made = 0;
        int needed = 0;
        for (JsonNode run : ended.values()) {
            statuses.merge(run.path("status").asText(), 1, Integer::sum);
            List<String> wrong = inconsistencies(run);
            if (!wrong.isEmpty() && inconsistent++ < 5) {
                System.out.println("  " + run.path("id").asText() + ": " + wrong);
            }
            int[] a = attempts(run);
            made += a[0];
            needed += a[1];
        }
        System.out.printf("load: %d runs ended in %.1f s (%.1f runs/s): %s; runs whose steps show a result lost or"
                + " doubled: %d; attempts %d for %d step and item results (%d re-run after the kill)%n",
                ended.size(), seconds, ended.size() / seconds, statuses, inconsistent, made, needed, made - needed);
    }

    static final java.util.Set<String> ENDED = java.util.Set.of("succeeded", "failed", "cancelled");

    /**
     * What a run shows that it should not, were a step's result recorded twice or lost: a step or item not in its
     * final state, a for_each step without exactly its 4 items, a when-step run or skipped against its condition.
     */
    static List<String> inconsistencies(JsonNode run) {
        List<String> out = new ArrayList<>();
        boolean urgent = run.at("/params/urgent").asBoolean();
        for (JsonNode step : run.path("steps")) {
            String id = step.path("id").asText();
            String status = step.path("status").asText();
            String expected = id.equals("escalate") && !urgent ? "skipped" : "succeeded";
            if (!status.equals(expected)) {
                out.add(id + " " + status);
            }
            if (id.equals("answer")) {
                if (step.path("items").size() != 4) {
                    out.add("answer has " + step.path("items").size() + " items");
                }
                for (JsonNode item : step.path("items")) {
                    if (!item.path("status").asText().equals("succeeded") || item.path("output").isNull()) {
                        out.add("answer item " + item.path("index").asInt() + " " + item.path("status").asText());
                    }
                }
            }
        }
        return out;
    }

    /** Attempts made by a run's steps and items, and the fewest it could have needed. */
    static int[] attempts(JsonNode run) {
        int made = 0;
        int needed = 0;
        for (JsonNode step : run.path("steps")) {
            if (step.path("items").isEmpty()) {
                made += step.path("attempts").asInt();
                needed += step.path("status").asText().equals("skipped") ? 0 : 1;
            }
            for (JsonNode item : step.path("items")) {
                made += item.path("attempts").asInt();
                needed++;
            }
        }
        return new int[] {made, needed};
    }

    static void createTemplate(ServeNode node, JsonNode template) throws IOException, InterruptedException {
        JsonNode created = ServeNode.JSON.readTree(node.post("/v1/workflows", template.toString()));
        if (!created.has("version")) {
            throw new IllegalStateException("template refused: " + created);
        }
    }

    static double timeBare(ServeNode node, String body) throws IOException, InterruptedException {
        long t = System.nanoTime();
        JsonNode answer = ServeNode.JSON.readTree(node.post("/v1/chat/completions", body));
        if (!answer.has("choices")) {
            throw new IllegalStateException("chat call failed: " + answer);
        }
        return (System.nanoTime() - t) / 1e6;
    }

    /** Starts a run and follows its events until it ends; wall time in ms. */
    static double timeRun(ServeNode node, String name, String params) throws IOException, InterruptedException {
        long t = System.nanoTime();
        JsonNode run = ServeNode.JSON.readTree(node.post("/v1/workflows/" + name + "/runs", "{\"params\":" + params
                + "}"));
        String id = run.path("id").asText(null);
        if (id == null) {
            throw new IllegalStateException("run refused: " + run);
        }
        while (!ENDED.contains(run.path("status").asText())) {
            Thread.sleep(2);
            run = node.getJson("/v1/workflow-runs/" + id);
        }
        if (!run.path("status").asText().equals("succeeded")) {
            throw new IllegalStateException("run " + id + " " + run.path("status").asText() + ": " + run);
        }
        return (System.nanoTime() - t) / 1e6;
    }

    /** Classify, fan out over 4 items, then a step that runs only when the classification says so. */
    static final String LOAD_TEMPLATE = """
            {"name": "bench-load",
             "params": {"type": "object", "properties": {"ticket": {"type": "string"}, "urgent": {"type": "boolean"}},
                        "required": ["ticket", "urgent"]},
             "steps": [
               {"id": "classify", "kind": "llm", "prompt": "Classify: {{ params.ticket }}", "max_tokens": MAX_TOKENS,
                "temperature": 0},
               {"id": "answer", "kind": "llm", "depends_on": ["classify"], "for_each": "{{ ['a', 'b', 'c', 'd'] }}",
                "prompt": "Part {{ item }} of {{ params.ticket }}", "max_tokens": MAX_TOKENS, "temperature": 0},
               {"id": "escalate", "kind": "llm", "depends_on": ["answer"], "when": "params.urgent",
                "prompt": "Escalate {{ params.ticket }}", "max_tokens": MAX_TOKENS, "temperature": 0}
             ],
             "output": "{{ steps.classify.output }}"}
            """;
}
