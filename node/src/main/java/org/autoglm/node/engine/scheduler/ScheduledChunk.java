package org.autoglm.node.engine.scheduler;

import java.util.Arrays;

/**
 * One entry of a {@link SchedulerOutput} as a value: compute the sequence's tokens at positions
 * {@code startPosition .. startPosition + numTokens}.
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

    /** The token ids to compute, as a new array (a sequence's tokens never change once appended). */
    public int[] tokens() {
        return Arrays.copyOfRange(sequence.tokenArray(), startPosition, startPosition + numTokens);
    }
}
