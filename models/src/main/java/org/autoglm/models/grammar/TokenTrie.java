package org.autoglm.models.grammar;

import java.util.Arrays;
import java.util.Comparator;

/**
 * All tokens' bytes as a trie laid out in depth-first order: node i's subtree is [i, subtreeEnd[i]), so a walk
 * that finds a prefix impossible skips every token below it in one step. Node depth is its byte count; the root
 * (depth 0, the empty prefix) is implicit.
 */
final class TokenTrie {

    final int size;
    final byte[] nodeByte;
    final int[] depth;
    final int[] subtreeEnd;
    /** Tokens ending at node i: tokens[tokenOffset[i] .. tokenOffset[i + 1]). */
    final int[] tokenOffset;
    final int[] tokens;
    final int maxDepth;
    /** The depth of the deepest node in node i's subtree (i included): how far below i its tokens reach. */
    final int[] subtreeMaxDepth;

    TokenTrie(byte[][] tokenBytes) {
        Integer[] ids = new Integer[tokenBytes.length];
        int count = 0;
        for (int id = 0; id < tokenBytes.length; id++) {
            if (tokenBytes[id] != null && tokenBytes[id].length > 0) {
                ids[count++] = id;
            }
        }
        Integer[] sorted = Arrays.copyOf(ids, count);
        Arrays.sort(sorted, Comparator.comparing((Integer id) -> tokenBytes[id], Arrays::compareUnsigned)
                .thenComparing(id -> id));
        int capacity = 0;
        for (Integer id : sorted) {
            capacity += tokenBytes[id].length;
        }
        byte[] nb = new byte[capacity];
        int[] dp = new int[capacity];
        int[] end = new int[capacity];
        int[] tokenNode = new int[count];
        int[] path = new int[256];
        int pathLen = 0;
        int nodes = 0;
        int maxDepth = 0;
        byte[] previous = new byte[0];
        for (int j = 0; j < count; j++) {
            byte[] b = tokenBytes[sorted[j]];
            int lcp = 0;
            while (lcp < previous.length && lcp < b.length && previous[lcp] == b[lcp]) {
                lcp++;
            }
            while (pathLen > lcp) {
                end[path[--pathLen]] = nodes;
            }
            for (int k = lcp; k < b.length; k++) {
                if (pathLen == path.length) {
                    path = Arrays.copyOf(path, path.length * 2);
                }
                nb[nodes] = b[k];
                dp[nodes] = k + 1;
                path[pathLen++] = nodes++;
            }
            tokenNode[j] = path[b.length - 1];
            maxDepth = Math.max(maxDepth, b.length);
            previous = b;
        }
        while (pathLen > 0) {
            end[path[--pathLen]] = nodes;
        }
        this.size = nodes;
        this.nodeByte = Arrays.copyOf(nb, nodes);
        this.depth = Arrays.copyOf(dp, nodes);
        this.subtreeEnd = Arrays.copyOf(end, nodes);
        this.maxDepth = maxDepth;
        this.tokenOffset = new int[nodes + 1];
        this.tokens = new int[count];
        for (int j = 0; j < count; j++) {
            tokenOffset[tokenNode[j] + 1]++;
            tokens[j] = sorted[j];
        }
        for (int i = 0; i < nodes; i++) {
            tokenOffset[i + 1] += tokenOffset[i];
        }
        this.subtreeMaxDepth = new int[nodes];
        for (int i = nodes - 1; i >= 0; i--) {   // children come after their parent: fill them first
            int deepest = depth[i];
            for (int child = i + 1; child < subtreeEnd[i]; child = subtreeEnd[child]) {
                deepest = Math.max(deepest, subtreeMaxDepth[child]);
            }
            subtreeMaxDepth[i] = deepest;
        }
    }

    /** A token whose bytes are {@code bytes[from, to)}, or -1 when no token is spelled so. */
    int find(byte[] bytes, int from, int to) {
        int node = -1;
        int end = size;
        for (int k = from; k < to; k++) {
            int child = node + 1;
            while (child < end && nodeByte[child] != bytes[k]) {
                child = subtreeEnd[child];
            }
            if (child >= end) {
                return -1;
            }
            node = child;
            end = subtreeEnd[node];
        }
        return node >= 0 && tokenOffset[node + 1] > tokenOffset[node] ? tokens[tokenOffset[node]] : -1;
    }
}
