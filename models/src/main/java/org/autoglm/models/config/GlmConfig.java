package org.autoglm.models.config;

/**
 * The architecture of a GLM checkpoint, read from its {@code config.json} ({@code model_type} {@code glm}
 * or {@code glm4}). See {@code GlmConfigReader} (to be written) for parsing and its error messages.
 *
 * @param modelType            {@code glm} or {@code glm4} (glm4 adds post-attention / post-MLP norms)
 * @param vocabSize            rows of the embedding and lm_head
 * @param hiddenSize           model width
 * @param intermediateSize     MLP width (gate_up_proj has 2x this many rows)
 * @param numLayers            decoder layers
 * @param numHeads             query heads
 * @param numKvHeads           key/value heads (grouped-query attention)
 * @param headDim              width of one head
 * @param partialRotaryFactor  fraction of headDim that is rotated (interleaved pairs)
 * @param ropeTheta            rotary base
 * @param rmsNormEps           RMSNorm epsilon
 * @param maxPositionEmbeddings context length
 * @param attentionBias        whether q/k/v projections have biases
 * @param tieWordEmbeddings    lm_head shares the embedding matrix
 * @param eosTokenIds          every id that ends generation
 * @param padTokenId           padding id, or -1
 * @param torchDtype           the checkpoint's declared dtype ({@code float32}, {@code bfloat16}, ...)
 */
public record GlmConfig(
        String modelType,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        double partialRotaryFactor,
        double ropeTheta,
        double rmsNormEps,
        int maxPositionEmbeddings,
        boolean attentionBias,
        boolean tieWordEmbeddings,
        int[] eosTokenIds,
        int padTokenId,
        String torchDtype) {

    /** glm4 checkpoints carry {@code post_self_attn_layernorm} and {@code post_mlp_layernorm}. */
    public boolean hasPostNorms() {
        return "glm4".equals(modelType);
    }

    /** Number of leading dims of each head that are rotated. */
    public int rotaryDim() {
        return (int) (headDim * partialRotaryFactor);
    }
}
