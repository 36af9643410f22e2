package org.autoglm.kernels;

import static org.autoglm.kernels.plan.LaunchGeometry.rowThreads;
import static org.autoglm.kernels.plan.LaunchGeometry.strideBlocks;

import org.autoglm.kernels.cuda.Gemm;
import org.autoglm.kernels.cuda.KernelRuntime;
import org.autoglm.kernels.cuda.LaunchArgs;
import org.autoglm.kernels.plan.LaunchGeometry;

/**
 * The forward pass's operations: typed launchers for the kernels in the CUDA sources and the GEMMs, on a
 * {@link KernelRuntime} (the GPU, or the tests' host emulation of the same sources). Grid and block sizes are
 * chosen here; arguments mirror the kernels' signatures (see the .cu files for layouts).
 */
final class GlmKernels implements ForwardKernels, AutoCloseable {

    private static final String FLASH_SOURCE = "flash_attention.cu";
    private static final String GEMV_SOURCE = "gemv.cu";

    private final KernelRuntime runtime;
    private final LaunchArgs args = new LaunchArgs();
    private final Gemm gemm;
    private final int sms;
    private final int elementBytes;
    private final boolean flash;         // flash attention compiled here (bf16, sm_80+) and turned on
    private final boolean fusedDecode;   // batch-1 steps in gemv.cu; split-K merged inside paged_attention
    private final boolean decodeKernel;  // decode steps in decode_attention (see hasDecodeAttention)
    private final int forcedDecodeWarps; // decode_attention's warps per block; 0: a warp per query head, at least 4
    private final boolean sliceGemvs;    // narrow GEMVs split a row pair's columns over several warps
    private final int decodeKeyRowsPerSplit;

    private final long embeddingGather, gatherRows, addRmsnorm, biasRopeKvWrite, attention, combine, siluMul,
            sample, tokenMask, feedSampledIds, f32ToElem, bf16ToElem, fillUniform, repackQkv, causalSoftmax, holdStream, decodeAttention,
            decodeAttentionWide;
    private final long gemv, gemvSilu, gemvRmsnorm, gemvRmsnormSilu, gemvRmsnormRope;
    private final QuantizedLinears quantized;   // null: no quantized weights
    private int flashHeadDim;   // flash_prefill_d{flashHeadDim}, looked up on first use
    private long flashPrefill;

