package org.autoglm.node.cluster;

import io.javalin.Javalin;
import io.javalin.security.RouteRole;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.registry.NodeInfo;
import org.autoglm.gossip.placement.PrefixSummary;
import org.autoglm.gossip.registry.NodeLoad;
import org.autoglm.node.api.ServingState;
import org.autoglm.node.batch.BatchRunner;
import org.autoglm.node.engine.EngineStats;
import org.autoglm.node.engine.InferenceService;
import org.autoglm.node.plugins.Plugins;
import org.autoglm.node.session.SessionStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What {@code serve} adds for the cluster: the grid membership (started before the HTTP server, so sessions live in
 * the grid from the first request), the grid session store, the {@code /cluster/*} routes, and, once the model is
 * loaded, the swap of the local engine for a {@link ClusterInferenceService} while the engine becomes this node's
 * executor. A node without {@code --peers} is a one-node grid and serves exactly as a stand-alone node.
 */
public final class ClusterNode implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ClusterNode.class);

    private final Cluster cluster;
    private final ClusterOptions options;
    private volatile InferenceService engine;
    private volatile EngineExecutor executor;
    private volatile AutoCloseable drainWatch;
    private volatile java.util.function.BooleanSupplier anomalous = () -> false;
    private volatile BatchRunner batches;
    private volatile Plugins batchPlugins = Plugins.none();
    /** Where batch progress goes (the cluster's event stream once the control plane is up). */
    private volatile java.util.function.BiConsumer<String, com.fasterxml.jackson.databind.node.ObjectNode> events =
            (type, data) -> { };
    /** When the engine last went from idle to holding work (heartbeat thread only); -1 while idle. */
    private long busySinceNanos = -1;

    private ClusterNode(Cluster cluster, ClusterOptions options) {
        this.cluster = cluster;
        this.options = options;
    }

    /**
     * Joins (or forms) the grid. Until {@link #attach} the node takes part in elections, sessions and accepting
     * requests, but is given no work.
     */
    public static ClusterNode start(ClusterOptions options) {
        ClusterNode[] self = new ClusterNode[1];
        NodeInfo loading = new NodeInfo(null, options.nodeName(), null, null, options.tags(), null, null, 0, 0, null,
                options.groups());
        Cluster cluster = Cluster.start(options.gridConfig(), loading, () -> self[0] == null ? NodeLoad.IDLE : self[0].load());
        self[0] = new ClusterNode(cluster, options);
        log.info("node '{}' joined the grid ({} node(s) visible, {} expected)", cluster.grid().name(),
                cluster.grid().serverNodeIds().size(), cluster.grid().config().expectedNodes);
        return self[0];
    }

    public Cluster cluster() {
        return cluster;
    }

    /** This node's own engine, which runs the work placed here; null until the model is loaded. */
    public InferenceService localEngine() {
        return engine;
    }

    public SessionStore sessionStore() {
        // Through suppliers: a node that rejoins after a segmentation has a new grid and session cache.
        return new GridSessionStore(cluster::sessions, java.time.Clock.systemUTC(), () -> cluster.grid().storageFullReason());
    }

    /** Installs {@code /cluster/*}: reads for {@code read} roles, drain for {@code operate}. */
    public void installRoutes(Javalin app, RouteRole read, RouteRole operate) {
        ClusterRoutes routes = new ClusterRoutes(cluster);
        app.get("/cluster/nodes", routes::nodes, read);
        app.get("/cluster/leader", routes::leader, read);
        app.get("/cluster/requests", routes::requests, read);
        app.get("/cluster/health", routes::health, read);
        app.post("/cluster/nodes/{id}/drain", ctx -> routes.drain(ctx, true), operate);
        app.post("/cluster/nodes/{id}/undrain", ctx -> routes.drain(ctx, false), operate);
        app.get("/cluster/members", routes::members, read);
        app.post("/cluster/members", routes::changeMembers); // no role given: admin only
    }

    /**
     * The model is loaded: this node starts running placed work on {@code loaded}'s engine, and the API gets the
     * cluster service in the engine's place.
     *
     * @param endpoint this node's HTTP base URL, for the registry
     */
    public ServingState.Loaded attach(ServingState.Loaded loaded, String modelHash, String backend, String device,
                                      int maxBatch, String endpoint) {
        this.engine = loaded.engine();
        int context = loaded.model().contextLength();
        NodeInfo info = new NodeInfo(null, options.nodeName(), loaded.model().name(), modelHash, options.tags(), backend,
                device, maxBatch, context, endpoint, options.groups());
        if (executor == null) {
            this.executor = new EngineExecutor(loaded.engine());
            cluster.serve(info, executor);
        } else { // a new engine on this node (restart-engine, load-model): placed work goes to it from now on
            executor.swap(loaded.engine());
            cluster.update(info);
        }
        int maxInFlight = loaded.engine().options().maxNumSeqs() + loaded.engine().options().maxWaiting();
        int prefixBlockSize = loaded.engine().options().prefixCaching() ? loaded.engine().options().blockSize() : 0;
        ClusterInferenceService service = new ClusterInferenceService(cluster, loaded.model().name(), context, maxInFlight,
                prefixBlockSize, loaded.engine());
        if (batches == null) {
            this.batches = new BatchRunner(cluster, loaded.model(), () -> engine, batchPlugins,
                    (type, data) -> events.accept(type, data));
        }
        return new ServingState.Loaded(loaded.model(), service, loaded.load());
    }
    /**
     * Makes the node's drain state one: a drain from {@code /admin/drain} here is published in the registry, and a
     * drain set from any node ({@code POST /cluster/nodes/{id}/drain}) reaches this node's engine and {@code /ready}.
     * A node that rejoins the cluster has a new grid id: its drain state is published and watched under that one.
     */
    public void bindDraining(ServingState state) {
        state.onDrainingChanged(value -> cluster.registry().setDraining(cluster.grid().localId(), value));
        drainWatch = cluster.registry().watchDraining(cluster.grid().localId(), state::followCluster);
        cluster.onRejoin(() -> {
            closeDrainWatch();
            if (state.isDraining()) {
                cluster.registry().setDraining(cluster.grid().localId(), true);
            }
            drainWatch = cluster.registry().watchDraining(cluster.grid().localId(), state::followCluster);
        });
    }

    private void closeDrainWatch() {
        AutoCloseable watch = drainWatch;
        if (watch != null) {
            try {
                watch.close();
            } catch (Exception e) {
                log.debug("drain watch not closed: {}", e.toString());
            }
        }
    }

    /** The plugins batch lines pass through, as requests to the HTTP API do (set before the model loads). */
    public void batchPlugins(Plugins plugins) {
        this.batchPlugins = plugins;
    }

    /** Where this node reports the progress of the batches it runs ({@code /cluster/events}). */
    public void reportEvents(java.util.function.BiConsumer<String, com.fasterxml.jackson.databind.node.ObjectNode> sink) {
        this.events = sink;
    }

    /** Where the heartbeat reads whether this node is anomalous (its anomaly detector). */
    public void reportAnomalies(java.util.function.BooleanSupplier detector) {
        this.anomalous = detector;
    }

    /**
     * Null while this node's grid node runs; else why it is down (the grid segmented it, or it failed: a full data
     * region, a critical grid failure). The process restarts its grid node by itself and rejoins the cluster (unless
     * rejoining is off), so the text says so and when a restart of the process is still the answer. {@code /health}
     * fails with it meanwhile.
     */
    public String deadReason() {
        org.autoglm.gossip.grid.GridNode grid = cluster.grid();
        if (grid.running() && !grid.failing()) {
            return null;
        }
        return grid.config().rejoin
                ? "this node's grid node has stopped (the cluster dropped it, or it failed) and the node is rejoining the"
                        + " cluster on a fresh grid node by itself, which takes seconds; if this lasts, check that its"
                        + " peers (--peers) are reachable and read its log"
                : "this node's grid node has stopped and this node does not rejoin by itself; restart the process";
    }

    /**
     * Why this node cannot take work for the cluster now (for {@code /ready}), or null when it can: its grid node runs,
     * it sees a majority, and the grid holds its registry entry with its model (so a command to all nodes posted the
     * moment it is ready finds it).
     */
    public String notReadyReason() {
        String dead = deadReason();
        if (dead != null) {
            return dead; // asking a stopped grid about its topology would throw
        }
        if (!cluster.grid().hasQuorum()) {
            return "this node sees " + cluster.grid().serverNodeIds().size() + " of " + cluster.grid().config().expectedNodes
                    + " expected cluster nodes, no majority, so it takes no work until it reaches the others"
                    + " (check --peers and the network; GET /cluster/nodes lists what it sees)";
        }
        if (engine != null && !cluster.registry().registeredWithModel()) {
            return "this node's registry entry with its model is not in the grid yet (its next heartbeat publishes it),"
                    + " so the cluster does not see it";
        }
        return null;
    }

    /** A short hash of the checkpoint's config.json, so the registry shows which nodes serve the same model. */
    public static String configHash(java.nio.file.Path modelDir) {
        try {
            byte[] digest = java.security.MessageDigest.getInstance("SHA-256")
                    .digest(java.nio.file.Files.readAllBytes(modelDir.resolve("config.json")));
            return java.util.HexFormat.of().formatHex(digest, 0, 6);
        } catch (java.io.IOException | java.security.NoSuchAlgorithmException e) {
            return "unknown";
        }
    }

    /** This node's load for the heartbeat, from its engine's figures. */
    private NodeLoad load() {
        EngineExecutor running = executor;
        InferenceService local = engine;
        if (local == null || running == null) {
            return NodeLoad.IDLE;
        }
        EngineStats stats = local.stats();
        long[] cached = stats.cachedBlockHashes();
        long now = System.nanoTime();
        boolean busy = stats.waiting() + stats.running() > 0;
        if (!busy) {
            busySinceNanos = -1;
        } else if (busySinceNanos < 0) {
            busySinceNanos = now; // work just arrived: an idle engine's last step is no measure of a stall
        }
        long stepAge = busy ? Math.min(stats.nanosSinceLastStep(), now - busySinceNanos) / 1_000_000 : 0;
        return new NodeLoad(stats.waiting(), stats.running(), stats.kvUsage(), stats.tokensPerSecond(),
                stats.p50StepMillis(), running.queuedTokens(), local.options().maxWaiting() - stats.waiting(), stepAge,
                PrefixSummary.of(cached, cached.length), anomalous.getAsBoolean());
    }

    @Override
    public void close() {
        closeDrainWatch();
        BatchRunner running = batches;
        if (running != null) {
            running.close();
        }
        cluster.close();
    }
}
