package org.autoglm.gossip.grid;

import org.apache.ignite.cache.CacheAtomicityMode;
import org.apache.ignite.cache.CacheMode;
import org.apache.ignite.cache.CacheWriteSynchronizationMode;
import org.apache.ignite.configuration.CacheConfiguration;

/** Names and shapes of the grid caches; every node creates them with the same configuration. */
public final class GridCaches {

    public static final String NODES = "autoglm-nodes";
    public static final String DRAINING = "autoglm-draining";
    public static final String LEASE = "autoglm-lease";
    public static final String REQUESTS = "autoglm-requests";
    public static final String SESSIONS = "autoglm-sessions";
    public static final String MEMBERS = "autoglm-members";

    private GridCaches() {}

    /** A small cache every node holds in full (registry, lease). */
    public static <K, V> CacheConfiguration<K, V> replicated(String name, CacheAtomicityMode atomicity) {
        return new CacheConfiguration<K, V>(name)
                .setCacheMode(CacheMode.REPLICATED)
                .setAtomicityMode(atomicity)
                .setWriteSynchronizationMode(CacheWriteSynchronizationMode.FULL_SYNC);
    }

    /** A cache spread over the nodes with one backup copy, read from its primary so that reads see the latest write. */
    public static <K, V> CacheConfiguration<K, V> partitioned(String name, CacheAtomicityMode atomicity) {
        return new CacheConfiguration<K, V>(name)
                .setCacheMode(CacheMode.PARTITIONED)
                .setBackups(1)
                .setAtomicityMode(atomicity)
                .setReadFromBackup(false)
                .setWriteSynchronizationMode(CacheWriteSynchronizationMode.FULL_SYNC);
    }
}
