package org.autoglm.models.sampling;

import java.util.List;

/**
 * How to pick each next token and when to stop, per request (the OpenAI / vLLM parameters).
 *
 * @param temperature       0 means greedy
 * @param topP              nucleus mass in (0, 1]; 1 disables
 * @param topK              keep the k most likely; 0 or less disables
 * @param minP              drop tokens below minP * p(top token); 0 disables
 * @param repetitionPenalty divide positive / multiply negative logits of seen tokens (prompt and output); 1 disables
 * @param presencePenalty   subtract from logits of tokens present in the output; 0 disables
 * @param frequencyPenalty  subtract count * penalty for tokens in the output; 0 disables
 * @param seed              seed for reproducible sampling, or null for a random one
 * @param maxTokens         most tokens to generate
 * @param stop              stop strings; the matched text is not part of the output
 * @param ignoreEos         keep generating past end-of-sequence tokens
 * @param logprobs          number of top log-probabilities to return per token, or -1 for none
 */
public record SamplingParams(
        double temperature,
        double topP,
        int topK,
        double minP,
        double repetitionPenalty,
        double presencePenalty,
        double frequencyPenalty,
        Long seed,
        int maxTokens,
        List<String> stop,
        boolean ignoreEos,
        int logprobs) {

    public SamplingParams {
        stop = stop == null ? List.of() : List.copyOf(stop);
    }

    /** Greedy decoding of up to {@code maxTokens} tokens, stopping at end-of-sequence. */
    public static SamplingParams greedy(int maxTokens) {
        return new SamplingParams(0, 1, 0, 0, 1, 0, 0, null, maxTokens, List.of(), false, -1);
    }

    public boolean isGreedy() {
        return temperature <= 0;
    }

    public SamplingParams withMaxTokens(int n) {
        return new SamplingParams(temperature, topP, topK, minP, repetitionPenalty, presencePenalty,
                frequencyPenalty, seed, n, stop, ignoreEos, logprobs);
    }
}
