package org.autoglm.gossip.workflow;

import java.io.Serializable;

/**
 * The outcome of one attempt of a step (or of one item of it), written once under (run, step, item, attempt): a
 * driver that takes a run over reads it instead of running the attempt again, so no effect is recorded twice.
 * A plain class, not a record: Ignite's binary marshaller cannot build records.
 */
public final class AttemptRecord implements Serializable {

    private static final long serialVersionUID = 1L;

    public boolean ok;
    /** Worth another attempt (a network error, a 5xx, a full cluster); false: retrying cannot help. */
    public boolean retryable;
    public String input;
    public String output;
    public String json;
    public String error;
    public int promptTokens;
    public int completionTokens;
    public long startedAt;
    public long endedAt;
}
