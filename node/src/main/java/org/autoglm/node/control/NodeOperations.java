package org.autoglm.node.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.limits.RateLimits;
import org.autoglm.gossip.queue.QueuedRequest;
import org.autoglm.gossip.queue.RequestState;
import org.autoglm.node.api.RequestDirectory;
import org.autoglm.node.api.ServingState;
import org.autoglm.node.engine.EngineOptions;
import org.autoglm.node.engine.EngineStats;
import org.autoglm.node.engine.InferenceService;

/** What each op does on this node; the result is what {@code GET /cluster/commands/{id}} shows as done. */
final class NodeOperations {

    private static final int STACK_DEPTH = 12;
    /** reload-config's engine fields; the rest are the cluster-wide rate limits. */
    private static final List<String> ENGINE_LIMITS = List.of("max_num_seqs", "max_num_batched_tokens", "max_waiting",
            "scheduling_policy");

    private final ServingState state;
    private final RequestDirectory requests;
    private final EngineSwitch engines;
    private final RateLimits rateLimits;
    private final Cluster cluster;

    NodeOperations(ServingState state, RequestDirectory requests, EngineSwitch engines, RateLimits rateLimits,
                   Cluster cluster) {
        this.state = state;
        this.requests = requests;
        this.engines = engines;
        this.rateLimits = rateLimits;
        this.cluster = cluster;
    }

    JsonNode run(String op, ObjectNode args) throws Exception {
        ObjectNode out = CommandRequest.JSON.createObjectNode();
        switch (op) {
            case Operation.DRAIN, Operation.UNDRAIN -> {
                state.draining(op.equals(Operation.DRAIN));
                out.put("draining", state.isDraining()).put("drained", state.isDrained());
            }
            case Operation.CANCEL -> {
                ArrayNode ids = out.putArray("cancelled");
                requests.cancel(filter(args)).forEach(ids::add); // received here, wherever they run
                for (QueuedRequest r : placedHere()) { // placed here by the leader, their client on another node
                    if (matches(r, args) && cluster.dispatcher().stopElsewhere(r.id(), "cancelled by a cancel command"
                            + " on node " + cluster.grid().name())) {
                        ids.add(r.id());
                    }
                }
            }
            case Operation.SET_LOG_LEVEL -> {
                String logger = args.path("logger").asText("");
                out.put("logger", logger.isEmpty() ? "(all)" : logger).put("level", args.get("level").asText())
                        .put("loggers_changed", LogLevels.set(logger, args.get("level").asText()));
            }
            case Operation.RELOAD_CONFIG -> {
                InferenceService engine = engine();
                EngineOptions next = engine.options().with(b -> {
                    if (args.has("max_num_seqs")) b.maxNumSeqs = args.get("max_num_seqs").asInt();
                    if (args.has("max_num_batched_tokens")) b.maxNumBatchedTokens = args.get("max_num_batched_tokens").asInt();
                    if (args.has("max_waiting")) b.maxWaiting = args.get("max_waiting").asInt();
                    if (args.has("scheduling_policy")) b.schedulingPolicy = args.get("scheduling_policy").asText();
                });
                if (ENGINE_LIMITS.stream().anyMatch(args::has)) {
                    engine.reload(next);
                }
                options(out.putObject("engine"), next);
                if (args.has("rate_limit_requests") || args.has("rate_limit_tokens")) {
                    rateLimits.setLimits(args.path("rate_limit_requests").asLong(rateLimits.requestsPerMinute()),
                            args.path("rate_limit_tokens").asLong(rateLimits.tokensPerMinute()));
                }
                out.putObject("rate_limits").put("requests_per_minute", rateLimits.requestsPerMinute())
                        .put("tokens_per_minute", rateLimits.tokensPerMinute());
            }
            case Operation.RESTART_ENGINE -> out.put("serving", engines.switchTo(null));
            case Operation.LOAD_MODEL -> out.put("serving", engines.switchTo(Path.of(args.get("model_dir").asText())));
            case Operation.DIAGNOSTICS -> diagnostics(out);
            case Operation.REPRIORITIZE -> {
                int priority = args.get("priority").asInt();
                ObjectNode filters = args.deepCopy();
                filters.remove("priority"); // the new priority, not a filter
                ArrayNode ids = out.putArray("reprioritized");
                engine().reprioritize(waitingMatcher(args), priority)
                        .get(30, java.util.concurrent.TimeUnit.SECONDS).forEach(ids::add);
                // Received here and not placed yet: the leader orders the cluster queue by the new priority.
                java.util.UUID self = cluster.grid().localId();
                for (QueuedRequest r : cluster.queue().inState(RequestState.PENDING)) {
                    if (self.equals(r.origin()) && !r.batch() && matches(r, filters)
                            && cluster.queue().reprioritize(r.id(), priority)) {
                        ids.add(r.id());
                    }
                }
            }
            default -> throw new IllegalArgumentException("unknown op '" + op + "'");
        }
        return out;
    }

