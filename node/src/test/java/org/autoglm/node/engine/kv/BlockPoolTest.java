package org.autoglm.node.engine.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BlockPoolTest {

    private static final int[] TOKENS = {1, 2, 3, 4, 5, 6, 7, 8};

    @Test
    void allocatesAllOrNothing() {
        BlockPool pool = new BlockPool(4);
        List<KvBlock> got = new ArrayList<>();
        assertThat(pool.allocate(3, got)).isTrue();
        assertThat(got).extracting(b -> b.id).containsExactly(0, 1, 2);
        assertThat(pool.allocate(2, got)).isFalse();
        assertThat(got).hasSize(3);
        assertThat(pool.numFreeBlocks()).isEqualTo(1);
        assertThat(pool.numUsedBlocks()).isEqualTo(3);
        assertThat(got).allSatisfy(b -> assertThat(b.refCount()).isEqualTo(1));
    }

    @Test
    void freedBlocksAreReusedLeastRecentlyFreedFirst() {
        BlockPool pool = new BlockPool(3);
        List<KvBlock> got = new ArrayList<>();
        pool.allocate(3, got);
        pool.free(got.get(2));
        pool.free(got.get(0));
        pool.free(got.get(1));
        List<KvBlock> again = new ArrayList<>();
        pool.allocate(3, again);
        assertThat(again).extracting(b -> b.id).containsExactly(2, 0, 1);
    }

    @Test
    void sharedBlockIsFreedOnlyByItsLastUser() {
        BlockPool pool = new BlockPool(2);
        List<KvBlock> got = new ArrayList<>();
        pool.allocate(1, got);
        KvBlock b = got.get(0);
        pool.touch(b);
        pool.free(b);
        assertThat(pool.numFreeBlocks()).isEqualTo(1);
        pool.free(b);
        assertThat(pool.numFreeBlocks()).isEqualTo(2);
        assertThatThrownBy(() -> pool.free(b)).isInstanceOf(IllegalStateException.class).hasMessageContaining("double free");
    }

    @Test
    void cachedFreeBlockCanBeHitUntilItIsEvicted() {
        BlockPool pool = new BlockPool(2);
        List<KvBlock> got = new ArrayList<>();
        pool.allocate(1, got);
        KvBlock b = got.get(0);
        long h = BlockHash.of(BlockHash.ROOT, TOKENS, 0, 4);
        pool.cache(b, h, BlockHash.ROOT, TOKENS, 0, 4);
        pool.free(b);
        assertThat(pool.lookup(h, BlockHash.ROOT, TOKENS, 0, 4)).isSameAs(b);

        // A hit takes it off the free list: allocation cannot hand it out while in use.
        pool.touch(b);
        assertThat(pool.numFreeBlocks()).isEqualTo(1);
        pool.free(b);

        // Free list order is [1, 0]: two allocations reach block 0 and evict its content.
        List<KvBlock> more = new ArrayList<>();
        pool.allocate(2, more);
        assertThat(more).extracting(x -> x.id).containsExactly(1, 0);
        assertThat(pool.lookup(h, BlockHash.ROOT, TOKENS, 0, 4)).isNull();
        assertThat(pool.numCachedBlocks()).isZero();
    }

    @Test
    void lookupComparesContentNotJustTheHash() {
        BlockPool pool = new BlockPool(1);
        List<KvBlock> got = new ArrayList<>();
        pool.allocate(1, got);
        long h = BlockHash.of(BlockHash.ROOT, TOKENS, 0, 4);
        pool.cache(got.get(0), h, BlockHash.ROOT, TOKENS, 0, 4);
        // Same (forged) hash, other tokens or other parent: a miss, never wrong KV.
        assertThat(pool.lookup(h, BlockHash.ROOT, TOKENS, 4, 4)).isNull();
        assertThat(pool.lookup(h, 42L, TOKENS, 0, 4)).isNull();
        assertThat(pool.lookup(h, BlockHash.ROOT, TOKENS, 0, 4)).isSameAs(got.get(0));
    }

    @Test
    void hashDependsOnTheWholePrefix() {
        long a = BlockHash.of(BlockHash.ROOT, TOKENS, 0, 4);
        long b = BlockHash.of(BlockHash.ROOT, TOKENS, 4, 4);
        assertThat(BlockHash.of(a, TOKENS, 4, 4)).isNotEqualTo(BlockHash.of(b, TOKENS, 4, 4));
        assertThat(BlockHash.of(a, TOKENS, 4, 4)).isEqualTo(BlockHash.of(a, new int[] {5, 6, 7, 8}, 0, 4));
    }

    @Test
    void rejectsAnEmptyPool() {
        assertThatThrownBy(() -> new BlockPool(0)).hasMessageContaining("at least one block");
    }
}
