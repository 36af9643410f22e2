package org.autoglm.node.engine;

import java.util.List;
import org.autoglm.models.sampling.TokenLogprobs;
import org.autoglm.node.engine.scheduler.Sequence;

/**
 * One accepted request inside the engine: its sequence, its listener and text stream, and the timestamps
 * the latency figures come from. Used on the engine thread only.
 */
final class RequestState {

    final GenerationRequest request;
    final GenerationListener listener;
    final Sequence sequence;
    final TextStream text;
    final long submitNanos;
    /** Deadline on the {@link System#nanoTime()} clock, or {@link Long#MAX_VALUE}. */
    final long deadlineNanos;
    long lastTokenNanos;
    int delivered;
    boolean started;

    RequestState(GenerationRequest request, GenerationListener listener, Sequence sequence, TextStream text,
            long submitNanos, long deadlineNanos) {
        this.request = request;
        this.listener = listener;
        this.sequence = sequence;
        this.text = text;
        this.submitNanos = submitNanos;
        this.deadlineNanos = deadlineNanos;
    }

    /**
     * Turns a newly generated token into a delta for the listener and decides whether the request ends.
     *
     * @param logprobs the token's log-probabilities, or null when not asked for
     * @param eos whether the token ends generation (an end-of-sequence id, and ignore_eos is off)
     * @param atContextLimit whether the sequence has reached the longest length the engine allows
     * @return the finish reason, or null to go on
     */
    Step onToken(int token, TokenLogprobs logprobs, boolean eos, boolean atContextLimit) {
        delivered++;
        String piece = eos ? "" : text.push(token);
        FinishReason reason = null;
        if (eos || text.stopped()) {
            reason = FinishReason.STOP;
        } else if (delivered >= request.params().maxTokens() || atContextLimit) {
            reason = FinishReason.LENGTH;
        }
        if (reason != null && !text.stopped()) piece += text.flush();
        List<TokenDelta.TokenLogprob> lp = logprobs == null ? List.of() : List.of(new TokenDelta.TokenLogprob(
                logprobs.tokenId(), logprobs.logprob(), logprobs.topIds(), logprobs.topLogprobs()));
        return new Step(new TokenDelta(new int[] {token}, piece, lp), reason);
    }

    record Step(TokenDelta delta, FinishReason finish) {}

    Completion completion(FinishReason reason, String error) {
        return new Completion(reason, request.promptIds().length, delivered, error);
    }
}
