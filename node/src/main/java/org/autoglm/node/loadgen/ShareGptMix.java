package org.autoglm.node.loadgen;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A seeded synthetic request mix shaped like ShareGPT: prompt and output lengths drawn from log-normal fits of its
 * published distribution (ShareGPT_V3 as vLLM's serving benchmark uses it, Llama tokenizer: prompts median ~120 and
 * mean ~220 tokens, outputs median ~190 and mean ~285; approximate fits, not the data set), and a share of requests
 * that open with one of a few shared prefixes (system prompts), which the prefix cache can reuse. Token ids are
 * random below {@code vocab}; the same seed gives the same requests.
 */
public final class ShareGptMix {

    /** ln(median) and σ of the prompt-length fit. */
    static final double INPUT_MU = Math.log(120), INPUT_SIGMA = 1.1;
    /** ln(median) and σ of the output-length fit. */
    static final double OUTPUT_MU = Math.log(190), OUTPUT_SIGMA = 0.9;
    static final int PREFIXES = 4;

    /** One request: its prompt's token ids (the shared prefix first, if any) and how many tokens to generate. */
    public record Request(int[] prompt, int maxTokens, int prefix) {}

    /**
     * The mix's settings.
     *
     * @param seed         the same seed, the same requests
     * @param lengthScale  multiplies both fitted lengths (1: ShareGPT-like; small values for quick runs on a CPU)
     * @param maxInput     prompt tokens at most (the model's context bounds it)
     * @param maxOutput    output tokens at most
     * @param prefixShare  share of requests that open with a shared prefix (0..1)
     * @param vocab        token ids are drawn below it
     */
    public record Settings(long seed, double lengthScale, int maxInput, int maxOutput, double prefixShare, int vocab) {
        public Settings {
            if (!(lengthScale > 0)) throw new IllegalArgumentException("--length-scale must be positive");
            if (maxInput < 2 || maxOutput < 1) {
                throw new IllegalArgumentException("--max-input-tokens must be at least 2, --max-output-tokens 1");
            }
            if (prefixShare < 0 || prefixShare > 1) {
                throw new IllegalArgumentException("--shared-prefix-share must be between 0 and 1");
            }
            if (vocab < 2) throw new IllegalArgumentException("--vocab-size must be at least 2");
        }
    }

    private ShareGptMix() {}

    /** {@code count} requests of the mix. */
    public static List<Request> requests(Settings s, int count) {
        SplittableRandom random = new SplittableRandom(s.seed());
        int[][] prefixes = new int[PREFIXES][];
        for (int p = 0; p < PREFIXES; p++) {
            // system prompts of 32, 64, 128 and 256 tokens (scaled), at least one token short of the longest prompt
            int length = (int) Math.max(1, Math.min(s.maxInput() - 1, Math.round((32 << p) * s.lengthScale())));
            prefixes[p] = tokens(random, length, s.vocab());
        }
        List<Request> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int input = length(random, INPUT_MU, INPUT_SIGMA, s.lengthScale(), 2, s.maxInput());
            int output = length(random, OUTPUT_MU, OUTPUT_SIGMA, s.lengthScale(), 1, s.maxOutput());
            int prefix = random.nextDouble() < s.prefixShare() ? random.nextInt(PREFIXES) : -1;
            int[] prompt;
            if (prefix >= 0) {
                int[] head = prefixes[prefix];
                int tail = Math.max(1, input - head.length);
                prompt = new int[Math.min(s.maxInput(), head.length + tail)];
                System.arraycopy(head, 0, prompt, 0, Math.min(head.length, prompt.length));
                int[] rest = tokens(random, prompt.length - Math.min(head.length, prompt.length), s.vocab());
                System.arraycopy(rest, 0, prompt, Math.min(head.length, prompt.length), rest.length);
            } else {
                prompt = tokens(random, input, s.vocab());
            }
            out.add(new Request(prompt, output, prefix));
        }
        return out;
    }

    /** exp(N(mu, sigma)) · scale, rounded, within [min, max]. */
    static int length(SplittableRandom random, double mu, double sigma, double scale, int min, int max) {
        double v = Math.exp(mu + sigma * gaussian(random)) * scale;
        return (int) Math.max(min, Math.min(max, Math.round(v)));
    }

    private static double gaussian(SplittableRandom random) {   // Box-Muller
        double u = 1 - random.nextDouble(), v = random.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    private static int[] tokens(SplittableRandom random, int n, int vocab) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = random.nextInt(vocab);
        return t;
    }
}
