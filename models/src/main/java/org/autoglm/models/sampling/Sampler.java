package org.autoglm.models.sampling;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks each next token of one sequence from the model's logits, per its {@link SamplingParams}:
 * penalties (repetition over prompt and output with Hugging Face semantics; presence and frequency over the
 * output with OpenAI semantics), then greedy argmax or a seeded draw with temperature, min-p, top-k and
 * top-p ({@link TruncatedSampling}).
 *
 * <p>Use: {@code int t = sampler.sample(logits); sampler.accept(t);}. {@link #sample} leaves the logits as it
 * found them (penalised entries are restored) and allocates nothing vocabulary-sized. The random stream is
 * consumed exactly once per non-greedy sample, so the same seed and logits give the same tokens.
 *
 * <p>Not thread-safe; one per sequence.
 */
public final class Sampler {

    private final SamplingParams params;
    private final SplittableRandom random;
    /** Distinct prompt tokens, sorted; only kept when the repetition penalty is on. */
    private final int[] promptTokens;
    private final TokenCounts output = new TokenCounts();
    private final boolean penalized;
    /** {@code logit_bias} as parallel arrays, so a step reads no boxed values. */
    private final int[] biasIds;
    private final float[] biasValues;

    private int[] savedIds = new int[16];
    private float[] savedLogits = new float[16];
    private int[] topIds = new int[0];
    private float[] topValues = new float[0];
    private TokenLogprobs lastLogprobs;

    /**
     * @param params    validated here: a value no distribution can follow is an {@link IllegalArgumentException}
     *                  naming the parameter
     * @param promptIds the prompt, for the repetition penalty
     */
    public Sampler(SamplingParams params, int[] promptIds) {
        validate(params);
        this.params = params;
        this.random = params.seed() == null ? new SplittableRandom() : new SplittableRandom(params.seed());
        this.penalized = params.repetitionPenalty() != 1 || params.presencePenalty() != 0
                || params.frequencyPenalty() != 0;
        this.promptTokens = params.repetitionPenalty() != 1 ? distinctSorted(promptIds) : new int[0];
        this.biasIds = params.logitBias().keySet().stream().mapToInt(Integer::intValue).sorted().toArray();
        this.biasValues = new float[biasIds.length];
        for (int i = 0; i < biasIds.length; i++) {
            biasValues[i] = params.logitBias().get(biasIds[i]);
        }
    }

    /**
     * The next token among those {@code allowed} (a grammar's bitmask, see {@link TokenMask}); the masked logits
     * stay at minus infinity afterwards.
     *
     * @throws IllegalStateException when the mask allows no token of this vocabulary
     */
    public int sample(float[] logits, long[] allowed) {
        if (TokenMask.apply(logits, allowed) == 0) {
            throw new IllegalStateException("the output grammar allows no token here");
        }
        return sample(logits);
    }

    /** The next token for these logits (length = vocabulary). */
    public int sample(float[] logits) {
        int saved = penalized ? applyPenalties(logits) : 0;
        saved = applyBias(logits, saved);
        int token;
        if (params.isGreedy()) {
            token = TokenSelection.argmax(logits);
        } else {
            token = TruncatedSampling.draw(logits, params.temperature(), params.topK(), params.topP(),
                    params.minP(), random.nextDouble());
        }
        for (int i = saved - 1; i >= 0; i--) { // backwards: a token saved twice gets its first value back
            logits[savedIds[i]] = savedLogits[i];
        }
        lastLogprobs = params.logprobs() >= 0 ? logprobs(logits, token, params.logprobs()) : null;
        return token;
    }

    /** Records the token the sequence actually got (for the penalties). */
    public void accept(int token) {
        output.increment(token);
    }

    /** Log-probabilities of the last {@link #sample}, or null when the parameters did not ask for them. */
    public TokenLogprobs lastLogprobs() {
        return lastLogprobs;
    }

    /** How many times {@code token} has been accepted. */
    public int outputCount(int token) {
        return output.count(token);
    }

    public SamplingParams params() {
        return params;
    }

    /**
     * Rewrites the logits of seen tokens in place, remembering the originals.
     * Repetition (HF): positive logits divided by the penalty, negative ones multiplied, once per distinct
     * token of prompt or output. Presence / frequency (OpenAI): minus {@code presence + count * frequency}
     * for each token of the output.
     *
     * @return how many entries were saved
     */
    private int applyPenalties(float[] logits) {
        float repetition = (float) params.repetitionPenalty();
        float presence = (float) params.presencePenalty();
        float frequency = (float) params.frequencyPenalty();
        int saved = 0;
        for (int i = 0; i < output.size(); i++) {
            int token = output.token(i);
            if (token < 0 || token >= logits.length) {
                continue;
            }
            float l = save(saved++, token, logits[token]);
            if (repetition != 1) {
                l = l > 0 ? l / repetition : l * repetition;
            }
            logits[token] = l - presence - frequency * output.count(token);
        }
        if (repetition != 1) {
            for (int token : promptTokens) {
                if (token >= 0 && token < logits.length && output.count(token) == 0) {
                    float l = save(saved++, token, logits[token]);
                    logits[token] = l > 0 ? l / repetition : l * repetition;
                }
            }
        }
        return saved;
    }

    /** Adds {@code logit_bias} (OpenAI: to the logits, after the penalties), remembering the originals. */
    private int applyBias(float[] logits, int saved) {
        for (int i = 0; i < biasIds.length; i++) {
            int token = biasIds[i];
            if (token < logits.length) {
                logits[token] = save(saved++, token, logits[token]) + biasValues[i];
            }
        }
        return saved;
    }

    private float save(int index, int token, float logit) {
        if (index == savedIds.length) {
            savedIds = Arrays.copyOf(savedIds, index * 2);
            savedLogits = Arrays.copyOf(savedLogits, index * 2);
        }
        savedIds[index] = token;
        savedLogits[index] = logit;
        return logit;
    }

    private TokenLogprobs logprobs(float[] logits, int token, int n) {
        float max = TokenSelection.max(logits);
        double logTotal = TokenSelection.logSumExp(logits, max);
        int count = 0;
        if (n > 0) {
            if (topIds.length < n) {
                topIds = new int[n];
                topValues = new float[n];
            }
            count = TokenSelection.topN(logits, n, topIds, topValues);
        }
        int[] ids = Arrays.copyOf(topIds, count);
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            values[i] = (float) (topValues[i] - logTotal);
        }
        return new TokenLogprobs(token, (float) (logits[token] - logTotal), ids, values);
    }

    private static int[] distinctSorted(int[] ids) {
        int[] sorted = ids.clone();
        Arrays.sort(sorted);
        int n = 0;
        for (int i = 0; i < sorted.length; i++) {
            if (i == 0 || sorted[i] != sorted[i - 1]) {
                sorted[n++] = sorted[i];
            }
        }
        return Arrays.copyOf(sorted, n);
    }

    private static void validate(SamplingParams p) {
        check(p.temperature() >= 0 && p.temperature() < Double.POSITIVE_INFINITY, // also false for NaN
                "temperature must be a finite number >= 0 (0 = greedy), got " + p.temperature());
        check(p.topP() > 0 && p.topP() <= 1, "top_p must be in (0, 1], got " + p.topP());
        check(p.minP() >= 0 && p.minP() <= 1, "min_p must be in [0, 1], got " + p.minP());
        check(p.repetitionPenalty() > 0 && p.repetitionPenalty() < Double.POSITIVE_INFINITY,
                "repetition_penalty must be > 0 (1 = off), got " + p.repetitionPenalty());
        check(Double.isFinite(p.presencePenalty()), "presence_penalty must be finite, got " + p.presencePenalty());
        check(Double.isFinite(p.frequencyPenalty()), "frequency_penalty must be finite, got " + p.frequencyPenalty());
        p.logitBias().forEach((token, bias) -> check(token >= 0 && bias >= -100 && bias <= 100,
                "logit_bias must map token ids >= 0 to values in [-100, 100], got " + token + ": " + bias));
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
