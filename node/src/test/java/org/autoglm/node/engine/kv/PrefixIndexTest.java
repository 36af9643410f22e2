package org.autoglm.node.engine.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PrefixIndexTest {

    @Test
    void agreesWithAHashMapThroughRandomInsertsAndRemovals() {
        // Few distinct hash values whose slots collide a lot (small table, clustered keys), so probe runs wrap
        // around the table's end and backward-shift deletion is exercised on every kind of run.
        SplittableRandom random = new SplittableRandom(7);
        PrefixIndex index = new PrefixIndex(64);
        Map<Long, Integer> reference = new HashMap<>();
        List<Long> keys = new ArrayList<>();
        for (int i = 0; i < 200; i++) keys.add(random.nextLong(40) * 128 + (i % 3 == 0 ? 127 : 0) + ((long) i << 40));
        for (int step = 0; step < 100_000; step++) {
            long key = keys.get(random.nextInt(keys.size()));
            int id = random.nextInt(64);
            if (random.nextInt(3) > 0 && reference.size() < 64) {
                Integer before = reference.putIfAbsent(key, id);
                assertThat(index.putIfAbsent(key, id)).isEqualTo(before == null ? -1 : before);
            } else {
                Integer stored = reference.get(key);
                int removeId = stored != null && random.nextBoolean() ? stored : id;
                reference.remove(key, removeId);
                index.remove(key, removeId);
            }
            assertThat(index.size()).isEqualTo(reference.size());
            if (step % 97 == 0) {
                for (long k : keys) assertThat(index.get(k)).as("key %d", k).isEqualTo(reference.getOrDefault(k, -1));
            }
        }
    }

    @Test
    void holdsAsManyEntriesAsItWasSizedFor() {
        PrefixIndex index = new PrefixIndex(1000);
        for (int i = 0; i < 1000; i++) assertThat(index.putIfAbsent(BlockHash.of(BlockHash.ROOT, new int[] {i}, 0, 1), i)).isEqualTo(-1);
        for (int i = 0; i < 1000; i++) assertThat(index.get(BlockHash.of(BlockHash.ROOT, new int[] {i}, 0, 1))).isEqualTo(i);
        assertThat(index.get(42)).isEqualTo(-1);
    }
}
