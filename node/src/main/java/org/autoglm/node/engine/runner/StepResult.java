package org.autoglm.node.engine.runner;

import org.autoglm.models.sampling.TokenLogprobs;

/**
 * What one forward step produced, per chunk of the plan.
 *
 * @param sampledIds a token id, {@code Scheduler.NO_TOKEN} (no logits wanted) or {@code Scheduler.FAILED}
 * @param logprobs   the sampled token's log-probabilities where the request asked for them, else null
 * @param errors     for a failed chunk, why (a message for the client); else null
 * @param forced     tokens the output grammar forces right after the sampled one (jump-forward), or null
 */
public record StepResult(int[] sampledIds, TokenLogprobs[] logprobs, String[] errors, int[][] forced) {

    public StepResult(int[] sampledIds, TokenLogprobs[] logprobs, String[] errors) {
        this(sampledIds, logprobs, errors, new int[sampledIds.length][]);
    }
}
