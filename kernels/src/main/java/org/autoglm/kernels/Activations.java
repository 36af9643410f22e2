package org.autoglm.kernels;

import static org.autoglm.kernels.cuda.CuDriver.check;

import org.autoglm.kernels.cuda.CuDriver;
import org.autoglm.kernels.cuda.CudaDevice;
import org.autoglm.kernels.cuda.DeviceBuffer;
import org.autoglm.kernels.plan.LaunchGeometry;
import org.autoglm.models.config.GlmConfig;

/**
 * The forward pass's device buffers, allocated once for at most {@code maxTokens} tokens and {@code maxSeqs}
 * sequences per step (so a captured graph's addresses stay valid). fp32 where a GEMM writes or the residual
 * stream lives, the element type where a GEMM reads.
 */
final class Activations {

    final int maxTokens;
    final int maxSeqs;
    final long residual;   // [tokens, hidden] fp32
    final long residualSpare; // [hidden] fp32: the residual's second buffer in SingleTokenForward
    final long normed;     // [tokens, hidden] elem: input of qkv / gate_up; final norm output
    final long qkv;        // [tokens, (heads + 2 kvHeads) * headDim] fp32
    final long attn;       // [tokens, heads * headDim] elem
    final long proj;       // [tokens, hidden] fp32: o_proj and down_proj outputs
    final long gateUp;     // [tokens, 2 * intermediate] fp32
    final long act;        // [tokens, intermediate] elem
    final long lmIn;       // [seqs, hidden] elem: rows whose logits are wanted
    final long logits;     // [seqs, vocab] fp32
    final long partAcc;    // [seqs * heads * MAX_SPLITS, headDim] fp32: split-K partials (decode)
    final long partMl;     // [seqs * heads * MAX_SPLITS, 2] fp32
    final long splitCounters; // [seqs * heads] int, zero between steps: split-K blocks finished per (tile, kv head)
    final long dense;      // scratch of dense causal attention for up to maxTokens tokens (0 bytes when unused)
    final long bytes;

    static Activations allocate(CudaDevice device, GlmConfig c, int elementBytes, int maxTokens, int maxSeqs,
            boolean dense) {
        long bytes = estimate(c, elementBytes, maxTokens, maxSeqs, dense);
        DeviceBuffer b = device.allocate(bytes, "activation buffers for " + maxTokens + " tokens");
        Activations a = new Activations(b.address(), c, elementBytes, maxTokens, maxSeqs, dense);
        check(CuDriver.cuMemsetD8Async(a.splitCounters, (byte) 0, 4L * maxSeqs * c.numHeads(), device.stream()),
                "cuMemsetD8Async(split-K counters)");
        device.synchronize();
        return a;
    }

    /** The buffers at device address {@code base}, which holds {@code bytes(...)} bytes. */
    Activations(long base, GlmConfig c, int elementBytes, int maxTokens, int maxSeqs, boolean dense) {
        this.maxTokens = maxTokens;
        this.maxSeqs = maxSeqs;
        long[] offsets = layout(c, elementBytes, maxTokens, maxSeqs, dense);
        this.bytes = offsets[14];
        residual = base + offsets[0];
        normed = base + offsets[1];
        qkv = base + offsets[2];
        attn = base + offsets[3];
        proj = base + offsets[4];
        gateUp = base + offsets[5];
        act = base + offsets[6];
        lmIn = base + offsets[7];
        logits = base + offsets[8];
        partAcc = base + offsets[9];
        partMl = base + offsets[10];
        splitCounters = base + offsets[11];
        this.dense = base + offsets[12];
        residualSpare = base + offsets[13];
    }

    /** Byte offsets of the fourteen buffers (256-aligned), then the total. */
    static long[] layout(GlmConfig c, int elementBytes, int maxTokens, int maxSeqs, boolean dense) {
        long t = maxTokens;
        long h = c.hiddenSize();
        long qkvWidth = (long) (c.numHeads() + 2 * c.numKvHeads()) * c.headDim();
        long attnWidth = (long) c.numHeads() * c.headDim();
        long inter = c.intermediateSize();
        long partRows = (long) maxSeqs * c.numHeads() * LaunchGeometry.MAX_SPLITS;
        long[] sizes = {
            4 * t * h, elementBytes * t * h, 4 * t * qkvWidth, elementBytes * t * attnWidth, 4 * t * h,
            4 * t * 2 * inter, elementBytes * t * inter, elementBytes * maxSeqs * h, 4L * maxSeqs * c.vocabSize(),
            4 * partRows * c.headDim(), 4 * partRows * 2, 4L * maxSeqs * c.numHeads(),
            dense ? ForwardKernels.denseScratchBytes(maxTokens, c.numHeads(), c.numKvHeads(), c.headDim(), elementBytes) : 0,
            4 * h
        };
        long[] offsets = new long[sizes.length + 1];
        for (int i = 0; i < sizes.length; i++) {
            offsets[i + 1] = offsets[i] + (sizes[i] + 255) / 256 * 256;
        }
        return offsets;
    }

    /** Bytes the buffers take, for the memory plan before allocating. */
    static long estimate(GlmConfig c, int elementBytes, int maxTokens, int maxSeqs, boolean dense) {
        return layout(c, elementBytes, maxTokens, maxSeqs, dense)[14];
    }
}
