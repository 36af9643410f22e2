package org.autoglm.node.control;

import io.javalin.Javalin;
import io.javalin.security.RouteRole;
import java.util.List;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.control.CommandKey;
import org.autoglm.gossip.control.CommandLog;
import org.autoglm.node.api.RequestDirectory;
import org.autoglm.node.api.ServingState;

/**
 * Group control on this node, assembled: the grid's command log, the signer keys from {@code --command-keys}, the
 * {@code /cluster/commands} and {@code /cluster/command-keys} routes, and the runner that executes commands here.
 * Routes go in before the HTTP server starts; the runner starts once the server (whose requests {@code cancel}
 * acts on) is up.
 */
public final class ControlPlane implements AutoCloseable {

    private final Cluster cluster;
    private final CommandLog log;
    private final CommandAuthority authority;
    private final ControlEvents events;
    private volatile CommandRunner runner;

    public ControlPlane(Cluster cluster, List<CommandKey> keys) {
        this.cluster = cluster;
        this.log = new CommandLog(cluster.grid());
        this.authority = new CommandAuthority(log);
        this.events = new ControlEvents();
        keys.forEach(log::addKey);
    }

    /** {@code read}: operators and auditors; commands need operate; keys are registered by admins only. */
    public void installRoutes(Javalin app, RouteRole read, RouteRole operate) {
        CommandRoutes routes = new CommandRoutes(cluster, log, authority, events);
        app.post("/cluster/commands", routes::post, operate);
        app.get("/cluster/commands", routes::list, read);
        app.get("/cluster/commands/{id}", routes::get, read);
        app.post("/cluster/command-keys", routes::addKey); // no role: admin only
        app.get("/cluster/command-keys", routes::keys, read);
    }

    /** Starts running the commands addressed to this node (and those it missed). */
    public void start(ServingState state, RequestDirectory requests, EngineSwitch engines) {
        CommandRunner r = new CommandRunner(cluster, log, authority, new NodeOperations(state, requests, engines), events);
        this.runner = r;
        r.start();
    }

    @Override
    public void close() {
        CommandRunner r = runner;
        if (r != null) r.close();
        log.close();
    }
}
