package org.autoglm.gossip.placement;

import java.io.Serializable;

/**
 * A node's prefix cache in a few kilobytes: a Bloom filter over the chained hashes of the KV blocks it holds (the
 * hashes the engine's prefix cache already keys blocks by). The leader asks it how many leading blocks of a prompt a
 * node probably holds; a false positive costs only a worse placement, never wrong output.
 */
public final class PrefixSummary implements Serializable {

    private static final long serialVersionUID = 1L;
    /** Bits per block held: with two probes about a 5 % false-positive rate at the cap. */
    static final int BITS_PER_BLOCK = 16;
    static final int MIN_BITS = 1 << 12;
    /** At most 32 KiB on the wire, whatever the cache's size. */
    static final int MAX_BITS = 1 << 18;

    private long[] words;
    private int blocks;

    private PrefixSummary() {}

    /** A summary of {@code count} block hashes. */
    public static PrefixSummary of(long[] hashes, int count) {
        int bits = Integer.highestOneBit(Math.max(MIN_BITS, Math.min(MAX_BITS, count * BITS_PER_BLOCK)) * 2 - 1);
        PrefixSummary s = new PrefixSummary();
        s.words = new long[Math.max(1, bits / 64)];
        s.blocks = count;
        for (int i = 0; i < count; i++) {
            s.add(hashes[i]);
        }
        return s;
    }

    private void add(long hash) {
        int mask = words.length * 64 - 1;
        int a = (int) hash & mask;
        int b = (int) (hash >>> 32) & mask;
        words[a >>> 6] |= 1L << a;
        words[b >>> 6] |= 1L << b;
    }

    public boolean mightContain(long hash) {
        int mask = words.length * 64 - 1;
        int a = (int) hash & mask;
        int b = (int) (hash >>> 32) & mask;
        return (words[a >>> 6] & (1L << a)) != 0 && (words[b >>> 6] & (1L << b)) != 0;
    }

    /**
     * Leading blocks of a prompt the node probably holds: the count of {@code chain} (the prompt's chained block
     * hashes, in order) before the first one it does not. A chained hash stands for its whole prefix, so a hit after
     * a miss is ignored: the engine could not use it.
     */
    public int leadingHits(long[] chain) {
        int n = 0;
        while (n < chain.length && mightContain(chain[n])) {
            n++;
        }
        return n;
    }

    /** Blocks summarised. */
    public int blocks() {
        return blocks;
    }
}
