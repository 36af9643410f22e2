package org.autoglm.node.control;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.autoglm.node.cli.ServeCommand;
import org.autoglm.node.engine.ReferenceCases;
import picocli.CommandLine;

/**
 * Three {@code serve} nodes of glm-tiny in this JVM, one grid (a and b in group "a", c in group "b"; only a has the tag
 * "x", only c the tag "y"), JWT auth, and two registered signer keys: "ops-a" (operator, group a) and "root" (admin).
 * Grid ports from the base given (plus the test port offset).
 */
final class ControlCluster implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String SECRET = "0123456789abcdef0123456789abcdef-control-secret";
    static final List<String> NAMES = List.of("a", "b", "c");
    static final List<String> GROUPS = List.of("a", "a", "b");

    final Path dir;
    private final int base;
    private final List<String> extraArgs;
    final KeyPair opsA = CommandSignature.generate();
    final KeyPair root = CommandSignature.generate();
    final ServeCommand.RunningNode[] nodes = new ServeCommand.RunningNode[3];
    /** Receives node a's webhooks; answers 500 to the first delivery, so a retry must follow. */
    final com.sun.net.httpserver.HttpServer hooks;
    final List<String[]> delivered = new java.util.concurrent.CopyOnWriteArrayList<>();
    static final String HOOK_SECRET = "webhook-secret-0123456789";
    private final HttpClient http = HttpClient.newHttpClient();
    /** A call that hangs (a grid operation stuck while its node is segmented) fails the test instead of the build. */
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(90);

    /**
     * Starts the three nodes and waits until each is ready and the registry shows all three with their model.
     *
     * @param basePort the first of three grid ports (communication uses them + 1000); the port offset is added where
     *                 the ports still fit
     */
    ControlCluster(Path dir, int basePort) throws Exception {
        this(dir, basePort, List.of());
        awaitReady();
    }

    /** Waits until each node is ready and the registry shows all three with their model; returns this cluster. */
    ControlCluster awaitReady() {
        await().atMost(Duration.ofSeconds(120)).until(() -> {
            for (ServeCommand.RunningNode n : nodes) if (!n.state().isReady()) return false;
            return get(0, "/cluster/nodes", admin()).body().split("\"model\":\"glm-tiny\"").length == 4;
        });
        return this;
    }

    /** Starts the three nodes with {@code extraArgs} added to each; returns once they listen, not when ready. */
    ControlCluster(Path dir, int basePort, List<String> extraArgs) throws Exception {
        this.dir = dir;
        this.extraArgs = extraArgs;
        int moved = basePort + Integer.getInteger("autoglm.test.portOffset", 0);
        this.base = moved + 2 + 1000 <= 65535 ? moved : basePort; // moved by the offset where the ports still fit
        Files.writeString(dir.resolve("jwt.secret"), SECRET);
        Files.writeString(dir.resolve("hook.secret"), HOOK_SECRET);
        hooks = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
        hooks.createContext("/hook", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            int status = calls.getAndIncrement() == 0 ? 500 : 200;
            delivered.add(new String[] {body, exchange.getRequestHeaders().getFirst("X-Signature"), Integer.toString(status)});
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        });
        hooks.start();
        Files.writeString(dir.resolve("keys.json"), JSON.writeValueAsString(List.of(
                key("ops-a", opsA, "operator", List.of("a")), key("root", root, "admin", List.of()))));
        List<CompletableFuture<ServeCommand.RunningNode>> starting = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            int index = i;
            starting.add(CompletableFuture.supplyAsync(() -> start(index)));
        }
        for (int i = 0; i < 3; i++) {
            for (int attempt = 1; nodes[i] == null; attempt++) {
                try {
                    nodes[i] = attempt == 1 ? starting.get(i).join() : start(i);
                } catch (RuntimeException e) {
                    // A starved machine can segment a node while it joins (its grid node stops under it, which takes
                    // up to Ignite's 10 s stop timeout): again, once its ports are free.
                    if (attempt == 3) throw e;
                    System.err.println("node " + NAMES.get(i) + " did not start (" + (e.getCause() != null
                            ? e.getCause() : e) + "); starting it again once its grid ports are free");
                    int port = base + i;
                    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250))
                            .until(() -> free(port) && free(port + 1000));
                }
            }
        }
    }

    private static boolean free(int port) {
        try (java.net.ServerSocket socket = new java.net.ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new java.net.InetSocketAddress("127.0.0.1", port));
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private static java.util.Map<String, Object> key(String id, KeyPair pair, String role, List<String> groups) {
        return java.util.Map.of("key_id", id, "public_key", CommandSignature.pem(pair.getPublic()), "subject", id,
                "roles", List.of(role), "groups", groups);
    }

    ServeCommand.RunningNode start(int i) {
        try {
            CommandLine cli = new CommandLine(new ServeCommand());
            List<String> args = new ArrayList<>(List.of("--model", ReferenceCases.fixturesDir().resolve("glm-tiny").toString(), "--port", "0",
                    "--num-kv-blocks", "160", "--block-size", "4", "--max-num-seqs", "4",
                    "--node-name", NAMES.get(i), "--groups", GROUPS.get(i),
                    "--grid-port", Integer.toString(base + i), "--peers", "127.0.0.1:" + base + ".." + (base + 2),
                    "--expected-nodes", "3",
                    "--jwt-secret-file", dir.resolve("jwt.secret").toString(),
                    "--command-keys", dir.resolve("keys.json").toString(), "--anomaly-interval", "500"));
            if (!extraArgs.contains("--grid-failure-detection")) {
                args.addAll(List.of("--grid-failure-detection", "2000"));
            }
            args.addAll(extraArgs);
            if (i == 2) {
                args.addAll(List.of("--tags", "y")); // required_tags ["y"] puts a request on node c
            }
            if (i == 0) {
                args.addAll(List.of("--tags", "x")); // required_tags ["x"] puts a request on node a
                args.addAll(List.of("--webhook", "http://127.0.0.1:" + hooks.getAddress().getPort() + "/hook",
                        "--webhook-secret-file", dir.resolve("hook.secret").toString()));
            }
            cli.parseArgs(args.toArray(String[]::new));
            return ((ServeCommand) cli.getCommand()).start();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    String base(int i) {
        return "http://127.0.0.1:" + nodes[i].port();
    }

    static String token(String subject, List<String> roles, List<String> groups) {
        try {
            JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder().subject(subject).claim("roles", roles)
                    .expirationTime(Date.from(Instant.now().plusSeconds(600)));
            if (groups != null) claims.claim("groups", groups);
            SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims.build());
            jwt.sign(new MACSigner(SECRET.getBytes()));
            return jwt.serialize();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String admin() {
        return token("root", List.of("admin"), null);
    }

    HttpResponse<String> get(int node, String path, String token) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base(node) + path)).timeout(CALL_TIMEOUT)
                .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> post(int node, String path, String token, String body, String signature) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base(node) + path)).timeout(CALL_TIMEOUT)
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (signature != null) b.header(CommandSignature.HEADER, signature);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The events a node streams ({@code GET /cluster/events}), read on a thread of their own until closed. */
    static final class EventTap implements AutoCloseable {
        final List<JsonNode> events = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final HttpResponse<java.util.stream.Stream<String>> stream;

        EventTap(HttpResponse<java.util.stream.Stream<String>> stream) {
            this.stream = stream;
            Thread reader = new Thread(() -> {
                try {
                    stream.body().filter(l -> l.startsWith("data: ")).forEach(l -> {
                        try {
                            events.add(JSON.readTree(l.substring(6)));
                        } catch (java.io.IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    });
                } catch (java.io.UncheckedIOException e) {
                    // closed
                }
            }, "events-reader");
            reader.setDaemon(true);
            reader.start();
        }

        /** The first event of {@code type} that {@code match} accepts, waiting up to 60 s for it. */
        JsonNode await(String type, java.util.function.Predicate<JsonNode> match) {
            JsonNode[] found = new JsonNode[1];
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> {
                found[0] = events.stream().filter(e -> e.get("type").asText().equals(type) && match.test(e))
                        .findFirst().orElse(null);
                return found[0] != null;
            });
            return found[0];
        }

        @Override
        public void close() {
            stream.body().close();
        }
    }

    /** Opens node {@code node}'s event stream as an auditor; {@code query} such as "?replay=100", or "". */
    EventTap events(int node, String query) throws Exception {
        HttpResponse<java.util.stream.Stream<String>> stream = http.send(HttpRequest.newBuilder(URI.create(base(node)
                        + "/cluster/events" + query)).header("Authorization", "Bearer "
                        + token("audrey", List.of("auditor"), null)).build(), HttpResponse.BodyHandlers.ofLines());
        if (stream.statusCode() != 200) {
            throw new IllegalStateException("/cluster/events answered " + stream.statusCode());
        }
        return new EventTap(stream);
    }

    /** A command body as a client writes it (keys in any order: the signature covers the canonical form). */
    static String body(String op, String target, String args, String keyId) {
        return "{\"op\":\"" + op + "\",\"target\":" + target + ",\"args\":" + args + ",\"nonce\":\""
                + java.util.UUID.randomUUID() + "\",\"expires_at\":" + (Instant.now().getEpochSecond() + 120)
                + ",\"key_id\":\"" + keyId + "\"}";
    }

    /** Posts a signed command; returns the response. */
    HttpResponse<String> command(int node, String token, String body, KeyPair signer) throws Exception {
        return post(node, "/cluster/commands", token, body, CommandSignature.sign(signer.getPrivate(), body));
    }

    /** Posts a command signed with the admin key "root" to node a and waits until each target node has settled. */
    JsonNode settle(String body) throws Exception {
        HttpResponse<String> posted = command(0, admin(), body, root);
        if (posted.statusCode() != 201) {
            throw new AssertionError("command refused: " + posted.statusCode() + " " + posted.body());
        }
        return awaitSettled(JSON.readTree(posted.body()).get("id").asText());
    }

    /** Polls the command until no target node is pending or acked. */
    JsonNode awaitSettled(String id) {
        JsonNode[] last = new JsonNode[1];
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> {
            last[0] = JSON.readTree(get(0, "/cluster/commands/" + id, admin()).body());
            JsonNode s = last[0].get("summary");
            return s != null && !s.has("pending") && !s.has("acked");
        });
        return last[0];
    }

    @Override
    public void close() {
        for (ServeCommand.RunningNode n : nodes) {
            if (n != null) n.close();
        }
        hooks.stop(0);
    }
}
