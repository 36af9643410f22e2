package org.autoglm.kernels.plan;

import org.autoglm.models.config.GlmConfig;

/**
 * GPU memory budget: weights and activation buffers first, then as many KV blocks as fit in
 * {@code utilization × total} minus what is already in use. Failures are start-up errors with the numbers.
 */
public final class MemoryPlan {

    private MemoryPlan() {}

    /** Bytes of one KV block across all layers: K and V, blockSize tokens, every KV head. */
    public static long kvBlockBytes(GlmConfig c, int blockSize, int elementBytes) {
        return 2L * c.numLayers() * blockSize * c.numKvHeads() * c.headDim() * elementBytes;
    }

    /** Throws {@link GpuMemoryException} when {@code bytes} more would exceed the budget. */
    public static void checkFits(String what, long bytes, long free, long total, double utilization) {
        long room = room(free, total, utilization);
        if (bytes > room) {
            throw new GpuMemoryException(String.format(
                    "%s need %.2f GiB of GPU memory, but only %.2f GiB is left within --gpu-memory-utilization %.2f"
                            + " (%.2f GiB free of %.2f GiB). Use a GPU with more memory, a smaller model, or raise"
                            + " --gpu-memory-utilization.",
                    what, gib(bytes), gib(Math.max(0, room)), utilization, gib(free), gib(total)));
        }
    }

    /** KV blocks that fit now; a {@link GpuMemoryException} when not even {@code minBlocks} do. */
    public static int kvBlocks(long blockBytes, long free, long total, double utilization, int minBlocks) {
        long room = room(free, total, utilization);
        long blocks = Math.max(0, room / blockBytes);
        if (blocks < minBlocks) {
            throw new GpuMemoryException(String.format(
                    "after weights and buffers only %.2f GiB is left within --gpu-memory-utilization %.2f (%.2f GiB"
                            + " free of %.2f GiB): room for %d KV blocks of %.1f MiB, %d needed. Raise"
                            + " --gpu-memory-utilization or use a GPU with more memory.",
                    gib(Math.max(0, room)), utilization, gib(free), gib(total), blocks, blockBytes / 1048576.0,
                    minBlocks));
        }
        return (int) Math.min(Integer.MAX_VALUE, blocks);
    }

    /** Bytes we may still allocate: the utilization cap minus what is in use (by us or anyone else). */
    static long room(long free, long total, double utilization) {
        if (utilization <= 0 || utilization > 1) {
            throw new IllegalArgumentException("--gpu-memory-utilization must be in (0, 1], got " + utilization);
        }
        long used = total - free;
        return (long) (utilization * total) - used;
    }

    static double gib(long bytes) {
        return bytes / (1024.0 * 1024 * 1024);
    }

    /** The GPU cannot hold what was asked; the message has the numbers and what to change. */
    public static final class GpuMemoryException extends RuntimeException {
        public GpuMemoryException(String message) {
            super(message);
        }
    }
}
