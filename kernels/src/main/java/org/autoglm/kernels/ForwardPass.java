package org.autoglm.kernels;

import org.autoglm.kernels.plan.StepLayout;

/** One step's forward pass on the device, queued on its stream: {@link GlmForward}, or {@link SingleTokenForward}. */
interface ForwardPass {

    /**
     * Logits of the layout's logit rows into the activations' logits ([logitRows, vocab] fp32). {@code dense}: the
     * step is one sequence from position 0, whose attention runs on tensor cores.
     */
    void run(StepLayout l, long meta, int splits, boolean dense);

    /** Next tokens of the first {@code rows} logit rows into {@code sampling.outIds} (logits are overwritten). */
    void sample(int rows, SamplingBuffers sampling);
}
