package org.autoglm.gossip.registry;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.cache.expiry.Duration;
import javax.cache.expiry.ModifiedExpiryPolicy;
import org.apache.ignite.IgniteCache;
import org.apache.ignite.cache.CacheAtomicityMode;
import org.apache.ignite.cache.query.ContinuousQuery;
import org.apache.ignite.cache.query.QueryCursor;
import org.apache.ignite.cache.query.ScanQuery;
import org.autoglm.gossip.grid.Daemons;
import org.autoglm.gossip.grid.GridCaches;
import org.autoglm.gossip.grid.GridConfig;
import org.autoglm.gossip.grid.GridNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who is in the cluster and how loaded each node is. Every node publishes its {@link NodeInfo} and
 * {@link NodeLoad} each heartbeat interval into a replicated cache whose entries expire when heartbeats stop;
 * each node judges health from when it last saw a heartbeat on its own monotonic clock (clocks of different
 * hosts are never compared) and from Ignite's node-failed events.
 */
public final class NodeRegistry implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(NodeRegistry.class);

    private final GridNode grid;
    private volatile NodeInfo self;
    private final Supplier<NodeLoad> load;
    private final GridConfig.Health times;
    private final IgniteCache<UUID, Heartbeat> nodes;
    private final IgniteCache<UUID, Boolean> draining;
    /** Monotonic time at which this node last saw each peer's heartbeat change. */
    private final Map<UUID, Long> lastSeenNanos = new ConcurrentHashMap<>();
    private final Map<UUID, Boolean> gone = new ConcurrentHashMap<>();
    private final ScheduledExecutorService heartbeats;
    private final QueryCursor<?> watch;
    private long sequence;

    /**
     * Joins the registry: publishes the first heartbeat at once and then one per interval.
     *
     * @param self the node's attributes; its node id is filled in from the grid
     * @param load sampled on every heartbeat; must be cheap and must not throw
     */
    public NodeRegistry(GridNode grid, NodeInfo self, Supplier<NodeLoad> load) {
        this.grid = grid;
        this.self = self.withNodeId(grid.localId(), grid.name());
        this.load = load;
        this.times = grid.config().health;
        GridCaches.createAll(grid, GridCaches.replicated(GridCaches.NODES, CacheAtomicityMode.ATOMIC),
                GridCaches.replicated(GridCaches.DRAINING, CacheAtomicityMode.ATOMIC));
        this.nodes = grid.ignite().cache(GridCaches.NODES);
        this.draining = grid.ignite().cache(GridCaches.DRAINING);
        ContinuousQuery<UUID, Heartbeat> query = new ContinuousQuery<>();
        query.setLocalListener(events -> events.forEach(e -> lastSeenNanos.put(e.getKey(), System.nanoTime())));
        this.watch = nodes.query(query);
        long now = System.nanoTime();
        for (var entry : nodes.query(new ScanQuery<UUID, Heartbeat>()).getAll()) {
            lastSeenNanos.putIfAbsent(entry.getKey(), now); // seen at start: benefit of the doubt
        }
        grid.onNodeGone(id -> {
            gone.put(id, true);
            log.info("node {} left the grid", id);
        });
        publish();
        this.heartbeats = Daemons.scheduler("autoglm-heartbeat-" + grid.name());
        long period = times.heartbeatInterval.toMillis();
        heartbeats.scheduleAtFixedRate(this::publishQuietly, period, period, TimeUnit.MILLISECONDS);
    }

    /** Replaces this node's attributes (model loaded, limits known) and publishes them at once. */
    public void update(NodeInfo info) {
        this.self = info.withNodeId(grid.localId(), grid.name());
        publishQuietly();
    }

    /** This node's attributes, with its grid node id. */
    public NodeInfo self() {
        return self;
    }

    private synchronized void publish() {
        NodeLoad now = load.get();
        Duration ttl = new Duration(TimeUnit.MILLISECONDS, times.deadAfter.toMillis());
        nodes.withExpiryPolicy(new ModifiedExpiryPolicy(ttl)).put(self.nodeId(), new Heartbeat(self, now, ++sequence));
    }

    private void publishQuietly() {
        try {
            publish();
        } catch (RuntimeException e) {
            if (grid.running() && !stopping(e)) {
                log.warn("heartbeat of {} not published: {}", self.name(), e.toString());
            } else {
                log.debug("heartbeat of {} not published, the grid node is stopping: {}", self.name(), e.toString());
            }
        }
    }

    /** True when {@code e} says the grid node is on its way down (closing, or stopped by its failure handler). */
    private static boolean stopping(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String name = t.getClass().getSimpleName();
            if (name.equals("NodeStoppingException") || name.equals("CacheStoppedException")
                    || name.equals("IgniteInterruptedException")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether the grid holds this node's entry with the model it serves: only then do the others see it, place work on
     * it and address commands to it. Not so before the first publish with the model, nor after its heartbeats stopped
     * long enough for the entry to expire.
     */
    public boolean registeredWithModel() {
        Heartbeat beat = nodes.get(self.nodeId());
        return beat != null && beat.info.model() != null;
    }

    /** Every node with a live registry entry, by name, with its health as seen from here. */
    public List<NodeView> nodes() {
        List<NodeView> views = new ArrayList<>();
        long now = System.nanoTime();
        for (var entry : nodes.query(new ScanQuery<UUID, Heartbeat>()).getAll()) {
            views.add(view(entry.getValue(), now));
        }
        views.sort(Comparator.comparing(NodeView::name));
        return views;
    }

    /**
     * One node by grid id or by {@code --node-name}; by name, a live entry before a dead one (a node that rejoined the
     * cluster has a new grid id, and its old entry lingers until it expires).
     */
    public Optional<NodeView> find(String idOrName) {
        return nodes().stream()
                .filter(v -> v.id().toString().equals(idOrName) || v.name().equals(idOrName))
                .min(Comparator.comparing(v -> v.health() == NodeHealth.DEAD));
    }

    private NodeView view(Heartbeat beat, long nowNanos) {
        UUID id = beat.info.nodeId();
        long seen = lastSeenNanos.getOrDefault(id, nowNanos);
        long ageMillis = TimeUnit.NANOSECONDS.toMillis(nowNanos - seen);
        NodeHealth health;
        if (id.equals(self.nodeId())) {
            health = beat.load.stalled(times.deadAfter.toMillis()) ? NodeHealth.STALLED : NodeHealth.HEALTHY;
            ageMillis = 0;
        } else if (gone.containsKey(id) || !grid.isAlive(id) || ageMillis >= times.deadAfter.toMillis()) {
            health = NodeHealth.DEAD;
        } else if (ageMillis >= times.suspectAfter.toMillis()) {
            health = NodeHealth.SUSPECT;
        } else if (beat.load.stalled(times.deadAfter.toMillis())) {
            health = NodeHealth.STALLED;
        } else {
            health = NodeHealth.HEALTHY;
        }
        return new NodeView(beat.info, beat.load, health, Boolean.TRUE.equals(draining.get(id)), ageMillis);
    }

    /** Marks a node as draining (it finishes its work and is given none) or takes it back. */
    public void setDraining(UUID nodeId, boolean drain) {
        if (drain) {
            draining.put(nodeId, true);
        } else {
            draining.remove(nodeId);
        }
        log.info("node {} {}", nodeId, drain ? "draining" : "taking work again");
    }

    /**
     * Calls {@code changed} with the new draining mark of {@code nodeId} (on a thread of its own, so it may write to the
     * grid) whenever it is set or cleared, by whichever node did it, in the order of the changes. The value comes from
     * the change itself: re-reading the cache there could see this node's replica before the change reached it, and a
     * drain quickly followed by an undrain then left the node draining for good. Close to stop.
     */
    public AutoCloseable watchDraining(UUID nodeId, java.util.function.Consumer<Boolean> changed) {
        ScheduledExecutorService calls = Daemons.scheduler("autoglm-drain-watch-" + grid.name());
        ContinuousQuery<UUID, Boolean> query = new ContinuousQuery<>();
        query.setLocalListener(events -> events.forEach(e -> {
            if (e.getKey().equals(nodeId)) {
                boolean value = e.getEventType() != javax.cache.event.EventType.REMOVED
                        && e.getEventType() != javax.cache.event.EventType.EXPIRED && Boolean.TRUE.equals(e.getValue());
                calls.execute(() -> changed.accept(value)); // a grid listener thread may not update caches itself
            }
        }));
        QueryCursor<?> cursor = draining.query(query);
        return () -> {
            cursor.close();
            calls.shutdownNow();
        };
    }

    public boolean isDraining(UUID nodeId) {
        return Boolean.TRUE.equals(draining.get(nodeId));
    }

    @Override
    public void close() {
        heartbeats.shutdownNow();
        watch.close();
        try {
            nodes.remove(self.nodeId());
        } catch (RuntimeException e) {
            log.debug("registry entry of {} not removed: {}", self.name(), e.toString());
        }
    }
}
