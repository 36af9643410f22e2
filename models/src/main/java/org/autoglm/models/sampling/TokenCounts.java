package org.autoglm.models.sampling;

import java.util.Arrays;

/**
 * How often each token occurs in a sequence's output: an open-addressing int-to-int map that also lists
 * its keys in insertion order, so penalties cost O(distinct tokens), not O(vocabulary).
 */
final class TokenCounts {

    private static final int EMPTY = -1;

    private int[] slots = new int[64];
    private int[] slotCounts = new int[64];
    private int[] keys = new int[32];
    private int size;

    TokenCounts() {
        Arrays.fill(slots, EMPTY);
    }

    void increment(int token) {
        int slot = find(token);
        if (slots[slot] == EMPTY) {
            slots[slot] = token;
            if (size == keys.length) {
                keys = Arrays.copyOf(keys, size * 2);
            }
            keys[size++] = token;
            if (size * 2 > slots.length) {
                grow();
                slot = find(token);
            }
        }
        slotCounts[slot]++;
    }

    int count(int token) {
        int slot = find(token);
        return slots[slot] == EMPTY ? 0 : slotCounts[slot];
    }

    /** Number of distinct tokens. */
    int size() {
        return size;
    }

    /** The i-th distinct token, in order of first occurrence. */
    int token(int i) {
        return keys[i];
    }

    private int find(int token) {
        int mask = slots.length - 1;
        int slot = (token * 0x9E3779B9) >>> 7 & mask;
        while (slots[slot] != EMPTY && slots[slot] != token) {
            slot = (slot + 1) & mask;
        }
        return slot;
    }

    private void grow() {
        int[] oldSlots = slots;
        int[] oldCounts = slotCounts;
        slots = new int[oldSlots.length * 2];
        slotCounts = new int[oldSlots.length * 2];
        Arrays.fill(slots, EMPTY);
        for (int i = 0; i < oldSlots.length; i++) {
            if (oldSlots[i] != EMPTY) {
                int slot = find(oldSlots[i]);
                slots[slot] = oldSlots[i];
                slotCounts[slot] = oldCounts[i];
            }
        }
    }
}
