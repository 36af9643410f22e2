package org.autoglm.node.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.autoglm.node.api.ApiError;

/** The ops a command may carry, and the arguments each takes (checked when the command is posted, 400 naming the field). */
public final class Operation {

    public static final String DRAIN = "drain";
    public static final String UNDRAIN = "undrain";
    public static final String CANCEL = "cancel";
    public static final String REPRIORITIZE = "reprioritize";
    public static final String SET_LOG_LEVEL = "set-log-level";
    public static final String RELOAD_CONFIG = "reload-config";
    public static final String LOAD_MODEL = "load-model";
    public static final String RESTART_ENGINE = "restart-engine";
    public static final String DIAGNOSTICS = "diagnostics";
    public static final String ROLLING = "rolling";

    /** Each op's allowed argument names. */
    private static final Map<String, Set<String>> ARGS = Map.of(
            DRAIN, Set.of(),
            UNDRAIN, Set.of(),
            CANCEL, Set.of("user", "model", "priority", "ids"),
            REPRIORITIZE, Set.of("user", "model", "ids", "priority"),
            SET_LOG_LEVEL, Set.of("level", "logger"),
            RELOAD_CONFIG, Set.of("max_num_seqs", "max_num_batched_tokens", "max_waiting", "scheduling_policy",
                    "rate_limit_requests", "rate_limit_tokens"),
            LOAD_MODEL, Set.of("model_dir"),
            RESTART_ENGINE, Set.of(),
            DIAGNOSTICS, Set.of(),
            ROLLING, Set.of("op", "args"));

    public static final Set<String> NAMES = new java.util.TreeSet<>(ARGS.keySet());
    static final List<String> LEVELS = List.of("trace", "debug", "info", "warn", "error", "off");

    private Operation() {}

    /** Refuses unknown or ill-typed arguments of {@code op}. */
    public static void validate(String op, ObjectNode args) {
        Set<String> allowed = ARGS.get(op);
        for (Iterator<String> it = args.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!allowed.contains(f)) {
                throw ApiError.invalid("args." + f, "'" + op + "' takes no argument '" + f + "'"
                        + (allowed.isEmpty() ? "" : "; it takes " + new java.util.TreeSet<>(allowed)) + ".");
            }
        }
        switch (op) {
            case CANCEL -> {
                if (args.isEmpty()) {
                    throw ApiError.invalid("args", "'cancel' needs at least one of user, model, priority or ids"
                            + " (to cancel everything, say so with a filter that matches it).");
                }
                checkFilter(args);
            }
            case REPRIORITIZE -> {
                checkFilter(args);
                if (!args.path("priority").isInt()) {
                    throw ApiError.invalid("args.priority", "'reprioritize' needs 'priority', the new priority (an integer).");
                }
            }
            case SET_LOG_LEVEL -> {
                if (!LEVELS.contains(args.path("level").asText(""))) {
                    throw ApiError.invalid("args.level", "'set-log-level' needs 'level', one of " + LEVELS + ".");
                }
                if (args.has("logger") && !args.get("logger").isTextual()) {
                    throw ApiError.invalid("args.logger", "'logger' must be a logger name, e.g. org.autoglm.");
                }
            }
            case RELOAD_CONFIG -> {
                if (args.isEmpty()) {
                    throw ApiError.invalid("args", "'reload-config' needs at least one of " + new java.util.TreeSet<>(allowed) + ".");
                }
                for (String f : List.of("max_num_seqs", "max_num_batched_tokens", "max_waiting")) {
                    if (args.has(f) && !(args.get(f).isInt() && args.get(f).asInt() >= (f.equals("max_waiting") ? 0 : 1))) {
                        throw ApiError.invalid("args." + f, "'" + f + "' must be a positive integer.");
                    }
                }
                for (String f : List.of("rate_limit_requests", "rate_limit_tokens")) {
                    if (args.has(f) && !(args.get(f).canConvertToLong() && args.get(f).isIntegralNumber()
                            && args.get(f).asLong() >= 0)) {
                        throw ApiError.invalid("args." + f, "'" + f + "' must be a whole number per minute, 0 for no limit.");
                    }
                }
                if (args.has("scheduling_policy") && !args.get("scheduling_policy").isTextual()) {
                    throw ApiError.invalid("args.scheduling_policy", "'scheduling_policy' must be fcfs, priority, sjf or mlfq.");
                }
            }
            case LOAD_MODEL -> {
                if (!args.path("model_dir").isTextual() || args.get("model_dir").asText().isBlank()) {
                    throw ApiError.invalid("args.model_dir", "'load-model' needs 'model_dir', a checkpoint directory on"
                            + " the target nodes.");
                }
            }
            case ROLLING -> {
                String inner = args.path("op").asText("");
                if (!NAMES.contains(inner) || inner.equals(ROLLING)) {
                    throw ApiError.invalid("args.op", "'rolling' needs 'op', the op to apply node by node (any op but"
                            + " rolling).");
                }
                JsonNode innerArgs = args.get("args");
                if (innerArgs != null && !innerArgs.isObject()) {
                    throw ApiError.invalid("args.args", "'args' of a rolling op must be an object.");
                }
                validate(inner, innerArgs == null ? CommandRequest.JSON.createObjectNode() : (ObjectNode) innerArgs);
            }
            default -> { }
        }
    }

    private static void checkFilter(ObjectNode args) {
        for (String f : List.of("user", "model")) {
            if (args.has(f) && !args.get(f).isTextual()) {
                throw ApiError.invalid("args." + f, "'" + f + "' must be a string.");
            }
        }
        if (args.has("ids") && !(args.get("ids").isArray())) {
            throw ApiError.invalid("args.ids", "'ids' must be a list of request ids.");
        }
    }
}
