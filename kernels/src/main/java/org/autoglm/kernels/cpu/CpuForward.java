package org.autoglm.kernels.cpu;

import java.util.List;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.models.config.GlmConfig;

/**
 * The GLM / GLM-4 forward pass on the CPU, reading top to bottom like Hugging Face's {@code GlmForCausalLM.forward}
 * ({@code modeling_glm.py}, {@code modeling_glm4.py}), over every token of a step at once: the linear layers as one
 * batched GEMM over all tokens (a GEMV when there is one), attention per token and head over the paged cache. Shapes:
 * N tokens, D hidden, H query heads, K kv heads, d head dim, R rotated dims, F MLP width. Buffers grow to the largest
 * step and are reused; nothing is allocated per token but the returned logits.
 */
final class CpuForward {

    /** Multiply-adds below which a linear layer runs on the calling thread alone. */
    private static final long INLINE_WORK = 1 << 16;
    /** Rows of logits computed at once (the lm_head's weights are read once per this many sequences). */
    private static final int LOGIT_ROWS = 16;

    private final GlmConfig c;
    private final CpuWeights w;
    private final WorkerPool pool;
    private final AttentionKernel attention;
    private final int d;
    private final int qDim;
    private final int kvDim;
    private final int qkvWidth;
    private final int ffn;
    private final float eps;
    private final float[] inverseFrequencies;

    private int capacity;
    private int[] positions = new int[0];
    private int[] slots = new int[0];
    private int[] tokenChunk = new int[0];
    private float[] x;       // [N, D] residual stream
    private float[] normed;  // [N, D]
    private float[] xp;      // [N, max cols] activations laid out for the kernels (MatrixKernels.prepare)
    private final QuantizedActivations xq = new QuantizedActivations(); // or quantized for them
    private float[] qkv;     // [N, H*d + 2*K*d]
    private float[] attn;    // [N, H*d]
    private float[] proj;    // [N, D]
    private float[] gateUp;  // [N, 2F]
    private float[] act;     // [N, F]
    private float[] cos;     // [N, R/2]
    private float[] sin;     // [N, R/2]
    private float[] logitRows = new float[0]; // [rows wanting logits, vocab]

    CpuForward(GlmConfig c, CpuWeights w, WorkerPool pool) {
        this.c = c;
        this.w = w;
        this.pool = pool;
        this.d = c.hiddenSize();
        this.qDim = c.numHeads() * c.headDim();
        this.kvDim = c.numKvHeads() * c.headDim();
        this.qkvWidth = qDim + 2 * kvDim;
        this.ffn = c.intermediateSize();
        this.eps = (float) c.rmsNormEps();
        this.attention = new AttentionKernel(c);
        int rotary = c.rotaryDim();
        // inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim)), in fp32
        inverseFrequencies = new float[rotary / 2];
        for (int i = 0; i < inverseFrequencies.length; i++) {
            float exponent = (float) (2 * i) / rotary;
            inverseFrequencies[i] = 1.0f / (float) Math.pow(c.ropeTheta(), exponent);
        }
    }

    /** One step: the logits of each chunk's last token where it wants them, else null. */
    float[][] forward(List<SequenceChunk> chunks, CpuKvCache kv) {
        int n = 0;
        for (SequenceChunk chunk : chunks) n += chunk.tokens().length;
        ensureCapacity(n);
        int t = 0;
        for (int ci = 0; ci < chunks.size(); ci++) {
            SequenceChunk chunk = chunks.get(ci);
            for (int i = 0; i < chunk.tokens().length; i++, t++) {
                positions[t] = chunk.startPosition() + i;
                slots[t] = kv.slot(chunk.blockTable(), positions[t]);
                tokenChunk[t] = ci;
                // inputs_embeds = self.embed_tokens(input_ids)
                w.embedding.decodeRow(chunk.tokens()[i], x, t * d);
            }
        }
        rotaryTables(n);
        for (int layer = 0; layer < w.layers.size(); layer++) {
            decoderLayer(layer, w.layers.get(layer), n, chunks, kv);
        }
        return logits(chunks, n);
    }