    private InferenceService engine() {
        ServingState.Loaded loaded = state.current();
        if (loaded == null) {
            throw new IllegalStateException("no engine is loaded on this node yet");
        }
        return loaded.engine();
    }

    /**
     * Which of this engine's waiting requests {@code reprioritize} matches: {@code ids} (an id, or its choices
     * id-N), {@code model} (the one served here, or none), {@code user} (by the requests this node received).
     */
    private java.util.function.Predicate<String> waitingMatcher(ObjectNode args) {
        java.util.function.Predicate<String> match = id -> true;
        if (args.has("ids")) {
            Set<String> ids = new HashSet<>();
            args.get("ids").forEach(i -> ids.add(i.asText()));
            match = match.and(id -> ids.contains(id) || ids.contains(id.replaceFirst("-\\d+$", "")));
        }
        if (args.has("model")) {
            ServingState.Loaded loaded = state.current();
            boolean served = loaded != null && loaded.model().name().equals(args.get("model").asText());
            match = match.and(id -> served);
        }
        if (args.has("user")) {
            String user = args.get("user").asText();
            Set<String> theirs = new HashSet<>(requests.find(new RequestDirectory.Filter(user, null, null, null)));
            for (QueuedRequest r : placedHere()) { // placed here from other nodes: the queue knows their user
                if (user.equals(r.user())) theirs.add(r.id());
            }
            match = match.and(id -> theirs.contains(id) || theirs.contains(id.replaceFirst("-\\d+$", "")));
        }
        return match;
    }

    /** Interactive requests placed on this node (assigned or running) whose client another node holds. */
    private List<QueuedRequest> placedHere() {
        java.util.UUID self = cluster.grid().localId();
        return cluster.queue().unfinished().stream()
                .filter(r -> self.equals(r.assignee()) && !self.equals(r.origin()) && !r.batch()
                        && (r.state() == RequestState.ASSIGNED || r.state() == RequestState.RUNNING))
                .toList();
    }

    /**
     * Whether a queued request matches a cancel or reprioritize filter ({@code user}, {@code model}, {@code priority},
     * {@code ids}; an id matches its choices, id-N). Batch lines are left to their batch's cancel.
     */
    private static boolean matches(QueuedRequest r, ObjectNode args) {
        if (args.has("user") && !args.get("user").asText().equals(r.user())) return false;
        if (args.has("model") && !args.get("model").asText().equals(r.model())) return false;
        if (args.has("priority") && args.get("priority").asInt() != r.priority()) return false;
        if (args.has("ids")) {
            Set<String> ids = new HashSet<>();
            args.get("ids").forEach(i -> ids.add(i.asText()));
            return ids.contains(r.id()) || ids.contains(r.id().replaceFirst("-\\d+$", ""));
        }
        return true;
    }

    private static RequestDirectory.Filter filter(ObjectNode args) {
        Set<String> ids = null;
        if (args.has("ids")) {
            ids = new HashSet<>();
            for (JsonNode id : args.get("ids")) ids.add(id.asText());
        }
        return new RequestDirectory.Filter(args.has("user") ? args.get("user").asText() : null,
                args.has("model") ? args.get("model").asText() : null,
                args.has("priority") ? args.get("priority").asInt() : null, ids);
    }

    private void diagnostics(ObjectNode out) {
        ServingState.Loaded loaded = state.current();
        ObjectNode engine = out.putObject("engine");
        engine.put("loaded", loaded != null).put("draining", state.isDraining()).put("drained", state.isDrained());
        if (loaded != null) {
            EngineStats s = loaded.engine().stats();
            engine.put("model", loaded.model().name()).put("running", s.running()).put("waiting", s.waiting())
                    .put("kv_usage", s.kvUsage()).put("tokens_per_second", s.tokensPerSecond())
                    .put("p50_step_ms", s.p50StepMillis()).put("generated_tokens", s.generatedTokens())
                    .put("preemptions", s.preemptions());
            options(engine.putObject("options"), loaded.engine().options());
        }
        Runtime rt = Runtime.getRuntime();
        out.putObject("jvm").put("heap_used_bytes", rt.totalMemory() - rt.freeMemory())
                .put("heap_max_bytes", rt.maxMemory()).put("processors", rt.availableProcessors())
                .put("uptime_ms", ManagementFactory.getRuntimeMXBean().getUptime());
        ArrayNode threads = out.putArray("threads");
        for (ThreadInfo t : ManagementFactory.getThreadMXBean().dumpAllThreads(false, false, STACK_DEPTH)) {
            ObjectNode n = threads.addObject().put("name", t.getThreadName()).put("state", t.getThreadState().name());
            ArrayNode stack = n.putArray("stack");
            for (StackTraceElement e : t.getStackTrace()) stack.add(e.toString());
        }
    }

    private static void options(ObjectNode n, EngineOptions o) {
        n.put("max_num_seqs", o.maxNumSeqs()).put("max_num_batched_tokens", o.maxNumBatchedTokens())
                .put("max_waiting", o.maxWaiting()).put("scheduling_policy", o.schedulingPolicy());
    }
}
