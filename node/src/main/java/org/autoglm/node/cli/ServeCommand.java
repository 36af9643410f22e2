package org.autoglm.node.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.autoglm.kernels.BackendFactory;
import org.autoglm.node.api.ApiServer;
import org.autoglm.node.api.ServingState;
import org.autoglm.node.cluster.ClusterNode;
import org.autoglm.node.cluster.ClusterOptions;
import org.autoglm.gossip.control.CommandKey;
import org.autoglm.node.control.CommandKeys;
import org.autoglm.node.control.ControlPlane;
import org.autoglm.node.plugins.AuditLogPlugin;
import org.autoglm.node.plugins.Plugins;
import org.autoglm.node.plugins.SensitiveWordsPlugin;
import org.autoglm.node.security.Authenticator;
import org.autoglm.node.telemetry.Telemetry;
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

    // --- model ---
    @Option(names = "--model", paramLabel = "DIR",
            description = "Checkpoint directory (Hugging Face layout). Default: the built-in demo model.")
    Path model;

    @Option(names = "--served-model-name", paramLabel = "NAME",
            description = "Model name in the API. Default: the checkpoint directory's name.")
    String servedModelName;

    // --- HTTP ---
    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to bind (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port (default: ${DEFAULT-VALUE}; 0 = any free port).")
    int port;

    @Option(names = "--max-request-bytes", defaultValue = "4194304",
            description = "Largest request body accepted; larger ones get 413 (default: ${DEFAULT-VALUE}).")
    long maxRequestBytes;

    @Option(names = "--request-timeout", defaultValue = "0", paramLabel = "SECONDS",
            description = "Give up on a request after this long (finish reason cancelled); 0 = never (default: ${DEFAULT-VALUE}).")
    long requestTimeoutSeconds;

    @Option(names = "--session-ttl", defaultValue = "3600", paramLabel = "SECONDS",
            description = "Idle time after which a session expires, unless it sets ttl_seconds (default: ${DEFAULT-VALUE}).")
    long sessionTtlSeconds;

    @Option(names = "--max-sessions-per-user", defaultValue = "100", paramLabel = "N",
            description = "Live sessions one user (JWT subject) may hold; 0 for no limit (default: ${DEFAULT-VALUE}).")
    int maxSessionsPerUser;

    // --- security ---
    @Option(names = "--jwt-secret-file", paramLabel = "FILE",
            description = "Require HS256 bearer tokens signed with the secret in FILE (at least 32 bytes).")
    Path jwtSecretFile;

    @Option(names = "--jwt-public-key", paramLabel = "PEM",
            description = "Require RS256 or ES256 bearer tokens verified with this PEM public key.")
    Path jwtPublicKey;

    @Option(names = "--insecure", description = "Allow serving a non-loopback address without authentication.")
    boolean insecure;

    @Option(names = "--tls-keystore", paramLabel = "P12", description = "Serve HTTPS with this PKCS#12 keystore.")
    Path tlsKeystore;

    @Option(names = "--tls-keystore-password", paramLabel = "PASS", defaultValue = "${env:AUTOGLM_TLS_PASSWORD:-}",
            description = "Keystore password (default: $AUTOGLM_TLS_PASSWORD).")
    String tlsPassword;

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

    // --- telemetry ---
    @Option(names = "--otlp-endpoint", paramLabel = "URL",
            description = "Export traces over OTLP/HTTP to this collector (e.g. http://localhost:4318). Off by default.")
    String otlpEndpoint;

    // --- engine ---
    @Option(names = "--max-num-seqs", defaultValue = "256",
            description = "Most sequences in one batch (default: ${DEFAULT-VALUE}).")
    int maxNumSeqs;

    @Option(names = "--max-num-batched-tokens", defaultValue = "2048",
            description = "Most tokens computed in one engine step (default: ${DEFAULT-VALUE}).")
    int maxNumBatchedTokens;

    @Option(names = "--scheduling-policy", defaultValue = "fcfs", paramLabel = "fcfs|priority|sjf|mlfq",
            description = "Order in which waiting requests are admitted (default: ${DEFAULT-VALUE}).")
    String schedulingPolicy;

    @Option(names = "--max-waiting", defaultValue = "1024",
            description = "Waiting requests beyond this are refused with 429 (default: ${DEFAULT-VALUE}).")
    int maxWaiting;

    @Option(names = "--block-size", defaultValue = "16", description = "KV-cache block size in tokens (default: ${DEFAULT-VALUE}).")
    int blockSize;

    @Option(names = "--num-kv-blocks", defaultValue = "0",
            description = "KV-cache blocks to allocate; 0 lets the backend size it from memory (default: ${DEFAULT-VALUE}).")
    int numKvBlocks;

    @Option(names = "--backend", defaultValue = "auto", paramLabel = "cuda|djl|auto",
            description = "cuda: our CUDA kernels; djl: PyTorch on the CPU; auto: CUDA when a GPU is usable, else DJL"
                    + " (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--gpu-memory-utilization", defaultValue = "0.90",
            description = "Share of GPU memory the CUDA backend may use for weights, buffers and KV cache"
                    + " (default: ${DEFAULT-VALUE}).")
    double gpuMemoryUtilization;

    @Option(names = "--max-model-len", defaultValue = "0",
            description = "Longest prompt + output accepted; 0 = the model's context length (default: ${DEFAULT-VALUE}).")
    int maxModelLen;

    @Option(names = "--no-prefix-caching", description = "Do not reuse the KV cache of shared prompt prefixes.")
    boolean noPrefixCaching;

    // --- group control ---
    @Option(names = "--command-keys", paramLabel = "FILE",
            description = "Signer keys for /cluster/commands: a JSON list of {key_id, public_key (PEM), subject, roles,"
                    + " groups}, registered cluster-wide at start.")
    Path commandKeys;

    @Option(names = "--webhook", paramLabel = "URL",
            description = "POST every cluster event as JSON to URL (repeatable), HMAC-signed in X-Signature.")
    List<java.net.URI> webhooks = new ArrayList<>();

    @Option(names = "--webhook-secret-file", paramLabel = "FILE",
            description = "The HMAC-SHA256 key for --webhook's X-Signature header (required with --webhook).")
    Path webhookSecretFile;

    @Option(names = "--anomaly-intervals", defaultValue = "3", paramLabel = "N",
            description = "Intervals in a row beyond 3 sigma of its baselines before a node is flagged anomalous"
                    + " (default: ${DEFAULT-VALUE}).")
    int anomalyIntervals;

    @Option(names = "--anomaly-interval", defaultValue = "2000", paramLabel = "MILLIS",
            description = "Length of one anomaly-detection interval (default: ${DEFAULT-VALUE}).")
    long anomalyIntervalMillis;

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

        RunningNode(ApiServer server, Telemetry telemetry, Plugins plugins, ServingState state, ModelLoading loading,
                    ClusterNode cluster, ControlPlane control) {
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

        @Override
        public void close() {
            server.close();
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

    /** Checks the settings, starts the HTTP server, and starts loading the model in the background. */
    public RunningNode start() throws Exception {
        Path dir = model != null ? model : DemoModel.defaultDir();
        String name = servedModelName != null ? servedModelName : dir.toAbsolutePath().normalize().getFileName().toString();
        if (model != null && !Files.isDirectory(model)) {
            throw new IllegalArgumentException("--model " + model + " is not a directory");
        }
        BackendFactory.Kind backendKind = backendKind();
        if (maxSessionsPerUser < 0) {
            throw new IllegalArgumentException("--max-sessions-per-user must be 0 (no limit) or more, got " + maxSessionsPerUser);
        }
        Authenticator auth = Authenticator.fromSettings(jwtSecretFile, jwtPublicKey, host, insecure);
        if (!auth.enabled() && insecure) {
            log.warn("Serving {} without authentication (--insecure): anyone who reaches it can use it.", host);
        }
        List<CommandKey> signers = commandKeys == null ? List.of() : CommandKeys.load(commandKeys);
        ControlPlane.Settings checkedControl = controlSettings(); // bad --webhook flags stop here, before anything starts
        Plugins enabled = Plugins.load(pluginNames(), pluginOptionMap());
        ServingState state = new ServingState();
        ClusterNode cluster;
        try {
            cluster = ClusterNode.start(clusterOptions);
        } catch (RuntimeException e) {
            enabled.close();
            throw e;
        }
        state.readinessCheck(cluster::notReadyReason);
        cluster.bindDraining(state);
        ControlPlane control = new ControlPlane(cluster.cluster(), signers, checkedControl);
        cluster.reportAnomalies(control::anomalous);
        Telemetry telemetry = new Telemetry(name, state::load, otlpEndpoint, null);
        ApiServer server;
        try {
            server = ApiServer.create(c -> {
                c.host = host;
                c.port = port;
                c.tlsKeystore = tlsKeystore;
                c.tlsPassword = tlsPassword;
                c.maxRequestBytes = maxRequestBytes;
                c.maxThreads = maxNumSeqs + maxWaiting + 32; // every accepted request may hold a thread
                c.sessionTtl = Duration.ofSeconds(sessionTtlSeconds);
                c.maxSessionsPerUser = maxSessionsPerUser;
                c.requestTimeout = requestTimeoutSeconds > 0 ? Duration.ofSeconds(requestTimeoutSeconds) : null;
                c.auth = auth;
                c.plugins = enabled;
                c.state = state;
                c.telemetry = telemetry;
                c.sessions = cluster.sessionStore();
                c.nodeGroups = clusterOptions.groups();
                c.adminActions = control::adminAction;
                c.extraRoutes = (app, read, operate) -> {
                    cluster.installRoutes(app, read, operate);
                    control.installRoutes(app, read, operate);
                };
            }).start();
        } catch (RuntimeException e) {
            control.close();
            cluster.close();
            enabled.close();
            telemetry.close();
            throw new IllegalStateException("Cannot serve on " + host + ":" + port + ": " + rootMessage(e), e);
        }
        log.info("Serving model '{}' on {}://{}:{} (loading)", name, tlsKeystore != null ? "https" : "http", host,
                server.port());
        String endpoint = (tlsKeystore != null ? "https" : "http") + "://" + host + ":" + server.port();
        ModelLoading.Settings settings = new ModelLoading.Settings(dir, name, backendKind,
                gpuMemoryUtilization, maxNumSeqs, maxNumBatchedTokens, schedulingPolicy, maxWaiting, blockSize,
                numKvBlocks, maxModelLen, !noPrefixCaching, model == null);
        ModelLoading loading = new ModelLoading(settings, state, telemetry.metrics());
        state.decorate(loaded -> cluster.attach(loaded, ClusterNode.configHash(dir), loading.backendKind(),
                loading.device(), maxNumSeqs, endpoint));
        control.start(state, server.requests(), loading, telemetry.meter("org.autoglm.cluster"));
        Thread loader = new Thread(loading::load, "autoglm-model-loader");
        loader.setDaemon(true);
        loader.start();
        return new RunningNode(server, telemetry, enabled, state, loading, cluster, control);
    }

    private ControlPlane.Settings controlSettings() {
        ControlPlane.Settings s = new ControlPlane.Settings();
        for (java.net.URI u : webhooks) {
            if (u.getScheme() == null || !u.getScheme().matches("https?") || u.getHost() == null) {
                throw new IllegalArgumentException("--webhook must be an http(s) URL, got '" + u + "'");
            }
        }
        s.webhooks = webhooks;
        if (!webhooks.isEmpty()) {
            if (webhookSecretFile == null) {
                throw new IllegalArgumentException("--webhook needs --webhook-secret-file FILE: the key that signs"
                        + " each event (X-Signature)");
            }
            try {
                s.webhookSecret = Files.readString(webhookSecretFile).trim().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException("--webhook-secret-file " + webhookSecretFile + ": " + e.getMessage());
            }
            if (s.webhookSecret.length < 16) {
                throw new IllegalArgumentException("--webhook-secret-file " + webhookSecretFile
                        + " must hold at least 16 bytes");
            }
        }
        if (anomalyIntervals < 1) {
            throw new IllegalArgumentException("--anomaly-intervals must be at least 1, got " + anomalyIntervals);
        }
        if (anomalyIntervalMillis < 100) {
            throw new IllegalArgumentException("--anomaly-interval must be at least 100 ms, got " + anomalyIntervalMillis);
        }
        s.anomalyIntervals = anomalyIntervals;
        s.anomalyInterval = Duration.ofMillis(anomalyIntervalMillis);
        return s;
    }

    /**
     * {@code --backend} checked before anything starts: an unknown name, or {@code cuda} on a machine without a
     * usable GPU, stops {@code serve} with one line instead of leaving a node up that can never become ready.
     */
    private BackendFactory.Kind backendKind() {
        BackendFactory.Kind kind = BackendFactory.Kind.parse(backend);
        if (!(gpuMemoryUtilization > 0 && gpuMemoryUtilization <= 1)) {
            throw new IllegalArgumentException("--gpu-memory-utilization must be greater than 0 and at most 1, got "
                    + gpuMemoryUtilization);
        }
        if (kind == BackendFactory.Kind.CUDA && BackendFactory.resolve(BackendFactory.Kind.AUTO) != BackendFactory.Kind.CUDA) {
            throw new IllegalArgumentException("--backend cuda: no usable GPU here (the CUDA driver libcuda did not load"
                    + " or sees no device); use --backend djl or auto for the CPU");
        }
        return kind;
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