    /** The kernels on {@code runtime}, with the choices of {@code options} that this runtime can honour. */
    GlmKernels(KernelRuntime runtime, boolean bf16, CudaConfig options) {
        this.runtime = runtime;
        this.gemm = runtime.gemm();
        this.sms = runtime.multiprocessors();
        this.elementBytes = bf16 ? 2 : 4;
        this.flash = options.flashAttention && runtime.has(FLASH_SOURCE);
        this.quantized = options.quantize != null ? new QuantizedLinears(runtime, args, bf16, options) : null;
        // the fused one-token kernels read elem_t weights: quantized models run the general pass
        this.fusedDecode = options.fusedDecode && runtime.has(GEMV_SOURCE) && quantized == null;
        this.decodeKernel = options.decodeAttention;
        this.sliceGemvs = options.sliceNarrowGemvs;
        this.decodeKeyRowsPerSplit = Math.max(1, options.decodeKeyRowsPerSplit);
        if (options.decodeAttentionWarps != 0 && (options.decodeAttentionWarps < LaunchGeometry.DECODE_MIN_WARPS
                || options.decodeAttentionWarps > LaunchGeometry.DECODE_MAX_WARPS)) {
            throw new IllegalArgumentException("--cuda-option decode-attention-warps is " + options.decodeAttentionWarps
                    + "; decode_attention runs " + LaunchGeometry.DECODE_MIN_WARPS + " to "
                    + LaunchGeometry.DECODE_MAX_WARPS + " warps per block (0: a warp per query head of the group)");
        }
        this.forcedDecodeWarps = options.decodeAttentionWarps;
        embeddingGather = fn("embedding.cu", "embedding_gather");
        gatherRows = fn("embedding.cu", "gather_rows");
        addRmsnorm = fn("rmsnorm.cu", "add_rmsnorm");
        biasRopeKvWrite = fn("rope.cu", "bias_rope_kv_write");
        attention = fn("attention.cu", "paged_attention");
        decodeAttention = fn("attention.cu", "decode_attention");
        decodeAttentionWide = fn("attention.cu", "decode_attention_wide");
        combine = fn("attention.cu", "attention_combine");
        siluMul = fn("activation.cu", "silu_mul");
        sample = fn("sampling.cu", "sample_tokens");
        tokenMask = fn("sampling.cu", "apply_token_mask");
        feedSampledIds = fn("sampling.cu", "feed_sampled_ids");
        f32ToElem = fn("convert.cu", "f32_to_elem");
        bf16ToElem = fn("convert.cu", "bf16_to_elem");
        fillUniform = fn("convert.cu", "fill_uniform");
        repackQkv = fn("attention.cu", "repack_qkv_heads");
        causalSoftmax = fn("attention.cu", "causal_softmax");
        holdStream = fn("timing.cu", "hold_stream");
        gemv = this.fusedDecode ? fn(GEMV_SOURCE, "gemv") : 0;
        gemvSilu = this.fusedDecode ? fn(GEMV_SOURCE, "gemv_silu") : 0;
        gemvRmsnorm = this.fusedDecode ? fn(GEMV_SOURCE, "gemv_rmsnorm") : 0;
        gemvRmsnormSilu = this.fusedDecode ? fn(GEMV_SOURCE, "gemv_rmsnorm_silu") : 0;
        gemvRmsnormRope = this.fusedDecode ? fn(GEMV_SOURCE, "gemv_rmsnorm_rope") : 0;
    }

    /** Which path a quantized linear layer of {@code rows} input rows takes (tests, the backend's description). */
    QuantizedLinears.Path quantizedPath(int rows, int in, int out) {
        return quantized.path(rows, in, out);
    }

    @Override
    public void quantizedLinear(long x, long q, long y, int rows, int in, int out, long scratch) {
        quantized.linear(x, q, y, rows, in, out, scratch);
    }

    /** Random quantized weights (benchmarks): small bytes and every row scale {@code scale}. */
    public void fillQuantized(long q, int in, int out, long seed, float scale) {
        quantized.fill(q, in, out, seed, scale);
    }

    @Override
    public void linear(long x, long w, long y, int rows, int in, int out) {
        if (gemvFits(rows, in)) {
            int parts = gemvParts(out);
            args.reset().ptr(x).ptr(w).ptr(y).i32(in).i32(out).i32(parts).launch(runtime, gemv, "gemv",
                    LaunchGeometry.gemvGrid(out, parts, sms), 1, 1, LaunchGeometry.GEMV_WARPS * 32, in * elementBytes);
        } else {
            gemm.linear(x, w, y, rows, in, out);
        }
    }

    /** Warps per row pair in gemv.cu for {@code out} rows. */
    private int gemvParts(int out) {
        return sliceGemvs ? LaunchGeometry.gemvParts(out, sms) : 1;
    }

    /** One input row whose staged copy fits the default shared memory, and fused decode turned on. */
    private boolean gemvFits(int rows, int in) {
        return fusedDecode && rows == 1 && (in * elementBytes) % 16 == 0
                && in * elementBytes <= LaunchGeometry.DEFAULT_SHARED_LIMIT;
    }

    @Override
    public boolean supportsSingleToken(int hidden, int intermediate, int attnWidth) {
        return gemvFits(1, hidden) && gemvFits(1, intermediate) && gemvFits(1, attnWidth);
    }

    @Override
    public void rmsnormLinear(AddNorm norm, long w, long y, int hidden, int out) {
        int parts = gemvParts(out);
        addNorm(norm).ptr(w).ptr(y).i32(hidden).i32(out).i32(parts).launch(runtime, gemvRmsnorm, "gemv_rmsnorm",
                LaunchGeometry.gemvGrid(out, parts, sms), 1, 1, LaunchGeometry.GEMV_WARPS * 32, hidden * elementBytes);
    }

