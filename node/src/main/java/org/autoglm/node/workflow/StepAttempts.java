package org.autoglm.node.workflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.autoglm.gossip.workflow.AttemptRecord;
import org.autoglm.node.api.BatchLines;
import org.autoglm.node.api.JsonBody;
import org.autoglm.node.api.ServedModel;
import org.autoglm.node.engine.InferenceService;

/**
 * Runs attempts: an llm step's chat request goes through the shared queue (so the leader places it on any node, at
 * the step's priority and with its required tags); an http step's request goes only to hosts on
 * {@code --workflow-http-allow}, with {@code Idempotency-Key: {run}/{step}/{attempt}}. Each attempt reports once.
 */
final class StepAttempts {

    /** Most bytes of an http step's response that are kept. */
    static final int MAX_RESPONSE_BYTES = 1 << 20;

    /** Something under way that can be stopped (its outcome is then not reported). */
    interface Running {
        void cancel();
    }

    private final ServedModel model;
    private final InferenceService engine;
    private final Set<String> httpAllow;
    private final HttpClient http;
    private final ScheduledExecutorService timers;
    private final Executor results;

    StepAttempts(ServedModel model, InferenceService engine, Set<String> httpAllow, ScheduledExecutorService timers,
                 Executor results) {
        this.model = model;
        this.engine = engine;
        this.httpAllow = httpAllow;
        this.timers = timers;
        this.results = results;
        // Redirects are not followed: a redirect could lead off the allow list.
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10))
                .followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /** Where an attempt's outcome goes, with the {@link System#nanoTime} it arrived at (before any thread hop). */
    interface Done {
        void accept(AttemptRecord outcome, long arrivedNanos);
    }

    /** Starts {@code a}; {@code done} gets its outcome once, on the results executor, unless it is cancelled. */
    Running start(Attempt a, Done done) {
        AtomicBoolean reported = new AtomicBoolean();
        Consumer<AttemptRecord> once = r -> {
            if (reported.compareAndSet(false, true)) {
                long arrived = System.nanoTime();
                results.execute(() -> done.accept(r, arrived));
            }
        };
        if (a.settled() != null) {
            once.accept(a.settled());
            return () -> {};
        }
        Running running = switch (a.step().kind()) {
            case LLM -> llm(a, once);
            case HTTP -> http(a, once);
            case TRANSFORM -> throw new IllegalStateException("a transform is settled when planned");
        };
        Integer timeout = a.step().timeoutS();
        if (timeout != null) {
            timers.schedule(() -> {
                if (!reported.get()) {
                    running.cancel();
                    once.accept(Attempt.failure("no answer within timeout_s (" + timeout + " s)", true,
                            a.request().toString()));
                }
            }, timeout, TimeUnit.SECONDS);
        }
        return () -> {
            reported.set(true);
            running.cancel();
        };
    }

    private Running llm(Attempt a, Consumer<AttemptRecord> done) {
        long started = System.currentTimeMillis();
        String input = a.request().toString();
        Instant deadline = a.step().timeoutS() == null ? null : Instant.now().plusSeconds(a.step().timeoutS());
        BatchLines.Line line = new BatchLines.Line(1, a.key(), a.request());
        String requestId = "wfstep_" + UUID.randomUUID().toString().replace("-", "");
        BatchLines.Execution execution = BatchLines.run(line, "/v1/chat/completions", requestId, a.owner(), model,
                engine, deadline, false, outcome -> done.accept(llmOutcome(a, outcome, input, started)));
        return execution::cancel;
    }

    private static AttemptRecord llmOutcome(Attempt a, BatchLines.Outcome outcome, String input, long started) {
        if (outcome instanceof BatchLines.Retry retry) {
            AttemptRecord r = Attempt.failure("the cluster could not run it now: " + retry.reason(), true, input);
            r.clusterFault = true;
            return r;
        }
        BatchLines.Answered answered = (BatchLines.Answered) outcome;
        JsonNode body = answered.body();
        if (answered.statusCode() != 200) {
            int s = answered.statusCode();
            return Attempt.failure("the chat request got " + s + ": " + body.at("/error/message").asText(),
                    s >= 500 || s == 429, input);
        }
        String content = body.at("/choices/0/message/content").asText("");
        JsonNode parsed = parseJson(content);
        if (parsed == null && a.step().json().has("response_format")
                && !"text".equals(a.step().json().at("/response_format/type").asText())) {
            return Attempt.failure("the answer is not complete JSON (finish_reason "
                    + body.at("/choices/0/finish_reason").asText() + "); raise max_tokens", true, input);
        }
        AttemptRecord r = Attempt.success(content, parsed == null ? null : parsed.toString(), input, started);
        r.promptTokens = body.at("/usage/prompt_tokens").asInt();
        r.completionTokens = body.at("/usage/completion_tokens").asInt();
        return r;
    }

    private Running http(Attempt a, Consumer<AttemptRecord> done) {
        long started = System.currentTimeMillis();
        ObjectNode req = a.request();
        String input = req.toString();
        URI uri;
        try {
            uri = URI.create(req.get("url").asText());
        } catch (IllegalArgumentException e) {
            done.accept(Attempt.failure("'url' is not a URL: " + e.getMessage(), false, input));
            return () -> {};
        }
        String host = uri.getHost() == null ? null : uri.getHost().toLowerCase(Locale.ROOT).replaceAll("^\\[|]$", "");
        if (uri.getScheme() == null || !uri.getScheme().matches("https?") || host == null) {
            done.accept(Attempt.failure("'url' must be an http(s) URL with a host, got '" + uri + "'", false, input));
            return () -> {};
        }
        if (!httpAllow.contains(host)) {
            done.accept(Attempt.failure("host '" + host + "' is not allowed: http steps reach only the hosts on"
                    + " --workflow-http-allow " + (httpAllow.isEmpty() ? "(none are)" : httpAllow.stream().sorted()
                    .toList()), false, input));
            return () -> {};
        }
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).header("Idempotency-Key", a.idempotencyKey());
        if (a.step().timeoutS() != null) {
            b.timeout(Duration.ofSeconds(a.step().timeoutS()));
        }
        req.path("headers").fields().forEachRemaining(h -> b.header(h.getKey(), h.getValue().asText()));
        if ("GET".equals(req.get("method").asText())) {
            b.GET();
        } else {
            if (!req.path("headers").has("Content-Type")) {
                b.header("Content-Type", "application/json");
            }
            JsonNode body = req.get("body");
            b.POST(HttpRequest.BodyPublishers.ofString(body == null ? "" : body.isTextual() ? body.textValue()
                    : body.toString()));
        }
        java.util.concurrent.CompletableFuture<HttpResponse<InputStream>> call;
        try {
            call = http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (IllegalArgumentException e) {
            done.accept(Attempt.failure("the request is not valid: " + e.getMessage(), false, input));
            return () -> {};
        }
        call.whenCompleteAsync((response, error) -> {
            if (error != null) {
                Throwable cause = error.getCause() != null ? error.getCause() : error;
                done.accept(Attempt.failure("the request failed: " + cause, true, input));
                return;
            }
            String text;
            try (InputStream in = response.body()) {
                text = new String(in.readNBytes(MAX_RESPONSE_BYTES), StandardCharsets.UTF_8);
            } catch (IOException e) {
                done.accept(Attempt.failure("reading the response failed: " + e, true, input));
                return;
            }
            int s = response.statusCode();
            if (s / 100 != 2) {
                done.accept(Attempt.failure("the server answered " + s + ": " + abbreviate(text),
                        s >= 500 || s == 429 || s == 408, input));
                return;
            }
            JsonNode parsed = parseJson(text);
            done.accept(Attempt.success(text, parsed == null ? null : parsed.toString(), input, started));
        }, results);
        return () -> call.cancel(true);
    }

    private static String abbreviate(String s) {
        return s.length() <= 500 ? s : s.substring(0, 500) + "...";
    }

    static JsonNode parseJson(String text) {
        String t = text.strip();
        if (t.isEmpty() || !(t.startsWith("{") || t.startsWith("[") || t.startsWith("\""))) {
            return null;
        }
        try {
            return JsonBody.MAPPER.readTree(t);
        } catch (IOException e) {
            return null;
        }
    }
}
