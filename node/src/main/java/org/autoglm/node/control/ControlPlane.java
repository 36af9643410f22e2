package org.autoglm.node.control;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.security.RouteRole;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.control.AuditChain;
import org.autoglm.gossip.control.CommandKey;
import org.autoglm.gossip.control.CommandLog;
import org.autoglm.gossip.control.EventRing;
import org.autoglm.gossip.limits.RateLimits;
import org.autoglm.node.api.RequestDirectory;
import org.autoglm.node.api.ServingState;
import org.autoglm.node.security.Caller;

/**
 * Group control on this node, assembled: the grid's command log, audit chain and event ring; the signer keys from
 * {@code --command-keys}; the {@code /cluster/commands}, {@code /cluster/command-keys}, {@code /cluster/audit} and
 * {@code /cluster/events} routes; and, once the HTTP server is up, the runner that executes commands here, the watch
 * that turns cluster changes into events, the anomaly detector, webhooks and the cluster metrics. Closed in reverse.
 */
public final class ControlPlane implements AutoCloseable {

    /** What {@code serve} sets: webhooks and the anomaly detector's pace. */
    public static final class Settings {
        /** {@code --webhook URL}, repeatable. */
        public List<URI> webhooks = new ArrayList<>();
        /** HMAC key for {@code X-Signature} ({@code --webhook-secret-file}); required with webhooks. */
        public byte[] webhookSecret = new byte[0];
        /** N: intervals in a row beyond 3σ before a node is flagged anomalous. */
        public int anomalyIntervals = 3;
        /** One sample of the baselines per interval. */
        public Duration anomalyInterval = Duration.ofSeconds(2);
        /** An idle event stream gets a comment line this often. */
        public Duration eventKeepAlive = Duration.ofSeconds(15);
    }

    private final Cluster cluster;
    private final Settings settings;
    private final CommandLog log;
    private final AuditChain audit;
    private final EventRing ring;
    private final CommandAuthority authority;
    private final ControlEvents events;
    private final AnomalyDetector anomalies;
    private final Webhooks webhooks;
    private final AtomicLong failovers = new AtomicLong();
    private final List<AutoCloseable> running = new ArrayList<>();

    public ControlPlane(Cluster cluster, List<CommandKey> keys, Settings settings) {
        this.cluster = cluster;
        this.settings = settings;
        // All three follow the node's current grid node: a node the cluster segmented rejoins on a fresh one.
        this.log = new CommandLog(cluster::grid);
        this.audit = new AuditChain(cluster::grid);
        this.ring = new EventRing(cluster::grid);
        this.authority = new CommandAuthority(log);
        this.events = new ControlEvents(ring, audit, cluster.grid().name());
        this.anomalies = new AnomalyDetector(settings.anomalyIntervals, settings.anomalyInterval.toMillis());
        this.webhooks = new Webhooks(settings.webhooks, settings.webhookSecret);
        keys.forEach(log::addKey);
        cluster.queue().onFailover(this::failedOver);
        cluster.onRejoin(this::rejoined);
    }

    private void failedOver(org.autoglm.gossip.queue.QueuedRequest request, java.util.UUID from, String reason) {
        failovers.incrementAndGet();
        events.emit("request_failed_over", CommandRequest.JSON.createObjectNode().put("request_id", request.id())
                .put("from", cluster.nameOf(from))
                .put("attempts", request.attempts()).put("reason", reason));
    }

    /**
     * This node rejoined the cluster on a fresh grid node: commands, events and webhooks are watched there (the
     * runner hears every kept command again and runs those it missed), and failovers are counted on its new queue.
     */
    private void rejoined() {
        cluster.queue().onFailover(this::failedOver);
        log.rejoined();
        ring.rejoined();
    }

    /**
     * {@code read}: operators and auditors (auditors read everywhere); commands need {@code operate}; keys are
     * registered by admins only.
     */
    public void installRoutes(Javalin app, RouteRole read, RouteRole operate) {
        CommandRoutes commands = new CommandRoutes(cluster, log, authority, events);
        app.post("/cluster/commands", commands::post, operate);
        app.get("/cluster/commands", commands::list, read);
        app.get("/cluster/commands/{id}", commands::get, read);
        app.post("/cluster/command-keys", commands::addKey); // no role: admin only
        app.get("/cluster/command-keys", commands::keys, read);
        AuditRoutes auditRoutes = new AuditRoutes(audit);
        app.get("/cluster/audit", auditRoutes::list, read);
        app.get("/cluster/audit/export", auditRoutes::export, read);
        app.get("/cluster/audit/verify", auditRoutes::verify, read);
        app.get("/cluster/events", new EventRoutes(ring, settings.eventKeepAlive)::stream, read);
    }

    /**
     * Starts running commands addressed to this node (and those it missed), the event watch, anomaly detection,
     * webhooks and the cluster series on {@code meter}.
     */
    public void start(ServingState state, RequestDirectory requests, EngineSwitch engines, RateLimits rateLimits,
                      io.opentelemetry.api.metrics.Meter meter) {
        CommandRunner runner = new CommandRunner(cluster, log, authority,
                new NodeOperations(state, requests, engines, rateLimits, cluster), events);
        running.add(runner);
        runner.start();
        ClusterWatch watch = new ClusterWatch(cluster, state, events, anomalies);
        running.add(watch);
        watch.start();
        if (webhooks.enabled()) {
            running.add(ring.listen(e -> webhooks.post(EventRoutes.json(e).toString())));
        }
        ClusterMetrics.register(meter, cluster, failovers, events.ackCounts());
    }

    /** Whether this node is anomalous now (read by its heartbeat). */
    public boolean anomalous() {
        return anomalies.anomalous();
    }

    /** The detector itself (its baselines), for tests in this package. */
    AnomalyDetector anomalies() {
        return anomalies;
    }

    /** An admin action over HTTP ({@code /admin/*}, {@code /cluster/*} writes), for the cluster audit chain. */
    public void adminAction(Caller caller, String method, String path, int status) {
        if (path.equals("/cluster/commands") || path.equals("/cluster/command-keys")) {
            return; // recorded with their content where they are handled
        }
        events.audit(caller == null ? "anonymous" : caller.subject(), method + " " + path, path, "status " + status);
    }

    /** The cluster's event stream, for other parts of the node (batch, workflow progress). */
    public void emit(String type, ObjectNode data) {
        events.emit(type, data);
    }

    @Override
    public void close() {
        for (int i = running.size() - 1; i >= 0; i--) {
            try {
                running.get(i).close();
            } catch (Exception e) {
                org.slf4j.LoggerFactory.getLogger(ControlPlane.class).debug("closing {}: {}", running.get(i), e.toString());
            }
        }
        events.close();
        webhooks.close();
        ring.close();
        log.close();
    }
}
