package org.autoglm.node.telemetry;

/**
 * The engine's load at one moment, as the metrics and the queue view show it.
 *
 * @param running         sequences in the running batch
 * @param waiting         requests waiting to be scheduled
 * @param kvCacheUsage    fraction of KV blocks in use, 0..1
 * @param prefixQueries   prompt tokens looked up in the prefix cache so far
 * @param prefixHits      of those, tokens found cached
 */
public record EngineLoad(int running, int waiting, double kvCacheUsage, long prefixQueries, long prefixHits) {

    public static final EngineLoad EMPTY = new EngineLoad(0, 0, 0, 0, 0);

    /** Where the figures come from: the local engine (or, on a cluster, this node's engine). */
    @FunctionalInterface
    public interface Source {
        EngineLoad load();
    }
}
