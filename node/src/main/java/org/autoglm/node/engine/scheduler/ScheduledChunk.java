package org.autoglm.node.engine.scheduler;

import java.util.Arrays;

/**
 * One sequence's share of a step: compute its tokens at positions {@code startPosition .. startPosition + numTokens}.
 *
 * <p>The chunk names the tokens rather than copying them: a sequence's tokens never change once appended, so
 * {@link #tokens()} reads the same ids whenever it is called. Not copying matters because the scheduler makes a
 * chunk for every running sequence every step, and that copy was a fifth of a scheduler iteration.
 *
 * @param sequence        the sequence (identity handle; read it, the scheduler alone changes it)
 * @param startPosition   tokens already in the KV cache
 * @param numTokens       tokens to compute
 * @param newBlockIds     blocks appended to the sequence's table this step; the whole table when
 *                        {@code resetBlockTable}
 * @param resetBlockTable the sequence is (re)starting: first step, or first after a preemption
 * @param wantLogits      the chunk reaches the sequence's last token, so a new token is sampled
 */
public record ScheduledChunk(
        Sequence sequence, int startPosition, int numTokens, int[] newBlockIds, boolean resetBlockTable, boolean wantLogits) {

    public long sequenceId() {
        return sequence.id();
    }

    /** The token ids to compute, as a new array. */
    public int[] tokens() {
        return Arrays.copyOfRange(sequence.tokenArray(), startPosition, startPosition + numTokens);
    }
}
