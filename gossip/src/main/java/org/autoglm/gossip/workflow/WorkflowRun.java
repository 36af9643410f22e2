package org.autoglm.gossip.workflow;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.UUID;

/**
 * One run of a workflow template as the grid keeps it: the template text it runs (a copy, so a later version or a
 * delete does not change it), its params, owner and priority, its status, each step's {@link StepState}, and the
 * node driving it now. Mutable only inside {@link WorkflowStore#update}, which works on a copy read in a transaction.
 */
public final class WorkflowRun implements Serializable {

    private static final long serialVersionUID = 1L;

    public enum Status {
        QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED;

        public String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        public boolean terminal() {
            return this == SUCCEEDED || this == FAILED || this == CANCELLED;
        }
    }

    public String id;
    public String workflow;
    public int version;
    public String template;
    public String params;
    public String owner;
    public Integer priority;
    public Status status = Status.QUEUED;
    public long createdAt;
    public long startedAt;
    public long endedAt;
    /** The run's result (JSON text) once it succeeded. */
    public String output;
    public String error;
    public boolean cancelRequested;
    /** The node driving the run now, or null. */
    public UUID driver;
    /** Step id to state, in template order. */
    public LinkedHashMap<String, StepState> steps = new LinkedHashMap<>();
    /** Bumped by every change: event streams tell a change from a repeat by it. */
    public long revision;
}
