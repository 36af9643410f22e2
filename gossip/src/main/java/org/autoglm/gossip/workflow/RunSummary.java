package org.autoglm.gossip.workflow;

import java.io.Serializable;

/**
 * A run without its template copy, params, inputs and outputs: what a list of runs shows. Made where the run is
 * stored (a scan's transformer), so listing thousands of runs moves only these.
 */
public final class RunSummary implements Serializable {

    private static final long serialVersionUID = 1L;

    public String id;
    public String workflow;
    public int version;
    public String owner;
    public Integer priority;
    public WorkflowRun.Status status;
    public String error;
    public boolean cancelRequested;
    public long createdAt;
    public long startedAt;
    public long endedAt;
    /** Step ids, in template order, with each one's status and attempts at the same index. */
    public String[] stepIds;
    public StepState.Status[] stepStatus;
    public int[] stepAttempts;

    static RunSummary of(WorkflowRun r) {
        RunSummary s = new RunSummary();
        s.id = r.id;
        s.workflow = r.workflow;
        s.version = r.version;
        s.owner = r.owner;
        s.priority = r.priority;
        s.status = r.status;
        s.error = r.error;
        s.cancelRequested = r.cancelRequested;
        s.createdAt = r.createdAt;
        s.startedAt = r.startedAt;
        s.endedAt = r.endedAt;
        int n = r.steps.size();
        s.stepIds = new String[n];
        s.stepStatus = new StepState.Status[n];
        s.stepAttempts = new int[n];
        int i = 0;
        for (var e : r.steps.entrySet()) {
            s.stepIds[i] = e.getKey();
            s.stepStatus[i] = e.getValue().status;
            s.stepAttempts[i] = e.getValue().attempts;
            i++;
        }
        return s;
    }

    /** Newest first; runs created in the same millisecond by id, so a page boundary is exact. */
    public static int newestFirst(RunSummary a, RunSummary b) {
        int byTime = Long.compare(b.createdAt, a.createdAt);
        return byTime != 0 ? byTime : b.id.compareTo(a.id);
    }
}
