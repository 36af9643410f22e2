package org.autoglm.models.grammar;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Token sets of JSON strings counted under {@code minLength}/{@code maxLength}, without walking the trie. Such a
 * string's automaton has a state per count of characters written, and each would otherwise need its own walk of
 * nearly the whole vocabulary (~5 ms at 151k tokens). But what a token does inside a string does not depend on the
 * count: it either stays inside, starting some number of characters, or closes the string after some number of
 * whole characters. So the vocabulary is sorted once by those numbers ({@link Classes}, one per vocabulary), and
 * the state with at least {@code min} and at most {@code max} characters still to write allows exactly the tokens
 * that stay inside starting at most {@code max} characters, and those that close after between {@code min} and
 * {@code max}.
 */
final class StringLengths {

    /** Per automaton state: how many characters are written when it is at a character boundary, else -1. */
    private final int[] countAt;
    private final int min;
    private final int max;

    private StringLengths(int[] countAt, int min, int max) {
        this.countAt = countAt;
        this.min = min;
        this.max = max;
    }

    /**
     * The counts of {@code dfa} when {@code body} is a JSON string with only a length bound (quote, string
     * characters repeated min..max times, quote); null otherwise.
     */
    static StringLengths of(Grammar body, RuleDfa dfa) {
        if (!(body instanceof Grammar.Sequence seq) || seq.parts().size() != 3
                || !JsonValueGrammar.QUOTE.equals(seq.parts().get(0))
                || !JsonValueGrammar.QUOTE.equals(seq.parts().get(2))
                || !(seq.parts().get(1) instanceof Grammar.Repeat repeat)
                || !JsonValueGrammar.STRING_CHAR.equals(repeat.item())
                || repeat.max() == Integer.MAX_VALUE && repeat.min() == 0) {
            return null;
        }
        // Follow "a" from the opening quote: the state after j of them is the state "j characters written" (any
        // other path to the same state has the same future, so the sets hold for it too).
        int[] countAt = new int[dfa.states()];
        Arrays.fill(countAt, -1);
        int s = dfa.next(dfa.start, '"');
        for (int j = 0; s >= 0 && countAt[s] < 0; j++) {
            countAt[s] = j;
            s = dfa.next(s, 'a');
        }
        return new StringLengths(countAt, repeat.min(), repeat.max());
    }

    /** The sets of {@code state}, or null when it is not at a character boundary of the count. */
    TokenSetCache.TokenSets setsAt(int state, Classes classes) {
        int j = countAt[state];
        if (j < 0) {
            return null;
        }
        return classes.sets(Math.max(0, min - j), max == Integer.MAX_VALUE ? Integer.MAX_VALUE : max - j);
    }

    /**
     * The vocabulary sorted by what each token does from a character boundary inside a JSON string: how many
     * characters it starts while staying inside, or after how many whole characters it closes the string. Built
     * by one walk of the trie with the automaton of one string character; one per vocabulary.
     */
    static final class Classes {
        private final int words;
        /** inside[n]: tokens staying inside that start exactly n characters. */
        private final int[][] inside;
        /** insideUpTo[n]: the tokens of inside[0..n] as a bitmask, and their number. */
        private final long[][] insideUpTo;
        private final int[] insideUpToCount;
        /** closing[n]: tokens that end exactly on the closing quote after n whole characters. */
        private final int[][] closing;
        /** closingNodes[n]: trie nodes of that quote with more bytes below (where the string ends mid-token). */
        private final int[][] closingNodes;
        private final ConcurrentHashMap<Long, TokenSetCache.TokenSets> sets = new ConcurrentHashMap<>();

        Classes(TokenTrie trie, int words) {
            this.words = words;
            RuleDfa ch = RuleDfa.determinize(new NfaBuilder(JsonValueGrammar.STRING_CHAR).buildRule(0))
                    .trim(x -> true);
            int cap = trie.maxDepth + 1;
            LexemeWalk.IntList[] in = lists(cap);
            LexemeWalk.IntList[] close = lists(cap);
            LexemeWalk.IntList[] nodes = lists(cap);
            int[] stateAt = new int[trie.maxDepth + 1];
            int[] startedAt = new int[trie.maxDepth + 1];
            stateAt[0] = ch.start;
            int i = 0;
            while (i < trie.size) {
                int d = trie.depth[i];
                int q = stateAt[d - 1];
                int started = startedAt[d - 1];
                int b = trie.nodeByte[i] & 0xFF;
                if (q == ch.start && b == '"') {
                    close[started].addRange(trie.tokens, trie.tokenOffset[i], trie.tokenOffset[i + 1]);
                    if (trie.subtreeEnd[i] > i + 1) {
                        nodes[started].add(i);
                    }
                    i = trie.subtreeEnd[i];
                    continue;
                }
                int next = ch.next(q, b);
                if (next < 0) {
                    i = trie.subtreeEnd[i];
                    continue;
                }
                if (q == ch.start) {
                    started++;
                }
                if (!ch.hasBytes(next)) {   // the character is complete: back at a boundary
                    next = ch.start;
                }
                in[started].addRange(trie.tokens, trie.tokenOffset[i], trie.tokenOffset[i + 1]);
                stateAt[d] = next;
                startedAt[d] = started;
                i++;
            }
            inside = arrays(in);
            closing = arrays(close);
            closingNodes = arrays(nodes);
            int longest = inside.length - 1;
            while (longest > 0 && inside[longest].length == 0) {
                longest--;
            }
            insideUpTo = new long[longest + 1][];
            insideUpToCount = new int[longest + 1];
            long[] bits = new long[words];
            int count = 0;
            for (int n = 0; n <= longest; n++) {
                count += set(bits, inside[n]);
                insideUpTo[n] = bits.clone();
                insideUpToCount[n] = count;
            }
        }

        /** The sets of a string with at least {@code atLeast} and at most {@code atMost} characters to write. */
        TokenSetCache.TokenSets sets(int atLeast, int atMost) {
            int most = Math.min(atMost, inside.length - 1);
            int least = Math.min(atLeast, most + 1);
            return sets.computeIfAbsent(((long) least << 32) | most, k -> build(least, most));
        }

        private TokenSetCache.TokenSets build(int least, int most) {
            int upTo = Math.min(most, insideUpTo.length - 1);
            long[] bits = insideUpTo[upTo].clone();
            int count = insideUpToCount[upTo];
            LexemeWalk.IntList pops = new LexemeWalk.IntList();
            for (int n = least; n <= most; n++) {
                count += set(bits, closing[n]);
                pops.addAll(closingNodes[n]);
            }
            int[] popNodes = pops.toArray();
            Arrays.sort(popNodes);
            return TokenSetCache.finish(bits, count, popNodes);
        }

        private static int set(long[] bits, int[] tokens) {
            for (int t : tokens) {
                bits[t >>> 6] |= 1L << t;
            }
            return tokens.length;
        }

        private static LexemeWalk.IntList[] lists(int n) {
            LexemeWalk.IntList[] lists = new LexemeWalk.IntList[n];
            for (int k = 0; k < n; k++) {
                lists[k] = new LexemeWalk.IntList();
            }
            return lists;
        }

        private static int[][] arrays(LexemeWalk.IntList[] lists) {
            int[][] out = new int[lists.length][];
            for (int k = 0; k < lists.length; k++) {
                out[k] = lists[k].toArray();
            }
            return out;
        }
    }
}
