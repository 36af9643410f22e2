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
        private volatile StringLengths.Classes lengthClasses;
        private final ConcurrentHashMap<Integer, int[]> restBelow = new ConcurrentHashMap<>();

        Shared(TokenVocabulary vocabulary) {
            this.vocabulary = vocabulary;
            this.lexemes = new LexemeWalk(vocabulary.trie());
        }

        /**
         * For each trie node strictly below {@code node} (in trie order, from node + 1): a token spelling the
         * node's bytes after {@code node}'s depth, or -1 when no token does. Built on first use per node.
         */
        int[] restBelow(int node) {
            return restBelow.computeIfAbsent(node, n -> {
                TokenTrie trie = vocabulary.trie();
                int[] rest = new int[trie.subtreeEnd[n] - n - 1];
                byte[] path = new byte[trie.maxDepth];
                for (int j = n + 1; j < trie.subtreeEnd[n]; j++) {
                    int k = trie.depth[j] - trie.depth[n];
                    path[k - 1] = trie.nodeByte[j];
                    rest[j - n - 1] = trie.find(path, 0, k);
                }
                return rest;
            });
        }

        /** Built on first use (one walk of the trie); a race may build it twice, harmlessly. */
        StringLengths.Classes lengthClasses() {
            StringLengths.Classes c = lengthClasses;
            if (c == null) {
                c = new StringLengths.Classes(vocabulary.trie(), GrammarMatcher.bitmaskWords(vocabulary.size()));
                lengthClasses = c;
            }
            return c;
        }
    }

    private final CompiledGrammar grammar;
    private final Shared shared;
    private static final int MAX_CONTEXTS = 16_384;
    private static final int MAX_NESTING = 1;
    private static final int[] NO_NODES = new int[0];

    private final ConcurrentHashMap<Long, TokenSets> byPosition = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Stack, TokenSets> byContext = new ConcurrentHashMap<>();

    TokenSetCache(CompiledGrammar grammar, Shared shared) {
        this.grammar = grammar;
        this.shared = shared;
    }

    /** ORs into {@code mask} every token allowed from {@code state} (stop tokens excepted). */
    void fill(ParseState state, Parser parser, long[] mask) {
        fill(state, parser, mask, 0);
    }

    private void fill(ParseState state, Parser parser, long[] mask, int nesting) {
        for (Stack top : state.stacks) {
            TokenSets sets = setsAt(top.rule, top.state, parser);
            sets.addTo(mask);
            if (sets.popNodes.length > 0 && top.parent != null) {
                afterPop(top, sets.popNodes, parser, nesting).addTo(mask);
            }
        }
    }

    /**
     * The tokens that end the top rule and run on into what lies below it. Below a pop node at depth d, token t
     * is allowed exactly when its bytes after the first d can follow where the rule returns; those bytes are
     * nearly always a token u of their own ({@link Shared#restBelow}), and u's bit in the mask of the return
     * state answers for t (that mask is itself cached sets). Only the rare rest that is no token is parsed.
     * That mask may need the same answer again (a rule repeated without separator returns to where it is called
     * from), and nesting could multiply the work, so inside it the subtrees are walked byte by byte. The result
     * depends on the whole stack, so it is cached by it; past {@link #MAX_CONTEXTS} it is recomputed.
     */
    private TokenSets afterPop(Stack top, int[] popNodes, Parser parser, int nesting) {
        TokenSets sets = byContext.get(top);
        if (sets != null) {
            return sets;
        }
        int words = GrammarMatcher.bitmaskWords(grammar.vocabulary.size());
        long[] bits = new long[words];
        int accepted = 0;
        ParseState afterRule = parser.closeOver(top.parent);
        TokenTrie trie = grammar.vocabulary.trie();
        if (afterRule.stacks.length > 0 && nesting >= MAX_NESTING) {
            for (int node : popNodes) {
                TokenWalk.walk(trie, parser, afterRule, trie.depth[node], node + 1, trie.subtreeEnd[node], bits);
            }
            for (long word : bits) {
                accepted += Long.bitCount(word);
            }
        } else if (afterRule.stacks.length > 0) {
            long[] then = new long[words];
            fill(afterRule, parser, then, nesting + 1);
            for (int node : popNodes) {
                accepted += runOn(trie, node, afterRule, then, parser, bits);
            }
        }
        sets = finish(bits, accepted, NO_NODES);
        if (byContext.size() < MAX_CONTEXTS) {
            byContext.putIfAbsent(top, sets);
        }
        return sets;
    }

    /**
     * Marks the tokens below pop node {@code node} whose bytes after it can follow in {@code afterRule}, whose
     * whole-token mask is {@code then}. A rest spelled by a token is decided by that token's bit, and a rest
     * that cannot follow rules out the node's whole subtree (what cannot start cannot go on); a rest no token
     * spells is parsed. Returns how many tokens it marked.
     */
    private int runOn(TokenTrie trie, int node, ParseState afterRule, long[] then, Parser parser, long[] bits) {
        int[] rest = shared.restBelow(node);
        int marked = 0;
        int i = node + 1;
        while (i < trie.subtreeEnd[node]) {
            int u = rest[i - node - 1];
            boolean allowed;
            if (u >= 0) {
                allowed = (then[u >>> 6] & (1L << u)) != 0;
                if (!allowed) {
                    i = trie.subtreeEnd[i];
                    continue;
                }
            } else if (trie.tokenOffset[i + 1] > trie.tokenOffset[i]) {
                allowed = parser.advance(afterRule, restBytes(trie.tokens[trie.tokenOffset[i]], trie.depth[node]))
                        != ParseState.DEAD;
                if (!allowed) {
                    i = trie.subtreeEnd[i];
                    continue;
                }
            } else {
                allowed = false;
            }
            if (allowed) {
                for (int k = trie.tokenOffset[i]; k < trie.tokenOffset[i + 1]; k++) {
                    int t = trie.tokens[k];
                    if ((bits[t >>> 6] & (1L << t)) == 0) {
                        bits[t >>> 6] |= 1L << t;
                        marked++;
                    }
                }
            }
            i++;
        }
        return marked;
    }

    private byte[] restBytes(int token, int from) {
        byte[] b = grammar.vocabulary.bytes(token);
        return Arrays.copyOfRange(b, from, b.length);
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
            return computeCallFree(rule, state, parser);
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
    private TokenSets computeCallFree(int rule, int state, Parser parser) {
        RuleDfa dfa = grammar.rules[rule];
        if (grammar.stringLengths[rule] != null) {
            TokenSets counted = grammar.stringLengths[rule].setsAt(state, shared.lengthClasses());
            if (counted != null) {
                return counted;
            }
        }
        int words = GrammarMatcher.bitmaskWords(grammar.vocabulary.size());
        int reference = referenceState(dfa, state);
        if (reference >= 0) {
            TokenSets found = shared.lexemes.walkAgainst(dfa, state, reference, setsAt(rule, reference, parser),
                    words);
            if (found != null) {
                return found;
            }
        }
        return shared.lexemes.walk(dfa, state, words);
    }

    /**
     * A state to walk {@code state} against ({@link LexemeWalk#walkAgainst}), or -1: the state most bytes lead
     * to, when that state's own bytes mostly keep it where it is (the content of a string that has left every declared key, reached
     * from a key still on a declared key's path). Its own sets are then a plain walk, never a chain of these.
     */
    static int referenceState(RuleDfa dfa, int state) {
        int target = majorityTarget(dfa, state);
        return target >= 0 && target != state && majorityTarget(dfa, target) == target ? target : -1;
    }

    /** The state that the most byte values lead to from {@code state} (-1 when none leads anywhere). */
    private static int majorityTarget(RuleDfa dfa, int state) {
        int best = -1;
        int bestBytes = 0;
        int from = dfa.rangeOffset[state];
        int to = dfa.rangeOffset[state + 1];
        for (int k = from; k < to; k++) {
            int target = dfa.rangeTarget[k];
            int bytes = 0;
            for (int j = from; j < to; j++) {
                if (dfa.rangeTarget[j] == target) {
                    bytes += dfa.rangeLast[j] - dfa.rangeFirst[j] + 1;
                }
            }
            if (bytes > bestBytes) {
                best = target;
                bestBytes = bytes;
            }
        }
        return best;
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
