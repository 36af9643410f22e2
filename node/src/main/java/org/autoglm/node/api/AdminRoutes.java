package org.autoglm.node.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import org.autoglm.node.plugins.AuditLogPlugin;
import org.autoglm.node.plugins.Plugins;

/**
 * Operator and auditor routes: {@code GET /admin/requests} (what is running here),
 * {@code POST /admin/requests/{id}/cancel}, {@code POST /admin/drain} / {@code /admin/undrain},
 * {@code GET /admin/audit?limit=N}.
 */
final class AdminRoutes {

    static final int MAX_AUDIT_LIMIT = 10_000;

    private final ServingState state;
    private final InFlight inFlight;
    private final Plugins plugins;
    private final java.util.List<String> nodeGroups;

    AdminRoutes(ServingState state, InFlight inFlight, Plugins plugins, java.util.List<String> nodeGroups) {
        this.nodeGroups = nodeGroups;
        this.state = state;
        this.inFlight = inFlight;
        this.plugins = plugins;
    }

    void requests(Context ctx) {
        ObjectNode n = JsonBody.MAPPER.createObjectNode();
        n.put("object", "list");
        n.put("draining", state.isDraining());
        n.put("drained", state.isDrained());
        org.autoglm.node.telemetry.EngineLoad engine = state.load();
        n.putObject("engine")
                .put("running", engine.running())
                .put("waiting", engine.waiting())
                .put("kv_cache_usage", engine.kvCacheUsage());
        ArrayNode data = n.putArray("data");
        for (InFlight.Entry e : inFlight.list()) {
            data.addObject()
                    .put("id", e.id())
                    .put("subject", e.subject())
                    .put("route", e.route())
                    .put("model", e.model())
                    .put("choices", e.choices())
                    .put("stream", e.stream())
                    .put("received_at", e.receivedAt().toString());
        }
        ctx.json(n);
    }

    /** An operator scoped to groups acts on this node only if it is in one of them. */
    private void requireScope(Context ctx) {
        org.autoglm.node.security.Caller caller = ApiServer.caller(ctx);
        if (!caller.mayActOn(nodeGroups)) {
            throw ApiError.forbidden("Your token acts on groups " + caller.groups() + "; this node is in "
                    + (nodeGroups.isEmpty() ? "no group" : "group(s) " + nodeGroups) + ".");
        }
    }

    void cancel(Context ctx) {
        requireScope(ctx);
        String id = ctx.pathParam("id");
        boolean cancelled = inFlight.cancel(id);
        ApiServer.audit(plugins, ctx, AuditLogPlugin.ADMIN_ACTION, ApiServer.caller(ctx), cancelled ? 200 : 404,
                "cancel " + id);
        if (!cancelled) {
            throw ApiError.notFound("id", "request_not_found", "No request '" + id + "' is running on this node.");
        }
        ctx.json(JsonBody.MAPPER.createObjectNode().put("id", id).put("cancelled", true));
    }

    void drain(Context ctx, boolean draining) {
        requireScope(ctx);
        state.draining(draining);
        ApiServer.audit(plugins, ctx, AuditLogPlugin.ADMIN_ACTION, ApiServer.caller(ctx), 200,
                draining ? "drain" : "undrain");
        ctx.json(JsonBody.MAPPER.createObjectNode().put("draining", draining).put("drained", state.isDrained())
                .put("in_flight", inFlight.size()));
    }

    void audit(Context ctx) {
        AuditLogPlugin audit = plugins.find(AuditLogPlugin.class).orElseThrow(() -> ApiError.notFound(null,
                "audit_log_disabled", "The audit log is off; start the node with --plugins audit-log "
                        + "(and --audit-log FILE)."));
        String raw = ctx.queryParam("limit");
        int limit;
        try {
            limit = raw == null ? 100 : Integer.parseInt(raw);
        } catch (NumberFormatException e) {
            throw ApiError.invalid("limit", "'limit' must be an integer between 1 and " + MAX_AUDIT_LIMIT + ".");
        }
        if (limit < 1 || limit > MAX_AUDIT_LIMIT) {
            throw ApiError.invalid("limit", "'limit' must be between 1 and " + MAX_AUDIT_LIMIT + ".");
        }
        ObjectNode n = JsonBody.MAPPER.createObjectNode();
        n.put("object", "list");
        ArrayNode data = n.putArray("data");
        audit.read(limit).forEach(data::add);
        ctx.json(n);
    }
}
