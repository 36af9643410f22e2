package org.autoglm.models.grammar;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The token-trie walk for a rule without calls (a string, number, key or pattern lexeme): which tokens its
 * automaton allows from a state, and the trie nodes where it may end with more bytes below ("pop nodes").
 *
 * <p>Inside a string nearly every token is allowed, so a walk visits most of the trie (~3 ms at 151k tokens).
 * Lexemes that differ from a plain string only near their start (a key that may not equal a declared key, a
 * string with more characters left under {@code maxLength} than a token has bytes) would each pay that again.
 * So the big subtrees near the root are shared: a subtree's result depends only on what the automaton does over
 * the subtree's depth ({@link BoundedResiduals}), and is kept per (node, bounded residual) for the vocabulary.
 * A new lexeme then walks only the subtrees where it differs from lexemes walked before.
 */
final class LexemeWalk {

    /**
     * Shared subtrees: the highest ones with at least this many nodes whose tokens end within this many bytes
     * below their root (about 370 of them cover 96 % of the 151k vocabulary's trie).
     */
    private static final int SHARED_MIN_NODES = 64;
    private static final int SHARED_MAX_DEPTH = 32;
    /** Memory bound of the shared subtrees (token and node ids kept), 32 MB. */
    private static final long MAX_SHARED_INTS = 8L << 20;

    private record SubtreeKey(int node, long residual) { }

    /** What one walk (or one subtree of it) found: allowed tokens and pop nodes. */
    record Found(int[] tokens, int[] popNodes) { }

    private final TokenTrie trie;
    private final boolean[] shared;
    private final Residuals residuals = new Residuals();
    private final ConcurrentHashMap<SubtreeKey, Found> subtrees = new ConcurrentHashMap<>();
    private final AtomicLong sharedInts = new AtomicLong();

    LexemeWalk(TokenTrie trie) {
        this.trie = trie;
        this.shared = new boolean[trie.size];
        int i = 0;
        while (i < trie.size) {
            int size = trie.subtreeEnd[i] - i;
            if (size < SHARED_MIN_NODES) {
                i = trie.subtreeEnd[i];
            } else if (trie.subtreeMaxDepth[i] - trie.depth[i] <= SHARED_MAX_DEPTH) {
                shared[i] = true;
                i = trie.subtreeEnd[i];
            } else {
                i++;
            }
        }
    }

    /**
     * The tokens {@code dfa} allows from {@code state} (as a bitmask over the vocabulary of {@code words} longs),
     * how many, and the nodes where it may end before a token does.
     */
    TokenSetCache.TokenSets walk(RuleDfa dfa, int state, int words) {
        Sink sink = new Sink(true);
        DenseTransitions table = dfa.dense();
        if (table == null) {
            walkByRanges(dfa, state, sink);
        } else {
            walkDense(dfa, table, state, 0, 0, trie.size, sink);
        }
        long[] bits = new long[words];
        int count = sink.tokens.count;
        for (int k = 0; k < sink.tokens.count; k++) {
            int t = sink.tokens.values[k];
            bits[t >>> 6] |= 1L << t;
        }
        for (Found f : sink.subtrees) {
            count += f.tokens.length;
            for (int t : f.tokens) {
                bits[t >>> 6] |= 1L << t;
            }
        }
        return TokenSetCache.finish(bits, count, sink.pops.toArray());
    }

