package org.autoglm.kernels;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link ForwardKernels} that times every operation it passes on: a mark (a CUDA event on the GPU) after each,
 * and the time between consecutive marks charged to the operation. Linear layers are told apart by their shape
 * ({@code linear 2048x4608}), since their cost is what a decode step is mostly made of.
 */
final class KernelTimer implements ForwardKernels {

    /** Marks on the stream, read once the work is done. */
    interface Clock {
        /** Records mark {@code index} after everything queued so far. */
        void mark(int index);

        /** Milliseconds between two recorded marks (the stream must have finished both). */
        double millisBetween(int from, int to);

        /** How many marks can be recorded between two {@link #start}s. */
        int capacity();
    }

    /** Time and calls of one operation over the timed steps. */
    record Stat(double millis, int calls) {}

    private final ForwardKernels k;
    private final Clock clock;
    private final List<String> names = new ArrayList<>();

    KernelTimer(ForwardKernels kernels, Clock clock) {
        this.k = kernels;
        this.clock = clock;
    }

    /** Starts a timed run: mark 0. */
    void start() {
        names.clear();
        clock.mark(0);
    }

    /** Time by operation since {@link #start()}, in the order first seen (call after the stream has finished). */
    Map<String, Stat> read() {
        Map<String, Stat> stats = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
            double ms = clock.millisBetween(i, i + 1);
            stats.merge(names.get(i), new Stat(ms, 1), (a, b) -> new Stat(a.millis() + b.millis(), a.calls() + 1));
        }
        return stats;
    }

    private void timed(String name) {
        if (names.size() + 1 >= clock.capacity()) {
            throw new IllegalStateException("more than " + (clock.capacity() - 1) + " timed operations in one run");
        }
        names.add(name);
        clock.mark(names.size());
    }

    @Override
    public void linear(long x, long w, long y, int rows, int in, int out) {
        k.linear(x, w, y, rows, in, out);
        timed("linear " + in + "x" + out);
    }

    @Override
    public void quantizedLinear(long x, long q, long y, int rows, int in, int out, long scratch) {
        k.quantizedLinear(x, q, y, rows, in, out, scratch);
        timed("quantized linear " + in + "x" + out);
    }

    @Override
    public void embeddingGather(long ids, long table, long out, int tokens, int hidden) {
        k.embeddingGather(ids, table, out, tokens, hidden);
        timed("embedding_gather");
    }

    @Override
    public void feedSampledIds(long ids, long drawn, int tokens) {
        k.feedSampledIds(ids, drawn, tokens);
        timed("feed_sampled_ids");
    }

    @Override
    public void gatherRows(long rows, long src, long dst, int count, int width) {
        k.gatherRows(rows, src, dst, count, width);
        timed("gather_rows");
    }

    @Override
    public void addRmsnorm(long x, long postWeight, long residual, long weight, long out, int rows, int hidden,
            float eps) {
        k.addRmsnorm(x, postWeight, residual, weight, out, rows, hidden, eps);
        timed("add_rmsnorm");
    }

    @Override
    public void biasRopeKvWrite(long qkv, long bias, long positions, long invFreq, long slots, long kCache,
            long vCache, int tokens, int heads, int kvHeads, int headDim, int rotaryDim) {
        k.biasRopeKvWrite(qkv, bias, positions, invFreq, slots, kCache, vCache, tokens, heads, kvHeads, headDim,
                rotaryDim);
        timed("bias_rope_kv_write");
    }

    @Override
    public void attention(long qkv, long kCache, long vCache, long blockTables, long seqStarts, long positions,
            long work, long out, long partAcc, long partMl, long splitCounters, int workItems, int tokens, int heads,
            int kvHeads, int headDim, int blockSize, int blocksPerSeq, int splits) {
        k.attention(qkv, kCache, vCache, blockTables, seqStarts, positions, work, out, partAcc, partMl,
                splitCounters, workItems, tokens, heads, kvHeads, headDim, blockSize, blocksPerSeq, splits);
        timed(splits > 1 ? "paged_attention, split-K" : "paged_attention");
    }

    @Override
    public void decodeAttention(long qkv, long kCache, long vCache, long blockTables, long seqStarts, long positions,
            long out, long partAcc, long partMl, long splitCounters, int seqs, int heads, int kvHeads, int headDim,
            int blockSize, int blocksPerSeq, int splits) {
        k.decodeAttention(qkv, kCache, vCache, blockTables, seqStarts, positions, out, partAcc, partMl, splitCounters,
                seqs, heads, kvHeads, headDim, blockSize, blocksPerSeq, splits);
        timed(splits > 1 ? "decode_attention, split-K" : "decode_attention");
    }

    @Override
    public boolean hasDecodeAttention(int seqs, int heads, int kvHeads, int headDim) {
        return k.hasDecodeAttention(seqs, heads, kvHeads, headDim);
    }

    @Override
    public void denseCausalAttention(long qkv, long out, long scratch, int tokens, int heads, int kvHeads,
            int headDim) {
        k.denseCausalAttention(qkv, out, scratch, tokens, heads, kvHeads, headDim);
        timed("dense_causal_attention (cuBLAS)");
    }

    @Override
    public void flashAttention(long qkv, long kCache, long vCache, long blockTables, long seqStarts, long positions,
            long flashWork, long out, int flashItems, int heads, int kvHeads, int headDim, int blockSize,
            int blocksPerSeq) {
        k.flashAttention(qkv, kCache, vCache, blockTables, seqStarts, positions, flashWork, out, flashItems, heads,
                kvHeads, headDim, blockSize, blocksPerSeq);
        timed("flash_prefill");
    }

    @Override
    public boolean hasFlashAttention(int headDim) {
        return k.hasFlashAttention(headDim);
    }

    @Override
    public void siluMul(long gateUp, long out, int rows, int inter) {
        k.siluMul(gateUp, out, rows, inter);
        timed("silu_mul");
    }

    @Override
    public void siluMulLinear(long gateUp, long act, long w, long y, int rows, int inter, int out) {
        k.siluMulLinear(gateUp, act, w, y, rows, inter, out);
        timed("silu_mul + linear " + inter + "x" + out);
    }

    @Override
    public boolean supportsSingleToken(int hidden, int intermediate, int attnWidth) {
        return k.supportsSingleToken(hidden, intermediate, attnWidth);
    }

    @Override
    public void rmsnormLinear(AddNorm norm, long w, long y, int hidden, int out) {
        k.rmsnormLinear(norm, w, y, hidden, out);
        timed((norm.delta() != 0 ? "add + " : "") + "rmsnorm + linear " + hidden + "x" + out);
    }

    @Override
    public void rmsnormGateUpSiluMul(AddNorm norm, long w, long act, int hidden, int inter) {
        k.rmsnormGateUpSiluMul(norm, w, act, hidden, inter);
        timed((norm.delta() != 0 ? "add + " : "") + "rmsnorm + linear " + hidden + "x" + 2 * inter + " + silu_mul");
    }

    @Override
    public void rmsnormQkvRopeKvWrite(AddNorm norm, long w, long qkv, int hidden, long bias, long positions,
            long invFreq, long slots, long kCache, long vCache, int heads, int kvHeads, int headDim, int rotaryDim) {
        k.rmsnormQkvRopeKvWrite(norm, w, qkv, hidden, bias, positions, invFreq, slots, kCache, vCache, heads, kvHeads,
                headDim, rotaryDim);
        timed((norm.delta() != 0 ? "add + " : "") + "rmsnorm + linear " + hidden + "x"
                + (heads + 2 * kvHeads) * headDim + " + rope + kv write");
    }

    @Override
    public void sample(long logits, int rows, int vocab, long temperature, long topK, long topP, long seeds,
            long steps, long outIds) {
        k.sample(logits, rows, vocab, temperature, topK, topP, seeds, steps, outIds);
        timed("sample_tokens");
    }

    @Override
    public void applyTokenMask(long logits, int rows, int vocab, long masks, int words, long maskRows) {
        k.applyTokenMask(logits, rows, vocab, masks, words, maskRows);
        timed("apply_token_mask");
    }
}
