package org.autoglm.node.console;

import io.javalin.Javalin;
import io.javalin.security.RouteRole;
import org.autoglm.gossip.Cluster;
import org.autoglm.node.telemetry.LatencyWindow;

/**
 * The live console on this node: the page at {@code /console} and the cluster metrics stream it plots,
 * {@code /cluster/metrics/stream}. Closed with the node.
 */
public final class Console implements AutoCloseable {

    private final MetricsStream metrics;

    /** @param latencies this node's recent TTFT and inter-token samples, pooled with the other nodes' */
    public Console(Cluster cluster, LatencyWindow latencies) {
        this.metrics = new MetricsStream(cluster, latencies);
    }

    /** {@code read}: the roles that may watch the cluster (operators, auditors). */
    public void installRoutes(Javalin app, RouteRole read) {
        new ConsoleRoutes().install(app);
        app.get("/cluster/metrics/stream", metrics::stream, read);
    }

    /** Starts publishing this node's latency samples. */
    public void start() {
        metrics.start();
    }

    @Override
    public void close() {
        metrics.close();
    }
}
