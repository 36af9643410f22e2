package org.autoglm.node.engine.runner;

/**
 * What one forward step produced, per chunk of the plan.
 *
 * @param sampledIds a token id, {@code Scheduler.NO_TOKEN} (no logits wanted) or {@code Scheduler.FAILED}
 * @param errors     for a failed chunk, why (a message for the client); else null
 */
public record StepResult(int[] sampledIds, String[] errors) {}
