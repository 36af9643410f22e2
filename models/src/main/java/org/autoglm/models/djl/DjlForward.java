package org.autoglm.models.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.core.Linear;
import org.autoglm.models.config.GlmConfig;

/**
 * The GLM / GLM-4 decoder, as Hugging Face transformers computes it ({@code modeling_glm.py},
 * {@code modeling_glm4.py}), over all tokens of a step at once. Shapes: N tokens in the step, D hidden,
 * H query heads, K key/value heads, d head dim, R rotated dims per head. Each method names the PyTorch line it
 * matches. All intermediate arrays belong to the caller's NDScope.
 */
final class DjlForward {

    /** Attention scores computed at once, at most: 64 Mi floats (256 MiB). */
    static final long MAX_SCORE_ELEMENTS = 64L << 20;

    private final GlmConfig config;
    private final GlmWeights weights;
    private final NDArray inverseFrequencies; // [R/2]
    private final float attentionScale;
    private final NDIndex rotatedDims;
    private final NDIndex passDims;
    private final NDIndex queryHeads;
    private final NDIndex keyHeads;
    private final NDIndex evenPairMember = new NDIndex("..., 0");
    private final NDIndex oddPairMember = new NDIndex("..., 1");
    private final long maxScoreElements;

    DjlForward(GlmConfig config, GlmWeights weights, NDManager manager) {
        this(config, weights, manager, MAX_SCORE_ELEMENTS);
    }

    DjlForward(GlmConfig config, GlmWeights weights, NDManager manager, long maxScoreElements) {
        this.config = config;
        this.weights = weights;
        this.maxScoreElements = maxScoreElements;
        int rotary = config.rotaryDim();
        // inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim)), in fp32
        NDArray exponents = manager.arange(0, rotary, 2, DataType.INT64).toType(DataType.FLOAT32, false).div(rotary);
        NDArray powers = manager.full(exponents.getShape(), (float) config.ropeTheta()).pow(exponents);
        this.inverseFrequencies = manager.ones(powers.getShape()).div(powers);
        exponents.close();
        powers.close();
        this.attentionScale = (float) Math.pow(config.headDim(), -0.5);
        this.rotatedDims = new NDIndex("..., :{}", rotary);
        this.passDims = new NDIndex("..., {}:", rotary);
        this.queryHeads = new NDIndex(":, :{}", config.numHeads());
        this.keyHeads = new NDIndex(":, {}:", config.numHeads());
    }

    /** The last hidden state of every token of the step (before the final norm): {@code [N, D]}. */
    NDArray hiddenStates(StepBatch batch, PagedKvCache cache) {
        // inputs_embeds = self.embed_tokens(input_ids)
        NDArray x = weights.embedTokens.get(new NDIndex("{}", batch.tokens));
        Rotary rotary = rotary(batch.positions);
        for (int layer = 0; layer < weights.layers.size(); layer++) {
            // A scope per layer frees its intermediates (a long prefill chunk makes hundreds of MB of them)
            // before the next layer runs; only the layer's output moves on to the step's scope.
            NDArray next;
            try (NDScope layerScope = new NDScope()) {
                next = decoderLayer(layer, weights.layers.get(layer), x, rotary, batch, cache);
                NDScope.unregister(next);
            }
            NDScope.register(next);
            x.close();
            x = next;
        }
        return x;
    }

    /** {@code logits = lm_head(norm(hidden_states))} for the chosen rows: {@code [rows, vocab]}. */
    NDArray logits(NDArray hidden, NDArray rows) {
        NDArray last = hidden.get(new NDIndex("{}", rows));
        return linear(rmsNorm(last, weights.finalNorm), weights.lmHead, null);
    }

    /** {@code Glm(4)DecoderLayer.forward}: pre-norm attention and MLP, each added to the residual. */
    private NDArray decoderLayer(int index, GlmWeights.Layer w, NDArray x, Rotary rotary, StepBatch batch,
                                 PagedKvCache cache) {
        // hidden_states = self.input_layernorm(hidden_states); hidden_states = self.self_attn(...)
        NDArray attention = selfAttention(index, w, rmsNorm(x, w.inputNorm()), rotary, batch, cache);
        if (w.postSelfAttnNorm() != null) {
            // glm4: hidden_states = self.post_self_attn_layernorm(hidden_states)
            attention = rmsNorm(attention, w.postSelfAttnNorm());
        }
        x = x.add(attention); // hidden_states = residual + hidden_states

        // hidden_states = self.mlp(self.post_attention_layernorm(hidden_states))
        NDArray mlp = mlp(w, rmsNorm(x, w.postAttentionNorm()));
        if (w.postMlpNorm() != null) {
            // glm4: hidden_states = self.post_mlp_layernorm(hidden_states)
            mlp = rmsNorm(mlp, w.postMlpNorm());
        }
        return x.add(mlp); // hidden_states = residual + hidden_states
    }

