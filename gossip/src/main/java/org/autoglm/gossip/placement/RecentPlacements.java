package org.autoglm.gossip.placement;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * The prompt prefixes the leader placed lately, per node, as SGLang's cache-aware router keeps an approximate tree of
 * what it sent where. A node's published prefix summary lags its cache by up to a heartbeat plus the time a request
 * waits to be prefilled (seconds on a loaded node). Without this memory every request for a prompt that arrived in
 * that window was placed as if no node held the prompt: it was prefilled on two or three nodes, and their caches,
 * holding copies of each other's prompts, evicted what placement sent them. A block placed on a node counts as held
 * there for {@code ttl} after its last placement; the node's summary is the truth besides.
 * Used by the leader's placement thread; synchronized for tests and any other caller.
 */
public final class RecentPlacements {

    /** Long enough to cover a loaded node's wait to prefill; a prompt used again within it stays on its node. */
    public static final long DEFAULT_TTL_MILLIS = 30_000;
    /** Blocks remembered per node (a prompt of 1,000 tokens in blocks of 16 is 63): the oldest go first. */
    static final int MAX_BLOCKS_PER_NODE = 16_384;

    private final long ttlMillis;
    private final Map<UUID, LinkedHashMap<Long, Long>> placedAt = new HashMap<>();

    public RecentPlacements(long ttlMillis) {
        this.ttlMillis = ttlMillis;
    }

    public RecentPlacements() {
        this(DEFAULT_TTL_MILLIS);
    }

    /** {@code chain} (a prompt's chained block hashes) was placed on {@code node} at {@code nowMillis}. */
    public synchronized void placed(UUID node, long[] chain, long nowMillis) {
        if (chain == null || chain.length == 0) {
            return;
        }
        LinkedHashMap<Long, Long> blocks = placedAt.computeIfAbsent(node, n -> new LinkedHashMap<>() {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, Long> eldest) {
                return size() > MAX_BLOCKS_PER_NODE;
            }
        });
        for (long hash : chain) {
            blocks.remove(hash); // re-inserted last: the oldest placement is evicted first
            blocks.put(hash, nowMillis);
        }
    }

    /** Whether {@code hash} was placed on {@code node} within the last {@code ttl}. */
    public synchronized boolean holds(UUID node, long hash, long nowMillis) {
        LinkedHashMap<Long, Long> blocks = placedAt.get(node);
        Long at = blocks == null ? null : blocks.get(hash);
        return at != null && nowMillis - at <= ttlMillis;
    }

    /** Forgets everything: a new leader starts from the nodes' summaries. */
    public synchronized void clear() {
        placedAt.clear();
    }
}
