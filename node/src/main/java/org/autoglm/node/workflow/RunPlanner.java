package org.autoglm.node.workflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.autoglm.gossip.workflow.AttemptRecord;
import org.autoglm.gossip.workflow.StepState;
import org.autoglm.gossip.workflow.StepState.Status;
import org.autoglm.gossip.workflow.WorkflowRun;
import org.autoglm.gossip.workflow.WorkflowStore;
import org.autoglm.node.api.JsonBody;
import org.autoglm.node.workflow.WorkflowTemplate.Kind;
import org.autoglm.node.workflow.WorkflowTemplate.Step;

/**
 * The state machine of a run, as one pure step: given the run as the grid has it, the attempts this driver has in
 * flight and a way to read stored attempt outcomes, it moves steps along (pending → running → succeeded, failed or
 * skipped; a failed attempt waits its backoff and tries again), ends the run when it can, and says which attempts
 * to start. It runs inside the grid transaction that writes the run, so its decisions are durable before any
 * attempt starts; a driver that takes the run over later re-plans from the same record.
 */
final class RunPlanner {

    /** Attempts one run has in flight at most (independent steps and for_each items together). */
    static final int MAX_PARALLEL = 8;
    /**
     * Times one step (or item) is sent again because the cluster could not run it (its node died, the cluster was
     * full), on top of its own retries: with the backoff below, about a minute and a half of trying.
     */
    static final int MAX_CLUSTER_RETRIES = 20;
    private static final long CLUSTER_RETRY_INITIAL_MS = 100;
    private static final long CLUSTER_RETRY_MAX_MS = 5_000;

    private final WorkflowTemplate template;
    private final Set<String> inFlight;
    private final Function<String, AttemptRecord> stored;
    private final long now;
    final List<Attempt> launches = new ArrayList<>();
    private final Set<String> launched = new java.util.HashSet<>();
    /** The earliest time a waiting retry may start, or 0. */
    long wakeAt;
    /** How long {@link #plan} took (set by the driver, for its stats). */
    long planNanos;

    RunPlanner(WorkflowTemplate template, Set<String> inFlight, Function<String, AttemptRecord> stored, long now) {
        this.template = template;
        this.inFlight = inFlight;
        this.stored = stored;
        this.now = now;
    }

    /** Moves {@code r} along; returns it changed, or null when nothing changed. */
    WorkflowRun plan(WorkflowRun r) {
        if (r.status.terminal()) {
            return null;
        }
        if (r.cancelRequested) {
            end(r, WorkflowRun.Status.CANCELLED, "cancelled by request");
            return r;
        }
        boolean changed = false;
        if (r.status == WorkflowRun.Status.QUEUED) {
            r.status = WorkflowRun.Status.RUNNING;
            r.startedAt = now;
            changed = true;
        }
        for (int pass = 0; pass <= template.steps().size(); pass++) {
            boolean moved = false;
            for (Step s : template.steps()) {
                StepState st = r.steps.get(s.id());
                if (!st.status.terminal()) {
                    moved |= advance(r, s, st, context(r)); // fresh: a step settled just now is seen by the next
                }
            }
            changed |= moved;
            if (!moved) {
                break;
            }
        }
        for (Step s : template.steps()) {
            StepState st = r.steps.get(s.id());
            if (st.status == Status.FAILED && !s.continueOnError()) {
                launches.clear();
                launched.clear();
                end(r, WorkflowRun.Status.FAILED, "step '" + s.id() + "' failed: " + st.error);
                return r;
            }
        }
        if (r.steps.values().stream().allMatch(st -> st.status.terminal())) {
            finish(r);
            return r;
        }
        return changed ? r : null;
    }

