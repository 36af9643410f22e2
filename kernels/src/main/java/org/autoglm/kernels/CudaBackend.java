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
import org.autoglm.kernels.plan.GraphBuckets;
import org.autoglm.kernels.plan.LaunchGeometry;
import org.autoglm.kernels.plan.MemoryPlan;
import org.autoglm.kernels.plan.StepLayout;
import org.autoglm.kernels.plan.StepPacker;
import org.autoglm.kernels.plan.StepPacker.PackedStep;
import org.autoglm.kernels.plan.StepSplitter;
import org.autoglm.models.ModelLoadException;
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
 * function as the reference); bf16 ones in bf16 storage with fp32 arithmetic.
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
    private final Map<String, DecodeGraph> graphs = new HashMap<>();
    private final long seedNonce = System.nanoTime();

    private KvCache kv;
    private GlmForward forward;
    private SingleTokenForward singleToken;   // null unless the fused batch-1 kernels are on
    private int maxBlocksPerSeq;
    private DeviceBuffer metaDevice;
    /** Pinned staging of the step metadata and sampling parameters: {@link AsyncSteps#SLOTS} copies used in turn. */
    private Pointer metaHost;
    private int metaCapacity;
    private DeviceBuffer samplingDevice;
    private Pointer samplingHost;
    private Pointer logitsHost;
    /** Grammar masks (maxSeqs rows of words) then each logit row's mask row; allocated on first use. */
    private DeviceBuffer maskDevice;
    private Pointer maskHost;
    /** Asynchronous scheduling's state; null when it is off. */
    private AsyncSteps async;
    /** The staging copy the last launch wrote. */
    private int stage;

    private CudaBackend(GlmConfig config, CudaConfig options, CudaDevice device, boolean bf16,
            WeightSource source) {
        if (config.headDim() > LaunchGeometry.MAX_HEAD_DIM
                || config.headDim() % LaunchGeometry.HEAD_DIM_MULTIPLE != 0) {
            throw new ModelLoadException("the cuda backend supports head_dim up to " + LaunchGeometry.MAX_HEAD_DIM
                    + " in multiples of " + LaunchGeometry.HEAD_DIM_MULTIPLE + "; this model has " + config.headDim());
        }
        if (config.hiddenSize() % 4 != 0 || config.hiddenSize() > LaunchGeometry.MAX_NORM_ROW) {
            throw new ModelLoadException("the cuda backend needs hidden_size in multiples of 4, at most "
                    + LaunchGeometry.MAX_NORM_ROW + " (add_rmsnorm holds a row in registers); this model has "
                    + config.hiddenSize());
        }
        if (config.intermediateSize() % 4 != 0) {   // silu_mul works four columns at a time
            throw new ModelLoadException("the cuda backend needs intermediate_size in multiples of 4; this model has "
                    + config.intermediateSize());
        }
        if (config.numHeads() % config.numKvHeads() != 0) {
            throw new ModelLoadException("num_attention_heads " + config.numHeads()
                    + " is not a multiple of num_key_value_heads " + config.numKvHeads());
        }
        if (options.quantize != null && device.computeCapability() < options.quantize.minComputeCapability()) {
            throw new ModelLoadException("--quantize " + options.quantize.flagName() + " needs sm_"
                    + options.quantize.minComputeCapability() + " or newer (e4m3 conversion in hardware); this GPU is"
                    + " sm_" + device.computeCapability() + ": use --quantize int8");
        }
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
                + (options.quantize != null ? " " + options.quantize.flagName() + "-weights" : "")
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
        forward = new GlmForward(config, kernels, weights, activations, kv, invFreq.address());
        if (SingleTokenForward.supports(config, kernels)) {
            singleToken = new SingleTokenForward(config, kernels, weights, activations, kv, invFreq.address());
        }
        maxBlocksPerSeq = (maxModelLen + blockSize - 1) / blockSize;
        int t = options.maxBatchTokens;
        int s = options.maxSeqs;
        long capacity = 3L * t + s + 1 + (long) s * maxBlocksPerSeq
                + 2L * ((long) t * group / LaunchGeometry.ATTENTION_ROWS + s + 1)
                + 2L * ((long) t * group / LaunchGeometry.FLASH_ROWS + s + 1) + Math.max(s, t);
        metaCapacity = (int) capacity;
        metaDevice = device.allocate(4L * capacity, "step metadata");
        metaHost = device.allocateHost(4L * capacity * AsyncSteps.SLOTS);
        samplingDevice = device.allocate(SamplingBuffers.bytes(s), "sampling parameters");
        samplingHost = device.allocateHost(SamplingBuffers.bytes(s) * AsyncSteps.SLOTS);
        if (options.asyncScheduling) async = new AsyncSteps();
    }

    @Override
    public float[][] forward(List<SequenceChunk> chunks) {
        requireKv();
        float[][] out = new float[chunks.size()][];
        for (List<StepSplitter.Piece> step : StepSplitter.split(chunks, options.maxBatchTokens, options.maxSeqs)) {
            List<SequenceChunk> parts = pieces(step);
            PackedStep p = launch(parts, null, forward, singleToken, options.cudaGraphs);
            int rows = realRows(p);
            if (rows == 0) continue;
            int vocab = config.vocabSize();
            if (logitsHost == null) logitsHost = device.allocateHost(4L * options.maxSeqs * vocab);
            check(CuDriver.cuMemcpyDtoHAsync_v2(logitsHost, activations.logits, 4L * rows * vocab, device.stream()),
                    "cuMemcpyDtoHAsync(logits)");
            device.synchronize();
            for (int r = 0; r < rows; r++) {
                int chunk = p.logitChunk()[r];
                if (parts.get(chunk).wantLogits()) {
                    out[step.get(chunk).index()] = logitsHost.getFloatArray(4L * r * vocab, vocab);
                }
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
        int vocab = config.vocabSize();
        for (List<StepSplitter.Piece> step : StepSplitter.split(chunks, options.maxBatchTokens, options.maxSeqs)) {
            List<SequenceChunk> parts = pieces(step);
            List<SamplingParams> partParams = new ArrayList<>(step.size());
            for (StepSplitter.Piece piece : step) partParams.add(params.get(piece.index()));
            boolean masked = false;
            for (StepSplitter.Piece piece : step) {
                masked |= masks != null && params.get(piece.index()) != null && masks.has(piece.index());
            }
            PackedStep p = launch(parts, masked ? null : partParams, forward, singleToken, options.cudaGraphs);
            int rows = realRows(p);
            if (rows == 0) continue;
            if (masked) sampleMasked(p, rows, step, partParams, masks);
            // Rows sampled on the host were "sampled" greedily on the GPU (temperature 0 leaves logits as they are).
            for (int r = 0; r < rows; r++) {
                int chunk = p.logitChunk()[r];
                if (partParams.get(chunk) == null && parts.get(chunk).wantLogits()) {
                    if (logitsHost == null) logitsHost = device.allocateHost(4L * options.maxSeqs * vocab);
                    check(CuDriver.cuMemcpyDtoHAsync_v2(logitsHost.share(4L * r * vocab), activations.logits + 4L * r * vocab,
                            4L * vocab, device.stream()), "cuMemcpyDtoHAsync(logits row)");
                }
            }
            // the ids into the pinned mirror of the sampling buffer, queued behind the step: one wait for both
            long idsOffset = SamplingBuffers.at(samplingDevice.address(), options.maxSeqs).outIds()
                    - samplingDevice.address();
            check(CuDriver.cuMemcpyDtoHAsync_v2(samplingStage().share(idsOffset), samplingDevice.address() + idsOffset,
                    4L * rows, device.stream()), "cuMemcpyDtoHAsync(token ids)");
            device.synchronize();
            int[] drawn = samplingStage().getIntArray(idsOffset, rows);
            for (int r = 0; r < rows; r++) {
                int chunk = p.logitChunk()[r];
                if (!parts.get(chunk).wantLogits()) continue;
                int index = step.get(chunk).index();
                if (partParams.get(chunk) != null) {
                    ids[index] = drawn[r];
                } else {
                    logits[index] = logitsHost.getFloatArray(4L * r * vocab, vocab);
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
        List<SequenceChunk> parts = pieces(step);
        List<SamplingParams> partParams = new ArrayList<>(step.size());
        for (StepSplitter.Piece piece : step) partParams.add(params.get(piece.index()));
        PackedStep p = launch(parts, partParams, forward, singleToken, options.cudaGraphs);
        int rows = realRows(p);
        int[] chunkOfRow = new int[rows];
        for (int r = 0; r < rows; r++) chunkOfRow[r] = step.get(p.logitChunk()[r]).index();
        long idsOffset = SamplingBuffers.at(samplingDevice.address(), options.maxSeqs).outIds() - samplingDevice.address();
        Pointer idsHost = samplingStage().share(idsOffset);
        check(CuDriver.cuMemcpyDtoHAsync_v2(idsHost, samplingDevice.address() + idsOffset, 4L * Math.max(rows, 1),
                device.stream()), "cuMemcpyDtoHAsync(token ids)");
        return async.submitted(chunks, async.queued(device.stream(), idsHost, rows, chunkOfRow, chunks.size()));
    }

    /** Uploads the masks of the step's constrained rows (waiting for them as needed), masks the logits, samples. */
    private void sampleMasked(PackedStep p, int rows, List<StepSplitter.Piece> step, List<SamplingParams> partParams,
                              TokenMasks masks) {
        int vocab = config.vocabSize();
        int words = (vocab + 63) / 64;
        long rowsOffset = 8L * options.maxSeqs * words;
        if (maskDevice == null) {
            maskDevice = device.allocate(rowsOffset + 4L * options.maxSeqs, "grammar masks");
            maskHost = device.allocateHost(rowsOffset + 4L * options.maxSeqs);
        }
        for (int r = 0; r < rows; r++) {
            int chunk = p.logitChunk()[r];
            int index = step.get(chunk).index();
            long[] mask = partParams.get(chunk) != null && step.get(chunk).chunk().wantLogits() && masks.has(index)
                    ? masks.await(index) : null;   // the GPU runs the forward meanwhile
            if (mask != null) maskHost.write(8L * r * words, mask, 0, words);
            maskHost.setInt(rowsOffset + 4L * r, mask != null ? r : -1);
        }
        check(CuDriver.cuMemcpyHtoDAsync_v2(maskDevice.address(), maskHost, rowsOffset, device.stream()),
                "cuMemcpyHtoDAsync(grammar masks)");
        check(CuDriver.cuMemcpyHtoDAsync_v2(maskDevice.address() + rowsOffset, maskHost.share(rowsOffset), 4L * rows,
                device.stream()), "cuMemcpyHtoDAsync(grammar mask rows)");
        writeSamplingParams(p, pieces(step), partParams);
        check(CuDriver.cuMemcpyHtoDAsync_v2(samplingDevice.address(), samplingStage(),
                SamplingBuffers.paramBytes(options.maxSeqs), device.stream()), "cuMemcpyHtoDAsync(sampling)");
        kernels.dependentLaunches(false);   // these two follow the forward's last kernel strictly
        kernels.applyTokenMask(activations.logits, rows, vocab, maskDevice.address(), words,
                maskDevice.address() + rowsOffset);
        SamplingBuffers b = SamplingBuffers.at(samplingDevice.address(), options.maxSeqs);
        kernels.sample(activations.logits, rows, vocab, b.temperature(), b.topK(), b.topP(), b.seeds(), b.steps(),
                b.outIds());
        if (async != null) async.launched(pieces(step), p.logitChunk(), partParams);
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
            GlmForward timed = new GlmForward(config, timer, weights, activations, kv, invFreq.address());
            SingleTokenForward timedSingle = singleToken == null ? null
                    : new SingleTokenForward(config, timer, weights, activations, kv, invFreq.address());
            for (int r = 0; r < repeats; r++) {
                kernels.holdStream(200_000_000L);   // ~0.1 s at 2 GHz: longer than queuing a step takes
                timer.start();
                launch(chunks, params, timed, timedSingle, false);
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

    /**
     * Uploads the step's metadata and runs it through {@code general}, or {@code oneToken} (may be null) when the
     * step is one token; from a graph when {@code useGraph} allows and it is a decode step with a bucket. With
     * {@code params} (one per part) the logits are sampled on the GPU.
     */
    private PackedStep launch(List<SequenceChunk> parts, List<SamplingParams> params, GlmForward general,
            SingleTokenForward oneToken, boolean useGraph) {
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
        if (l.totalInts() > metaCapacity) {
            throw new IllegalStateException("step metadata of " + l + " exceeds the buffer of " + metaCapacity + " ints");
        }
        stage = async != null ? async.nextSlot() : 0;
        Pointer meta = metaStage();
        meta.write(0, p.data(), 0, l.totalInts());
        check(CuDriver.cuMemcpyHtoDAsync_v2(metaDevice.address(), meta, 4L * l.totalInts(), device.stream()),
                "cuMemcpyHtoDAsync(step metadata)");
        if (sample) {
            writeSamplingParams(p, parts, params);
            // not the ids: the last step's stay on the GPU for feed_sampled_ids
            check(CuDriver.cuMemcpyHtoDAsync_v2(samplingDevice.address(), samplingStage(),
                    SamplingBuffers.paramBytes(options.maxSeqs), device.stream()), "cuMemcpyHtoDAsync(sampling)");
        }
        int maxKeys = key != null ? key.blocksPerSeq() * kv.blockSize() : p.maxContext();
        int splits = decode ? kernels.decodeSplits(l.seqs(), l.workItems(), config.numHeads(), config.numKvHeads(),
                config.headDim(), maxKeys) : 1;
        int minDense = options.denseAttentionMinTokens;
        boolean dense = !decode && parts.size() == 1 && parts.get(0).startPosition() == 0 && minDense > 0
                && !kernels.hasFlashAttention(config.headDim())
                && parts.get(0).tokens().length >= minDense;
        ForwardPass f = oneToken != null && l.tokens() == 1 ? oneToken : general;
        Runnable body = () -> {
            // dependent launches pay off in the one-token pass (its GEMVs fetch weights while the kernel ahead ends);
            // among cuBLAS's kernels they cost time (measured at batch 8, bench/RESULTS.md)
            kernels.dependentLaunches(f == oneToken);
            if (async != null) f.feedSampledIds(l, metaDevice.address(), SamplingBuffers.at(samplingDevice.address(),
                    options.maxSeqs));
            f.run(l, metaDevice.address(), splits, dense);
            if (sample) f.sample(l.logitRows(), SamplingBuffers.at(samplingDevice.address(), options.maxSeqs));
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

    private Pointer metaStage() {
        return metaHost.share(4L * metaCapacity * stage);
    }

    private Pointer samplingStage() {
        return samplingHost.share(SamplingBuffers.bytes(options.maxSeqs) * stage);
    }

    /** Row r of the sampling arrays belongs to logit row r, i.e. to part {@code p.logitChunk()[r]}. */
    private void writeSamplingParams(PackedStep p, List<SequenceChunk> parts, List<SamplingParams> params) {
        int s = options.maxSeqs;
        long temperature = 8L * s;
        long topK = temperature + 4L * s;
        long topP = topK + 4L * s;
        long steps = topP + 4L * s;
        Pointer samplingHost = samplingStage();
        samplingHost.setMemory(0, SamplingBuffers.bytes(s), (byte) 0);
        for (int row = 0; row < p.logitChunk().length; row++) {
            int chunk = p.logitChunk()[row];
            if (chunk < 0) continue;   // padding row: greedy on garbage, ignored
            SequenceChunk c = parts.get(chunk);
            SamplingParams sp = params.get(chunk);
            if (sp == null) continue; // sampled on the host: zeros mean greedy, which leaves the logits untouched
            long seed = sp.seed() != null ? sp.seed() : c.sequenceId() * 0x9E3779B97F4A7C15L ^ seedNonce;
            samplingHost.setLong(8L * row, seed);
            samplingHost.setFloat(temperature + 4L * row, (float) sp.temperature());
            samplingHost.setInt(topK + 4L * row, sp.topK());
            samplingHost.setFloat(topP + 4L * row, (float) sp.topP());
            samplingHost.setInt(steps + 4L * row, c.endPosition());
        }
    }

    private static List<SequenceChunk> pieces(List<StepSplitter.Piece> step) {
        List<SequenceChunk> parts = new ArrayList<>(step.size());
        for (StepSplitter.Piece piece : step) parts.add(piece.chunk());
        return parts;
    }

    /** Logit rows that belong to a chunk (a prefix: padding rows come last). */
    private static int realRows(PackedStep p) {
        int rows = 0;
        while (rows < p.logitChunk().length && p.logitChunk()[rows] >= 0) rows++;
        return rows;
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
        graphs.values().forEach(DecodeGraph::close);
        if (async != null) async.close();
        graphs.clear();
        for (Pointer host : new Pointer[] {metaHost, samplingHost, logitsHost, maskHost}) {
            if (host != null) device.freeHost(host);
        }
        kernels.close();
        device.close();
    }
}
