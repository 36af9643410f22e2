package org.autoglm.node.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.autoglm.gossip.grid.GridUnavailable;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.node.engine.GenerationRequest;
import org.autoglm.node.engine.TokenDelta;
import org.autoglm.node.plugins.ContentRejectedException;
import org.autoglm.node.plugins.PluginRequest;
import org.autoglm.node.plugins.Plugins;
import org.autoglm.node.plugins.RequestHooks;
import org.autoglm.node.plugins.RequestOutcome;
import org.autoglm.node.security.Caller;
import org.autoglm.node.security.Role;
import org.autoglm.node.session.Message;
import org.autoglm.node.session.Session;
import org.autoglm.node.session.SessionStore;
import org.autoglm.node.telemetry.RequestTracing;
import org.autoglm.node.telemetry.Telemetry;

/**
 * {@code POST /v1/chat/completions} and {@code POST /v1/completions}: parse, let plugins look, build the
 * prompt (with the session's history), submit one engine request per choice, and answer as one JSON
 * response or as server-sent events. A client that disconnects mid-stream has its engine requests cancelled.
 */
final class InferenceRoutes {

    private static final Duration MAX_POLL = Duration.ofMillis(500);
    /** After a disconnect, how long to wait for the engine to confirm the cancellation (for metrics/audit). */
    private static final Duration DRAIN = Duration.ofSeconds(2);

    private final ServingState state;
    private final Plugins plugins;
    private final SessionStore sessions;
    private final Telemetry telemetry;
    private final InFlight inFlight;
    private final long maxRequestBytes;
    private final Duration keepAlive;
    private final Duration poll;
    private final Duration timeout;
    private final int defaultMaxTokens;
    private final RateLimitCheck rateLimits;

    InferenceRoutes(ApiServer.Config config, InFlight inFlight) {
        this.rateLimits = new RateLimitCheck(config.rateLimits);
        this.state = config.state;
        this.plugins = config.plugins;
        this.sessions = config.sessions;
        this.telemetry = config.telemetry;
        this.inFlight = inFlight;
        this.maxRequestBytes = config.maxRequestBytes;
        this.keepAlive = config.sseKeepAlive;
        this.poll = keepAlive.compareTo(MAX_POLL) < 0 ? keepAlive : MAX_POLL;
        this.timeout = config.requestTimeout;
        this.defaultMaxTokens = config.defaultMaxTokens;
    }

    void chat(Context ctx) throws Exception {
        serve(ctx, "/v1/chat/completions", ResponseFormat.CHAT);
    }

    void completions(Context ctx) throws Exception {
        serve(ctx, "/v1/completions", ResponseFormat.TEXT);
    }

    /** Everything one request needs while it is answered. */
    private record Call(String id, long created, Caller caller, ServedModel model, InferenceRequest request,
            Session session, SessionPrompt sessionPrompt, List<int[]> prompts, RequestHooks hooks,
            RequestTracing.RequestSpan span, long receivedNanos, ToolCallAnswers tools) {}

    /** What the client received, for plugins, traces and the session. */
    private static final class Result {
        int status = 200;
        String error;
        final List<String> reasons = new ArrayList<>();
        int promptTokens;
        int completionTokens;
        String firstChoiceText;
        String firstChoiceReason;
        /** The session turn was handled already (a stream saves it before its last event). */
        boolean turnSaved;
    }

