package org.autoglm.kernels;

import org.autoglm.kernels.ForwardKernels.AddNorm;
import org.autoglm.kernels.plan.StepLayout;
import org.autoglm.models.config.GlmConfig;

/**
 * The forward pass of a decode step of one sequence (one token), in five launches per layer (six with split-K
 * attention) instead of nine (ten): the same function as {@link BatchedForward}, with each residual add and layer norm
 * (glm4's post norms included) computed in the staging of the GEMV that reads its output, bias + rotary + KV write
 * in the qkv GEMV's epilogue and silu-mul in the down projection's staging (gemv.cu). At batch 1 every launch costs
 * more than its work, so fewer launches is what makes the step faster.
 *
 * <p>An add-and-norm reads the residual stream while its block 0 writes the sum, so the stream alternates between
 * two buffers, and a projection's output waits in {@code proj} until the next norm adds it.
 */
final class SingleTokenForward extends ForwardPass {

    private final long[] residuals;
    private int current;   // which of the residual buffers holds the stream (during run)

    SingleTokenForward(GlmConfig c, ForwardKernels k, DeviceWeights w, Activations a, KvCache kv, long invFreq) {
        super(c, k, w, a, kv, invFreq);
        this.residuals = new long[] {a.residual, a.residualSpare};
    }

    /** Whether this pass can run {@code c} on {@code k}. */
    static boolean supports(GlmConfig c, ForwardKernels k) {
        return k.supportsSingleToken(c.hiddenSize(), c.intermediateSize(), c.numHeads() * c.headDim());
    }

    @Override
    void run(StepLayout l, long meta, int splits, boolean dense) {
        if (l.tokens() != 1) throw new IllegalArgumentException("a one-token pass got " + l.tokens() + " tokens");
        final int h = c.hiddenSize();
        final int inter = c.intermediateSize();
        final long positions = meta + 4L * l.positions();
        current = 0;

        // hidden = embed_tokens(input_ids); residual stream in fp32
        k.embeddingGather(meta + 4L * l.tokenIds(), w.embedding(), residuals[current], 1, h);
        long mlp = 0;          // the previous layer's MLP output, not yet added
        long postMlpNorm = 0;
        for (int i = 0; i < c.numLayers(); i++) {
            DeviceWeights.Layer layer = w.layer(i);
            // hidden += [post_mlp_layernorm](mlp); q, k, v = qkv_proj(input_layernorm(hidden)) + bias;
            // rotary on q and k; past_key_values.update(k, v)
            k.rmsnormQkvRopeKvWrite(addNorm(mlp, postMlpNorm, layer.inputNorm()), layer.qkv(), a.qkv, h,
                    layer.qkvBias(), positions, invFreq, meta + 4L * l.slots(), kv.keys(i), kv.values(i),
                    c.numHeads(), c.numKvHeads(), c.headDim(), c.rotaryDim());
            // attn = softmax(q kᵀ * scaling + causal mask) v
            pagedAttention(l, i, meta, splits);
            // o = o_proj(attn)
            k.linear(a.attn, layer.o(), a.proj, 1, attnWidth, h);
            // hidden += [post_self_attn_layernorm](o); gate, up = gate_up_proj(post_attention_layernorm(hidden))
            // act = up * silu(gate)
            k.rmsnormGateUpSiluMul(addNorm(a.proj, layer.postSelfAttnNorm(), layer.postAttentionNorm()),
                    layer.gateUp(), a.act, h, inter);
            // mlp = down_proj(act)
            k.linear(a.act, layer.down(), a.proj, 1, inter, h);
            mlp = a.proj;
            postMlpNorm = layer.postMlpNorm();
        }
        // hidden += [post_mlp_layernorm](mlp); logits = lm_head(norm(hidden))
        if (l.logitRows() == 0) return;
        k.rmsnormLinear(addNorm(mlp, postMlpNorm, w.finalNorm()), w.lmHead(), a.logits, h, c.vocabSize());
    }

    /** residual += [postWeight-norm](delta) (none when delta is 0), then the norm with {@code weight}. */
    private AddNorm addNorm(long delta, long postWeight, long weight) {
        long in = residuals[current];
        if (delta != 0) current = 1 - current;
        return new AddNorm(in, delta, postWeight, residuals[current], weight, a.normed, eps);
    }
}
