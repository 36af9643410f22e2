package org.autoglm.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.autoglm.node.engine.Completion;
import org.autoglm.node.engine.FinishReason;
import org.autoglm.node.engine.GenerationListener;
import org.autoglm.node.engine.GenerationRequest;
import org.autoglm.node.engine.InferenceService;
import org.autoglm.node.engine.RequestHandle;
import org.autoglm.node.engine.RequestRejectedException;
import org.autoglm.node.engine.TokenDelta;
import org.autoglm.node.plugins.ContentRejectedException;
import org.autoglm.node.plugins.PluginRequest;
import org.autoglm.node.plugins.Plugins;
import org.autoglm.node.plugins.RequestHooks;
import org.autoglm.node.plugins.RequestOutcome;

/**
 * One line of a batch input file, as the batch runner needs it: checked the way OpenAI checks it ({@code custom_id},
 * {@code method}, {@code url}, a body the endpoint accepts), and run as the same engine requests the HTTP route
 * would make, its answer built as the same JSON body a client would have received.
 */
public final class BatchLines {

    /** Lines one batch input file may hold (OpenAI's limit). */
    public static final int MAX_LINES = 50_000;
    /** Endpoints a batch may target. */
    public static final List<String> ENDPOINTS = List.of("/v1/chat/completions", "/v1/completions");

    private BatchLines() {}

    /** A line that passed the checks; {@code number} is 1-based in the file. */
    public record Line(int number, String customId, ObjectNode body) {}

    /** Why a line cannot run: OpenAI's error entry fields. */
    public static final class BadLine extends Exception {
        private final String code;
        private final String param;

        BadLine(String code, String param, String message) {
            super(message, null, false, false);
            this.code = code;
            this.param = param;
        }

        public String code() {
            return code;
        }

        public String param() {
            return param;
        }
    }

    /** How a line ended: an answer for the output file (200) or the error file (4xx/5xx), or "try again later". */
    public sealed interface Outcome permits Answered, Retry {}

    /** The HTTP status and body a client would have received. */
    public record Answered(int statusCode, ObjectNode body) implements Outcome {}

    /** The cluster could not run it now (full, no leader, the run failed): not the line's fault. */
    public record Retry(String reason) implements Outcome {}

    /** Checks one non-blank line of an input file for a batch on {@code endpoint}. */
    public static Line parse(String text, int number, String endpoint, ServedModel model) throws BadLine {
        ObjectNode line;
        try {
            line = JsonBody.readObject(text.getBytes(StandardCharsets.UTF_8));
        } catch (ApiError e) {
            throw new BadLine("invalid_json", null, "Line " + number + " is not a JSON object: " + e.getMessage());
        }
        JsonNode customId = line.get("custom_id");
        if (customId == null || !customId.isTextual() || customId.textValue().isEmpty()) {
            throw new BadLine("missing_required_parameter", "custom_id", "Line " + number
                    + " needs a non-empty string 'custom_id'.");
        }
        JsonNode method = line.get("method");
        if (method == null || !"POST".equals(method.asText())) {
            throw new BadLine("invalid_value", "method", "Line " + number + ": 'method' must be \"POST\".");
        }
        JsonNode url = line.get("url");
        if (url == null || !url.isTextual() || !ENDPOINTS.contains(url.textValue())) {
            throw new BadLine("invalid_url", "url", "Line " + number + ": 'url' must be one of " + ENDPOINTS + ".");
        }
        if (!url.textValue().equals(endpoint)) {
            throw new BadLine("mismatched_url", "url", "Line " + number + ": 'url' is " + url.textValue()
                    + " but the batch's endpoint is " + endpoint + "; every line must use the batch's endpoint.");
        }
        JsonNode body = line.get("body");
        if (body == null || !body.isObject()) {
            throw new BadLine("invalid_value", "body", "Line " + number + ": 'body' must be a JSON object.");
        }
        ObjectNode request = (ObjectNode) body;
        try {
            InferenceRequest parsed = parseBody(request, endpoint, model);
            if (parsed.stream()) {
                throw ApiError.invalid("stream", "'stream' is not supported in a batch; the answer goes to the output file.");
            }
            if (parsed.sessionId() != null) {
                throw ApiError.invalid("session_id", "Sessions are not supported in a batch.");
            }
            if (!parsed.model().equals(model.name())) {
                throw ApiError.invalid("model", "The model '" + parsed.model() + "' is not served here; the cluster"
                        + " serves '" + model.name() + "'.");
            }
        } catch (ApiError e) {
            String param = e.param() == null ? "body" : "body." + e.param();
            throw new BadLine("invalid_value", param, "Line " + number + ": " + e.getMessage());
        }
        return new Line(number, customId.textValue(), request);
    }

