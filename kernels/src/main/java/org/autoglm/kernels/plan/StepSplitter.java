package org.autoglm.kernels.plan;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.autoglm.models.backend.SequenceChunk;

/**
 * Cuts one {@code forward} call into launches that fit the preallocated buffers: at most {@code maxTokens}
 * tokens and {@code maxSeqs} chunks each. A chunk that does not fit is cut into consecutive pieces; only its last
 * piece asks for logits, and earlier pieces run in earlier launches, so later pieces see their KV in the cache.
 */
public final class StepSplitter {

    private StepSplitter() {}

    /** A piece of chunk number {@code index} of the original call. */
    public record Piece(int index, SequenceChunk chunk) {}

    public static List<List<Piece>> split(List<SequenceChunk> chunks, int maxTokens, int maxSeqs) {
        if (maxTokens < 1 || maxSeqs < 1) throw new IllegalArgumentException("capacities must be positive");
        List<List<Piece>> steps = new ArrayList<>();
        List<Piece> current = new ArrayList<>();
        int tokens = 0;
        for (int i = 0; i < chunks.size(); i++) {
            SequenceChunk c = chunks.get(i);
            int done = 0;
            while (done < c.tokens().length) {
                if (tokens == maxTokens || current.size() == maxSeqs) {
                    steps.add(current);
                    current = new ArrayList<>();
                    tokens = 0;
                }
                int n = Math.min(c.tokens().length - done, maxTokens - tokens);
                boolean last = done + n == c.tokens().length;
                SequenceChunk piece = done == 0 && last ? c
                        : new SequenceChunk(c.sequenceId(), Arrays.copyOfRange(c.tokens(), done, done + n),
                                c.startPosition() + done, c.blockTable(), last && c.wantLogits());
                current.add(new Piece(i, piece));
                tokens += n;
                done += n;
            }
        }
        if (!current.isEmpty()) steps.add(current);
        return steps;
    }
}