    /** {@code GlmAttention.forward}: q/k/v projections, rotary, paged KV store, per-sequence attention, o_proj. */
    private NDArray selfAttention(int layer, GlmWeights.Layer w, NDArray h, Rotary rotary, StepBatch batch,
                                  PagedKvCache cache) {
        long n = h.getShape().get(0);
        int d = config.headDim();
        // query_states = self.q_proj(hidden_states).view(hidden_shape)        [N, H, d]
        NDArray q = linear(h, w.qWeight(), w.qBias()).reshape(n, config.numHeads(), d);
        NDArray k = linear(h, w.kWeight(), w.kBias()).reshape(n, config.numKvHeads(), d);
        NDArray v = linear(h, w.vWeight(), w.vBias()).reshape(n, config.numKvHeads(), d);
        // query_states, key_states = apply_rotary_pos_emb(query_states, key_states, cos, sin)
        // (queries and keys side by side, [N, H+K, d], so the rotation runs once)
        NDArray qk = rotary.apply(q.concat(k, 1));
        q = qk.get(queryHeads);
        k = qk.get(keyHeads);
        // past_key_value.update(key_states, value_states, self.layer_idx): into the paged pool
        cache.write(layer, batch.newSlots, k, v);
        if (batch.decode != null) {
            // attn_output = self.o_proj(attn_output)
            return linear(attendDecodeBatch(q, cache, layer, batch.decode), w.oWeight(), null);
        }

        NDList outputs = new NDList(batch.spans.size());
        for (StepBatch.Span span : batch.spans) {
            NDArray qs = batch.spans.size() == 1
                    ? q
                    : q.get(new NDIndex("{}:{}", span.firstRow(), span.firstRow() + span.length()));
            outputs.add(attendInBlocks(qs, cache.keys(layer, span.contextSlots()),
                    cache.values(layer, span.contextSlots()), span));
        }
        NDArray attention = outputs.size() == 1 ? outputs.get(0) : NDArrays.concat(outputs, 0); // [N, H*d]
        // attn_output = self.o_proj(attn_output)
        return linear(attention, w.oWeight(), null);
    }

    /**
     * Attention of one sequence's T queries, in blocks of queries small enough that the score matrix
     * {@code [H, rows, L]} stays within {@code maxScoreElements}: a long prompt chunk against a long context must
     * not need gigabytes for scores. Block [a, b) sees keys {@code 0 .. startPosition + b - 1}.
     */
    private NDArray attendInBlocks(NDArray q, NDArray keys, NDArray values, StepBatch.Span span) {
        long context = keys.getShape().get(0);
        int rowsPerBlock = (int) Math.max(1, maxScoreElements / (config.numHeads() * context));
        if (span.length() <= rowsPerBlock) {
            return attend(q, keys, values, span.mask());
        }
        NDList blocks = new NDList();
        for (int a = 0; a < span.length(); a += rowsPerBlock) {
            int b = Math.min(span.length(), a + rowsPerBlock);
            int visible = span.startPosition() + b;
            NDIndex firstKeys = new NDIndex(":{}", visible);
            blocks.add(attend(q.get(new NDIndex("{}:{}", a, b)), keys.get(firstKeys), values.get(firstKeys),
                    span.mask().get(new NDIndex("{}:{}, :{}", a, b, visible))));
        }
        return NDArrays.concat(blocks, 0);
    }

    /**
     * {@code eager_attention_forward} for one sequence: T queries {@code [T, H, d]} against its L cached keys and
     * values {@code [L, K, d]}. Query head h uses kv head h / (H/K), as {@code repeat_kv} arranges it; the
     * H/K query heads of one kv head are batched together instead of repeating K and V.
     */
    private NDArray attend(NDArray q, NDArray keys, NDArray values, NDArray mask) {
        long t = q.getShape().get(0);
        long l = keys.getShape().get(0);
        int kvHeads = config.numKvHeads();
        int group = config.numHeads() / kvHeads;
        int d = config.headDim();
        NDArray qh = q.reshape(t, kvHeads, group, d).transpose(1, 2, 0, 3).reshape(kvHeads, group * t, d);
        NDArray kh = keys.transpose(1, 2, 0);   // [K, d, L]
        NDArray vh = values.transpose(1, 0, 2); // [K, L, d]
        // attn_weights = torch.matmul(query, key_states.transpose(2, 3)) * scaling      [K, G*T, L]
        NDArray scores = qh.matMul(kh).mul(attentionScale);
        if (mask != null) {
            // attn_weights = attn_weights + causal_mask
            scores = scores.reshape(kvHeads, group, t, l).add(mask).reshape(kvHeads, group * t, l);
        }
        // attn_weights = softmax(attn_weights, dim=-1, dtype=torch.float32); attn_output = matmul(attn_weights, v)
        NDArray out = scores.softmax(-1).matMul(vh); // [K, G*T, d]
        // attn_output.transpose(1, 2).reshape(*input_shape, -1)                          [T, H*d]
        return out.reshape(kvHeads, group, t, d).transpose(2, 0, 1, 3).reshape(t, (long) config.numHeads() * d);
    }

