package org.autoglm.kernels.cpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.autoglm.models.ModelLoadException;
import org.autoglm.models.backend.Backend;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.models.config.GlmConfig;
import org.autoglm.models.config.GlmConfigReader;
import org.autoglm.models.weights.Checkpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pure-Java CPU backend: the GLM forward pass ({@link CpuForward}) on the Vector API over memory-mapped weights,
 * f32 / bf16 / f16 as stored or q8_0 / q4_0 quantized at load ({@link QuantizedFile}), with a paged fp32 KV cache
 * ({@link CpuKvCache}) and a pool of compute threads ({@link WorkerPool}). Needs {@code jdk.incubator.vector} in the
 * boot layer ({@code --add-modules jdk.incubator.vector}; the node's jar arranges it itself).
 *
 * <pre>{@code
 * try (Backend backend = CpuBackend.load(modelDir, CpuOptions.defaults().withQuantize(WeightType.Q8_0))) {
 *     backend.allocateKvCache(backend.maxKvBlocks(16), 16);
 *     float[][] logits = backend.forward(chunks);
 * }
 * }</pre>
 */
public final class CpuBackend implements Backend {

    private static final Logger LOG = LoggerFactory.getLogger(CpuBackend.class);
    private static final String VECTOR_MODULE = "jdk.incubator.vector";

    private final GlmConfig config;
    private final Checkpoint checkpoint;
    private final QuantizedFile quantized;
    private final CpuWeights weights;
    private final WorkerPool pool;
    private final CpuForward forward;
    private final CpuOptions options;
    private CpuKvCache cache;
    private boolean closed;

    private CpuBackend(GlmConfig config, Checkpoint checkpoint, QuantizedFile quantized, CpuWeights weights,
                       WorkerPool pool, CpuOptions options) {
        this.config = config;
        this.checkpoint = checkpoint;
        this.quantized = quantized;
        this.weights = weights;
        this.pool = pool;
        this.options = options;
        this.forward = new CpuForward(config, weights, pool);
    }

    /**
     * Whether this JVM's Java release has Vector API loads the kernels can read the memory-mapped weights with: the
     * byte-buffer loads of JDK 17 and 18, or the memory-segment loads of JDK 22 and later ({@link VectorLoads}). JDK
     * 19-21 have the latter only over {@code java.lang.foreign}'s preview, which a class compiled for 17 cannot use.
     */
    public static boolean supportedJava() {
        int feature = Runtime.version().feature();
        return feature <= 18 || feature >= 22;
    }

    /** Whether the Vector API module is in this JVM's boot layer (else the backend cannot load). */
    public static boolean vectorApiPresent() {
        return ModuleLayer.boot().findModule(VECTOR_MODULE).isPresent();
    }

    /** Why the backend cannot run in this JVM, with what to do; null when it can. */
    public static String unusableReason() {
        if (!supportedJava()) {
            return "--backend cpu needs Java 17, 18 or 22 and later, and this is Java " + Runtime.version().feature()
                    + ": JDK 19 replaced the Vector API's byte-buffer loads our kernels read the mapped weights with"
                    + " by memory-segment loads (JEP 426), whose java.lang.foreign API was a preview until JDK 22."
                    + " Run the node on a JDK 17 or 22+, or use --backend djl";
        }
        if (!vectorApiPresent()) {
            return "--backend cpu needs the JDK's Vector API: start java with --add-modules " + VECTOR_MODULE
                    + " (java -jar autoglm-node.jar does this itself)";
        }
        return null;
    }

    public static CpuBackend load(Path modelDir, CpuOptions options) {
        String unusable = unusableReason();
        if (unusable != null) {
            throw new IllegalStateException(unusable);
        }
        GlmConfig config = GlmConfigReader.read(modelDir);
        Checkpoint checkpoint = Checkpoint.open(modelDir);
        WorkerPool pool = new WorkerPool(options.resolvedThreads());
        QuantizedFile quantized = null;
        try {
            long start = System.nanoTime();
            List<CpuWeights.LinearName> names = CpuWeights.linearNames(config, checkpoint);
            CpuWeights weights;
            if (options.quantize() != null) {
                Path file = QuantizedFile.location(modelDir, options.quantize(), options.cacheDir());
                quantized = QuantizedFile.open(file, options.quantize(), checkpoint, names, pool);
                weights = CpuWeights.load(config, checkpoint, quantized::matrix);
            } else {
                java.util.Map<String, CpuWeights.LinearName> byName = new java.util.HashMap<>();
                names.forEach(n -> byName.put(n.name(), n));
                weights = CpuWeights.load(config, checkpoint, name -> {
                    CpuWeights.LinearName n = byName.get(name);
                    return CpuWeights.stored(checkpoint, name, n.rows(), n.cols());
                });
            }
            LOG.debug("loaded {} for the CPU ({} MB of weights) in {} ms", modelDir, weights.bytes() >> 20,
                    (System.nanoTime() - start) / 1_000_000);
            return new CpuBackend(config, checkpoint, quantized, weights, pool, options);
        } catch (RuntimeException e) {
            pool.close();
            if (quantized != null) quantized.close();
            checkpoint.close();
            throw e;
        }
    }

    @Override
    public GlmConfig config() {
        return config;
    }

    @Override
    public String description() {
        return "cpu " + weights.lmHead.type.ggmlName() + " x" + pool.threads() + " threads, "
                + VectorKernels.F.vectorBitSize() + "-bit vectors (" + config.modelType() + ", "
                + checkpoint.directory().getFileName() + ")";
    }

    /** Bytes of the weights as the backend holds them. */
    public long weightBytes() {
        return weights.bytes();
    }

    @Override
    public int maxKvBlocks(int blockSize) {
        long perBlock = CpuKvCache.bytesPerBlock(config.numLayers(), blockSize,
                config.numKvHeads() * config.headDim());
        long budget = options.kvCacheBytes();
        if (budget == 0) {
            Runtime rt = Runtime.getRuntime();
            long heapRoom = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
            // the pool lives on the Java heap: leave most of it to the engine, and zeroing gigabytes takes seconds
            budget = Math.min(availableMemoryBytes() / 4, heapRoom / 4);
        }
        long perLayerLimit = (Integer.MAX_VALUE - 16L) / ((long) blockSize * config.numKvHeads() * config.headDim());
        return (int) Math.max(1, Math.min(perLayerLimit, budget / perBlock));
    }

    @Override
    public void allocateKvCache(int numBlocks, int blockSize) {
        if (numBlocks <= 0 || blockSize <= 0) {
            throw new IllegalArgumentException("numBlocks and blockSize must be positive: " + numBlocks + ", "
                    + blockSize);
        }
        cache = null;
        cache = new CpuKvCache(config.numLayers(), numBlocks, blockSize, config.numKvHeads() * config.headDim());
    }

    @Override
    public float[][] forward(List<SequenceChunk> chunks) {
        CpuKvCache kv = requireCache();
        if (chunks.isEmpty()) return new float[0][];
        for (SequenceChunk chunk : chunks) {
            check(chunk, kv);
        }
        return forward.forward(chunks, kv);
    }

    @Override
    public void copyBlocks(int[] sourceBlocks, int[] targetBlocks) {
        CpuKvCache kv = requireCache();
        if (sourceBlocks.length != targetBlocks.length) {
            throw new IllegalArgumentException("copyBlocks needs as many targets as sources");
        }
        for (int i = 0; i < sourceBlocks.length; i++) {
            checkBlock(sourceBlocks[i], kv);
            checkBlock(targetBlocks[i], kv);
        }
        for (int i = 0; i < sourceBlocks.length; i++) {
            kv.copyBlock(sourceBlocks[i], targetBlocks[i]);
        }
    }

    private static void checkBlock(int block, CpuKvCache kv) {
        if (block < 0 || block >= kv.numBlocks) {
            throw new IllegalArgumentException("KV block " + block + " is outside the pool of " + kv.numBlocks
                    + " blocks");
        }
    }

    private void check(SequenceChunk chunk, CpuKvCache kv) {
        for (int token : chunk.tokens()) {
            if (token < 0 || token >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + token + " of sequence " + chunk.sequenceId()
                        + " is outside the vocabulary [0, " + config.vocabSize() + ")");
            }
        }
        int needed = (chunk.endPosition() + kv.blockSize - 1) / kv.blockSize;
        if (chunk.blockTable().length < needed) {
            throw new IllegalArgumentException("sequence " + chunk.sequenceId() + " has " + chunk.blockTable().length
                    + " KV blocks, fewer than its " + chunk.endPosition() + " positions need");
        }
        for (int i = 0; i < needed; i++) {
            checkBlock(chunk.blockTable()[i], kv);
        }
    }

    private CpuKvCache requireCache() {
        if (cache == null) {
            throw new IllegalStateException("allocateKvCache must be called before forward or copyBlocks");
        }
        return cache;
    }

    /** MemAvailable from /proc/meminfo (Linux), else the JVM's maximum heap. */
    static long availableMemoryBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            LOG.debug("no /proc/meminfo: {}", e.toString());
        }
        return Runtime.getRuntime().maxMemory();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        cache = null;
        pool.close();
        if (quantized != null) quantized.close();
        checkpoint.close();
    }
}
