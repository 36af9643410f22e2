package org.autoglm.node.console;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.ignite.IgniteCache;
import org.apache.ignite.cache.CacheAtomicityMode;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.grid.GridCaches;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.node.telemetry.LatencyWindow;

/**
 * Each node's recent time-to-first-token and inter-token samples, published to a small replicated cache once a second
 * so that any node can give the console cluster-wide percentiles (percentiles do not add up; samples do). The value
 * is a JSON string: nothing for Ignite's marshaller to learn, and a node of another version reads it too.
 */
final class LatencyBoard {

    static final String CACHE = "autoglm-node-latency";
    /** The window the console plots: percentiles of the last 10 s. */
    static final long WINDOW_MILLIS = 10_000;
    /** Samples per kind a node publishes; a busy node sends a thinned, evenly spaced subset. */
    static final int MAX_SAMPLES = 256;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Cluster cluster;
    private GridNode grid;
    private IgniteCache<String, String> cache;

    LatencyBoard(Cluster cluster) {
        this.cluster = cluster;
    }

    /** Publishes this node's samples of the last window. */
    void publish(LatencyWindow window) {
        ObjectNode n = JSON.createObjectNode();
        n.put("at", System.currentTimeMillis());
        samples(n.putArray("ttft_ms"), window.recentFirstTokens(WINDOW_MILLIS));
        samples(n.putArray("itl_ms"), window.recentInterTokens(WINDOW_MILLIS));
        cache().put(cluster.grid().localId().toString(), n.toString());
    }

    /** Every live node's samples, pooled: {@code [ttft, itl]}. Entries older than two windows are left out. */
    double[][] pooled() {
        long oldest = System.currentTimeMillis() - 2 * WINDOW_MILLIS;
        List<Double> ttft = new ArrayList<>();
        List<Double> itl = new ArrayList<>();
        for (Map.Entry<String, String> e : cache().getAll(nodeIds()).entrySet()) {
            try {
                JsonNode n = JSON.readTree(e.getValue());
                if (n.path("at").asLong() < oldest) continue;
                n.path("ttft_ms").forEach(v -> ttft.add(v.asDouble()));
                n.path("itl_ms").forEach(v -> itl.add(v.asDouble()));
            } catch (java.io.IOException ex) {
                // a value we cannot read is one node's figures missing from the plot, nothing worse
            }
        }
        return new double[][] {ttft.stream().mapToDouble(Double::doubleValue).toArray(),
                itl.stream().mapToDouble(Double::doubleValue).toArray()};
    }

    private java.util.Set<String> nodeIds() {
        java.util.Set<String> ids = new java.util.HashSet<>();
        cluster.registry().nodes().forEach(v -> ids.add(v.id().toString()));
        return ids;
    }

    private static void samples(ArrayNode out, double[] samples) {
        double step = Math.max(1.0, samples.length / (double) MAX_SAMPLES);
        for (double i = 0; i < samples.length; i += step) {
            out.add(Math.round(samples[(int) i] * 100) / 100.0);
        }
    }

    /** The cache of the grid node we are in now (a node that rejoins after a split has a new one). */
    private synchronized IgniteCache<String, String> cache() {
        GridNode now = cluster.grid();
        if (now != grid) {
            cache = now.ignite().getOrCreateCache(GridCaches.<String, String>replicated(CACHE, CacheAtomicityMode.ATOMIC));
            grid = now;
        }
        return cache;
    }
}