    /**
     * {@code eager_attention_forward} for a pure decode step, all B sequences at once: one query each {@code [B, H, d]}
     * against their contexts gathered into {@code [B, Lmax, K, d]}, padding masked out. The same arithmetic as
     * {@link #attend} per sequence, in a fixed number of operations per layer.
     */
    private NDArray attendDecodeBatch(NDArray q, PagedKvCache cache, int layer, StepBatch.DecodeBatch decode) {
        long b = q.getShape().get(0);
        int kvHeads = config.numKvHeads();
        int group = config.numHeads() / kvHeads;
        int d = config.headDim();
        NDArray qh = q.reshape(b, kvHeads, group, d);                                      // [B, K, G, d]
        NDArray keys = cache.keys(layer, decode.slots()).reshape(b, decode.longest(), kvHeads, d);
        NDArray values = cache.values(layer, decode.slots()).reshape(b, decode.longest(), kvHeads, d);
        // attn_weights = torch.matmul(query, key_states.transpose(2, 3)) * scaling + mask     [B, K, G, Lmax]
        NDArray scores = qh.matMul(keys.transpose(0, 2, 3, 1)).mul(attentionScale).add(decode.mask());
        // attn_output = matmul(softmax(attn_weights), value_states)                          [B, K, G, d]
        NDArray out = scores.softmax(-1).matMul(values.transpose(0, 2, 1, 3));
        return out.reshape(b, (long) config.numHeads() * d);
    }

    /** {@code GlmMLP.forward}: gate, up = gate_up_proj(x).chunk(2); down_proj(up * silu(gate)). */
    private NDArray mlp(GlmWeights.Layer w, NDArray h) {
        NDArray gateUp = linear(h, w.gateUpWeight(), null);
        NDList halves = gateUp.split(2, 1); // [N, 2F] -> gate [N, F], up [N, F]
        NDArray gate = halves.get(0);
        NDArray up = halves.get(1);
        NDArray activated = up.mul(gate.mul(gate.getNDArrayInternal().sigmoid()));
        return linear(activated, w.downWeight(), null);
    }

    /** {@code GlmRMSNorm}: {@code weight * (x * rsqrt(mean(x^2, -1) + eps))}, all in fp32. */
    private NDArray rmsNorm(NDArray x, NDArray weight) {
        NDArray variance = x.square().mean(new int[] {-1}, true);
        NDArray normalized = x.mul(variance.add((float) config.rmsNormEps()).pow(-0.5f));
        return weight.mul(normalized);
    }

    private static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
        return bias == null ? Linear.linear(x, weight).head() : Linear.linear(x, weight, bias).head();
    }

    /**
     * {@code GlmRotaryEmbedding.forward}: {@code freqs = inv_freq @ position_ids} (fp32), then cos / sin of the
     * first R/2 frequencies; {@code apply_rotary_pos_emb} repeats each twice, i.e. it pairs them with the
     * interleaved dims (2i, 2i+1).
     */
    private Rotary rotary(NDArray positions) {
        long n = positions.getShape().get(0);
        NDArray freqs = positions.reshape(n, 1).mul(inverseFrequencies.reshape(1, -1)); // [N, R/2]
        NDArray cos = freqs.cos().reshape(n, 1, -1);
        NDArray sin = freqs.sin().reshape(n, 1, -1);
        return new Rotary(cos, sin);
    }

    /** cos and sin of every token's angles, {@code [N, 1, R/2]}, broadcast over heads. */
    private final class Rotary {
        private final NDArray cos;
        private final NDArray sin;

        Rotary(NDArray cos, NDArray sin) {
            this.cos = cos;
            this.sin = sin;
        }

        /**
         * {@code q_embed = cat([q_rot * cos + rotate_half(q_rot) * sin, q_pass])} with the interleaved
         * {@code rotate_half(x) = stack((-x[..., 1::2], x[..., 0::2]), -1).flatten(-2)}: for each pair
         * (x1, x2) = (x[2i], x[2i+1]) the result is (x1 cos - x2 sin, x2 cos + x1 sin). Input {@code [N, heads, d]}.
         */
        NDArray apply(NDArray x) {
            long n = x.getShape().get(0);
            long heads = x.getShape().get(1);
            int rotary = config.rotaryDim();
            NDArray pairs = x.get(rotatedDims).reshape(n, heads, rotary / 2, 2);
            NDArray x1 = pairs.get(evenPairMember);
            NDArray x2 = pairs.get(oddPairMember);
            NDArray first = x1.mul(cos).sub(x2.mul(sin));
            NDArray second = x2.mul(cos).add(x1.mul(sin));
            NDArray rotated = NDArrays.stack(new NDList(first, second), -1).reshape(n, heads, rotary);
            if (rotary == config.headDim()) {
                return rotated;
            }
            return rotated.concat(x.get(passDims), -1);
        }
    }
}
