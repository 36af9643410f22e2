package org.autoglm.gossip;

import java.util.function.Consumer;
import java.util.function.Supplier;
import org.autoglm.gossip.batch.BatchStore;
import org.autoglm.gossip.batch.FileStore;
import org.autoglm.gossip.dispatch.Dispatcher;
import org.autoglm.gossip.dispatch.PlacementLoop;
import org.autoglm.gossip.dispatch.RequestExecutor;
import org.autoglm.gossip.dispatch.Worker;
import org.autoglm.gossip.grid.GridConfig;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.gossip.lease.LeaderLease;
import org.autoglm.gossip.placement.Placement;
import org.autoglm.gossip.queue.RequestQueue;
import org.autoglm.gossip.registry.NodeInfo;
import org.autoglm.gossip.registry.NodeLoad;
import org.autoglm.gossip.registry.NodeRegistry;
import org.autoglm.gossip.session.SessionCache;
import org.slf4j.LoggerFactory;

/**
 * This process's membership in the cluster, assembled in dependency order: grid node, registry, queue and
 * sessions, the worker that runs what is placed here, the dispatcher for requests received here, and the leader
 * lease driving the placement loop. Closed in the reverse order, releasing the lease first so a peer takes over
 * at once.
 */
public final class Cluster implements AutoCloseable {

    private final GridNode grid;
    private final NodeRegistry registry;
    private final RequestQueue queue;
    private final SessionCache sessions;
    private FileStore files;
    private BatchStore batches;
    private volatile Worker worker;
    private final Dispatcher dispatcher;
    private final PlacementLoop placementLoop;
    private final LeaderLease lease;

    private Cluster(GridNode grid, NodeInfo self, Supplier<NodeLoad> load) {
        this.grid = grid;
        this.registry = new NodeRegistry(grid, self, load);
        this.queue = new RequestQueue(grid);
        this.sessions = new SessionCache(grid);
        this.dispatcher = new Dispatcher(grid, queue);
        this.placementLoop = new PlacementLoop(grid, queue, registry,
                new Placement(Placement.Options.DEFAULT, grid.config().cacheAwarePlacement));
        this.lease = new LeaderLease(grid).addListener(placementLoop).start();
    }

    /**
     * Starts the grid node and joins the cluster. The node takes part in the registry, the queue, sessions and
     * elections at once, and runs requests once {@link #serve} gives it an executor.
     *
     * @param self this node's attributes (its grid id is filled in); a null model means "nothing to serve yet"
     * @param load sampled for every heartbeat
     */
    public static Cluster start(Consumer<GridConfig> configure, NodeInfo self, Supplier<NodeLoad> load) {
        GridNode grid = GridNode.start(configure);
        try {
            return new Cluster(grid, self, load);
        } catch (RuntimeException e) {
            grid.close();
            throw e;
        }
    }

    /** Starts a grid member that runs requests on {@code executor} right away (tests, tools). */
    public static Cluster start(Consumer<GridConfig> configure, NodeInfo self, Supplier<NodeLoad> load,
                                RequestExecutor executor) {
        Cluster cluster = start(configure, self, load);
        cluster.serve(self, executor);
        return cluster;
    }

    /**
     * This node can run requests now (its model is loaded): publishes {@code self} (model, limits) and starts
     * taking the work the leader places here.
     */
    public synchronized void serve(NodeInfo self, RequestExecutor executor) {
        if (worker != null) {
            throw new IllegalStateException("this node already serves");
        }
        worker = new Worker(grid, queue, executor);
        registry.update(self);
    }

    public GridNode grid() { return grid; }
    public NodeRegistry registry() { return registry; }
    public RequestQueue queue() { return queue; }
    public SessionCache sessions() { return sessions; }
    /** Files in the grid; their caches are made on first use (a grid that never sees a batch never has them). */
    public synchronized FileStore files() {
        if (files == null) {
            files = new FileStore(grid);
        }
        return files;
    }

    /** Batches in the grid; made on first use, like {@link #files()}. */
    public synchronized BatchStore batches() {
        if (batches == null) {
            batches = new BatchStore(grid);
        }
        return batches;
    }
    public Dispatcher dispatcher() { return dispatcher; }
    public LeaderLease lease() { return lease; }
    /** The worker running requests placed here, or null before {@link #serve}. */
    public Worker worker() { return worker; }

    @Override
    public void close() {
        // Every step runs even if one fails (the grid may already be stopping under us).
        quietly(lease::close);
        quietly(placementLoop::close);
        quietly(dispatcher::close);
        Worker running = worker;
        if (running != null) {
            quietly(running::close);
        }
        quietly(registry::close);
        grid.close();
    }

    private static void quietly(Runnable step) {
        try {
            step.run();
        } catch (RuntimeException e) {
            LoggerFactory.getLogger(Cluster.class).debug("cluster shutdown step failed: {}", e.toString());
        }
    }
}
