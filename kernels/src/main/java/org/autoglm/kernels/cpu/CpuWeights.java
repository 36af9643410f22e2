package org.autoglm.kernels.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.autoglm.models.config.GlmConfig;
import org.autoglm.models.weights.Checkpoint;
import org.autoglm.models.weights.TensorInfo;

/**
 * The GLM weights as the CPU backend runs them: linear weights as {@link WeightMatrix} views of memory-mapped files
 * (the checkpoint itself, or the quantized copy {@link QuantizedFile} keeps beside it), norm weights and biases as
 * small fp32 arrays. The embedding is always read as stored: a step touches only its tokens' rows.
 */
final class CpuWeights {

    /** One decoder layer; biases are null without {@code attention_bias}, post norms null for glm. */
    record Layer(
            float[] inputNorm,
            WeightMatrix q, float[] qBias,
            WeightMatrix k, float[] kBias,
            WeightMatrix v, float[] vBias,
            WeightMatrix o,
            float[] postSelfAttnNorm,
            float[] postAttentionNorm,
            WeightMatrix gateUp,
            WeightMatrix down,
            float[] postMlpNorm) {}

    final WeightMatrix embedding;
    final List<Layer> layers;
    final float[] finalNorm;
    final WeightMatrix lmHead;

    private CpuWeights(WeightMatrix embedding, List<Layer> layers, float[] finalNorm, WeightMatrix lmHead) {
        this.embedding = embedding;
        this.layers = layers;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
    }

    /** The names of the linear weights, in file order, with their {@code [rows, cols]}; lm_head last. */
    static List<LinearName> linearNames(GlmConfig c, Checkpoint checkpoint) {
        int d = c.hiddenSize();
        int qDim = c.numHeads() * c.headDim();
        int kvDim = c.numKvHeads() * c.headDim();
        int ffn = c.intermediateSize();
        List<LinearName> names = new ArrayList<>();
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            names.add(new LinearName(p + "self_attn.q_proj.weight", qDim, d));
            names.add(new LinearName(p + "self_attn.k_proj.weight", kvDim, d));
            names.add(new LinearName(p + "self_attn.v_proj.weight", kvDim, d));
            names.add(new LinearName(p + "self_attn.o_proj.weight", d, qDim));
            names.add(new LinearName(p + "mlp.gate_up_proj.weight", 2 * ffn, d));
            names.add(new LinearName(p + "mlp.down_proj.weight", d, ffn));
        }
        names.add(new LinearName(lmHeadName(c, checkpoint), c.vocabSize(), d));
        return names;
    }

    /** A linear weight of the checkpoint and the shape the config gives it. */
    record LinearName(String name, int rows, int cols) {}

    /** Tied checkpoints usually omit lm_head.weight; when present it wins, as in transformers. */
    static String lmHeadName(GlmConfig c, Checkpoint checkpoint) {
        return c.tieWordEmbeddings() && !checkpoint.contains("lm_head.weight")
                ? "model.embed_tokens.weight"
                : "lm_head.weight";
    }

    /** Loads the weights; {@code linear} provides each linear weight by name (stored or quantized). */
    static CpuWeights load(GlmConfig c, Checkpoint checkpoint, Function<String, WeightMatrix> linear) {
        int d = c.hiddenSize();
        int qDim = c.numHeads() * c.headDim();
        int kvDim = c.numKvHeads() * c.headDim();
        List<Layer> layers = new ArrayList<>();
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            boolean bias = c.attentionBias();
            boolean post = c.hasPostNorms();
            layers.add(new Layer(
                    checkpoint.readFloat32(p + "input_layernorm.weight", d),
                    linear.apply(p + "self_attn.q_proj.weight"),
                    bias ? checkpoint.readFloat32(p + "self_attn.q_proj.bias", qDim) : null,
                    linear.apply(p + "self_attn.k_proj.weight"),
                    bias ? checkpoint.readFloat32(p + "self_attn.k_proj.bias", kvDim) : null,
                    linear.apply(p + "self_attn.v_proj.weight"),
                    bias ? checkpoint.readFloat32(p + "self_attn.v_proj.bias", kvDim) : null,
                    linear.apply(p + "self_attn.o_proj.weight"),
                    post ? checkpoint.readFloat32(p + "post_self_attn_layernorm.weight", d) : null,
                    checkpoint.readFloat32(p + "post_attention_layernorm.weight", d),
                    linear.apply(p + "mlp.gate_up_proj.weight"),
                    linear.apply(p + "mlp.down_proj.weight"),
                    post ? checkpoint.readFloat32(p + "post_mlp_layernorm.weight", d) : null));
        }
        WeightMatrix embedding = stored(checkpoint, "model.embed_tokens.weight", c.vocabSize(), d);
        return new CpuWeights(embedding, List.copyOf(layers), checkpoint.readFloat32("model.norm.weight", d),
                linear.apply(lmHeadName(c, checkpoint)));
    }

    /** A checkpoint tensor as stored (f32, bf16 or f16), mapped in slabs. */
    static WeightMatrix stored(Checkpoint checkpoint, String name, int rows, int cols) {
        TensorInfo info = checkpoint.info(name, rows, cols);
        WeightType type = WeightType.of(info.dtype());
        int perSlab = WeightMatrix.rowsPerSlab(type, rows, cols);
        long rowBytes = type.quantBytes(cols);
        WeightMatrix.Slab[] slabs = new WeightMatrix.Slab[(rows + perSlab - 1) / perSlab];
        for (int s = 0; s < slabs.length; s++) {
            int first = s * perSlab;
            int count = Math.min(perSlab, rows - first);
            slabs[s] = new WeightMatrix.Slab(checkpoint.raw(name, first * rowBytes, (int) (count * rowBytes)), null);
        }
        return new WeightMatrix(type, rows, cols, perSlab, slabs);
    }

    /** Bytes of every weight as held (what a step streams, plus the embedding). */
    long bytes() {
        long total = embedding.bytes() + (lmHead == embedding ? 0 : lmHead.bytes());
        for (Layer l : layers) {
            total += l.q().bytes() + l.k().bytes() + l.v().bytes() + l.o().bytes() + l.gateUp().bytes()
                    + l.down().bytes();
        }
        return total;
    }
}
