package org.autoglm.node.engine.kv;

import java.util.Arrays;
import java.util.List;

/**
 * The KV blocks of one backend: reference counts, a free list in eviction order and a hash → block map
 * for prefix reuse (vLLM's {@code block_pool.py}).
 *
 * <p>A freed block keeps its cached content until it is handed out again. The free list is ordered
 * least-recently-freed first, so allocation evicts the prefix that was used longest ago (LRU), and a
 * cached free block that gets a hit is unlinked from the middle in O(1). Allocation either returns all
 * the blocks asked for or none: what to do when memory runs out is the scheduler's decision.
 *
 * <p>Not thread-safe: owned by the engine loop.
 */
public final class BlockPool {

    private final KvBlock[] blocks;
    /** Sentinel of the circular free list: {@code head.nextFree} is evicted first. */
    private final KvBlock head = new KvBlock(-1);
    private int numFree;
    private final PrefixIndex cachedByHash;

    public BlockPool(int numBlocks) {
        if (numBlocks < 1) throw new IllegalArgumentException("a KV pool needs at least one block, got " + numBlocks);
        blocks = new KvBlock[numBlocks];
        cachedByHash = new PrefixIndex(numBlocks);
        head.prevFree = head;
        head.nextFree = head;
        for (int i = 0; i < numBlocks; i++) {
            blocks[i] = new KvBlock(i);
            appendFree(blocks[i]);
        }
    }

    public int numBlocks() {
        return blocks.length;
    }

    /** Blocks that can be allocated now: unreferenced ones, cached or not. */
    public int numFreeBlocks() {
        return numFree;
    }

    public int numUsedBlocks() {
        return blocks.length - numFree;
    }

    /** Blocks whose content is registered for prefix reuse (referenced or not). */
    public int numCachedBlocks() {
        return cachedByHash.size();
    }

    /** The chained hashes of every block whose content is cached, for a summary of this pool (a fresh array). */
    public long[] cachedHashes() {
        long[] out = new long[cachedByHash.size()];
        int n = 0;
        for (KvBlock b : blocks) {
            if (b.cached && n < out.length) out[n++] = b.hash;
        }
        return n == out.length ? out : java.util.Arrays.copyOf(out, n);
    }

    public KvBlock block(int id) {
        return blocks[id];
    }

    /**
     * Takes {@code n} blocks from the head of the free list (evicting their cached content) and appends
     * them to {@code into} with reference count 1.
     *
     * @return false, changing nothing, when fewer than {@code n} blocks are free
     */
    public boolean allocate(int n, List<KvBlock> into) {
        if (n > numFree) return false;
        for (int i = 0; i < n; i++) into.add(allocate());
        return true;
    }

    /** Takes the block at the head of the free list (evicting its cached content), or null when none is free. */
    public KvBlock allocate() {
        if (numFree == 0) return null;
        KvBlock b = head.nextFree;
        unlinkFree(b);
        if (b.cached) uncache(b);
        b.refCount = 1;
        return b;
    }

    /** Adds a reference to a block found in the prefix cache, taking it off the free list if it was there. */
    public void touch(KvBlock b) {
        if (b.refCount == 0) unlinkFree(b);
        b.refCount++;
    }

    /** Drops one reference; an unreferenced block goes to the tail of the free list, content kept. */
    public void free(KvBlock b) {
        if (b.refCount <= 0) throw new IllegalStateException("double free of " + b);
        if (--b.refCount == 0) appendFree(b);
    }

    /** The cached block holding exactly {@code tokens[from .. from + count)} after {@code parentHash}, or null. */
    public KvBlock lookup(long hash, long parentHash, int[] tokens, int from, int count) {
        int id = cachedByHash.get(hash);
        if (id < 0) return null;
        KvBlock b = blocks[id];
        if (b.parentHash != parentHash) return null;
        return Arrays.equals(b.tokens, 0, b.tokens.length, tokens, from, from + count) ? b : null;
    }

    /**
     * Registers a full, computed block's content for reuse. Does nothing when another block already holds
     * that content (two sequences computed the same prefix at once): that one stays the shared copy.
     */
    public void cache(KvBlock b, long hash, long parentHash, int[] tokens, int from, int count) {
        if (b.cached || cachedByHash.putIfAbsent(hash, b.id) >= 0) return;
        b.cached = true;
        b.hash = hash;
        b.parentHash = parentHash;
        // A block is cached again and again over its life: keep its token array rather than allocate one each time.
        if (b.tokens == null || b.tokens.length != count) b.tokens = new int[count];
        System.arraycopy(tokens, from, b.tokens, 0, count);
    }

    private void uncache(KvBlock b) {
        cachedByHash.remove(b.hash, b.id);
        b.cached = false;
    }

    private void appendFree(KvBlock b) {
        KvBlock tail = head.prevFree;
        b.prevFree = tail;
        b.nextFree = head;
        tail.nextFree = b;
        head.prevFree = b;
        b.inFreeList = true;
        numFree++;
    }

    private void unlinkFree(KvBlock b) {
        if (!b.inFreeList) throw new IllegalStateException(b + " is not free");
        b.prevFree.nextFree = b.nextFree;
        b.nextFree.prevFree = b.prevFree;
        b.prevFree = null;
        b.nextFree = null;
        b.inFreeList = false;
        numFree--;
    }
}
