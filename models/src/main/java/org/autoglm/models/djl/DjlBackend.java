package org.autoglm.models.djl;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.jni.JniUtils;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import org.autoglm.models.backend.Backend;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.models.config.GlmConfig;
import org.autoglm.models.config.GlmConfigReader;
import org.autoglm.models.weights.Checkpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CPU backend: the GLM forward pass ({@link DjlForward}) on PyTorch through DJL, in fp32, over a paged KV
 * cache ({@link PagedKvCache}). All chunks of a step run as one batch: projections and MLP over every token
 * together, attention per sequence.
 *
 * <pre>{@code
 * try (Backend backend = DjlBackend.load(modelDir, DjlBackend.Options.defaults())) {
 *     backend.allocateKvCache(backend.maxKvBlocks(16), 16);
 *     float[][] logits = backend.forward(chunks);
 * }
 * }</pre>
 */
public final class DjlBackend implements Backend {

    /**
     * @param kvCacheBytes    memory for the KV pool; 0 means {@code kvCacheFraction} of the memory available
     *                        once the weights are loaded
     * @param kvCacheFraction share of available memory for the KV pool when {@code kvCacheBytes} is 0
     */
    public record Options(long kvCacheBytes, double kvCacheFraction, int threads) {
        public Options {
            if (kvCacheBytes < 0 || kvCacheFraction <= 0 || kvCacheFraction > 0.9 || threads < 0) {
                throw new IllegalArgumentException(
                        "kvCacheBytes >= 0, 0 < kvCacheFraction <= 0.9 and threads >= 0 expected");
            }
        }

        /**
         * A quarter of available memory for the KV cache (room for the JVM and the OS beside the weights), and
         * one PyTorch thread. Measured on the 2-core reference machine while other processes were busy: a
         * glm-edge-1.5b decode step took 0.41 s with one thread and 2.7-3.4 s with two, because OpenMP threads
         * spin waiting for each other on every op when a core is taken away; one thread already streams the
         * weights at ~15 GB/s.
         */
        public static Options defaults() {
            return new Options(0, 0.25, 1);
        }

        public Options withKvCacheBytes(long bytes) {
            return new Options(bytes, kvCacheFraction, threads);
        }

