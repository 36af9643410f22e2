package org.autoglm.node.workflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import org.autoglm.gossip.workflow.StoredWorkflow;
import org.autoglm.node.api.Access;
import org.autoglm.node.api.ApiError;
import org.autoglm.node.api.ApiServer;
import org.autoglm.node.api.JsonBody;

/**
 * {@code /v1/workflows}: templates. Operators and admins write them; every authenticated role reads them. A template
 * that cannot be accepted gets a 400 whose {@code param} (and {@code pointer}) is the JSON pointer of the problem.
 */
final class WorkflowRoutes {

    private final WorkflowTemplates templates;
    private final long maxRequestBytes;

    WorkflowRoutes(WorkflowTemplates templates, long maxRequestBytes) {
        this.templates = templates;
        this.maxRequestBytes = maxRequestBytes;
    }

    void install(Javalin app) {
        app.exception(TemplateException.class, (e, ctx) -> {
            ObjectNode body = JsonBody.MAPPER.createObjectNode();
            body.putObject("error").put("message", e.getMessage()).put("type", "invalid_request_error")
                    .put("param", e.pointer()).put("code", "invalid_template").put("pointer", e.pointer());
            ctx.status(400).json(body);
        });
        app.get("/v1/workflows/schema", ctx -> ctx.json(TemplateReader.schema()), Access.READ_JOBS);
        app.post("/v1/workflows", this::create, Access.OPERATE);
        app.get("/v1/workflows", this::list, Access.READ_JOBS);
        app.get("/v1/workflows/{name}", this::get, Access.READ_JOBS);
        app.delete("/v1/workflows/{name}", this::delete, Access.OPERATE);
    }

    private void create(Context ctx) {
        byte[] body = JsonBody.readBytes(ctx, maxRequestBytes);
        if (body.length == 0) {
            throw ApiError.malformed("Request body is empty; send a workflow template (JSON or YAML).");
        }
        ObjectNode json = TemplateReader.parse(body, ctx.contentType());
        WorkflowTemplate t = templates.create(json, ApiServer.caller(ctx).subject());
        ctx.status(201).json(describe(t));
    }

    private void list(Context ctx) {
        ObjectNode out = JsonBody.MAPPER.createObjectNode();
        out.put("object", "list");
        ArrayNode data = out.putArray("data");
        for (StoredWorkflow w : templates.list()) {
            WorkflowTemplate t = WorkflowTemplates.load(w, w.latest());
            data.addObject().put("name", w.name()).put("version", w.latest())
                    .put("description", t.description()).put("steps", t.steps().size())
                    .put("created_at", w.createdAt(w.latest()) / 1000).put("created_by", w.author(w.latest()));
        }
        ctx.json(out);
    }

    private void get(Context ctx) {
        String name = ctx.pathParam("name");
        Integer version = null;
        String raw = ctx.queryParam("version");
        if (raw != null) {
            try {
                version = Integer.parseInt(raw);
            } catch (NumberFormatException e) {
                throw ApiError.invalid("version", "'version' must be a positive integer, got '" + raw + "'.");
            }
        }
        WorkflowTemplate t = templates.get(name, version);
        if (t == null) {
            throw ApiError.notFound("name", "workflow_not_found", "No workflow '" + name + "'"
                    + (version == null ? "" : " at version " + version) + " (GET /v1/workflows lists them).");
        }
        ctx.json(describe(t));
    }

    private void delete(Context ctx) {
        String name = ctx.pathParam("name");
        if (!templates.delete(name)) {
            throw ApiError.notFound("name", "workflow_not_found", "No workflow '" + name + "' (GET /v1/workflows"
                    + " lists them).");
        }
        ctx.json(JsonBody.MAPPER.createObjectNode().put("name", name).put("object", "workflow.deleted")
                .put("deleted", true));
    }

    /** The template as stored, with its name and version first. */
    static ObjectNode describe(WorkflowTemplate t) {
        ObjectNode out = JsonBody.MAPPER.createObjectNode();
        out.put("object", "workflow");
        for (java.util.Iterator<java.util.Map.Entry<String, JsonNode>> it = t.json().fields(); it.hasNext(); ) {
            var e = it.next();
            out.set(e.getKey(), e.getValue());
        }
        out.put("version", t.version());
        return out;
    }
}
