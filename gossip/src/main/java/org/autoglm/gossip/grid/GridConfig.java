package org.autoglm.gossip.grid;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * How this node joins the grid. Javalin-style: public fields with their defaults written inline, filled in
 * by {@code GridNode.start(config -> ...)}. The defaults give a one-node grid on loopback.
 */
public final class GridConfig {

    /**
     * {@code --node-name}: this node's name in the registry and the leader record; unique per cluster. Null: {@code
     * node-<grid port>}, the port actually bound (a lone node moves on when its port is taken).
     */
    public String nodeName = "node-1";
    /** Address the grid binds to and advertises; loopback by default so nothing is exposed by accident. */
    public String host = "127.0.0.1";
    /** {@code --grid-port}: discovery port; communication uses {@code gridPort + COMMUNICATION_OFFSET}. */
    public int gridPort = 47500;
    /** {@code --peers}: discovery addresses {@code host:port} or {@code host:port..port}; empty = one-node grid. */
    public List<String> peers = new ArrayList<>();
    /** {@code --expected-nodes}: cluster size; leadership and work need a strict majority of it. */
    public int expectedNodes = 1;
    /** Time after which a silent peer is dropped from the topology: a few seconds on a LAN. */
    public Duration failureDetection = Duration.ofSeconds(5);
    /** Heartbeat period, health thresholds. */
    public final Health health = new Health();
    /** Leader lease timing. */
    public final Lease lease = new Lease();
    /** Retry of requests whose executing node died. */
    public final Failover failover = new Failover();
    /** Mutual TLS for discovery and communication; off unless a keystore is given. */
    public final Tls tls = new Tls();
    /**
     * {@code --insecure}: allow a grid on a non-loopback address without TLS. Anyone who reaches the grid ports could
     * otherwise join the cluster, read its queue and sessions, and place work.
     */
    public boolean insecure = false;
    /**
     * When the grid node fails for good (cut off from the cluster, a critical grid thread died): halt the process so
     * that its supervisor restarts it and its work moves to peers (serve), or only stop the grid node (tests).
     */
    public boolean haltOnGridFailure = false;
    /**
     * {@code --grid-memory}: the off-heap data region that holds the queue, sessions and registry. Ignite stops a node
     * whose region is full, so new data is refused well before that (see {@link #storageHighWater}).
     */
    public long dataRegionBytes = 512L << 20;
    /** {@code --grid-memory-high-water}: share of the data region in use beyond which new sessions and requests are refused. */
    public double storageHighWater = 0.80;
    /** Ignite work directory (marshaller mappings only; nothing is persisted); null = a fresh temp dir. */
    public Path workDirectory = null;

    /** Smallest {@code --grid-memory}: Ignite's own structures take a few MiB of it. */
    public static final long MIN_DATA_REGION_BYTES = 32L << 20;

    /** Communication port = discovery port + this (Ignite's own defaults are 47500 / 47100). */
    public static final int COMMUNICATION_OFFSET = 1000;

    public static final class Health {
        /** How often each node publishes its load. */
        public Duration heartbeatInterval = Duration.ofSeconds(1);
        /** No heartbeat for this long: suspect (not given new work). */
        public Duration suspectAfter = Duration.ofSeconds(3);
        /** No heartbeat for this long (or Ignite reports the node failed): dead. */
        public Duration deadAfter = Duration.ofSeconds(10);
    }

    public static final class Lease {
        /** How often the leader renews and candidates look at the lease. */
        public Duration renewInterval = Duration.ofMillis(300);
        /** A lease not renewed for this long (measured on each node's monotonic clock) may be taken over. */
        public Duration duration = Duration.ofSeconds(2);
    }

    public static final class Failover {
        /** Executions of one request before it fails with an error to the client. */
        public int maxAttempts = 5;
        /** Delay before the second attempt; doubles each attempt. */
        public Duration initialBackoff = Duration.ofMillis(100);
        /**
         * A request no node could take for this long fails (no node with the model/tags, or no leader); counted afresh
         * each time an attempt comes back to the queue.
         */
        public Duration placementTimeout = Duration.ofSeconds(30);
        /** How often the leader sweeps the queue for work whose node or client left. */
        public Duration sweepInterval = Duration.ofSeconds(1);
        /**
         * An assignment its (live) node has not started within this long goes back to the queue: the node's claim
         * failed for good, or it never heard of the assignment. A claim normally takes milliseconds.
         */
        public Duration claimTimeout = Duration.ofSeconds(10);
    }

