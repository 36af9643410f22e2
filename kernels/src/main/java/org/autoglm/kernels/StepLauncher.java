package org.autoglm.kernels;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.autoglm.kernels.cuda.CudaDevice;
import org.autoglm.kernels.plan.GraphBuckets;
import org.autoglm.kernels.plan.LaunchGeometry;
import org.autoglm.kernels.plan.StepLayout;
import org.autoglm.kernels.plan.StepPacker;
import org.autoglm.kernels.plan.StepPacker.PackedStep;
import org.autoglm.kernels.plan.StepSplitter;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.models.config.GlmConfig;
import org.autoglm.models.sampling.SamplingParams;

/**
 * Queues one launch of the forward pass: packs the step, stages its metadata (and sampling parameters), chooses the
 * attention variant and key splits, and runs the pass, from a CUDA graph captured per decode bucket where it may.
 * Nothing here waits for the GPU.
 */
final class StepLauncher implements AutoCloseable {

    private final GlmConfig config;
    private final CudaConfig options;
    private final CudaDevice device;
    private final GlmKernels kernels;
    private final KvCache kv;
    private final StepStaging staging;
    private final AsyncSteps async;   // null when asynchronous scheduling is off
    private final int maxModelLen;
    private final int maxBlocksPerSeq;
    private final int group;
    private final Map<String, DecodeGraph> graphs = new HashMap<>();

    StepLauncher(GlmConfig config, CudaConfig options, CudaDevice device, GlmKernels kernels, KvCache kv,
            StepStaging staging, AsyncSteps async, int maxModelLen) {
        this.config = config;
        this.options = options;
        this.device = device;
        this.kernels = kernels;
        this.kv = kv;
        this.staging = staging;
        this.async = async;
        this.maxModelLen = maxModelLen;
        this.maxBlocksPerSeq = (maxModelLen + kv.blockSize() - 1) / kv.blockSize();
        this.group = config.numHeads() / config.numKvHeads();
    }

    /** Ints of step metadata the largest step of {@code options} needs (StepPacker's layout at its limits). */
    static long metaCapacity(CudaConfig options, int group, int maxBlocksPerSeq) {
        int t = options.maxBatchTokens;
        int s = options.maxSeqs;
        return 3L * t + s + 1 + (long) s * maxBlocksPerSeq
                + 2L * ((long) t * group / LaunchGeometry.ATTENTION_ROWS + s + 1)
                + 2L * ((long) t * group / LaunchGeometry.FLASH_ROWS + s + 1) + Math.max(s, t);
    }

    /**
     * Uploads the step's metadata and runs it through {@code general}, or {@code oneToken} (may be null) when the
     * step is one token; from a graph when {@code useGraph} allows and it is a decode step with a bucket. With
     * {@code params} (one per part) the logits are sampled on the GPU.
     */
    PackedStep launch(List<SequenceChunk> parts, List<SamplingParams> params, ForwardPass general,
            ForwardPass oneToken, boolean useGraph) {
        boolean sample = params != null;
        device.makeCurrent();
        boolean decode = parts.stream().allMatch(c -> c.tokens().length == 1);
        int needed = 0;
        for (SequenceChunk c : parts) {
            needed = Math.max(needed, StepPacker.blocksNeeded(c, kv.blockSize()));
            if (c.endPosition() > maxModelLen) {
                throw new IllegalArgumentException("sequence " + c.sequenceId() + " reaches " + c.endPosition()
                        + " tokens, beyond the maximum model length " + maxModelLen);
            }
        }
        GraphBuckets.Key key = useGraph && decode
                ? GraphBuckets.key(parts.size(), needed, options.maxSeqs, maxBlocksPerSeq) : null;
        PackedStep p = key != null ? StepPacker.packDecode(parts, key, kv.blockSize(), group)
                : StepPacker.pack(parts, kv.blockSize(), group);
        StepLayout l = p.layout();
        staging.use(async != null ? async.nextSlot() : 0);
        staging.uploadMeta(p);
        if (sample) staging.uploadSampling(p, parts, params);
        int maxKeys = key != null ? key.blocksPerSeq() * kv.blockSize() : p.maxContext();
        int splits = decode ? kernels.decodeSplits(l.seqs(), l.workItems(), config.numHeads(), config.numKvHeads(),
                config.headDim(), maxKeys) : 1;
        int minDense = options.denseAttentionMinTokens;
        boolean dense = !decode && parts.size() == 1 && parts.get(0).startPosition() == 0 && minDense > 0
                && !kernels.hasFlashAttention(config.headDim())
                && parts.get(0).tokens().length >= minDense;
        ForwardPass f = oneToken != null && l.tokens() == 1 ? oneToken : general;
        long meta = staging.meta();
        Runnable body = () -> {
            // dependent launches pay off in the one-token pass (its GEMVs fetch weights while the kernel ahead ends);
            // among cuBLAS's kernels they cost time (measured at batch 8, bench/RESULTS.md)
            kernels.dependentLaunches(f == oneToken);
            if (async != null) f.feedSampledIds(l, meta, staging.sampling());
            f.run(l, meta, splits, dense);
            if (sample) f.sample(l.logitRows(), staging.sampling());
        };
        if (key != null) {
            String id = key.batch() + "x" + key.blocksPerSeq() + (sample ? "-sample" : "-logits");
            graphs.computeIfAbsent(id, k -> DecodeGraph.capture(device.stream(), body)).launch(device.stream());
        } else {
            body.run();
        }
        if (async != null) async.launched(parts, p.logitChunk(), params);
        return p;
    }

    static List<SequenceChunk> pieces(List<StepSplitter.Piece> step) {
        List<SequenceChunk> parts = new ArrayList<>(step.size());
        for (StepSplitter.Piece piece : step) parts.add(piece.chunk());
        return parts;
    }

    /** Logit rows that belong to a chunk (a prefix: padding rows come last). */
    static int realRows(PackedStep p) {
        int rows = 0;
        while (rows < p.logitChunk().length && p.logitChunk()[rows] >= 0) rows++;
        return rows;
    }

    @Override
    public void close() {
        graphs.values().forEach(DecodeGraph::close);
        graphs.clear();
    }
}
