package org.autoglm.kernels;

import org.autoglm.kernels.plan.StepLayout;
import org.autoglm.models.config.GlmConfig;

/**
 * The GLM / GLM-4 forward pass as a sequence of launches on one stream, reading top to bottom like HF's
 * {@code GlmForCausalLM.forward}: any step (prefill, chunked prefill, decode, mixed).
 */
final class BatchedForward extends ForwardPass {

    BatchedForward(GlmConfig c, ForwardKernels k, DeviceWeights w, Activations a, KvCache kv, long invFreq) {
        super(c, k, w, a, kv, invFreq);
    }

    @Override
    void run(StepLayout l, long meta, int splits, boolean dense) {
        final int n = l.tokens();
        final int h = c.hiddenSize();
        final int inter = c.intermediateSize();
        final long ids = meta + 4L * l.tokenIds();
        final long positions = meta + 4L * l.positions();
        final long slots = meta + 4L * l.slots();
        // prefill chunks on tensor cores where flash attention is on (decode steps have no flash work items)
        final boolean flash = l.flashItems() > 0 && k.hasFlashAttention(c.headDim());

        // hidden = embed_tokens(input_ids); residual stream in fp32
        k.embeddingGather(ids, w.embedding(), a.residual, n, h);
        // x = input_layernorm(hidden)
        k.addRmsnorm(0, 0, a.residual, w.layer(0).inputNorm(), a.normed, n, h, eps);
        for (int i = 0; i < c.numLayers(); i++) {
            DeviceWeights.Layer layer = w.layer(i);
            // q, k, v = q_proj(x), k_proj(x), v_proj(x)   (one GEMM over the fused weights)
            projection(a.normed, layer.qkv(), a.qkv, n, h, qkvWidth);
            // q, k += bias; q, k = apply_rotary_pos_emb(q, k, cos, sin); past_key_values.update(k, v)
            k.biasRopeKvWrite(a.qkv, layer.qkvBias(), positions, invFreq, slots, kv.keys(i), kv.values(i), n,
                    c.numHeads(), c.numKvHeads(), c.headDim(), c.rotaryDim());
            // attn = softmax(q kᵀ * scaling + causal mask) v
            if (flash) {
                k.flashAttention(a.qkv, kv.keys(i), kv.values(i), meta + 4L * l.blockTables(),
                        meta + 4L * l.seqStarts(), positions, meta + 4L * l.flashWork(), a.attn, l.flashItems(),
                        c.numHeads(), c.numKvHeads(), c.headDim(), kv.blockSize(), l.blocksPerSeq());
            } else if (dense) {
                k.denseCausalAttention(a.qkv, a.attn, a.dense, n, c.numHeads(), c.numKvHeads(), c.headDim());
            } else {
                pagedAttention(l, i, meta, splits);
            }
            // hidden = residual + [post_self_attn_layernorm](o_proj(attn)); x = post_attention_layernorm(hidden)
            projection(a.attn, layer.o(), a.proj, n, attnWidth, h);
            k.addRmsnorm(a.proj, layer.postSelfAttnNorm(), a.residual, layer.postAttentionNorm(), a.normed, n, h, eps);
            // mlp: down_proj(up * silu(gate)), gate, up = gate_up_proj(x).chunk(2)
            projection(a.normed, layer.gateUp(), a.gateUp, n, h, 2 * inter);
            if (w.quantized()) {
                k.siluMul(a.gateUp, a.act, n, inter);
                projection(a.act, layer.down(), a.proj, n, inter, h);
            } else {
                k.siluMulLinear(a.gateUp, a.act, layer.down(), a.proj, n, inter, h);
            }
            // hidden = residual + [post_mlp_layernorm](mlp); x = next input_layernorm (or the final norm)
            long nextNorm = i + 1 < c.numLayers() ? w.layer(i + 1).inputNorm() : w.finalNorm();
            k.addRmsnorm(a.proj, layer.postMlpNorm(), a.residual, nextNorm, a.normed, n, h, eps);
        }
        // logits = lm_head(norm(hidden)) for the rows that want them
        if (l.logitRows() == 0) return;
        k.gatherRows(meta + 4L * l.logitRowIndex(), a.normed, a.lmIn, l.logitRows(), h);
        k.linear(a.lmIn, w.lmHead(), a.logits, l.logitRows(), h, c.vocabSize());
    }
}
