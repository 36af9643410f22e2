package org.autoglm.kernels;

import org.autoglm.kernels.plan.StepLayout;
import org.autoglm.models.config.GlmConfig;

/**
 * One step's forward pass on the device, queued on its stream ({@link BatchedForward}, or {@link SingleTokenForward}
 * for a decode step of one sequence), over the buffers allocated up front, so that a run can be captured in a CUDA
 * graph. The step's metadata (ids, positions, slots, block tables, work items, logit rows) is already on the
 * device at {@code meta}, laid out by {@link StepLayout}.
 */
abstract class ForwardPass {

    protected final GlmConfig c;
    protected final ForwardKernels k;
    protected final DeviceWeights w;
    protected final Activations a;
    protected final KvCache kv;
    protected final long invFreq;
    protected final int qkvWidth;
    protected final int attnWidth;
    protected final float eps;

    ForwardPass(GlmConfig c, ForwardKernels k, DeviceWeights w, Activations a, KvCache kv, long invFreq) {
        this.c = c;
        this.k = k;
        this.w = w;
        this.a = a;
        this.kv = kv;
        this.invFreq = invFreq;
        this.qkvWidth = (c.numHeads() + 2 * c.numKvHeads()) * c.headDim();
        this.attnWidth = c.numHeads() * c.headDim();
        this.eps = (float) c.rmsNormEps();
    }

    /** A linear layer of the decoder: over the quantized matrix when the weights are quantized. */
    protected void projection(long x, long weight, long y, int rows, int in, int out) {
        if (w.quantized()) {
            k.quantizedLinear(x, weight, y, rows, in, out, w.scratch());
        } else {
            k.linear(x, weight, y, rows, in, out);
        }
    }

    /**
     * Logits of the layout's logit rows into the activations' logits ([logitRows, vocab] fp32). {@code dense}: the
     * step is one sequence from position 0, whose attention may run as cuBLAS GEMMs.
     */
    abstract void run(StepLayout l, long meta, int splits, boolean dense);

    /**
     * attn = softmax(q kᵀ * scaling + causal mask) v of layer {@code i} over the paged cache: decode_attention for a
     * decode step where it is on, else paged attention.
     */
    protected final void pagedAttention(StepLayout l, int i, long meta, int splits) {
        long tables = meta + 4L * l.blockTables();
        long starts = meta + 4L * l.seqStarts();
        long positions = meta + 4L * l.positions();
        if (l.oneTokenPerSequence() && k.hasDecodeAttention(l.seqs(), c.numHeads(), c.numKvHeads(), c.headDim())) {
            k.decodeAttention(a.qkv, kv.keys(i), kv.values(i), tables, starts, positions, a.attn, a.partAcc, a.partMl,
                    a.splitCounters, l.seqs(), c.numHeads(), c.numKvHeads(), c.headDim(), kv.blockSize(),
                    l.blocksPerSeq(), splits);
        } else {
            k.attention(a.qkv, kv.keys(i), kv.values(i), tables, starts, positions, meta + 4L * l.work(), a.attn,
                    a.partAcc, a.partMl, a.splitCounters, l.workItems(), l.tokens(), c.numHeads(), c.numKvHeads(),
                    c.headDim(), kv.blockSize(), l.blocksPerSeq(), splits);
        }
    }

    /** The previous step's device-drawn ids into this step's ids, where the host left {@code -(row + 1)}. */
    final void feedSampledIds(StepLayout l, long meta, SamplingBuffers sampling) {
        k.feedSampledIds(meta + 4L * l.tokenIds(), sampling.outIds(), l.tokens());
    }

    /** Next tokens of the first {@code rows} logit rows into {@code sampling.outIds} (logits are overwritten). */
    final void sample(int rows, SamplingBuffers sampling) {
        k.sample(a.logits, rows, c.vocabSize(), sampling.temperature(), sampling.topK(), sampling.topP(),
                sampling.seeds(), sampling.steps(), sampling.outIds());
    }
}
