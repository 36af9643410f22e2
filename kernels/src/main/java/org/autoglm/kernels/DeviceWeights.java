package org.autoglm.kernels;

import java.nio.ByteBuffer;
import org.autoglm.kernels.cuda.CudaDevice;
import org.autoglm.kernels.cuda.DeviceBuffer;
import org.autoglm.kernels.quant.QuantizedCheckpoint;
import org.autoglm.models.ModelLoadException;
import org.autoglm.models.config.GlmConfig;
import org.autoglm.models.weights.Checkpoint;
import org.autoglm.models.weights.DType;
import org.autoglm.models.weights.LoadProgress;
import org.autoglm.models.weights.TensorInfo;

/** The model's weights in device memory, laid out by {@link WeightLayout}, as device addresses per layer. */
public final class DeviceWeights {

    private static final long STAGING_BYTES = 64L << 20;

    /** Device addresses of one decoder layer; 0 where the architecture has no such tensor. */
    public record Layer(long inputNorm, long qkv, long qkvBias, long o, long postAttentionNorm, long gateUp,
            long down, long postSelfAttnNorm, long postMlpNorm) {}

    private final long base;
    private final WeightLayout layout;
    private final Layer[] layers;

    /** Weights laid out by {@code layout} at device address {@code base}. */
    DeviceWeights(long base, WeightLayout layout, GlmConfig c) {
        this.base = base;
        this.layout = layout;
        this.layers = new Layer[c.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            String p = WeightLayout.layerPrefix(i);
            layers[i] = new Layer(addr(p + "input_layernorm.weight"), addr(p + "self_attn.q_proj.weight"),
                    addr(p + "self_attn.q_proj.bias"), addr(p + "self_attn.o_proj.weight"),
                    addr(p + "post_attention_layernorm.weight"), addr(p + "mlp.gate_up_proj.weight"),
                    addr(p + "mlp.down_proj.weight"), addr(p + "post_self_attn_layernorm.weight"),
                    addr(p + "post_mlp_layernorm.weight"));
        }
    }

    private long addr(String name) {
        WeightLayout.Entry e = layout.get(name);
        return e == null ? 0 : base + e.offset();
    }

    public Layer layer(int i) {
        return layers[i];
    }

    public long embedding() {
        return addr("model.embed_tokens.weight");
    }

    public long finalNorm() {
        return addr("model.norm.weight");
    }

    /** lm_head, or the embedding when tied. */
    public long lmHead() {
        long lm = addr("lm_head.weight");
        return lm != 0 ? lm : embedding();
    }

    /** Whether the linear layers' matrices are quantized ({@code quantized.cu}'s layout). */
    public boolean quantized() {
        return layout.quantization() != null;
    }

    /** Device room for the largest linear matrix dequantized (0 unless {@link #quantized}). */
    public long scratch() {
        return addr(WeightLayout.SCRATCH);
    }

    /** Bytes per element: 2 (bf16) or 4 (fp32). */
    public int elementBytes() {
        return layout.elementBytes();
    }

    public long bytes() {
        return layout.bytes();
    }

