package org.autoglm.kernels.plan;

import java.util.ArrayList;
import java.util.List;

/**
 * Decode steps replay CUDA graphs captured for a few shapes: batch sizes round up to a power of two, and the
 * block-table width (blocks per sequence) to a power of two of at least {@link #MIN_BLOCKS}. A graph is keyed by
 * both, since both are baked into its launches.
 */
public final class GraphBuckets {

    public static final int MIN_BLOCKS = 8;

    private GraphBuckets() {}

    /** The graph shape for a decode step. */
    public record Key(int batch, int blocksPerSeq) {}

    /** Batch sizes with a graph, up to {@code maxBatch}: 1, 2, 4, ... and maxBatch itself. */
    public static List<Integer> batchSizes(int maxBatch) {
        List<Integer> out = new ArrayList<>();
        for (int b = 1; b < maxBatch; b *= 2) out.add(b);
        out.add(maxBatch);
        return out;
    }

    /** Smallest bucket holding {@code batch} sequences, or -1 when the batch is too large for graphs. */
    public static int batchBucket(int batch, int maxBatch) {
        if (batch < 1 || batch > maxBatch) return -1;
        for (int b : batchSizes(maxBatch)) {
            if (b >= batch) return b;
        }
        return -1;
    }

    /** Power of two ≥ max(needed, MIN_BLOCKS), capped at {@code maxBlocks}; -1 when needed exceeds the cap. */
    public static int blockBucket(int neededBlocks, int maxBlocks) {
        if (neededBlocks > maxBlocks) return -1;
        int b = MIN_BLOCKS;
        while (b < neededBlocks) b *= 2;
        return Math.min(b, maxBlocks);
    }

    public static Key key(int batch, int neededBlocks, int maxBatch, int maxBlocks) {
        int b = batchBucket(batch, maxBatch);
        int m = blockBucket(neededBlocks, maxBlocks);
        return b < 0 || m < 0 ? null : new Key(b, m);
    }
}
