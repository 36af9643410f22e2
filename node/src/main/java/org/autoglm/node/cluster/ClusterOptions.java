package org.autoglm.node.cluster;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.autoglm.gossip.grid.GridConfig;
import picocli.CommandLine.Option;

/**
 * The {@code serve} flags of the cluster, mixed into the command ({@code @Mixin}). With none of them a node forms
 * a one-node grid and behaves exactly like a stand-alone server.
 */
public final class ClusterOptions {

    @Option(names = "--peers", paramLabel = "HOST:PORT[..PORT],...",
            description = "Grid discovery addresses of the cluster's nodes (static list). Default: none, a one-node grid.")
    String peers;

    @Option(names = "--grid-host", defaultValue = "${env:AUTOGLM_GRID_HOST:-127.0.0.1}", paramLabel = "ADDRESS|auto",
            description = "Address the grid binds to and advertises to peers; auto: the address this host's name resolves"
                    + " to (a container's own address). Default: $AUTOGLM_GRID_HOST, else 127.0.0.1.")
    String gridHost;

    @Option(names = "--grid-port", defaultValue = "47500",
            description = "Grid discovery port; communication uses this + 1000 (default: ${DEFAULT-VALUE}).")
    int gridPort;

    @Option(names = "--node-name", paramLabel = "NAME",
            description = "This node's name in the cluster (default: node-<grid port bound>).")
    String nodeName;

    @Option(names = "--tags", split = ",", paramLabel = "TAG",
            description = "Capability tags requests may require (required_tags), e.g. h100,eu-west.")
    List<String> tags = new ArrayList<>();

    @Option(names = "--groups", split = ",", paramLabel = "GROUP",
            description = "Control groups of this node, e.g. a,b: commands and operators scoped to a group reach it.")
    List<String> groups = new ArrayList<>();

    @Option(names = "--expected-nodes", defaultValue = "1",
            description = "Cluster size: a leader and work need a strict majority of it (default: ${DEFAULT-VALUE}).")
    int expectedNodes;

    @Option(names = "--grid-failure-detection", defaultValue = "5000", paramLabel = "MILLIS",
            description = "Time after which a silent peer is considered failed (default: ${DEFAULT-VALUE}).")
    long failureDetectionMillis;