    public static final class Tls {
        /** PKCS#12 or JKS keystore holding this node's key and certificate (signed by the cluster CA). */
        public Path keystore;
        public String keystorePassword = "";
        /** Truststore holding the cluster CA certificate. */
        public Path truststore;
        public String truststorePassword = "";

        public boolean enabled() {
            return keystore != null;
        }
    }

    private static final Pattern PEER = Pattern.compile("[^\\s:,]+:\\d{1,5}(\\.\\.\\d{1,5})?");

    /**
     * Parses {@code --peers host:port[..port],...}.
     *
     * @throws IllegalArgumentException naming the bad entry and the expected form
     */
    public static List<String> parsePeers(String text) {
        List<String> peers = new ArrayList<>();
        if (text == null || text.isBlank()) {
            return peers;
        }
        for (String raw : text.split(",")) {
            String peer = raw.trim();
            if (peer.isEmpty()) {
                continue;
            }
            if (!PEER.matcher(peer).matches()) {
                throw new IllegalArgumentException("--peers: '" + peer
                        + "' is not host:port or host:port..port (e.g. 10.0.0.5:47500 or 127.0.0.1:47500..47502)");
            }
            peers.add(peer);
        }
        return peers;
    }

    /** The smallest number of server nodes that is a strict majority of {@link #expectedNodes}. */
    public int quorum() {
        return expectedNodes / 2 + 1;
    }

    /** True for loopback addresses and names that resolve only to loopback (localhost). */
    static boolean loopback(String host) {
        try {
            java.net.InetAddress[] all = java.net.InetAddress.getAllByName(host);
            for (java.net.InetAddress a : all) {
                if (!a.isLoopbackAddress()) {
                    return false;
                }
            }
            return all.length > 0;
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    void validate() {
        if (nodeName != null && nodeName.isBlank()) {
            throw new IllegalArgumentException("--node-name must not be empty");
        }
        if (gridPort < 1 || gridPort + COMMUNICATION_OFFSET > 65535) {
            throw new IllegalArgumentException("--grid-port " + gridPort + " is out of range: use 1.."
                    + (65535 - COMMUNICATION_OFFSET) + " (the communication port is grid port + "
                    + COMMUNICATION_OFFSET + ")");
        }
        if (expectedNodes < 1) {
            throw new IllegalArgumentException("--expected-nodes must be at least 1, got " + expectedNodes);
        }
        if (tls.enabled() && tls.truststore == null) {
            throw new IllegalArgumentException("--grid-tls-keystore needs --grid-tls-truststore (the cluster CA)");
        }
        if (!tls.enabled() && tls.truststore != null) {
            throw new IllegalArgumentException("--grid-tls-truststore needs --grid-tls-keystore (this node's certificate)");
        }
        if (!tls.enabled() && !insecure && !loopback(host)) {
            throw new IllegalArgumentException("Refusing to open the grid on " + host + " without TLS: anyone who "
                    + "reaches ports " + gridPort + " and " + (gridPort + COMMUNICATION_OFFSET) + " could join the "
                    + "cluster. Give --grid-tls-keystore and --grid-tls-truststore, use --grid-host 127.0.0.1, or "
                    + "pass --insecure if the network is trusted.");
        }
        for (Path file : new Path[] {tls.keystore, tls.truststore}) {
            if (file != null && !java.nio.file.Files.isReadable(file)) {
                throw new IllegalArgumentException("grid TLS file " + file + " does not exist or is not readable");
            }
        }
        if (dataRegionBytes < MIN_DATA_REGION_BYTES) {
            throw new IllegalArgumentException("--grid-memory must be at least " + (MIN_DATA_REGION_BYTES >> 20)
                    + " MiB, got " + (dataRegionBytes >> 20) + " MiB");
        }
        if (!(storageHighWater >= 0.1 && storageHighWater <= 0.95)) {
            throw new IllegalArgumentException("--grid-memory-high-water must be 10 to 95 (percent), got "
                    + Math.round(storageHighWater * 100));
        }
        if (lease.duration.compareTo(lease.renewInterval.multipliedBy(2)) <= 0) {
            throw new IllegalArgumentException("lease duration " + lease.duration
                    + " must exceed two renew intervals (" + lease.renewInterval + ")");
        }
    }
}