        /**
         * PyTorch intra-op threads, a setting of the whole process; 0 keeps PyTorch's own choice (one per core,
         * or {@code -Dai.djl.pytorch.num_threads}). More than one pays off only on otherwise idle cores.
         */
        public Options withThreads(int count) {
            return new Options(kvCacheBytes, kvCacheFraction, count);
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(DjlBackend.class);

    private final GlmConfig config;
    private final NDManager manager;
    private final Checkpoint checkpoint;
    private final DjlForward forward;
    private final Options options;
    private PagedKvCache cache;
    private boolean closed;

    private DjlBackend(GlmConfig config, NDManager manager, Checkpoint checkpoint, DjlForward forward,
                       Options options) {
        this.config = config;
        this.manager = manager;
        this.checkpoint = checkpoint;
        this.forward = forward;
        this.options = options;
    }

    /** Loads {@code modelDir} ({@code config.json} + safetensors) with default options. */
    public static DjlBackend load(Path modelDir) {
        return load(modelDir, Options.defaults());
    }

    public static DjlBackend load(Path modelDir, Options options) {
        return load(modelDir, options, DjlForward.MAX_SCORE_ELEMENTS);
    }

    /** With a smaller attention score budget, tests exercise attention in query blocks on tiny models. */
    static DjlBackend load(Path modelDir, Options options, long maxScoreElements) {
        GlmConfig config = GlmConfigReader.read(modelDir);
        Checkpoint checkpoint = Checkpoint.open(modelDir);
        NDManager manager = null;
        try {
            // Nothing may be downloaded at run time: the natives come from the jars on the class path.
            if (System.getProperty("ai.djl.offline") == null) {
                System.setProperty("ai.djl.offline", "true");
            }
            manager = Engine.getEngine("PyTorch").newBaseManager();
            if (options.threads() > 0) {
                JniUtils.setNumThreads(options.threads());
            }
            long start = System.nanoTime();
            GlmWeights weights = GlmWeights.load(config, checkpoint, manager);
            LOG.debug("loaded {} ({} MB) in {} ms", modelDir, checkpoint.totalBytes() >> 20,
                    (System.nanoTime() - start) / 1_000_000);
            return new DjlBackend(config, manager, checkpoint,
                    new DjlForward(config, weights, manager, maxScoreElements), options);
        } catch (RuntimeException e) {
            if (manager != null) {
                manager.close();
            }
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
        return "djl-cpu fp32 (" + config.modelType() + ", " + checkpoint.directory().getFileName() + ")";
    }

    @Override
    public int maxKvBlocks(int blockSize) {
        long budget = options.kvCacheBytes() > 0
                ? options.kvCacheBytes()
                : (long) (availableMemoryBytes() * options.kvCacheFraction());
        long perBlock = PagedKvCache.bytesPerBlock(config.numLayers(), blockSize, config.numKvHeads(),
                config.headDim());
        return (int) Math.min(Integer.MAX_VALUE, budget / perBlock);
    }

    @Override
    public void allocateKvCache(int numBlocks, int blockSize) {
        if (numBlocks <= 0 || blockSize <= 0) {
            throw new IllegalArgumentException("numBlocks and blockSize must be positive: " + numBlocks + ", "
                    + blockSize);
        }
        if (cache != null) {
            cache.close();
        }
        cache = new PagedKvCache(manager, config.numLayers(), numBlocks, blockSize, config.numKvHeads(),
                config.headDim());
    }

    @Override
    public float[][] forward(List<SequenceChunk> chunks) {
        PagedKvCache cache = requireCache();
        float[][] result = new float[chunks.size()][];
        if (chunks.isEmpty()) {
            return result;
        }
        // Everything created during the step (inputs, activations, gathered KV) is freed when the scope closes.
        try (NDScope scope = new NDScope(); NDManager step = manager.newSubManager()) {
            for (SequenceChunk chunk : chunks) {
                checkTokens(chunk);
            }
            StepBatch batch = new StepBatch(chunks, cache, step);
            NDArray hidden = forward.hiddenStates(batch, cache);
            if (batch.logitRows != null) {
                float[] logits = forward.logits(hidden, batch.logitRows).toFloatArray();
                int vocab = config.vocabSize();
                for (int r = 0; r < batch.logitChunks.length; r++) {
                    float[] row = new float[vocab];
                    System.arraycopy(logits, r * vocab, row, 0, vocab);
                    result[batch.logitChunks[r]] = row;
                }
            }
            scope.suppressNotUsedWarning();
        }
        return result;
    }

    @Override
    public void copyBlocks(int[] sourceBlocks, int[] targetBlocks) {
        PagedKvCache cache = requireCache();
        if (sourceBlocks.length != targetBlocks.length) {
            throw new IllegalArgumentException("copyBlocks needs as many targets as sources");
        }
        for (int block : IntStream.concat(IntStream.of(sourceBlocks), IntStream.of(targetBlocks)).toArray()) {
            if (block < 0 || block >= cache.numBlocks()) {
                throw new IllegalArgumentException("KV block " + block + " is outside the pool of "
                        + cache.numBlocks() + " blocks");
            }
        }
        int bs = cache.blockSize();
        long[] from = new long[sourceBlocks.length * bs];
        long[] to = new long[from.length];
        for (int i = 0; i < sourceBlocks.length; i++) {
            for (int s = 0; s < bs; s++) {
                from[i * bs + s] = (long) sourceBlocks[i] * bs + s;
                to[i * bs + s] = (long) targetBlocks[i] * bs + s;
            }
        }
        try (NDScope scope = new NDScope(); NDManager step = manager.newSubManager()) {
            cache.copyBlocks(step.create(from), step.create(to));
            scope.suppressNotUsedWarning();
        }
    }

    private PagedKvCache requireCache() {
        if (cache == null) {
            throw new IllegalStateException("allocateKvCache must be called before forward or copyBlocks");
        }
        return cache;
    }

    private void checkTokens(SequenceChunk chunk) {
        for (int token : chunk.tokens()) {
            if (token < 0 || token >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + token + " of sequence " + chunk.sequenceId()
                        + " is outside the vocabulary [0, " + config.vocabSize() + ")");
            }
        }
    }

    /** MemAvailable from /proc/meminfo (Linux), else the JVM's view of free physical memory. */
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
        java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            return sun.getFreeMemorySize();
        }
        return Runtime.getRuntime().maxMemory();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (cache != null) {
            cache.close();
        }
        manager.close();
        checkpoint.close();
    }
}
