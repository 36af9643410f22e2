package org.autoglm.node.workflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.autoglm.gossip.workflow.RunSummary;
import org.autoglm.gossip.workflow.StepState;
import org.autoglm.gossip.workflow.WorkflowRun;
import org.autoglm.node.api.Access;
import org.autoglm.node.api.ApiError;
import org.autoglm.node.api.ApiServer;
import org.autoglm.node.api.JsonBody;
import org.autoglm.node.security.Caller;
import org.autoglm.node.security.Role;

/**
 * Workflow runs over HTTP: {@code POST /v1/workflows/{name}/runs}, {@code GET /v1/workflow-runs} (a list),
 * {@code GET /v1/workflow-runs/{id}},
 * {@code GET /v1/workflow-runs/{id}/events} (server-sent events) and {@code POST /v1/workflow-runs/{id}/cancel}.
 * Users start runs and read and cancel their own; auditors read all; operators read and cancel all. A run the
 * caller may not see is reported as not found.
 */
final class RunRoutes {

    private static final Set<String> LIST_FILTERS = Set.of("workflow", "status", "limit", "after");
    private static final Set<String> START_FIELDS = Set.of("params", "priority", "version");
    /** How often an event stream looks at the run when the grid cannot push its changes. */
    private static final long EVENT_POLL_MILLIS = 200;
    private static final long KEEP_ALIVE_MILLIS = 5_000;

    private final WorkflowRuns runs;
    private final long maxRequestBytes;

    RunRoutes(WorkflowRuns runs, long maxRequestBytes) {
        this.runs = runs;
        this.maxRequestBytes = maxRequestBytes;
    }

    void install(Javalin app) {
        app.post("/v1/workflows/{name}/runs", this::start, Access.INFERENCE);
        app.get("/v1/workflow-runs", this::list, Access.READ_JOBS);
        app.get("/v1/workflow-runs/{id}", ctx -> ctx.json(RunView.of(visible(ctx))), Access.READ_JOBS);
        app.get("/v1/workflow-runs/{id}/events", this::events, Access.READ_JOBS);
        app.post("/v1/workflow-runs/{id}/cancel", this::cancel, Access.INFERENCE);
    }

