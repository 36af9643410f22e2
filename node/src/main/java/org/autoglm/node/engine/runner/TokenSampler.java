package org.autoglm.node.engine.runner;

/**
 * Picks one sequence's next token from its logits, with that sequence's own parameters and history
 * (penalties, seed). One instance per sequence, kept across preemption so seeded sampling is not replayed.
 */
public interface TokenSampler {

    /** The next token id; may modify {@code logits} in place. */
    int sample(float[] logits);

    /** Records a token that joined the output (for repetition, presence and frequency penalties). */
    void accept(int tokenId);
}
