package org.autoglm.models.weights;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.autoglm.models.config.GlmConfig;
import org.autoglm.models.config.GlmConfigReader;

/**
 * Writes a randomly initialised GLM checkpoint ({@code config.json} + {@code model.safetensors}) of any shape:
 * the built-in demo model and the benchmark checkpoints. Values are generated while writing, so a multi-GB
 * checkpoint needs no memory. Initialisation follows transformers' {@code _init_weights} (linear and embedding
 * weights N(0, 0.02)) with norm weights near 1 and small biases, so activations stay in a sane range.
 * The tokenizer is not written here.
 */
public final class RandomCheckpointWriter {

    /** Standard deviation of linear and embedding weights ({@code initializer_range}). */
    public static final double INIT_STD = 0.02;

    private RandomCheckpointWriter() {}

    /**
     * The shape of THUDM glm-edge-1.5b-chat (hidden 2048, 28 layers, 16 heads, 4 KV heads, head dim 128,
     * MLP 6144, vocab 59264, half the head dims rotated), as used by the benchmarks.
     */
    public static GlmConfig glmEdge15bShape(String modelType) {
        return new GlmConfig(modelType, 59264, 2048, 6144, 28, 16, 4, 128, 0.5, 10000.0, 1e-5, 8192, true, false,
                new int[] {59246, 59253, 59255}, 59246, "float32");
    }

    /** Writes {@code config.json} and {@code model.safetensors} of {@code config} into {@code dir}. */
    public static void write(Path dir, GlmConfig config, DType dtype, long seed) throws IOException {
        write(dir, config, dtype, seed, INIT_STD);
    }

    /** As {@link #write(Path, GlmConfig, DType, long)}, with linear and embedding weights N(0, {@code std}). */
    public static void write(Path dir, GlmConfig config, DType dtype, long seed, double std) throws IOException {
        Files.createDirectories(dir);
        writeConfig(dir.resolve(GlmConfigReader.FILE_NAME), config, dtype);
        long d = config.hiddenSize();
        long qDim = (long) config.numHeads() * config.headDim();
        long kvDim = (long) config.numKvHeads() * config.headDim();
        long ffn = config.intermediateSize();
        SafetensorsWriter writer = new SafetensorsWriter();
        Tensors t = new Tensors(writer, dtype, seed);
        t.normal("model.embed_tokens.weight", std, 0, config.vocabSize(), d);
        for (int i = 0; i < config.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            t.normal(p + "input_layernorm.weight", 0.02, 1.0, d);
            t.normal(p + "self_attn.q_proj.weight", std, 0, qDim, d);
            t.normal(p + "self_attn.k_proj.weight", std, 0, kvDim, d);
            t.normal(p + "self_attn.v_proj.weight", std, 0, kvDim, d);
            if (config.attentionBias()) {
                t.normal(p + "self_attn.q_proj.bias", std, 0, qDim);
                t.normal(p + "self_attn.k_proj.bias", std, 0, kvDim);
                t.normal(p + "self_attn.v_proj.bias", std, 0, kvDim);
            }
            t.normal(p + "self_attn.o_proj.weight", std, 0, d, qDim);
            t.normal(p + "post_attention_layernorm.weight", 0.02, 1.0, d);
            if (config.hasPostNorms()) {
                t.normal(p + "post_self_attn_layernorm.weight", 0.02, 1.0, d);
                t.normal(p + "post_mlp_layernorm.weight", 0.02, 1.0, d);
            }
            t.normal(p + "mlp.gate_up_proj.weight", std, 0, 2 * ffn, d);
            t.normal(p + "mlp.down_proj.weight", std, 0, d, ffn);
        }
        t.normal("model.norm.weight", 0.02, 1.0, d);
        if (!config.tieWordEmbeddings()) {
            t.normal("lm_head.weight", std, 0, config.vocabSize(), d);
        }
        writer.writeFile(dir.resolve(Checkpoint.SINGLE_FILE));
    }

    /** Gaussian tensors; each has its own generator seeded from the name, so values do not depend on order. */
    private record Tensors(SafetensorsWriter writer, DType dtype, long seed) {
        void normal(String name, double std, double mean, long... shape) {
            SplittableRandom random = new SplittableRandom(seed * 31 + name.hashCode());
            writer.add(name, dtype, shape, (start, out, count) -> {
                for (int i = 0; i < count; i++) {
                    out[i] = (float) (mean + std * random.nextGaussian());
                }
            });
        }
    }

    /** A Hugging Face style config.json, with rotary settings in both the old and the new places. */
    static void writeConfig(Path file, GlmConfig c, DType dtype) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.putArray("architectures").add(c.hasPostNorms() ? "Glm4ForCausalLM" : "GlmForCausalLM");
        root.put("model_type", c.modelType());
        root.put("vocab_size", c.vocabSize());
        root.put("hidden_size", c.hiddenSize());
        root.put("intermediate_size", c.intermediateSize());
        root.put("num_hidden_layers", c.numLayers());
        root.put("num_attention_heads", c.numHeads());
        root.put("num_key_value_heads", c.numKvHeads());
        root.put("head_dim", c.headDim());
        root.put("hidden_act", "silu");
        root.put("partial_rotary_factor", c.partialRotaryFactor());
        root.put("rope_theta", c.ropeTheta());
        ObjectNode rope = root.putObject("rope_parameters");
        rope.put("rope_type", "default");
        rope.put("rope_theta", c.ropeTheta());
        rope.put("partial_rotary_factor", c.partialRotaryFactor());
        root.put("rms_norm_eps", c.rmsNormEps());
        root.put("max_position_embeddings", c.maxPositionEmbeddings());
        root.put("attention_bias", c.attentionBias());
        root.put("tie_word_embeddings", c.tieWordEmbeddings());
        ArrayNode eos = root.putArray("eos_token_id");
        for (int id : c.eosTokenIds()) {
            eos.add(id);
        }
        if (c.padTokenId() >= 0) {
            root.put("pad_token_id", c.padTokenId());
        }
        root.put("initializer_range", INIT_STD);
        root.put("dtype", dtype.torchName());
        Files.writeString(file, json.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n");
    }
}
