package org.autoglm.models.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The large-vocabulary paths (histogram top-p, heap top-k) against a plain sort-everything reference:
 * membership on GLM-4's full 151,552-token vocabulary, frequencies on a 16,384-token one (to stay fast).
 */
class TruncatedSamplingTest {

    private static final int GLM4_VOCAB = 151_552;
    private static final int VOCAB = 16_384;

    @Test
    void topPOverTheFullGlm4VocabularyNeverLeavesTheNucleus() {
        float[] logits = modelLikeLogits(1, GLM4_VOCAB);
        for (double topP : new double[] {0.5, 0.9, 0.99}) {
            double[] reference = referenceDistribution(logits, 0.8, 0, topP, 0);
            // Quantiles instead of random numbers: u sweeps the whole CDF, so both ends of the nucleus are hit.
            for (double u = 0.005; u < 1; u += 0.01) {
                int token = TruncatedSampling.draw(logits, 0.8, 0, topP, 0, u);
                assertThat(reference[token]).as("top-p %s drew %s outside the nucleus", topP, token).isPositive();
            }
        }
    }

    @Test
    void topPFrequenciesMatchTheReference() {
        float[] logits = modelLikeLogits(1, VOCAB);
        for (double topP : new double[] {0.5, 0.9}) {
            assertFrequencies(logits, 0.8, 0, topP, 0, referenceDistribution(logits, 0.8, 0, topP, 0));
        }
    }

    @Test
    void topKOverAFullVocabularyMatchesTheReference() {
        float[] logits = modelLikeLogits(2, VOCAB);
        double[] reference = referenceDistribution(logits, 1.0, 40, 1, 0);
        assertThat(Arrays.stream(reference).filter(p -> p > 0).count()).isEqualTo(40);
        assertFrequencies(logits, 1.0, 40, 1, 0, reference);
        double[] withTopP = referenceDistribution(logits, 0.7, 40, 0.8, 0);
        assertFrequencies(logits, 0.7, 40, 0.8, 0, withTopP);
    }

    @Test
    void minPAndPlainTemperatureOverAFullVocabularyMatchTheReference() {
        float[] logits = modelLikeLogits(3, VOCAB);
        assertFrequencies(logits, 1.0, 0, 1, 0.05, referenceDistribution(logits, 1.0, 0, 1, 0.05));
        assertFrequencies(logits, 1.3, 0, 1, 0, referenceDistribution(logits, 1.3, 0, 1, 0));
    }

    @Test
    void theTableExponentialIsAccurateToAboutOneFloatUlp() {
        double worst = 0;
        for (float x = -TruncatedSampling.NEGLIGIBLE_LOGIT_GAP; x <= 0; x += 1e-4f) {
            double exact = Math.exp(x);
            worst = Math.max(worst, Math.abs(TruncatedSampling.exp(x) - exact) / exact);
        }
        assertThat(worst).isLessThan(2e-7);
        assertThat(TruncatedSampling.exp(0f)).isEqualTo(1f);
    }

    @Test
    void degenerateLogitsFallBackToArgmax() {
        float[] allMasked = new float[10];
        Arrays.fill(allMasked, Float.NEGATIVE_INFINITY);
        assertThat(TruncatedSampling.draw(allMasked, 1, 0, 0.9, 0, 0.5)).isEqualTo(0);
        float[] oneLeft = allMasked.clone();
        oneLeft[7] = -3f;
        assertThat(TruncatedSampling.draw(oneLeft, 1, 0, 0.9, 0, 0.99)).isEqualTo(7);
        assertThat(TruncatedSampling.draw(oneLeft, 1, 3, 1, 0.5, 0.99)).isEqualTo(7);
    }

    /** A spiky distribution like a language model's: a few strong candidates over a broad noisy tail. */
    private static float[] modelLikeLogits(long seed, int vocab) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] logits = new float[vocab];
        for (int i = 0; i < vocab; i++) {
            logits[i] = (float) (random.nextGaussian() * 2);
        }
        for (int i = 0; i < 30; i++) {
            logits[random.nextInt(vocab)] = 7 + (float) random.nextDouble() * 4;
        }
        return logits;
    }

    /** Frequencies of 4000 seeded draws against the reference (within ~4 standard deviations). */
    private static void assertFrequencies(float[] logits, double temperature, int topK, double topP, double minP,
                                          double[] reference) {
        SplittableRandom random = new SplittableRandom(99);
        int draws = 4000;
        double[] counts = new double[logits.length];
        double outside = 0;
        for (int i = 0; i < draws; i++) {
            int token = TruncatedSampling.draw(logits, temperature, topK, topP, minP, random.nextDouble());
            counts[token]++;
            outside += reference[token] == 0 ? 1 : 0;
        }
        assertThat(outside).as("draws outside the allowed set").isZero();
        for (int id = 0; id < logits.length; id++) {
            if (reference[id] > 0.02) {
                assertThat(counts[id] / draws).as("token %d", id).isCloseTo(reference[id], within(0.03));
            }
        }
    }

    /** The textbook version: softmax, sort everything, cut, renormalise (vLLM order: min-p, top-k, top-p). */
    static double[] referenceDistribution(float[] logits, double temperature, int topK, double topP, double minP) {
        int n = logits.length;
        double max = IntStream.range(0, n).mapToDouble(i -> logits[i]).max().orElseThrow();
        double[] p = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp((logits[i] - max) / temperature);
            total += p[i];
        }
        for (int i = 0; i < n; i++) {
            p[i] /= total;
        }
        // order by logit descending, then id ascending (a primitive sort: boxed sorts of 151k are slow)
        long[] keys = new long[n];
        for (int i = 0; i < n; i++) {
            int bits = Float.floatToIntBits(logits[i]);
            int ascending = bits ^ ((bits >> 31) & 0x7fffffff); // int order == float order
            keys[i] = ((long) ~ascending << 32) | i;
        }
        Arrays.sort(keys);
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = (int) keys[i];
        }
        double top = p[order[0]];
        int kept = 0;
        while (kept < n && (topK <= 0 || kept < topK) && p[order[kept]] >= minP * top) {
            kept++;
        }
        double keptMass = 0;
        for (int j = 0; j < kept; j++) {
            keptMass += p[order[j]];
        }
        int nucleus = kept;
        double cumulative = 0;
        for (int j = 0; j < kept; j++) {
            cumulative += p[order[j]] / keptMass;
            if (cumulative >= topP) {
                nucleus = j + 1;
                break;
            }
        }
        double[] out = new double[n];
        double mass = 0;
        for (int j = 0; j < nucleus; j++) {
            mass += p[order[j]];
        }
        for (int j = 0; j < nucleus; j++) {
            out[order[j]] = p[order[j]] / mass;
        }
        return out;
    }
}
