package org.autoglm.gossip.grid;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.apache.ignite.Ignite;
import org.apache.ignite.IgniteException;
import org.apache.ignite.Ignition;
import org.apache.ignite.cluster.ClusterNode;
import org.apache.ignite.configuration.DataRegionConfiguration;
import org.apache.ignite.configuration.DataStorageConfiguration;
import org.apache.ignite.configuration.IgniteConfiguration;
import org.apache.ignite.events.DiscoveryEvent;
import org.apache.ignite.events.EventType;
import org.apache.ignite.failure.StopNodeFailureHandler;
import org.apache.ignite.failure.StopNodeOrHaltFailureHandler;
import org.apache.ignite.spi.communication.tcp.TcpCommunicationSpi;
import org.apache.ignite.spi.discovery.tcp.TcpDiscoverySpi;
import org.apache.ignite.spi.discovery.tcp.ipfinder.vm.TcpDiscoveryVmIpFinder;
import org.apache.ignite.ssl.SslContextFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded Ignite server node of this process: started from a {@link GridConfig}, quiet, on a static
 * address list, and closed with the process. Everything else in {@code gossip} is built on top of it.
 */
public final class GridNode implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(GridNode.class);
    /** Node attribute carrying {@code --node-name}, so every node can name its peers. */
    public static final String NAME_ATTRIBUTE = "autoglm.node-name";

    static {
        quietIgnite();
    }

    private final GridConfig config;
    private final Ignite ignite;
    /** The temporary work directory this node made (deleted at close), or null when the config named one. */
    private java.nio.file.Path tempWorkDirectory;
    private final List<Consumer<UUID>> goneListeners = new CopyOnWriteArrayList<>();
    private volatile Set<String> voters = Set.of();
    private volatile int seats;
    private volatile Set<String> removed = Set.of();
    /** Names of the nodes that left or failed lately, so that what they leave behind can still be named. */
    private final Map<UUID, String> departed = java.util.Collections.synchronizedMap(
            new java.util.LinkedHashMap<>(16, 0.75f, false) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<UUID, String> eldest) {
                    return size() > 256;
                }
            });

    /** The grid nodes of this process by Ignite instance name, for the caches' {@link MajorityValidator}. */
    private static final Map<String, GridNode> RUNNING = new java.util.concurrent.ConcurrentHashMap<>();

    /** The grid node of this process whose Ignite instance is {@code instanceName}, or null. */
    static GridNode running(String instanceName) {
        return instanceName == null ? null : RUNNING.get(instanceName);
    }

    private GridNode(GridConfig config, Ignite ignite) {
        this.config = config;
        this.ignite = ignite;
        RUNNING.put(ignite.name(), this);
        ignite.events().localListen(event -> {
            ClusterNode node = ((DiscoveryEvent) event).eventNode();
            UUID gone = node.id();
            String name = node.attribute(NAME_ATTRIBUTE);
            if (name != null) {
                departed.put(gone, name);
            }
            for (Consumer<UUID> listener : goneListeners) {
                try {
                    listener.accept(gone);
                } catch (RuntimeException e) {
                    log.warn("node-gone listener failed for {}", gone, e);
                }
            }
            return true;
        }, EventType.EVT_NODE_FAILED, EventType.EVT_NODE_LEFT);
    }

    /**
     * Starts this process's grid node and joins the peers (or forms a one-node grid).
     *
     * @throws IllegalArgumentException for a bad configuration, with the option named
     * @throws IllegalStateException    when the node cannot start (port taken, TLS files unusable, ...)
     */
    public static GridNode start(Consumer<GridConfig> configure) {
        return start(configure, grid -> grid);
    }

    /**
     * Starts this process's grid node, as above, and builds {@code onTop} of it; when the grid turns either step away
     * for a passing reason ({@link #refusedForNow}), a failed build closes its grid node and both are tried again on a
     * fresh one.
     */
    public static <T> T start(Consumer<GridConfig> configure, java.util.function.Function<GridNode, T> onTop) {
        GridConfig config = new GridConfig();
        configure.accept(config);
        config.validate();
        int asked = config.gridPort;
        choosePort(config);
        if (config.nodeName == null) {
            config.nodeName = "node-" + config.gridPort; // named after the port it has, not the one it asked for
        }
        if (config.gridPort != asked) {
            log.info("grid port {} is taken; this lone node uses {} ({}). Give --grid-port to choose.", asked,
                    config.gridPort, config.nodeName);
        }
        return retriedWhileRefusedForNow(config.nodeName, () -> {
            GridNode grid = startIgnite(config);
            try {
                return onTop.apply(grid);
            } catch (RuntimeException e) {
                grid.close();
                throw e;
            }
        });
    }

    /** How often a start the cluster turned away for a passing reason is tried. */
    static final int START_TRIES = 5;

    /**
     * {@code start}, tried again while the cluster turns the grid node away for a reason that passes (see
     * {@link #refusedForNow}). {@code start} must leave nothing running when it throws. Any other failure ends the start
     * at once.
     */
    static <T> T retriedWhileRefusedForNow(String name, java.util.function.Supplier<T> start) {
        for (int attempt = 1; ; attempt++) {
            try {
                return start.get();
            } catch (RuntimeException e) {
                if (attempt >= START_TRIES || !refusedForNow(e)) {
                    throw e;
                }
                log.warn("the cluster turned grid node '{}' away for now (try {} of {}); starting it again: {}", name,
                        attempt, START_TRIES, rootMessage(e));
                try {
                    Thread.sleep(1_000L * attempt);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    /**
     * True for a failure that a fresh grid node does not meet again:
     * <ul>
     * <li>a starved joiner whose join request timed out asks again with the same node id, which the ring already
     * counted, and is refused as a duplicate; a fresh start has a new id (the long fault run's seed 67: a restarted
     * serve process exited on it and never came back; test clusters formed without a member at load 60);</li>
     * <li>a node that formed a grid of its own a moment before its peers joined it, two at once, had the first cache
     * operation of its start ask for the affinity of a topology version Ignite had already dropped from its history
     * (stop 32's verify: a batch test node exited with "Getting affinity for too old topology version that is already
     * out of history"); the same operation on a fresh grid node sees the current topology.</li>
     * </ul>
     */
    static boolean refusedForNow(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String message = t.getMessage();
            if (message != null && (message.contains("Node with the same ID was found in node IDs history")
                    || message.contains("Getting affinity for too old topology version"))) {
                return true;
            }
        }
        return false;
    }

    private static GridNode startIgnite(GridConfig config) {
        IgniteConfiguration cfg = igniteConfiguration(config);
        boolean temporary = config.workDirectory == null && config.dataDirectory == null;
        Ignite ignite = null;
        try {
            ignite = Ignition.start(cfg);
            activate(ignite, config);
            GridNode node = new GridNode(config, ignite);
            if (temporary) {
                node.tempWorkDirectory = java.nio.file.Path.of(cfg.getWorkDirectory());
            }
            log.info("grid node '{}' up on {}:{}, {} server node(s) in the topology",
                    config.nodeName, config.host, config.gridPort, node.serverNodeIds().size());
            if (config.tls.enabled() && !config.peers.isEmpty() && node.serverNodeIds().size() == 1) {
                TlsRefusalProbe.run(config, LoggingTrustManager.of(config.tls.truststore, config.tls.truststorePassword,
                        storeType(config.tls.truststore)));
            }
            return node;
        } catch (IgniteException e) {
            if (ignite == null && temporary) {
                TempWorkDirectory.delete(java.nio.file.Path.of(cfg.getWorkDirectory())); // a retry makes its own
            }
            throw new IllegalStateException("grid node '" + config.nodeName + "' could not start on "
                    + config.host + ":" + config.gridPort + ": " + rootMessage(e)
                    + " (is the port free? are the --grid-tls-* files right?)", e);
        }
    }

    /**
     * A grid node the cluster segmented (paused or cut off too long) is only stopped, however long the stop takes, so
     * that the process can start a fresh grid node and rejoin ({@code Cluster}); any other critical failure halts the
     * process after 10 s of trying to stop, so that its supervisor restarts it.
     */
    private static final class SegmentationStopsOnly extends StopNodeOrHaltFailureHandler {
        private final boolean rejoin;
        private final StopNodeFailureHandler stopOnly = new StopNodeFailureHandler();

        SegmentationStopsOnly(boolean rejoin) {
            super(true, 10_000);
            this.rejoin = rejoin;
        }

        @Override
        protected boolean handle(Ignite ignite, org.apache.ignite.failure.FailureContext failure) {
            markFailing(ignite);
            if (rejoin && failure.type() == org.apache.ignite.failure.FailureType.SEGMENTATION) {
                log.warn("grid node '{}' was segmented from the cluster: stopping it to rejoin", ignite.name());
                return stopOnly.onFailure(ignite, failure);
            }
            return super.handle(ignite, failure);
        }
    }
    /** The failure handler of nodes that never halt the process (tests, tools): stops the grid node, marked failing. */
    private static final class StopsMarked extends StopNodeFailureHandler {
        @Override
        public boolean handle(Ignite ignite, org.apache.ignite.failure.FailureContext failure) {
            markFailing(ignite); // only failures not ignored get here (a blocked worker does not)
            return super.handle(ignite, failure);
        }
    }

    /** The failure handler is stopping {@code ignite}: from now on its caches may fail in any way (an NPE inside Ignite). */
    private static void markFailing(Ignite ignite) {
        GridNode node = RUNNING.get(ignite.name());
        if (node != null && !node.failed) {
            node.failedAtNanos = System.nanoTime();
            node.failed = true;
        }
    }

    /** The one data region: queue, sessions, registry, leader record. */
    static final String DATA_REGION = "autoglm";
    /** Memory of the files-and-batches region: all of it without --data-dir, a page cache over the disk with it. */
    static final long DURABLE_REGION_BYTES = 1L << 30;

    static IgniteConfiguration igniteConfiguration(GridConfig config) {
        IgniteConfiguration cfg = new IgniteConfiguration()
                .setIgniteInstanceName(config.nodeName + "@" + config.gridPort)
                .setConsistentId(config.nodeName)
                .setUserAttributes(Map.of(NAME_ATTRIBUTE, config.nodeName))
                .setGridLogger(new QuietIgniteLogger(!config.haltOnGridFailure))
                .setMetricsLogFrequency(0)
                .setPeerClassLoadingEnabled(false)
                .setFailureDetectionTimeout(config.failureDetection.toMillis())
                .setClientFailureDetectionTimeout(config.failureDetection.toMillis())
                .setMetricsUpdateFrequency(Math.min(2_000, config.failureDetection.toMillis() / 2))
                .setIncludeEventTypes(EventType.EVT_NODE_FAILED, EventType.EVT_NODE_LEFT)
                .setFailureHandler(config.haltOnGridFailure
                        ? new SegmentationStopsOnly(config.rejoin) // a node cut off from the grid rejoins, or is restarted
                        : new StopsMarked())
                // Nothing listens beyond discovery and communication: no REST, no thin-client port.
                .setConnectorConfiguration(null)
                .setClientConnectorConfiguration(null)
                .setWorkDirectory(workDirectory(config))
                .setDataStorageConfiguration(dataStorage(config))
                .setDiscoverySpi(discovery(config))
                .setCommunicationSpi((config.routes.isEmpty() ? new TcpCommunicationSpi()
                        : new RoutedCommunicationSpi(config.routes))
                        .setLocalAddress(config.host)
                        .setLocalPort(config.gridPort + GridConfig.COMMUNICATION_OFFSET)
                        .setLocalPortRange(0));
        // Small pools: the grid carries control traffic, the GPU does the work.
        int pool = Math.max(2, Math.min(4, Runtime.getRuntime().availableProcessors()));
        cfg.setPublicThreadPoolSize(pool)
                .setSystemThreadPoolSize(pool)
                .setStripedPoolSize(pool)
                .setServiceThreadPoolSize(1)
                .setDataStreamerThreadPoolSize(1)
                .setQueryThreadPoolSize(1)
                .setManagementThreadPoolSize(1)
                .setUtilityCachePoolSize(1)
                .setAsyncCallbackPoolSize(1)
                .setPeerClassLoadingThreadPoolSize(1)
                .setRebalanceThreadPoolSize(1);
        if (config.tls.enabled()) {
            cfg.setSslContextFactory(sslContextFactory(config.tls));
        }
        return cfg;
    }

    /**
     * Memory for the grid's caches: a default region (queue, sessions, registry: small, in memory) and the region of the
     * durable caches (files, batches), persisted under {@code --data-dir} when one is given.
     */
    private static DataStorageConfiguration dataStorage(GridConfig config) {
        DataStorageConfiguration storage = new DataStorageConfiguration()
                .setDefaultDataRegionConfiguration(new DataRegionConfiguration()
                        .setName(DATA_REGION)
                        // Queue, sessions and registry: sized by --grid-memory, watched by storageFullReason.
                        .setInitialSize(Math.min(32L << 20, config.dataRegionBytes))
                        .setMaxSize(config.dataRegionBytes)
                        .setMetricsEnabled(true));
        DataRegionConfiguration durable = new DataRegionConfiguration()
                .setName(GridCaches.DURABLE_REGION)
                .setInitialSize(32L << 20)
                .setMaxSize(DURABLE_REGION_BYTES)
                .setMetricsEnabled(true);
        if (config.dataDirectory != null) {
            java.nio.file.Path dir = config.dataDirectory.toAbsolutePath();
            durable.setPersistenceEnabled(true);
            storage.setStoragePath(dir.resolve("db").toString())
                    .setWalPath(dir.resolve("wal").toString())
                    .setWalArchivePath(dir.resolve("wal-archive").toString());
        }
        return storage.setDataRegionConfigurations(durable);
    }

    /**
     * With persistence the grid starts inactive: the first time, it is activated once the expected nodes have joined;
     * after a restart Ignite activates it when the nodes it last had are back. Nodes that die later leave the baseline
     * after the failure-detection time, so their data is copied again to the survivors.
     */
    private static void activate(Ignite ignite, GridConfig config) {
        if (config.dataDirectory == null) {
            return;
        }
        long warnAt = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        while (ignite.cluster().state() != org.apache.ignite.cluster.ClusterState.ACTIVE) {
            if (ignite.cluster().forServers().nodes().size() >= config.expectedNodes) {
                try {
                    ignite.cluster().state(org.apache.ignite.cluster.ClusterState.ACTIVE);
                } catch (IgniteException e) {
                    log.debug("activation by {} failed, retrying: {}", config.nodeName, e.toString());
                }
            }
            if (System.nanoTime() > warnAt) {
                log.warn("grid node '{}' waits for {} expected nodes to activate the persistent grid (sees {})",
                        config.nodeName, config.expectedNodes, ignite.cluster().forServers().nodes().size());
                warnAt = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the grid to activate");
            }
        }
        try {
            ignite.cluster().baselineAutoAdjustEnabled(true);
            ignite.cluster().baselineAutoAdjustTimeout(config.failureDetection.toMillis());
        } catch (IgniteException e) {
            log.debug("baseline auto-adjust not set: {}", e.toString());
        }
    }

    private static TcpDiscoverySpi discovery(GridConfig config) {
        List<String> addresses = new ArrayList<>(config.peers);
        String self = config.host + ":" + config.gridPort;
        if (!addresses.contains(self)) {
            addresses.add(self); // with no peers: a one-node grid
        }
        TcpDiscoverySpi spi = config.routes.isEmpty() ? new TcpDiscoverySpi() : new RoutedDiscoverySpi(config.routes);
        spi.setLocalAddress(config.host);
        spi.setLocalPort(config.gridPort);
        spi.setLocalPortRange(0);
        spi.setIpFinder(new TcpDiscoveryVmIpFinder().setAddresses(addresses));
        return spi;
    }

    /**
     * A lone node (no peers) moves to the next free port pair if its grid port is taken, so that several single
     * nodes can run on one host; it lists only itself, so it never joins another. A node with peers needs its exact
     * ports (they are in the others' --peers): a taken one stops it with the flag named.
     */
    private static void choosePort(GridConfig config) {
        if (!config.peers.isEmpty()) {
            int taken = !free(config.host, config.gridPort) ? config.gridPort
                    : !free(config.host, config.gridPort + GridConfig.COMMUNICATION_OFFSET)
                    ? config.gridPort + GridConfig.COMMUNICATION_OFFSET : -1;
            if (taken > 0) {
                throw new IllegalStateException("--grid-port " + config.gridPort + ": port " + taken + " on "
                        + config.host + " is taken by another process (a node of a cluster needs exactly its port, and"
                        + " its communication port + " + GridConfig.COMMUNICATION_OFFSET + "); free it or choose"
                        + " another --grid-port inside the --peers ranges");
            }
            return;
        }
        for (int port = config.gridPort; port < config.gridPort + 100; port++) {
            if (free(config.host, port) && free(config.host, port + GridConfig.COMMUNICATION_OFFSET)) {
                config.gridPort = port;
                return;
            }
        }
    }

    private static boolean free(String host, int port) {
        try (java.net.ServerSocket socket = new java.net.ServerSocket()) {
            socket.setReuseAddress(true); // a listener still refuses the bind; connections of a node closed a moment ago (TIME_WAIT) do not
            socket.bind(new java.net.InetSocketAddress(host, port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Mutual TLS: the node presents its certificate and trusts only certificates signed by the cluster CA. */
    private static SslContextFactory sslContextFactory(GridConfig.Tls tls) {
        SslContextFactory factory = new SslContextFactory();
        factory.setKeyStoreFilePath(tls.keystore.toString());
        factory.setKeyStorePassword(tls.keystorePassword.toCharArray());
        factory.setKeyStoreType(storeType(tls.keystore));
        // Our own trust managers over the truststore: they log why a peer was turned away.
        factory.setTrustManagers(LoggingTrustManager.of(tls.truststore, tls.truststorePassword, storeType(tls.truststore)));
        factory.setProtocol("TLSv1.3");
        return factory;
    }

    private static String storeType(java.nio.file.Path file) {
        return file.toString().endsWith(".jks") ? "JKS" : "PKCS12";
    }

    private static String workDirectory(GridConfig config) {
        try {
            // With a data directory the work directory (type metadata of the stored records) must outlive the process.
            java.nio.file.Path fixed = config.workDirectory != null ? config.workDirectory
                    : config.dataDirectory != null ? config.dataDirectory.resolve("work") : null;
            return (fixed != null ? Files.createDirectories(fixed) : TempWorkDirectory.create()).toString();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the grid work directory", e);
        }
    }

    /** Ignite logs through our slf4j at warn and prints nothing to stdout: no banner, no metrics. */
    private static void quietIgnite() {
        setIfAbsent("IGNITE_QUIET", "false"); // "quiet" mode prints to stdout; with it off, all goes to slf4j
        setIfAbsent("IGNITE_NO_ASCII", "true");
        setIfAbsent("IGNITE_UPDATE_NOTIFIER", "false");
        setIfAbsent("IGNITE_PERFORMANCE_SUGGESTIONS_DISABLED", "true");
        setIfAbsent("IGNITE_NO_SHUTDOWN_HOOK", "true"); // we stop the grid node in our own order
        setIfAbsent("IGNITE_DUMP_THREADS_ON_FAILURE", "false"); // a failed node says why in one line, not 1,000
        setIfAbsent("IGNITE_LONG_OPERATIONS_DUMP_TIMEOUT", "0"); // no periodic dumps of long transactions
        setIfAbsent("java.net.preferIPv4Stack", "true");
        // slf4j-simple reads per-logger levels from system properties when a logger is first created.
        setIfAbsent("org.slf4j.simpleLogger.log.org.apache.ignite", "error");
        setIfAbsent("org.slf4j.simpleLogger.log." + RoutedDiscoverySpi.class.getName(), "error"); // Ignite's discovery
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    public Ignite ignite() {
        return ignite;
    }

    public GridConfig config() {
        return config;
    }

    public UUID localId() {
        return ignite.cluster().localNode().id();
    }

    public String name() {
        return config.nodeName;
    }

    /** Ids of the server nodes in the current topology, this one included. */
    public Set<UUID> serverNodeIds() {
        return ignite.cluster().forServers().nodes().stream().map(ClusterNode::id).collect(Collectors.toSet());
    }

    public boolean isAlive(UUID nodeId) {
        return nodeId != null && ignite.cluster().node(nodeId) != null;
    }

    /** The {@code --node-name} of a node in the topology or one that left it lately, or null. */
    public String nameOf(UUID nodeId) {
        ClusterNode node = nodeId == null ? null : ignite.cluster().node(nodeId);
        return node != null ? node.attribute(NAME_ATTRIBUTE) : nodeId == null ? null : departed.get(nodeId);
    }

    /**
     * Null while the data region has room for new records; else why not (its use has passed
     * {@code --grid-memory-high-water}). Callers refuse new sessions and requests then: a full region stops the node.
     */
    public String storageFullReason() {
        org.apache.ignite.DataRegionMetrics metrics = ignite.dataRegionMetrics(DATA_REGION);
        if (metrics == null) {
            return null;
        }
        long used = metrics.getTotalUsedSize();
        long limit = (long) (config.dataRegionBytes * config.storageHighWater);
        if (used < limit) {
            return null;
        }
        return "the grid's memory is " + Math.round(100.0 * used / config.dataRegionBytes) + "% used ("
                + (used >> 20) + " of " + (config.dataRegionBytes >> 20) + " MiB, refusing new data past "
                + Math.round(config.storageHighWater * 100) + "%, --grid-memory-high-water)";
    }

    /**
     * Null while the files-and-batches region has room for {@code bytes} more; else why not. Only an in-memory region
     * can fill up (with {@code --data-dir} it pages to disk), and a full one stops the node, so uploads are refused
     * before that, at the same high-water mark as the rest of the grid's data.
     */
    public String durableFullReason(long bytes) {
        org.apache.ignite.DataRegionMetrics metrics = ignite.dataRegionMetrics(GridCaches.DURABLE_REGION);
        if (config.dataDirectory != null || metrics == null) {
            return null;
        }
        long used = metrics.getTotalUsedSize();
        if (used + bytes < (long) (DURABLE_REGION_BYTES * config.storageHighWater)) {
            return null;
        }
        return "this node's memory for files and batches is " + (used >> 20) + " of " + (DURABLE_REGION_BYTES >> 20)
                + " MiB used; delete files that are no longer needed, or run the cluster with --data-dir";
    }

    /**
     * True while this node sees a strict majority of the voting set: it may lead and take work. Until the member
     * list is known that is a majority of {@code --expected-nodes} server nodes; then a majority of the seats among
     * the visible nodes that hold a vote, counting nodes that may still take a free initial seat (non-voters serve,
     * but do not count).
     */
    public boolean hasQuorum() {
        return hasQuorum(ignite.cluster().forServers().nodes());
    }

    /** As {@link #hasQuorum()}, for a given set of server nodes (a topology the grid is validating). */
    boolean hasQuorum(java.util.Collection<ClusterNode> servers) {
        Set<String> voting = voters;
        if (voting.isEmpty()) {
            return servers.size() >= config.quorum();
        }
        Set<String> out = removed;
        long visibleVoters = 0;
        long couldSit = 0; // visible nodes that may still take a free seat of the initial voting set
        for (ClusterNode node : servers) {
            String name = node.attribute(NAME_ATTRIBUTE);
            if (voting.contains(name)) {
                visibleVoters++;
            } else if (!out.contains(name)) {
                couldSit++;
            }
        }
        return visibleVoters + Math.min(couldSit, Math.max(0, seats - voting.size())) >= seats / 2 + 1;
    }

    /** Server nodes visible now, with or without a vote. */
    public int visibleNodes() {
        return ignite.cluster().forServers().nodes().size();
    }

    /** The voting set as the member list says (see {@code Members}); an empty set means not known yet. */
    public void voters(Set<String> names, int seatCount, Set<String> removedNames) {
        this.seats = seatCount;
        this.removed = removedNames;
        this.voters = names;
    }

    /** Names of the voters, and how many make a majority; empty until the member list is read. */
    public Set<String> voters() {
        return voters;
    }

    public int quorumSize() {
        return voters.isEmpty() ? config.quorum() : seats / 2 + 1;
    }

    /** True when another grid node runs in this process too (tests, tools; a serve process has one). */
    public static boolean sharesProcess() {
        return RUNNING.size() > 1;
    }

    /** False once this grid node is stopping or stopped (closed, or halted by its failure handler). */
    public boolean running() {
        return org.apache.ignite.Ignition.state(ignite.name()) == org.apache.ignite.IgniteState.STARTED;
    }

    /**
     * True once the failure handler decided to stop this grid node (a segmentation, a critical failure): Ignite still
     * calls it STARTED for a while, but its caches already fail in any way (an NPE inside Ignite), and requests answered
     * meanwhile came back as 500 instead of "rejoining, send again".
     */
    public boolean failing() {
        return failed;
    }

    /** Set by the failure handler when it stops this grid node. */
    private volatile boolean failed;
    /** When {@link #failed} was set (monotonic). */
    private volatile long failedAtNanos;

    /** How long ago the failure handler began stopping this grid node, or zero when it has not. */
    public java.time.Duration failingFor() {
        return failed ? java.time.Duration.ofNanos(System.nanoTime() - failedAtNanos) : java.time.Duration.ZERO;
    }

    /** Called (on a discovery thread; return quickly) with the id of each node that left or failed. */
    public void onNodeGone(Consumer<UUID> listener) {
        goneListeners.add(listener);
    }

    @Override
    public void close() {
        RUNNING.remove(ignite.name(), this);
        try {
            ignite.close();
        } catch (RuntimeException e) {
            log.warn("grid node '{}' did not stop cleanly: {}", config.nodeName, e.toString());
        }
        if (tempWorkDirectory != null) {
            TempWorkDirectory.delete(tempWorkDirectory);
        }
    }
}