    private void start(Context ctx) {
        ObjectNode body = readObject(JsonBody.readBytes(ctx, maxRequestBytes));
        for (Iterator<String> names = body.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!START_FIELDS.contains(name)) {
                throw ApiError.invalid(name, "'" + name + "' is not supported here; a run takes "
                        + START_FIELDS.stream().sorted().toList() + ".");
            }
        }
        Integer priority = integer(body, "priority");
        Integer version = integer(body, "version");
        if (version == null && ctx.queryParam("version") != null) {
            try {
                version = Integer.parseInt(ctx.queryParam("version"));
            } catch (NumberFormatException e) {
                throw ApiError.invalid("version", "'version' must be an integer.");
            }
        }
        WorkflowRun run = runs.start(ctx.pathParam("name"), version, body.get("params"), priority,
                ApiServer.caller(ctx).subject());
        ctx.status(201).json(RunView.of(run));
    }

    private static ObjectNode readObject(byte[] bytes) {
        if (bytes.length == 0) {
            return JsonBody.MAPPER.createObjectNode();
        }
        JsonNode node;
        try {
            node = JsonBody.MAPPER.readTree(bytes);
        } catch (IOException e) {
            throw ApiError.malformed("Request body is not valid JSON: " + e.getMessage());
        }
        if (node == null || !node.isObject()) {
            throw ApiError.malformed("Request body must be a JSON object: {\"params\": {...}, \"priority\": N}.");
        }
        return (ObjectNode) node;
    }

    private static Integer integer(ObjectNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber()) {
            throw ApiError.invalid(field, "'" + field + "' must be an integer.");
        }
        return v.intValue();
    }

    /**
     * {@code GET /v1/workflow-runs[?workflow=NAME][&status=S][&limit=N][&after=ID]}: newest first, OpenAI's list
     * shape ({@code first_id}, {@code last_id}, {@code has_more}); the next page is {@code after=last_id}. Users see
     * their own runs, auditors and operators everyone's.
     */
    private void list(Context ctx) {
        Caller caller = ApiServer.caller(ctx);
        for (String name : ctx.queryParamMap().keySet()) {
            if (!LIST_FILTERS.contains(name)) {
                throw ApiError.invalid(name, "'" + name + "' is not a filter of this list; it takes "
                        + LIST_FILTERS.stream().sorted().toList() + ".");
            }
        }
        int limit = limit(ctx.queryParam("limit"));
        WorkflowRun.Status status = status(ctx.queryParam("status"));
        String owner = caller.has(Role.AUDITOR) || caller.has(Role.OPERATOR) ? null : caller.subject();
        List<RunSummary> all = runs.list(owner, ctx.queryParam("workflow"), status);
        int from = 0;
        String after = ctx.queryParam("after");
        if (after != null) {
            WorkflowRun cursor = runs.get(after);
            if (cursor == null || (owner != null && !owner.equals(cursor.owner))) {
                throw ApiError.invalid("after", "'after' must be the id of a run you may see (the last_id of the"
                        + " previous page), got '" + after + "'.");
            }
            RunSummary mark = new RunSummary();
            mark.id = cursor.id;
            mark.createdAt = cursor.createdAt;
            while (from < all.size() && RunSummary.newestFirst(all.get(from), mark) <= 0) {
                from++;
            }
        }
        List<RunSummary> page = all.subList(from, Math.min(all.size(), from + limit));
        ObjectNode out = JsonBody.MAPPER.createObjectNode();
        out.put("object", "list");
        ArrayNode data = out.putArray("data");
        page.forEach(r -> data.add(RunView.summary(r)));
        out.put("first_id", page.isEmpty() ? null : page.get(0).id);
        out.put("last_id", page.isEmpty() ? null : page.get(page.size() - 1).id);
        out.put("has_more", from + page.size() < all.size());
        ctx.json(out);
    }

    private static int limit(String raw) {
        if (raw == null) {
            return 20;
        }
        try {
            int v = Integer.parseInt(raw);
            if (v >= 1 && v <= 100) {
                return v;
            }
        } catch (NumberFormatException ignored) {
            // answered below
        }
        throw ApiError.invalid("limit", "'limit' must be an integer from 1 to 100, got '" + raw + "'.");
    }

    private static WorkflowRun.Status status(String raw) {
        if (raw == null) {
            return null;
        }
        for (WorkflowRun.Status s : WorkflowRun.Status.values()) {
            if (s.wire().equals(raw)) {
                return s;
            }
        }
        throw ApiError.invalid("status", "'status' must be one of queued, running, succeeded, failed, cancelled;"
                + " got '" + raw + "'.");
    }

    private void cancel(Context ctx) {
        WorkflowRun run = visible(ctx);
        Caller caller = ApiServer.caller(ctx);
        if (!caller.subject().equals(run.owner) && !caller.has(Role.OPERATOR)) {
            throw ApiError.forbidden("Only the run's owner or an operator may cancel it.");
        }
        if (run.status.terminal()) {
            throw new ApiError(409, "invalid_request_error", null, "run_not_cancellable", "Run " + run.id
                    + " is already " + run.status.wire() + "; there is nothing to cancel.", null);
        }
        WorkflowRun after = runs.cancel(run.id);
        ctx.json(RunView.of(after == null ? runs.get(run.id) : after));
    }

    private WorkflowRun visible(Context ctx) {
        String id = ctx.pathParam("id");
        WorkflowRun run = runs.get(id);
        Caller caller = ApiServer.caller(ctx);
        if (run == null || !(caller.subject().equals(run.owner) || caller.has(Role.AUDITOR)
                || caller.has(Role.OPERATOR))) {
            throw ApiError.notFound("id", "workflow_run_not_found", "No workflow run '" + id + "'.");
        }
        return run;
    }

    /**
     * Server-sent events: {@code event: run} with the whole run first and whenever its status changes,
     * {@code event: step} with a step's view whenever its status or attempts change, and {@code event: done} when
     * the run ends (then the stream closes). Pushed: the grid tells this node when the run changes
     * ({@link WorkflowRuns#watch}); the run is also read every few seconds, when a keep-alive is due, in case a
     * change was not told (a grid node leaving while it was sent).
     */
    private void events(Context ctx) throws IOException, InterruptedException {
        WorkflowRun run = visible(ctx);
        ctx.status(200);
        ctx.res().setContentType("text/event-stream; charset=utf-8");
        ctx.res().setHeader("Cache-Control", "no-cache");
        ctx.res().setHeader("X-Accel-Buffering", "no");
        OutputStream out = ctx.res().getOutputStream();
        Semaphore changed = new Semaphore(0);
        long wait = KEEP_ALIVE_MILLIS;
        AutoCloseable watch = null;
        try {
            watch = runs.watch(run.id, changed::release);
        } catch (RuntimeException e) {
            wait = EVENT_POLL_MILLIS; // no push from the grid now: look at the run often instead
        }
        try {
            run = runs.get(run.id); // watched first, read second: no change falls between
            Map<String, String> seen = new HashMap<>();
            String runStatus = null;
            long revision = -1;
            long lastWrite = System.currentTimeMillis();
            while (run != null) {
                if (run.revision != revision) {
                    revision = run.revision;
                    ObjectNode view = RunView.of(run);
                    if (!run.status.wire().equals(runStatus)) {
                        runStatus = run.status.wire();
                        send(out, "run", view);
                    }
                    for (JsonNode step : view.get("steps")) {
                        String mark = step.get("status").asText() + "/" + step.get("attempts").asInt() + "/"
                                + itemMark(run.steps.get(step.get("id").asText()));
                        if (!mark.equals(seen.put(step.get("id").asText(), mark))) {
                            send(out, "step", step);
                        }
                    }
                    lastWrite = System.currentTimeMillis();
                    if (run.status.terminal()) {
                        send(out, "done", view);
                        return;
                    }
                } else if (System.currentTimeMillis() - lastWrite >= KEEP_ALIVE_MILLIS) {
                    out.write(": keep-alive\n\n".getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    lastWrite = System.currentTimeMillis();
                }
                changed.tryAcquire(wait, TimeUnit.MILLISECONDS);
                changed.drainPermits(); // several changes told while we read: one read shows them all
                run = runs.get(run.id);
            }
        } finally {
            if (watch != null) {
                try {
                    watch.close();
                } catch (Exception ignored) {
                    // only forgets a callback
                }
            }
        }
    }

    private static String itemMark(StepState st) {
        if (st.items == null) {
            return "";
        }
        StringBuilder b = new StringBuilder();
        st.items.forEach(it -> b.append(it.status.ordinal()).append(it.attempts));
        return b.toString();
    }

    private static void send(OutputStream out, String event, JsonNode data) throws IOException {
        out.write(("event: " + event + "\ndata: " + JsonBody.MAPPER.writeValueAsString(data) + "\n\n")
                .getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
