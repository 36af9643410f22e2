package org.autoglm.models.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.autoglm.models.backend.SequenceChunk;

/**
 * The chunks of one forward step flattened into rows: all tokens side by side for the projections and the MLP,
 * plus what attention needs per sequence (its rows, its context slots in the paged cache, its causal mask).
 * Built once per step; every layer reuses it.
 */
final class StepBatch {

    /**
     * One sequence's part of the step.
     *
     * @param firstRow     row of its first token in the flattened batch
     * @param length       its number of new tokens T
     * @param startPosition position of its first new token (tokens before it are in the cache)
     * @param contextSlots cache slots of positions {@code 0 .. startPosition + T - 1}, {@code [L]}
     * @param mask         {@code [T, L]} with -inf where a key is in the query's future; null when T == 1
     */
    record Span(int firstRow, int length, int startPosition, NDArray contextSlots, NDArray mask) {}

    /**
     * A step in which every sequence decodes one token, laid out for attention in one batch: each sequence's
     * context slots padded to the longest, {@code [B * Lmax]}, and an additive mask {@code [B, 1, 1, Lmax]} that
     * hides the padding. Attention then costs the same few operations per layer whatever the batch size.
     */
    record DecodeBatch(NDArray slots, NDArray mask, int longest) {}

    final NDArray tokens;        // [N] int64
    final NDArray positions;     // [N] float32, for the rotary angles
    final NDArray newSlots;      // [N] int64, where each new token's K/V goes
    final List<Span> spans;
    final DecodeBatch decode;     // non-null when the step is pure decode of two or more sequences
    final NDArray logitRows;     // [R] int64, the last row of every chunk that wants logits; null if none
    final int[] logitChunks;     // chunk index of each logit row

    StepBatch(List<SequenceChunk> chunks, PagedKvCache cache, NDManager manager) {
        int total = chunks.stream().mapToInt(c -> c.tokens().length).sum();
        long[] tokenIds = new long[total];
        float[] positionValues = new float[total];
        long[] slots = new long[total];
        List<Span> spanList = new ArrayList<>();
        List<Long> rows = new ArrayList<>();
        List<Integer> rowChunks = new ArrayList<>();
        int row = 0;
        for (int c = 0; c < chunks.size(); c++) {
            SequenceChunk chunk = chunks.get(c);
            checkBlockTable(chunk, cache);
            int start = chunk.startPosition();
            int length = chunk.tokens().length;
            int context = chunk.endPosition();
            long[] contextSlots = new long[context];
            for (int p = 0; p < context; p++) {
                contextSlots[p] = cache.slot(chunk.blockTable(), p);
            }
            for (int t = 0; t < length; t++) {
                tokenIds[row + t] = chunk.tokens()[t];
                positionValues[row + t] = start + t;
                slots[row + t] = contextSlots[start + t];
            }
            spanList.add(new Span(row, length, start, manager.create(contextSlots),
                    length == 1 ? null : causalMask(manager, start, length)));
            if (chunk.wantLogits()) {
                rows.add((long) row + length - 1);
                rowChunks.add(c);
            }
            row += length;
        }
        tokens = manager.create(tokenIds);
        positions = manager.create(positionValues);
        newSlots = manager.create(slots);
        spans = List.copyOf(spanList);
        decode = chunks.size() > 1 && row == chunks.size() ? decodeBatch(chunks, cache, manager) : null;
        logitRows = rows.isEmpty() ? null : manager.create(rows.stream().mapToLong(Long::longValue).toArray());
        logitChunks = rowChunks.stream().mapToInt(Integer::intValue).toArray();
    }

    private static DecodeBatch decodeBatch(List<SequenceChunk> chunks, PagedKvCache cache, NDManager manager) {
        int batch = chunks.size();
        int longest = chunks.stream().mapToInt(SequenceChunk::endPosition).max().orElseThrow();
        long[] slots = new long[batch * longest];
        float[] mask = new float[batch * longest];
        for (int b = 0; b < batch; b++) {
            SequenceChunk chunk = chunks.get(b);
            int context = chunk.endPosition();
            for (int p = 0; p < longest; p++) {
                // Padding reads the sequence's first slot (any valid slot will do) and is masked out.
                slots[b * longest + p] = cache.slot(chunk.blockTable(), p < context ? p : 0);
            }
            Arrays.fill(mask, b * longest + context, (b + 1) * longest, Float.NEGATIVE_INFINITY);
        }
        return new DecodeBatch(manager.create(slots), manager.create(mask, new Shape(batch, 1, 1, longest)), longest);
    }

    /** Query t (position start + t) may see keys 0 .. start + t: {@code [T, start + T]}, 0 or -inf. */
    private static NDArray causalMask(NDManager manager, int start, int length) {
        int context = start + length;
        float[] mask = new float[length * context];
        for (int t = 0; t < length; t++) {
            Arrays.fill(mask, t * context + start + t + 1, (t + 1) * context, Float.NEGATIVE_INFINITY);
        }
        return manager.create(mask, new Shape(length, context));
    }

    private static void checkBlockTable(SequenceChunk chunk, PagedKvCache cache) {
        int needed = (chunk.endPosition() + cache.blockSize() - 1) / cache.blockSize();
        int[] table = chunk.blockTable();
        if (table.length < needed) {
            throw new IllegalArgumentException("sequence " + chunk.sequenceId() + " needs " + needed
                    + " KV blocks for " + chunk.endPosition() + " positions, its block table has " + table.length);
        }
        for (int i = 0; i < needed; i++) {
            if (table[i] < 0 || table[i] >= cache.numBlocks()) {
                throw new IllegalArgumentException("sequence " + chunk.sequenceId() + " uses KV block "
                        + table[i] + ", outside the pool of " + cache.numBlocks() + " blocks");
            }
        }
    }
}