    /**
     * Where a line's chunk belongs in the cluster: its {@code priority}, the chained hashes of the leading KV blocks
     * of its (first) prompt, which the nodes' prefix caches key blocks by (a hint only: plugins may still rewrite the
     * prompt when the line runs), and its {@code required_tags}, sorted: only a node with every one may run it.
     */
    public record Placement(int priority, long[] prefix, List<String> requiredTags) {}

    /** The placement of a line that passed {@link #parse}; {@code blockSize} of the engines' KV blocks. */
    public static Placement placement(Line line, String endpoint, ServedModel model, int blockSize, int maxBlocks) {
        InferenceRequest request = parseBody(line.body(), endpoint, model);
        List<int[]> prompts = InferenceRoutes.prompts(request, model);
        long[] prefix = prompts.isEmpty() ? new long[0]
                : org.autoglm.node.engine.kv.BlockHash.chain(prompts.get(0), blockSize, maxBlocks);
        return new Placement(request.priority(), prefix, request.requiredTags().stream().distinct().sorted().toList());
    }

    private static InferenceRequest parseBody(ObjectNode body, String endpoint, ServedModel model) {
        return endpoint.equals("/v1/chat/completions") ? RequestParser.chat(body, model)
                : RequestParser.completion(body, model);
    }

    /** A running line; {@link #cancel} stops what is still running (nothing is reported then). */
    public static final class Execution {
        private final List<RequestHandle> handles = new ArrayList<>();
        private volatile boolean cancelled;
        /** When it started, or last had a token. */
        private volatile long movedAtMillis = System.currentTimeMillis();

        /** When the line started, or last had a token from the engine (a line that moves is not stuck). */
        public long movedAtMillis() {
            return movedAtMillis;
        }

        public void cancel() {
            cancelled = true;
            synchronized (handles) {
                handles.forEach(RequestHandle::cancel);
            }
        }
    }

    /**
     * Starts one line as a batch-class request; {@code done} is called once, from an engine thread, unless cancelled.
     * The node's plugins see the line as they see a request to its endpoint: they may rewrite or refuse its input,
     * filter its output, and hear how it ended.
     *
     * @param requestId unique in the cluster for this attempt
     * @param user      the batch's owner, whose fair share the line counts against
     */
    public static Execution run(Line line, String endpoint, String requestId, String user, ServedModel model,
                                InferenceService engine, Plugins plugins, Consumer<Outcome> done) {
        return run(line, endpoint, requestId, user, model, engine, plugins, null, true, done);
    }

    /**
     * Starts one line with a deadline (null: none) and in the batch class or not (a workflow step runs at its own
     * priority), without plugins.
     */
    public static Execution run(Line line, String endpoint, String requestId, String user, ServedModel model,
                                InferenceService engine, java.time.Instant deadline, boolean batchClass,
                                Consumer<Outcome> done) {
        return run(line, endpoint, requestId, user, model, engine, Plugins.none(), deadline, batchClass, done);
    }

    /** The line with plugins, a deadline (null: none), in the batch class or not. */
    public static Execution run(Line line, String endpoint, String requestId, String user, ServedModel model,
                                InferenceService engine, Plugins plugins, java.time.Instant deadline,
                                boolean batchClass, Consumer<Outcome> done) {
        Execution execution = new Execution();
        Instant received = Instant.now();
        boolean chat = endpoint.equals("/v1/chat/completions");
        InferenceRequest request;
        List<GenerationRequest> requests;
        RequestHooks hooks = RequestHooks.NONE;
        try {
            request = parseBody(line.body(), endpoint, model);
            PluginRequest seen = new PluginRequest(requestId, user, Set.of(), endpoint, model.name(), false, received,
                    request.texts());
            try {
                hooks = plugins.onRequest(seen);
            } catch (ContentRejectedException e) {
                throw ApiError.contentFiltered(e.getMessage());
            }
            if (!seen.inputs().equals(request.texts())) {
                request = request.withTexts(seen.inputs());
            }
            List<int[]> prompts = InferenceRoutes.prompts(request, model);
            requests = InferenceRoutes.engineRequests(requestId, prompts, request, model, deadline, null, user, 0).stream()
                    .map(r -> batchClass ? r.asBatch() : r).toList();
        } catch (ApiError e) {
            ended(hooks, e.status(), received, e.getMessage());
            done.accept(new Answered(e.status(), ErrorResponses.body(e)));
            return execution;
        }
        Choices choices = new Choices(chat ? ResponseFormat.CHAT : ResponseFormat.TEXT, requestId, request, model,
                requests.size(), done, execution, hooks, received);
        for (int i = 0; i < requests.size(); i++) {
            int choice = i;
            try {
                RequestHandle handle = engine.submit(requests.get(i), new GenerationListener() {
                    @Override
                    public void onDelta(TokenDelta delta) {
                        execution.movedAtMillis = System.currentTimeMillis();
                        choices.delta(choice, delta);
                    }

                    @Override
                    public void onFinish(Completion completion) {
                        choices.finish(choice, completion, requests.get(choice).promptIds().length);
                    }
                });
                synchronized (execution.handles) {
                    execution.handles.add(handle);
                }
            } catch (RequestRejectedException e) {
                execution.cancel();
                switch (e.kind()) {
                    case OVERLOADED, UNAVAILABLE -> {
                        ended(hooks, 503, received, e.getMessage());
                        done.accept(new Retry(e.getMessage()));
                    }
                    default -> {
                        ApiError error = GenerationRun.rejected(e);
                        ended(hooks, error.status(), received, error.getMessage());
                        done.accept(new Answered(error.status(), ErrorResponses.body(error)));
                    }
                }
                return execution;
            }
        }
        return execution;
    }

