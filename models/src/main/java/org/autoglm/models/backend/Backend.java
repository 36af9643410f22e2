package org.autoglm.models.backend;

import java.util.List;
import org.autoglm.models.config.GlmConfig;

/**
 * A model runner for one GLM checkpoint: computes next-token logits for a batch of sequence chunks
 * over a paged KV cache. The engine owns the block tables (which blocks a sequence uses); the backend
 * owns the memory behind them. Implementations: {@code DjlBackend} (CPU, PyTorch through DJL) and
 * {@code CudaBackend} (our own kernels). Both must reproduce the reference fixtures.
 *
 * <p>Not thread-safe: one engine loop drives one backend.
 */
public interface Backend extends AutoCloseable {

    /** The architecture this backend runs. */
    GlmConfig config();

    /** A short human description, e.g. {@code "djl-cpu fp32"} or {@code "cuda NVIDIA H100 80GB bf16"}. */
    String description();

    /** How many KV blocks of {@code blockSize} tokens fit in this backend's memory budget. */
    int maxKvBlocks(int blockSize);

    /**
     * Allocates the KV pool: {@code numBlocks} blocks of {@code blockSize} tokens each, for every layer.
     * Called once, before the first {@link #forward}. Block ids in block tables are in [0, numBlocks).
     */
    void allocateKvCache(int numBlocks, int blockSize);

    /**
     * One batched forward pass. For each chunk, computes its tokens at positions
     * {@code startPosition .. startPosition + tokens.length - 1}, attending to the KV already stored for
     * positions {@code < startPosition} in the chunk's blocks, and stores the new tokens' KV in those blocks
     * (position p lives in block {@code blockTable[p / blockSize]}, slot {@code p % blockSize}).
     *
     * @return one entry per chunk, in order: the logits (length vocab) of the chunk's last token when
     *     {@link SequenceChunk#wantLogits()}, else {@code null}
     */
    float[][] forward(List<SequenceChunk> chunks);

    /** Copies the KV of whole blocks (for copy-on-write of shared prefix blocks). Default: unsupported. */
    default void copyBlocks(int[] sourceBlocks, int[] targetBlocks) {
        throw new UnsupportedOperationException(description() + " cannot copy KV blocks");
    }

    /** Frees native memory. */
    @Override
    void close();
}
