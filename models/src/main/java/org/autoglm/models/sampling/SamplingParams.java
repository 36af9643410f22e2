package org.autoglm.models.sampling;

import java.util.List;
import java.util.Map;

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
 * @param logitBias         token id to a value added to its logit before sampling (OpenAI {@code logit_bias}: -100
 *                          bans a token, 100 all but forces it); empty for none
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
        int logprobs,
        Map<Integer, Float> logitBias) {

    public SamplingParams {
        stop = stop == null ? List.of() : List.copyOf(stop);
        logitBias = logitBias == null ? Map.of() : Map.copyOf(logitBias);
    }

    /** Without a logit bias. */
    public SamplingParams(double temperature, double topP, int topK, double minP, double repetitionPenalty,
            double presencePenalty, double frequencyPenalty, Long seed, int maxTokens, List<String> stop,
            boolean ignoreEos, int logprobs) {
        this(temperature, topP, topK, minP, repetitionPenalty, presencePenalty, frequencyPenalty, seed, maxTokens, stop,
                ignoreEos, logprobs, Map.of());
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
                frequencyPenalty, seed, n, stop, ignoreEos, logprobs, logitBias);
    }

    public SamplingParams withSeed(Long value) {
        return new SamplingParams(temperature, topP, topK, minP, repetitionPenalty, presencePenalty,
                frequencyPenalty, value, maxTokens, stop, ignoreEos, logprobs, logitBias);
    }

    public SamplingParams withLogitBias(Map<Integer, Float> bias) {
        return new SamplingParams(temperature, topP, topK, minP, repetitionPenalty, presencePenalty,
                frequencyPenalty, seed, maxTokens, stop, ignoreEos, logprobs, bias);
    }
}
