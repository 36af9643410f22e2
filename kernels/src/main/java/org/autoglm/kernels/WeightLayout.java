package org.autoglm.kernels;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.autoglm.models.config.GlmConfig;

/**
 * Where each checkpoint tensor goes in the one device allocation that holds the weights. q, k and v projections
 * (and their biases) are placed back to back so that one GEMM computes all three ({@code qkv}); every other
 * tensor starts on a 256-byte boundary. With weight-only quantization the linear layers' matrices (not the
 * embedding or lm_head) take one byte per weight, each followed by its per-row fp32 scales ({@code NAME_scale}; q, k
 * and v's back to back after v, so that qkv is one matrix then its scales, as quantized.cu reads them), and a
 * scratch entry holds the largest matrix dequantized for GEMMs. Pure host code.
 */
public final class WeightLayout {

    private static final int ALIGN = 256;

    /** The dequantization scratch's name (no checkpoint tensor). */
    public static final String SCRATCH = "quantized.dequantize_scratch";

    /** A tensor's checkpoint name, expected shape, byte offset in the device allocation and bytes per element. */
    public record Entry(String name, long[] shape, long offset, int elementBytes) {
        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }
    }

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final int elementBytes;
    private final WeightQuantization quantization;
    private long size;

    private WeightLayout(int elementBytes, WeightQuantization quantization) {
        this.elementBytes = elementBytes;
        this.quantization = quantization;
    }

    public static WeightLayout of(GlmConfig c, int elementBytes) {
        return of(c, elementBytes, null);
    }

    /** With the linear layers quantized to {@code quantization} (null: as {@link #of(GlmConfig, int)}). */
    public static WeightLayout of(GlmConfig c, int elementBytes, WeightQuantization quantization) {
        WeightLayout l = new WeightLayout(elementBytes, quantization);
        long h = c.hiddenSize();
        long q = (long) c.numHeads() * c.headDim();
        long kv = (long) c.numKvHeads() * c.headDim();
        l.add("model.embed_tokens.weight", false, c.vocabSize(), h);
        for (int i = 0; i < c.numLayers(); i++) {
            String p = layerPrefix(i);
            l.add(p + "input_layernorm.weight", false, h);
            l.addLinear(p + "self_attn.q_proj.weight", false, q, h);
            l.addLinear(p + "self_attn.k_proj.weight", true, kv, h);
            l.addLinear(p + "self_attn.v_proj.weight", true, kv, h);
            l.addScales(p + "self_attn.q_proj.weight", p + "self_attn.k_proj.weight", p + "self_attn.v_proj.weight");
            if (c.attentionBias()) {
                l.add(p + "self_attn.q_proj.bias", false, q);
                l.add(p + "self_attn.k_proj.bias", true, kv);
                l.add(p + "self_attn.v_proj.bias", true, kv);
            }
            l.addLinear(p + "self_attn.o_proj.weight", false, h, q);
            l.addScales(p + "self_attn.o_proj.weight");
            l.add(p + "post_attention_layernorm.weight", false, h);
            l.addLinear(p + "mlp.gate_up_proj.weight", false, 2L * c.intermediateSize(), h);
            l.addScales(p + "mlp.gate_up_proj.weight");
            l.addLinear(p + "mlp.down_proj.weight", false, h, c.intermediateSize());
            l.addScales(p + "mlp.down_proj.weight");
            if (c.hasPostNorms()) {
                l.add(p + "post_self_attn_layernorm.weight", false, h);
                l.add(p + "post_mlp_layernorm.weight", false, h);
            }
        }
        l.add("model.norm.weight", false, h);
        if (!c.tieWordEmbeddings()) l.add("lm_head.weight", false, c.vocabSize(), h);
        if (quantization != null) {
            long largest = Math.max(Math.max((q + 2 * kv) * h, h * q), 2L * c.intermediateSize() * h);
            l.add(SCRATCH, false, largest);
        }
        return l;
    }

    /** Whether {@code name} is a linear layer's matrix, quantized when the layout is. */
    public boolean isQuantized(String name) {
        Entry e = entries.get(name);
        return quantization != null && e != null && e.elementBytes() == 1;
    }

    /** The quantization of the linear layers, or null. */
    public WeightQuantization quantization() {
        return quantization;
    }

    private void addLinear(String name, boolean contiguousWithPrevious, long... shape) {
        addSized(name, contiguousWithPrevious, quantization != null ? 1 : elementBytes, shape);
    }

    /** The fp32 row scales of the matrices just added, back to back right after the last of them. */
    private void addScales(String... matrices) {
        if (quantization == null) return;
        for (String m : matrices) addSized(m + "_scale", true, 4, entries.get(m).shape()[0]);
    }

    public static String layerPrefix(int layer) {
        return "model.layers." + layer + ".";
    }

    private void add(String name, boolean contiguousWithPrevious, long... shape) {
        addSized(name, contiguousWithPrevious, elementBytes, shape);
    }

    private void addSized(String name, boolean contiguousWithPrevious, int bytes, long... shape) {
        if (!contiguousWithPrevious) size = (size + ALIGN - 1) / ALIGN * ALIGN;
        Entry e = new Entry(name, shape, size, bytes);
        entries.put(name, e);
        size += e.numel() * bytes;
    }

    public List<Entry> entries() {
        return new ArrayList<>(entries.values());
    }

    /** The entry called {@code name}, or null (e.g. biases of a checkpoint without attention_bias). */
    public Entry get(String name) {
        return entries.get(name);
    }

    /** Bytes of the whole allocation. */
    public long bytes() {
        return size;
    }

    public int elementBytes() {
        return elementBytes;
    }
}
