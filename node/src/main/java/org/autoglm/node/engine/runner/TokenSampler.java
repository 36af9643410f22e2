package org.autoglm.node.engine.runner;

import org.autoglm.models.sampling.Sampler;
import org.autoglm.models.sampling.TokenLogprobs;

/**
 * Picks one sequence's next token from its logits, with that sequence's own parameters and history
 * (penalties, seed). One instance per sequence, kept across preemption so seeded sampling is not replayed.
 * The engine's samplers are the models module's {@link Sampler}; the interface lets a test force tokens.
 */
public interface TokenSampler {

    /** The next token id; may modify {@code logits} in place. */
    int sample(float[] logits);

    /** The next token among those an output grammar allows (bit t of word t / 64); masks {@code logits} in place. */
    default int sample(float[] logits, long[] allowed) {
        if (org.autoglm.models.sampling.TokenMask.apply(logits, allowed) == 0) {
            throw new IllegalStateException("the output grammar allows no token here");
        }
        return sample(logits);
    }

    /** Records a token that joined the output (for repetition, presence and frequency penalties). */
    void accept(int tokenId);

    /** Log-probabilities of the last {@link #sample}, or null when the request did not ask for them. */
    default TokenLogprobs lastLogprobs() {
        return null;
    }

    /** The models module's sampler behind this interface. */
    static TokenSampler of(Sampler sampler) {
        return new TokenSampler() {
            @Override
            public int sample(float[] logits) {
                return sampler.sample(logits);
            }

            @Override
            public int sample(float[] logits, long[] allowed) {
                return sampler.sample(logits, allowed);
            }

            @Override
            public void accept(int tokenId) {
                sampler.accept(tokenId);
            }

            @Override
            public TokenLogprobs lastLogprobs() {
                return sampler.lastLogprobs();
            }
        };
    }
}
