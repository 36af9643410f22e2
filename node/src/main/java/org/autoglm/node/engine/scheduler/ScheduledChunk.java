package org.autoglm.node.engine.scheduler;

/**
 * One sequence's share of a step: compute {@code tokens} at positions {@code startPosition ..}.
 *
 * @param sequence       the sequence (identity handle; read it, the scheduler alone changes it)
 * @param tokens         the token ids to compute (a copy)
 * @param startPosition  tokens already in the KV cache
 * @param newBlockIds    blocks appended to the sequence's table this step; the whole table when
 *                       {@code resetBlockTable}
 * @param resetBlockTable the sequence is (re)starting: first step, or first after a preemption
 * @param wantLogits     the chunk reaches the sequence's last token, so a new token is sampled
 */
public record ScheduledChunk(
        Sequence sequence, int[] tokens, int startPosition, int[] newBlockIds, boolean resetBlockTable, boolean wantLogits) {

    public long sequenceId() {
        return sequence.id();
    }

    public int numTokens() {
        return tokens.length;
    }
}
