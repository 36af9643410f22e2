package org.autoglm.kernels;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.autoglm.models.config.GlmConfig;

/**
 * Where each checkpoint tensor goes in the one device allocation that holds the weights. q, k and v projections
 * (and their biases) are placed back to back so that one GEMM computes all three ({@code qkv}); every other
 * tensor starts on a 256-byte boundary. Pure host code.
 */
public final class WeightLayout {

    private static final int ALIGN = 256;

    /** A tensor's checkpoint name, expected shape and byte offset in the device allocation. */
    public record Entry(String name, long[] shape, long offset) {
        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }
    }

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final int elementBytes;
    private long size;

    private WeightLayout(int elementBytes) {
        this.elementBytes = elementBytes;
    }

    public static WeightLayout of(GlmConfig c, int elementBytes) {
        WeightLayout l = new WeightLayout(elementBytes);
        long h = c.hiddenSize();
        long q = (long) c.numHeads() * c.headDim();
        long kv = (long) c.numKvHeads() * c.headDim();
        l.add("model.embed_tokens.weight", false, c.vocabSize(), h);
        for (int i = 0; i < c.numLayers(); i++) {
            String p = layerPrefix(i);
            l.add(p + "input_layernorm.weight", false, h);
            l.add(p + "self_attn.q_proj.weight", false, q, h);
            l.add(p + "self_attn.k_proj.weight", true, kv, h);
            l.add(p + "self_attn.v_proj.weight", true, kv, h);
            if (c.attentionBias()) {
                l.add(p + "self_attn.q_proj.bias", false, q);
                l.add(p + "self_attn.k_proj.bias", true, kv);
                l.add(p + "self_attn.v_proj.bias", true, kv);
            }
            l.add(p + "self_attn.o_proj.weight", false, h, q);
            l.add(p + "post_attention_layernorm.weight", false, h);
            l.add(p + "mlp.gate_up_proj.weight", false, 2L * c.intermediateSize(), h);
            l.add(p + "mlp.down_proj.weight", false, h, c.intermediateSize());
            if (c.hasPostNorms()) {
                l.add(p + "post_self_attn_layernorm.weight", false, h);
                l.add(p + "post_mlp_layernorm.weight", false, h);
            }
        }
        l.add("model.norm.weight", false, h);
        if (!c.tieWordEmbeddings()) l.add("lm_head.weight", false, c.vocabSize(), h);
        return l;
    }

    public static String layerPrefix(int layer) {
        return "model.layers." + layer + ".";
    }

    private void add(String name, boolean contiguousWithPrevious, long... shape) {
        if (!contiguousWithPrevious) size = (size + ALIGN - 1) / ALIGN * ALIGN;
        Entry e = new Entry(name, shape, size);
        entries.put(name, e);
        size += e.numel() * elementBytes;
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
