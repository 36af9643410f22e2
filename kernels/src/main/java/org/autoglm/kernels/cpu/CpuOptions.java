package org.autoglm.kernels.cpu;

import java.nio.file.Path;

/**
 * How the CPU backend runs a checkpoint.
 *
 * @param threads       compute threads; 0 means one per available core
 * @param quantize      {@link WeightType#Q8_0} or {@link WeightType#Q4_0} to quantize the linear weights at load, or
 *                      null to run them as stored (f32, bf16, f16)
 * @param kvCacheBytes  memory for the KV pool (on the Java heap); 0 means a quarter of the memory available after
 *                      loading, at most a quarter of the heap's free room
 * @param cacheDir      where quantized weights go when the checkpoint directory is read-only; null means
 *                      {@code ~/.cache/autoglm/cpu}
 */
public record CpuOptions(int threads, WeightType quantize, long kvCacheBytes, Path cacheDir) {

    public CpuOptions {
        if (threads < 0) throw new IllegalArgumentException("--threads must be >= 0 (0: one per core), not " + threads);
        if (kvCacheBytes < 0) throw new IllegalArgumentException("kvCacheBytes must be >= 0");
        if (quantize != null && !quantize.quantized()) {
            throw new IllegalArgumentException("--quantize takes q8_0 or q4_0, not " + quantize.ggmlName());
        }
    }

    public static CpuOptions defaults() {
        return new CpuOptions(0, null, 0, null);
    }

    public CpuOptions withThreads(int count) {
        return new CpuOptions(count, quantize, kvCacheBytes, cacheDir);
    }

    public CpuOptions withQuantize(WeightType type) {
        return new CpuOptions(threads, type, kvCacheBytes, cacheDir);
    }

    public CpuOptions withKvCacheBytes(long bytes) {
        return new CpuOptions(threads, quantize, bytes, cacheDir);
    }

    public CpuOptions withCacheDir(Path dir) {
        return new CpuOptions(threads, quantize, kvCacheBytes, dir);
    }

    /** The thread count to run with. */
    int resolvedThreads() {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }
}
