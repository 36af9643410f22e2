package org.autoglm.node.loadgen;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * Drives a running {@code serve} over HTTP as clients would: {@code concurrency} clients in a closed loop, each
 * streaming {@code /v1/completions} (token-id prompts, greedy, {@code ignore_eos} so that every request generates
 * its drawn length) until the requests run out. Per request it records the time to the first streamed token and the
 * gaps between the later chunks (inter-token latency), and the completion tokens the final usage chunk reports.
 */
public final class ServeLoad {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI base;
    private final String model;
    private final String apiKey;
    private final HttpClient http;

    /** @param apiKey sent as a bearer token; null for none */
    public ServeLoad(URI base, String model, String apiKey) {
        this.base = base;
        this.model = model;
        this.apiKey = apiKey;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).version(HttpClient.Version.HTTP_1_1)
                .build();
    }

    /** One request's outcome: times in ms from its start; error null when it completed. */
    record Outcome(int promptTokens, int outputTokens, double ttftMillis, double[] gapsMillis, String error) {}

    /** The figures of one concurrency level, as printed. */
    public Map<String, Object> run(List<ShareGptMix.Request> requests, int concurrency) throws InterruptedException {
        Outcome[] outcomes = new Outcome[requests.size()];
        AtomicInteger next = new AtomicInteger();
        ExecutorService clients = Executors.newFixedThreadPool(concurrency, r -> {
            Thread t = new Thread(r, "bench-serve-client");
            t.setDaemon(true);
            return t;
        });
        long start = System.nanoTime();
        for (int c = 0; c < concurrency; c++) {
            clients.execute(() -> {
                for (int i = next.getAndIncrement(); i < requests.size(); i = next.getAndIncrement()) {
                    outcomes[i] = send(requests.get(i));
                }
            });
        }
        clients.shutdown();
        if (!clients.awaitTermination(6, TimeUnit.HOURS)) throw new IllegalStateException("clients did not finish");
        double seconds = (System.nanoTime() - start) / 1e9;
        return summarize(outcomes, concurrency, seconds);
    }

    /** One streamed completion. Failures are recorded, never thrown: a load test reports them. */
    Outcome send(ShareGptMix.Request r) {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", model);
        ArrayNode prompt = body.putArray("prompt");
        for (int t : r.prompt()) prompt.add(t);
        body.put("max_tokens", r.maxTokens());
        body.put("temperature", 0);
        body.put("ignore_eos", true);
        body.put("stream", true);
        body.putObject("stream_options").put("include_usage", true);
        HttpRequest.Builder req = HttpRequest.newBuilder(base.resolve("/v1/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString()));
        if (apiKey != null) req.header("Authorization", "Bearer " + apiKey);
        long t0 = System.nanoTime();
        try {
            HttpResponse<Stream<String>> resp = http.send(req.build(), HttpResponse.BodyHandlers.ofLines());
            if (resp.statusCode() != 200) {
                String text = String.join("\n", resp.body().limit(5).toList());
                return new Outcome(r.prompt().length, 0, 0, new double[0], "HTTP " + resp.statusCode() + ": " + text);
            }
            long first = -1, last = -1;
            List<Double> gaps = new ArrayList<>();
            int tokens = -1;
            Iterator<String> lines = resp.body().iterator();
            while (lines.hasNext()) {
                String line = lines.next();
                if (!line.startsWith("data: ") || line.equals("data: [DONE]")) continue;
                long now = System.nanoTime();
                JsonNode chunk = JSON.readTree(line.substring(6));
                if (chunk.has("error")) return new Outcome(r.prompt().length, 0, 0, new double[0], chunk.get("error").toString());
                if (chunk.path("usage").has("completion_tokens")) tokens = chunk.get("usage").get("completion_tokens").asInt();
                JsonNode choices = chunk.path("choices");
                if (choices.isEmpty()) continue;   // the usage chunk
                if (first < 0) {
                    first = now;
                } else {
                    gaps.add((now - last) / 1e6);
                }
                last = now;
            }
            if (first < 0) return new Outcome(r.prompt().length, 0, 0, new double[0], "no token was streamed");
            return new Outcome(r.prompt().length, tokens >= 0 ? tokens : r.maxTokens(), (first - t0) / 1e6,
                    gaps.stream().mapToDouble(Double::doubleValue).toArray(), null);
        } catch (Exception e) {
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            return new Outcome(r.prompt().length, 0, 0, new double[0], e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    static Map<String, Object> summarize(Outcome[] outcomes, int concurrency, double seconds) {
        int completed = 0;
        long output = 0, input = 0;
        List<Double> ttft = new ArrayList<>(), gaps = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        for (Outcome o : outcomes) {
            if (o.error() != null) {
                if (errors.size() < 3) errors.add(o.error());
                continue;
            }
            completed++;
            output += o.outputTokens();
            input += o.promptTokens();
            ttft.add(o.ttftMillis());
            for (double g : o.gapsMillis()) gaps.add(g);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("concurrency", concurrency);
        m.put("requests", outcomes.length);
        m.put("completed", completed);
        m.put("failed", outcomes.length - completed);
        if (!errors.isEmpty()) m.put("first_errors", errors);
        m.put("duration_s", round(seconds));
        m.put("input_tokens", input);
        m.put("output_tokens", output);
        m.put("output_tok_per_s", round(output / seconds));
        m.put("ttft_ms_p50", round(percentile(ttft, 50)));
        m.put("ttft_ms_p99", round(percentile(ttft, 99)));
        m.put("itl_ms_p50", round(percentile(gaps, 50)));
        m.put("itl_ms_p99", round(percentile(gaps, 99)));
        return m;
    }

    /** The nearest-rank percentile; NaN for no values. */
    static double percentile(List<Double> values, double p) {
        if (values.isEmpty()) return Double.NaN;
        double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(v);
        int rank = (int) Math.ceil(p / 100 * v.length);
        return v[Math.max(0, Math.min(v.length - 1, rank - 1))];
    }

    private static double round(double v) {
        return Double.isNaN(v) ? v : Math.round(v * 100) / 100.0;
    }
}
