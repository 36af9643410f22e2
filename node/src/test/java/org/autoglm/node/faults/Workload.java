package org.autoglm.node.faults;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/**
 * The seeded client side of a run: completions streamed and not, of several prompts, lengths and priorities, and
 * chats in server-side sessions, sent to every node. Each answer goes into the {@link History}; the greedy answer
 * each (prompt, length) must get is measured once before any fault ({@link #references}).
 */
final class Workload {

    static final ObjectMapper JSON = new ObjectMapper();
    /**
     * Connect timeout 10 s: at load 60 a node's acceptor starved past 2 s with no fault near, and the checker counted
     * that request, never accepted, as lost.
     */
    static final HttpClient HTTP = org.autoglm.node.cluster.ServeProcess.client(Duration.ofSeconds(10));
    private static final List<String> PROMPTS = List.of("[10,11,12,13]", "[20,21,22]", "[31,7,9,5,2]");
    private static final int[] LENGTHS = {12, 24, 40};

    private final History history;
    private final IntFunction<URI> nodes;
    private final int size;
    private final AtomicInteger numbers = new AtomicInteger();
    /** (prompt, length) to the answer every request of that shape must get. */
    final Map<String, String> references = new ConcurrentHashMap<>();

    Workload(History history, int size, IntFunction<URI> nodes) {
        this.history = history;
        this.size = size;
        this.nodes = nodes;
    }

    /**
     * Measures the reference answers on node 0 (before any fault), all at once: greedy answers do not depend on what
     * else is in the batch (the workload's concurrent requests are held to them), and one by one they took seconds.
     */
    void measureReferences() throws Exception {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newCachedThreadPool();
        try {
            Map<String, java.util.concurrent.Future<History.Request>> asked = new java.util.LinkedHashMap<>();
            for (String prompt : PROMPTS) {
                for (int length : LENGTHS) {
                    asked.put(key(prompt, length), pool.submit(() -> completion(new Random(0), 0, prompt, length, false)));
                }
            }
            for (Map.Entry<String, java.util.concurrent.Future<History.Request>> e : asked.entrySet()) {
                History.Request r = e.getValue().get();
                if (r.outcome != History.Outcome.COMPLETED) {
                    throw new IllegalStateException("reference " + e.getKey() + " failed: " + r);
                }
                references.put(e.getKey(), r.text.toString());
            }
        } finally {
            pool.shutdownNow();
        }
        history.requests.clear();
    }

    /** One client's loop until {@code deadlineNanos}: mostly completions, now and then a chat session of a few turns. */
    void client(long seed, long deadlineNanos) {
        Random random = new Random(seed);
        while (System.nanoTime() < deadlineNanos && !Thread.currentThread().isInterrupted()) {
            int node = random.nextInt(size);
            if (random.nextInt(5) == 0) {
                session(random, node, deadlineNanos);
            } else {
                String prompt = PROMPTS.get(random.nextInt(PROMPTS.size()));
                completion(random, node, prompt, LENGTHS[random.nextInt(LENGTHS.length)], random.nextBoolean());
            }
        }
    }

    History.Request completion(Random random, int node, String prompt, int length, boolean stream) {
        History.Request r = new History.Request(numbers.incrementAndGet(), stream ? "stream" : "completion", node,
                key(prompt, length), history.now());
        history.requests.add(r);
        String body = "{\"prompt\":" + prompt + ",\"max_tokens\":" + length + ",\"temperature\":0,\"ignore_eos\":true,"
                + "\"priority\":" + random.nextInt(4) + (stream ? ",\"stream\":true,\"stream_options\":"
                + "{\"include_usage\":true}" : "") + "}";
        try {
            HttpResponse<InputStream> response = HTTP.send(post(node, "/v1/completions", body),
                    HttpResponse.BodyHandlers.ofInputStream());
            if (response.statusCode() != 200) {
                JsonNode error = JSON.readTree(response.body().readAllBytes());
                r.error = "HTTP " + response.statusCode() + ": " + error.path("error").path("message").asText();
                r.outcome = response.statusCode() == 429 || response.statusCode() == 503
                        ? History.Outcome.REFUSED : History.Outcome.ERROR;
            } else if (stream) {
                readStream(response.body(), r);
            } else {
                JsonNode answer = JSON.readTree(response.body().readAllBytes());
                JsonNode choice = answer.path("choices").path(0);
                r.text.append(choice.path("text").asText());
                r.finishReason = choice.path("finish_reason").asText(null);
                r.finishes = 1;
                r.completionTokens = answer.path("usage").path("completion_tokens").asInt(-1);
                r.outcome = History.Outcome.COMPLETED;
            }
        } catch (Exception e) {
            r.outcome = History.Outcome.CUT_OFF;
            r.error = e.toString();
        }
        r.endedAt = history.now();
        return r;
    }

