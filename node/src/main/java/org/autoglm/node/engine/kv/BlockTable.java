package org.autoglm.node.engine.kv;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One sequence's KV blocks in position order (position p lives in block {@code p / blockSize}), plus the
 * chained hashes of its full blocks, which stay valid across preemption because tokens never change.
 */
public final class BlockTable {

    final List<KvBlock> blocks = new ArrayList<>();
    /** Chained hashes of the first {@link #numHashed} full blocks of the sequence's tokens. */
    long[] hashes = new long[4];
    int numHashed;
    /** Leading blocks already registered in (or taken from) the prefix cache. */
    int numCommitted;

    public int size() {
        return blocks.size();
    }

    public int blockId(int i) {
        return blocks.get(i).id;
    }

    /** Ids of blocks {@code from ..} as a new array (the plan's "new blocks"). */
    public int[] ids(int from) {
        int[] ids = new int[blocks.size() - from];
        for (int i = 0; i < ids.length; i++) ids[i] = blocks.get(from + i).id;
        return ids;
    }

    long hash(int i) {
        return hashes[i];
    }

    void addHash(long h) {
        if (numHashed == hashes.length) hashes = Arrays.copyOf(hashes, hashes.length * 2);
        hashes[numHashed++] = h;
    }
}
