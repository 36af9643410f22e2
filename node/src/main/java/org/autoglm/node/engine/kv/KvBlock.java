package org.autoglm.node.engine.kv;

/**
 * One block of {@code blockSize} token slots in the paged KV cache. The backend owns the memory behind
 * the block id; this object carries the bookkeeping: how many sequences use it, whether its content is
 * registered in the prefix cache, and its place in the pool's free list.
 */
public final class KvBlock {

    /** Index into the backend's KV pool, in [0, numBlocks). */
    public final int id;

    /** Sequences whose block tables hold this block; 0 means free (and evictable if cached). */
    int refCount;

    /** Whether {@link #hash} is registered in the pool's prefix table. */
    boolean cached;
    /** Chained content hash of the prefix ending with this block (valid when {@link #cached}). */
    long hash;
    /** Hash of the prefix before this block, kept with the tokens to rule out hash collisions. */
    long parentHash;
    /** The block's token ids (valid when {@link #cached}; the array is kept for reuse when it is not). */
    int[] tokens;

    // Intrusive doubly-linked free list: O(1) removal when a cached free block is reused.
    KvBlock prevFree;
    KvBlock nextFree;
    boolean inFreeList;

    KvBlock(int id) {
        this.id = id;
    }

    public int refCount() {
        return refCount;
    }

    public boolean isCached() {
        return cached;
    }

    @Override
    public String toString() {
        return "KvBlock[" + id + " ref=" + refCount + (cached ? " cached" : "") + "]";
    }
}