    @Override
    public void rmsnormGateUpSiluMul(AddNorm norm, long w, long act, int hidden, int inter) {
        int out = 2 * inter;
        int parts = gemvParts(out);
        addNorm(norm).ptr(w).ptr(act).i32(hidden).i32(out).i32(parts).launch(runtime, gemvRmsnormSilu,
                "gemv_rmsnorm_silu", LaunchGeometry.gemvGrid(out, parts, sms), 1, 1, LaunchGeometry.GEMV_WARPS * 32,
                hidden * elementBytes);
    }

    @Override
    public void rmsnormQkvRopeKvWrite(AddNorm norm, long w, long qkv, int hidden, long bias, long positions,
            long invFreq, long slots, long kCache, long vCache, int heads, int kvHeads, int headDim, int rotaryDim) {
        int out = (heads + 2 * kvHeads) * headDim;
        int parts = gemvParts(out);
        addNorm(norm).ptr(w).ptr(qkv).i32(hidden).i32(out).i32(parts).ptr(bias).ptr(positions).ptr(invFreq).ptr(slots)
                .ptr(kCache).ptr(vCache).i32(heads).i32(kvHeads).i32(headDim).i32(rotaryDim)
                .launch(runtime, gemvRmsnormRope, "gemv_rmsnorm_rope", LaunchGeometry.gemvGrid(out, parts, sms), 1, 1,
                        LaunchGeometry.GEMV_WARPS * 32, hidden * elementBytes);
    }

    /** The arguments the AddNorm staging of gemv.cu starts with. */
    private LaunchArgs addNorm(AddNorm n) {
        return args.reset().ptr(n.residual()).ptr(n.delta()).ptr(n.postWeight()).ptr(n.residualOut())
                .ptr(n.weight()).ptr(n.normed()).f32(n.eps());
    }

    @Override
    public void siluMulLinear(long gateUp, long act, long w, long y, int rows, int inter, int out) {
        if (gemvFits(rows, inter)) {
            int parts = gemvParts(out);
            args.reset().ptr(gateUp).ptr(w).ptr(y).i32(inter).i32(out).i32(parts).launch(runtime, gemvSilu,
                    "gemv_silu", LaunchGeometry.gemvGrid(out, parts, sms), 1, 1, LaunchGeometry.GEMV_WARPS * 32,
                    inter * elementBytes);
        } else {
            siluMul(gateUp, act, rows, inter);
            linear(act, w, y, rows, inter, out);
        }
    }

    /** Whether batch-1 steps may run the fused GEMV kernels (turned on, and gemv.cu compiled here). */
    public boolean hasFusedDecode() {
        return fusedDecode;
    }

    /** Programmatic dependent launch for the launches that follow (see {@link KernelRuntime#dependentLaunches}). */
    public void dependentLaunches(boolean on) {
        runtime.dependentLaunches(on);
    }

    private long fn(String source, String name) {
        return runtime.function(source, name);
    }

    /** Allows the attention kernels the dynamic shared memory they need for {@code headDim} (above 48 KiB: opt-in). */
    public void prepareAttention(int headDim) {
        runtime.allowSharedBytes(attention, LaunchGeometry.attentionSharedBytes(headDim));
        int narrow = LaunchGeometry.DECODE_MIN_WARPS;   // (decode_attention; decode_attention_wide for the rest)
        runtime.allowSharedBytes(decodeAttention, LaunchGeometry.decodeMaxSharedBytes(headDim, elementBytes, narrow,
                narrow));
        runtime.allowSharedBytes(decodeAttentionWide, LaunchGeometry.decodeMaxSharedBytes(headDim, elementBytes,
                narrow, LaunchGeometry.DECODE_MAX_WARPS));
        if (hasFlashAttention(headDim)) {
            runtime.allowSharedBytes(flashKernel(headDim), LaunchGeometry.flashSharedBytes(headDim));
        }
    }

