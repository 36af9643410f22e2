package org.autoglm.node.engine.grammar;

import java.util.Arrays;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.function.Function;
import org.autoglm.models.grammar.CompiledGrammar;
import org.autoglm.models.grammar.GrammarMatcher;

/**
 * One sequence's place in its output grammar: part of the sequence's state, so it survives preemption and
 * recompute (those never change the tokens it accepted). The next-token mask is computed on a mask thread
 * ({@link #startMask}) while the forward pass runs and collected before sampling ({@link #awaitMask}); tokens
 * are accepted on the engine thread. The two never overlap: a mask is always awaited before the next accept.
 */
public final class SequenceGrammar {

    private final GrammarMatcher matcher;
    private final long[] mask;
    private final ExecutorService maskThreads;
    private final Function<String, int[]> encoder;
    private Future<?> pending;
    private boolean maskReady;

    SequenceGrammar(CompiledGrammar grammar, int vocabSize, ExecutorService maskThreads, Function<String, int[]> encoder) {
        this.matcher = new GrammarMatcher(grammar);
        this.mask = new long[GrammarMatcher.bitmaskWords(vocabSize)];
        this.maskThreads = maskThreads;
        this.encoder = encoder;
    }

    /** Starts computing the mask for the next token, off the engine thread. */
    public void startMask() {
        if (pending == null && !maskReady) {
            pending = maskThreads.submit(() -> matcher.fillNextTokenBitmask(mask));
        }
    }

    /** The allowed next tokens (bit t of word t / 64); waits for {@link #startMask}'s work, or computes it here. */
    public long[] awaitMask() {
        if (pending != null) {
            try {
                pending.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while computing the grammar mask", e);
            } catch (ExecutionException e) {
                throw new IllegalStateException("computing the grammar mask failed: " + e.getCause(), e.getCause());
            }
            pending = null;
        } else if (!maskReady) {
            matcher.fillNextTokenBitmask(mask);
        }
        maskReady = true;
        return mask;
    }

    /**
     * Advances past a token of the output.
     *
     * @return false (and no change) when the grammar does not allow it
     */
    public boolean accept(int token) {
        awaitIdle();
        maskReady = false;
        return matcher.acceptToken(token);
    }

    /**
     * Jump-forward: the tokens of the text the grammar forces from here, accepted already, at most {@code max}.
     * Empty when the grammar leaves a choice.
     */
    public int[] forcedTokens(int max) {
        if (max <= 0 || matcher.isTerminated()) return new int[0];
        String forced = matcher.forcedContinuation();
        if (forced.isEmpty()) return new int[0];
        int[] ids = encoder.apply(forced);
        int n = 0;
        while (n < ids.length && n < max && matcher.acceptToken(ids[n])) n++;
        if (n > 0) maskReady = false;
        return Arrays.copyOf(ids, n);
    }

    public boolean isTerminated() {
        return matcher.isTerminated();
    }

    /** Whether the output may end here (a stop token is allowed). */
    public boolean canTerminate() {
        return matcher.canTerminate();
    }

    private void awaitIdle() {
        if (pending != null) awaitMask();
    }
}