    /**
     * The tokens {@code dfa} allows from {@code state}, found from those it allows from {@code reference} (another
     * state of the same automaton, with its sets {@code known}): the two are walked down the trie in step, and a
     * subtree is skipped as soon as both reach the same state (from there on they allow the same tokens). A key
     * that may not equal a declared key differs from the plain string it becomes only along the declared keys'
     * paths, so its walk visits a few dozen nodes instead of the whole trie. Null when the automaton has no flat
     * table (the caller then walks in full).
     */
    TokenSetCache.TokenSets walkAgainst(RuleDfa dfa, int state, int reference, TokenSetCache.TokenSets known,
            int words) {
        DenseTransitions table = dfa.dense();
        if (table == null) {
            return null;
        }
        long[] bits = new long[words];
        known.addTo(bits);
        IntList added = new IntList();
        IntList removed = new IntList();
        int[] own = new int[trie.maxDepth + 1];
        int[] ref = new int[trie.maxDepth + 1];
        own[0] = state;
        ref[0] = reference;
        int[] next = table.next;
        byte[] classOf = table.classOf;
        byte[] flags = table.flags;
        int classes = table.classes;
        int i = 0;
        while (i < trie.size) {
            int d = trie.depth[i];
            int c = classOf[trie.nodeByte[i] & 0xFF];
            int s = own[d - 1] < 0 ? -1 : next[own[d - 1] * classes + c];
            int r = ref[d - 1] < 0 ? -1 : next[ref[d - 1] * classes + c];
            if (s == r) {
                i = trie.subtreeEnd[i];
                continue;
            }
            if ((s >= 0) != (r >= 0)) {
                for (int k = trie.tokenOffset[i]; k < trie.tokenOffset[i + 1]; k++) {
                    int t = trie.tokens[k];
                    bits[t >>> 6] ^= 1L << t;   // allowed by exactly one of the two: flip the reference's answer
                }
            }
            boolean inner = trie.subtreeEnd[i] > i + 1;
            boolean ownPop = inner && s >= 0 && (flags[s] & DenseTransitions.ACCEPTING) != 0;
            boolean refPop = inner && r >= 0 && (flags[r] & DenseTransitions.ACCEPTING) != 0;
            if (ownPop != refPop) {
                (ownPop ? added : removed).add(i);
            }
            own[d] = s >= 0 && (flags[s] & DenseTransitions.HAS_BYTES) != 0 ? s : -1;
            ref[d] = r >= 0 && (flags[r] & DenseTransitions.HAS_BYTES) != 0 ? r : -1;
            i = own[d] < 0 && ref[d] < 0 ? trie.subtreeEnd[i] : i + 1;
        }
        int count = 0;
        for (long w : bits) {
            count += Long.bitCount(w);
        }
        return TokenSetCache.finish(bits, count, mergePops(known.popNodes(), added.toArray(), removed.toArray()));
    }

    /** {@code pops} without {@code removed}, with {@code added}; all sorted (trie order), the result too. */
    private static int[] mergePops(int[] pops, int[] added, int[] removed) {
        if (added.length == 0 && removed.length == 0) {
            return pops;
        }
        IntList out = new IntList();
        int a = 0;
        int r = 0;
        for (int p : pops) {
            while (a < added.length && added[a] < p) {
                out.add(added[a++]);
            }
            while (r < removed.length && removed[r] < p) {
                r++;
            }
            if (r < removed.length && removed[r] == p) {
                continue;
            }
            out.add(p);
        }
        while (a < added.length) {
            out.add(added[a++]);
        }
        return out.toArray();
    }

    /**
     * Where a walk puts what it finds: tokens and pop nodes, and shared subtrees either copied in (when the walk
     * is itself computing a subtree) or kept by reference (the top walk ORs them straight into its bitmask).
     */
    private static final class Sink {
        final IntList tokens = new IntList();
        final IntList pops = new IntList();
        final java.util.List<Found> subtrees = new java.util.ArrayList<>();
        final boolean byReference;

        Sink(boolean byReference) {
            this.byReference = byReference;
        }

        void add(Found subtree) {
            if (byReference) {
                subtrees.add(subtree);
            } else {
                tokens.addAll(subtree.tokens);
            }
            pops.addAll(subtree.popNodes);
        }
    }

