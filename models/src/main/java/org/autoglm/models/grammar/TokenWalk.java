package org.autoglm.models.grammar;

/**
 * The byte-level prefix walk: runs a parse state down a part of the token trie, marking every token whose bytes
 * the parse accepts and skipping a whole subtree as soon as its prefix is impossible.
 */
final class TokenWalk {

    private TokenWalk() { }

    /** Marks in {@code mask} the tokens of trie nodes [from, to) (all below one node at {@code baseDepth}). */
    static void walk(TokenTrie trie, Parser parser, ParseState base, int baseDepth, int from, int to, long[] mask) {
        ParseState[] atDepth = new ParseState[trie.maxDepth + 1];
        atDepth[baseDepth] = base;
        int i = from;
        while (i < to) {
            ParseState next = parser.advance(atDepth[trie.depth[i] - 1], trie.nodeByte[i] & 0xFF);
            if (next == ParseState.DEAD) {
                i = trie.subtreeEnd[i];
                continue;
            }
            for (int k = trie.tokenOffset[i]; k < trie.tokenOffset[i + 1]; k++) {
                int t = trie.tokens[k];
                mask[t >>> 6] |= 1L << t;
            }
            if (next.stacks.length == 0) {
                i = trie.subtreeEnd[i];
                continue;
            }
            atDepth[trie.depth[i]] = next;
            i++;
        }
    }
}
