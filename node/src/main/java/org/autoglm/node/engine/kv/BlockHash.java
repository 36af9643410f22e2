package org.autoglm.node.engine.kv;

/**
 * Content hash of a full KV block, chained over everything before it: two blocks get the same hash
 * only when the whole prefix up to and including them is the same, which is exactly when their KV is
 * interchangeable. 64-bit; the pool also compares tokens and parent hash on a hit, so a collision can
 * cost a cache miss but never wrong output.
 */
public final class BlockHash {

    /** The "parent hash" of the first block of every sequence. */
    public static final long ROOT = 0x2545F4914F6CDD1DL;

    private BlockHash() {}

    /** Hash of the block holding {@code tokens[from .. from + count)} after a prefix hashing to {@code parent}. */
    public static long of(long parent, int[] tokens, int from, int count) {
        long h = parent ^ (count * 0x9E3779B97F4A7C15L);
        int end = from + count;
        int i = from;
        // Two tokens per round: the rounds form one dependency chain, so halving them halves the hash's latency
        // (a decode step hashes a block for every sequence that fills one).
        for (; i + 1 < end; i += 2) h = round(h, (tokens[i] & 0xFFFFFFFFL) | ((long) tokens[i + 1] << 32));
        if (i < end) h = round(h, tokens[i] & 0xFFFFFFFFL);
        return mix(h);
    }

    private static long round(long h, long input) {
        h = (h ^ input) * 0xBF58476D1CE4E5B9L + 0x9E3779B97F4A7C15L; // a bijection of h for each input
        return h ^ (h >>> 29);
    }

    /** MurmurHash3's 64-bit finaliser: spreads every input bit over the output. */
    private static long mix(long h) {
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }

    /**
     * The chained hashes of the first {@code maxBlocks} full blocks of {@code tokens}: what a node's prefix cache keys
     * them by, so the cluster can ask which node holds a prompt's prefix before the prompt reaches an engine.
     */
    public static long[] chain(int[] tokens, int blockSize, int maxBlocks) {
        int n = Math.min(maxBlocks, tokens.length / blockSize);
        long[] out = new long[Math.max(0, n)];
        long parent = ROOT;
        for (int i = 0; i < out.length; i++) {
            parent = of(parent, tokens, i * blockSize, blockSize);
            out[i] = parent;
        }
        return out;
    }
}
