package org.autoglm.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.autoglm.node.loadgen.ServeLoad;
import org.autoglm.node.loadgen.ShareGptMix;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bench serve}: a load generator for a running {@code serve}. For each concurrency it sends a seeded
 * ShareGPT-like mix ({@link ShareGptMix}) from that many streaming clients and reports output tokens/s and TTFT and
 * ITL p50/p99; with {@code --decode-figures} (bench-decode's --json from the same machine and run) it adds each
 * level's share of bench-decode's tokens/s at the same batch, the ceiling the server can approach.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Drive a running serve over HTTP with a ShareGPT-like mix at several concurrencies.")
public final class BenchServeCommand implements Callable<Integer> {

    @Option(names = "--url", defaultValue = "http://127.0.0.1:8000",
            description = "The serve to drive (default: ${DEFAULT-VALUE}).")
    URI url;

    @Option(names = "--model", description = "Served model name. Default: the first one /v1/models lists.")
    String model;

    @Option(names = "--api-key", description = "Bearer token, when serve requires one.")
    String apiKey;

    @Option(names = "--concurrency", split = ",", defaultValue = "1,16,64,256",
            description = "Concurrent clients, one level after the other (default: ${DEFAULT-VALUE}).")
    List<Integer> concurrency;

    @Option(names = "--requests", defaultValue = "0",
            description = "Requests per level; 0: 4 per client, at least 32 (default: ${DEFAULT-VALUE}).")
    int requests;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the mix (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--length-scale", defaultValue = "1.0",
            description = "Multiplies ShareGPT's prompt and output lengths; below 1 for quick runs (default:"
                    + " ${DEFAULT-VALUE}).")
    double lengthScale;

    @Option(names = "--max-input-tokens", defaultValue = "1024", description = "Longest prompt (default: ${DEFAULT-VALUE}).")
    int maxInput;

    @Option(names = "--max-output-tokens", defaultValue = "1024",
            description = "Longest output (default: ${DEFAULT-VALUE}).")
    int maxOutput;

    @Option(names = "--shared-prefix-share", defaultValue = "0.3",
            description = "Share of requests that open with one of four shared prefixes (default: ${DEFAULT-VALUE}).")
    double prefixShare;

    @Option(names = "--vocab-size", defaultValue = "500",
            description = "Prompt token ids are drawn below this (default: ${DEFAULT-VALUE}).")
    int vocab;

    @Option(names = "--decode-figures", paramLabel = "FILE",
            description = "bench-decode --json output of the same run: adds pct_of_bench_decode per level.")
    Path decodeFigures;

    @Option(names = "--json", description = "Print the figures as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (concurrency.stream().anyMatch(c -> c < 1) || requests < 0) {
            throw new IllegalArgumentException("--concurrency must be 1 or more and --requests 0 or more");
        }
        ShareGptMix.Settings mix = new ShareGptMix.Settings(seed, lengthScale, maxInput, maxOutput, prefixShare, vocab);
        Map<Integer, Double> ceiling = decodeFigures == null ? Map.of() : decodeTokensPerSecond(decodeFigures);
        String served = model != null ? model : firstModel();
        ServeLoad load = new ServeLoad(url, served, apiKey);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("url", url.toString());
        out.put("model", served);
        out.put("mix", Map.of("seed", seed, "length_scale", lengthScale, "max_input_tokens", maxInput,
                "max_output_tokens", maxOutput, "shared_prefix_share", prefixShare));
        load.run(ShareGptMix.requests(new ShareGptMix.Settings(seed + 1, lengthScale, maxInput, Math.min(8, maxOutput),
                prefixShare, vocab), 2), 2);   // warm-up: not reported
        List<Map<String, Object>> levels = new ArrayList<>();
        for (int c : concurrency) {
            int n = requests > 0 ? requests : Math.max(32, 4 * c);
            System.err.printf("bench serve: %d requests at concurrency %d%n", n, c);
            Map<String, Object> level = load.run(ShareGptMix.requests(mix, n), c);
            Double decode = ceiling.get(c);
            if (decode != null) {
                level.put("bench_decode_tok_per_s", decode);
                level.put("pct_of_bench_decode", Math.round(1000 * (double) level.get("output_tok_per_s") / decode) / 10.0);
            }
            levels.add(level);
            if (!json) System.out.println(level);
        }
        out.put("levels", levels);
        if (json) System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(out));
        return levels.stream().allMatch(l -> (int) l.get("failed") == 0) ? 0 : 2;
    }

    private String firstModel() throws Exception {
        HttpRequest.Builder req = HttpRequest.newBuilder(url.resolve("/v1/models")).timeout(Duration.ofSeconds(10));
        if (apiKey != null) req.header("Authorization", "Bearer " + apiKey);
        HttpResponse<String> resp;
        try {
            resp = HttpClient.newHttpClient().send(req.build(), HttpResponse.BodyHandlers.ofString());
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("--url " + url + ": no serve answers there (" + e.getMessage() + ")");
        }
        JsonNode data = new ObjectMapper().readTree(resp.body()).path("data");
        if (resp.statusCode() != 200 || data.isEmpty()) {
            throw new IllegalArgumentException("--url " + url + ": /v1/models answered " + resp.statusCode()
                    + "; give --model (and --api-key if serve requires one)");
        }
        return data.get(0).get("id").asText();
    }

    /** decode_tok_per_s by batch from bench-decode's JSON. */
    static Map<Integer, Double> decodeTokensPerSecond(Path file) throws java.io.IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("--decode-figures " + file + " is not a file");
        }
        Map<Integer, Double> byBatch = new LinkedHashMap<>();
        for (JsonNode row : new ObjectMapper().readTree(file.toFile()).path("decode")) {
            byBatch.put(row.get("batch").asInt(), row.get("decode_tok_per_s").asDouble());
        }
        return byBatch;
    }
}
