package org.autoglm.node.engine.kv;

import java.util.Arrays;

/**
 * One sequence's KV blocks in position order (position p lives in block {@code p / blockSize}), plus the
 * chained hashes of its full blocks, which stay valid across preemption because tokens never change.
 */
public final class BlockTable {

    // A plain array and a parallel id array: the per-step paths read sizes and ids without chasing blocks.
    private KvBlock[] blocks = new KvBlock[8];
    private int[] blockIds = new int[8];
    private int size;
    /** Chained hashes of the first {@link #numHashed} full blocks of the sequence's tokens. */
    long[] hashes = new long[4];
    int numHashed;
    /** Leading blocks already registered in (or taken from) the prefix cache. */
    int numCommitted;

    public int size() {
        return size;
    }

    public int blockId(int i) {
        return blockIds[i];
    }

    /** Ids of blocks {@code from ..} as a new array (the plan's "new blocks"). */
    public int[] ids(int from) {
        return Arrays.copyOfRange(blockIds, from, size);
    }

    KvBlock block(int i) {
        return blocks[i];
    }

    void add(KvBlock b) {
        if (size == blocks.length) {
            blocks = Arrays.copyOf(blocks, size * 2);
            blockIds = Arrays.copyOf(blockIds, size * 2);
        }
        blocks[size] = b;
        blockIds[size++] = b.id;
    }

    /** Empties the table; the caller has released the blocks. */
    void clear() {
        Arrays.fill(blocks, 0, size, null);
        size = 0;
    }

    long hash(int i) {
        return hashes[i];
    }

    void addHash(long h) {
        if (numHashed == hashes.length) hashes = Arrays.copyOf(hashes, hashes.length * 2);
        hashes[numHashed++] = h;
    }
}