    private void serve(Context ctx, String route, ResponseFormat format) throws Exception {
        long receivedNanos = System.nanoTime();
        Instant receivedAt = Instant.now();
        boolean chat = format == ResponseFormat.CHAT;
        RequestTracing.RequestSpan span = ApiServer.span(ctx);
        ServingState.Loaded current = state.current();
        span.inference(chat ? "chat" : "text_completion", current == null ? null : current.model().name());
        ServingState.Loaded loaded = state.require();
        ServedModel model = loaded.model();
        ObjectNode body = JsonBody.readObject(ctx, maxRequestBytes);
        if (body.path("model").isTextual()) {
            span.inference(chat ? "chat" : "text_completion", body.path("model").textValue());
        }
        InferenceRequest request = chat ? RequestParser.chat(body, model) : RequestParser.completion(body, model);
        if (!request.model().equals(model.name())) {
            throw ApiError.notFound("model", "model_not_found", "The model '" + request.model()
                    + "' is not served here; this node serves '" + model.name() + "' (GET /v1/models).");
        }
        Caller caller = ApiServer.caller(ctx);
        Session session = request.sessionId() == null ? null : SessionRoutes.owned(sessions, request.sessionId(), caller);
        String id = (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");

        PluginRequest seen = new PluginRequest(id, caller.subject(),
                caller.roles().stream().map(Role::wire).collect(java.util.stream.Collectors.toSet()), route,
                model.name(), request.stream(), receivedAt, request.texts());
        RequestHooks hooks;
        try {
            hooks = plugins.onRequest(seen);
        } catch (ContentRejectedException e) {
            throw ApiError.contentFiltered(e.getMessage());
        }
        if (!seen.inputs().equals(request.texts())) {
            request = request.withTexts(seen.inputs());
        }

        span.requestId(id);
        Result result = new Result();
        try {
            SessionPrompt sessionPrompt = session == null ? null
                    : SessionPrompt.build(session, request.messages(), request.structured().tools(),
                            request.params().maxTokens(), model);
            List<int[]> prompts = sessionPrompt != null ? List.of(sessionPrompt.promptIds()) : prompts(request, model);
            Call call = new Call(id, receivedAt.getEpochSecond(), caller, model, request, session, sessionPrompt,
                    prompts, hooks, span, receivedNanos,
                    ToolCallAnswers.of(request.structured(), model, prompts.size() * request.n()));
            Instant deadline = timeout == null ? null : receivedAt.plus(timeout);
            List<GenerationRequest> engineRequests = engineRequests(id, prompts, request, model, deadline,
                    span.traceparent(), caller.subject(), defaultMaxTokens);
            rateLimits.check(ctx, caller.subject(), engineRequests);
            GenerationRun run = new GenerationRun(loaded.engine(), engineRequests, hooks, telemetry.metrics(), span,
                    receivedNanos);
            inFlight.add(new InFlight.Entry(id, caller.subject(), route, model.name(), prompts.size() * request.n(),
                    request.stream(), receivedAt, run, request.priority()));
            try {
                run.start();
                if (request.stream()) {
                    stream(ctx, call, format, run, result);
                } else {
                    respond(ctx, call, format, run, result);
                }
            } finally {
                inFlight.remove(id);
            }
            saveTurn(call, result);
        } catch (ApiError e) {
            result.status = e.status();
            result.error = e.getMessage();
            throw e;
        } catch (RuntimeException | InterruptedException e) {
            result.status = 500;
            result.error = "internal error";
            throw e;
        } finally {
            Instant end = Instant.now();
            hooks.onCompletion(new RequestOutcome(result.status, result.reasons, result.promptTokens,
                    result.completionTokens, Duration.between(receivedAt, end), result.error));
            span.finish(end, result.reasons, result.promptTokens, result.completionTokens, result.error);
        }
    }

    /** The request's prompts as token ids, each checked against the context (400 naming the field otherwise). */
    static List<int[]> prompts(InferenceRequest request, ServedModel model) {
        List<int[]> out = new ArrayList<>();
        String param = request.messages().isEmpty() ? "prompt" : "messages";
        int most = model.contextLength() - 1; // at least one token must be left for the output
        try {
            if (!request.messages().isEmpty()) {
                List<org.autoglm.models.chat.ToolDefinition> tools = request.structured().tools();
                boolean toolTurns = request.messages().stream()
                        .anyMatch(m -> !m.toolCalls().isEmpty() || m.toolCallId() != null);
                out.add(tools.isEmpty() && !toolTurns ? model.encodeChatAtMost(request.messages(), most)
                        : model.encodeChat(request.messages(), tools));
            } else {
                for (InferenceRequest.Prompt p : request.prompts()) {
                    out.add(p.ids() != null ? p.ids() : model.encodeAtMost(p.text(), most));
                }
            }
        } catch (RuntimeException e) {
            // The tokenizer or template refused this input: the client's text, not the node, is at fault.
            throw ApiError.invalid(param, "The " + param + " could not be tokenized: " + e.getMessage());
        }
        for (int[] ids : out) {
            if (ids == null) {
                throw ApiError.invalid(param, "The prompt has more than " + most + " tokens; the model's context is "
                        + model.contextLength() + " tokens including the output. Shorten it.");
            }
            if (ids.length == 0) {
                throw ApiError.invalid(param, "The prompt is empty after tokenization; send some text.");
            }
            if (ids.length >= model.contextLength()) {
                throw ApiError.invalid(param, "The prompt is " + ids.length + " tokens; the model's context is "
                        + model.contextLength() + " tokens including the output. Shorten it.");
            }
        }
        return out;
    }

    /** One engine request per choice: choice {@code p * n + i} is sample {@code i} of prompt {@code p}. */
    static List<GenerationRequest> engineRequests(String callId, List<int[]> prompts, InferenceRequest r,
            ServedModel model, Instant deadline, String traceparent, String user, int defaultMaxTokens) {
        List<GenerationRequest> out = new ArrayList<>();
        for (int p = 0; p < prompts.size(); p++) {
            int[] ids = prompts.get(p);
            for (int i = 0; i < r.n(); i++) {
                SamplingParams params = r.params();
                if (params.maxTokens() == 0) { // not set: --default-max-tokens, else to the end of the context
                    int room = model.contextLength() - ids.length;
                    params = params.withMaxTokens(defaultMaxTokens > 0 ? Math.min(defaultMaxTokens, room) : room);
                }
                if (params.seed() != null && i > 0) {
                    // Same seed for every sample would give n identical answers.
                    params = params.withSeed(params.seed() + i);
                }
                String id = prompts.size() * r.n() == 1 ? callId : callId + "-" + (p * r.n() + i);
                out.add(new GenerationRequest(id, ids, params, r.priority(), deadline, r.sessionId(), r.requiredTags(),
                        model.name(), traceparent).withConstraint(r.structured().constraint()).withUser(user));
            }
        }
        return out;
    }

    private void stream(Context ctx, Call call, ResponseFormat format, GenerationRun run, Result result)
            throws InterruptedException {
        int choices = call.prompts().size() * call.request().n();
        boolean[] started = new boolean[choices];
        StringBuilder first = new StringBuilder();
        try {
            SseWriter sse = new SseWriter(ctx);
            while (!run.finished()) {
                GenerationRun.Event e = run.next(poll);
                if (e == null && sse.idleFor().compareTo(keepAlive) >= 0) {
                    sse.keepAlive();
                } else if (e instanceof GenerationRun.Delta d) {
                    boolean hasLogprobs = d.raw() != null && !d.raw().logprobs().isEmpty();
                    if (d.text().isEmpty() && !hasLogprobs && started[d.choice()]) {
                        continue;
                    }
                    if (d.choice() == 0) {
                        first.append(d.text());
                    }
                    if (call.tools() != null) {
                        for (ObjectNode c : call.tools().chunkChoices(d.choice(), d.text(), d.raw(), !started[d.choice()],
                                format, call.model())) {
                            sse.send(chunk(call, format, c));
                            started[d.choice()] = true;
                        }
                        continue;
                    }
                    sse.send(chunk(call, format, format.chunkChoice(d.choice(), d.text(), d.raw(),
                            !started[d.choice()], call.model())));
                    started[d.choice()] = true;
                } else if (e instanceof GenerationRun.End end) {
                    record(result, end, call);
                    String reason = end.reason();
                    if (call.tools() != null) {
                        for (ObjectNode c : call.tools().finishChunks(end.choice(), !started[end.choice()], format,
                                call.model())) {
                            sse.send(chunk(call, format, c));
                            started[end.choice()] = true;
                        }
                        reason = call.tools().finishReason(end.choice(), reason);
                    }
                    if (end.error() != null) {
                        sse.send(errorEvent(end.error()));
                    }
                    sse.send(chunk(call, format, format.endChoice(end.choice(), reason)));
                }
            }
            if (call.request().includeUsage()) {
                ObjectNode usage = format.envelope(call.id(), call.created(), call.model().name(), true);
                usage.set("usage", ResponseFormat.usage(result.promptTokens, result.completionTokens));
                sse.send(usage);
            }
            result.firstChoiceText = first.toString();
            try { // before [DONE]: a turn the session could not keep is an error the client still sees
                saveTurn(call, result);
            } catch (ApiError e) {
                result.status = e.status();
                result.error = e.getMessage();
                sse.send(ErrorResponses.body(e));
            }
            sse.done();
        } catch (IOException clientGone) {
            run.cancelAll();
            result.status = 499; // nginx's "client closed request": nobody received a status
            long until = System.nanoTime() + DRAIN.toNanos();
            while (!run.finished() && System.nanoTime() < until) {
                if (run.next(poll) instanceof GenerationRun.End end) {
                    record(result, end, call);
                }
            }
        }
        if (result.firstChoiceText == null) {
            result.firstChoiceText = first.toString();
        }
    }

    private void respond(Context ctx, Call call, ResponseFormat format, GenerationRun run, Result result)
            throws InterruptedException {
        int choices = call.prompts().size() * call.request().n();
        StringBuilder[] texts = new StringBuilder[choices];
        List<List<TokenDelta.TokenLogprob>> logprobs = new ArrayList<>();
        String[] reasons = new String[choices];
        for (int i = 0; i < choices; i++) {
            texts[i] = new StringBuilder();
            logprobs.add(new ArrayList<>());
        }
        String lastError = null;
        int errors = 0;
        int unavailable = 0;
        while (!run.finished()) {
            GenerationRun.Event e = run.next(poll);
            if (e instanceof GenerationRun.Delta d) {
                texts[d.choice()].append(d.text());
                if (d.raw() != null) {
                    logprobs.get(d.choice()).addAll(d.raw().logprobs());
                }
            } else if (e instanceof GenerationRun.End end) {
                record(result, end, call);
                reasons[end.choice()] = end.reason();
                if (end.error() != null) {
                    errors++;
                    lastError = end.error();
                    if (end.unavailable()) {
                        unavailable++;
                    }
                }
            }
        }
        if (errors == choices) {
            // The cluster could not finish it now (this node rejoins its grid, stops, or lost the majority): nothing
            // is wrong with the request, so 503 with Retry-After, which OpenAI clients send again by themselves.
            throw unavailable == choices ? ApiError.unavailable(lastError) : ApiError.server("Generation failed: " + lastError);
        }
        ObjectNode response = format.envelope(call.id(), call.created(), call.model().name(), false);
        ArrayNode array = (ArrayNode) response.get("choices");
        for (int i = 0; i < choices; i++) {
            array.add(call.tools() != null
                    ? call.tools().fullChoice(i, texts[i].toString(), logprobs.get(i), call.request().logprobs() >= 0,
                            reasons[i], format, call.model())
                    : format.fullChoice(i, texts[i].toString(), logprobs.get(i), call.request().logprobs() >= 0,
                            reasons[i], call.model()));
        }
        response.set("usage", ResponseFormat.usage(result.promptTokens, result.completionTokens));
        result.firstChoiceText = texts[0].toString();
        ctx.status(200).json(response);
    }

    private static void record(Result result, GenerationRun.End end, Call call) {
        result.reasons.add(end.reason());
        result.completionTokens += end.completionTokens();
        if (end.choice() % call.request().n() == 0) {
            result.promptTokens += call.prompts().get(end.choice() / call.request().n()).length;
        }
        if (end.choice() == 0) {
            result.firstChoiceReason = end.reason();
        }
    }

    /** A session turn is kept only when choice 0 was answered (stopped or hit its length). */
    private void saveTurn(Call call, Result result) {
        if (call.session() == null || result.turnSaved || result.firstChoiceText == null
                || !("stop".equals(result.firstChoiceReason) || "length".equals(result.firstChoiceReason))) {
            return;
        }
        result.turnSaved = true;
        List<Message> turn = new ArrayList<>(call.request().messages());
        Message toolTurn = call.tools() == null ? null : call.tools().assistantTurn(0);
        turn.add(toolTurn != null ? toolTurn : new Message("assistant", result.firstChoiceText));
        String sessionId = call.session().id();
        try {
            // Keyed by the request's id: a save the grid reported as failed may still have committed (a transaction
            // whose answer was lost), and the store tries it again; the turn must not be appended twice.
            sessions.update(sessionId, current -> current.afterTurn(call.id(), call.session(),
                    call.sessionPrompt().keptHistory(), turn, call.sessionPrompt().promptIds().length, Instant.now()));
        } catch (RuntimeException e) {
            // The session store waited out lock contention already; what is left is a grid that cannot answer now.
            if (!GridUnavailable.contended(e) && GridUnavailable.find(e) == null) {
                throw e;
            }
            if (turnSavedAnyway(sessionId, call.id())) {
                return;
            }
            throw ApiError.unavailable("The answer was generated, but session " + sessionId + " could not"
                    + " be updated because the cluster is reorganizing (" + e.getClass().getSimpleName() + "). The"
                    + " session does not hold this turn as far as this node can tell: in a few seconds, GET /v1/sessions/"
                    + sessionId + " and send the turn again if it is missing.");
        }
    }

    /** After a failed save: whether its transaction committed all the same (then the turn is answered as saved). */
    private boolean turnSavedAnyway(String sessionId, String turnId) {
        try {
            return sessions.get(sessionId).map(s -> s.holdsTurn(turnId)).orElse(false);
        } catch (RuntimeException unreadable) {
            return false; // the grid cannot answer: the 503 below says to send the turn again
        }
    }

    private static ObjectNode chunk(Call call, ResponseFormat format, ObjectNode choice) {
        ObjectNode n = format.envelope(call.id(), call.created(), call.model().name(), true);
        ((ArrayNode) n.get("choices")).add(choice);
        return n;
    }

    private static ObjectNode errorEvent(String message) {
        return ErrorResponses.body(ApiError.server("Generation failed: " + message));
    }

}
