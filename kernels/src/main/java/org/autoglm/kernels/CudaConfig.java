package org.autoglm.kernels;

import java.nio.file.Path;
import org.autoglm.kernels.cuda.KernelCompiler;

/** Settings of the CUDA backend, with their defaults. Filled through {@code CudaBackend.open(dir, cfg -> ...)}. */
public final class CudaConfig {

    /** Element type of weights, GEMM inputs and the KV cache. Arithmetic is fp32 either way. */
    public enum Precision {
        /** fp32 for fp32 checkpoints (exact parity with the reference), bf16 otherwise. */
        AUTO,
        FP32,
        BF16
    }

    /** GPU ordinal. */
    public int device = 0;
    public Precision precision = Precision.AUTO;
    /** Share of the GPU's memory we may use in all (weights, buffers, KV cache). */
    public double gpuMemoryUtilization = 0.90;
    /** Tokens per launch of the forward pass; longer steps are cut into several launches. */
    public int maxBatchTokens = 2048;
    /** Sequences per step; also the largest decode batch with a CUDA graph. */
    public int maxSeqs = 256;
    /** Longest sequence; 0 means the checkpoint's max_position_embeddings. */
    public int maxModelLen = 0;
    /** Replay decode steps from CUDA graphs captured per batch-size bucket. */
    public boolean cudaGraphs = true;
    /**
     * A step that is one prompt from position 0 with at least this many tokens runs attention as GEMMs on tensor
     * cores (needs heads × maxBatchTokens² × 6 bytes of scratch); 0 turns it off. Default 512, or the system property
     * {@code autoglm.cuda.denseAttentionMinTokens}.
     */
    public int denseAttentionMinTokens = Integer.getInteger("autoglm.cuda.denseAttentionMinTokens", 512);
    /**
     * Prefill steps (packed chunks, each over its cached prefix) run flash attention on tensor cores (bf16, sm_80+)
     * instead of paged attention on CUDA cores, and whole prompts no longer take the cuBLAS path of
     * {@link #denseAttentionMinTokens} (nor its scratch). On by default (H200 run 5: a 2048-token 9B prefill at
     * 30.7k tok/s against 25.2k on the cuBLAS path); the system property {@code autoglm.cuda.flashAttention=false}
     * turns it off.
     */
    public boolean flashAttention = Boolean.parseBoolean(System.getProperty("autoglm.cuda.flashAttention", "true"));
    /**
     * Decode steps of one sequence run {@code SingleTokenForward}: our GEMV kernels instead of cuBLAS, with the small
     * kernels around them fused in, five launches per layer, each launched (sm_90+) with programmatic dependent
     * launch so that its weight loads start while the kernel ahead ends; and split-K attention merges its partials
     * in its last block instead of a combine launch. On by default (H200 run 12: glm-edge-1.5b batch 1 at 652
     * against 509 steps/s, glm-4-9b at 165 against 160); the system property
     * {@code autoglm.cuda.fusedDecode=false} turns it off.
     */
    public boolean fusedDecode = Boolean.parseBoolean(System.getProperty("autoglm.cuda.fusedDecode", "true"));
    /**
     * Decode steps (one token per sequence) run decode_attention: a block per GQA group with the keys spread over
     * its warps, the cached keys copied to shared memory before the kernel ahead has finished (where
     * {@code GlmKernels.hasDecodeAttention} holds: a group of up to 4 at any batch, a larger one while its blocks
     * fit one wave). Runs 13-20 (H200, against paged attention): glm-edge-1.5b +9 to +16 % at batch 1, +2 % at 8,
     * +20 % at 64, +28 % at 256; glm-4-9b at 16 warps +10 % at batch 1, +1 % at 8 and 64. The system property
     * {@code autoglm.cuda.decodeAttention=false} turns it off (paged attention everywhere).
     */
    public boolean decodeAttention = Boolean.parseBoolean(System.getProperty("autoglm.cuda.decodeAttention", "true"));
    /**
     * decode_attention's warps per block: 0 (default) for a warp per query head of the GQA group, at least 4; or 4
     * to 16 for every model. The kernel's time is a chain of dependent steps run by few warps (run 17, Nsight Compute:
     * one warp per scheduler, ~10 cycles per instruction), so a block per group of 16 needs 16 warps (glm-4-9b at
     * batch 1: 176 against 151-161 steps/s with 4); a group of 4 gains nothing from more (runs 19-20: 4, 8 and 16
     * within noise of each other). The system property {@code autoglm.cuda.decodeAttentionWarps} sets it.
     */
    public int decodeAttentionWarps = Integer.getInteger("autoglm.cuda.decodeAttentionWarps", 0);
    /**
     * decode_attention's split size: about this many (key, query head) pairs per block ({@code
     * LaunchGeometry.decodeSplits}). 64: on run 13 (H200, 1.5B batch 1, ~200 keys, 4 warps) 64 gave 677 steps/s, 256
     * gave 626 and 1024 gave 593: the more blocks share a short context, the shorter each block's chain of loads.
     * The system property {@code autoglm.cuda.decodeKeyRowsPerSplit} sets it.
     */
    public int decodeKeyRowsPerSplit = Integer.getInteger("autoglm.cuda.decodeKeyRowsPerSplit", 64);
    /**
     * gemv.cu's projections with fewer row pairs than the GPU holds warps split each pair's columns over 2 or 4
     * warps ({@code LaunchGeometry.gemvParts}): glm-edge-1.5b's o_proj and down_proj (run 13, H200: 3-4 % less
     * GPU time each). The system property {@code autoglm.cuda.sliceNarrowGemvs=false} turns it off.
     */
    public boolean sliceNarrowGemvs = Boolean.parseBoolean(System.getProperty("autoglm.cuda.sliceNarrowGemvs",
            "true"));
    /** Where compiled kernels are cached. */
    public Path kernelCache = KernelCompiler.defaultCacheDir();

    boolean bf16For(String checkpointDtype) {
        return switch (precision) {
            case FP32 -> false;
            case BF16 -> true;
            case AUTO -> !"float32".equals(checkpointDtype);
        };
    }
}
