package org.autoglm.models.sampling;

import java.util.Arrays;
import org.autoglm.models.tokenizer.StreamingDetokenizer;

/**
 * Decides when one sequence is done and what text each new token releases: end-of-sequence tokens (unless
 * {@code ignore_eos}), stop strings (never part of the output) and {@code max_tokens}. Feeds every token
 * through the sequence's {@link StreamingDetokenizer} and a {@link StopStringMatcher}, so the released text is
 * UTF-8 safe and free of stop strings. Checked in vLLM's order: end-of-sequence, stop strings, length.
 *
 * <p>Not thread-safe; one per sequence.
 */
public final class StopChecker {

    /** Why a sequence finished. */
    public enum Reason {
        EOS_TOKEN, STOP_STRING, MAX_TOKENS;

        /** The OpenAI {@code finish_reason}: {@code stop} or {@code length}. */
        public String finishReason() {
            return this == MAX_TOKENS ? "length" : "stop";
        }
    }

    /**
     * What one token did.
     *
     * @param text        text released by this token (may be empty)
     * @param reason      why the sequence finished with this token, or null if it goes on
     * @param matchedStop the stop string that matched, when {@code reason} is {@link Reason#STOP_STRING}
     */
    public record Step(String text, Reason reason, String matchedStop) {
        public boolean finished() {
            return reason != null;
        }
    }

    private final int[] eosTokenIds;
    private final boolean ignoreEos;
    private final int maxTokens;
    private final StreamingDetokenizer detokenizer;
    private final StopStringMatcher stops;
    private int generated;
    private Reason finished;

    /**
     * @param eosTokenIds every id that ends generation (from the checkpoint's config / tokenizer)
     * @param detokenizer this sequence's detokenizer, fresh
     */
    public StopChecker(SamplingParams params, int[] eosTokenIds, StreamingDetokenizer detokenizer) {
        if (params.maxTokens() < 1) {
            throw new IllegalArgumentException("max_tokens must be at least 1, got " + params.maxTokens());
        }
        this.eosTokenIds = eosTokenIds.clone();
        Arrays.sort(this.eosTokenIds);
        this.ignoreEos = params.ignoreEos();
        this.maxTokens = params.maxTokens();
        this.detokenizer = detokenizer;
        this.stops = new StopStringMatcher(params.stop());
    }

    /** Takes the next generated token. */
    public Step accept(int tokenId) {
        if (finished != null) {
            throw new IllegalStateException("sequence already finished (" + finished + ")");
        }
        generated++;
        if (!ignoreEos && Arrays.binarySearch(eosTokenIds, tokenId) >= 0) {
            return finish(Reason.EOS_TOKEN); // the end-of-sequence token itself is not text
        }
        StopStringMatcher.Match match = stops.feed(detokenizer.push(tokenId));
        if (match.stopped()) {
            finished = Reason.STOP_STRING;
            return new Step(match.text(), Reason.STOP_STRING, match.stop());
        }
        if (generated >= maxTokens) {
            Step rest = finish(Reason.MAX_TOKENS);
            return new Step(match.text() + rest.text(), rest.reason(), rest.matchedStop());
        }
        return new Step(match.text(), null, null);
    }

    /**
     * Ends the sequence for a reason found outside (e.g. the context window is full: {@link Reason#MAX_TOKENS}),
     * releasing the text still held back. A stop string completed by that text still wins.
     */
    public Step finish(Reason reason) {
        if (finished != null) {
            throw new IllegalStateException("sequence already finished (" + finished + ")");
        }
        StopStringMatcher.Match match = stops.feed(detokenizer.flush());
        if (match.stopped()) {
            finished = Reason.STOP_STRING;
            return new Step(match.text(), Reason.STOP_STRING, match.stop());
        }
        finished = reason;
        return new Step(match.text() + stops.flush(), reason, null);
    }

    /** Tokens accepted so far (including a final end-of-sequence token). */
    public int generatedTokens() {
        return generated;
    }

    /** Why the sequence finished, or null while it runs. */
    public Reason reason() {
        return finished;
    }
}
