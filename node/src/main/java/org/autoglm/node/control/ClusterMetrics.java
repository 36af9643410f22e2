package org.autoglm.node.control;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.Meter;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.queue.QueuedRequest;
import org.autoglm.gossip.queue.RequestState;
import org.autoglm.gossip.registry.NodeHealth;
import org.autoglm.gossip.registry.NodeView;

/**
 * The cluster's series on {@code /metrics}: {@code autoglm:cluster_nodes{health}}, {@code autoglm:leader_term},
 * {@code autoglm:cluster_queue_depth{class}}, {@code autoglm:failovers_total} (requests this node moved off a
 * failed node), {@code autoglm:grid_transactions_total{result}} (grid transactions this node started) and
 * {@code autoglm:command_acks_total{result}} (acks this node wrote). Read at scrape time.
 */
final class ClusterMetrics {

    private static final AttributeKey<String> HEALTH = AttributeKey.stringKey("health");
    private static final AttributeKey<String> CLASS = AttributeKey.stringKey("class");
    private static final AttributeKey<String> RESULT = AttributeKey.stringKey("result");
    /** The queue's two classes: interactive requests are placed before batch lines. */
    static final String INTERACTIVE = "interactive";
    static final String BATCH = "batch";

    private ClusterMetrics() {}

    static void register(Meter meter, Cluster cluster, AtomicLong failovers, Map<String, AtomicLong> acks) {
        meter.gaugeBuilder("autoglm.cluster_nodes").ofLongs().setUnit("1")
                .setDescription("Nodes in the registry by health, as this node sees them.")
                .buildWithCallback(m -> {
                    Map<NodeHealth, Long> counts = new EnumMap<>(NodeHealth.class);
                    for (NodeHealth h : NodeHealth.values()) counts.put(h, 0L);
                    for (NodeView v : cluster.registry().nodes()) counts.merge(v.health(), 1L, Long::sum);
                    counts.forEach((h, n) -> m.record(n, Attributes.of(HEALTH, h.wire())));
                });
        meter.gaugeBuilder("autoglm.leader_term").ofLongs().setUnit("1")
                .setDescription("Term of the current leader lease (0: no leader).")
                .buildWithCallback(m -> m.record(cluster.lease().leader().map(l -> l.term()).orElse(0L)));
        meter.gaugeBuilder("autoglm.cluster_queue_depth").ofLongs().setUnit("1")
                .setDescription("Requests in the cluster queue waiting to be placed, by class.")
                .buildWithCallback(m -> {
                    long batch = 0;
                    long interactive = 0;
                    for (QueuedRequest r : cluster.queue().inState(RequestState.PENDING)) {
                        if (r.batch()) batch++;
                        else interactive++;
                    }
                    m.record(interactive, Attributes.of(CLASS, INTERACTIVE));
                    m.record(batch, Attributes.of(CLASS, BATCH));
                });
        meter.counterBuilder("autoglm.failovers").setUnit("1")
                .setDescription("Requests this node moved off a node that died or could not run them.")
                .buildWithCallback(m -> m.record(failovers.get()));
        meter.counterBuilder("autoglm.grid_transactions").setUnit("1")
                .setDescription("Grid transactions this node started, by result (committed, rolled_back).")
                .buildWithCallback(m -> {
                    var tx = cluster.grid().ignite().transactions().metrics();
                    m.record(tx.txCommits(), Attributes.of(RESULT, "committed"));
                    m.record(tx.txRollbacks(), Attributes.of(RESULT, "rolled_back"));
                });
        meter.counterBuilder("autoglm.command_acks").setUnit("1")
                .setDescription("Command acknowledgements this node wrote, by result (acked, done, failed).")
                .buildWithCallback(m -> acks.forEach((r, n) -> m.record(n.get(), Attributes.of(RESULT, r))));
    }
}
