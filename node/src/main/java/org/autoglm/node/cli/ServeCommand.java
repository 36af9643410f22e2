package org.autoglm.node.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.autoglm.gossip.limits.RateLimits;
import org.autoglm.node.api.ApiServer;
import org.autoglm.node.api.ServingState;
import org.autoglm.node.cluster.ClusterNode;
import org.autoglm.node.cluster.ClusterOptions;
import org.autoglm.node.console.Console;
import org.autoglm.node.control.ControlPlane;
import org.autoglm.node.engine.EngineOptions;
import org.autoglm.node.plugins.AuditLogPlugin;
import org.autoglm.node.plugins.Plugins;
import org.autoglm.node.plugins.SensitiveWordsPlugin;
import org.autoglm.node.security.Authenticator;
import org.autoglm.node.telemetry.Telemetry;
import org.autoglm.node.workflow.Workflows;
import org.autoglm.node.workflow.bulk.BulkRuns;
import org.autoglm.node.workflow.draft.DraftRoutes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code serve}: the OpenAI-compatible HTTP server over the engine. The server listens at once and answers
 * 503 on inference while the model loads, so orchestrators can tell "starting" from "dead".
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve a GLM checkpoint over an OpenAI-compatible HTTP API.")
public final class ServeCommand implements Callable<Integer> {

