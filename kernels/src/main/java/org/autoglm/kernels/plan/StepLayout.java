package org.autoglm.kernels.plan;

/**
 * Where each array of a step's metadata lives in the one int buffer uploaded per step (offsets in ints).
 * Decode graphs are captured against a fixed layout, so padded steps keep the bucket's counts.
 *
 * @param tokens       packed tokens (rows of every activation)
 * @param seqs         sequences (chunks)
 * @param blocksPerSeq width of the block-table matrix
 * @param workItems    attention work items (sequence, tile of LaunchGeometry.ATTENTION_ROWS rows)
 * @param flashItems   flash-attention work items (sequence, tile of LaunchGeometry.FLASH_ROWS rows); 0 for decode
 * @param logitRows    tokens whose logits are computed
 */
public record StepLayout(int tokens, int seqs, int blocksPerSeq, int workItems, int flashItems, int logitRows) {

    /** A decode step: every sequence has one token (in a graph bucket's layout, padding sequences have none). */
    public boolean oneTokenPerSequence() {
        return tokens == seqs;
    }

    public int tokenIds() {
        return 0;
    }

    public int positions() {
        return tokens;
    }

    /** Cache slot of each token's K/V (block * blockSize + offset), -1 for padding. */
    public int slots() {
        return 2 * tokens;
    }

    /** seqs + 1 entries: first packed token of each sequence, then the total. */
    public int seqStarts() {
        return 3 * tokens;
    }

    public int blockTables() {
        return seqStarts() + seqs + 1;
    }

    /** Pairs (sequence, tile). */
    public int work() {
        return blockTables() + seqs * blocksPerSeq;
    }

    /** Pairs (sequence, flash tile). */
    public int flashWork() {
        return work() + 2 * workItems;
    }

    public int logitRowIndex() {
        return flashWork() + 2 * flashItems;
    }

    public int totalInts() {
        return logitRowIndex() + logitRows;
    }
}
