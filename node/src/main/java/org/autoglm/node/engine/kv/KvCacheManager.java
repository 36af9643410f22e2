package org.autoglm.node.engine.kv;

import java.util.ArrayList;
import java.util.List;

/**
 * Hands KV blocks to sequences and finds reusable prefixes (vLLM's {@code KVCacheManager}). Full blocks
 * are registered in the prefix cache once their KV has been computed ({@link #commit}), so a later
 * request with the same leading tokens (a system prompt, the earlier turns of a conversation) starts
 * with those blocks instead of recomputing them.
 *
 * <p>Counters are in tokens, as vLLM reports them: {@code queries} prompt tokens looked up,
 * {@code hits} of them found cached. Not thread-safe: owned by the engine loop.
 */
public final class KvCacheManager {

    private final BlockPool pool;
    private final int blockSize;
    private final boolean prefixCaching;
    private long prefixQueryTokens;
    private long prefixHitTokens;

    public KvCacheManager(BlockPool pool, int blockSize, boolean prefixCaching) {
        if (blockSize < 1) throw new IllegalArgumentException("blockSize must be >= 1, got " + blockSize);
        this.pool = pool;
        this.blockSize = blockSize;
        this.prefixCaching = prefixCaching;
    }

    public BlockPool pool() {
        return pool;
    }

    public int blockSize() {
        return blockSize;
    }

    /** Blocks needed to hold {@code numTokens} positions. */
    public int blocksFor(int numTokens) {
        return (numTokens + blockSize - 1) / blockSize;
    }

    /**
     * The longest run of leading full blocks of {@code tokens[0 .. numTokens)} whose KV is cached. At least
     * one token is always left to compute, because the next token's logits come from computing the last one.
     * Does not count: call {@link #recordPrefixLookup} once the sequence is admitted.
     */
    public List<KvBlock> findCachedPrefix(BlockTable table, int[] tokens, int numTokens) {
        if (!prefixCaching) return List.of();
        int maxBlocks = (numTokens - 1) / blockSize;
        hashFullBlocks(table, tokens, maxBlocks);
        List<KvBlock> hits = new ArrayList<>();
        long parent = BlockHash.ROOT;
        for (int i = 0; i < maxBlocks; i++) {
            long h = table.hash(i);
            KvBlock b = pool.lookup(h, parent, tokens, i * blockSize, blockSize);
            if (b == null) break;
            hits.add(b);
            parent = h;
        }
        return hits;
    }

    /** Counts one admitted sequence's prefix lookup: {@code hitTokens} of its {@code queryTokens} were cached. */
    public void recordPrefixLookup(int queryTokens, int hitTokens) {
        prefixQueryTokens += queryTokens;
        prefixHitTokens += hitTokens;
    }

    /**
     * Makes {@code table} cover {@code numComputed + numNewTokens} positions: first takes the given cached
     * prefix blocks (for a sequence that holds none yet), then allocates fresh ones.
     *
     * @return the index in the table of the first block added, or -1 (nothing changed) when the pool is
     *     short of blocks
     */
    public int allocateSlots(BlockTable table, int numComputed, int numNewTokens, List<KvBlock> cachedPrefix) {
        if (cachedPrefix.isEmpty()) return allocateSlots(table, numComputed, numNewTokens);
        int have = table.size() + cachedPrefix.size();
        int needNew = Math.max(0, blocksFor(numComputed + numNewTokens) - have);
        int cachedButFree = 0;
        for (KvBlock b : cachedPrefix) if (b.refCount == 0) cachedButFree++;
        // Touching a free cached block takes it out of the free list, so it cannot also be allocated.
        if (needNew > pool.numFreeBlocks() - cachedButFree) return -1;
        int first = table.size();
        for (KvBlock b : cachedPrefix) {
            pool.touch(b);
            table.add(b);
        }
        table.numCommitted += cachedPrefix.size();
        for (int i = 0; i < needNew; i++) table.add(pool.allocate());
        return first;
    }

    /** {@link #allocateSlots(BlockTable, int, int, List)} without a cached prefix: the per-step decode path. */
    public int allocateSlots(BlockTable table, int numComputed, int numNewTokens) {
        int first = table.size();
        int needNew = blocksFor(numComputed + numNewTokens) - first;
        if (needNew <= 0) return first;
        if (needNew > pool.numFreeBlocks()) return -1;
        for (int i = 0; i < needNew; i++) table.add(pool.allocate());
        return first;
    }

    /** Registers the full blocks among the first {@code numComputed} tokens (KV now written) for reuse. */
    public void commit(BlockTable table, int[] tokens, int numComputed) {
        // Most steps complete no block: one multiply decides that (this runs for every sequence every step).
        if (!prefixCaching || numComputed < (table.numCommitted + 1) * blockSize) return;
        int full = Math.min(numComputed / blockSize, table.size());
        if (full <= table.numCommitted) return;
        hashFullBlocks(table, tokens, full);
        for (int i = table.numCommitted; i < full; i++) {
            long parent = i == 0 ? BlockHash.ROOT : table.hash(i - 1);
            pool.cache(table.block(i), table.hash(i), parent, tokens, i * blockSize, blockSize);
        }
        table.numCommitted = full;
    }

    /**
     * Returns all of a sequence's blocks to the pool, last block first: the free list then evicts a
     * sequence's tail before its head, and heads are the parts other requests share.
     */
    public void free(BlockTable table) {
        for (int i = table.size() - 1; i >= 0; i--) pool.free(table.block(i));
        table.clear();
        table.numCommitted = 0;
    }

    public long prefixQueryTokens() {
        return prefixQueryTokens;
    }

    public long prefixHitTokens() {
        return prefixHitTokens;
    }

    private void hashFullBlocks(BlockTable table, int[] tokens, int numBlocks) {
        for (int i = table.numHashed; i < numBlocks; i++) {
            long parent = i == 0 ? BlockHash.ROOT : table.hash(i - 1);
            table.addHash(BlockHash.of(parent, tokens, i * blockSize, blockSize));
        }
    }
}
