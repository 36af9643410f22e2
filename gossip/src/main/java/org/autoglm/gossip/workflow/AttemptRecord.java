package org.autoglm.gossip.workflow;

import java.io.Serializable;

/**
 * The outcome of one attempt of a step (or of one item of it), as its driver received it: the driver records it
 * into the run (the step's {@link StepState}) in the transaction that plans the next steps, and only while the
 * step still runs that attempt, so no result is recorded twice. Serializable like the run's other parts.
 */
public final class AttemptRecord implements Serializable {

    private static final long serialVersionUID = 1L;

    public boolean ok;
    /** Worth another attempt (a network error, a 5xx, a full cluster); false: retrying cannot help. */
    public boolean retryable;
    /**
     * The cluster could not run it (the node running it died, no node could take it, the cluster was full): not
     * the step's fault, so it is tried again without counting against the step's {@code retry.max_attempts}.
     */
    public boolean clusterFault;
    public String input;
    public String output;
    public String json;
    public String error;
    public int promptTokens;
    public int completionTokens;
    public long startedAt;
    public long endedAt;
}