    @Override
    public void embeddingGather(long ids, long table, long out, int tokens, int hidden) {
        args.reset().ptr(ids).ptr(table).ptr(out).i32(hidden)
                .launch(runtime, embeddingGather, "embedding_gather", tokens, 1, 1, rowThreads(hidden), 0);
    }

    @Override
    public void feedSampledIds(long ids, long drawn, int tokens) {
        args.reset().ptr(ids).ptr(drawn).i32(tokens)
                .launch(runtime, feedSampledIds, "feed_sampled_ids", (tokens + 255) / 256, 1, 1, 256, 0);
    }

    @Override
    public void gatherRows(long rows, long src, long dst, int count, int width) {
        args.reset().ptr(rows).ptr(src).ptr(dst).i32(width)
                .launch(runtime, gatherRows, "gather_rows", count, 1, 1, rowThreads(width), 0);
    }

    /** x may be 0 (first norm: no add); postWeight may be 0 (no glm4 post-norm). */
    @Override
    public void addRmsnorm(long x, long postWeight, long residual, long weight, long out, int rows, int hidden,
            float eps) {
        args.reset().ptr(x).ptr(postWeight).ptr(residual).ptr(weight).ptr(out).i32(hidden).f32(eps)
                .launch(runtime, addRmsnorm, "add_rmsnorm", rows, 1, 1, LaunchGeometry.normThreads(hidden), 0);
    }

    @Override
    public void biasRopeKvWrite(long qkv, long bias, long positions, long invFreq, long slots, long kCache,
            long vCache, int tokens, int heads, int kvHeads, int headDim, int rotaryDim) {
        args.reset().ptr(qkv).ptr(bias).ptr(positions).ptr(invFreq).ptr(slots).ptr(kCache).ptr(vCache).i32(heads)
                .i32(kvHeads).i32(headDim).i32(rotaryDim)
                .launch(runtime, biasRopeKvWrite, "bias_rope_kv_write", tokens, 1, 1,
                        rowThreads((heads + 2 * kvHeads) * headDim * 2), 0);
    }

    /**
     * Paged attention; with {@code splits > 1} the partials are merged by the combine kernel, or with fused decode
     * by the last split of each tile inside the kernel.
     */
    @Override
    public void attention(long qkv, long kCache, long vCache, long blockTables, long seqStarts, long positions,
            long work, long out, long partAcc, long partMl, long splitCounters, int workItems, int tokens, int heads,
            int kvHeads, int headDim, int blockSize, int blocksPerSeq, int splits) {
        float scale = (float) (1.0 / Math.sqrt(headDim));
        args.reset().ptr(qkv).ptr(kCache).ptr(vCache).ptr(blockTables).ptr(seqStarts).ptr(positions).ptr(work)
                .ptr(out).ptr(partAcc).ptr(partMl).ptr(fusedDecode ? splitCounters : 0).i32(heads).i32(kvHeads).i32(headDim)
                .i32(blockSize).i32(blocksPerSeq).i32(splits).f32(scale)
                .launch(runtime, attention, "paged_attention", workItems, kvHeads, splits,
                        LaunchGeometry.ATTENTION_THREADS, LaunchGeometry.attentionSharedBytes(headDim));
        if (splits > 1 && !fusedDecode) {
            int rows = tokens * heads;   // a warp per row
            args.reset().ptr(partAcc).ptr(partMl).ptr(out).i32(rows).i32(splits).i32(headDim)
                    .launch(runtime, combine, "attention_combine", (rows + 3) / 4, 1, 1, 128, 0);
        }
    }

    /** decode_attention's warps per block for a GQA group of {@code group} query heads. */
    int decodeWarps(int group) {
        return forcedDecodeWarps > 0 ? forcedDecodeWarps : Math.max(LaunchGeometry.DECODE_MIN_WARPS, group);
    }

