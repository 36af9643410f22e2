package org.autoglm.kernels;

import static org.autoglm.kernels.plan.LaunchGeometry.rowThreads;
import static org.autoglm.kernels.plan.LaunchGeometry.strideBlocks;

import java.util.HashMap;
import java.util.Map;
import org.autoglm.kernels.cuda.CuDriver;
import org.autoglm.kernels.cuda.CudaDevice;
import org.autoglm.kernels.cuda.Gemm;
import org.autoglm.kernels.cuda.KernelCompiler;
import org.autoglm.kernels.cuda.KernelModule;
import org.autoglm.kernels.cuda.KernelSources;
import org.autoglm.kernels.cuda.LaunchArgs;
import org.autoglm.kernels.plan.LaunchGeometry;

/**
 * The forward pass's operations on the GPU: typed launchers for the kernels in the CUDA sources (compiled for this
 * GPU and element type) and the cuBLAS GEMMs. Every launch goes to the device's stream. Arguments mirror the
 * kernels' signatures (see the .cu files for layouts).
 */
final class GlmKernels implements ForwardKernels, AutoCloseable {

    private final CudaDevice device;
    private final Map<String, KernelModule> modules = new HashMap<>();
    private final LaunchArgs args = new LaunchArgs();
    private final Gemm gemm;
    private final long stream;
    private final int sms;

    private final long embeddingGather, gatherRows, addRmsnorm, biasRopeKvWrite, attention, combine, siluMul,
            sample, f32ToElem, bf16ToElem, fillUniform, repackQkv, causalSoftmax;
    private final int elementBytes;

    public GlmKernels(CudaDevice device, KernelCompiler compiler, boolean bf16) {
        this.device = device;
        this.stream = device.stream();
        this.sms = device.multiprocessors();
        for (String source : KernelSources.SOURCES) {
            modules.put(source, new KernelModule(source, compiler.compile(source, bf16, device.computeCapability())));
        }
        embeddingGather = fn("embedding.cu", "embedding_gather");
        gatherRows = fn("embedding.cu", "gather_rows");
        addRmsnorm = fn("rmsnorm.cu", "add_rmsnorm");
        biasRopeKvWrite = fn("rope.cu", "bias_rope_kv_write");
        attention = fn("attention.cu", "paged_attention");
        combine = fn("attention.cu", "attention_combine");
        siluMul = fn("activation.cu", "silu_mul");
        sample = fn("sampling.cu", "sample_tokens");
        f32ToElem = fn("convert.cu", "f32_to_elem");
        bf16ToElem = fn("convert.cu", "bf16_to_elem");
        fillUniform = fn("convert.cu", "fill_uniform");
        repackQkv = fn("attention.cu", "repack_qkv_heads");
        causalSoftmax = fn("attention.cu", "causal_softmax");
        elementBytes = bf16 ? 2 : 4;
        gemm = new Gemm(device, bf16);
    }

    @Override
    public void linear(long x, long w, long y, int rows, int in, int out) {
        gemm.linear(x, w, y, rows, in, out);
    }

    private long fn(String source, String name) {
        return modules.get(source).function(name);
    }

    /** Allows paged_attention the dynamic shared memory it needs for {@code headDim} (above 48 KiB needs opt-in). */
    public void prepareAttention(int headDim) {
        int bytes = LaunchGeometry.attentionSharedBytes(headDim);
        CuDriver.check(CuDriver.cuFuncSetAttribute(attention, CuDriver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                bytes), "cuFuncSetAttribute(paged_attention, " + bytes + " bytes shared)");
    }

    @Override
    public void embeddingGather(long ids, long table, long out, int tokens, int hidden) {
        args.reset().ptr(ids).ptr(table).ptr(out).i32(hidden)
                .launch(embeddingGather, "embedding_gather", tokens, 1, 1, rowThreads(hidden), 0, stream);
    }

    @Override
    public void gatherRows(long rows, long src, long dst, int count, int width) {
        args.reset().ptr(rows).ptr(src).ptr(dst).i32(width)
                .launch(gatherRows, "gather_rows", count, 1, 1, rowThreads(width), 0, stream);
    }

    /** x may be 0 (first norm: no add); postWeight may be 0 (no glm4 post-norm). */
    @Override
    public void addRmsnorm(long x, long postWeight, long residual, long weight, long out, int rows, int hidden,
            float eps) {
        args.reset().ptr(x).ptr(postWeight).ptr(residual).ptr(weight).ptr(out).i32(hidden).f32(eps)
                .launch(addRmsnorm, "add_rmsnorm", rows, 1, 1, rowThreads(hidden), 4 * hidden, stream);
    }

