package org.autoglm.node.engine;

import java.util.List;

/**
 * A step's output for one request.
 *
 * @param tokenIds   ids generated in this step (usually one)
 * @param text       the text that became final with them; may be empty (an incomplete UTF-8 character,
 *                   or text held back because it may be the start of a stop string)
 * @param logprobs   per token id, its log-probability and the top alternatives, or empty when not asked
 */
public record TokenDelta(int[] tokenIds, String text, List<TokenLogprob> logprobs) {

    /** Log-probability of one chosen token, with the top-n alternatives (id, logprob) if requested. */
    public record TokenLogprob(int tokenId, float logprob, int[] topIds, float[] topLogprobs) {}
}
