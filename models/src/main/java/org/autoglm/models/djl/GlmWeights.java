package org.autoglm.models.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.autoglm.models.config.GlmConfig;
import org.autoglm.models.weights.Checkpoint;
import org.autoglm.models.weights.DType;
import org.autoglm.models.weights.LoadProgress;
import org.autoglm.models.weights.TensorInfo;

/**
 * The GLM weights as fp32 NDArrays, in the Hugging Face {@code [out, in]} layout that {@code linear} takes.
 * fp32 tensors alias the memory-mapped file (one copy, in the page cache); F16/BF16 tensors are widened
 * straight into tensor memory in bounded slices (DJL's BFLOAT16 type aborts the JVM, so it is never used).
 */
final class GlmWeights {

    /** One decoder layer. Biases are null without {@code attention_bias}; post norms are null for glm. */
    record Layer(
            NDArray inputNorm,
            NDArray qWeight, NDArray qBias,
            NDArray kWeight, NDArray kBias,
            NDArray vWeight, NDArray vBias,
            NDArray oWeight,
            NDArray postSelfAttnNorm,
            NDArray postAttentionNorm,
            NDArray gateUpWeight,
            NDArray downWeight,
            NDArray postMlpNorm) {}

    /** Widened tensors are filled in slices of about this size (no Java array ever holds a whole tensor). */
    static final long SLICE_BYTES = 256L << 20;

    final NDArray embedTokens;
    final List<Layer> layers;
    final NDArray finalNorm;
    final NDArray lmHead;

    private final Checkpoint checkpoint;
    private final NDManager manager;
    private final LoadProgress progress;
    private final long sliceBytes;

    private GlmWeights(GlmConfig config, Checkpoint checkpoint, NDManager manager, LoadProgress progress,
                       long sliceBytes) {
        this.checkpoint = checkpoint;
        this.manager = manager;
        this.progress = progress;
        this.sliceBytes = sliceBytes;
        long d = config.hiddenSize();
        long qDim = (long) config.numHeads() * config.headDim();
        long kvDim = (long) config.numKvHeads() * config.headDim();
        long ffn = config.intermediateSize();

        embedTokens = load("model.embed_tokens.weight", config.vocabSize(), d);
        List<Layer> list = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            boolean bias = config.attentionBias();
            boolean post = config.hasPostNorms();
            list.add(new Layer(
                    load(p + "input_layernorm.weight", d),
                    load(p + "self_attn.q_proj.weight", qDim, d),
                    bias ? load(p + "self_attn.q_proj.bias", qDim) : null,
                    load(p + "self_attn.k_proj.weight", kvDim, d),
                    bias ? load(p + "self_attn.k_proj.bias", kvDim) : null,
                    load(p + "self_attn.v_proj.weight", kvDim, d),
                    bias ? load(p + "self_attn.v_proj.bias", kvDim) : null,
                    load(p + "self_attn.o_proj.weight", d, qDim),
                    post ? load(p + "post_self_attn_layernorm.weight", d) : null,
                    load(p + "post_attention_layernorm.weight", d),
                    load(p + "mlp.gate_up_proj.weight", 2 * ffn, d),
                    load(p + "mlp.down_proj.weight", d, ffn),
                    post ? load(p + "post_mlp_layernorm.weight", d) : null));
        }
        layers = List.copyOf(list);
        finalNorm = load("model.norm.weight", d);
        // Tied checkpoints usually omit lm_head.weight; when present it wins, as in transformers.
        lmHead = config.tieWordEmbeddings() && !checkpoint.contains("lm_head.weight")
                ? embedTokens
                : load("lm_head.weight", config.vocabSize(), d);
    }

    /** Loads every weight of {@code config} from {@code checkpoint} into arrays owned by {@code manager}. */
    static GlmWeights load(GlmConfig config, Checkpoint checkpoint, NDManager manager) {
        return load(config, checkpoint, manager, SLICE_BYTES);
    }

    static GlmWeights load(GlmConfig config, Checkpoint checkpoint, NDManager manager, long sliceBytes) {
        try (LoadProgress progress = LoadProgress.start("Loading " + checkpoint.directory().getFileName(),
                checkpoint.totalBytes())) {
            return new GlmWeights(config, checkpoint, manager, progress, sliceBytes);
        }
    }

    private NDArray load(String name, long... shape) {
        TensorInfo info = checkpoint.info(name, shape);
        NDArray array;
        if (info.dtype() == DType.F32 && info.byteSize() <= Integer.MAX_VALUE && checkpoint.isAligned(name, 4)) {
            array = aliasMapped(info);
        } else {
            array = widen(info);
        }
        progress.advance(info.byteSize());
        return array;
    }

    /**
     * fp32 on disk: the array reads the mapped file directly (torch.from_blob over the mapping). Nothing writes
     * to weights, so the read-only mapping is safe.
     */
    private NDArray aliasMapped(TensorInfo info) {
        ByteBuffer mapped = checkpoint.raw(info.name());
        if (mapped instanceof MappedByteBuffer m) {
            m.load(); // fault the pages in now, while the progress bar runs, not during the first request
        }
        return manager.create(mapped, new Shape(info.shape()), DataType.FLOAT32);
    }

    /** F16/BF16 (or unaligned or huge fp32): allocate fp32 tensor memory and widen into it, rows at a time. */
    private NDArray widen(TensorInfo info) {
        long[] shape = info.shape();
        NDArray array = manager.create(new Shape(shape), DataType.FLOAT32);
        if (shape.length <= 1) {
            fill(array, info, 0);
            return array;
        }
        long rowElements = info.numel() / shape[0];
        long rowsPerSlice = Math.max(1, sliceBytes / Math.max(1, rowElements * Float.BYTES));
        for (long row = 0; row < shape[0]; row += rowsPerSlice) {
            try (NDArray rows = array.get(new NDIndex("{}:{}", row, Math.min(shape[0], row + rowsPerSlice)))) {
                fill(rows, info, row * rowElements);
            }
        }
        return array;
    }

    /** Widens the tensor's elements from {@code firstElement} on into {@code target}, a contiguous fp32 array. */
    private void fill(NDArray target, TensorInfo info, long firstElement) {
        // toByteBuffer(true) of a contiguous array (or row slice) is a view of the tensor's own memory
        checkpoint.readFloat32(info.name(), firstElement, target.toByteBuffer(true).asFloatBuffer());
    }
}
