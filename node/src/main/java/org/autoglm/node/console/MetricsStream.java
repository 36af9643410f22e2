package org.autoglm.node.console;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.autoglm.gossip.Cluster;
import org.autoglm.node.telemetry.LatencyWindow;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /cluster/metrics/stream}: server-sent events, one {@code event: snapshot} a second with the cluster's
 * {@link MetricsSnapshot} (the console's plots and node cards). One snapshot is composed per second however many
 * clients listen; this node also publishes its own latency samples each second for the others to pool.
 */
final class MetricsStream implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(MetricsStream.class);
    static final Duration PERIOD = Duration.ofSeconds(1);

    private final Cluster cluster;
    private final LatencyBoard board;
    private final LatencyWindow local;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "autoglm-console-metrics");
        t.setDaemon(true);
        return t;
    });
    private volatile ObjectNode latest;
    private volatile long latestAt;

    MetricsStream(Cluster cluster, LatencyWindow local) {
        this.cluster = cluster;
        this.board = new LatencyBoard(cluster);
        this.local = local;
    }

    void start() {
        timer.scheduleWithFixedDelay(() -> {
            try {
                board.publish(local);
            } catch (RuntimeException e) {
                log.debug("latency samples not published: {}", e.toString()); // the grid is busy or going away
            }
        }, 0, PERIOD.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The snapshot of this second: composed by the first client to ask, shared with the others. */
    synchronized ObjectNode snapshot() {
        long now = System.currentTimeMillis();
        if (latest == null || now - latestAt >= PERIOD.toMillis() / 2) {
            latest = MetricsSnapshot.compose(cluster, board);
            latestAt = now;
        }
        return latest;
    }

    void stream(Context ctx) {
        ctx.status(200);
        ctx.res().setContentType("text/event-stream; charset=utf-8");
        ctx.res().setHeader("Cache-Control", "no-cache");
        ctx.res().setHeader("X-Accel-Buffering", "no");
        try {
            OutputStream out = ctx.res().getOutputStream();
            while (true) {
                String event;
                try {
                    event = "event: snapshot\ndata: " + snapshot() + "\n\n";
                } catch (RuntimeException e) {
                    // The grid is between members (a node just died): say so and try again next second.
                    event = ": no snapshot this second (" + e.getClass().getSimpleName() + ")\n\n";
                }
                out.write(event.getBytes(StandardCharsets.UTF_8));
                out.flush();
                Thread.sleep(PERIOD.toMillis());
            }
        } catch (IOException | InterruptedException e) {
            // the client went away
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