    private void readStream(InputStream body, History.Request r) throws Exception {
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
            String line;
            while ((line = lines.readLine()) != null) {
                if (!line.startsWith("data: ")) {
                    continue;
                }
                String data = line.substring(6);
                if (data.equals("[DONE]")) {
                    break;
                }
                JsonNode chunk = JSON.readTree(data);
                if (chunk.has("error")) {
                    r.error = chunk.get("error").path("message").asText();
                    continue;
                }
                if (chunk.path("usage").has("completion_tokens")) {
                    r.completionTokens = chunk.path("usage").get("completion_tokens").asInt();
                }
                for (JsonNode choice : chunk.path("choices")) {
                    String delta = choice.path("text").asText("");
                    if (!delta.isEmpty()) {
                        r.deltas.add(delta);
                        r.text.append(delta);
                    }
                    if (!choice.path("finish_reason").isNull() && !choice.path("finish_reason").isMissingNode()) {
                        r.finishReason = choice.get("finish_reason").asText();
                        r.finishes++;
                    }
                }
            }
        }
        r.outcome = r.error != null ? History.Outcome.ERROR : History.Outcome.COMPLETED;
    }

    /** A session of up to three chat turns; stops at the first turn without an answer. */
    private void session(Random random, int node, long deadlineNanos) {
        String id;
        try {
            HttpResponse<String> created = HTTP.send(post(node, "/v1/sessions", "{}"), HttpResponse.BodyHandlers.ofString());
            if (created.statusCode() != 200) {
                return; // refused (no majority, overloaded): nothing was accepted
            }
            id = JSON.readTree(created.body()).get("id").asText();
        } catch (Exception e) {
            return;
        }
        History.Session session = new History.Session(id, node);
        history.sessions.add(session);
        int turns = 1 + random.nextInt(3);
        for (int turn = 0; turn < turns && System.nanoTime() < deadlineNanos; turn++) {
            String content = "turn " + turn + " of " + id.substring(Math.max(0, id.length() - 6));
            History.Request r = new History.Request(numbers.incrementAndGet(), "chat", node, null, history.now());
            history.requests.add(r);
            String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}],\"session_id\":\"" + id
                    + "\",\"max_tokens\":6,\"temperature\":0,\"priority\":" + random.nextInt(4) + "}";
            try {
                HttpResponse<String> response = HTTP.send(post(node, "/v1/chat/completions", body),
                        HttpResponse.BodyHandlers.ofString());
                JsonNode answer = JSON.readTree(response.body());
                if (response.statusCode() == 200) {
                    r.text.append(answer.path("choices").path(0).path("message").path("content").asText());
                    r.outcome = History.Outcome.COMPLETED;
                    r.finishes = 1;
                    session.acknowledged.add(content);
                } else {
                    r.error = "HTTP " + response.statusCode() + ": " + answer.path("error").path("message").asText();
                    r.outcome = response.statusCode() == 429 || response.statusCode() == 503
                            ? History.Outcome.REFUSED : History.Outcome.ERROR;
                }
            } catch (Exception e) {
                r.outcome = History.Outcome.CUT_OFF;
                r.error = e.toString();
            }
            r.endedAt = history.now();
            if (r.outcome != History.Outcome.COMPLETED) {
                session.unacknowledged = content; // may or may not have been appended: the session stops here
                return;
            }
        }
    }

    private HttpRequest post(int node, String path, String body) {
        return HttpRequest.newBuilder(nodes.apply(node).resolve(path)).timeout(Duration.ofSeconds(90))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    static String key(String prompt, int length) {
        return prompt + "/" + length;
    }
}
