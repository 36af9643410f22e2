package org.autoglm.kernels;

/**
 * The device operations the forward pass is made of, on device addresses; see the CUDA sources for layouts.
 * {@link GlmKernels} runs them on the GPU; tests run the same forward pass on a host emulation of the kernels.
 */
interface ForwardKernels {

    /** {@code y[rows, out] = x[rows, in] · w[out, in]ᵀ}, fp32 output. */
    void linear(long x, long w, long y, int rows, int in, int out);

    /**
     * {@link #linear} over a weight-only quantized matrix {@code q} (quantized.cu's layout: {@code out × in} bytes,
     * then {@code out} fp32 row scales): a GEMV over the bytes for a few rows, else the matrix dequantized into
     * {@code scratch} (elements) and a GEMM.
     */
    void quantizedLinear(long x, long q, long y, int rows, int in, int out, long scratch);

    void embeddingGather(long ids, long table, long out, int tokens, int hidden);

    /**
     * Asynchronous scheduling: each id {@code -(r + 1)} among the step's {@code tokens} ids becomes {@code drawn[r]},
     * the token the previous step drew for logit row r (sampling.cu's feed_sampled_ids).
     */
    void feedSampledIds(long ids, long drawn, int tokens);

    void gatherRows(long rows, long src, long dst, int count, int width);

    void addRmsnorm(long x, long postWeight, long residual, long weight, long out, int rows, int hidden, float eps);

    /** q/k/v biases (bias may be 0), rotary embedding of q and k, and the k/v write into the cache slots. */
    void biasRopeKvWrite(long qkv, long bias, long positions, long invFreq, long slots, long kCache, long vCache,
            int tokens, int heads, int kvHeads, int headDim, int rotaryDim);

    /**
     * Paged attention of the step's tokens. With {@code splits > 1} (split-K decode) the partials go to
     * {@code partAcc} / {@code partMl} and are merged afterwards, or by the last split of each tile to finish,
     * counted in {@code splitCounters} (zero between steps).
     */
    void attention(long qkv, long kCache, long vCache, long blockTables, long seqStarts, long positions, long work,
            long out, long partAcc, long partMl, long splitCounters, int workItems, int tokens, int heads,
            int kvHeads, int headDim, int blockSize, int blocksPerSeq, int splits);

    /**
     * {@link #attention} for a step in which every sequence has one token (decode), a block per (sequence, KV head,
     * split) holding the whole GQA group; with {@code splits > 1} the last split of each to finish merges the
     * partials. Only where {@link #hasDecodeAttention}.
     */
    void decodeAttention(long qkv, long kCache, long vCache, long blockTables, long seqStarts, long positions,
            long out, long partAcc, long partMl, long splitCounters, int seqs, int heads, int kvHeads, int headDim,
            int blockSize, int blocksPerSeq, int splits);

    /** Whether a decode step of {@code seqs} sequences runs {@link #decodeAttention} for this GQA group and head size. */
    boolean hasDecodeAttention(int seqs, int heads, int kvHeads, int headDim);

    /**
     * Causal attention of one sequence that starts at position 0 (a whole prompt) on tensor cores: q kᵀ and probs v
     * as batched cuBLAS GEMMs around a causal softmax. {@code scratch} holds {@link #denseScratchBytes} bytes.
     */
    void denseCausalAttention(long qkv, long out, long scratch, int tokens, int heads, int kvHeads, int headDim);

    /**
     * Attention of a prefill step's chunks (each over its cached prefix) on tensor cores, flash style: the same
     * function as {@link #attention}, over the layout's flash work items (tiles of 64 rows). Only where
     * {@link #hasFlashAttention}.
     */
    void flashAttention(long qkv, long kCache, long vCache, long blockTables, long seqStarts, long positions,
            long flashWork, long out, int flashItems, int heads, int kvHeads, int headDim, int blockSize,
            int blocksPerSeq);

    /** Whether {@link #flashAttention} is compiled here (bf16, sm_80+), turned on and has this head size. */
    boolean hasFlashAttention(int headDim);

    /** Scratch of {@link #denseCausalAttention}: q, k, v by head, fp32 scores, probabilities. */
    static long denseScratchBytes(int tokens, int heads, int kvHeads, int headDim, int elementBytes) {
        long t = tokens;
        return align((long) elementBytes * (heads + 2L * kvHeads) * t * headDim) + align(4L * heads * t * t)
                + align((long) elementBytes * heads * t * t);
    }

    static long align(long bytes) {
        return (bytes + 255) / 256 * 256;
    }

    void siluMul(long gateUp, long out, int rows, int inter);

    /**
     * {@code y[rows, out] = (up * silu(gate)) · w[out, inter]ᵀ} from the fused gate_up rows: {@link #siluMul} into
     * {@code act} then {@link #linear}, or one kernel where the step is small enough for it.
     */
    void siluMulLinear(long gateUp, long act, long w, long y, int rows, int inter, int out);

    // ---- Batch 1 (one token), fused: see SingleTokenForward. Only where supportsSingleToken(). ----

    /** Whether the fused one-token operations below are available (gemv.cu, fused decode turned on). */
    boolean supportsSingleToken(int hidden, int intermediate, int attnWidth);

    /**
     * What {@link #addRmsnorm} computes, for one row, as the staging of a one-token GEMV: with {@code delta} (else
     * 0: the residual as it is) {@code r = residual + (postWeight != 0 ? rmsnorm(delta) * postWeight : delta)},
     * stored to {@code residualOut} (another buffer: every block reads {@code residual}); then
     * {@code normed = rmsnorm(r) * weight}.
     */
    record AddNorm(long residual, long delta, long postWeight, long residualOut, long weight, long normed,
            float eps) {}

    /** {@code y[out] = normed · wᵀ} after the {@link AddNorm}, for one row. */
    void rmsnormLinear(AddNorm norm, long w, long y, int hidden, int out);

    /**
     * The MLP's activation for one token: {@code act[inter] = up * silu(gate)} of {@code gate, up = normed · wᵀ}
     * after the {@link AddNorm}, w the fused [gate | up] weight; the same values as {@link #rmsnormLinear} then
     * {@link #siluMul}, in one launch.
     */
    void rmsnormGateUpSiluMul(AddNorm norm, long w, long act, int hidden, int inter);

    /**
     * The attention block's input for one token: {@code qkv} as {@link #rmsnormLinear}, then what
     * {@link #biasRopeKvWrite} does to it (bias, rotary embedding, k and v into the cache slot).
     */
    void rmsnormQkvRopeKvWrite(AddNorm norm, long w, long qkv, int hidden, long bias, long positions, long invFreq,
            long slots, long kCache, long vCache, int heads, int kvHeads, int headDim, int rotaryDim);

    void sample(long logits, int rows, int vocab, long temperature, long topK, long topP, long seeds, long steps,
            long outIds);

    /**
     * Masks logit rows with an output grammar's allowed tokens (minus infinity elsewhere): row r uses mask row
     * {@code maskRows[r]} of {@code masks} ({@code words} 64-bit words each), none when it is negative.
     */
    void applyTokenMask(long logits, int rows, int vocab, long masks, int words, long maskRows);
}
