package org.autoglm.node.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.autoglm.node.api.RequestDirectory;
import org.autoglm.node.api.ServingState;
import org.autoglm.node.engine.EngineOptions;
import org.autoglm.node.engine.EngineStats;
import org.autoglm.node.engine.InferenceService;

/** What each op does on this node; the result is what {@code GET /cluster/commands/{id}} shows as done. */
final class NodeOperations {

    private static final int STACK_DEPTH = 12;

    private final ServingState state;
    private final RequestDirectory requests;
    private final EngineSwitch engines;

    NodeOperations(ServingState state, RequestDirectory requests, EngineSwitch engines) {
        this.state = state;
        this.requests = requests;
        this.engines = engines;
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
                requests.cancel(filter(args)).forEach(ids::add);
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
                engine.reload(next);
                options(out.putObject("engine"), next);
            }
            case Operation.RESTART_ENGINE -> out.put("serving", engines.switchTo(null));
            case Operation.LOAD_MODEL -> out.put("serving", engines.switchTo(Path.of(args.get("model_dir").asText())));
            case Operation.DIAGNOSTICS -> diagnostics(out);
            case Operation.REPRIORITIZE -> {
                ArrayNode ids = out.putArray("reprioritized");
                engine().reprioritize(waitingMatcher(args), args.get("priority").asInt())
                        .get(30, java.util.concurrent.TimeUnit.SECONDS).forEach(ids::add);
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
            Set<String> received = new HashSet<>(requests.find(new RequestDirectory.Filter(args.get("user").asText(),
                    null, null, null)));
            match = match.and(id -> received.contains(id) || received.contains(id.replaceFirst("-\\d+$", "")));
        }
        return match;
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