    @Option(names = "--no-cache-aware-placement",
            description = "Place requests by load only, ignoring which node caches a prompt's prefix (for comparison).")
    boolean noCacheAwarePlacement;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "Keep files and batches on disk in DIR (Ignite native persistence), so they survive a restart"
                    + " of the whole cluster; each node needs its own DIR and a fixed --node-name. Default: memory only"
                    + " (with a backup copy on another node).")
    Path dataDir;
    @Option(names = "--grid-route", paramLabel = "PEER=VIA",
            description = "Reach the peer address PEER (host:port; its grid port for discovery, grid port + 1000 for"
                    + " communication) through VIA (host:port): a relay or NAT mapping. Repeatable.")
    List<String> routes = new ArrayList<>();

    @Option(names = "--heartbeat-interval", defaultValue = "1s", paramLabel = "DURATION",
            description = "How often each node publishes its load to the registry (default: ${DEFAULT-VALUE}).")
    String heartbeatInterval;

    @Option(names = "--suspect-after", defaultValue = "3s", paramLabel = "DURATION",
            description = "A node silent this long is suspect and is given no new work (default: ${DEFAULT-VALUE}).")
    String suspectAfter;

    @Option(names = "--dead-after", defaultValue = "10s", paramLabel = "DURATION",
            description = "A node silent this long is dead and its work is placed elsewhere (default: ${DEFAULT-VALUE}).")
    String deadAfter;

    @Option(names = "--max-attempts", defaultValue = "5", paramLabel = "N",
            description = "Executions of one request (its node died, or could not run it) before it fails with an"
                    + " error (default: ${DEFAULT-VALUE}).")
    int maxAttempts;

    @Option(names = "--retry-backoff", defaultValue = "100ms", paramLabel = "DURATION",
            description = "Wait before a failed request's second attempt; doubles with each attempt"
                    + " (default: ${DEFAULT-VALUE}).")
    String retryBackoff;
    @Option(names = "--grid-memory", defaultValue = "512", paramLabel = "MIB",
            description = "Off-heap memory of the grid's data (queue, sessions, registry), in MiB (default: ${DEFAULT-VALUE}).")
    long gridMemoryMib;

    @Option(names = "--grid-memory-high-water", defaultValue = "80", paramLabel = "PERCENT",
            description = "Past this share of --grid-memory in use, new sessions get 507 and new requests 429"
                    + " (default: ${DEFAULT-VALUE}).")
    int gridMemoryHighWater;

    @Option(names = "--grid-tls-keystore", paramLabel = "P12",
            description = "This node's key and certificate, signed by the cluster CA: turns on grid TLS.")
    Path tlsKeystore;

    @Option(names = "--grid-tls-keystore-password", paramLabel = "PASS",
            defaultValue = "${env:AUTOGLM_GRID_TLS_PASSWORD:-}",
            description = "Keystore password (default: $AUTOGLM_GRID_TLS_PASSWORD).")
    String tlsKeystorePassword;

    @Option(names = "--grid-tls-truststore", paramLabel = "P12",
            description = "Truststore with the cluster CA certificate: peers must present a certificate it signed.")
    Path tlsTruststore;

    @Option(names = "--grid-tls-truststore-password", paramLabel = "PASS",
            defaultValue = "${env:AUTOGLM_GRID_TLS_PASSWORD:-}",
            description = "Truststore password (default: $AUTOGLM_GRID_TLS_PASSWORD).")
    String tlsTruststorePassword;

    /** Set from serve's {@code --insecure}: a grid beyond loopback may then run without TLS. */
    private boolean insecure;

    /** Allows (true) a non-loopback {@code --grid-host} without grid TLS, as serve's {@code --insecure} does for HTTP. */
    public ClusterOptions insecure(boolean allow) {
        this.insecure = allow;
        return this;
    }

    /** {@code --grid-host}, with {@code auto} resolved to the address of this host's name. */
    String gridHost() {
        if (!"auto".equals(gridHost)) {
            return gridHost;
        }
        try {
            java.net.InetAddress self = java.net.InetAddress.getLocalHost();
            if (self.isLoopbackAddress()) {
                throw new IllegalArgumentException("--grid-host auto: this host's name resolves to " + self.getHostAddress()
                        + ", a loopback address peers cannot reach; give the address to use");
            }
            return self.getHostAddress();
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException("--grid-host auto: this host's name does not resolve (" + e.getMessage()
                    + "); give the address to use");
        }
    }

    /** {@code --node-name}, or null: the grid then names the node after the port it binds. */
    public String nodeName() {
        return nodeName;
    }

    public List<String> tags() {
        return List.copyOf(tags);
    }

    /** {@code --groups}, each checked: letters, digits, '-', '_' and '.' only. */
    public List<String> groups() {
        for (String g : groups) {
            if (!g.matches("[A-Za-z0-9._-]{1,64}")) {
                throw new IllegalArgumentException("--groups: '" + g + "' is not a group name (use 1-64 letters, digits,"
                        + " '.', '_' or '-')");
            }
        }
        return List.copyOf(groups);
    }

    /** These flags as grid settings (peer and duration syntax is checked here, with the flag named). */
    public Consumer<GridConfig> gridConfig() {
        List<String> peerList = GridConfig.parsePeers(peers);
        String host = gridHost();
        java.time.Duration heartbeat = GridConfig.parseDuration("--heartbeat-interval", heartbeatInterval);
        java.time.Duration suspect = GridConfig.parseDuration("--suspect-after", suspectAfter);
        java.time.Duration dead = GridConfig.parseDuration("--dead-after", deadAfter);
        java.time.Duration backoff = GridConfig.parseDuration("--retry-backoff", retryBackoff);
        var routeMap = GridConfig.parseRoutes(routes);
        if (gridMemoryMib < 1 || gridMemoryMib > (1L << 30)) {
            throw new IllegalArgumentException("--grid-memory is in MiB, from " + (GridConfig.MIN_DATA_REGION_BYTES >> 20)
                    + " up; got " + gridMemoryMib);
        }
        return config -> {
            config.routes = routeMap;
            config.health.heartbeatInterval = heartbeat;
            config.health.suspectAfter = suspect;
            config.health.deadAfter = dead;
            config.failover.maxAttempts = maxAttempts;
            config.failover.initialBackoff = backoff;
            config.nodeName = nodeName();
            config.host = host;
            config.gridPort = gridPort;
            config.peers = peerList;
            config.expectedNodes = expectedNodes;
            config.failureDetection = java.time.Duration.ofMillis(failureDetectionMillis);
            config.dataDirectory = dataDir;
            config.cacheAwarePlacement = !noCacheAwarePlacement;
            config.insecure = insecure;
            config.dataRegionBytes = gridMemoryMib << 20;
            config.storageHighWater = gridMemoryHighWater / 100.0;
            config.haltOnGridFailure = true; // a serve process cut off from its cluster exits and is restarted
            config.tls.keystore = tlsKeystore;
            config.tls.keystorePassword = tlsKeystorePassword == null ? "" : tlsKeystorePassword;
            config.tls.truststore = tlsTruststore;
            config.tls.truststorePassword = tlsTruststorePassword == null ? "" : tlsTruststorePassword;
        };
    }
}