    /** {@code Glm(4)DecoderLayer.forward}: pre-norm attention and MLP, each added to the residual. */
    private void decoderLayer(int layer, CpuWeights.Layer l, int n, List<SequenceChunk> chunks, CpuKvCache kv) {
        // hidden_states = self.input_layernorm(hidden_states)
        rmsNorm(x, l.inputNorm(), normed, n);
        // query_states = self.q_proj(hidden_states) (+ bias); key_states, value_states likewise   [N, H*d + 2*K*d]
        linear(normed, n, new WeightMatrix[] {l.q(), l.k(), l.v()}, qkv, qkvWidth);
        if (l.qBias() != null) {
            addBias(qkv, n, qkvWidth, 0, l.qBias());
            addBias(qkv, n, qkvWidth, qDim, l.kBias());
            addBias(qkv, n, qkvWidth, qDim + kvDim, l.vBias());
        }
        // query_states, key_states = apply_rotary_pos_emb(query_states, key_states, cos, sin)
        applyRotary(n);
        // past_key_value.update(key_states, value_states, self.layer_idx): into the paged pool
        float[] keys = kv.keys[layer];
        float[] values = kv.values[layer];
        for (int t = 0; t < n; t++) {
            System.arraycopy(qkv, t * qkvWidth + qDim, keys, slots[t] * kvDim, kvDim);
            System.arraycopy(qkv, t * qkvWidth + qDim + kvDim, values, slots[t] * kvDim, kvDim);
        }
        // attn_output = softmax(q kᵀ * scaling + causal_mask) v, per token and head          [N, H*d]
        int heads = c.numHeads();
        long work = (long) n * heads * (positions[n - 1] + 1) * c.headDim();
        pool.forEach(n * heads, work < INLINE_WORK ? n * heads : 1, (from, to, scratch) -> {
            for (int i = from; i < to; i++) {
                int t = i / heads;
                attention.attend(qkv, t * qkvWidth, i % heads, positions[t] + 1,
                        chunks.get(tokenChunk[t]).blockTable(), kv, keys, values, attn, t * qDim, scratch);
            }
        });
        // attn_output = self.o_proj(attn_output)
        linear(attn, n, new WeightMatrix[] {l.o()}, proj, d);
        if (l.postSelfAttnNorm() != null) {
            // glm4: hidden_states = self.post_self_attn_layernorm(hidden_states)
            rmsNorm(proj, l.postSelfAttnNorm(), proj, n);
        }
        add(x, proj, n * d); // hidden_states = residual + hidden_states

        // hidden_states = self.mlp(self.post_attention_layernorm(hidden_states))
        rmsNorm(x, l.postAttentionNorm(), normed, n);
        // gate, up = self.gate_up_proj(hidden_states).chunk(2, dim=-1)                           [N, 2F]
        linear(normed, n, new WeightMatrix[] {l.gateUp()}, gateUp, 2 * ffn);
        // up * self.activation_fn(gate)                                                          [N, F]
        for (int t = 0; t < n; t++) {
            int g = t * 2 * ffn;
            for (int j = 0; j < ffn; j++) {
                float gate = gateUp[g + j];
                act[t * ffn + j] = gateUp[g + ffn + j] * (gate / (1.0f + (float) Math.exp(-gate)));
            }
        }
        // self.down_proj(...)                                                                    [N, D]
        linear(act, n, new WeightMatrix[] {l.down()}, proj, d);
        if (l.postMlpNorm() != null) {
            // glm4: hidden_states = self.post_mlp_layernorm(hidden_states)
            rmsNorm(proj, l.postMlpNorm(), proj, n);
        }
        add(x, proj, n * d); // hidden_states = residual + hidden_states
    }

    /** {@code logits = lm_head(norm(hidden_states))} for the last token of each chunk that wants them. */
    private float[][] logits(List<SequenceChunk> chunks, int n) {
        float[][] result = new float[chunks.size()][];
        int rows = 0;
        int end = 0;
        for (SequenceChunk chunk : chunks) {
            end += chunk.tokens().length;
            if (chunk.wantLogits()) {
                System.arraycopy(x, (end - 1) * d, proj, rows * d, d);
                rows++;
            }
        }
        if (rows == 0) return result;
        rmsNorm(proj, w.finalNorm, normed, rows);
        int vocab = c.vocabSize();
        // LOGIT_ROWS rows at a time into one reused buffer: only the returned copies are new each step
        if (logitRows.length < Math.min(rows, LOGIT_ROWS) * vocab) {
            logitRows = new float[Math.min(rows, LOGIT_ROWS) * vocab];
        }
        int chunk = -1;
        for (int g = 0; g < rows; g += LOGIT_ROWS) {
            int gn = Math.min(LOGIT_ROWS, rows - g);
            System.arraycopy(normed, g * d, proj, 0, gn * d);
            linear(proj, gn, new WeightMatrix[] {w.lmHead}, logitRows, vocab);
            for (int r = 0; r < gn; r++) {
                do {
                    chunk++;
                } while (!chunks.get(chunk).wantLogits());
                result[chunk] = java.util.Arrays.copyOfRange(logitRows, r * vocab, (r + 1) * vocab);
            }
        }
        return result;
    }

