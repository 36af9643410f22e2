package org.autoglm.node.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.security.RouteRole;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import org.autoglm.gossip.batch.BatchStore;
import org.autoglm.gossip.batch.FileStore;
import org.autoglm.gossip.limits.RateLimits;
import org.autoglm.node.plugins.AuditLogPlugin;
import org.autoglm.node.plugins.Plugins;
import org.autoglm.node.security.AuthenticationException;
import org.autoglm.node.security.Authenticator;
import org.autoglm.node.security.Caller;
import org.autoglm.node.security.Role;
import org.autoglm.node.security.TlsConnector;
import org.autoglm.node.session.InMemorySessionStore;
import org.autoglm.node.session.SessionStore;
import org.autoglm.node.telemetry.RequestTracing;
import org.autoglm.node.telemetry.Telemetry;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The node's HTTP front: OpenAI-compatible inference, sessions, probes, metrics and admin routes on one
 * Javalin server, HTTP or HTTPS. Create with {@link #create}, then {@link #start}; it serves 503 on inference
 * until {@link ServingState#ready} is called.
 */
public final class ApiServer implements AutoCloseable {

    private static final String CALLER = "autoglm.caller";
    private static final String SPAN = "autoglm.span";
    private static final int SEND_BUFFER_BYTES = 64 * 1024;

    /** Settings, with their defaults. */
    public static final class Config {
        /** Address to bind; anything but loopback needs authentication or --insecure (checked by the CLI). */
        public String host = "127.0.0.1";
        /** Port; 0 picks a free one (tests). */
        public int port = 8080;
        /** PKCS#12 keystore: serve HTTPS instead of HTTP. */
        public Path tlsKeystore;
        public String tlsPassword = "";
        /** Bodies above this get 413. */
        public long maxRequestBytes = 4L << 20;
        /**
         * A stream with nothing to send for this long gets an SSE comment line: clients ignore it, and a
         * failed write tells us a client left while its request was still queued.
         */
        public Duration sseKeepAlive = Duration.ofSeconds(5);
        /** A connection with no request in progress and no bytes moving for this long is closed. */
        public Duration idleTimeout = Duration.ofSeconds(30);
        /**
         * A blocking read of a request body or write of a response (a stream's events included) that makes no progress
         * for this long fails: the body gets 408, a stream's engine requests are cancelled (its reader stopped reading).
         */
        public Duration ioTimeout = Duration.ofSeconds(10);
        /** Bytes per second a request body must average once it has started arriving, else 408; 0: no minimum. */
        public long minRequestDataRate = 1024;
        /** Longest a request may run before the engine gives up on it (finish reason cancelled); null: no limit. */
        public Duration requestTimeout;
        /**
         * Tokens generated when a request sets no {@code max_tokens}; 0: up to the end of the context (OpenAI's rule,
         * which lets one request run for minutes; operators bound it with {@code --default-max-tokens}).
         */
        public int defaultMaxTokens = 0;
        /** Idle time before a session expires unless it asks for another. */
        public Duration sessionTtl = Duration.ofHours(1);
        public Authenticator auth = Authenticator.none();
        public Plugins plugins = Plugins.none();
        public SessionStore sessions = new InMemorySessionStore();
        /** Live sessions one caller may hold; 0: no limit. */
        public int maxSessionsPerUser = 100;
        /**
         * Most requests handled at once; each streaming request holds a thread, so this should exceed what
         * the engine accepts (running + waiting) for a full engine to answer 429 rather than stall.
         */
        public int maxThreads = 256;
        /**
         * Null while the process is of use; else why not: {@code /health} then answers 503 so that a supervisor
         * restarts it (the cluster's grid node has stopped, for one).
         */
        public java.util.function.Supplier<String> deadReason = () -> null;
        /** Required: what is loaded. */
        public ServingState state;
        /** Required: metrics and traces. */
        public Telemetry telemetry;
        /** This node's control groups ({@code --groups}): operators whose token names other groups may not act here. */
        public List<String> nodeGroups = List.of();
        /** Told of every write to {@code /admin/*} and {@code /cluster/*} (the cluster audit chain). */
        public AdminActions adminActions = (caller, method, path, status) -> {};
        /** Files and batches in the grid; null: {@code /v1/files} and {@code /v1/batches} are not served. */
        public java.util.function.Supplier<FileStore> files;
        public java.util.function.Supplier<BatchStore> batches;
        /** Per-user request and token budgets per minute, cluster-wide; null: no limits. */
        public RateLimits rateLimits;
        /** Uploads above this get 413 ({@code --max-file-bytes}). */
        public long maxFileBytes = 200L << 20;
        /** Routes other parts of the node add (the cluster's {@code /cluster/*}); a route without a role is admin-only. */
        public RouteInstaller extraRoutes = (app, read, operate) -> {};
    }

    /** Receives admin actions after they are answered. */
    public interface AdminActions {
        void record(Caller caller, String method, String path, int status);
    }

    /** Adds routes; {@code read} is the role set of metrics readers, {@code operate} that of operators. */
    public interface RouteInstaller {
        void install(Javalin app, RouteRole read, RouteRole operate);
    }

    private final Config config;
    private final Javalin app;
    private final InFlight inFlight = new InFlight();
    /** "GET /v1/models", ... as registered, ours and {@link Config#extraRoutes}': what the 404 message lists. */
    private final List<String> routes = new java.util.concurrent.CopyOnWriteArrayList<>();

    private ApiServer(Config config) {
        this.config = config;
        Objects.requireNonNull(config.state, "config.state");
        Objects.requireNonNull(config.telemetry, "config.telemetry");
        this.app = Javalin.create(c -> {
            c.showJavalinBanner = false;
            c.events.handlerAdded(h -> {
                if (h.getHttpMethod().isHttpMethod()) {
                    routes.add(h.getHttpMethod() + " " + h.getPath());
                }
            });
            c.startupWatcherEnabled = false;
            c.http.disableCompression(); // compression would buffer server-sent events
            c.http.maxRequestSize = config.maxRequestBytes;
            c.http.prefer405over404 = true; // GET /v1/chat/completions: "wrong method", not "no such route"
            c.jetty.threadPool = new QueuedThreadPool(config.maxThreads, 8, 60_000);
            // Uploads spill to a temporary file beyond 1 MiB and stream into the grid from there.
            c.jetty.multipartConfig.maxFileSize(config.maxFileBytes, io.javalin.config.SizeUnit.BYTES);
            c.jetty.multipartConfig.maxTotalRequestSize(config.maxFileBytes + (1 << 20), io.javalin.config.SizeUnit.BYTES);
            c.jetty.multipartConfig.maxInMemoryFileSize(1, io.javalin.config.SizeUnit.MB);
            c.jetty.modifyServer(server -> server.setErrorHandler(new ErrorResponses.JsonJettyErrors()));
            c.jetty.modifyHttpConfiguration(http -> {
                http.setSendServerVersion(false);
                // Slow clients: neither a trickled body nor a stream nobody reads may hold a thread for long.
                http.setIdleTimeout(config.ioTimeout.toMillis());
                http.setMinRequestDataRate(config.minRequestDataRate);
            });
            c.jetty.addConnector((server, http) -> {
                ServerConnector connector;
                if (config.tlsKeystore != null) {
                    connector = TlsConnector.create(server, http, config.tlsKeystore, config.tlsPassword, config.host,
                            config.port);
                } else {
                    connector = new ServerConnector(server, new HttpConnectionFactory(http));
                    connector.setHost(config.host);
                    connector.setPort(config.port);
                }
                connector.setIdleTimeout(config.idleTimeout.toMillis());
                // A bounded send buffer makes a stalled reader block our writes (and so meet ioTimeout) after some
                // 100 KB, not after the megabytes the kernel's autotuning would otherwise queue for it.
                connector.setAcceptedSendBufferSize(SEND_BUFFER_BYTES);
                return connector;
            });
        });
        ErrorResponses.install(app, routes, () -> config.deadReason.get());
        app.before(RequestIds::assign);
        app.before(this::startSpan);
        app.beforeMatched(this::authorize);
        app.after(this::endSpan);
        app.after(ctx -> {
            String path = ctx.path();
            if (!ctx.method().name().equals("GET") && (path.startsWith("/admin/") || path.startsWith("/cluster/"))
                    && ctx.status().getCode() != 401) {
                config.adminActions.record(ctx.attribute(CALLER), ctx.method().name(), path, ctx.status().getCode());
            }
        });
        routes();
    }

    public static ApiServer create(Consumer<Config> configure) {
        Config c = new Config();
        configure.accept(c);
        return new ApiServer(c);
    }

    public ApiServer start() {
        app.start();
        return this;
    }

    /** The bound port (useful with port 0). */
    public int port() {
        return app.port();
    }

    @Override
    public void close() {
        app.stop();
    }

    /** The requests this node is answering: what the cluster's cancel command acts on. */
    public RequestDirectory requests() {
        return new RequestDirectory(inFlight);
    }

    /** The request's span (set before any handler runs, ended after the response). */
    static RequestTracing.RequestSpan span(Context ctx) {
        return ctx.attribute(SPAN);
    }

    private void startSpan(Context ctx) {
        ctx.attribute(SPAN, config.telemetry.tracing().start(ctx.method().name(), ctx.path(), ctx.header("traceparent"),
                RequestIds.of(ctx)));
    }

    private void endSpan(Context ctx) {
        RequestTracing.RequestSpan span = span(ctx);
        if (span == null) {
            return;
        }
        String route = ctx.endpointHandlerPath();
        if (ctx.status().getCode() != 404 || routes.contains(ctx.method().name() + " " + route)) {
            span.route(route);
        }
        span.end(ctx.status().getCode());
    }

    /** The authenticated caller of a request (set before every matched route). */
    public static Caller caller(Context ctx) {
        Caller c = ctx.attribute(CALLER);
        return c == null ? Caller.ANONYMOUS : c;
    }

    private void routes() {
        ServingState state = config.state;
        InferenceRoutes inference = new InferenceRoutes(config, inFlight);
        SessionRoutes sessions = new SessionRoutes(state, config.sessions, config.sessionTtl, config.maxRequestBytes,
                config.maxSessionsPerUser);
        AdminRoutes admin = new AdminRoutes(state, inFlight, config.plugins, config.nodeGroups);

        app.get("/health", this::health, Access.PUBLIC);
        app.get("/ready", this::ready, Access.PUBLIC);
        app.get("/v1/models", this::models, Access.INFERENCE);
        app.get("/v1/models/<id>", this::model, Access.INFERENCE); // <id>: a served name may contain '/'

        app.post("/v1/chat/completions", inference::chat, Access.INFERENCE);
        app.post("/v1/completions", inference::completions, Access.INFERENCE);
        app.post("/v1/sessions", sessions::create, Access.INFERENCE);
        app.get("/v1/sessions/{id}", sessions::get, Access.INFERENCE);
        app.delete("/v1/sessions/{id}", sessions::delete, Access.INFERENCE);
        app.get("/metrics", ctx -> {
            var scrape = config.telemetry.scrape(ctx.header("Accept"));
            ctx.contentType(scrape.contentType()).result(scrape.body());
        }, Access.METRICS);
        app.get("/admin/audit", admin::audit, Access.AUDIT);
        app.get("/admin/requests", admin::requests, Access.OPERATE);
        app.post("/admin/requests/{id}/cancel", admin::cancel, Access.OPERATE);
        app.post("/admin/drain", ctx -> admin.drain(ctx, true), Access.OPERATE);
        app.post("/admin/undrain", ctx -> admin.drain(ctx, false), Access.OPERATE);
        if (config.files != null && config.batches != null) {
            FileRoutes files = new FileRoutes(config.files, config.batches, config.maxFileBytes);
            app.post("/v1/files", files::upload, Access.INFERENCE);
            app.get("/v1/files", files::list, Access.READ_JOBS);
            app.get("/v1/files/{id}", files::get, Access.READ_JOBS);
            app.get("/v1/files/{id}/content", files::content, Access.READ_JOBS);
            app.delete("/v1/files/{id}", files::delete, Access.INFERENCE);
            BatchRoutes batches = new BatchRoutes(config.files, config.batches, config.maxRequestBytes);
            app.post("/v1/batches", batches::create, Access.INFERENCE);
            app.get("/v1/batches", batches::list, Access.READ_JOBS);
            app.get("/v1/batches/{id}", batches::get, Access.READ_JOBS);
            app.post("/v1/batches/{id}/cancel", batches::cancel, Access.INFERENCE);
        }
        config.extraRoutes.install(app, Access.METRICS, Access.OPERATE);
    }

    private void authorize(Context ctx) {
        Set<RouteRole> roles = ctx.routeRoles();
        if (roles.contains(Access.PUBLIC)) {
            return;
        }
        Caller caller;
        try {
            caller = config.auth.authenticate(ctx.header("Authorization"));
        } catch (AuthenticationException e) {
            audit(ctx, AuditLogPlugin.AUTH_FAILURE, null, 401, e.getMessage());
            throw ApiError.unauthorized(e.getMessage());
        }
        // A route registered without an Access role is for admins only: fail closed.
        Set<Role> allowed = roles.stream().filter(Access.class::isInstance).map(Access.class::cast).findFirst()
                .map(Access::roles).orElse(Set.of());
        if (!caller.hasAny(allowed)) {
            audit(ctx, AuditLogPlugin.AUTH_FAILURE, caller, 403, "needs one of the roles "
                    + allowed.stream().map(Role::wire).sorted().toList());
            throw ApiError.forbidden("This route needs one of the roles " + allowed.stream().map(Role::wire)
                    .sorted().toList() + " (or admin); the token has " + caller.roles().stream().map(Role::wire)
                    .sorted().toList() + ".");
        }
        ctx.attribute(CALLER, caller);
    }

    /** Appends a non-inference event to the audit log, when it is on. */
    static void audit(Plugins plugins, Context ctx, String event, Caller caller, int status, String detail) {
        plugins.find(AuditLogPlugin.class).ifPresent(a -> a.recordEvent(event, caller == null ? null : caller.subject(),
                caller == null ? List.of() : caller.roles().stream().map(Role::wire).toList(), ctx.method().name(),
                ctx.path(), status, detail));
    }

    private void audit(Context ctx, String event, Caller caller, int status, String detail) {
        audit(config.plugins, ctx, event, caller, status, detail);
    }

    /** Alive, unless the model failed to load (only a restart helps) or the grid node stopped (it rejoins by itself). */
    private void health(Context ctx) {
        String dead = config.deadReason.get();
        if (dead != null) {
            ErrorResponses.send(ctx, ApiError.unavailable("Unhealthy: " + dead + "."));
            return;
        }
        String failure = config.state.loadFailure();
        if (failure != null) {
            ErrorResponses.send(ctx, ApiError.unavailable("Unhealthy: the model failed to load: " + failure
                    + ". Fix the checkpoint or the flags and restart the node."));
            return;
        }
        ctx.json(JsonBody.MAPPER.createObjectNode().put("status", "ok"));
    }

    private void ready(Context ctx) {
        String reason = config.state.notReadyReason();
        if (reason != null) {
            ErrorResponses.send(ctx, ApiError.unavailable("Not ready: " + reason + "."));
            return;
        }
        ctx.json(JsonBody.MAPPER.createObjectNode().put("status", "ready")
                .put("model", config.state.current().model().name()));
    }

    private void models(Context ctx) {
        ObjectNode n = JsonBody.MAPPER.createObjectNode();
        n.put("object", "list");
        n.putArray("data").add(modelObject(loadedModel()));
        ctx.json(n);
    }

    /** {@code GET /v1/models/{id}}: the served model, or 404 naming the one that is. */
    private void model(Context ctx) {
        ServedModel served = loadedModel();
        String id = ctx.pathParam("id");
        if (!id.equals(served.name())) {
            throw ApiError.notFound("model", "model_not_found", "The model '" + id + "' does not exist here; this node"
                    + " serves '" + served.name() + "'.");
        }
        ctx.json(modelObject(served));
    }

    private ServedModel loadedModel() {
        ServingState.Loaded loaded = config.state.current();
        if (loaded == null) {
            throw ApiError.unavailable("The model is still loading; retry shortly.");
        }
        return loaded.model();
    }

    private static ObjectNode modelObject(ServedModel model) {
        return JsonBody.MAPPER.createObjectNode()
                .put("id", model.name())
                .put("object", "model")
                .put("created", 0)
                .put("owned_by", "autoglm")
                .put("max_model_len", model.contextLength());
    }
}
