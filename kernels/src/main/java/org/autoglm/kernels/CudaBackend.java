package org.autoglm.kernels;

import static org.autoglm.kernels.cuda.CuDriver.check;

import com.sun.jna.Pointer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.autoglm.kernels.cuda.CuDriver;
import org.autoglm.kernels.cuda.CudaDevice;
import org.autoglm.kernels.cuda.DeviceBuffer;
import org.autoglm.kernels.cuda.GpuKernelRuntime;
import org.autoglm.kernels.cuda.KernelCompiler;
import org.autoglm.kernels.plan.LaunchGeometry;
import org.autoglm.kernels.plan.MemoryPlan;
import org.autoglm.kernels.plan.StepPacker.PackedStep;
import org.autoglm.kernels.plan.StepSplitter;
import org.autoglm.models.backend.Backend;
import org.autoglm.models.backend.PendingStep;
import org.autoglm.models.backend.SampledStep;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.models.config.GlmConfig;
import org.autoglm.models.config.GlmConfigReader;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.models.weights.Checkpoint;

/**
 * GLM on an NVIDIA GPU with our own kernels: NVRTC-compiled CUDA C launched through the driver API, GEMMs in
 * cuBLAS, a paged KV cache, decode steps replayed from CUDA graphs. fp32 checkpoints run in fp32 (the same
 * function as the reference); bf16 ones in bf16 storage with fp32 arithmetic. This class is the {@link Backend}
 * contract over its parts: {@link SupportedModels} (what the kernels take), {@link StepLauncher} (packing, staging
 * and graphs of one launch), {@link StepStaging} (pinned buffers both ways), {@link GrammarMasks} and
 * {@link AsyncSteps} (asynchronous scheduling).
 *
 * <p>Not thread-safe: one engine loop drives it (the CUDA context is bound to the calling thread per call).
 */
public final class CudaBackend implements Backend {

    private final GlmConfig config;
    private final CudaConfig options;
    private final CudaDevice device;
    private final GpuKernelRuntime runtime;
    private final GlmKernels kernels;
    private final DeviceWeights weights;
    private final Activations activations;
    private final DeviceBuffer invFreq;
    private final boolean bf16;
    private final int group;
    private final int maxModelLen;

    // set by allocateKvCache
    private KvCache kv;
    private BatchedForward forward;
    private SingleTokenForward singleToken;   // null unless the fused batch-1 kernels are on
    private StepStaging staging;
    private StepLauncher launcher;
    private GrammarMasks masks;
    /** Asynchronous scheduling's state; null when it is off. */
    private AsyncSteps async;

    private CudaBackend(GlmConfig config, CudaConfig options, CudaDevice device, boolean bf16,
            WeightSource source) {
        SupportedModels.check(config, options, device.computeCapability());
        this.config = config;
        this.options = options;
        this.device = device;
        this.bf16 = bf16;
        this.group = config.numHeads() / config.numKvHeads();
        this.maxModelLen = options.maxModelLen > 0 ? options.maxModelLen : config.maxPositionEmbeddings();
        this.runtime = new GpuKernelRuntime(device, new KernelCompiler(options.kernelCache, options.defines), bf16,
                options.skipKernels);
        this.kernels = new GlmKernels(runtime, bf16, options);
        kernels.prepareAttention(config.headDim());
        int elementBytes = bf16 ? 2 : 4;
        long[] mem = device.memoryInfo();
        long weightBytes = WeightLayout.of(config, elementBytes, options.quantize).bytes();
        boolean dense = options.denseAttentionMinTokens > 0 && options.denseAttentionMinTokens <= options.maxBatchTokens
                && !kernels.hasFlashAttention(config.headDim());   // the GEMM path's score scratch
        long bufferBytes = Activations.estimate(config, elementBytes, options.maxBatchTokens, options.maxSeqs, dense);
        MemoryPlan.checkFits(String.format("the weights (%.2f GiB) and activation buffers (%.2f GiB)",
                weightBytes / 1073741824.0, bufferBytes / 1073741824.0), weightBytes + bufferBytes, mem[0], mem[1],
                options.gpuMemoryUtilization);
        this.weights = source.load(this);
        this.activations = Activations.allocate(device, config, elementBytes, options.maxBatchTokens, options.maxSeqs,
                dense);
        this.invFreq = device.allocate(4L * Math.max(1, config.rotaryDim() / 2), "rotary frequencies");
        device.copyToDevice(invFreq.address(), inverseFrequencies(config));
    }

    /** How the weights reach the GPU: from a checkpoint, or random for benchmarks. */
    private interface WeightSource {
        DeviceWeights load(CudaBackend backend);
    }

