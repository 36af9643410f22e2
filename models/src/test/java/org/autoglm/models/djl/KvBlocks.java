package org.autoglm.models.djl;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Hands out KV block ids the way a real block pool does after some churn: not in order and not contiguous
 * (ids counted down, every other one first), so a backend that ignores block tables computes garbage.
 */
final class KvBlocks {
    private final Deque<Integer> free = new ArrayDeque<>();

    KvBlocks(int numBlocks) {
        List<Integer> order = new ArrayList<>();
        for (int i = numBlocks - 1; i >= 0; i -= 2) {
            order.add(i);
        }
        for (int i = numBlocks - 2; i >= 0; i -= 2) {
            order.add(i);
        }
        free.addAll(order);
    }

    /** A block table with room for {@code positions} tokens. */
    int[] table(int positions, int blockSize) {
        int[] table = new int[(positions + blockSize - 1) / blockSize];
        for (int i = 0; i < table.length; i++) {
            table[i] = take();
        }
        return table;
    }

    int take() {
        Integer id = free.poll();
        if (id == null) {
            throw new IllegalStateException("test pool exhausted");
        }
        return id;
    }
}
