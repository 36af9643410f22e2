package org.autoglm.models.grammar;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per parser position (rule, state), the tokens it allows whatever lies below it on the stack, computed once by a
 * pruned walk of the token trie and then reused: XGrammar's adaptive token-mask cache, with llguidance's subtree
 * pruning for the walk. A token that can only be completed by leaving the rule is not decided here; the walk
 * records the trie nodes where the rule can end ("pop nodes"), and at mask time only those nodes' subtrees are
 * walked again with the real stack below. In a JSON string that is the subtree of {@code "}, a few hundred
 * tokens, instead of all 151k.
 *
 * <p>Positions in rules without calls (strings, numbers, literals, formats) are keyed by the automaton from
 * that state on and shared by every grammar of the vocabulary ({@link Shared}).
 */
final class TokenSetCache {

    /** Accepted tokens (a bitmask when many, a list when few) and the nodes where the rule may end. */
    record TokenSets(long[] acceptedBits, int[] acceptedList, int[] popNodes) {
        void addTo(long[] mask) {
            if (acceptedBits != null) {
                for (int w = 0; w < acceptedBits.length; w++) {
                    mask[w] |= acceptedBits[w];
                }
            } else {
                for (int t : acceptedList) {
                    mask[t >>> 6] |= 1L << t;
                }
            }
        }
    }

    /** Token sets of call-free positions, by automaton shape; one per vocabulary, shared by its grammars. */
    static final class Shared {
        private static final int MAX_ENTRIES = 8192;
        final TokenVocabulary vocabulary;
        final LexemeWalk lexemes;
        private final ConcurrentHashMap<String, TokenSets> byShape = new ConcurrentHashMap<>();

        Shared(TokenVocabulary vocabulary) {
            this.vocabulary = vocabulary;
            this.lexemes = new LexemeWalk(vocabulary.trie());
        }
    }

    private final CompiledGrammar grammar;
    private final Shared shared;
    private static final int MAX_CONTEXTS = 16_384;
    private static final int[] NO_NODES = new int[0];

    private final ConcurrentHashMap<Long, TokenSets> byPosition = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Stack, TokenSets> byContext = new ConcurrentHashMap<>();

    TokenSetCache(CompiledGrammar grammar, Shared shared) {
        this.grammar = grammar;
        this.shared = shared;
    }

    /** ORs into {@code mask} every token allowed from {@code state} (stop tokens excepted). */
    void fill(ParseState state, Parser parser, long[] mask) {
        for (Stack top : state.stacks) {
            TokenSets sets = setsAt(top.rule, top.state, parser);
            sets.addTo(mask);
            if (sets.popNodes.length > 0 && top.parent != null) {
                afterPop(top, sets.popNodes, parser).addTo(mask);
            }
        }
    }

    /**
     * The tokens that end the top rule and run on into what lies below it: the pop nodes' subtrees walked with
     * the real stack. They depend on the whole stack, so they are cached by it; a grammar meets few distinct
     * stacks (positions times nesting), and past {@link #MAX_CONTEXTS} the walk is simply repeated.
     */
    private TokenSets afterPop(Stack top, int[] popNodes, Parser parser) {
        TokenSets sets = byContext.get(top);
        if (sets != null) {
            return sets;
        }
        TokenTrie trie = grammar.vocabulary.trie();
        long[] bits = new long[GrammarMatcher.bitmaskWords(grammar.vocabulary.size())];
        ParseState afterRule = parser.closeOver(top.parent);
        if (afterRule.stacks.length > 0) {
            for (int node : popNodes) {
                TokenWalk.walk(trie, parser, afterRule, trie.depth[node], node + 1, trie.subtreeEnd[node], bits);
            }
        }
        int accepted = 0;
        for (long word : bits) {
            accepted += Long.bitCount(word);
        }
        sets = finish(bits, accepted, NO_NODES);
        if (byContext.size() < MAX_CONTEXTS) {
            byContext.putIfAbsent(top, sets);
        }
        return sets;
    }

    private TokenSets setsAt(int rule, int state, Parser parser) {
        long key = ((long) rule << 32) | state;
        TokenSets sets = byPosition.get(key);
        if (sets != null) {
            return sets;
        }
        String shape = Residuals.shape(grammar.rules[rule], state);
        if (shape != null) {
            sets = shared.byShape.get(shape);
        }
        if (sets == null) {
            sets = compute(rule, state, parser);
            if (shape != null && shared.byShape.size() < Shared.MAX_ENTRIES) {
                shared.byShape.putIfAbsent(shape, sets);
            }
        }
        byPosition.putIfAbsent(key, sets);
        return sets;
    }

    /** The context-independent walk: the rule alone on the stack, with {@link Stack#BOTTOM} below it. */
    private TokenSets compute(int rule, int state, Parser parser) {
        if (!grammar.rules[rule].hasCalls()) {
            return computeCallFree(grammar.rules[rule], state);
        }
        TokenTrie trie = grammar.vocabulary.trie();
        long[] bits = new long[GrammarMatcher.bitmaskWords(grammar.vocabulary.size())];
        int[] pops = new int[16];
        int popCount = 0;
        int accepted = 0;
        ParseState[] atDepth = new ParseState[trie.maxDepth + 1];
        atDepth[0] = parser.closeOver(new Stack(rule, state, Stack.BOTTOM));
        int i = 0;
        while (i < trie.size) {
            ParseState next = parser.advance(atDepth[trie.depth[i] - 1], trie.nodeByte[i] & 0xFF);
            if (next == ParseState.DEAD) {
                i = trie.subtreeEnd[i];
                continue;
            }
            for (int k = trie.tokenOffset[i]; k < trie.tokenOffset[i + 1]; k++) {
                int t = trie.tokens[k];
                bits[t >>> 6] |= 1L << t;
                accepted++;
            }
            if (next.reachedBottom && trie.subtreeEnd[i] > i + 1) {
                if (popCount == pops.length) {
                    pops = Arrays.copyOf(pops, popCount * 2);
                }
                pops[popCount++] = i;
            }
            if (next.stacks.length == 0) {
                i = trie.subtreeEnd[i];
                continue;
            }
            atDepth[trie.depth[i]] = next;
            i++;
        }
        return finish(bits, accepted, Arrays.copyOf(pops, popCount));
    }

    /** The same walk for a rule without calls, through the vocabulary's shared {@link LexemeWalk}. */
    private TokenSets computeCallFree(RuleDfa dfa, int state) {
        return shared.lexemes.walk(dfa, state, GrammarMatcher.bitmaskWords(grammar.vocabulary.size()));
    }

    static TokenSets finish(long[] bits, int accepted, int[] popNodes) {
        if (accepted > bits.length * 2) {
            return new TokenSets(bits, null, popNodes);
        }
        int[] list = new int[accepted];
        int n = 0;
        for (int w = 0; w < bits.length; w++) {
            for (long word = bits[w]; word != 0; word &= word - 1) {
                list[n++] = (w << 6) + Long.numberOfTrailingZeros(word);
            }
        }
        return new TokenSets(null, list, popNodes);
    }
}
