package org.autoglm.gossip.grid;

import org.apache.ignite.cache.CacheAtomicityMode;
import org.apache.ignite.cache.CacheMode;
import org.apache.ignite.cache.CacheWriteSynchronizationMode;
import org.apache.ignite.cache.affinity.rendezvous.RendezvousAffinityFunction;
import org.apache.ignite.configuration.CacheConfiguration;

/** Names and shapes of the grid caches; every node creates them with the same configuration. */
public final class GridCaches {

    public static final String NODES = "autoglm-nodes";
    public static final String DRAINING = "autoglm-draining";
    public static final String LEASE = "autoglm-lease";
    public static final String REQUESTS = "autoglm-requests";
    public static final String SESSIONS = "autoglm-sessions";
    public static final String FILES = "autoglm-files";
    public static final String FILE_CHUNKS = "autoglm-file-chunks";
    public static final String BATCHES = "autoglm-batches";
    public static final String BATCH_LINES = "autoglm-batch-lines";
    public static final String BATCH_CHUNKS = "autoglm-batch-chunks";
    public static final String WORKFLOWS = "autoglm-workflows";
    public static final String WORKFLOW_RUNS = "autoglm-workflow-runs";
    public static final String RATE_LIMITS = "autoglm-rate-limits";
    /** The data region of caches that must outlive a full restart; persisted only with {@code --data-dir}. */
    public static final String DURABLE_REGION = "autoglm-durable";
    public static final String MEMBERS = "autoglm-members";

    private GridCaches() {}

    /**
     * Creates the caches that do not exist yet in one go: each cache a node creates alone runs a partition map exchange
     * over the whole cluster, and a cluster's first start paid one per cache (several seconds, three nodes at once).
     * Read them afterwards with {@code ignite.cache(name)}.
     */
    public static void createAll(GridNode grid, CacheConfiguration<?, ?>... configs) {
        grid.ignite().getOrCreateCaches(java.util.List.of(configs));
    }

    /*
     * Partition counts, not Ignite's defaults (512 for a replicated cache, 1,024 for a partitioned one): every node
     * start, join and death runs a partition map exchange over every partition of every cache, and with ~25 caches the
     * defaults made that the largest share of a node's start-up CPU and of the pause after a failure. Our caches hold
     * small records for a fleet of tens of nodes: a few partitions per node is plenty to spread them.
     */
    private static final int SMALL_CACHE_PARTITIONS = 16;
    private static final int SPREAD_CACHE_PARTITIONS = 128;
    private static final int DURABLE_CACHE_PARTITIONS = 64;

    /** A small cache every node holds in full (registry, lease). */
    public static <K, V> CacheConfiguration<K, V> replicated(String name, CacheAtomicityMode atomicity) {
        return new CacheConfiguration<K, V>(name)
                .setCacheMode(CacheMode.REPLICATED)
                .setAffinity(new RendezvousAffinityFunction(false, SMALL_CACHE_PARTITIONS))
                .setAtomicityMode(atomicity)
                .setWriteSynchronizationMode(CacheWriteSynchronizationMode.FULL_SYNC);
    }

    /** A cache spread over the nodes with one backup copy, read from its primary so that reads see the latest write. */
    public static <K, V> CacheConfiguration<K, V> partitioned(String name, CacheAtomicityMode atomicity) {
        return new CacheConfiguration<K, V>(name)
                .setCacheMode(CacheMode.PARTITIONED)
                .setBackups(1)
                .setAffinity(new RendezvousAffinityFunction(false, SPREAD_CACHE_PARTITIONS))
                .setAtomicityMode(atomicity)
                .setReadFromBackup(false)
                .setWriteSynchronizationMode(CacheWriteSynchronizationMode.FULL_SYNC);
    }

    /**
     * A partitioned cache with a backup that also lives on disk when the grid has a data directory (files, batches):
     * it survives the death of any one node and, with {@code --data-dir}, a restart of the whole cluster.
     */
    public static <K, V> CacheConfiguration<K, V> durable(GridNode grid, String name, CacheAtomicityMode atomicity) {
        // Fewer partitions than the spread caches: they move (and, with a data directory, their files are rewritten)
        // whenever nodes come and go.
        CacheConfiguration<K, V> config = GridCaches.<K, V>partitioned(name, atomicity)
                .setAffinity(new RendezvousAffinityFunction(false, DURABLE_CACHE_PARTITIONS));
        return grid.config().dataDirectory == null ? config : config.setDataRegionName(DURABLE_REGION);
    }
}
