package org.autoglm.kernels;

import org.autoglm.kernels.cuda.CudaDevice;
import org.autoglm.kernels.cuda.DeviceBuffer;
import org.autoglm.models.config.GlmConfig;

/**
 * The paged KV pool: for each layer a K and a V region of {@code numBlocks × blockSize × kvHeads × headDim}
 * elements. A token at position p of a sequence lives in slot {@code blockTable[p / blockSize] * blockSize + p % blockSize}.
 */
final class KvCache {

    private final DeviceBuffer buffer;
    private final int numBlocks;
    private final int blockSize;
    private final long regionBytes;
    private final long blockBytes;

    KvCache(CudaDevice device, GlmConfig c, int numBlocks, int blockSize, int elementBytes) {
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.blockBytes = (long) blockSize * c.numKvHeads() * c.headDim() * elementBytes;
        this.regionBytes = blockBytes * numBlocks;
        this.buffer = device.allocate(2 * regionBytes * c.numLayers(),
                "KV cache (" + numBlocks + " blocks of " + blockSize + " tokens)");
    }

    long keys(int layer) {
        return buffer.at(2 * layer * regionBytes);
    }

    long values(int layer) {
        return buffer.at((2L * layer + 1) * regionBytes);
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
