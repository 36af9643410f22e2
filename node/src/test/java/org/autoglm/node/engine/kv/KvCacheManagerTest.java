package org.autoglm.node.engine.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class KvCacheManagerTest {

    private static final int BS = 4;

    private static int[] tokens(int from, int count) {
        return IntStream.range(from, from + count).toArray();
    }

    /** Allocates and "computes" all of {@code tokens} for a new sequence, as one step would. */
    private static BlockTable compute(KvCacheManager kv, int[] tokens) {
        BlockTable t = new BlockTable();
        List<KvBlock> hit = kv.findCachedPrefix(t, tokens, tokens.length);
        int cached = hit.size() * BS;
        assertThat(kv.allocateSlots(t, cached, tokens.length - cached, hit)).isGreaterThanOrEqualTo(0);
        kv.commit(t, tokens, tokens.length);
        return t;
    }

    @Test
    void sharedPrefixReusesFullBlocksOnly() {
        KvCacheManager kv = new KvCacheManager(new BlockPool(16), BS, true);
        int[] a = tokens(0, 10); // blocks [0..3] [4..7] and a partial [8, 9]
        BlockTable ta = compute(kv, a);
        assertThat(kv.pool().numCachedBlocks()).isEqualTo(2);

        int[] b = {0, 1, 2, 3, 4, 5, 6, 7, 99, 98, 97};
        List<KvBlock> hit = kv.findCachedPrefix(new BlockTable(), b, b.length);
        assertThat(hit).extracting(x -> x.id).containsExactly(ta.blockId(0), ta.blockId(1));
    }

    @Test
    void thePoolsSummaryHashesAreThePromptChainTheClusterComputes() {
        KvCacheManager kv = new KvCacheManager(new BlockPool(16), BS, true);
        int[] prompt = tokens(50, 13); // three full blocks and a partial one
        compute(kv, prompt);
        long[] chain = BlockHash.chain(prompt, BS, 64);
        assertThat(chain).hasSize(3);
        assertThat(kv.pool().cachedHashes()).containsExactlyInAnyOrder(chain);
        assertThat(BlockHash.chain(prompt, BS, 2)).containsExactly(chain[0], chain[1]);
    }

    @Test
    void alwaysLeavesOneTokenToCompute() {
        KvCacheManager kv = new KvCacheManager(new BlockPool(16), BS, true);
        compute(kv, tokens(0, 8));
        // The same 8 tokens again: only the first block may be reused, the last token must run for logits.
        assertThat(kv.findCachedPrefix(new BlockTable(), tokens(0, 8), 8)).hasSize(1);
        assertThat(kv.findCachedPrefix(new BlockTable(), tokens(0, 9), 9)).hasSize(2);
    }

    @Test
    void sameBlockAfterDifferentPrefixIsNotAHit() {
        KvCacheManager kv = new KvCacheManager(new BlockPool(16), BS, true);
        compute(kv, new int[] {1, 1, 1, 1, 5, 6, 7, 8, 0});
        int[] other = {2, 2, 2, 2, 5, 6, 7, 8, 0};
        assertThat(kv.findCachedPrefix(new BlockTable(), other, other.length)).isEmpty();
    }

    @Test
    void freedPrefixStaysCachedUntilEvictedTailFirst() {
        BlockPool pool = new BlockPool(4);
        KvCacheManager kv = new KvCacheManager(pool, BS, true);
        BlockTable t = compute(kv, tokens(0, 12)); // 3 full blocks, all cached
        kv.free(t);
        assertThat(pool.numFreeBlocks()).isEqualTo(4);
        assertThat(kv.findCachedPrefix(new BlockTable(), tokens(0, 13), 13)).hasSize(3);

        // Another sequence needs 2 fresh blocks: the uncached one, then the evicted tail of the freed sequence.
        BlockTable other = compute(kv, tokens(100, 5));
        assertThat(other.size()).isEqualTo(2);
        assertThat(kv.findCachedPrefix(new BlockTable(), tokens(0, 13), 13)).hasSize(2);
    }

    @Test
    void cachedFreeBlocksCountAgainstTheFreeBudget() {
        BlockPool pool = new BlockPool(3);
        KvCacheManager kv = new KvCacheManager(pool, BS, true);
        kv.free(compute(kv, tokens(0, 8))); // 2 cached free blocks + 1 plain free block
        BlockTable t = new BlockTable();
        int[] longer = tokens(0, 17);
        List<KvBlock> hit = kv.findCachedPrefix(t, longer, longer.length);
        assertThat(hit).hasSize(2);
        // 17 tokens need 5 blocks: 2 hits + 3 new, but only 1 block is free besides the hits.
        assertThat(kv.allocateSlots(t, 8, 9, hit)).isEqualTo(-1);
        assertThat(t.size()).isZero();
        assertThat(pool.numFreeBlocks()).isEqualTo(3);
        assertThat(kv.findCachedPrefix(new BlockTable(), longer, longer.length)).hasSize(2);
    }

    @Test
    void countsHitRateInTokens() {
        KvCacheManager kv = new KvCacheManager(new BlockPool(8), BS, true);
        kv.recordPrefixLookup(10, 0);
        kv.recordPrefixLookup(10, 8);
        assertThat(kv.prefixQueryTokens()).isEqualTo(20);
        assertThat(kv.prefixHitTokens()).isEqualTo(8);
    }

    @Test
    void disabledPrefixCachingNeverHits() {
        KvCacheManager kv = new KvCacheManager(new BlockPool(8), BS, false);
        compute(kv, tokens(0, 12));
        assertThat(kv.findCachedPrefix(new BlockTable(), tokens(0, 12), 12)).isEmpty();
        assertThat(kv.pool().numCachedBlocks()).isZero();
    }
}
