package org.autoglm.models.sampling;

import java.util.Arrays;

/**
 * Draws one token from {@code softmax(logits / temperature)} restricted by min-p, top-k and top-p, in
 * vLLM's order: min-p and top-k cut the vocabulary, top-p then keeps the smallest most-likely prefix of
 * what is left whose (renormalised) mass reaches p; the draw is renormalised over what remains.
 *
 * <p>Built for a 151,552-token vocabulary on the CPU, with no sort of the vocabulary:
 * <ul>
 *   <li>top-k: a heap of k over one pass ({@link TokenSelection#topN}), then work on k tokens only;
 *   <li>top-p over the whole vocabulary: one pass computes the weights (table-driven exponential) and their
 *       sum; a second pass gathers the tokens above a weight threshold (2^-8 of the top token's, lowered until
 *       the gathered mass reaches p), and only those, usually a few hundred, are sorted;
 *   <li>plain temperature / min-p: one pass for the weights, then an inverse-CDF walk in id order.
 * </ul>
 * Scratch buffers live per thread and grow once to the vocabulary size.
 */
final class TruncatedSampling {

    /**
     * Weights below e^-40 (4e-18) are treated as zero: even all 151,552 of them together hold under 1e-12 of
     * the mass, far below float resolution, and skipping them saves the exponential for most of the tail.
     */
    static final float NEGLIGIBLE_LOGIT_GAP = 40f;
    /** Smallest weight that counts: e^-40. */
    private static final float MIN_WEIGHT = (float) Math.exp(-NEGLIGIBLE_LOGIT_GAP);
    /** e^(-k/64) for k = 0 .. 64 * 40 (+2 for rounding at the floor). */
    private static final float[] EXP_TABLE = new float[64 * (int) NEGLIGIBLE_LOGIT_GAP + 2];

