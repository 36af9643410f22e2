package org.autoglm.models.backend;

import java.util.List;
import org.autoglm.models.config.GlmConfig;
import org.autoglm.models.sampling.SamplingParams;

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

    /**
     * Whether {@link #forwardAndSample} can pick a sequence's next token on the device exactly as
     * {@code params} ask, so that only its id need cross to the host: no penalties (they need the sequence's
     * history), no logprobs, only the knobs the device sampler has. Default: no device sampling.
     *
     * <p>Seeds: a device sampler keeps {@code seed} reproducible on that backend, but draws differently from
     * the host {@code Sampler}, so one seed may give different tokens on the CPU and the GPU. Callers choose
     * host or device once per sequence (this method depends on the parameters only), never per step, so a
     * seeded sequence's tokens do not depend on which sequences share its batch.
     */
    default boolean canSample(SamplingParams params) {
        return false;
    }

    /**
     * {@link #forward}, then sampling on the device for the chunks that have parameters. {@code params.get(i)}
     * belongs to {@code chunks.get(i)}: non-null (only where {@link #canSample} is true) means "draw the next
     * token here"; null means "return the logits as {@link #forward} would".
     *
     * @return per chunk that wants logits: the drawn token id, or the logits where its params are null
     * @throws UnsupportedOperationException when this backend cannot sample ({@link #canSample} is always false)
     */
    default SampledStep forwardAndSample(List<SequenceChunk> chunks, List<SamplingParams> params) {
        throw new UnsupportedOperationException(description() + " cannot sample on the device");
    }

    /**
     * The output-grammar masks of one step's chunks, for {@link #forwardAndSample(List, List, TokenMasks)}: a mask
     * is computed on the host while the forward pass runs on the device, and collected just before sampling.
     */
    interface TokenMasks {
        /** Whether chunk {@code i} is constrained. */
        boolean has(int chunk);

        /** Chunk {@code i}'s allowed next tokens (bit t of word t / 64); may wait for the mask to be computed. */
        long[] await(int chunk);
    }

    /** Whether {@link #forwardAndSample(List, List, TokenMasks)} applies grammar masks on the device. */
    default boolean canApplyTokenMasks() {
        return false;
    }

    /**
     * {@link #forwardAndSample(List, List)}, with the chunks that {@code masks} constrains drawing only allowed
     * tokens (the masks are uploaded and applied to the logits before the device sampler runs).
     *
     * @throws UnsupportedOperationException when {@link #canApplyTokenMasks} is false
     */
    default SampledStep forwardAndSample(List<SequenceChunk> chunks, List<SamplingParams> params, TokenMasks masks) {
        throw new UnsupportedOperationException(description() + " cannot apply token masks on the device");
    }

    /**
     * Whether this backend runs {@link #submit submitted} steps asynchronously and feeds a sequence's device-drawn
     * token to its next step itself ({@link SequenceChunk#PREVIOUS_SAMPLE}), as vLLM's asynchronous scheduling does:
     * the host then plans step n+1 while the device runs step n, and reads step n's ids one step late. Default: no.
     */
    default boolean feedsSampledIds() {
        return false;
    }

    /**
     * Starts one step: {@link #forwardAndSample(List, List)} (or {@link #forward} when no chunk is sampled here), its
     * result read through the returned handle. Backends that {@link #feedsSampledIds feed sampled ids} return before
     * the device is done, and accept {@link SequenceChunk#PREVIOUS_SAMPLE} for a sequence drawn on the device in the
     * step submitted just before this one. This default is the synchronous adapter every other backend uses: it runs
     * the step now.
     *
     * @throws IllegalArgumentException (default) a chunk asks for a previous sample this backend does not keep
     */
    default PendingStep submit(List<SequenceChunk> chunks, List<SamplingParams> params) {
        for (SequenceChunk c : chunks) {
            if (c.feedsPreviousSample()) {
                throw new IllegalArgumentException(description() + " does not feed sampled ids; sequence "
                        + c.sequenceId() + " came with a token still on the device");
            }
        }
        for (SamplingParams p : params) {
            if (p != null) return PendingStep.done(forwardAndSample(chunks, params));
        }
        return PendingStep.done(SampledStep.ofLogits(forward(chunks)));
    }

    /** Copies the KV of whole blocks (for copy-on-write of shared prefix blocks). Default: unsupported. */
    default void copyBlocks(int[] sourceBlocks, int[] targetBlocks) {
        throw new UnsupportedOperationException(description() + " cannot copy KV blocks");
    }

    /** Frees native memory. */
    @Override
    void close();
}
