package org.autoglm.kernels;

import org.autoglm.kernels.cuda.CudaDevice;
import org.autoglm.kernels.cuda.DeviceBuffer;
import org.autoglm.models.config.GlmConfig;

/**
 * The paged KV pool: for each layer a K and a V region of {@code numBlocks × blockSize × kvHeads × headDim}
 * elements. A token at position p of a sequence lives in slot {@code blockTable[p / blockSize] * blockSize + p % blockSize}.
 */
final class KvCache {

    private final long base;
    private final int numBlocks;
    private final int blockSize;
    private final long regionBytes;
    private final long blockBytes;

    /** The pool at device address {@code base}, which holds {@link #bytes} bytes. */
    KvCache(long base, GlmConfig c, int numBlocks, int blockSize, int elementBytes) {
        this.base = base;
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.blockBytes = (long) blockSize * c.numKvHeads() * c.headDim() * elementBytes;
        this.regionBytes = blockBytes * numBlocks;
    }

    static long bytes(GlmConfig c, int numBlocks, int blockSize, int elementBytes) {
        return 2L * c.numLayers() * numBlocks * blockSize * c.numKvHeads() * c.headDim() * elementBytes;
    }

    static KvCache allocate(CudaDevice device, GlmConfig c, int numBlocks, int blockSize, int elementBytes) {
        DeviceBuffer buffer = device.allocate(bytes(c, numBlocks, blockSize, elementBytes),
                "KV cache (" + numBlocks + " blocks of " + blockSize + " tokens)");
        return new KvCache(buffer.address(), c, numBlocks, blockSize, elementBytes);
    }

    long keys(int layer) {
        return base + 2L * layer * regionBytes;
    }

    long values(int layer) {
        return base + (2L * layer + 1) * regionBytes;
    }

    int numBlocks() {
        return numBlocks;
    }

    int blockSize() {
        return blockSize;
    }

    /** Bytes of one block in one layer's K (or V) region. */
    long blockBytes() {
        return blockBytes;
    }
}