    /** Opens {@code modelDir} (config.json + safetensors) on the GPU. */
    public static CudaBackend open(Path modelDir, Consumer<CudaConfig> configure) {
        CudaConfig options = new CudaConfig();
        configure.accept(options);
        GlmConfig config = GlmConfigReader.read(modelDir);
        CudaDevice device = CudaDevice.open(options.device);
        try (Checkpoint ckpt = Checkpoint.open(modelDir)) {
            boolean bf16 = options.bf16For(config.torchDtype());
            return new CudaBackend(config, options, device, bf16,
                    b -> DeviceWeights.load(ckpt, config, device, b.kernels, bf16, options.quantize));
        } catch (RuntimeException e) {
            device.close();
            throw e;
        }
    }

    /** A model of {@code config}'s shape with random bf16 weights made on the GPU (benchmarks). */
    public static CudaBackend random(GlmConfig config, long seed, Consumer<CudaConfig> configure) {
        CudaConfig options = new CudaConfig();
        configure.accept(options);
        CudaDevice device = CudaDevice.open(options.device);
        try {
            boolean bf16 = options.precision != CudaConfig.Precision.FP32;
            return new CudaBackend(config, options, device, bf16,
                    b -> DeviceWeights.random(config, device, b.kernels, bf16, seed, options.quantize));
        } catch (RuntimeException e) {
            device.close();
            throw e;
        }
    }

    /** inv_freq[i] = 1 / theta^(2i / rotary_dim), computed in fp32 as HF's GlmRotaryEmbedding does. */
    static float[] inverseFrequencies(GlmConfig c) {
        int rot = c.rotaryDim();
        float[] inv = new float[Math.max(1, rot / 2)];
        for (int i = 0; i < rot / 2; i++) {
            float exponent = (float) (2 * i) / (float) rot;
            inv[i] = 1.0f / (float) Math.pow(c.ropeTheta(), exponent);
        }
        return inv;
    }

    @Override
    public GlmConfig config() {
        return config;
    }

    /** E.g. {@code cuda NVIDIA H100 80GB HBM3 bf16 +flash-attention +fused-decode}: the optional kernels in use. */
    @Override
    public String description() {
        return "cuda " + device.name() + (bf16 ? " bf16" : " fp32")
                + (options.quantize != null ? " " + options.quantize.flagName() + "-weights prefill-gemm="
                        + kernels.quantizedPath(2 * QuantizedLinears.GEMV_MAX_ROWS, config.hiddenSize(),
                                2 * config.intermediateSize()).flagName() : "")
                + (kernels.hasFlashAttention(config.headDim()) ? " +flash-attention" : "")
                + (kernels.hasFusedDecode() ? " +fused-decode" : "")
                + (kernels.hasDecodeAttention(1, config.numHeads(), config.numKvHeads(), config.headDim())
                        ? " +decode-attention" : "");
    }

    public CudaDevice device() {
        return device;
    }

    /** The last step's kernel timeline, when the kernels were compiled with AUTOGLM_TRACE (measurement only). */
    public long[] kernelTrace() {
        return runtime.trace();
    }

    /** Bytes of weights on the GPU. */
    public long weightBytes() {
        return weights.bytes();
    }

    @Override
    public int maxKvBlocks(int blockSize) {
        device.makeCurrent();
        long[] mem = device.memoryInfo();
        long blockBytes = MemoryPlan.kvBlockBytes(config, blockSize, bf16 ? 2 : 4);
        long metaReserve = 64L << 20;   // step metadata and sampling buffers, allocated with the cache
        return MemoryPlan.kvBlocks(blockBytes, mem[0] - metaReserve, mem[1], options.gpuMemoryUtilization, 1);
    }

    @Override
    public void allocateKvCache(int numBlocks, int blockSize) {
        if (kv != null) throw new IllegalStateException("the KV cache is already allocated");
        device.makeCurrent();
        kv = KvCache.allocate(device, config, numBlocks, blockSize, bf16 ? 2 : 4);
        forward = new BatchedForward(config, kernels, weights, activations, kv, invFreq.address());
        if (SingleTokenForward.supports(config, kernels)) {
            singleToken = new SingleTokenForward(config, kernels, weights, activations, kv, invFreq.address());
        }
        int maxBlocksPerSeq = (maxModelLen + blockSize - 1) / blockSize;
        staging = new StepStaging(device, (int) StepLauncher.metaCapacity(options, group, maxBlocksPerSeq),
                options.maxSeqs, config.vocabSize());
        if (options.asyncScheduling) async = new AsyncSteps();
        launcher = new StepLauncher(config, options, device, kernels, kv, staging, async, maxModelLen);
        masks = new GrammarMasks(device, kernels, options.maxSeqs, config.vocabSize());
    }