    /**
     * {@code out[t, :] = concat(m[0] @ in[t], m[1] @ in[t], ...)} with {@code out} rows of {@code outStride}; the
     * matrices share one input width and one weight type. Rows are shared among the threads.
     */
    private void linear(float[] in, int n, WeightMatrix[] ms, float[] out, int outStride) {
        WeightType type = ms[0].type;
        for (WeightMatrix m : ms) {
            if (m.type != type) { // mixed types (never in one checkpoint): one call each
                int offset = 0;
                for (WeightMatrix single : ms) {
                    linearAt(in, n, new WeightMatrix[] {single}, out, outStride, offset);
                    offset += single.rows;
                }
                return;
            }
        }
        linearAt(in, n, ms, out, outStride, 0);
    }

    private void linearAt(float[] in, int n, WeightMatrix[] ms, float[] out, int outStride, int outOffset) {
        int cols = ms[0].cols;
        QuantizedActivations xqs = MatrixKernels.prepare(ms[0].type, in, n, cols, xp, xq);
        int totalRows = 0;
        for (WeightMatrix m : ms) totalRows += m.rows;
        long work = (long) totalRows * cols * n;
        // chunks of whole row quads, about 16 per thread so that a slowed thread does less
        int grain = work < INLINE_WORK ? totalRows
                : Math.max(4, (totalRows / (pool.threads() * 16)) / 4 * 4);
        pool.forEach(totalRows, grain, (from, to, scratch) -> {
            int base = 0;
            for (WeightMatrix m : ms) {
                int lo = Math.max(from, base);
                int hi = Math.min(to, base + m.rows);
                if (lo < hi) {
                    MatrixKernels.multiply(m, lo - base, hi - base, xp, xqs, n, out, outStride, outOffset + base,
                            scratch);
                }
                base += m.rows;
                if (base >= to) break;
            }
        });
    }

    /** {@code GlmRMSNorm}: {@code weight * (x * rsqrt(mean(x^2, -1) + eps))}, in fp32; {@code out} may be {@code in}. */
    private void rmsNorm(float[] in, float[] weight, float[] out, int n) {
        for (int t = 0; t < n; t++) {
            int o = t * d;
            float sum = AttentionKernel.dot(in, o, in, o, d);
            float scale = (float) (1.0 / Math.sqrt(sum / d + eps));
            for (int j = 0; j < d; j++) {
                out[o + j] = weight[j] * (in[o + j] * scale);
            }
        }
    }

    private static void addBias(float[] rows, int n, int stride, int offset, float[] bias) {
        for (int t = 0; t < n; t++) {
            int o = t * stride + offset;
            for (int j = 0; j < bias.length; j++) {
                rows[o + j] += bias[j];
            }
        }
    }

    private static void add(float[] acc, float[] delta, int length) {
        for (int i = 0; i < length; i++) {
            acc[i] += delta[i];
        }
    }

    /**
     * {@code GlmRotaryEmbedding.forward}: {@code freqs = inv_freq * position} in fp32, then cos and sin; the
     * interleaved {@code rotate_half} pairs dims (2i, 2i+1) of the first R dims with frequency i.
     */
    private void rotaryTables(int n) {
        int half = inverseFrequencies.length;
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < half; i++) {
                float angle = positions[t] * inverseFrequencies[i];
                cos[t * half + i] = (float) Math.cos(angle);
                sin[t * half + i] = (float) Math.sin(angle);
            }
        }
    }

    /** {@code q_embed = cat([q_rot * cos + rotate_half(q_rot) * sin, q_pass])}, and the same for keys. */
    private void applyRotary(int n) {
        int half = inverseFrequencies.length;
        int headDim = c.headDim();
        int rotatedHeads = c.numHeads() + c.numKvHeads(); // queries then keys, side by side in qkv
        for (int t = 0; t < n; t++) {
            for (int h = 0; h < rotatedHeads; h++) {
                int o = t * qkvWidth + h * headDim;
                for (int i = 0; i < half; i++) {
                    float x1 = qkv[o + 2 * i];
                    float x2 = qkv[o + 2 * i + 1];
                    float cs = cos[t * half + i];
                    float sn = sin[t * half + i];
                    qkv[o + 2 * i] = x1 * cs - x2 * sn;
                    qkv[o + 2 * i + 1] = x2 * cs + x1 * sn;
                }
            }
        }
    }

    private void ensureCapacity(int n) {
        if (n <= capacity) return;
        int cap = Math.max(n, Math.min(2 * capacity, n + 256));
        int widest = Math.max(Math.max(d, qDim), ffn);
        positions = new int[cap];
        slots = new int[cap];
        tokenChunk = new int[cap];
        x = new float[cap * d];
        normed = new float[cap * d];
        xp = new float[MatrixKernels.activationsLength(cap, widest)];
        qkv = new float[cap * qkvWidth];
        attn = new float[cap * qDim];
        proj = new float[cap * d];
        gateUp = new float[cap * 2 * ffn];
        act = new float[cap * ffn];
        cos = new float[cap * inverseFrequencies.length];
        sin = new float[cap * inverseFrequencies.length];
        capacity = cap;
    }
}