    private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);

    // Flags by concern, each filling that concern's options object, whose defaults it shows.
    @Mixin
    ModelFlags modelFlags = new ModelFlags();

    @Mixin
    HttpFlags http = new HttpFlags();

    @Mixin
    EngineFlags engineFlags = new EngineFlags();

    // --- security ---
    @Option(names = "--jwt-secret-file", paramLabel = "FILE",
            description = "Require HS256 bearer tokens signed with the secret in FILE (at least 32 bytes).")
    Path jwtSecretFile;

    @Option(names = "--jwt-public-key", paramLabel = "PEM",
            description = "Require RS256 or ES256 bearer tokens verified with this PEM public key.")
    Path jwtPublicKey;

    @Option(names = "--jwt-leeway", defaultValue = "5", paramLabel = "SECONDS",
            description = "Clock difference tolerated on a token's exp and nbf (default: ${DEFAULT-VALUE}).")
    long jwtLeewaySeconds;

    @Option(names = "--insecure", description = "Allow serving a non-loopback address without authentication.")
    boolean insecure;

    // --- plugins ---
    @Option(names = "--plugins", split = ",", paramLabel = "NAME",
            description = "Middleware plugins to enable, in order (built in: audit-log, sensitive-words).")
    List<String> plugins = new ArrayList<>();

    @Option(names = "--plugin-option", paramLabel = "NAME.KEY=VALUE",
            description = "An option for a plugin, e.g. sensitive-words.policy=mask. Repeatable.")
    List<String> pluginOptions = new ArrayList<>();

    @Option(names = "--audit-log", paramLabel = "FILE",
            description = "Enable audit-log, appending JSON lines to FILE.")
    Path auditLog;

    @Option(names = "--audit-prompts", description = "Also write prompt text to the audit log.")
    boolean auditPrompts;

    @Option(names = "--sensitive-words", paramLabel = "FILE",
            description = "Enable sensitive-words with the word list in FILE (one per line).")
    Path sensitiveWords;

    @Option(names = "--sensitive-words-policy", defaultValue = "reject", paramLabel = "reject|mask",
            description = "reject: 400 content_filtered / stop the output; mask: replace with * (default: ${DEFAULT-VALUE}).")
    String sensitiveWordsPolicy;

    // --- workflows ---
    @Option(names = "--workflow-http-allow", split = ",", paramLabel = "HOST",
            description = "Hosts that workflow http steps may reach, comma-separated (default: none).")
    List<String> workflowHttpAllowList = new ArrayList<>();

    @Option(names = "--workflow-run-retention", defaultValue = "7d", paramLabel = "DURATION",
            description = "How long ended workflow runs are kept before they are deleted: a number with s, m, h or d"
                    + " (default: ${DEFAULT-VALUE}).")
    String workflowRunRetention;

    // --- telemetry ---
    @Option(names = "--otlp-endpoint", paramLabel = "URL",
            description = "Export traces over OTLP/HTTP to this collector (e.g. http://localhost:4318). Off by default.")
    String otlpEndpoint;

    // --- group control (--command-keys, --webhook, --webhook-secret-file, --anomaly-*) ---
    @Mixin
    ControlFlags controlFlags = new ControlFlags();

    // --- cluster (--peers, --grid-port, --node-name, --tags, --expected-nodes, --grid-tls-*) ---
    @Mixin
    ClusterOptions clusterOptions = new ClusterOptions();

    /** A started node: the HTTP server and, once loaded, the engine. */
    public static final class RunningNode implements AutoCloseable {
        private final ApiServer server;
        private final Telemetry telemetry;
        private final Plugins plugins;
        private final ServingState state;
        private final ModelLoading loading;
        private final ClusterNode cluster;
        private final ControlPlane control;
        private final Console console;
        private final Workflows workflows;

        RunningNode(ApiServer server, Telemetry telemetry, Plugins plugins, ServingState state, ModelLoading loading,
                    ClusterNode cluster, ControlPlane control, Console console, Workflows workflows) {
            this.console = console;
            this.workflows = workflows;
            this.cluster = cluster;
            this.control = control;
            this.server = server;
            this.telemetry = telemetry;
            this.plugins = plugins;
            this.state = state;
            this.loading = loading;
        }

        public int port() {
            return server.port();
        }

        public ServingState state() {
            return state;
        }

        /** Its cluster membership (the grid, queue and registry), for tests and tools that look inside. */
        public ClusterNode cluster() {
            return cluster;
        }

        @Override
        public void close() {
            server.close();
            console.close();
            workflows.close(); // its runs stay in the grid: another node takes them over
            control.close();
            cluster.close(); // releases the lease and hands running work back before the engine stops
            loading.close();
            plugins.close();
            telemetry.close();
        }
    }

    @Override
    public Integer call() throws Exception {
        RunningNode node = start();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            node.close();
            stopped.countDown();
        }, "autoglm-shutdown"));
        stopped.await();
        return 0;
    }

    /**
     * Checks every flag (a bad one throws with the flag named, before anything listens), joins the grid, starts the
     * HTTP server, and starts loading the model in the background.
     */
    public RunningNode start() throws Exception {
        EngineOptions engine = engineFlags.options();
        ModelLoading.Plan plan = modelFlags.plan(engine);
        http.validate();
        if (jwtLeewaySeconds < 0) {
            throw new IllegalArgumentException("--jwt-leeway must be 0 or more seconds, got " + jwtLeewaySeconds);
        }
        Authenticator auth = Authenticator.fromSettings(jwtSecretFile, jwtPublicKey,
                Duration.ofSeconds(jwtLeewaySeconds), http.host, insecure);
        if (!auth.enabled() && insecure) {
            log.warn("Serving {} without authentication (--insecure): anyone who reaches it can use it.", http.host);
        }
        java.util.Set<String> workflowHttpAllow = Workflows.parseHttpAllow(workflowHttpAllowList);
        java.time.Duration workflowRetention = Workflows.parseRetention(workflowRunRetention);
        List<org.autoglm.gossip.control.CommandKey> signers = controlFlags.keys();
        ControlPlane.Settings checkedControl = controlFlags.settings(); // bad flags stop here, before anything starts
        Plugins enabled = Plugins.load(pluginNames(), pluginOptionMap());
        ServingState state = new ServingState();
        Telemetry telemetry;
        ClusterNode cluster;
        try {
            telemetry = new Telemetry(plan.servedName(), state::load, otlpEndpoint, null);
        } catch (RuntimeException e) {
            enabled.close();
            throw e;
        }
        try {
            cluster = ClusterNode.start(clusterOptions.insecure(insecure));
        } catch (RuntimeException e) {
            telemetry.close();
            enabled.close();
            throw e;
        }
        state.readinessCheck(cluster::notReadyReason);
        cluster.bindDraining(state);
        ControlPlane control = new ControlPlane(cluster.cluster(), signers, checkedControl);
        Workflows workflows = new Workflows(cluster.cluster(),
                () -> state.current() == null ? null : state.current().model(), workflowHttpAllow, http.maxRequestBytes,
                workflowRetention);
        cluster.reportAnomalies(control::anomalous);
        Console console = new Console(cluster.cluster(), telemetry.metrics().recent());
        cluster.reportEvents(control::emit);
        workflows.reportEvents(control::emit);
        cluster.batchPlugins(enabled);
        // Always there, unlimited at 0: reload-config can set limits on a node started without them.
        RateLimits rateLimits = new RateLimits(cluster.cluster()::grid, http.rateLimitRequests, http.rateLimitTokens);
        ApiServer server;
        try {
            server = ApiServer.create(c -> {
                http.configure(c);
                c.maxThreads = engine.maxNumSeqs() + engine.maxWaiting() + 32; // every accepted request may hold a thread
                c.auth = auth;
                c.plugins = enabled;
                c.state = state;
                c.telemetry = telemetry;
                c.sessions = cluster.sessionStore();
                c.nodeGroups = clusterOptions.groups();
                c.adminActions = control::adminAction;
                c.files = cluster.cluster()::files; // of the current grid node: a rejoin makes a new one
                c.batches = cluster.cluster()::batches;
                c.rateLimits = rateLimits;
                c.extraRoutes = (app, read, operate) -> {
                    cluster.installRoutes(app, read, operate);
                    control.installRoutes(app, read, operate);
                    console.installRoutes(app, read);
                    workflows.installRoutes(app);
                    new DraftRoutes(workflows.templates(), () -> state).install(app);
                    new BulkRuns(cluster.cluster()::files, workflows.runs()).install(app);
                };
                c.deadReason = cluster::deadReason;
            }).start();
        } catch (RuntimeException e) {
            control.close();
            cluster.close();
            enabled.close();
            telemetry.close();
            throw new IllegalStateException("Cannot serve on " + http.host + ":" + http.port + ": " + rootMessage(e), e);
        }
        String endpoint = http.scheme() + "://" + http.host + ":" + server.port();
        log.info("Serving model '{}' on {} (loading)", plan.servedName(), endpoint);
        ModelLoading loading = new ModelLoading(plan, state, telemetry.metrics());
        // The hash of the checkpoint serving now: after load-model the registry shows the new one.
        state.decorate(loaded -> {
            ServingState.Loaded clustered = cluster.attach(loaded, ClusterNode.configHash(loading.currentDir()),
                    loading.backendKind(), loading.device(), engine.maxNumSeqs(), endpoint);
            workflows.engineReady(clustered.model(), clustered.engine());
            return clustered;
        });
        control.start(state, server.requests(), loading, rateLimits, telemetry.meter("org.autoglm.cluster"));
        console.start();
        Thread loader = new Thread(loading::load, "autoglm-model-loader");
        loader.setDaemon(true);
        loader.start();
        return new RunningNode(server, telemetry, enabled, state, loading, cluster, control, console, workflows);
    }


    private List<String> pluginNames() {
        List<String> names = new ArrayList<>(plugins);
        if (auditLog != null && !names.contains(AuditLogPlugin.NAME)) {
            names.add(AuditLogPlugin.NAME);
        }
        if (sensitiveWords != null && !names.contains(SensitiveWordsPlugin.NAME)) {
            names.add(SensitiveWordsPlugin.NAME);
        }
        return names;
    }

    private Map<String, Map<String, String>> pluginOptionMap() {
        Map<String, Map<String, String>> out = new LinkedHashMap<>();
        for (String o : pluginOptions) {
            int dot = o.indexOf('.');
            int eq = o.indexOf('=');
            if (dot <= 0 || eq < dot + 2) {
                throw new IllegalArgumentException("--plugin-option must look like NAME.KEY=VALUE, got '" + o + "'");
            }
            out.computeIfAbsent(o.substring(0, dot), k -> new LinkedHashMap<>())
                    .put(o.substring(dot + 1, eq), o.substring(eq + 1));
        }
        if (auditLog != null) {
            Map<String, String> audit = out.computeIfAbsent(AuditLogPlugin.NAME, k -> new LinkedHashMap<>());
            audit.put("file", auditLog.toString());
            audit.put("prompts", Boolean.toString(auditPrompts));
        }
        if (sensitiveWords != null) {
            Map<String, String> words = out.computeIfAbsent(SensitiveWordsPlugin.NAME, k -> new LinkedHashMap<>());
            words.put("file", sensitiveWords.toString());
            words.put("policy", sensitiveWordsPolicy);
        }
        return out;
    }

    private static String rootMessage(Throwable e) {
        while (e.getCause() != null) {
            e = e.getCause();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
