package org.autoglm.node.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import org.autoglm.node.security.Caller;
import org.autoglm.node.security.Role;
import org.autoglm.node.session.Message;
import org.autoglm.node.session.Session;
import org.autoglm.node.session.SessionStore;

/**
 * {@code POST /v1/sessions} (optional {@code system_prompt}, {@code ttl_seconds}),
 * {@code GET /v1/sessions/{id}} (history and token count), {@code DELETE /v1/sessions/{id}}. A caller sees
 * only the sessions it created (admins see all); someone else's session is reported as not found. A caller may hold
 * at most {@code maxSessionsPerUser} live sessions (0: no limit); the check counts before it creates, so two creations
 * at the same instant can overshoot it by one.
 */
final class SessionRoutes {

    static final long MAX_TTL_SECONDS = Duration.ofDays(30).toSeconds();

    private final ServingState state;
    private final SessionStore sessions;
    private final Duration defaultTtl;
    private final long maxRequestBytes;
    private final int maxSessionsPerUser;

    SessionRoutes(ServingState state, SessionStore sessions, Duration defaultTtl, long maxRequestBytes,
            int maxSessionsPerUser) {
        this.state = state;
        this.sessions = sessions;
        this.defaultTtl = defaultTtl;
        this.maxRequestBytes = maxRequestBytes;
        this.maxSessionsPerUser = maxSessionsPerUser;
    }

    void create(Context ctx) {
        byte[] bytes = JsonBody.readBytes(ctx, maxRequestBytes);
        ObjectNode body = bytes.length == 0 ? JsonBody.MAPPER.createObjectNode() : JsonBody.readObject(bytes);
        Params p = new Params(body);
        String system = p.string("system_prompt", null);
        if (system != null) {
            RequestParser.wellFormed(system, "system_prompt");
            fitsTheContext(system);
        }
        Integer ttl = p.integer("ttl_seconds", (int) defaultTtl.toSeconds(), 1, MAX_TTL_SECONDS);
        Caller caller = ApiServer.caller(ctx);
        if (maxSessionsPerUser > 0) {
            int held = sessions.countOwnedBy(caller.subject());
            if (held >= maxSessionsPerUser) {
                throw ApiError.tooManySessions("You hold " + held + " sessions; the limit is " + maxSessionsPerUser
                        + " per user (--max-sessions-per-user). Delete one with DELETE /v1/sessions/{id}, or wait"
                        + " for one to expire.");
            }
        }
        Session s = Session.create("sess-" + UUID.randomUUID().toString().replace("-", ""), caller.subject(), system,
                Duration.ofSeconds(ttl), Instant.now());
        sessions.put(s);
        ctx.status(200).contentType("application/json").result(json(describe(s, false)));
    }

    /**
     * A system prompt that, rendered alone, leaves no room for a message and an answer could never be used: refused
     * now rather than stored (and replicated) to fail every turn. Counting stops soon past the context.
     */
    private void fitsTheContext(String system) {
        ServingState.Loaded loaded = state.current();
        if (loaded == null) {
            return; // still loading: the context is not known yet; the turn itself will say if it cannot fit
        }
        ServedModel model = loaded.model();
        int most = model.contextLength() - 2; // room for at least one token of message and one of output
        int[] ids;
        try {
            ids = model.encodeChatAtMost(java.util.List.of(new Message("system", system)), Math.max(most, 0));
        } catch (RuntimeException e) {
            throw ApiError.invalid("system_prompt", "The system_prompt could not be tokenized: " + e.getMessage());
        }
        if (ids == null) {
            throw ApiError.invalid("system_prompt", "The system_prompt has more than " + most + " tokens: with it, no "
                    + "message and answer could fit the model's context of " + model.contextLength()
                    + " tokens. Shorten it.");
        }
    }

    void get(Context ctx) {
        Session s = owned(sessions, ctx.pathParam("id"), ApiServer.caller(ctx));
        ctx.status(200).contentType("application/json").result(json(describe(s, true)));
    }

    void delete(Context ctx) {
        Session s = owned(sessions, ctx.pathParam("id"), ApiServer.caller(ctx));
        sessions.remove(s.id());
        ObjectNode n = JsonBody.MAPPER.createObjectNode();
        n.put("id", s.id());
        n.put("object", "session.deleted");
        n.put("deleted", true);
        ctx.status(200).contentType("application/json").result(json(n));
    }

    /** The session if it exists and the caller may use it, else 404. */
    static Session owned(SessionStore sessions, String id, Caller caller) {
        Session s = sessions.get(id).orElse(null);
        if (s == null || !(s.owner().equals(caller.subject()) || caller.roles().contains(Role.ADMIN))) {
            throw ApiError.notFound("session_id", "session_not_found", "No session '" + id
                    + "' (it may have expired); create one with POST /v1/sessions.");
        }
        return s;
    }

    private static ObjectNode describe(Session s, boolean withHistory) {
        ObjectNode n = JsonBody.MAPPER.createObjectNode();
        n.put("id", s.id());
        n.put("object", "session");
        n.put("owner", s.owner());
        if (s.systemPrompt() != null) {
            n.put("system_prompt", s.systemPrompt());
        } else {
            n.putNull("system_prompt");
        }
        n.put("ttl_seconds", s.ttl().toSeconds());
        n.put("created_at", s.createdAt().getEpochSecond());
        n.put("expires_at", s.expiresAt().getEpochSecond());
        if (withHistory) {
            ArrayNode messages = n.putArray("messages");
            for (Message m : s.history()) {
                ObjectNode message = messages.addObject().put("role", m.role()).put("content", m.content());
                if (!m.toolCalls().isEmpty()) {
                    ArrayNode calls = message.putArray("tool_calls");
                    m.toolCalls().forEach(c -> calls.addObject().put("id", c.id()).put("type", "function")
                            .putObject("function").put("name", c.name()).put("arguments", c.arguments()));
                }
                if (m.toolCallId() != null) {
                    message.put("tool_call_id", m.toolCallId());
                }
            }
            n.put("token_count", s.tokenCount());
        }
        return n;
    }

    private static String json(ObjectNode n) {
        try {
            return JsonBody.MAPPER.writeValueAsString(n);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
