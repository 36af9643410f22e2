package org.autoglm.models.grammar;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One sequence's position in a grammar. Mutable and not thread-safe: one per sequence. Each accepted token (or
 * string) keeps the parse state before it, so {@link #rollback} is exact and cheap; states share structure.
 */
public final class GrammarMatcher {

    private final CompiledGrammar grammar;
    private final Parser parser;
    private final List<ParseState> history;
    private ParseState state;
    private boolean terminated;

    public GrammarMatcher(CompiledGrammar grammar) {
        this.grammar = grammar;
        this.parser = new Parser(grammar.rules);
        this.history = new ArrayList<>();
        this.state = grammar.initial;
    }

    private GrammarMatcher(GrammarMatcher other) {
        this.grammar = other.grammar;
        this.parser = new Parser(grammar.rules);
        this.history = new ArrayList<>(other.history);
        this.state = other.state;
        this.terminated = other.terminated;
    }

    public static int bitmaskWords(int vocabSize) {
        return (vocabSize + 63) / 64;
    }

    /**
     * Sets bit t of {@code bitmask} (long words, bit t%64 of word t/64) for every token allowed next. Stop tokens
     * are allowed exactly when the grammar may end here. Fills the whole array (clears the rest). After
     * termination nothing is allowed.
     */
    public void fillNextTokenBitmask(long[] bitmask) {
        int vocab = grammar.vocabulary.size();
        if (bitmask.length < bitmaskWords(vocab)) {
            throw new IllegalArgumentException("bitmask has " + bitmask.length + " words; the vocabulary of "
                    + vocab + " needs " + bitmaskWords(vocab));
        }
        Arrays.fill(bitmask, 0L);
        if (terminated) {
            return;
        }
        grammar.tokenSets.fill(state, parser, bitmask);
        if (state.canEnd) {
            for (int id : grammar.vocabulary.stopIds()) {
                bitmask[id >>> 6] |= 1L << id;
            }
        }
    }

    /** Advances by one token; false (and no change) when the token is not allowed. A stop token terminates. */
    public boolean acceptToken(int tokenId) {
        if (terminated) {
            return false;
        }
        if (grammar.vocabulary.isStop(tokenId)) {
            if (!state.canEnd) {
                return false;
            }
            history.add(state);
            terminated = true;
            return true;
        }
        byte[] bytes = grammar.vocabulary.bytes(tokenId);
        if (bytes == null || bytes.length == 0) {
            return false;
        }
        return advance(bytes);
    }

    /** Advances by a whole string (replay after failover, or jump-forward); one step for {@link #rollback}. */
    public boolean acceptString(String text) {
        if (terminated) {
            return false;
        }
        return advance(text.getBytes(StandardCharsets.UTF_8));
    }

    private boolean advance(byte[] bytes) {
        ParseState next = parser.advance(state, bytes);
        if (next == ParseState.DEAD) {
            return false;
        }
        history.add(state);
        state = next;
        return true;
    }

    /** A stop token was accepted. */
    public boolean isTerminated() {
        return terminated;
    }

    /** The grammar is complete here (a stop token would be accepted). */
    public boolean canTerminate() {
        return !terminated && state.canEnd;
    }

    /**
     * The longest text the grammar forces from here: empty when there is a choice (or the grammar may end).
     * Whole characters only.
     */
    public String forcedContinuation() {
        if (terminated) {
            return "";
        }
        byte[] out = new byte[64];
        int n = 0;
        ParseState s = state;
        while (!s.canEnd && n < 4096) {
            int only = onlyNextByte(s);
            if (only < 0) {
                break;
            }
            if (n == out.length) {
                out = Arrays.copyOf(out, n * 2);
            }
            out[n++] = (byte) only;
            s = parser.advance(s, only);
        }
        return new String(out, 0, wholeCharacters(out, n), StandardCharsets.UTF_8);
    }

    private int onlyNextByte(ParseState s) {
        int only = -1;
        for (Stack stack : s.stacks) {
            RuleDfa dfa = grammar.rules[stack.rule];
            for (int k = dfa.rangeOffset[stack.state]; k < dfa.rangeOffset[stack.state + 1]; k++) {
                if (dfa.rangeFirst[k] != dfa.rangeLast[k] || (only >= 0 && only != dfa.rangeFirst[k])) {
                    return -1;
                }
                only = dfa.rangeFirst[k];
            }
        }
        return only;
    }

    /** The length of the longest prefix of {@code bytes[0, n)} that ends on a character boundary. */
    private static int wholeCharacters(byte[] bytes, int n) {
        int i = 0;
        int lastBoundary = 0;
        while (i < n) {
            int b = bytes[i] & 0xFF;
            int len = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
            if (i + len > n) {
                break;
            }
            i += len;
            lastBoundary = i;
        }
        return lastBoundary;
    }

    /** Undoes the last {@code numTokens} accepted tokens (or strings). */
    public void rollback(int numTokens) {
        if (numTokens < 0 || numTokens > history.size()) {
            throw new IllegalArgumentException("cannot roll back " + numTokens + " tokens; " + history.size()
                    + " were accepted");
        }
        for (int i = 0; i < numTokens; i++) {
            ParseState previous = history.remove(history.size() - 1);
            if (terminated) {
                terminated = false;
            } else {
                state = previous;
            }
        }
    }

    public GrammarMatcher copy() {
        return new GrammarMatcher(this);
    }
}
