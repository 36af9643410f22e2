package org.autoglm.models.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SamplerTest {

    private static final int DRAWS = 20_000;

    @Test
    void greedyTakesTheArgmaxAndTiesGoToTheLowestId() {
        Sampler sampler = new Sampler(SamplingParams.greedy(10), new int[0]);
        assertThat(sampler.sample(new float[] {0.1f, 3f, -2f, 3f})).isEqualTo(1);
        assertThat(sampler.sample(new float[] {Float.NEGATIVE_INFINITY, Float.NaN, -5f})).isEqualTo(2);
    }

    @Test
    void temperatureFollowsTheSoftmax() {
        float[] logits = {0f, 1f, 2f, 0.5f};
        for (double temperature : new double[] {1.0, 0.5, 2.0}) {
            double[] frequencies = frequencies(params(temperature, 1, 0, 0).withSeed(11), logits);
            assertThat(frequencies).as("T=" + temperature)
                    .containsExactly(softmax(logits, temperature), within(0.015));
        }
    }

    @Test
    void topKKeepsOnlyTheKMostLikelyRenormalised() {
        float[] logits = {1f, 3f, 2f, 0f, 2.5f};
        double[] frequencies = frequencies(params(1, 1, 2, 0).withSeed(3), logits);
        double[] expected = softmaxOver(logits, 1.0, 1, 4);
        assertThat(frequencies).containsExactly(expected, within(0.015));
    }

    @Test
    void topPKeepsTheSmallestPrefixReachingP() {
        // probabilities 0.5, 0.3, 0.15, 0.05
        float[] logits = logitsOf(0.5, 0.3, 0.15, 0.05);
        // 0.5 < 0.7 <= 0.8: the first two stay, renormalised to 0.625 / 0.375
        assertThat(frequencies(params(1, 0.7, 0, 0).withSeed(5), logits))
                .containsExactly(new double[] {0.625, 0.375, 0, 0}, within(0.015));
        // 0.45 <= 0.5: only the first
        assertThat(frequencies(params(1, 0.45, 0, 0).withSeed(5), logits))
                .containsExactly(new double[] {1, 0, 0, 0}, within(1e-12));
    }

    @Test
    void topKIsAppliedBeforeTopP() {
        float[] logits = logitsOf(0.4, 0.3, 0.2, 0.1);
        // top-k 2 leaves 0.571 / 0.429; top-p 0.5 then keeps only the first. (top-p first would keep two.)
        assertThat(frequencies(params(1, 0.5, 2, 0).withSeed(9), logits))
                .containsExactly(new double[] {1, 0, 0, 0}, within(1e-12));
    }

    @Test
    void minPDropsTokensBelowAFractionOfTheTopProbability() {
        float[] logits = logitsOf(0.5, 0.3, 0.12, 0.08);
        // threshold 0.2 * 0.5 = 0.1: token 3 (0.08) goes, the rest renormalise over 0.92
        assertThat(frequencies(params(1, 1, 0, 0.2).withSeed(13), logits))
                .containsExactly(new double[] {0.5 / 0.92, 0.3 / 0.92, 0.12 / 0.92, 0}, within(0.015));
    }

    @Test
    void theSameSeedGivesTheSameTokensAndAnotherSeedOthers() {
        float[] logits = new float[1000];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) Math.sin(i * 0.37) * 3;
        }
        Params params = params(0.9, 0.95, 0, 0);
        assertThat(run(params.withSeed(42), logits, 200)).isEqualTo(run(params.withSeed(42), logits, 200));
        assertThat(run(params.withSeed(42), logits, 200)).isNotEqualTo(run(params.withSeed(43), logits, 200));
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfPromptAndOutput() {
        SamplingParams params = new SamplingParams(0, 1, 0, 0, 2.0, 0, 0, null, 10, List.of(), false, 0);
        Sampler sampler = new Sampler(params, new int[] {0, 0, 2});
        // token 0: 2 -> 1 (prompt); token 2: -0.5 -> -1 (prompt); token 1 wins with 1.5
        float[] logits = {2f, 1.5f, -0.5f, -0.8f};
        assertThat(sampler.sample(logits)).isEqualTo(1);
        assertThat(logits).containsExactly(2f, 1.5f, -0.5f, -0.8f); // restored for the caller
        sampler.accept(1);
        // now 1.5 -> 0.75 (output), so token 0 (penalised to 1) wins; penalised only once despite two occurrences
        assertThat(sampler.sample(logits)).isEqualTo(0);
        // -0.8 * 2 = -1.6 is not applied to token 3, which was never seen
        assertThat(new Sampler(params, new int[] {0, 1}).sample(new float[] {1f, 1f, -1f, 0.4f})).isEqualTo(0);
    }

    @Test
    void presenceAndFrequencyPenaltiesCountOnlyTheOutput() {
        float[] logits = {1.0f, 0.9f, 0f};
        SamplingParams frequency = new SamplingParams(0, 1, 0, 0, 1, 0, 0.06, null, 10, List.of(), false, -1);
        Sampler sampler = new Sampler(frequency, new int[] {0, 0, 0, 0});
        assertThat(sampler.sample(logits)).as("prompt tokens are not penalised").isEqualTo(0);
        sampler.accept(0);
        assertThat(sampler.sample(logits)).as("1.0 - 0.06 > 0.9").isEqualTo(0);
        sampler.accept(0);
        assertThat(sampler.sample(logits)).as("1.0 - 0.12 < 0.9").isEqualTo(1);
        assertThat(sampler.outputCount(0)).isEqualTo(2);

        SamplingParams presence = new SamplingParams(0, 1, 0, 0, 1, 0.05, 0, null, 10, List.of(), false, -1);
        Sampler flat = new Sampler(presence, new int[0]);
        for (int i = 0; i < 5; i++) {
            flat.accept(0);
        }
        assertThat(flat.sample(logits)).as("presence is paid once: 1.0 - 0.05 > 0.9").isEqualTo(0);
        SamplingParams stronger = new SamplingParams(0, 1, 0, 0, 1, 0.2, 0, null, 10, List.of(), false, -1);
        Sampler penalised = new Sampler(stronger, new int[0]);
        penalised.accept(0);
        assertThat(penalised.sample(logits)).isEqualTo(1);
    }

    @Test
    void penaltiesShiftSampledFrequencies() {
        float[] logits = {0f, 0f};
        SamplingParams params = new SamplingParams(1, 1, 0, 0, 1, Math.log(3), 0, 21L, 10, List.of(), false, -1);
        Sampler sampler = new Sampler(params, new int[0]);
        sampler.accept(0);
        int zeros = 0;
        for (int i = 0; i < DRAWS; i++) {
            zeros += sampler.sample(logits) == 0 ? 1 : 0;
        }
        // logit 0 - ln 3 vs 0: p(0) = 1/4
        assertThat(zeros / (double) DRAWS).isCloseTo(0.25, within(0.015));
    }

    @Test
    void logprobsAreThoseOfTheRawDistribution() {
        // shifted by +3 so the penalty divides (positive logits); log-probabilities do not change with a shift
        float[] logits = {3 + (float) Math.log(0.1), 3 + (float) Math.log(0.6), 3 + (float) Math.log(0.3)};
        SamplingParams params = new SamplingParams(0, 1, 0, 0, 1.5, 0, 0, null, 10, List.of(), false, 2);
        Sampler sampler = new Sampler(params, new int[] {1});
        int token = sampler.sample(logits); // the penalty moves the argmax to token 2 ...
        assertThat(token).isEqualTo(2);
        TokenLogprobs logprobs = sampler.lastLogprobs(); // ... but logprobs describe the model's distribution
        assertThat(logprobs.tokenId()).isEqualTo(2);
        assertThat(logprobs.logprob()).isCloseTo((float) Math.log(0.3), within(1e-6f));
        assertThat(logprobs.topIds()).containsExactly(1, 2);
        assertThat(logprobs.topLogprobs()[0]).isCloseTo((float) Math.log(0.6), within(1e-6f));
        assertThat(logprobs.topLogprobs()[1]).isCloseTo((float) Math.log(0.3), within(1e-6f));

        assertThat(new Sampler(SamplingParams.greedy(1), new int[0]).lastLogprobs()).isNull();
        Sampler chosenOnly = new Sampler(params(0, 1, 0, 0).withLogprobs(0), new int[0]);
        chosenOnly.sample(logits);
        assertThat(chosenOnly.lastLogprobs().topIds()).isEmpty();
        assertThat(chosenOnly.lastLogprobs().logprob()).isCloseTo((float) Math.log(0.6), within(1e-6f));
    }

    @Test
    void impossibleParametersAreRejectedByName() {
        assertThatThrownBy(() -> new Sampler(params(1, 0, 0, 0).p(), new int[0])).hasMessageContaining("top_p");
        assertThatThrownBy(() -> new Sampler(params(1, 1.5, 0, 0).p(), new int[0])).hasMessageContaining("top_p");
        assertThatThrownBy(() -> new Sampler(params(1, 1, 0, -0.1).p(), new int[0])).hasMessageContaining("min_p");
        assertThatThrownBy(() -> new Sampler(params(Double.NaN, 1, 0, 0).p(), new int[0])).hasMessageContaining("temperature");
        assertThatThrownBy(() -> new Sampler(params(-0.5, 1, 0, 0).p(), new int[0]))
                .hasMessage("temperature must be a finite number >= 0 (0 = greedy), got -0.5");
        assertThatThrownBy(() -> new Sampler(params(Double.POSITIVE_INFINITY, 1, 0, 0).p(), new int[0]))
                .hasMessageContaining("temperature");
        SamplingParams zeroPenalty = new SamplingParams(1, 1, 0, 0, 0, 0, 0, null, 10, List.of(), false, -1);
        assertThatThrownBy(() -> new Sampler(zeroPenalty, new int[0])).hasMessageContaining("repetition_penalty");
    }

    /** OpenAI logit_bias: added to the logits after the penalties; -100 bans, +100 forces; logits come back intact. */
    @Test
    void logitBiasShiftsTheLogitsAndLeavesThemAsFound() {
        float[] logits = {0.1f, 3f, -2f, 2.9f};
        float[] before = logits.clone();
        assertThat(new Sampler(SamplingParams.greedy(5).withLogitBias(Map.of(1, -100f)), new int[0]).sample(logits))
                .isEqualTo(3);
        assertThat(new Sampler(SamplingParams.greedy(5).withLogitBias(Map.of(2, 100f)), new int[0]).sample(logits))
                .isEqualTo(2);
        assertThat(logits).containsExactly(before);
        // With a penalty on the same token: both apply, and the original logit is what comes back.
        SamplingParams penalised = new SamplingParams(0, 1, 0, 0, 1, 5, 0, null, 5, List.of(), false, -1,
                Map.of(1, 1f));
        Sampler sampler = new Sampler(penalised, new int[0]);
        sampler.accept(1);
        assertThat(sampler.sample(logits)).isEqualTo(3); // 3 - 5 + 1 < 2.9
        assertThat(logits).containsExactly(before);
        // Drawn, not greedy: a banned token never comes up.
        double[] frequencies = frequencies(params(1, 1, 0, 0).withSeed(7).withLogitBias(Map.of(1, -100f)), logits);
        assertThat(frequencies[1]).isZero();
        assertThatThrownBy(() -> new Sampler(SamplingParams.greedy(1).withLogitBias(Map.of(0, 101f)), new int[0]))
                .hasMessageContaining("logit_bias");
    }

    // --- helpers -------------------------------------------------------------------------------------------

    /** Sampling params with the given knobs; no penalties, no seed. */
    static Params params(double temperature, double topP, int topK, double minP) {
        return new Params(new SamplingParams(temperature, topP, topK, minP, 1, 0, 0, null, 100, List.of(), false, -1));
    }

    /** Small builder so tests read as "params(...).withSeed(n)". */
    record Params(SamplingParams p) {
        SamplingParams withSeed(long seed) {
            return new SamplingParams(p.temperature(), p.topP(), p.topK(), p.minP(), p.repetitionPenalty(),
                    p.presencePenalty(), p.frequencyPenalty(), seed, p.maxTokens(), p.stop(), p.ignoreEos(), p.logprobs());
        }

        SamplingParams withLogprobs(int n) {
            return new SamplingParams(p.temperature(), p.topP(), p.topK(), p.minP(), p.repetitionPenalty(),
                    p.presencePenalty(), p.frequencyPenalty(), p.seed(), p.maxTokens(), p.stop(), p.ignoreEos(), n);
        }
    }

    static double[] frequencies(SamplingParams params, float[] logits) {
        Sampler sampler = new Sampler(params, new int[0]);
        double[] counts = new double[logits.length];
        for (int i = 0; i < DRAWS; i++) {
            counts[sampler.sample(logits)]++;
        }
        for (int i = 0; i < counts.length; i++) {
            counts[i] /= DRAWS;
        }
        return counts;
    }

    private static List<Integer> run(SamplingParams params, float[] logits, int n) {
        Sampler sampler = new Sampler(params, new int[0]);
        Integer[] out = new Integer[n];
        for (int i = 0; i < n; i++) {
            out[i] = sampler.sample(logits);
            sampler.accept(out[i]);
        }
        return List.of(out);
    }

    static float[] logitsOf(double... probabilities) {
        float[] logits = new float[probabilities.length];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) Math.log(probabilities[i]);
        }
        return logits;
    }

    static double[] softmax(float[] logits, double temperature) {
        int[] all = new int[logits.length];
        for (int i = 0; i < all.length; i++) {
            all[i] = i;
        }
        return softmaxOver(logits, temperature, all);
    }

    /** softmax(logits / T) restricted to the given ids (others 0). */
    static double[] softmaxOver(float[] logits, double temperature, int... ids) {
        double[] p = new double[logits.length];
        double total = 0;
        for (int id : ids) {
            p[id] = Math.exp(logits[id] / temperature);
            total += p[id];
        }
        for (int id : ids) {
            p[id] /= total;
        }
        return p;
    }
}
