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
 *   <li>{@code overhead}: a chain of {@code --chain} llm steps and the same chat request sent bare to
 *       {@code /v1/chat/completions}, interleaved one by one (the order swapped every sample) in the same run.
 *       Two figures: the end to end one, per sample pair {@code (run - chain x bare) / chain} and its median (it
 *       includes creating the run over HTTP and seeing it end, spread over the chain); and the driver's own, from
 *       {@code GET /cluster/workflow-stats} of the node driving the runs: the time from a step's answer arriving
 *       to the next step's request being handed to the queue (the per-step overhead: the queue and the engine are
 *       the bare call's), with what that path did counted per step (grid transactions, run reads, queue submits,
 *       timers, re-plans).</li>
 *   <li>{@code load}: {@code --runs} runs of a 3-step template (a classify step, a {@code for_each} over 4 items, a
 *       step with a {@code when}) started at once, a third through each node's bulk route (so each node drives a
 *       third); once {@code --kill-after} of them have ended, one node (not the one we read from) is killed with
 *       {@code kill -9}, and the others take its runs over. Every run must succeed, and every step and item must
 *       show exactly one result recorded ({@code results_recorded} as the run in the grid has it; a skipped step
 *       none).</li>
 * </ol>
 * Not a test: figures go to the README and docs/workflows.md. Exits 1 when a run failed or a result was recorded
 * twice or lost.
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar org.autoglm.bench.WorkflowLoad node/target/autoglm-node.jar
 *      [--phase overhead|load|both] [--runs 1000] [--chain 5] [--samples 200] [--max-tokens 4]
 *      [--kill-after 0.3] [--grid-port 47950] [--grid-failure-detection 10000]
 * </pre>
 */
public final class WorkflowLoad {

