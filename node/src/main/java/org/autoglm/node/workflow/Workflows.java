package org.autoglm.node.workflow;

import io.javalin.Javalin;
import java.util.Set;
import java.util.function.Supplier;
import org.autoglm.gossip.Cluster;
import org.autoglm.node.api.ServedModel;
import org.autoglm.node.engine.InferenceService;

/**
 * Workflow templates and runs on this node: the routes, and (once the model is loaded) the runner that drives runs
 * through the shared queue. Made by {@code serve}; everything durable lives in the grid
 * ({@link org.autoglm.gossip.workflow.WorkflowStore}).
 */
public final class Workflows implements AutoCloseable {

    private final Cluster cluster;
    private final Set<String> httpAllow;
    private final long maxRequestBytes;
    private final java.time.Duration retention;
    private final WorkflowTemplates templates;
    private final WorkflowRuns runs;
    private volatile WorkflowRunner runner;
    private volatile boolean closed;
    private volatile java.util.function.BiConsumer<String, com.fasterxml.jackson.databind.node.ObjectNode> events =
            (type, data) -> { };

    /**
     * @param model           the served model once loaded, else null
     * @param httpAllow       hosts http steps may reach ({@code --workflow-http-allow}), lower case
     * @param maxRequestBytes the largest run request body
     * @param retention       how long ended runs are kept ({@code --workflow-run-retention})
     */
    public Workflows(Cluster cluster, Supplier<ServedModel> model, Set<String> httpAllow, long maxRequestBytes,
                     java.time.Duration retention) {
        this.cluster = cluster;
        this.retention = retention;
        this.httpAllow = Set.copyOf(httpAllow);
        this.maxRequestBytes = maxRequestBytes;
        this.templates = new WorkflowTemplates(cluster::workflows, model);
        this.runs = new WorkflowRuns(cluster::workflows, templates, () -> runner, () -> cluster.grid().localId(),
                id -> cluster.grid().isAlive(id));
    }

    public WorkflowTemplates templates() {
        return templates;
    }

    /** Starting, reading and cancelling runs (the bulk route calls {@link WorkflowRuns#start}). */
    public WorkflowRuns runs() {
        return runs;
    }

    /**
     * Adds the {@code /v1/workflows} and {@code /v1/workflow-runs} routes, and {@code GET /cluster/workflow-stats}
     * (this node's drivers counted and timed, {@link WorkflowStats}; {@code ?since=EPOCH_MS} limits the timers'
     * samples to those taken since then).
     */
    public void installRoutes(Javalin app) {
        new WorkflowRoutes(templates, maxRequestBytes).install(app);
        new RunRoutes(runs, maxRequestBytes).install(app);
        app.get("/cluster/workflow-stats", ctx -> {
            long since;
            try {
                since = Long.parseLong(ctx.queryParamAsClass("since", String.class).getOrDefault("0"));
            } catch (NumberFormatException e) {
                throw org.autoglm.node.api.ApiError.invalid("since", "'since' must be epoch milliseconds.");
            }
            WorkflowRunner r = runner;
            ctx.json(r == null ? new WorkflowStats().json(since) : r.stats().json(since));
        }, org.autoglm.node.api.Access.METRICS);
    }

    /** Where this node reports the progress of the runs it drives ({@code workflow_progress} on /cluster/events). */
    public void reportEvents(java.util.function.BiConsumer<String, com.fasterxml.jackson.databind.node.ObjectNode> sink) {
        this.events = sink;
    }

    /** The model is loaded: this node starts driving runs, its llm steps going to {@code engine}. */
    public synchronized void engineReady(ServedModel model, InferenceService engine) {
        if (runner == null && !closed) {
            runner = new WorkflowRunner(cluster, model, engine, httpAllow, (type, data) -> events.accept(type, data),
                    retention);
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (runner != null) {
            runner.close();
        }
    }

    private static final java.util.regex.Pattern RETENTION = java.util.regex.Pattern.compile("(\\d+)(s|m|h|d)");

    /** Parses {@code --workflow-run-retention}: a whole number of seconds, minutes, hours or days (e.g. 7d, 12h). */
    public static java.time.Duration parseRetention(String text) {
        java.util.regex.Matcher m = RETENTION.matcher(text == null ? "" : text.trim());
        if (!m.matches() || Long.parseLong(m.group(1)) == 0 || m.group(1).length() > 9) {
            throw new IllegalArgumentException("--workflow-run-retention takes how long ended runs are kept, a whole"
                    + " number above 0 with a unit s, m, h or d (e.g. 7d, 12h, 30m), got '" + text + "'");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "s" -> java.time.Duration.ofSeconds(n);
            case "m" -> java.time.Duration.ofMinutes(n);
            case "h" -> java.time.Duration.ofHours(n);
            default -> java.time.Duration.ofDays(n);
        };
    }

    /** Parses {@code --workflow-http-allow}: host names or IP addresses; a bad entry throws naming the flag. */
    public static Set<String> parseHttpAllow(java.util.List<String> hosts) {
        java.util.Set<String> out = new java.util.HashSet<>();
        for (String raw : hosts) {
            String h = raw.trim().toLowerCase(java.util.Locale.ROOT);
            if (h.startsWith("[") && h.endsWith("]")) {
                h = h.substring(1, h.length() - 1);
            }
            if (h.isEmpty() || !h.matches("[a-z0-9._:-]+") || h.chars().filter(c -> c == ':').count() == 1) {
                throw new IllegalArgumentException("--workflow-http-allow takes host names or IP addresses separated"
                        + " by commas (no scheme, port or path), got '" + raw + "'");
            }
            out.add(h);
        }
        return out;
    }
}
