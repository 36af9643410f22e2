package org.autoglm.node.plugins;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code audit-log}: one JSON line per request appended to a file — time, subject, roles, route, request
 * id, model, token counts, status, latency, and the prompt text only with {@code prompts=true} — and one per
 * refused token (401/403) and per operator action (cancel, drain, undrain); the {@code event} field says which
 * ({@code inference}, {@code auth_failure}, {@code admin_action}). Read back by auditors at
 * {@code GET /admin/audit}.
 *
 * <p>Options: {@code file} (required), {@code prompts} ({@code false} by default).
 */
public final class AuditLogPlugin implements NodePlugin {

    public static final String NAME = "audit-log";
    private static final Logger log = LoggerFactory.getLogger(AuditLogPlugin.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private Path file;
    private boolean prompts;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void configure(PluginConfig config) throws IOException {
        file = Path.of(config.require("file")).toAbsolutePath();
        prompts = Boolean.parseBoolean(config.get("prompts", "false"));
        if (file.getParent() != null) {
            Files.createDirectories(file.getParent());
        }
        // Fail at start-up, not on the first request, if the file cannot be written.
        Files.write(file, new byte[0], StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    @Override
    public RequestHooks onRequest(PluginRequest request) {
        return new RequestHooks() {
            @Override
            public void onCompletion(RequestOutcome outcome) {
                append(line(request, outcome));
            }
        };
    }

    /** A token refused (401) or short of the route's roles (403). */
    public static final String AUTH_FAILURE = "auth_failure";
    /** An operator's action on the node: cancel a request, drain, undrain. */
    public static final String ADMIN_ACTION = "admin_action";

    /**
     * Records something other than an inference request.
     *
     * @param event   {@link #AUTH_FAILURE} or {@link #ADMIN_ACTION}
     * @param subject the caller, or null when no token could be read
     * @param detail  what was refused or done (e.g. the request id cancelled), or null
     */
    public void recordEvent(String event, String subject, Collection<String> roles, String method, String route,
            int status, String detail) {
        ObjectNode n = JSON.createObjectNode();
        n.put("time", Instant.now().toString());
        n.put("event", event);
        n.put("subject", subject);
        n.putPOJO("roles", roles.stream().sorted().toList());
        n.put("method", method);
        n.put("route", route);
        n.put("status", status);
        if (detail != null) {
            n.put("detail", detail);
        }
        append(n);
    }

    /** The last {@code limit} entries, oldest first. */
    public List<JsonNode> read(int limit) {
        ArrayDeque<String> tail = new ArrayDeque<>(Math.min(limit, 1024));
        try (Stream<String> lines = Files.lines(file, StandardCharsets.UTF_8)) {
            lines.forEach(l -> {
                if (tail.size() == limit) {
                    tail.removeFirst();
                }
                tail.addLast(l);
            });
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the audit log " + file, e);
        }
        List<JsonNode> out = new ArrayList<>(tail.size());
        for (String l : tail) {
            try {
                out.add(JSON.readTree(l));
            } catch (IOException e) {
                // A line cut short by a crash: skip it rather than hide every other entry.
            }
        }
        return out;
    }

    private ObjectNode line(PluginRequest r, RequestOutcome o) {
        ObjectNode n = JSON.createObjectNode();
        n.put("time", Instant.now().toString());
        n.put("event", "inference");
        n.put("subject", r.subject());
        n.putPOJO("roles", r.roles().stream().sorted().toList());
        n.put("route", r.route());
        n.put("request_id", r.id());
        n.put("model", r.model());
        n.put("stream", r.stream());
        n.put("status", o.status());
        n.putPOJO("finish_reasons", o.finishReasons());
        n.put("prompt_tokens", o.promptTokens());
        n.put("completion_tokens", o.completionTokens());
        n.put("latency_ms", o.latency().toMillis());
        if (o.error() != null) {
            n.put("error", o.error());
        }
        if (prompts) {
            n.putPOJO("prompt", r.inputs());
        }
        return n;
    }

    private synchronized void append(ObjectNode entry) {
        try {
            byte[] bytes = (JSON.writeValueAsString(entry) + "\n").getBytes(StandardCharsets.UTF_8);
            Files.write(file, bytes, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            log.warn("Cannot append to the audit log {}: {}", file, e.getMessage());
        }
    }
}
