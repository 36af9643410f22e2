package org.autoglm.kernels;

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
    final long bytes;

    Activations(CudaDevice device, GlmConfig c, int elementBytes, int maxTokens, int maxSeqs) {
        this.maxTokens = maxTokens;
        this.maxSeqs = maxSeqs;
        long t = maxTokens;
        long h = c.hiddenSize();
        long qkvWidth = (long) (c.numHeads() + 2 * c.numKvHeads()) * c.headDim();
        long attnWidth = (long) c.numHeads() * c.headDim();
        long inter = c.intermediateSize();
        long partRows = (long) maxSeqs * c.numHeads() * LaunchGeometry.MAX_SPLITS;
        long[] sizes = {
            4 * t * h, elementBytes * t * h, 4 * t * qkvWidth, elementBytes * t * attnWidth, 4 * t * h,
            4 * t * 2 * inter, elementBytes * t * inter, elementBytes * maxSeqs * h, 4L * maxSeqs * c.vocabSize(),
            4 * partRows * c.headDim(), 4 * partRows * 2
        };
        long total = 0;
        long[] offsets = new long[sizes.length];
        for (int i = 0; i < sizes.length; i++) {
            offsets[i] = total;
            total += (sizes[i] + 255) / 256 * 256;
        }
        DeviceBuffer b = device.allocate(total, "activation buffers for " + maxTokens + " tokens");
        this.bytes = total;
        residual = b.at(offsets[0]);
        normed = b.at(offsets[1]);
        qkv = b.at(offsets[2]);
        attn = b.at(offsets[3]);
        proj = b.at(offsets[4]);
        gateUp = b.at(offsets[5]);
        act = b.at(offsets[6]);
        lmIn = b.at(offsets[7]);
        logits = b.at(offsets[8]);
        partAcc = b.at(offsets[9]);
        partMl = b.at(offsets[10]);
    }

    /** Bytes {@link #Activations} would allocate, for the memory plan before allocating. */
    static long estimate(GlmConfig c, int elementBytes, int maxTokens, int maxSeqs) {
        long t = maxTokens;
        long perToken = 4L * c.hiddenSize() * 2 + (long) elementBytes * c.hiddenSize()
                + 4L * (c.numHeads() + 2L * c.numKvHeads()) * c.headDim()
                + (long) elementBytes * c.numHeads() * c.headDim() + 4L * 2 * c.intermediateSize()
                + (long) elementBytes * c.intermediateSize();
        long perSeq = (long) elementBytes * c.hiddenSize() + 4L * c.vocabSize()
                + 4L * c.numHeads() * LaunchGeometry.MAX_SPLITS * (c.headDim() + 2);
        return t * perToken + maxSeqs * perSeq + 11 * 256;
    }
}