    private boolean advance(WorkflowRun r, Step s, StepState st, Map<String, Object> context) {
        boolean changed = false;
        if (st.status == Status.PENDING) {
            for (String dep : s.dependsOn()) {
                if (!r.steps.get(dep).status.terminal()) {
                    return false;
                }
            }
            changed = true;
            st.startedAt = now;
            if (s.when() != null) {
                try {
                    if (!Expressions.truthy(Expressions.evaluate(Expressions.asTemplate(s.when()), context))) {
                        st.status = Status.SKIPPED;
                        st.endedAt = now;
                        return true;
                    }
                } catch (Expressions.ExpressionException e) {
                    fail(st, "'when' failed: " + e.getMessage());
                    return true;
                }
            }
            if (s.forEach() != null) {
                Object items;
                try {
                    items = Expressions.evaluate(s.forEach(), context);
                } catch (Expressions.ExpressionException e) {
                    fail(st, "'for_each' failed: " + e.getMessage());
                    return true;
                }
                if (items instanceof String text && StepAttempts.parseJson(text) instanceof ArrayNode list) {
                    items = JsonBody.MAPPER.convertValue(list, List.class);
                }
                if (!(items instanceof List<?> list)) {
                    fail(st, "'for_each' must give a list, got " + JsonBody.MAPPER.valueToTree(items));
                    return true;
                }
                st.itemValues = new ArrayList<>();
                st.items = new ArrayList<>();
                for (Object item : list) {
                    st.itemValues.add(JsonBody.MAPPER.valueToTree(item).toString());
                    st.items.add(new StepState());
                }
            }
            st.status = Status.RUNNING;
        }
        if (st.status != Status.RUNNING) {
            return changed;
        }
        if (st.items == null) {
            return unit(r, s, st, -1, context) | changed;
        }
        for (int i = 0; i < st.items.size(); i++) {
            changed |= unit(r, s, st.items.get(i), i, itemContext(context, st, i));
        }
        if (st.items.stream().allMatch(it -> it.status.terminal())) {
            gather(st);
            changed = true;
        }
        return changed;
    }

    /** One attempt-running unit: a step, or one item of a for_each step. */
    private boolean unit(WorkflowRun r, Step s, StepState u, int item, Map<String, Object> context) {
        if (u.status.terminal()) {
            return false;
        }
        boolean changed = false;
        if (u.status == Status.PENDING) {
            u.status = Status.RUNNING;
            u.startedAt = now;
            changed = true;
        }
        if (u.attempts > 0) {
            String key = WorkflowStore.attemptKey(r.id, s.id(), item, u.attempts);
            if (inFlight.contains(key) || launched.contains(key)) {
                return changed;
            }
            AttemptRecord outcome = stored.apply(key);
            if (outcome == null && u.notBefore == 0) {
                // Started by a driver that is gone before it stored an outcome: run the same attempt again.
                return launch(r, s, u, item, u.attempts, context) | changed;
            }
            if (outcome != null && u.notBefore == 0) {
                settle(s, u, outcome);
                return true;
            }
        }
        if (u.notBefore > now) {
            wakeAt = wakeAt == 0 ? u.notBefore : Math.min(wakeAt, u.notBefore);
            return changed;
        }
        return launch(r, s, u, item, u.attempts + 1, context) | changed;
    }

    private boolean launch(WorkflowRun r, Step s, StepState u, int item, int number, Map<String, Object> context) {
        if (inFlight.size() + launches.size() >= MAX_PARALLEL) {
            return false;
        }
        u.attempts = number;
        u.notBefore = 0;
        Attempt a = render(r, s, item, number, context);
        launched.add(a.key());
        u.input = a.request() == null ? (a.settled() == null ? null : a.settled().input) : a.request().toString();
        launches.add(a);
        return true;
    }

    private Attempt render(WorkflowRun r, Step s, int item, int number, Map<String, Object> context) {
        String key = WorkflowStore.attemptKey(r.id, s.id(), item, number);
        try {
            return switch (s.kind()) {
                case LLM -> new Attempt(key, r.id, s, item, number, r.owner, llmRequest(r, s, context), null);
                case HTTP -> new Attempt(key, r.id, s, item, number, r.owner, httpRequest(s, context), null);
                case TRANSFORM -> {
                    Object value = Expressions.evaluate(s.json().get("expression").asText(), context);
                    JsonNode json = JsonBody.MAPPER.valueToTree(value);
                    String text = value instanceof String str ? str : json.toString();
                    yield new Attempt(key, r.id, s, item, number, r.owner, null,
                            Attempt.success(text, json.toString(), null, now));
                }
            };
        } catch (Expressions.ExpressionException e) {
            return new Attempt(key, r.id, s, item, number, r.owner, null,
                    Attempt.failure("an expression failed: " + e.getMessage(), false, null));
        }
    }