    /**
     * Copies the checkpoint's tensors into device memory as the layout's element type (bf16 or fp32), converting
     * on the GPU when the checkpoint stores the other one. Shows a progress bar for large models.
     */
    public static DeviceWeights load(Checkpoint ckpt, GlmConfig c, CudaDevice device, GlmKernels kernels,
            boolean bf16, WeightQuantization quantize) {
        WeightLayout layout = WeightLayout.of(c, bf16 ? 2 : 4, quantize);
        QuantizedCheckpoint quantized = quantize == null ? null : QuantizedCheckpoint.open(
                QuantizedCheckpoint.location(ckpt.directory(), quantize), quantize, ckpt, layout.entries().stream()
                        .filter(e -> layout.isQuantized(e.name()))
                        .map(e -> new QuantizedCheckpoint.Tensor(e.name(), e.shape())).toList());
        DType target = bf16 ? DType.BF16 : DType.F32;
        DeviceBuffer buffer = device.allocate(layout.bytes(), "model weights");
        DeviceBuffer staging = null;
        try (LoadProgress progress = LoadProgress.start("Loading weights to the GPU", layout.bytes())) {
            for (WeightLayout.Entry e : layout.entries()) {
                progress.advance(e.numel() * e.elementBytes());
                if (e.name().equals(WeightLayout.SCRATCH) || e.name().endsWith("_scale")) continue;
                long dst = buffer.at(e.offset());
                if (layout.isQuantized(e.name())) {
                    // the bytes, then the row scales at their own entry (right after, or after k and v for q)
                    ByteBuffer data = quantized.read(e.name());
                    long bytes = e.numel();
                    device.copyToDevice(dst, data.slice(0, (int) bytes));
                    device.copyToDevice(buffer.at(layout.get(e.name() + "_scale").offset()),
                            data.slice((int) bytes, 4 * (int) e.shape()[0]));
                    continue;
                }
                TensorInfo info = ckpt.info(e.name(), e.shape());
                if (info.dtype() == target) {
                    copyRaw(ckpt, e.name(), info.byteSize(), dst, device);
                } else if (info.dtype() == DType.F16) {
                    throw new ModelLoadException("tensor " + e.name() + " in " + info.file() + " is float16; the cuda"
                            + " backend reads float32 and bfloat16 checkpoints");
                } else {
                    if (staging == null) staging = device.allocate(STAGING_BYTES, "weight conversion staging");
                    convert(ckpt, e.name(), info, dst, staging, device, kernels);
                }
            }
            device.synchronize();
        } catch (RuntimeException ex) {
            buffer.close();
            throw ex;
        } finally {
            if (staging != null) staging.close();
        }
        return new DeviceWeights(buffer.address(), layout, c);
    }

    /** Random weights of the config's shape, made on the GPU (benchmarks): norms near 1, matrices small. */
    public static DeviceWeights random(GlmConfig c, CudaDevice device, GlmKernels kernels, boolean bf16, long seed,
            WeightQuantization quantize) {
        WeightLayout layout = WeightLayout.of(c, bf16 ? 2 : 4, quantize);
        DeviceBuffer buffer = device.allocate(layout.bytes(), "model weights");
        long s = seed;
        for (WeightLayout.Entry e : layout.entries()) {
            if (e.name().equals(WeightLayout.SCRATCH) || e.name().endsWith("_scale")) continue;
            if (layout.isQuantized(e.name())) {   // its scales follow it (q, k and v: one fill for the three)
                int cols = (int) e.shape()[1];
                if (e.name().endsWith("k_proj.weight") || e.name().endsWith("v_proj.weight")) continue;
                int rows = e.name().endsWith("q_proj.weight")
                        ? (c.numHeads() + 2 * c.numKvHeads()) * c.headDim() : (int) e.shape()[0];
                kernels.fillQuantized(buffer.at(e.offset()), cols, rows, s++, (float) (1.0 / Math.sqrt(cols)));
                continue;
            }
            boolean norm = e.name().endsWith("layernorm.weight") || e.name().equals("model.norm.weight");
            boolean bias = e.name().endsWith(".bias");
            float scale = norm ? 0.05f : bias ? 0.01f : (float) (1.0 / Math.sqrt(e.shape()[e.shape().length - 1]));
            kernels.fillUniform(buffer.at(e.offset()), e.numel(), s++, norm ? 1f : 0f, scale);
        }
        device.synchronize();
        return new DeviceWeights(buffer.address(), layout, c);
    }

    private static void copyRaw(Checkpoint ckpt, String name, long bytes, long dst, CudaDevice device) {
        long part = 1L << 30;
        for (long done = 0; done < bytes; done += part) {
            int n = (int) Math.min(part, bytes - done);
            ByteBuffer src = ckpt.raw(name, done, n);
            device.copyToDevice(dst + done, src);
        }
    }

    private static void convert(Checkpoint ckpt, String name, TensorInfo info, long dst, DeviceBuffer staging,
            CudaDevice device, GlmKernels kernels) {
        int srcBytes = info.dtype().bytes();
        int dstBytes = info.dtype() == DType.F32 ? 2 : 4;   // the other element type
        long perChunk = STAGING_BYTES / srcBytes;
        for (long first = 0; first < info.numel(); first += perChunk) {
            long n = Math.min(perChunk, info.numel() - first);
            device.synchronize();   // the previous conversion has read the staging buffer
            device.copyToDevice(staging.address(), ckpt.raw(name, first * srcBytes, (int) (n * srcBytes)));
            long out = dst + first * dstBytes;
            if (info.dtype() == DType.F32) {
                kernels.f32ToElem(staging.address(), out, n);
            } else {
                kernels.bf16ToElem(staging.address(), out, n);
            }
        }
    }
}