    /**
     * A block of more than 4 warps takes an SM's registers alone, and glm-4-9b's group of 16 at 4 warps is slower
     * than paged attention: so such groups run decode_attention while a step's blocks fit one wave (beyond it, a
     * second wave of register-bound blocks loses to paged attention), and paged attention beyond.
     */
    @Override
    public boolean hasDecodeAttention(int seqs, int heads, int kvHeads, int headDim) {
        int group = heads / kvHeads;
        return decodeKernel && group <= LaunchGeometry.DECODE_MAX_GROUP && headDim <= LaunchGeometry.MAX_HEAD_DIM
                && (decodeWarps(group) <= LaunchGeometry.DECODE_MIN_WARPS || (long) seqs * kvHeads <= sms);
    }

    /** Key splits for a decode step's attention, for the kernel it will run in. */
    public int decodeSplits(int seqs, int workItems, int heads, int kvHeads, int headDim, int maxKeys) {
        return hasDecodeAttention(seqs, heads, kvHeads, headDim)
                ? LaunchGeometry.decodeSplits(seqs, kvHeads, heads / kvHeads, maxKeys, sms, decodeKeyRowsPerSplit)
                : LaunchGeometry.attentionSplits(workItems, kvHeads, sms, maxKeys);
    }

    @Override
    public void decodeAttention(long qkv, long kCache, long vCache, long blockTables, long seqStarts, long positions,
            long out, long partAcc, long partMl, long splitCounters, int seqs, int heads, int kvHeads, int headDim,
            int blockSize, int blocksPerSeq, int splits) {
        int chunk = LaunchGeometry.decodeChunkKeys(elementBytes, blocksPerSeq * blockSize, splits);
        int group = heads / kvHeads;
        int warps = decodeWarps(group);
        // decode_attention: groups of up to 4 at 4 warps, in a quarter of the wide kernel's code (attention.cu)
        boolean narrow = warps <= LaunchGeometry.DECODE_MIN_WARPS && group <= LaunchGeometry.DECODE_MIN_WARPS;
        args.reset().ptr(qkv).ptr(kCache).ptr(vCache).ptr(blockTables).ptr(seqStarts).ptr(positions).ptr(out)
                .ptr(partAcc).ptr(partMl).ptr(splitCounters).i32(heads).i32(kvHeads).i32(headDim).i32(blockSize)
                .i32(blocksPerSeq).i32(splits).i32(chunk).f32((float) (1.0 / Math.sqrt(headDim)))
                .launch(runtime, narrow ? decodeAttention : decodeAttentionWide, "decode_attention", seqs, kvHeads,
                        splits, 32 * warps, LaunchGeometry.decodeSharedBytes(headDim, elementBytes, group, chunk, warps));
    }

    @Override
    public boolean hasFlashAttention(int headDim) {
        return flash && LaunchGeometry.flashSupports(headDim);
    }

    private long flashKernel(int headDim) {
        if (flashHeadDim != headDim) {
            flashPrefill = fn(FLASH_SOURCE, "flash_prefill_d" + headDim);
            flashHeadDim = headDim;
        }
        return flashPrefill;
    }

    @Override
    public void flashAttention(long qkv, long kCache, long vCache, long blockTables, long seqStarts, long positions,
            long flashWork, long out, int flashItems, int heads, int kvHeads, int headDim, int blockSize,
            int blocksPerSeq) {
        args.reset().ptr(qkv).ptr(kCache).ptr(vCache).ptr(blockTables).ptr(seqStarts).ptr(positions).ptr(flashWork)
                .ptr(out).i32(heads).i32(kvHeads).i32(blockSize).i32(blocksPerSeq)
                .f32((float) (1.0 / Math.sqrt(headDim)))
                .launch(runtime, flashKernel(headDim), "flash_prefill", flashItems, kvHeads, 1,
                        LaunchGeometry.FLASH_THREADS, LaunchGeometry.flashSharedBytes(headDim));
    }

