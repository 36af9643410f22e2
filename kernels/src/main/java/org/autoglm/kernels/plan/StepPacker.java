package org.autoglm.kernels.plan;

import java.util.Arrays;
import java.util.List;
import org.autoglm.models.backend.SequenceChunk;

/**
 * Turns one step's chunks into the device layout: packed token ids and positions, KV slots from the block
 * tables, sequence boundaries, the block-table matrix, attention work items and the rows whose logits are
 * wanted. Pure host code.
 */
public final class StepPacker {

    private StepPacker() {}

    /**
     * @param data   the ints to upload, laid out by {@code layout}
     * @param logitChunk for each logit row, the index of its chunk (-1 for padding rows)
     */
    public record PackedStep(StepLayout layout, int[] data, int[] logitChunk, int maxContext) {}

    /** Packs exactly the given chunks (prefill, mixed or decode without a graph). */
    public static PackedStep pack(List<SequenceChunk> chunks, int blockSize, int group) {
        int tokens = 0;
        int blocks = 1;
        int work = 0;
        int flash = 0;
        int logits = 0;
        for (SequenceChunk c : chunks) {
            tokens += c.tokens().length;
            blocks = Math.max(blocks, blocksNeeded(c, blockSize));
            work += LaunchGeometry.attentionTiles(c.tokens().length, group);
            flash += LaunchGeometry.flashTiles(c.tokens().length, group);
            if (c.wantLogits()) logits++;
        }
        if (tokens == chunks.size()) flash = 0;   // a decode step: split-K paged attention suits it better
        return fill(chunks, new StepLayout(tokens, chunks.size(), blocks, work, flash, logits), blockSize, group,
                false);
    }

    /**
     * Packs a decode step (one token per chunk) into a graph bucket's fixed layout: {@code bucket.batch()}
     * sequences and tokens, {@code bucket.blocksPerSeq()} table columns, every row's logits. Padding sequences
     * have no tokens; padding tokens write no KV.
     */
    public static PackedStep packDecode(List<SequenceChunk> chunks, GraphBuckets.Key bucket, int blockSize, int group) {
        int b = bucket.batch();
        if (chunks.size() > b) throw new IllegalArgumentException(chunks.size() + " chunks exceed bucket " + bucket);
        for (SequenceChunk c : chunks) {
            if (c.tokens().length != 1) throw new IllegalArgumentException("decode chunks have one token each");
            if (blocksNeeded(c, blockSize) > bucket.blocksPerSeq()) {
                throw new IllegalArgumentException("sequence " + c.sequenceId() + " needs more blocks than " + bucket);
            }
        }
        int tiles = LaunchGeometry.attentionTiles(1, group);
        return fill(chunks, new StepLayout(b, b, bucket.blocksPerSeq(), b * tiles, 0, b), blockSize, group, true);
    }

    /** Blocks covering positions 0 .. endPosition - 1. */
    public static int blocksNeeded(SequenceChunk c, int blockSize) {
        return (c.endPosition() + blockSize - 1) / blockSize;
    }

    private static PackedStep fill(List<SequenceChunk> chunks, StepLayout l, int blockSize, int group, boolean padded) {
        int[] d = new int[l.totalInts()];
        int[] logitChunk = new int[l.logitRows()];
        Arrays.fill(logitChunk, -1);
        Arrays.fill(d, l.slots(), l.slots() + l.tokens(), -1);
        int t = 0;
        int w = 0;
        int fw = 0;
        int r = 0;
        int maxContext = 0;
        for (int s = 0; s < chunks.size(); s++) {
            SequenceChunk c = chunks.get(s);
            int needed = blocksNeeded(c, blockSize);
            if (c.blockTable().length < needed) {
                throw new IllegalArgumentException("sequence " + c.sequenceId() + " reaches position "
                        + (c.endPosition() - 1) + " but its block table has " + c.blockTable().length + " blocks of "
                        + blockSize + " tokens");
            }
            System.arraycopy(c.blockTable(), 0, d, l.blockTables() + s * l.blocksPerSeq(), needed);
            d[l.seqStarts() + s] = t;
            for (int i = 0; i < c.tokens().length; i++, t++) {
                int pos = c.startPosition() + i;
                d[l.tokenIds() + t] = c.tokens()[i];
                d[l.positions() + t] = pos;
                d[l.slots() + t] = c.blockTable()[pos / blockSize] * blockSize + pos % blockSize;
            }
            int tiles = LaunchGeometry.attentionTiles(c.tokens().length, group);
            for (int tile = 0; tile < tiles; tile++, w++) {
                d[l.work() + 2 * w] = s;
                d[l.work() + 2 * w + 1] = tile;
            }
            for (int tile = 0; l.flashItems() > 0 && tile < LaunchGeometry.flashTiles(c.tokens().length, group);
                    tile++, fw++) {
                d[l.flashWork() + 2 * fw] = s;
                d[l.flashWork() + 2 * fw + 1] = tile;
            }
            if (padded) {
                d[l.logitRowIndex() + s] = t - 1;
                logitChunk[s] = s;
            } else if (c.wantLogits()) {
                d[l.logitRowIndex() + r] = t - 1;
                logitChunk[r++] = s;
            }
            maxContext = Math.max(maxContext, c.endPosition());
        }
        // Padding: sequences without tokens, tokens of no sequence (slot -1), logits of padding rows.
        for (int s = chunks.size(); s <= l.seqs(); s++) d[l.seqStarts() + s] = t;
        for (int pad = t; pad < l.tokens(); pad++) {
            if (padded) d[l.logitRowIndex() + pad] = pad;
        }
        int tilesPerSeq = padded ? LaunchGeometry.attentionTiles(1, group) : 0;
        for (int s = chunks.size(); padded && s < l.seqs(); s++) {
            for (int tile = 0; tile < tilesPerSeq; tile++, w++) {
                d[l.work() + 2 * w] = s;
                d[l.work() + 2 * w + 1] = tile;
            }
        }
        return new PackedStep(l, d, logitChunk, maxContext);
    }
}
