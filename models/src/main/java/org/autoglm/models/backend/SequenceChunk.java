package org.autoglm.models.backend;

/**
 * The part of one sequence computed in one forward step: a whole prompt, a chunk of it (chunked
 * prefill) or the single newest token (decode). There are no prefill/decode modes; only positions.
 *
 * @param sequenceId   the engine's id for the sequence (stable across steps)
 * @param tokens       token ids to compute, at positions {@code startPosition ..}
 * @param startPosition number of tokens of this sequence whose KV is already in its blocks
 * @param blockTable   the sequence's KV blocks in position order; covers at least
 *                     {@code startPosition + tokens.length} positions
 * @param wantLogits   whether the caller needs the logits of the last token (false for all but the
 *                     last chunk of a chunked prefill)
 */
public record SequenceChunk(long sequenceId, int[] tokens, int startPosition, int[] blockTable, boolean wantLogits) {

    public SequenceChunk {
        if (tokens.length == 0) throw new IllegalArgumentException("a chunk needs at least one token");
        if (startPosition < 0) throw new IllegalArgumentException("startPosition < 0: " + startPosition);
    }

    /** Position after the last token of this chunk: the sequence's computed length once it has run. */
    public int endPosition() {
        return startPosition + tokens.length;
    }
}