    @Override
    public void denseCausalAttention(long qkv, long out, long scratch, int tokens, int heads, int kvHeads,
            int headDim) {
        long eb = elementBytes;
        long t = tokens;
        int group = heads / kvHeads;
        long q = scratch;
        long k = q + eb * heads * t * headDim;
        long v = k + eb * kvHeads * t * headDim;
        long scores = scratch + ForwardKernels.align(eb * (heads + 2L * kvHeads) * t * headDim);
        long probs = scores + ForwardKernels.align(4L * heads * t * t);
        long n = t * (heads + 2L * kvHeads) * headDim;
        args.reset().ptr(qkv).ptr(q).ptr(k).ptr(v).i32(tokens).i32(heads).i32(kvHeads).i32(headDim)
                .launch(runtime, repackQkv, "repack_qkv_heads", strideBlocks(n, 256, sms), 1, 1, 256, 0);
        for (int g = 0; g < kvHeads; g++) {
            gemm.scores(q + eb * g * group * t * headDim, k + eb * g * t * headDim, scores + 4L * g * group * t * t,
                    tokens, headDim, group);
        }
        args.reset().ptr(scores).ptr(probs).i32(tokens).f32((float) (1.0 / Math.sqrt(headDim)))
                .launch(runtime, causalSoftmax, "causal_softmax", heads * tokens, 1, 1, rowThreads(tokens), 0);
        for (int g = 0; g < kvHeads; g++) {
            gemm.weightedValues(probs + eb * g * group * t * t, v + eb * g * t * headDim,
                    out + eb * g * group * headDim, tokens, headDim, group, heads * headDim);
        }
    }

    @Override
    public void siluMul(long gateUp, long out, int rows, int inter) {   // inter % 4 == 0: CudaBackend checks
        args.reset().ptr(gateUp).ptr(out).i32(rows).i32(inter)
                .launch(runtime, siluMul, "silu_mul", (inter / 4 + 255) / 256, Math.min(rows, 65535), 1, 256, 0);
    }

    /** One token per row of {@code logits} (overwritten); per-row parameters are device arrays. */
    @Override
    public void sample(long logits, int rows, int vocab, long temperature, long topK, long topP, long seeds,
            long steps, long outIds) {
        args.reset().ptr(logits).i32(vocab).ptr(temperature).ptr(topK).ptr(topP).ptr(seeds).ptr(steps).ptr(outIds)
                .launch(runtime, sample, "sample_tokens", rows, 1, 1, LaunchGeometry.SAMPLING_THREADS, 0);
    }

    @Override
    public void applyTokenMask(long logits, int rows, int vocab, long masks, int words, long maskRows) {
        args.reset().ptr(logits).i32(vocab).ptr(masks).i32(words).ptr(maskRows)
                .launch(runtime, tokenMask, "apply_token_mask", rows, 1, 1, 256, 0);
    }

    public void f32ToElem(long src, long dst, long n) {
        args.reset().ptr(src).ptr(dst).ptr(n)
                .launch(runtime, f32ToElem, "f32_to_elem", strideBlocks(n, 256, sms), 1, 1, 256, 0);
    }

    public void bf16ToElem(long src, long dst, long n) {
        args.reset().ptr(src).ptr(dst).ptr(n)
                .launch(runtime, bf16ToElem, "bf16_to_elem", strideBlocks(n, 256, sms), 1, 1, 256, 0);
    }

    public void fillUniform(long dst, long n, long seed, float offset, float scale) {
        args.reset().ptr(dst).ptr(n).ptr(seed).f32(offset).f32(scale)
                .launch(runtime, fillUniform, "fill_uniform", strideBlocks(n, 256, sms), 1, 1, 256, 0);
    }

    /** Keeps the stream busy for about {@code cycles} GPU clock cycles (profiling: see timing.cu). */
    public void holdStream(long cycles) {
        args.reset().ptr(cycles).launch(runtime, holdStream, "hold_stream", 1, 1, 1, 32, 0);
    }

    @Override
    public void close() {
        runtime.close();
    }
}
