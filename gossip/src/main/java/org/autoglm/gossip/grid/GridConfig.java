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
    /**
     * {@code --grid-route PEER=VIA}: discovery connections to the peer address PEER go to VIA instead (a relay or a
     * NAT mapping; the fault-injection harness routes each pair of nodes through its own TCP proxy this way).
     */
    public java.util.Map<java.net.InetSocketAddress, java.net.InetSocketAddress> routes = new java.util.HashMap<>();
    /** {@code --expected-nodes}: cluster size; leadership and work need a strict majority of it. */
    public int expectedNodes = 1;
    /** Time after which a silent peer is dropped from the topology: a few seconds on a LAN. */
    public Duration failureDetection = Duration.ofSeconds(5);
    /** Heartbeat period, health thresholds. */
    public final Health health = new Health();
    /** Leader lease timing. */
    public final Lease lease = new Lease();
    /**
     * Placement weighs where a prompt's prefix is cached (within a load bound); false: load only
     * ({@code --no-cache-aware-placement}, for comparison).
     */
    public boolean cacheAwarePlacement = true;
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
     * {@code --data-dir}: keep files and batches on disk here (Ignite native persistence), so they survive a restart of
     * the whole cluster; null = in memory (with backups) only.
     */
    public Path dataDirectory = null;
    /**
     * When Ignite stops this grid node on its own (segmentation after a pause or a network cut): start a fresh grid
     * node with the same settings and rejoin (true), or stay out (tests that crash members on purpose).
     */
    public boolean rejoin = true;
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

    /**
     * Leader lease timing. A holder that leaves the grid (killed, or paused past failure detection) frees the lease at
     * once; {@link #duration} is only how long a holder still in the grid may go without renewing before it is deposed.
     * It must outlast failure detection: a shorter lease deposed live leaders whose renewals a loaded machine held up
     * for a moment, and the lease then changed hands every few seconds while the placement loop restarted each time.
     */
    public static final class Lease {
        /** How often the leader renews and candidates look at the lease. */
        public Duration renewInterval = Duration.ofMillis(300);
        /**
         * A lease not renewed for this long (measured on each node's monotonic clock) may be taken over from a holder
         * that is still in the grid; null: twice the failure detection.
         */
        public Duration duration = null;
    }

    /** How long a live holder may go without renewing before another node takes the lease ({@link Lease#duration}). */
    public Duration leaseDuration() {
        return lease.duration != null ? lease.duration : failureDetection.multipliedBy(2);
    }

    /**
     * How long after the start of its last renewal the leader still acts as leader (places work, reports itself): half
     * the failure detection, so that a leader paused long enough for the grid to drop it (and for a successor to be
     * elected) wakes with its window already shut. Past it and short of {@link #leaseDuration()} it only waits for its
     * next renewal; it steps down when the whole lease has run out.
     */
    public Duration leaseActingWindow() {
        Duration half = failureDetection.dividedBy(2);
        return half.compareTo(leaseDuration()) < 0 ? half : leaseDuration();
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

    private static final Pattern ROUTE = Pattern.compile("([^\\s:=,]+):(\\d{1,5})=([^\\s:=,]+):(\\d{1,5})");

    /**
     * Parses {@code --grid-route PEER_HOST:PORT=VIA_HOST:PORT} entries.
     *
     * @throws IllegalArgumentException naming the bad entry and the expected form
     */
    public static java.util.Map<java.net.InetSocketAddress, java.net.InetSocketAddress> parseRoutes(List<String> entries) {
        java.util.Map<java.net.InetSocketAddress, java.net.InetSocketAddress> routes = new java.util.HashMap<>();
        for (String entry : entries == null ? List.<String>of() : entries) {
            java.util.regex.Matcher m = ROUTE.matcher(entry.trim());
            if (!m.matches() || Integer.parseInt(m.group(2)) > 65535 || Integer.parseInt(m.group(4)) > 65535) {
                throw new IllegalArgumentException("--grid-route: '" + entry + "' is not PEER_HOST:PORT=VIA_HOST:PORT"
                        + " (e.g. 10.0.0.5:47500=127.0.0.1:51000)");
            }
            routes.put(new java.net.InetSocketAddress(m.group(1), Integer.parseInt(m.group(2))),
                    new java.net.InetSocketAddress(m.group(3), Integer.parseInt(m.group(4))));
        }
        return routes;
    }

    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m)?");

    /**
     * Parses a duration flag: {@code 250ms}, {@code 1s}, {@code 1.5s}, {@code 2m}, or a bare number of milliseconds.
     *
     * @throws IllegalArgumentException naming the flag, the bad value and the accepted forms
     */
    public static Duration parseDuration(String flag, String text) {
        java.util.regex.Matcher m = DURATION.matcher(text == null ? "" : text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException(flag + ": '" + text + "' is not a duration; write e.g. 250ms, 1s,"
                    + " 1.5s or 2m (a bare number is milliseconds)");
        }
        double value = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "ms" : m.group(2);
        double millis = switch (unit) {
            case "s" -> value * 1_000;
            case "m" -> value * 60_000;
            default -> value;
        };
        if (millis > Duration.ofDays(1).toMillis()) {
            throw new IllegalArgumentException(flag + ": " + text + " is longer than a day; write e.g. 250ms, 1s or 2m");
        }
        return Duration.ofNanos(Math.round(millis * 1_000_000));
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
        if (health.heartbeatInterval.toMillis() < 10) {
            throw new IllegalArgumentException("--heartbeat-interval must be at least 10ms, got "
                    + health.heartbeatInterval.toMillis() + "ms");
        }
        if (health.suspectAfter.compareTo(health.heartbeatInterval) <= 0) {
            throw new IllegalArgumentException("--suspect-after (" + health.suspectAfter.toMillis() + "ms) must be longer"
                    + " than --heartbeat-interval (" + health.heartbeatInterval.toMillis() + "ms), or every node"
                    + " looks suspect between two heartbeats");
        }
        if (health.deadAfter.compareTo(health.suspectAfter) <= 0) {
            throw new IllegalArgumentException("--dead-after (" + health.deadAfter.toMillis() + "ms) must be longer than"
                    + " --suspect-after (" + health.suspectAfter.toMillis() + "ms)");
        }
        if (failover.maxAttempts < 1 || failover.maxAttempts > 100) {
            throw new IllegalArgumentException("--max-attempts must be between 1 and 100, got " + failover.maxAttempts);
        }
        if (failover.initialBackoff.toMillis() < 1 || failover.initialBackoff.compareTo(Duration.ofMinutes(1)) > 0) {
            throw new IllegalArgumentException("--retry-backoff must be between 1ms and 1m, got "
                    + failover.initialBackoff.toMillis() + "ms");
        }
        if (dataRegionBytes < MIN_DATA_REGION_BYTES) {
            throw new IllegalArgumentException("--grid-memory must be at least " + (MIN_DATA_REGION_BYTES >> 20)
                    + " MiB, got " + (dataRegionBytes >> 20) + " MiB");
        }
        if (!(storageHighWater >= 0.1 && storageHighWater <= 0.95)) {
            throw new IllegalArgumentException("--grid-memory-high-water must be 10 to 95 (percent), got "
                    + Math.round(storageHighWater * 100));
        }
        if (leaseActingWindow().compareTo(lease.renewInterval.multipliedBy(2)) <= 0) {
            throw new IllegalArgumentException("--grid-failure-detection " + failureDetection.toMillis() + "ms is too"
                    + " short: the leader acts for half of it after each renewal, which must exceed two renew intervals ("
                    + lease.renewInterval.toMillis() + "ms)");
        }
        if (leaseDuration().compareTo(failureDetection) <= 0) {
            throw new IllegalArgumentException("lease duration " + leaseDuration().toMillis() + "ms must exceed"
                    + " --grid-failure-detection (" + failureDetection.toMillis() + "ms): a shorter lease deposes live"
                    + " leaders that the grid has not dropped");
        }
    }
}
