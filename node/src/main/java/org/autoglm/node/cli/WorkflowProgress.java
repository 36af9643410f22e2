package org.autoglm.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Follows a workflow run for {@code workflow run --wait} and {@code workflow status}: polls
 * {@code GET /v1/workflow-runs/{id}} and writes one line to stderr whenever a step changes (status, attempt, items
 * done), then the run's output to stdout. Polling rather than the events stream: the run object is the whole truth,
 * so a lost connection or a reconnect to another node loses nothing.
 */
final class WorkflowProgress {

    static final Set<String> ENDED = Set.of("succeeded", "failed", "cancelled");
    private static final long POLL_MILLIS = 250;

    private final BatchCommand.Server server;
    private final PrintWriter err;
    private final PrintWriter out;
    private final Map<String, String> shown = new HashMap<>();

    WorkflowProgress(BatchCommand.Server server, PrintWriter err, PrintWriter out) {
        this.server = server;
        this.err = err;
        this.out = out;
    }

    JsonNode run(String id) throws IOException, InterruptedException {
        return server.json(server.request("/v1/workflow-runs/" + WorkflowCommand.path(id)).GET());
    }

    /** Until the run ends: 0 when it succeeded, 1 otherwise (the reason on stderr). */
    int follow(String id) throws IOException, InterruptedException {
        long start = System.nanoTime();
        String lastStatus = null;
        while (true) {
            JsonNode run = run(id);
            String status = run.path("status").asText("?");
            double seconds = (System.nanoTime() - start) / 1e9;
            if (!status.equals(lastStatus)) {
                err.printf("[%6.1fs] run %s%n", seconds, status);
                lastStatus = status;
            }
            for (JsonNode step : steps(run)) {
                String line = describe(step);
                String stepId = step.path("id").asText("?");
                if (!line.equals(shown.put(stepId, line))) {
                    err.printf("[%6.1fs]   %-20s %s%n", seconds, stepId, line);
                }
            }
            err.flush();
            if (ENDED.contains(status)) {
                return finish(run, status);
            }
            Thread.sleep(POLL_MILLIS);
        }
    }

    /** One line per step on stderr (for {@code status} without {@code --wait}). */
    void summary(JsonNode run) {
        err.println("run " + run.path("id").asText() + ": " + run.path("status").asText());
        for (JsonNode step : steps(run)) {
            err.printf("  %-20s %s%n", step.path("id").asText("?"), describe(step));
        }
        err.flush();
    }

    private int finish(JsonNode run, String status) throws IOException {
        if (!status.equals("succeeded")) {
            String reason = run.path("error").isObject() ? run.path("error").path("message").asText()
                    : run.path("error").asText("");
            for (JsonNode step : steps(run)) {
                if (step.path("status").asText().equals("failed") && reason.isEmpty()) {
                    reason = "step " + step.path("id").asText() + ": " + error(step);
                }
            }
            err.println("run " + run.path("id").asText() + " " + status + (reason.isEmpty() ? "" : ": " + reason));
            err.flush();
            return 1;
        }
        JsonNode output = run.path("output");
        out.println(output.isTextual() ? output.asText() : WorkflowCommand.JSON.writerWithDefaultPrettyPrinter()
                .writeValueAsString(output));
        out.flush();
        return 0;
    }

    /** A run's steps, whether the server lists them or keys them by id. */
    static List<JsonNode> steps(JsonNode run) {
        JsonNode steps = run.path("steps");
        List<JsonNode> out = new ArrayList<>();
        if (steps.isArray()) {
            steps.forEach(out::add);
        } else if (steps.isObject()) {
            steps.fields().forEachRemaining(e -> {
                JsonNode s = e.getValue();
                out.add(s.has("id") ? s : ((com.fasterxml.jackson.databind.node.ObjectNode) s.deepCopy())
                        .put("id", e.getKey()));
            });
        }
        return out;
    }

    /** "running, attempt 2, 3/4 items" or "succeeded in 812 ms, 31 tokens". */
    static String describe(JsonNode step) {
        StringBuilder b = new StringBuilder(step.path("status").asText("?"));
        JsonNode attempts = step.path("attempts");
        int tries = attempts.isArray() ? attempts.size() : attempts.asInt(0);
        if (tries > 1) {
            b.append(", attempt ").append(tries);
        }
        JsonNode items = step.path("items");
        if (items.isArray() && !items.isEmpty()) {
            int done = 0;
            for (JsonNode item : items) {
                if (ENDED.contains(item.path("status").asText()) || item.path("status").asText().equals("skipped")) {
                    done++;
                }
            }
            b.append(", ").append(done).append('/').append(items.size()).append(" items");
        }
        long millis = step.path("duration_ms").asLong(step.path("timings").path("total_ms").asLong(-1));
        if (millis >= 0 && ENDED.contains(step.path("status").asText())) {
            b.append(" in ").append(millis).append(" ms");
        }
        JsonNode tokens = step.path("tokens");
        int total = tokens.isObject() ? tokens.path("total_tokens").asInt(tokens.path("completion").asInt(0))
                : tokens.asInt(0);
        if (total > 0) {
            b.append(", ").append(total).append(" tokens");
        }
        if (step.path("status").asText().equals("failed")) {
            b.append(": ").append(error(step));
        }
        return b.toString();
    }

    private static String error(JsonNode step) {
        JsonNode e = step.path("error");
        return e.isObject() ? e.path("message").asText() : e.asText("(no reason given)");
    }
}
