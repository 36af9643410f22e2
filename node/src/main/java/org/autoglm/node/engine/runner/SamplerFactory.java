package org.autoglm.node.engine.runner;

import org.autoglm.models.sampling.SamplingParams;

/** Makes the sampler of a new sequence from its request's parameters and prompt. */
@FunctionalInterface
public interface SamplerFactory {

    /**
     * @throws IllegalArgumentException when the parameters cannot be honoured; the engine fails only
     *     that request, with the message
     */
    TokenSampler create(SamplingParams params, int[] promptIds);

    /**
     * Argmax for every request whatever its parameters: a stand-in until the models module's
     * {@code Sampler} is wired in (see {@code Engine}).
     */
    SamplerFactory GREEDY = (params, prompt) -> new TokenSampler() {
        @Override
        public int sample(float[] logits) {
            int best = 0;
            for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
            return best;
        }

        @Override
        public void accept(int tokenId) {}
    };
}
