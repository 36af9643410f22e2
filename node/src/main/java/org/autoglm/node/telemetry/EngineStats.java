package org.autoglm.node.telemetry;

/**
 * The engine's load figures at one moment, as the metrics export them.
 *
 * @param running         sequences in the running batch
 * @param waiting         requests waiting to be scheduled
 * @param kvCacheUsage    fraction of KV blocks in use, 0..1
 * @param prefixQueries   prefix-cache lookups so far (blocks)
 * @param prefixHits      prefix-cache hits so far (blocks)
 */
public record EngineStats(int running, int waiting, double kvCacheUsage, long prefixQueries, long prefixHits) {

    public static final EngineStats EMPTY = new EngineStats(0, 0, 0, 0, 0);

    /** Where the figures come from: the local engine (or, on a cluster, this node's engine). */
    @FunctionalInterface
    public interface Source {
        EngineStats stats();
    }
}
