package org.autoglm.node.engine.kv;

import java.util.Arrays;

/**
 * Chained block hash → block id, for the prefix cache: an open-addressing table of primitives (linear probing,
 * deletion by backward shift, so there are no tombstones to clean up).
 *
 * <p>Why not a {@code HashMap<Long, KvBlock>}: every allocation of a cached free block removes an entry and
 * every admission looks one up, and with boxed keys each of those chases three cold pointers. They were half of
 * the scheduler benchmark's time. Here a lookup reads one slot of two arrays. A pool caches at most one entry
 * per block, so the table is sized once, at twice the block count or more, and never grows.
 */
final class PrefixIndex {

    private static final int EMPTY = -1;

    private final long[] hashes;
    private final int[] blockIds;
    private final int mask;
    private int size;

    PrefixIndex(int maxEntries) {
        int capacity = Integer.highestOneBit(Math.max(2, maxEntries) * 2 - 1) << 1; // power of two, >= 2 × maxEntries
        hashes = new long[capacity];
        blockIds = new int[capacity];
        Arrays.fill(blockIds, EMPTY);
        mask = capacity - 1;
    }

    int size() {
        return size;
    }

    /** The block id stored for {@code hash}, or -1. */
    int get(long hash) {
        for (int i = slot(hash); ; i = (i + 1) & mask) {
            int id = blockIds[i];
            if (id == EMPTY || hashes[i] == hash) return id;
        }
    }

    /** Stores {@code blockId} under {@code hash} unless the hash is present; returns the id already there, or -1. */
    int putIfAbsent(long hash, int blockId) {
        int i = slot(hash);
        for (; blockIds[i] != EMPTY; i = (i + 1) & mask) {
            if (hashes[i] == hash) return blockIds[i];
        }
        hashes[i] = hash;
        blockIds[i] = blockId;
        size++;
        return EMPTY;
    }

    /** Removes {@code hash} if it maps to {@code blockId}. */
    void remove(long hash, int blockId) {
        int i = slot(hash);
        for (; blockIds[i] != EMPTY; i = (i + 1) & mask) {
            if (hashes[i] == hash) {
                if (blockIds[i] == blockId) deleteAt(i);
                return;
            }
        }
    }

    /** Empties slot {@code hole} and moves later entries of its probe run back, so every lookup still finds them. */
    private void deleteAt(int hole) {
        size--;
        for (int i = (hole + 1) & mask; blockIds[i] != EMPTY; i = (i + 1) & mask) {
            int home = slot(hashes[i]);
            // Move entry i into the hole when the hole lies on its probe path (between its home slot and i, cyclically).
            if (((i - home) & mask) >= ((i - hole) & mask)) {
                hashes[hole] = hashes[i];
                blockIds[hole] = blockIds[i];
                hole = i;
            }
        }
        blockIds[hole] = EMPTY;
    }

    private int slot(long hash) {
        // Block hashes are already well mixed (BlockHash ends with a 64-bit finaliser); fold the high bits in anyway.
        return (int) (hash ^ (hash >>> 32)) & mask;
    }
}
