package org.autoglm.node.control;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.control.EventRing;
import org.autoglm.gossip.grid.Daemons;
import org.autoglm.gossip.lease.LeaseRecord;
import org.autoglm.gossip.registry.NodeHealth;
import org.autoglm.gossip.registry.NodeView;
import org.autoglm.node.api.ServingState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns changes of the cluster into events. Membership and health are reported by the leader only, each change once in
 * the cluster (the reported membership is kept in the grid, so a new leader goes on from it): node joined, left, and
 * each health change (suspect, stalled, dead, and whatever states the registry adds) as {@code node_<health>}, plus
 * draining. The leader announces itself once per term; each node reports its own engine drained.
 */
final class ClusterWatch implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ClusterWatch.class);
    private static final long PERIOD_MILLIS = 250;

    private final Cluster cluster;
    private final ServingState state;
    private final ControlEvents events;
    private final AnomalyDetector anomalies;
    private final ScheduledExecutorService ticker;
    /** Where the membership the leaders reported is kept: node name to "health/draining". */
    private static final String MEMBERSHIP = "membership";
    private long announcedTerm = -1;
    private boolean drained;
    private org.autoglm.node.engine.EngineStats observed;

    ClusterWatch(Cluster cluster, ServingState state, ControlEvents events, AnomalyDetector anomalies) {
        this.cluster = cluster;
        this.state = state;
        this.events = events;
        this.anomalies = anomalies;
        this.ticker = Daemons.scheduler("autoglm-cluster-watch-" + cluster.grid().name());
    }

    void start() {
        ticker.scheduleWithFixedDelay(this::tickQuietly, PERIOD_MILLIS, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
    }

    private void tickQuietly() {
        try {
            tick();
        } catch (RuntimeException e) {
            log.debug("cluster watch: {}", e.toString());
        }
    }

    private void tick() {
        String self = cluster.registry().self().name();
        boolean nowDrained = state.isDrained();
        if (nowDrained && !drained) {
            events.emit("node_drained", json().put("node", self));
        }
        drained = nowDrained;
        ServingState.Loaded loaded = state.current();
        if (loaded != null && loaded.engine().stats() != observed) { // a new engine (start, restart-engine, load-model)
            observed = loaded.engine().stats();
            observed.addObserver(anomalies);
        }
        anomalies.tick(events, self);

        if (!cluster.lease().isLeader()) {
            return;
        }
        long term = cluster.lease().leaderTerm();
        if (term != announcedTerm) {
            announcedTerm = term;
            LeaseRecord lease = cluster.lease().leader().orElse(null);
            events.emit("leader_elected", json().put("node", self).put("term", term)
                    .put("lease_expires_at_ms", lease == null ? 0 : lease.expiresAtMillis()));
        }
        reportMembership();
    }

    /**
     * The leader compares what it sees with the membership the leaders reported last (kept in the grid beside the
     * events) and reports the difference together with the new membership, in one transaction: a node that left while
     * it led (the old leader itself, say) is reported by its successor, and each change once in the cluster.
     */
    private void reportMembership() {
        Map<String, String> now = new TreeMap<>();
        Map<String, NodeView> views = new HashMap<>();
        for (NodeView v : cluster.registry().nodes()) {
            NodeView other = views.get(v.name());
            if (other != null && other.health() != NodeHealth.DEAD) {
                continue; // a node that rejoined has a new entry beside its old, dead one until that expires
            }
            now.put(v.name(), v.health().wire() + "/" + v.draining());
            views.put(v.name(), v);
        }
        String stored = events.reported(MEMBERSHIP);
        Map<String, String> before = decode(stored);
        List<EventRing.Pending> changes = new ArrayList<>();
        for (var e : now.entrySet()) {
            String was = before.get(e.getKey());
            String[] after = e.getValue().split("/");
            if (was == null) {
                changes.add(pending("node_joined", node(views.get(e.getKey()))));
                continue;
            }
            String[] old = was.split("/");
            if (!old[0].equals(after[0])) {
                changes.add(pending("node_" + after[0], node(views.get(e.getKey())).put("was", old[0])));
            }
            if (!old[1].equals(after[1])) {
                changes.add(pending(after[1].equals("true") ? "node_draining" : "node_undrained",
                        node(views.get(e.getKey()))));
            }
        }
        for (String gone : before.keySet()) {
            if (!now.containsKey(gone)) {
                changes.add(pending("node_left", json().put("node", gone)));
            }
        }
        String next = encode(now);
        if (!next.equals(stored)) {
            events.report(MEMBERSHIP, stored, next, changes); // false: another leader reported first; look again
        }
    }

    private static EventRing.Pending pending(String type, ObjectNode data) {
        return new EventRing.Pending(type, data.toString());
    }

    private static String encode(Map<String, String> membership) {
        return CommandRequest.JSON.valueToTree(membership).toString();
    }

    private static Map<String, String> decode(String stored) {
        if (stored == null) {
            return Map.of(); // a fresh cluster: every node the first leader sees has joined
        }
        try {
            return CommandRequest.JSON.readValue(stored, new com.fasterxml.jackson.core.type.TypeReference<
                    TreeMap<String, String>>() {});
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static ObjectNode node(NodeView v) {
        ObjectNode n = json().put("node", v.name()).put("id", v.id().toString()).put("health", v.health().wire());
        v.info().groups().forEach(n.putArray("groups")::add);
        return n;
    }

    private static ObjectNode json() {
        return CommandRequest.JSON.createObjectNode();
    }

    @Override
    public void close() {
        ticker.shutdownNow();
    }
}
