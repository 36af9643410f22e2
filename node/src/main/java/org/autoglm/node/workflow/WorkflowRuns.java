package org.autoglm.node.workflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.ValidationMessage;
import java.util.Comparator;
import java.util.Set;
import java.util.UUID;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.autoglm.gossip.workflow.RunSummary;
import org.autoglm.gossip.workflow.StepState;
import org.autoglm.gossip.workflow.WorkflowRun;
import org.autoglm.gossip.workflow.WorkflowStore;
import org.autoglm.node.api.ApiError;
import org.autoglm.node.api.JsonBody;

/**
 * Starting, reading and cancelling workflow runs. A run is a record in the grid from its first moment: this node
 * drives it at once when it can, and any node takes it over when its driver dies.
 */
public final class WorkflowRuns {

    private final Supplier<WorkflowStore> store;
    private final WorkflowTemplates templates;
    private final Supplier<WorkflowRunner> runner;
    private final Supplier<UUID> localId;
    private final Predicate<UUID> alive;

    WorkflowRuns(Supplier<WorkflowStore> store, WorkflowTemplates templates, Supplier<WorkflowRunner> runner,
                 Supplier<UUID> localId, Predicate<UUID> alive) {
        this.store = store;
        this.templates = templates;
        this.runner = runner;
        this.localId = localId;
        this.alive = alive;
    }

    /**
     * Starts a run of {@code name} (at {@code version}, or the newest when null).
     *
     * @param params   the run's inputs, held to the template's params schema (null: none)
     * @param priority the priority of its llm steps that set none (null: the default)
     * @param owner    who may read and cancel it
     * @throws ApiError 404 when there is no such template
     * @throws TemplateException when the params do not match the schema (pointer under {@code /params})
     */
    public WorkflowRun start(String name, Integer version, JsonNode params, Integer priority, String owner) {
        WorkflowTemplate t = templates.get(name, version);
        if (t == null) {
            throw ApiError.notFound("name", "workflow_not_found", "No workflow '" + name + "'"
                    + (version == null ? "" : " at version " + version) + " (GET /v1/workflows lists them).");
        }
        JsonNode p = params == null || params.isNull() ? JsonBody.MAPPER.createObjectNode() : params;
        if (!p.isObject()) {
            throw new TemplateException("/params", "'params' must be a JSON object of the workflow's inputs.");
        }
        if (t.params() != null) {
            Set<ValidationMessage> errors = TemplateReader.compileUserSchema(t.params(), "/params").validate(p);
            ValidationMessage first = errors.stream()
                    .min(Comparator.comparing(m -> m.getInstanceLocation().toString())).orElse(null);
            if (first != null) {
                String at = "/params" + first.getInstanceLocation().toString();
                throw new TemplateException(at, "The params do not match workflow '" + name + "': "
                        + first.getMessage() + ".");
            }
        }
        WorkflowRunner here = runner.get();
        boolean driveHere = here != null && here.hasRoom();
        WorkflowRun run = new WorkflowRun();
        run.id = newId(driveHere);
        run.workflow = t.name();
        run.version = t.version();
        run.template = t.json().toString();
        run.params = p.toString();
        run.owner = owner;
        run.priority = priority;
        run.createdAt = System.currentTimeMillis();
        t.steps().forEach(s -> run.steps.put(s.id(), new StepState()));
        if (driveHere) {
            run.driver = localId.get();
            here.create(run); // planned as it is written: its first requests go out at once
        } else {
            store.get().create(run);
        }
        return run;
    }

    /**
     * A new run id; for a run this node will drive, one whose primary copy is on this node (a few random tries), so
     * the driver's transaction on each step locks and reads locally.
     */
    private String newId(boolean driveHere) {
        String id = null;
        for (int i = 0; i < 16; i++) {
            id = "wfrun_" + UUID.randomUUID().toString().replace("-", "");
            if (!driveHere || store.get().primaryHere(id)) {
                break;
            }
        }
        return id;
    }

    /** The run, or null. */
    public WorkflowRun get(String id) {
        return store.get().run(id);
    }

    /** Calls {@code changed} (it must only signal) each time the run changes, until the handle is closed. */
    AutoCloseable watch(String id, Runnable changed) {
        return store.get().watch(id, changed);
    }

    /** Summaries of the runs that match, newest first (null filters match any); see {@link WorkflowStore#summaries}. */
    public java.util.List<RunSummary> list(String owner, String workflow, WorkflowRun.Status status) {
        return store.get().summaries(owner, workflow, status);
    }

    /**
     * Asks a run to stop: its driver cancels what is in flight and ends it {@code cancelled}; a run nobody drives
     * ends at once.
     *
     * @return the run after the request, or null when there is no such run
     */
    public WorkflowRun cancel(String id) {
        long now = System.currentTimeMillis();
        WorkflowRun after = store.get().update(id, r -> {
            if (r.status.terminal() || r.cancelRequested) {
                return null;
            }
            r.cancelRequested = true;
            if (r.driver == null || !alive.test(r.driver)) {
                WorkflowTemplate t = WorkflowTemplate.of((com.fasterxml.jackson.databind.node.ObjectNode)
                        WorkflowTemplates.read(r.template), r.version);
                new RunPlanner(t, Set.of(), k -> null, now).plan(r);
            }
            return r;
        });
        WorkflowRunner here = runner.get();
        if (here != null) {
            here.nudge(id);
        }
        return after;
    }
}