    private static ObjectNode llmRequest(WorkflowRun r, Step s, Map<String, Object> context) {
        List<Map<String, String>> messages = new ArrayList<>();
        if (s.json().has("prompt")) {
            messages.add(Map.of("role", "user", "content", Expressions.render(s.json().get("prompt").asText(), context)));
        } else {
            for (JsonNode m : s.json().get("messages")) {
                messages.add(Map.of("role", m.get("role").asText(),
                        "content", Expressions.render(m.get("content").asText(), context)));
            }
        }
        ObjectNode body = LlmStepRequest.chatBody(s, messages);
        if (s.priority() == null && r.priority != null) {
            body.put("priority", r.priority);
        }
        return body;
    }

    private static ObjectNode httpRequest(Step s, Map<String, Object> context) {
        ObjectNode req = JsonBody.MAPPER.createObjectNode();
        req.put("method", s.json().path("method").asText("POST"));
        req.put("url", Expressions.render(s.json().get("url").asText(), context));
        ObjectNode headers = req.putObject("headers");
        s.json().path("headers").fields().forEachRemaining(h ->
                headers.put(h.getKey(), Expressions.render(h.getValue().asText(), context)));
        if (s.json().has("body")) {
            req.set("body", renderJson(s.json().get("body"), context));
        }
        return req;
    }

    /** A JSON value with every string rendered; a string that is one expression keeps its value's type. */
    private static JsonNode renderJson(JsonNode n, Map<String, Object> context) {
        if (n.isTextual()) {
            return JsonBody.MAPPER.valueToTree(Expressions.evaluate(n.textValue(), context));
        }
        if (n.isArray()) {
            ArrayNode out = JsonBody.MAPPER.createArrayNode();
            n.forEach(v -> out.add(renderJson(v, context)));
            return out;
        }
        if (n.isObject()) {
            ObjectNode out = JsonBody.MAPPER.createObjectNode();
            n.fields().forEachRemaining(e -> out.set(e.getKey(), renderJson(e.getValue(), context)));
            return out;
        }
        return n;
    }

    /** Takes an attempt's stored outcome: success, a retry after the backoff, or failure. */
    private void settle(Step s, StepState u, AttemptRecord outcome) {
        u.promptTokens += outcome.promptTokens;
        u.completionTokens += outcome.completionTokens;
        if (outcome.input != null) {
            u.input = outcome.input;
        }
        if (outcome.ok) {
            u.results++;
            u.status = Status.SUCCEEDED;
            u.output = outcome.output;
            u.json = outcome.json;
            u.error = null;
            u.endedAt = outcome.endedAt;
        } else if (outcome.clusterFault && u.clusterRetries < MAX_CLUSTER_RETRIES) {
            // Not the step's failure: send it again soon, as the queue re-places an interactive request.
            u.clusterRetries++;
            u.error = outcome.error;
            long delay = Math.min(CLUSTER_RETRY_MAX_MS, CLUSTER_RETRY_INITIAL_MS << Math.min(10, u.clusterRetries - 1));
            u.notBefore = Math.max(now, outcome.endedAt) + delay;
            wakeAt = wakeAt == 0 ? u.notBefore : Math.min(wakeAt, u.notBefore);
        } else if (outcome.retryable && own(u) < s.retry().maxAttempts()) {
            u.error = outcome.error;
            u.notBefore = Math.max(now, outcome.endedAt) + Math.max(1, s.retry().delayAfter(own(u)));
            wakeAt = wakeAt == 0 ? u.notBefore : Math.min(wakeAt, u.notBefore);
        } else {
            fail(u, outcome.error + (own(u) > 1 ? " (attempt " + own(u) + " of " + s.retry().maxAttempts()
                    + ")" : "") + (outcome.clusterFault ? " (sent " + u.attempts + " times; the cluster could not"
                    + " run it)" : ""));
            u.endedAt = outcome.endedAt;
        }
    }