    static {
        for (int k = 0; k < EXP_TABLE.length; k++) {
            EXP_TABLE[k] = (float) Math.exp(-k / 64.0);
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private TruncatedSampling() {}

    /**
     * @param temperature > 0
     * @param topK        keep the k most likely; 0 or >= vocabulary disables
     * @param topP        in (0, 1]; 1 disables
     * @param minP        in [0, 1]; 0 disables
     * @param uniform     a uniform random number in [0, 1): the only randomness, so draws are reproducible
     */
    static int draw(float[] logits, double temperature, int topK, double topP, double minP, double uniform) {
        float max = TokenSelection.max(logits);
        if (max == Float.NEGATIVE_INFINITY || max == Float.POSITIVE_INFINITY) {
            return TokenSelection.argmax(logits); // nothing to normalise: degenerate logits
        }
        float invTemperature = (float) (1.0 / temperature);
        float floor = max - NEGLIGIBLE_LOGIT_GAP * (float) temperature;
        if (minP > 0) {
            // p_i >= minP * p_max  <=>  l_i >= max + T * ln(minP)
            floor = Math.max(floor, (float) (max + temperature * Math.log(minP)));
        }
        Scratch s = SCRATCH.get();
        if (topK > 0 && topK < logits.length) {
            return drawFromTopK(logits, topK, floor, max, invTemperature, topP, uniform, s);
        }
        return drawFromVocabulary(logits, floor, max, invTemperature, topP, uniform, s);
    }

    private static int drawFromTopK(float[] logits, int k, float floor, float max, float invTemperature,
                                    double topP, double uniform, Scratch s) {
        s.ensureCandidates(k);
        int n = TokenSelection.topN(logits, k, s.candidateIds, s.candidateLogits);
        float[] weights = s.candidateWeights;
        double total = 0;
        int kept = 0;
        while (kept < n && s.candidateLogits[kept] >= floor) { // descending, so the floor cuts a suffix
            weights[kept] = (float) Math.exp((s.candidateLogits[kept] - max) * invTemperature);
            total += weights[kept++];
        }
        return drawFromSorted(s.candidateIds, weights, kept, total, topP, uniform);
    }

    private static int drawFromVocabulary(float[] logits, float floor, float max, float invTemperature,
                                          double topP, double uniform, Scratch s) {
        s.ensureVocabulary(logits.length);
        float[] weights = s.weights;
        double total = 0;
        for (int i = 0; i < logits.length; i++) {
            float l = logits[i];
            float w = l >= floor ? exp((l - max) * invTemperature) : 0f;
            weights[i] = w;
            total += w;
        }
        if (topP >= 1) {
            return walk(weights, logits.length, total * uniform);
        }
        // The nucleus is what lies above some weight; find a threshold that holds at least topP of the mass
        // (the top token weighs 1, so 2^-8 usually suffices), then sort only the tokens above it.
        double target = topP * total;
        long[] keys = s.sortKeys;
        int n = 0;
        for (float threshold = 0x1p-8f; ; threshold *= 0x1p-8f) {
            double mass = 0;
            n = 0;
            for (int i = 0; i < logits.length; i++) {
                float w = weights[i];
                if (w >= threshold) {
                    keys[n++] = descendingKey(w, i);
                    mass += w;
                }
            }
            if (mass >= target || threshold < MIN_WEIGHT) {
                break;
            }
        }
        Arrays.sort(keys, 0, n);
        for (int j = 0; j < n; j++) {
            long key = keys[j];
            s.candidateIds[j] = (int) key;
            s.candidateWeights[j] = Float.intBitsToFloat(~(int) (key >>> 32) & 0x7fffffff);
        }
        return drawFromSorted(s.candidateIds, s.candidateWeights, n, total, topP, uniform);
    }

    /**
     * e^x for x in [-{@value #NEGLIGIBLE_LOGIT_GAP}, 0] to within 2e-7 relative (about one float ulp), twice as
     * fast as {@link Math#exp} on the vocabulary-sized pass: e^x = e^(-k/64) (a table) * e^r with r in (-1/64, 0]
     * by a cubic.
     */
    static float exp(float x) {
        float y = -x * 64f;
        int k = (int) y; // y >= 0, so truncation is floor
        float r = (k - y) * (1f / 64);
        return EXP_TABLE[k] * (1f + r * (1f + r * (0.5f + r * (1f / 6))));
    }

    /**
     * Keeps the shortest prefix of candidates (most likely first) whose mass reaches {@code topP * total}
     * (HF / vLLM include the token that crosses the threshold), then draws from it.
     */
    private static int drawFromSorted(int[] ids, float[] weights, int n, double total, double topP, double uniform) {
        if (n == 0) {
            return ids.length > 0 ? ids[0] : 0;
        }
        int kept = n;
        double keptMass = total;
        if (topP < 1) {
            double target = topP * total;
            double cumulative = 0;
            for (int j = 0; j < n; j++) {
                cumulative += weights[j];
                if (cumulative >= target) {
                    kept = j + 1;
                    break;
                }
            }
            keptMass = Math.min(cumulative, total);
        }
        double u = keptMass * uniform;
        double cumulative = 0;
        for (int j = 0; j < kept; j++) {
            cumulative += weights[j];
            if (u < cumulative) {
                return ids[j];
            }
        }
        return ids[kept - 1]; // rounding put u just past the last weight
    }

    /** Inverse CDF in id order over the whole vocabulary. */
    private static int walk(float[] weights, int n, double u) {
        double cumulative = 0;
        int last = -1;
        for (int i = 0; i < n; i++) {
            float w = weights[i];
            if (w > 0) {
                cumulative += w;
                last = i;
                if (u < cumulative) {
                    return i;
                }
            }
        }
        return Math.max(last, 0);
    }

    /**
     * A long that sorts ascending in order of descending weight, then ascending id: the weight's bits
     * (monotonic for positive floats) inverted in the high half, the id in the low half.
     */
    private static long descendingKey(float weight, int id) {
        long inverted = ~Float.floatToRawIntBits(weight) & 0x7fffffffL;
        return inverted << 32 | id;
    }

    /** Per-thread buffers, grown on demand and then reused for every draw. */
    private static final class Scratch {
        float[] weights = new float[0];
        int[] candidateIds = new int[0];
        float[] candidateLogits = new float[0];
        float[] candidateWeights = new float[0];
        long[] sortKeys = new long[0];

        void ensureVocabulary(int n) {
            if (weights.length < n) {
                weights = new float[n];
            }
            ensureCandidates(n);
        }

        void ensureCandidates(int n) {
            if (candidateIds.length < n) {
                candidateIds = new int[n];
                candidateLogits = new float[n];
                candidateWeights = new float[n];
                sortKeys = new long[n];
            }
        }
    }
}
