package org.autoglm.kernels;

import org.autoglm.kernels.plan.StepLayout;
import org.autoglm.models.config.GlmConfig;

/**
 * The forward pass of a decode step of one sequence (one token), in five launches per layer (six with split-K
 * attention) instead of nine (ten): the same function as {@link GlmForward}, with each layer norm computed inside
 * the GEMV that reads its output, the residual adds done by the GEMVs that produce them, bias + rotary + KV write
 * in the qkv GEMV's epilogue and silu-mul inside the down projection (gemv.cu). At batch 1 every launch costs more
 * than its work, so fewer launches is what makes the step faster. Not for glm4's post norms (they need the whole
 * projection before the add).
 */
final class SingleTokenForward extends ForwardPass {

    SingleTokenForward(GlmConfig c, ForwardKernels k, DeviceWeights w, Activations a, KvCache kv, long invFreq) {
        super(c, k, w, a, kv, invFreq);
        if (c.hasPostNorms()) throw new IllegalArgumentException("the one-token forward has no post norms (glm4)");
    }

    /** Whether this pass can run {@code c} on {@code k}. */
    static boolean supports(GlmConfig c, ForwardKernels k) {
        return !c.hasPostNorms()
                && k.supportsSingleToken(c.hiddenSize(), c.intermediateSize(), c.numHeads() * c.headDim());
    }

    @Override
    void run(StepLayout l, long meta, int splits, boolean dense) {
        if (l.tokens() != 1) throw new IllegalArgumentException("a one-token pass got " + l.tokens() + " tokens");
        final int h = c.hiddenSize();
        final int inter = c.intermediateSize();
        final long positions = meta + 4L * l.positions();

        // hidden = embed_tokens(input_ids); residual stream in fp32
        k.embeddingGather(meta + 4L * l.tokenIds(), w.embedding(), a.residual, 1, h);
        for (int i = 0; i < c.numLayers(); i++) {
            DeviceWeights.Layer layer = w.layer(i);
            // q, k, v = qkv_proj(input_layernorm(hidden)) + bias; rotary on q and k; past_key_values.update(k, v)
            k.rmsnormQkvRopeKvWrite(a.residual, layer.inputNorm(), a.normed, eps, layer.qkv(), a.qkv, h,
                    layer.qkvBias(), positions, invFreq, meta + 4L * l.slots(), kv.keys(i), kv.values(i),
                    c.numHeads(), c.numKvHeads(), c.headDim(), c.rotaryDim());
            // attn = softmax(q kᵀ * scaling + causal mask) v
            k.attention(a.qkv, kv.keys(i), kv.values(i), meta + 4L * l.blockTables(), meta + 4L * l.seqStarts(),
                    positions, meta + 4L * l.work(), a.attn, a.partAcc, a.partMl, a.splitCounters, l.workItems(), 1, c.numHeads(),
                    c.numKvHeads(), c.headDim(), kv.blockSize(), l.blocksPerSeq(), splits);
            // hidden = hidden + o_proj(attn)
            k.linearIntoResidual(a.attn, layer.o(), a.residual, attnWidth, h);
            // gate, up = gate_up_proj(post_attention_layernorm(hidden))
            k.rmsnormLinear(a.residual, layer.postAttentionNorm(), a.normed, eps, layer.gateUp(), a.gateUp, h,
                    2 * inter);
            // hidden = hidden + down_proj(up * silu(gate))
            k.siluMulLinearIntoResidual(a.gateUp, layer.down(), a.residual, inter, h);
        }
        // logits = lm_head(norm(hidden))
        if (l.logitRows() == 0) return;
        k.rmsnormLinear(a.residual, w.finalNorm(), a.normed, eps, w.lmHead(), a.logits, h, c.vocabSize());
    }
}
