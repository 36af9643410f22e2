package org.autoglm.node.engine.runner;

import org.autoglm.models.sampling.Sampler;
import org.autoglm.models.sampling.SamplingParams;

/** Makes the sampler of a new sequence from its request's parameters and prompt. */
@FunctionalInterface
public interface SamplerFactory {

    /**
     * @throws IllegalArgumentException when the parameters cannot be honoured (the message names the parameter)
     */
    TokenSampler create(SamplingParams params, int[] promptIds);

    /** The models module's {@link Sampler}: penalties, greedy or temperature / top-k / top-p / min-p, logprobs. */
    SamplerFactory DEFAULT = (params, promptIds) -> TokenSampler.of(new Sampler(params, promptIds));
}