    /** The attempts that count against {@code retry.max_attempts}: those the cluster did run. */
    private static int own(StepState u) {
        return u.attempts - u.clusterRetries;
    }

    private void fail(StepState st, String error) {
        st.status = Status.FAILED;
        st.error = error;
        st.endedAt = now;
    }

    /** A for_each step whose items all ended: its output is the list of theirs. */
    private void gather(StepState st) {
        ArrayNode outputs = JsonBody.MAPPER.createArrayNode();
        ArrayNode jsons = JsonBody.MAPPER.createArrayNode();
        String firstError = null;
        int failedItems = 0;
        for (int i = 0; i < st.items.size(); i++) {
            StepState it = st.items.get(i);
            st.promptTokens += it.promptTokens;
            st.completionTokens += it.completionTokens;
            outputs.add(it.output);
            JsonNode j = it.json == null ? null : WorkflowTemplates.read(it.json);
            jsons.add(j != null ? j : JsonBody.MAPPER.valueToTree(it.output));
            if (it.status == Status.FAILED) {
                failedItems++;
                firstError = firstError == null ? "item " + i + ": " + it.error : firstError;
            }
        }
        st.output = outputs.toString();
        st.json = jsons.toString();
        st.endedAt = now;
        if (failedItems > 0) {
            st.status = Status.FAILED;
            st.error = failedItems + " of " + st.items.size() + " items failed; " + firstError;
        } else {
            st.status = Status.SUCCEEDED;
        }
    }

    private void finish(WorkflowRun r) {
        Map<String, Object> context = context(r);
        try {
            Object value;
            if (template.output() != null) {
                value = Expressions.evaluate(template.output(), context);
                if (value instanceof String text && StepAttempts.parseJson(text) != null) {
                    value = StepAttempts.parseJson(text);
                }
            } else {
                StepState last = r.steps.get(template.steps().get(template.steps().size() - 1).id());
                value = last.json != null ? WorkflowTemplates.read(last.json) : last.output;
            }
            r.output = JsonBody.MAPPER.valueToTree(value).toString();
            end(r, WorkflowRun.Status.SUCCEEDED, null);
        } catch (Expressions.ExpressionException e) {
            end(r, WorkflowRun.Status.FAILED, "'output' failed: " + e.getMessage());
        }
    }

    private void end(WorkflowRun r, WorkflowRun.Status status, String error) {
        r.status = status;
        r.error = error;
        r.endedAt = now;
        r.driver = null;
        String why = status == WorkflowRun.Status.CANCELLED ? "cancelled" : "the run failed";
        for (StepState st : r.steps.values()) {
            close(st, why);
            st.items().forEach(it -> close(it, why));
        }
    }

    private void close(StepState st, String why) {
        if (st.status == Status.PENDING) {
            st.status = Status.SKIPPED;
        } else if (st.status == Status.RUNNING) {
            st.status = Status.FAILED;
            st.error = st.error == null ? why : st.error + "; " + why;
            st.endedAt = now;
        }
    }

    /** What expressions see: {@code params} and, for each step, its output, json and status. */
    Map<String, Object> context(WorkflowRun r) {
        Map<String, Object> steps = new LinkedHashMap<>();
        r.steps.forEach((id, st) -> {
            Map<String, Object> view = new HashMap<>();
            view.put("status", st.status.wire());
            view.put("output", st.output);
            view.put("json", st.json == null ? null : Expressions.data(WorkflowTemplates.read(st.json)));
            view.put("error", st.error);
            steps.put(id, view);
        });
        Map<String, Object> context = new HashMap<>();
        context.put("params", r.params == null ? Map.of() : Expressions.data(WorkflowTemplates.read(r.params)));
        context.put("steps", steps);
        return context;
    }

    private static Map<String, Object> itemContext(Map<String, Object> context, StepState st, int i) {
        Map<String, Object> out = new HashMap<>(context);
        out.put("item", Expressions.data(WorkflowTemplates.read(st.itemValues.get(i))));
        out.put("item_index", i);
        return out;
    }
}