    /** Tells the plugins a line ended before any choice ran. */
    private static void ended(RequestHooks hooks, int status, Instant received, String error) {
        hooks.onCompletion(new RequestOutcome(status, List.of(), 0, 0, Duration.between(received, Instant.now()), error));
    }

    /** The choices of one line, gathered until the last one ends. */
    private static final class Choices {
        private final ResponseFormat format;
        private final String id;
        private final InferenceRequest request;
        private final ServedModel model;
        private final Consumer<Outcome> done;
        private final Execution execution;
        private final StringBuilder[] texts;
        private final List<List<TokenDelta.TokenLogprob>> logprobs = new ArrayList<>();
        private final Completion[] ends;
        private final int[] promptTokens;
        private final AtomicInteger open;
        private final RequestHooks hooks;
        private final Instant received;
        /** Choices a plugin stopped: their end is content_filter, whatever the engine reports. */
        private final boolean[] filtered;

        Choices(ResponseFormat format, String id, InferenceRequest request, ServedModel model, int n,
                Consumer<Outcome> done, Execution execution, RequestHooks hooks, Instant received) {
            this.hooks = hooks;
            this.received = received;
            this.filtered = new boolean[n];
            this.format = format;
            this.id = id;
            this.request = request;
            this.model = model;
            this.done = done;
            this.execution = execution;
            this.texts = new StringBuilder[n];
            this.ends = new Completion[n];
            this.promptTokens = new int[n];
            for (int i = 0; i < n; i++) {
                texts[i] = new StringBuilder();
                logprobs.add(new ArrayList<>());
            }
            this.open = new AtomicInteger(n);
        }

        synchronized void delta(int choice, TokenDelta delta) {
            if (filtered[choice]) {
                return;
            }
            try {
                texts[choice].append(hooks.onDelta(choice, delta.text()));
                logprobs.get(choice).addAll(delta.logprobs());
            } catch (ContentRejectedException e) {
                filtered[choice] = true;
                synchronized (execution.handles) {
                    if (choice < execution.handles.size()) {
                        execution.handles.get(choice).cancel();
                    }
                }
            }
        }

        void finish(int choice, Completion completion, int prompt) {
            synchronized (this) {
                ends[choice] = completion;
                promptTokens[choice] = prompt;
                if (!filtered[choice]) {
                    texts[choice].append(hooks.onChoiceEnd(choice));
                }
            }
            if (open.decrementAndGet() == 0 && !execution.cancelled) {
                Outcome outcome = outcome();
                report(outcome);
                done.accept(outcome);
            }
        }

        private synchronized void report(Outcome outcome) {
            List<String> reasons = new ArrayList<>();
            int prompt = 0;
            int completion = 0;
            for (int i = 0; i < ends.length; i++) {
                reasons.add(reason(i));
                prompt += promptTokens[i];
                completion += ends[i].completionTokens();
            }
            boolean answered = outcome instanceof Answered;
            hooks.onCompletion(new RequestOutcome(answered ? 200 : 503, reasons, prompt, completion,
                    Duration.between(received, Instant.now()), answered ? null : ((Retry) outcome).reason()));
        }

        private String reason(int choice) {
            return filtered[choice] ? "content_filter" : ends[choice].reason().wire();
        }

        private synchronized Outcome outcome() {
            int prompt = 0;
            int completion = 0;
            for (int i = 0; i < ends.length; i++) {
                if (!filtered[i] && (ends[i].reason() == FinishReason.ERROR || ends[i].reason() == FinishReason.CANCELLED)) {
                    return new Retry("choice " + i + " ended " + ends[i].reason().wire()
                            + (ends[i].error() == null ? "" : ": " + ends[i].error()));
                }
                if (i % request.n() == 0) {
                    prompt += promptTokens[i];
                }
                completion += ends[i].completionTokens();
            }
            ObjectNode body = format.envelope(id, System.currentTimeMillis() / 1000, model.name(), false);
            ArrayNode array = (ArrayNode) body.get("choices");
            for (int i = 0; i < ends.length; i++) {
                array.add(format.fullChoice(i, texts[i].toString(), logprobs.get(i), request.logprobs() >= 0,
                        reason(i), model));
            }
            body.set("usage", ResponseFormat.usage(prompt, completion));
            return new Answered(200, body);
        }
    }
}