    /**
     * Walks trie nodes [from, to), all below one node at {@code baseDepth} where the automaton is in
     * {@code baseState}, stepping the automaton's flat table: one state per depth, nothing allocated per node.
     */
    private void walkDense(RuleDfa dfa, DenseTransitions table, int baseState, int baseDepth, int from, int to,
            Sink sink) {
        IntList found = sink.tokens;
        IntList pops = sink.pops;
        int[] atDepth = new int[trie.maxDepth + 1];
        atDepth[baseDepth] = baseState;
        byte[] nodeByte = trie.nodeByte;
        int[] depth = trie.depth;
        int[] subtreeEnd = trie.subtreeEnd;
        int[] tokenOffset = trie.tokenOffset;
        int[] tokens = trie.tokens;
        int[] next = table.next;
        byte[] classOf = table.classOf;
        byte[] flags = table.flags;
        int classes = table.classes;
        int i = from;
        while (i < to) {
            int d = depth[i];
            int state = next[atDepth[d - 1] * classes + classOf[nodeByte[i] & 0xFF]];
            if (state < 0) {
                i = subtreeEnd[i];
                continue;
            }
            int f = flags[state];
            if (shared[i] && (f & DenseTransitions.HAS_BYTES) != 0) {
                Found subtree = subtree(dfa, table, i, state);
                if (subtree != null) {
                    sink.add(subtree);
                    i = subtreeEnd[i];
                    continue;
                }
            }
            found.addRange(tokens, tokenOffset[i], tokenOffset[i + 1]);
            if ((f & DenseTransitions.ACCEPTING) != 0 && subtreeEnd[i] > i + 1) {
                pops.add(i);
            }
            if ((f & DenseTransitions.HAS_BYTES) == 0) {
                i = subtreeEnd[i];
                continue;
            }
            atDepth[d] = state;
            i++;
        }
    }

    /** Node {@code node}'s subtree (the node included) entered in {@code state}: shared, or walked and kept. */
    private Found subtree(RuleDfa dfa, DenseTransitions table, int node, int state) {
        long name = residuals.name(dfa, state, trie.subtreeMaxDepth[node] - trie.depth[node]);
        if (name < 0) {
            return null;
        }
        SubtreeKey key = new SubtreeKey(node, name);
        Found known = subtrees.get(key);
        if (known != null) {
            return known;
        }
        Sink sink = new Sink(false);
        sink.tokens.addRange(trie.tokens, trie.tokenOffset[node], trie.tokenOffset[node + 1]);
        if (dfa.accepting[state]) {
            sink.pops.add(node);
        }
        walkDense(dfa, table, state, trie.depth[node], node + 1, trie.subtreeEnd[node], sink);
        Found found = new Found(sink.tokens.toArray(), sink.pops.toArray());
        if (sharedInts.addAndGet(found.tokens.length + found.popNodes.length) <= MAX_SHARED_INTS) {
            subtrees.putIfAbsent(key, found);
        }
        return found;
    }

    /** The same walk for an automaton too large for a flat table, searching each state's byte ranges. */
    private void walkByRanges(RuleDfa dfa, int state, Sink sink) {
        IntList found = sink.tokens;
        IntList pops = sink.pops;
        int[] atDepth = new int[trie.maxDepth + 1];
        atDepth[0] = state;
        int i = 0;
        while (i < trie.size) {
            int next = dfa.next(atDepth[trie.depth[i] - 1], trie.nodeByte[i] & 0xFF);
            if (next < 0) {
                i = trie.subtreeEnd[i];
                continue;
            }
            found.addRange(trie.tokens, trie.tokenOffset[i], trie.tokenOffset[i + 1]);
            if (dfa.accepting[next] && trie.subtreeEnd[i] > i + 1) {
                pops.add(i);
            }
            if (!dfa.hasBytes(next)) {
                i = trie.subtreeEnd[i];
                continue;
            }
            atDepth[trie.depth[i]] = next;
            i++;
        }
    }

    /** A growable list of ints (token ids or trie nodes). */
    static final class IntList {
        private int[] values = new int[64];
        private int count;

        void add(int v) {
            if (count == values.length) {
                values = Arrays.copyOf(values, count * 2);
            }
            values[count++] = v;
        }

        void addRange(int[] from, int start, int end) {
            int n = end - start;
            if (n <= 0) {
                return;
            }
            if (count + n > values.length) {
                values = Arrays.copyOf(values, Math.max(count + n, count * 2));
            }
            System.arraycopy(from, start, values, count, n);
            count += n;
        }

        void addAll(int[] from) {
            addRange(from, 0, from.length);
        }

        int size() {
            return count;
        }

        int get(int i) {
            return values[i];
        }

        void set(int i, int v) {
            values[i] = v;
        }

        void clear() {
            count = 0;
        }

        int[] toArray() {
            return Arrays.copyOf(values, count);
        }
    }
}
