package org.autoglm.node.workflow;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.autoglm.gossip.workflow.AttemptRecord;
import org.autoglm.node.workflow.WorkflowTemplate.Step;

/**
 * One attempt of a step (or of one item of a {@code for_each} step) as the driver decided it: its key in the grid
 * ({@code run/step[item]/attempt}, also the HTTP {@code Idempotency-Key}), and what to send, already rendered. A
 * transform (or an attempt whose expressions failed) has its outcome already: {@code settled}.
 */
record Attempt(String key, String runId, Step step, int item, int number, String owner, ObjectNode request,
               AttemptRecord settled) {

    /** The idempotency key of the form {@code {run}/{step}/{attempt}} ({@code {step}[i]} inside a for_each). */
    String idempotencyKey() {
        return key;
    }

    static AttemptRecord failure(String error, boolean retryable, String input) {
        AttemptRecord r = new AttemptRecord();
        r.ok = false;
        r.retryable = retryable;
        r.error = error;
        r.input = input;
        r.startedAt = System.currentTimeMillis();
        r.endedAt = r.startedAt;
        return r;
    }

    static AttemptRecord success(String output, String json, String input, long startedAt) {
        AttemptRecord r = new AttemptRecord();
        r.ok = true;
        r.output = output;
        r.json = json;
        r.input = input;
        r.startedAt = startedAt;
        r.endedAt = System.currentTimeMillis();
        return r;
    }
}
