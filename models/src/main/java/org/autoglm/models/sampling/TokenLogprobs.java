package org.autoglm.models.sampling;

/**
 * Log-probability of a chosen token under the model's distribution (raw logits: before penalties,
 * temperature and truncation, as vLLM and OpenAI report them), with the top-n alternatives.
 *
 * @param tokenId     the chosen token
 * @param logprob     its log-probability
 * @param topIds      the n most likely tokens, most likely first (empty when n = 0)
 * @param topLogprobs their log-probabilities
 */
public record TokenLogprobs(int tokenId, float logprob, int[] topIds, float[] topLogprobs) {}