    @Override
    public float[][] forward(List<SequenceChunk> chunks) {
        requireKv();
        float[][] out = new float[chunks.size()][];
        for (List<StepSplitter.Piece> step : StepSplitter.split(chunks, options.maxBatchTokens, options.maxSeqs)) {
            List<SequenceChunk> parts = StepLauncher.pieces(step);
            PackedStep p = launcher.launch(parts, null, forward, singleToken, options.cudaGraphs);
            int rows = StepLauncher.realRows(p);
            if (rows == 0) continue;
            staging.copyLogitsBack(activations.logits, 0, rows);
            device.synchronize();
            for (int r = 0; r < rows; r++) {
                int chunk = p.logitChunk()[r];
                if (parts.get(chunk).wantLogits()) out[step.get(chunk).index()] = staging.logits(r);
            }
        }
        return out;
    }

    /**
     * Greedy, temperature, top-k and top-p run on the GPU (sampling.cu); min-p, penalties and logprobs need the
     * host sampler.
     */
    @Override
    public boolean canSample(SamplingParams params) {
        return params.minP() <= 0 && params.repetitionPenalty() == 1 && params.presencePenalty() == 0
                && params.frequencyPenalty() == 0 && params.logprobs() < 0 && params.logitBias().isEmpty();
    }

    /**
     * The forward pass followed by sampling on the GPU: for chunks with parameters only token ids come back;
     * the logits of chunks without (sampled on the host) are copied row by row. {@code params.get(i)} and
     * {@code chunks.get(i)} belong together; the draw of a sequence at a position is fixed by its seed.
     */
    @Override
    public SampledStep forwardAndSample(List<SequenceChunk> chunks, List<SamplingParams> params) {
        return forwardAndSample(chunks, params, null);
    }

    @Override
    public boolean canApplyTokenMasks() {
        return true;
    }

    /**
     * With grammar masks: a step with a constrained row runs its forward pass alone (graph or not), the host waits
     * for the masks while the GPU computes, then uploads them, and apply_token_mask and sample_tokens run after it.
     */
    @Override
    public SampledStep forwardAndSample(List<SequenceChunk> chunks, List<SamplingParams> params, TokenMasks masks) {
        requireKv();
        int[] ids = new int[chunks.size()];
        java.util.Arrays.fill(ids, -1);
        float[][] logits = new float[chunks.size()][];
        for (List<StepSplitter.Piece> step : StepSplitter.split(chunks, options.maxBatchTokens, options.maxSeqs)) {
            List<SequenceChunk> parts = StepLauncher.pieces(step);
            List<SamplingParams> partParams = new ArrayList<>(step.size());
            for (StepSplitter.Piece piece : step) partParams.add(params.get(piece.index()));
            boolean masked = false;
            for (StepSplitter.Piece piece : step) {
                masked |= masks != null && params.get(piece.index()) != null && masks.has(piece.index());
            }
            PackedStep p = launcher.launch(parts, masked ? null : partParams, forward, singleToken,
                    options.cudaGraphs);
            int rows = StepLauncher.realRows(p);
            if (rows == 0) continue;
            if (masked) {
                this.masks.sample(p, rows, step, partParams, masks, activations.logits, staging);
                if (async != null) async.launched(parts, p.logitChunk(), partParams);
            }
            // Rows sampled on the host were "sampled" greedily on the GPU (temperature 0 leaves logits as they are).
            for (int r = 0; r < rows; r++) {
                int chunk = p.logitChunk()[r];
                if (partParams.get(chunk) == null && parts.get(chunk).wantLogits()) {
                    staging.copyLogitsBack(activations.logits, r, 1);
                }
            }
            // the ids into the pinned mirror of the sampling buffer, queued behind the step: one wait for both
            Pointer idsHost = staging.copyIdsBack(rows);
            device.synchronize();
            int[] drawn = idsHost.getIntArray(0, rows);
            for (int r = 0; r < rows; r++) {
                int chunk = p.logitChunk()[r];
                if (!parts.get(chunk).wantLogits()) continue;
                int index = step.get(chunk).index();
                if (partParams.get(chunk) != null) {
                    ids[index] = drawn[r];
                } else {
                    logits[index] = staging.logits(r);
                }
            }
        }
        return new SampledStep(ids, logits);
    }

    @Override
    public boolean feedsSampledIds() {
        return options.asyncScheduling;
    }

