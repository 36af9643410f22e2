package org.autoglm.node.workflow;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.function.Supplier;
import org.autoglm.gossip.workflow.StoredWorkflow;
import org.autoglm.gossip.workflow.WorkflowStore;
import org.autoglm.node.api.ApiError;
import org.autoglm.node.api.JsonBody;
import org.autoglm.node.api.ServedModel;

/**
 * Workflow templates: read (JSON or YAML), checked against the template schema and {@link TemplateValidator}, and
 * stored in the grid as the next version of their name.
 */
public final class WorkflowTemplates {

    /**
     * Names no template may have: {@code GET /v1/workflows/schema} serves the template schema, so a template of that
     * name could not be read.
     */
    public static final java.util.Set<String> RESERVED_NAMES = java.util.Set.of("schema");

    private final Supplier<WorkflowStore> store;
    private final Supplier<ServedModel> model;

    /** @param model the served model once loaded, else null (llm steps' chat fields are then checked at run time) */
    public WorkflowTemplates(Supplier<WorkflowStore> store, Supplier<ServedModel> model) {
        this.store = store;
        this.model = model;
    }

    /** Reads and checks a template without storing it; the version is the one it would get. */
    public WorkflowTemplate check(ObjectNode json) {
        TemplateReader.checkShape(json);
        WorkflowTemplate t = WorkflowTemplate.of(json, json.path("version").asInt(1));
        TemplateValidator.validate(t, model.get());
        return t;
    }

    /**
     * Checks {@code json} and stores it as the next version of its name.
     *
     * @throws TemplateException with the pointer of what is wrong
     * @throws ApiError 409 when it names a version other than the next one
     */
    public WorkflowTemplate create(ObjectNode json, String author) {
        check(json);
        int asked = json.path("version").asInt(0);
        ObjectNode stored = json.deepCopy();
        stored.remove("version"); // the stored copy gets its number from the grid
        StoredWorkflow after;
        try {
            after = store.get().addVersion(json.get("name").asText(), stored.toString(), author, asked);
        } catch (WorkflowStore.VersionConflict e) {
            throw new ApiError(409, "invalid_request_error", "version", "version_conflict", "Workflow '"
                    + json.get("name").asText() + "' is at version " + e.latest() + "; a new version must be "
                    + (e.latest() + 1) + " (or leave out 'version').", null);
        }
        return load(after, after.latest());
    }

    /** Version {@code version} (null: the newest) of {@code name}, or null when there is none. */
    public WorkflowTemplate get(String name, Integer version) {
        StoredWorkflow w = store.get().template(name);
        if (w == null) {
            return null;
        }
        int v = version == null ? w.latest() : version;
        return w.json(v) == null ? null : load(w, v);
    }

    /** The stored templates (their newest versions). */
    public List<StoredWorkflow> list() {
        return store.get().templates();
    }

    public boolean delete(String name) {
        return store.get().deleteTemplate(name);
    }

    static WorkflowTemplate load(StoredWorkflow w, int version) {
        ObjectNode json = (ObjectNode) read(w.json(version));
        ObjectNode withVersion = JsonBody.MAPPER.createObjectNode();
        withVersion.set("name", json.get("name"));
        withVersion.put("version", version);
        json.fields().forEachRemaining(e -> {
            if (!e.getKey().equals("name")) {
                withVersion.set(e.getKey(), e.getValue());
            }
        });
        return WorkflowTemplate.of(withVersion, version);
    }

    static com.fasterxml.jackson.databind.JsonNode read(String json) {
        try {
            return JsonBody.MAPPER.readTree(json);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("stored JSON does not parse: " + e.getMessage(), e);
        }
    }
}
