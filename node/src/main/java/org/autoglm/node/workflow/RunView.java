package org.autoglm.node.workflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import org.autoglm.gossip.workflow.RunSummary;
import org.autoglm.gossip.workflow.StepState;
import org.autoglm.gossip.workflow.WorkflowRun;
import org.autoglm.node.api.JsonBody;

/** A run as {@code GET /v1/workflow-runs/{id}} shows it (times in epoch milliseconds). */
final class RunView {

    private RunView() {}

    /** The fields the run object and its list entry share, in the order both show them. */
    private static ObjectNode head(String id, String workflow, int version, String status, String owner, Integer priority) {
        ObjectNode n = JsonBody.MAPPER.createObjectNode();
        n.put("id", id);
        n.put("object", "workflow.run");
        n.put("workflow", workflow);
        n.put("version", version);
        n.put("status", status);
        n.put("owner", owner);
        if (priority == null) {
            n.putNull("priority");
        } else {
            n.put("priority", priority);
        }
        return n;
    }

    static ObjectNode of(WorkflowRun r) {
        ObjectNode n = head(r.id, r.workflow, r.version, r.status.wire(), r.owner, r.priority);
        n.set("params", json(r.params));
        n.set("output", json(r.output));
        n.put("error", r.error);
        n.put("created_at", r.createdAt);
        time(n, "started_at", r.startedAt);
        time(n, "ended_at", r.endedAt);
        n.put("cancel_requested", r.cancelRequested);
        n.put("revision", r.revision);
        ArrayNode steps = n.putArray("steps");
        for (Map.Entry<String, StepState> e : r.steps.entrySet()) {
            ObjectNode s = step(steps.addObject().put("id", e.getKey()), e.getValue());
            StepState st = e.getValue();
            if (st.items != null) {
                ArrayNode items = s.putArray("items");
                for (int i = 0; i < st.items.size(); i++) {
                    ObjectNode item = items.addObject().put("index", i);
                    item.set("item", json(st.itemValues.get(i)));
                    step(item, st.items.get(i));
                }
            }
        }
        return n;
    }

    /**
     * A run as {@code GET /v1/workflow-runs} lists it: the run object without params, output and the steps'
     * inputs and outputs ({@code GET /v1/workflow-runs/{id}} has them); each step keeps its status and attempts.
     */
    static ObjectNode summary(RunSummary r) {
        ObjectNode n = head(r.id, r.workflow, r.version, r.status.wire(), r.owner, r.priority);
        n.put("error", r.error);
        n.put("created_at", r.createdAt);
        time(n, "started_at", r.startedAt);
        time(n, "ended_at", r.endedAt);
        n.put("cancel_requested", r.cancelRequested);
        ArrayNode steps = n.putArray("steps");
        for (int i = 0; i < r.stepIds.length; i++) {
            steps.addObject().put("id", r.stepIds[i]).put("status", r.stepStatus[i].wire())
                    .put("attempts", r.stepAttempts[i]);
        }
        return n;
    }

    private static ObjectNode step(ObjectNode s, StepState st) {
        s.put("status", st.status.wire());
        s.put("attempts", st.attempts);
        s.put("cluster_retries", st.clusterRetries);
        s.put("results_recorded", st.results);
        s.set("input", json(st.input));
        if (st.output == null) {
            s.putNull("output");
        } else {
            s.put("output", st.output);
        }
        s.set("json", json(st.json));
        s.put("error", st.error);
        s.putObject("tokens").put("prompt", st.promptTokens).put("completion", st.completionTokens);
        time(s, "started_at", st.startedAt);
        time(s, "ended_at", st.endedAt);
        if (st.startedAt > 0 && st.endedAt > 0) {
            s.put("duration_ms", st.endedAt - st.startedAt);
        } else {
            s.putNull("duration_ms");
        }
        return s;
    }

    private static JsonNode json(String text) {
        return text == null ? JsonBody.MAPPER.nullNode() : WorkflowTemplates.read(text);
    }

    private static void time(ObjectNode n, String name, long millis) {
        if (millis == 0) {
            n.putNull(name);
        } else {
            n.put(name, millis);
        }
    }
}
