package org.autoglm.kernels.plan;

/**
 * Where each array of a step's metadata lives in the one int buffer uploaded per step (offsets in ints).
 * Decode graphs are captured against a fixed layout, so padded steps keep the bucket's counts.
 *
 * @param tokens       packed tokens (rows of every activation)
 * @param seqs         sequences (chunks)
 * @param blocksPerSeq width of the block-table matrix
 * @param workItems    attention work items (sequence, tile)
 * @param logitRows    tokens whose logits are computed
 */
public record StepLayout(int tokens, int seqs, int blocksPerSeq, int workItems, int logitRows) {

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

    public int logitRowIndex() {
        return work() + 2 * workItems;
    }

    public int totalInts() {
        return logitRowIndex() + logitRows;
    }
}
