package org.autoglm.node.workflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A workflow template, checked: its steps in order with what each needs to run. The JSON it was read from is kept
 * ({@link #json}): that is what the grid stores and what {@code GET /v1/workflows/{name}} shows.
 */
record WorkflowTemplate(String name, int version, String description, ObjectNode params, List<Step> steps,
                        String output, ObjectNode json) {

    enum Kind {
        LLM, HTTP, TRANSFORM;

        String wire() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Exponential backoff: attempt n+1 waits {@code min(maxMs, initialMs * 2^(n-1))} after attempt n failed. */
    record Retry(int maxAttempts, long initialMs, long maxMs) {
        static final Retry NONE = new Retry(1, 0, 0);

        long delayAfter(int failedAttempt) {
            long delay = initialMs << Math.min(20, Math.max(0, failedAttempt - 1));
            return Math.min(maxMs, delay);
        }
    }

    /**
     * One step. {@code json} is the step as written (the kind's fields: prompt or messages and chat fields, url,
     * method, body and headers, or expression).
     */
    record Step(int index, String id, Kind kind, ObjectNode json, List<String> dependsOn, String when, String forEach,
                Retry retry, Integer timeoutS, Integer priority, List<String> requiredTags, boolean continueOnError) {

        String pointer() {
            return "/steps/" + index;
        }
    }

    Step step(String id) {
        return steps.stream().filter(s -> s.id().equals(id)).findFirst().orElse(null);
    }

    /** Builds the model of a template whose shape the template schema has accepted. */
    static WorkflowTemplate of(ObjectNode json, int version) {
        List<Step> steps = new ArrayList<>();
        JsonNode list = json.path("steps");
        for (int i = 0; i < list.size(); i++) {
            ObjectNode s = (ObjectNode) list.get(i);
            JsonNode retry = s.get("retry");
            Retry r = retry == null ? Retry.NONE : new Retry(retry.path("max_attempts").asInt(1),
                    retry.path("initial_ms").asLong(500), retry.path("max_ms").asLong(30_000));
            steps.add(new Step(i, s.get("id").asText(), Kind.valueOf(s.get("kind").asText().toUpperCase(Locale.ROOT)),
                    s, strings(s.get("depends_on")), text(s, "when"), text(s, "for_each"), r,
                    s.has("timeout_s") ? s.get("timeout_s").asInt() : null,
                    s.has("priority") ? s.get("priority").asInt() : null, strings(s.get("required_tags")),
                    s.path("continue_on_error").asBoolean(false)));
        }
        return new WorkflowTemplate(json.get("name").asText(), version, text(json, "description"),
                json.has("params") ? (ObjectNode) json.get("params") : null, List.copyOf(steps), text(json, "output"),
                json);
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    private static List<String> strings(JsonNode n) {
        List<String> out = new ArrayList<>();
        if (n != null) {
            n.forEach(v -> out.add(v.asText()));
        }
        return List.copyOf(out);
    }
}
