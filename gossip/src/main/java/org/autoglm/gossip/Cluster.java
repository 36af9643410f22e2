package org.autoglm.gossip;

import java.util.function.Consumer;
import java.util.function.Supplier;
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
    private final Worker worker;
    private final Dispatcher dispatcher;
    private final PlacementLoop placementLoop;
    private final LeaderLease lease;

    private Cluster(GridNode grid, NodeInfo self, Supplier<NodeLoad> load, RequestExecutor executor) {
        this.grid = grid;
        this.registry = new NodeRegistry(grid, self, load);
        this.queue = new RequestQueue(grid);
        this.sessions = new SessionCache(grid);
        this.worker = new Worker(grid, queue, executor);
        this.dispatcher = new Dispatcher(grid, queue);
        this.placementLoop = new PlacementLoop(grid, queue, registry, new Placement());
        this.lease = new LeaderLease(grid).addListener(placementLoop).start();
    }

    /**
     * Starts the grid node and joins the cluster.
     *
     * @param self     this node's attributes (its grid id is filled in)
     * @param load     sampled for every heartbeat
     * @param executor runs requests placed on this node
     */
    public static Cluster start(Consumer<GridConfig> configure, NodeInfo self, Supplier<NodeLoad> load,
                                RequestExecutor executor) {
        GridNode grid = GridNode.start(configure);
        try {
            return new Cluster(grid, self, load, executor);
        } catch (RuntimeException e) {
            grid.close();
            throw e;
        }
    }

    public GridNode grid() { return grid; }
    public NodeRegistry registry() { return registry; }
    public RequestQueue queue() { return queue; }
    public SessionCache sessions() { return sessions; }
    public Dispatcher dispatcher() { return dispatcher; }
    public LeaderLease lease() { return lease; }
    public Worker worker() { return worker; }

    @Override
    public void close() {
        lease.close();
        placementLoop.close();
        dispatcher.close();
        worker.close();
        registry.close();
        grid.close();
    }
}
