package org.autoglm.gossip.workflow;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Where one step of a run is (or one item of a {@code for_each} step): its status, the attempt under way or last
 * made, when the next one may start, and what it produced. Mutable only inside {@link WorkflowStore#update}, which
 * works on a copy read in a transaction.
 */
public final class StepState implements Serializable {

    private static final long serialVersionUID = 1L;

    public enum Status {
        PENDING, RUNNING, SUCCEEDED, FAILED, SKIPPED;

        public String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        public boolean terminal() {
            return this != PENDING && this != RUNNING;
        }
    }

    public Status status = Status.PENDING;
    /** Attempts started so far; the one under way (while running) is number {@code attempts}. */
    public int attempts;
    /** Attempts the cluster could not run (see {@link AttemptRecord#clusterFault}): not counted as the step's. */
    public int clusterRetries;
    /** Epoch millis before which the next attempt must not start (retry backoff); 0: at once. */
    public long notBefore;
    public long startedAt;
    public long endedAt;
    public String error;
    /** What the last attempt sent (rendered messages, or the HTTP request), JSON text. */
    public String input;
    /** The text the step produced. */
    public String output;
    /** The parsed structured output (JSON text), or null. */
    public String json;
    /**
     * Successful answers recorded for it: 1 once it succeeded. More would be a result recorded twice; the step view
     * shows it ({@code results_recorded}) so that a bench can check it from the grid.
     */
    public int results;
    public int promptTokens;
    public int completionTokens;
    /** The {@code for_each} items' values (JSON text each), or null for a step without {@code for_each}. */
    public ArrayList<String> itemValues;
    public ArrayList<StepState> items;

    public List<StepState> items() {
        return items == null ? List.of() : items;
    }
}
