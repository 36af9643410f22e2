package org.autoglm.models.backend;

/**
 * The part of one sequence computed in one forward step: a whole prompt, a chunk of it (chunked
 * prefill) or the single newest token (decode). There are no prefill/decode modes; only positions.
 *
 * @param sequenceId   the engine's id for the sequence (stable across steps)
 * @param tokens       token ids to compute, at positions {@code startPosition ..}; {@link #PREVIOUS_SAMPLE} for the
 *                     token the backend drew for this sequence in the step submitted just before (asynchronous
 *                     scheduling, only where {@link Backend#feedsSampledIds()})
 * @param startPosition number of tokens of this sequence whose KV is already in its blocks
 * @param blockTable   the sequence's KV blocks in position order; covers at least
 *                     {@code startPosition + tokens.length} positions
 * @param wantLogits   whether the caller needs the logits of the last token (false for all but the
 *                     last chunk of a chunked prefill)
 */
public record SequenceChunk(long sequenceId, int[] tokens, int startPosition, int[] blockTable, boolean wantLogits) {

    /**
     * Stands for a token not yet known on the host: the one the backend drew on the device for this sequence in the
     * previous step, which the backend feeds to this step's embedding itself.
     */
    public static final int PREVIOUS_SAMPLE = -1;

    public SequenceChunk {
        if (tokens.length == 0) throw new IllegalArgumentException("a chunk needs at least one token");
        if (startPosition < 0) throw new IllegalArgumentException("startPosition < 0: " + startPosition);
    }

    /** Position after the last token of this chunk: the sequence's computed length once it has run. */
    public int endPosition() {
        return startPosition + tokens.length;
    }

    /** Whether a token of this chunk is {@link #PREVIOUS_SAMPLE}: the backend must feed it from its last draw. */
    public boolean feedsPreviousSample() {
        for (int t : tokens) if (t == PREVIOUS_SAMPLE) return true;
        return false;
    }
}
