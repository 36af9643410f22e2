package org.autoglm.node.console;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import java.util.TreeMap;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.lease.LeaseRecord;
import org.autoglm.gossip.queue.QueuedRequest;
import org.autoglm.gossip.queue.RequestState;
import org.autoglm.gossip.registry.NodeHealth;
import org.autoglm.gossip.registry.NodeView;
import org.autoglm.node.telemetry.LatencyWindow;

/**
 * One picture of the cluster for the console, composed from what the nodes already publish: each node's heartbeat
 * (health, drain, anomaly, load, KV use, tokens/s), the leader's lease, the grid queue's waiting requests by class,
 * and the latency samples on the {@link LatencyBoard}.
 */
final class MetricsSnapshot {

    private static final ObjectMapper JSON = new ObjectMapper();

    private MetricsSnapshot() {}

    static ObjectNode compose(Cluster cluster, LatencyBoard latencies) {
        ObjectNode out = JSON.createObjectNode();
        out.put("time", System.currentTimeMillis());
        LeaseRecord lease = cluster.lease().leader().orElse(null);
        if (lease == null) {
            out.putNull("leader");
        } else {
            out.putObject("leader").put("node", lease.holderName()).put("id", lease.holderId().toString())
                    .put("term", lease.term());
        }
        ArrayNode nodes = out.putArray("nodes");
        int running = 0;
        int waiting = 0;
        int healthy = 0;
        double tokensPerSecond = 0;
        for (NodeView v : cluster.registry().nodes()) {
            ObjectNode n = nodes.addObject();
            n.put("name", v.name()).put("id", v.id().toString()).put("health", v.health().wire())
                    .put("draining", v.draining()).put("anomalous", v.load().anomalous())
                    .put("leader", lease != null && lease.holderId().equals(v.id()))
                    .put("model", v.info().model());
            v.info().groups().forEach(n.putArray("groups")::add);
            n.put("running", v.load().running()).put("waiting", v.load().waiting())
                    .put("kv_usage", v.load().kvUsage()).put("tokens_per_second", v.load().tokensPerSecond())
                    .put("step_ms", v.load().p50StepMillis()).put("heartbeat_age_ms", v.heartbeatAgeMillis());
            running += v.load().running();
            waiting += v.load().waiting();
            tokensPerSecond += v.load().tokensPerSecond();
            if (v.health() == NodeHealth.HEALTHY) healthy++;
        }
        // Waiting for placement in the grid queue, by class; the engines' own waiting lists are per node above.
        Map<String, Integer> classes = new TreeMap<>(Map.of("interactive", 0, "batch", 0));
        for (QueuedRequest r : cluster.queue().inState(RequestState.PENDING)) {
            classes.merge(r.batch() ? "batch" : "interactive", 1, Integer::sum);
        }
        ObjectNode queue = out.putObject("queue");
        classes.forEach(queue::put);
        ObjectNode totals = out.putObject("cluster");
        totals.put("nodes", nodes.size()).put("healthy", healthy).put("running", running).put("waiting", waiting)
                .put("tokens_per_second", tokensPerSecond);
        double[][] pooled = latencies.pooled();
        percentiles(totals.putObject("ttft_ms"), pooled[0]);
        percentiles(totals.putObject("itl_ms"), pooled[1]);
        return out;
    }

    private static void percentiles(ObjectNode out, double[] samples) {
        out.put("samples", samples.length);
        for (double q : new double[] {0.5, 0.95, 0.99}) {
            String key = "p" + Math.round(q * 100);
            double v = LatencyWindow.quantile(samples, q);
            if (Double.isNaN(v)) out.putNull(key); else out.put(key, v);
        }
    }
}
