package org.autoglm.node.workflow;

import io.javalin.Javalin;
import java.util.function.Supplier;
import org.autoglm.gossip.workflow.WorkflowStore;
import org.autoglm.node.api.ServedModel;

/**
 * Workflow templates and runs on this node: the routes, and (once the model is loaded) the runner that drives runs
 * through the shared queue. Made by {@code serve}; everything durable lives in the grid ({@link WorkflowStore}).
 */
public final class Workflows implements AutoCloseable {

    private final WorkflowTemplates templates;

    /**
     * @param store the grid's workflow store (through a supplier: a node that rejoins the grid gets a new one)
     * @param model the served model once loaded, else null
     */
    public Workflows(Supplier<WorkflowStore> store, Supplier<ServedModel> model) {
        this.templates = new WorkflowTemplates(store, model);
    }

    public WorkflowTemplates templates() {
        return templates;
    }

    /** Adds the {@code /v1/workflows} and {@code /v1/workflow-runs} routes. */
    public void installRoutes(Javalin app) {
        new WorkflowRoutes(templates).install(app);
    }

    @Override
    public void close() {
    }
}