    static final int NODES = 3;

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: WorkflowLoad NODE_JAR [--phase overhead|load|both] [--runs 1000] [--chain 5]"
                    + " [--samples 200] [--max-tokens 4] [--kill-after 0.3] [--grid-port 47950]"
                    + " [--grid-failure-detection 10000]");
            System.exit(2);
        }
        Path jar = Path.of(args[0]);
        String phase = "both";
        int runs = 1000;
        int chain = 5;
        int samples = 200;
        int maxTokens = 4;
        double killAfter = 0.3;
        int gridPort = 47950;
        long failureDetectionMillis = 10_000; // a loaded machine stalls nodes for seconds; 2 s segments them
        for (int i = 1; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--phase" -> phase = args[i + 1];
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
        if (!List.of("overhead", "load", "both").contains(phase)) {
            throw new IllegalArgumentException("--phase is overhead, load or both, got " + phase);
        }
        List<ServeNode> nodes = new ArrayList<>();
        Path logs = Path.of("target", "workflow-load");
        boolean ok = true;
        long began = System.nanoTime();
        try {
            for (int i = 0; i < NODES; i++) {
                nodes.add(new ServeNode("w" + i, jar, null, gridPort + i, gridPort, NODES, logs,
                        "--num-kv-blocks", "2048", "--block-size", "8",
                        "--grid-failure-detection", Long.toString(failureDetectionMillis)).start());
            }
            System.err.printf("started %d serve processes (logs in %s)%n", NODES, logs.toAbsolutePath());
            ServeNode.waitFor(() -> nodes.stream().allMatch(n -> n.status("/ready") == 200), 600); // minutes on a loaded machine
            ServeNode.waitFor(() -> nodes.stream().allMatch(n -> n.status("/cluster/health") == 200), 60);
            System.out.printf("cluster ready in %.1f s, %s%n", (System.nanoTime() - began) / 1e9, LoadAverage.now());
            ServeNode client = nodes.get(0);
            if (!phase.equals("load")) {
                overhead(client, chain, samples, maxTokens);
            }
            if (!phase.equals("overhead")) {
                ok = load(nodes, runs, maxTokens, killAfter);
            }
        } finally {
            nodes.forEach(ServeNode::stop);
        }
        System.out.printf("total %.1f s%n", (System.nanoTime() - began) / 1e9);
        if (!ok) {
            System.exit(1);
        }
    }

    /**
     * The same chat request bare and as each step of a chain, interleaved; medians, and the driver's own timers and
     * counters for the same window.
     */
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
        long since = System.currentTimeMillis();
        JsonNode before = node.getJson("/cluster/workflow-stats");
        List<Double> bareMillis = new ArrayList<>();
        List<Double> runMillis = new ArrayList<>();
        List<Double> pairs = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < samples; i++) {
            double b;
            double r;
            if (i % 2 == 0) {
                b = timeBare(node, bare);
                r = timeRun(node, "bench-chain", "{}");
            } else {
                r = timeRun(node, "bench-chain", "{}");
                b = timeBare(node, bare);
            }
            bareMillis.add(b);
            runMillis.add(r);
            pairs.add((r - chain * b) / chain);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        JsonNode after = node.getJson("/cluster/workflow-stats?since=" + since);
        double bare50 = ServeNode.percentile(bareMillis, 50);
        double run50 = ServeNode.percentile(runMillis, 50);
        int stepsRun = samples * chain;
        System.out.printf("per-step overhead: %d samples of a %d-step chain and a bare call, interleaved, %d tokens"
                + " per call, %.0f s, %s:%n", samples, chain, maxTokens, seconds, LoadAverage.now());
        System.out.printf("  bare chat call             p50 %7.1f ms  p90 %7.1f ms%n", bare50,
                ServeNode.percentile(bareMillis, 90));
        System.out.printf("  %d-step run (HTTP to end)   p50 %7.1f ms  p90 %7.1f ms%n", chain, run50,
                ServeNode.percentile(runMillis, 90));
        System.out.printf("  end to end per step        p50 %7.1f ms  (median of (run - %d x bare) / %d per pair;"
                + " (p50 run - %d x p50 bare) / %d = %.1f ms)%n", ServeNode.percentile(pairs, 50), chain, chain,
                chain, chain, (run50 - chain * bare50) / chain);
        JsonNode t = after.path("timers");
        System.out.printf("  driver, answer -> next request queued (the per-step overhead): %s%n", timer(t.path("next_step")));
        System.out.printf("    of which: answer -> re-plan starts %s; transaction %s; planning in it %s%n",
                timer(t.path("hop")), timer(t.path("transaction")), timer(t.path("plan")));
        System.out.printf("  driver, run created -> first request queued %s; last answer -> run ended %s%n",
                timer(t.path("run_start")), timer(t.path("run_end")));
        JsonNode c0 = before.path("counters");
        JsonNode c1 = after.path("counters");
        StringBuilder counts = new StringBuilder();
        for (var it = c1.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            long d = c1.path(f).asLong() - c0.path(f).asLong();
            counts.append(String.format(" %s %.2f", f, d / (double) stepsRun));
        }
        System.out.println("  per step (counters over the window / " + stepsRun + " steps):" + counts);
    }

    static String timer(JsonNode t) {
        if (t.path("samples").asInt() == 0) {
            return "(no samples)";
        }
        return String.format("p50 %.2f / p90 %.2f / p99 %.2f ms (%d)", t.path("p50_us").asLong() / 1e3,
                t.path("p90_us").asLong() / 1e3, t.path("p99_us").asLong() / 1e3, t.path("samples").asInt());
    }

    /**
     * Many runs of the 3-step template at once, a third started on each node, with {@code kill -9} of the last node
     * part-way; true when every run succeeded with every result recorded once.
     */
    static boolean load(List<ServeNode> nodes, int runs, int maxTokens, double killAfter) throws Exception {
        ServeNode client = nodes.get(0);
        ServeNode victim = nodes.get(NODES - 1);
        createTemplate(client, ServeNode.JSON.readTree(LOAD_TEMPLATE.replace("MAX_TOKENS", Integer.toString(maxTokens))));
        List<String> files = new ArrayList<>();
        for (int n = 0; n < NODES; n++) {
            StringBuilder lines = new StringBuilder();
            for (int i = n; i < runs; i += NODES) {
                lines.append("{\"ticket\":\"ticket number ").append(i).append("\",\"urgent\":").append(i % 2 == 0)
                        .append("}\n");
            }
            files.add(client.upload(lines.toString()));
        }
        long start = System.nanoTime();
        List<String> ids = new ArrayList<>();
        for (int n = 0; n < NODES; n++) { // each node drives the runs started through it
            JsonNode bulk = ServeNode.JSON.readTree(nodes.get(n).post("/v1/workflows/bench-load/runs/bulk",
                    ServeNode.JSON.createObjectNode().put("input_file_id", files.get(n)).toString()));
            if (!bulk.has("run_ids")) {
                throw new IllegalStateException("bulk start on " + nodes.get(n).name + " failed: " + bulk);
            }
            bulk.get("run_ids").forEach(id -> ids.add(id.asText()));
        }
        System.out.printf("load: %d runs started through the bulk routes of %d nodes in %.1f s, %s%n", ids.size(),
                NODES, (System.nanoTime() - start) / 1e9, LoadAverage.now());
        boolean killed = false;
        int ended = 0;
        int lastShown = -1;
        while (ended < ids.size()) {
            try {
                ended = count(client, "succeeded") + count(client, "failed") + count(client, "cancelled");
            } catch (IOException e) { // a loaded node may not answer in time, or while the grid settles a death
                System.out.printf("  %.0f s: the list did not answer (%s); asking again%n",
                        (System.nanoTime() - start) / 1e9, e);
            }
            if (!killed && ended >= killAfter * ids.size()) {
                victim.kill();
                killed = true;
                System.out.printf("  kill -9 of %s after %.1f s, %d runs ended, %s%n", victim.name,
                        (System.nanoTime() - start) / 1e9, ended, LoadAverage.now());
            }
            if (ended / 100 != lastShown) {
                lastShown = ended / 100;
                System.out.printf("  %.0f s: %d of %d runs ended%n", (System.nanoTime() - start) / 1e9, ended, ids.size());
            }
            if ((System.nanoTime() - start) / 1e9 > 1800) {
                throw new IllegalStateException("runs still open after 30 minutes: " + (ids.size() - ended));
            }
            if (ended < ids.size()) {
                Thread.sleep(1000); // polling other processes: there is nothing to wait on
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        long takeovers = 0;
        for (ServeNode n : nodes) {
            if (n != victim) {
                takeovers += n.getJson("/cluster/workflow-stats").at("/counters/takeovers").asLong();
            }
        }
        Map<String, Integer> statuses = new HashMap<>();
        int inconsistent = 0;
        int made = 0;
        int needed = 0;
        int recorded = 0;
        for (String id : ids) { // each run as the grid has it now
            JsonNode run = client.getJson("/v1/workflow-runs/" + id);
            statuses.merge(run.path("status").asText(), 1, Integer::sum);
            List<String> wrong = inconsistencies(run);
            if (!wrong.isEmpty() && inconsistent++ < 5) {
                System.out.println("  " + id + ": " + wrong);
            }
            int[] a = attempts(run);
            made += a[0];
            needed += a[1];
            recorded += a[2];
        }
        System.out.printf("load: %d runs ended in %.1f s (%.1f runs/s), %s: %s; step and item results recorded %d"
                + " for %d needed; runs with a result recorded twice, lost or wrong: %d; runs taken over from the"
                + " killed node: %d; attempts %d (%d more than the results: the cluster's retries; an attempt a new"
                + " driver sends again keeps its number)%n", ids.size(), seconds, ids.size() / seconds,
                LoadAverage.now(), statuses, recorded, needed, inconsistent, takeovers, made, made - needed);
        return inconsistent == 0 && statuses.getOrDefault("succeeded", 0) == ids.size() && recorded == needed;
    }

    /** How many bench-load runs have {@code status}, from the list route (pages of 100). */
    static int count(ServeNode node, String status) throws IOException, InterruptedException {
        int n = 0;
        String after = null;
        while (true) {
            JsonNode page = node.getJson("/v1/workflow-runs?workflow=bench-load&limit=100&status=" + status
                    + (after == null ? "" : "&after=" + after));
            if (!page.has("data")) {
                throw new IOException("GET /v1/workflow-runs answered " + page);
            }
            n += page.path("data").size();
            if (!page.path("has_more").asBoolean() || page.path("data").isEmpty()) {
                return n;
            }
            after = page.path("last_id").asText();
        }
    }

    static final java.util.Set<String> ENDED = java.util.Set.of("succeeded", "failed", "cancelled");

    /**
     * What a run shows that it should not: a step or item not in its final state, a for_each step without exactly
     * its 4 items, a when-step run or skipped against its condition, a step or item whose recorded results
     * ({@code results_recorded}, kept in the run in the grid) are not exactly one (none when skipped).
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
                    if (item.path("results_recorded").asInt(-1) != 1) {
                        out.add("answer item " + item.path("index").asInt() + " results recorded "
                                + item.path("results_recorded"));
                    }
                }
            } else if (step.path("results_recorded").asInt(-1) != (status.equals("skipped") ? 0 : 1)) {
                out.add(id + " results recorded " + step.path("results_recorded"));
            }
        }
        return out;
    }

    /** Attempts made by a run's steps and items, the fewest it could have needed, and the results it recorded. */
    static int[] attempts(JsonNode run) {
        int made = 0;
        int needed = 0;
        int recorded = 0;
        for (JsonNode step : run.path("steps")) {
            if (step.path("items").isEmpty()) {
                made += step.path("attempts").asInt();
                needed += step.path("status").asText().equals("skipped") ? 0 : 1;
                recorded += step.path("results_recorded").asInt();
            }
            for (JsonNode item : step.path("items")) {
                made += item.path("attempts").asInt();
                needed++;
                recorded += item.path("results_recorded").asInt();
            }
        }
        return new int[] {made, needed, recorded};
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

    /**
     * Starts a run and follows its event stream ({@code GET /v1/workflow-runs/{id}/events}, pushed by the grid: no
     * polling) until {@code event: done}; wall time in ms.
     */
    static double timeRun(ServeNode node, String name, String params) throws IOException, InterruptedException {
        long t = System.nanoTime();
        JsonNode run = ServeNode.JSON.readTree(node.post("/v1/workflows/" + name + "/runs", "{\"params\":" + params
                + "}"));
        String id = run.path("id").asText(null);
        if (id == null) {
            throw new IllegalStateException("run refused: " + run);
        }
        java.net.http.HttpResponse<java.io.InputStream> events = ServeNode.HTTP.send(java.net.http.HttpRequest
                .newBuilder(node.uri("/v1/workflow-runs/" + id + "/events")).timeout(java.time.Duration.ofSeconds(120))
                .build(), java.net.http.HttpResponse.BodyHandlers.ofInputStream());
        String done = null;
        try (java.io.BufferedReader lines = new java.io.BufferedReader(new java.io.InputStreamReader(events.body(),
                java.nio.charset.StandardCharsets.UTF_8))) {
            boolean final_ = false;
            for (String line; (line = lines.readLine()) != null; ) {
                if (line.equals("event: done")) {
                    final_ = true;
                } else if (final_ && line.startsWith("data: ")) {
                    done = line.substring("data: ".length());
                    break;
                }
            }
        }
        double millis = (System.nanoTime() - t) / 1e6;
        JsonNode end = done == null ? null : ServeNode.JSON.readTree(done);
        if (end == null || !end.path("status").asText().equals("succeeded")) {
            throw new IllegalStateException("run " + id + " did not succeed: " + (end == null ? "stream ended" : end));
        }
        return millis;
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