    @Override
    public void biasRopeKvWrite(long qkv, long bias, long positions, long invFreq, long slots, long kCache,
            long vCache, int tokens, int heads, int kvHeads, int headDim, int rotaryDim) {
        args.reset().ptr(qkv).ptr(bias).ptr(positions).ptr(invFreq).ptr(slots).ptr(kCache).ptr(vCache).i32(heads)
                .i32(kvHeads).i32(headDim).i32(rotaryDim)
                .launch(biasRopeKvWrite, "bias_rope_kv_write", tokens, 1, 1,
                        rowThreads((heads + 2 * kvHeads) * headDim * 2), 0, stream);
    }

    /** Paged attention; with {@code splits > 1} it writes partials and the combine kernel produces {@code out}. */
    @Override
    public void attention(long qkv, long kCache, long vCache, long blockTables, long seqStarts, long positions,
            long work, long out, long partAcc, long partMl, int workItems, int tokens, int heads, int kvHeads,
            int headDim, int blockSize, int blocksPerSeq, int splits) {
        float scale = (float) (1.0 / Math.sqrt(headDim));
        args.reset().ptr(qkv).ptr(kCache).ptr(vCache).ptr(blockTables).ptr(seqStarts).ptr(positions).ptr(work)
                .ptr(out).ptr(partAcc).ptr(partMl).i32(heads).i32(kvHeads).i32(headDim).i32(blockSize)
                .i32(blocksPerSeq).i32(splits).f32(scale)
                .launch(attention, "paged_attention", workItems, kvHeads, splits, LaunchGeometry.ATTENTION_THREADS,
                        LaunchGeometry.attentionSharedBytes(headDim), stream);
        if (splits > 1) {
            args.reset().ptr(partAcc).ptr(partMl).ptr(out).i32(splits).i32(headDim)
                    .launch(combine, "attention_combine", tokens * heads, 1, 1, Math.min(128, (headDim + 31) / 32 * 32),
                            0, stream);
        }
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
                .launch(repackQkv, "repack_qkv_heads", strideBlocks(n, 256, sms), 1, 1, 256, 0, stream);
        for (int g = 0; g < kvHeads; g++) {
            gemm.scores(q + eb * g * group * t * headDim, k + eb * g * t * headDim, scores + 4L * g * group * t * t,
                    tokens, headDim, group);
        }
        args.reset().ptr(scores).ptr(probs).i32(tokens).f32((float) (1.0 / Math.sqrt(headDim)))
                .launch(causalSoftmax, "causal_softmax", heads * tokens, 1, 1, rowThreads(tokens), 0, stream);
        for (int g = 0; g < kvHeads; g++) {
            gemm.weightedValues(probs + eb * g * group * t * t, v + eb * g * t * headDim, out + eb * g * group * headDim,
                    tokens, headDim, group, heads * headDim);
        }
    }

    @Override
    public void siluMul(long gateUp, long out, int rows, int inter) {
        args.reset().ptr(gateUp).ptr(out).i32(rows).i32(inter)
                .launch(siluMul, "silu_mul", strideBlocks((long) rows * inter, 256, sms), 1, 1, 256, 0, stream);
    }

    /** One token per row of {@code logits} (overwritten); per-row parameters are device arrays. */
    @Override
    public void sample(long logits, int rows, int vocab, long temperature, long topK, long topP, long seeds,
            long steps, long outIds) {
        args.reset().ptr(logits).i32(vocab).ptr(temperature).ptr(topK).ptr(topP).ptr(seeds).ptr(steps).ptr(outIds)
                .launch(sample, "sample_tokens", rows, 1, 1, LaunchGeometry.SAMPLING_THREADS, 0, stream);
    }

    public void f32ToElem(long src, long dst, long n) {
        args.reset().ptr(src).ptr(dst).ptr(n).launch(f32ToElem, "f32_to_elem", strideBlocks(n, 256, sms), 1, 1, 256,
                0, stream);
    }

    public void bf16ToElem(long src, long dst, long n) {
        args.reset().ptr(src).ptr(dst).ptr(n).launch(bf16ToElem, "bf16_to_elem", strideBlocks(n, 256, sms), 1, 1, 256,
                0, stream);
    }

    public void fillUniform(long dst, long n, long seed, float offset, float scale) {
        args.reset().ptr(dst).ptr(n).ptr(seed).f32(offset).f32(scale)
                .launch(fillUniform, "fill_uniform", strideBlocks(n, 256, sms), 1, 1, 256, 0, stream);
    }

    @Override
    public void close() {
        device.makeCurrent();
        gemm.close();
        modules.values().forEach(KernelModule::close);
    }
}