    /**
     * Asynchronous scheduling: a step whose chunks are all sampled here and fit one launch is queued and its ids
     * copied back behind it; the handle waits for them. Tokens the step before drew enter as feed_sampled_ids rows.
     * Any other step (host-sampled rows, a split step) runs as {@link #forwardAndSample} does, with those tokens
     * read on the host.
     */
    @Override
    public PendingStep submit(List<SequenceChunk> chunks, List<SamplingParams> params) {
        if (async == null) return Backend.super.submit(chunks, params);
        requireKv();
        boolean sampled = false;
        boolean hostRows = false;
        for (int i = 0; i < chunks.size(); i++) {
            sampled |= params.get(i) != null;
            hostRows |= params.get(i) == null && chunks.get(i).wantLogits();
        }
        // one launch feeds before it samples; a split step's later pieces would read ids its earlier ones drew
        boolean oneLaunch = StepSplitter.split(chunks, options.maxBatchTokens, options.maxSeqs).size() == 1;
        List<SequenceChunk> fed = async.feed(chunks, oneLaunch);
        if (!sampled || hostRows || !oneLaunch) {
            SampledStep out = sampled ? forwardAndSample(fed, params) : SampledStep.ofLogits(forward(fed));
            return async.submitted(chunks, PendingStep.done(out));
        }
        List<StepSplitter.Piece> step = StepSplitter.split(fed, options.maxBatchTokens, options.maxSeqs).get(0);
        List<SequenceChunk> parts = StepLauncher.pieces(step);
        List<SamplingParams> partParams = new ArrayList<>(step.size());
        for (StepSplitter.Piece piece : step) partParams.add(params.get(piece.index()));
        PackedStep p = launcher.launch(parts, partParams, forward, singleToken, options.cudaGraphs);
        int rows = StepLauncher.realRows(p);
        int[] chunkOfRow = new int[rows];
        for (int r = 0; r < rows; r++) chunkOfRow[r] = step.get(p.logitChunk()[r]).index();
        Pointer idsHost = staging.copyIdsBack(rows);
        return async.submitted(chunks, async.queued(device.stream(), idsHost, rows, chunkOfRow, chunks.size()));
    }

    /**
     * GPU time per kind of operation of one step of {@code chunks}, sampled on the GPU with {@code params}, averaged
     * over {@code repeats} runs, most expensive first. The step runs without a graph, but the stream is held until
     * all of it is queued, so that its kernels run back to back as from a graph and the times are the kernels', not
     * the host's launch rate. For benchmarks: the step writes the KV cache like a real one.
     */
    public List<OperationTime> profileStep(List<SequenceChunk> chunks, List<SamplingParams> params, int repeats) {
        requireKv();
        device.makeCurrent();
        Map<String, double[]> total = new HashMap<>();
        try (EventClock clock = new EventClock(device.stream(), 4096)) {
            KernelTimer timer = new KernelTimer(kernels, clock);
            BatchedForward timed = new BatchedForward(config, timer, weights, activations, kv, invFreq.address());
            SingleTokenForward timedSingle = singleToken == null ? null
                    : new SingleTokenForward(config, timer, weights, activations, kv, invFreq.address());
            for (int r = 0; r < repeats; r++) {
                kernels.holdStream(200_000_000L);   // ~0.1 s at 2 GHz: longer than queuing a step takes
                timer.start();
                launcher.launch(chunks, params, timed, timedSingle, false);
                device.synchronize();
                timer.read().forEach((name, stat) -> {
                    double[] t = total.computeIfAbsent(name, n -> new double[2]);
                    t[0] += stat.millis();
                    t[1] += stat.calls();
                });
            }
        }
        List<OperationTime> out = new ArrayList<>();
        total.forEach((name, t) -> out.add(new OperationTime(name, 1000 * t[0] / repeats, (int) (t[1] / repeats))));
        out.sort((a, b) -> Double.compare(b.microsPerStep(), a.microsPerStep()));
        return out;
    }

    @Override
    public void copyBlocks(int[] sourceBlocks, int[] targetBlocks) {
        requireKv();
        device.makeCurrent();
        long bytes = kv.blockBytes();
        for (int layer = 0; layer < config.numLayers(); layer++) {
            for (int i = 0; i < sourceBlocks.length; i++) {
                for (long base : new long[] {kv.keys(layer), kv.values(layer)}) {
                    check(CuDriver.cuMemcpyDtoDAsync_v2(base + targetBlocks[i] * bytes, base + sourceBlocks[i] * bytes,
                            bytes, device.stream()), "cuMemcpyDtoDAsync(KV block)");
                }
            }
        }
    }

    /** Waits for all queued GPU work (benchmarks time with it). */
    public void synchronize() {
        device.synchronize();
    }

    private void requireKv() {
        if (kv == null) throw new IllegalStateException("allocateKvCache must be called before forward");
    }

    @Override
    public void close() {
        device.makeCurrent();
        device.synchronize();
        if (launcher != null) launcher.close();
        if (async != null) async.close();
        if (staging != null) staging.close();
        if (masks != null) masks.close();
        kernels.close();
        device.close();
    }
}
