package org.autoglm.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.autoglm.node.control.CommandSignature;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code ctl}: the operator's client for group control. Signs each command with the operator's Ed25519 key and posts
 * it to any node: {@code ctl --server URL --token FILE --key KEY.pem drain --group a}; {@code ctl commands ID} follows
 * the acks; {@code ctl keygen} writes a key pair.
 */
@Command(name = "ctl", mixinStandardHelpOptions = true,
        description = "Send signed commands to groups of nodes and follow their acknowledgements.",
        subcommands = {CtlCommand.Keygen.class, CtlCommand.Commands.class, CtlCommand.AddKey.class,
                CtlOps.Drain.class, CtlOps.Undrain.class, CtlOps.Cancel.class, CtlOps.Reprioritize.class,
                CtlOps.SetLogLevel.class, CtlOps.ReloadConfig.class, CtlOps.LoadModel.class, CtlOps.RestartEngine.class,
                CtlOps.Diagnostics.class})
public final class CtlCommand implements Runnable {

    static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--server", paramLabel = "URL", defaultValue = "http://127.0.0.1:8080",
            description = "Any node of the cluster (default: ${DEFAULT-VALUE}).")
    String server;

    @Option(names = "--token", paramLabel = "FILE", description = "File holding the bearer token (JWT).")
    Path token;

    @Option(names = "--key", paramLabel = "KEY.pem", description = "Ed25519 private key (PKCS#8 PEM) that signs commands.")
    Path key;

    @Option(names = "--key-id", paramLabel = "ID",
            description = "The key's registered key_id (default: the key file's name without .pem).")
    String keyId;

    @Override
    public void run() {
        picocli.CommandLine.usage(this, System.err);
    }

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    /** GET or POST {@code path} on the server; a non-2xx answer becomes one line naming status and message. */
    JsonNode call(String method, String path, String body, String signature) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server.replaceAll("/+$", "") + path))
                .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json");
        if (token != null) {
            b.header("Authorization", "Bearer " + Files.readString(token).trim());
        }
        if (signature != null) {
            b.header(CommandSignature.HEADER, signature);
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> r;
        try {
            r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (java.net.ConnectException e) {
            throw new IllegalStateException("cannot reach " + server + " (is a node listening there? --server)");
        }
        JsonNode json;
        try {
            json = JSON.readTree(r.body());
        } catch (IOException e) {
            json = JSON.createObjectNode().put("body", r.body());
        }
        if (r.statusCode() / 100 != 2) {
            String message = json.at("/error/message").asText(r.body());
            throw new IllegalStateException(r.statusCode() + " from " + method + " " + path + ": " + message);
        }
        return json;
    }

    /** Signs {@code body} with {@code --key} and posts it as a command. */
    JsonNode postCommand(ObjectNode body) throws IOException, InterruptedException {
        if (key == null) {
            throw new IllegalArgumentException("--key KEY.pem is required to sign commands (ctl keygen writes one)");
        }
        PrivateKey privateKey;
        try {
            privateKey = CommandSignature.privateKey(Files.readString(key));
        } catch (IOException e) {
            throw new IllegalArgumentException("--key " + key + ": cannot read it: " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--key " + key + " is " + e.getMessage());
        }
        body.put("key_id", keyId());
        String text = JSON.writeValueAsString(body);
        return call("POST", "/cluster/commands", text, CommandSignature.sign(privateKey, text));
    }

    String keyId() {
        if (keyId != null) return keyId;
        String name = key.getFileName().toString();
        return name.endsWith(".pem") ? name.substring(0, name.length() - 4) : name;
    }

    static void print(JsonNode json) throws IOException {
        System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json));
    }

    /**
     * Polls the command until every node has settled (done, failed, unreachable past expiry, expired), printing each
     * node's state as it changes; exit code 0 only when every node is done.
     */
    int follow(String id, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        java.util.Map<String, String> seen = new java.util.HashMap<>();
        JsonNode c;
        while (true) {
            c = call("GET", "/cluster/commands/" + id, null, null);
            var nodes = c.get("nodes").fields();
            boolean open = false;
            while (nodes.hasNext()) {
                var n = nodes.next();
                String state = n.getValue().get("state").asText();
                if (!state.equals(seen.put(n.getKey(), state))) {
                    System.err.println(n.getKey() + ": " + state + (n.getValue().has("reason")
                            ? " (" + n.getValue().get("reason").asText() + ")" : ""));
                }
                open |= state.equals("pending") || state.equals("acked") || state.equals("unreachable");
            }
            if (!open || System.nanoTime() > deadline) break;
            Thread.sleep(200);
        }
        print(c);
        JsonNode summary = c.get("summary");
        return summary.size() == 1 && summary.has("done") || summary.isEmpty() ? 0 : 1;
    }

    /** {@code ctl commands [ID]}: one command with its acks (followed until settled), or the list. */
    @Command(name = "commands", mixinStandardHelpOptions = true,
            description = "Show a command and follow each node's ack until all have settled, or list commands.")
    static final class Commands implements Callable<Integer> {
        @ParentCommand CtlCommand ctl;

        @Parameters(index = "0", arity = "0..1", paramLabel = "ID", description = "Command id (omit to list).")
        String id;

        @Option(names = "--timeout", defaultValue = "120", paramLabel = "SECONDS",
                description = "Stop following after this long (default: ${DEFAULT-VALUE}).")
        long timeoutSeconds;

        @Override
        public Integer call() throws Exception {
            if (id == null) {
                print(ctl.call("GET", "/cluster/commands", null, null));
                return 0;
            }
            return ctl.follow(id, Duration.ofSeconds(timeoutSeconds));
        }
    }

    /** {@code ctl keygen}: a new Ed25519 key pair, and the registration JSON for it on stdout. */
    @Command(name = "keygen", mixinStandardHelpOptions = true,
            description = "Write an Ed25519 key pair (ID.pem private, ID.pub.pem public) and print its registration"
                    + " object for POST /cluster/command-keys or --command-keys.")
    static final class Keygen implements Callable<Integer> {
        @Option(names = "--key-id", required = true, paramLabel = "ID", description = "Name of the key.")
        String keyId;

        @Option(names = "--out", defaultValue = ".", paramLabel = "DIR", description = "Where to write (default: .).")
        Path out;

        @Option(names = "--subject", paramLabel = "NAME", description = "Who holds it (default: the key id).")
        String subject;

        @Option(names = "--roles", split = ",", defaultValue = "operator", paramLabel = "ROLE",
                description = "operator or admin (default: ${DEFAULT-VALUE}).")
        List<String> roles = new ArrayList<>();

        @Option(names = "--groups", split = ",", paramLabel = "GROUP", description = "Groups an operator key signs for.")
        List<String> groups = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            Path priv = out.resolve(keyId + ".pem");
            if (Files.exists(priv)) {
                throw new IllegalArgumentException(priv + " exists; choose another --key-id or --out");
            }
            Files.createDirectories(out);
            KeyPair pair = CommandSignature.generate();
            Files.writeString(priv, CommandSignature.pem(pair.getPrivate()));
            try {
                Files.setPosixFilePermissions(priv, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: the file keeps its default permissions
            }
            Files.writeString(out.resolve(keyId + ".pub.pem"), CommandSignature.pem(pair.getPublic()));
            ObjectNode reg = JSON.createObjectNode().put("key_id", keyId)
                    .put("public_key", CommandSignature.pem(pair.getPublic()))
                    .put("subject", subject != null ? subject : keyId);
            roles.forEach(reg.putArray("roles")::add);
            groups.forEach(reg.putArray("groups")::add);
            print(reg);
            System.err.println("Wrote " + priv + " (private: keep it secret) and " + out.resolve(keyId + ".pub.pem"));
            return 0;
        }
    }

    /** {@code ctl add-key FILE}: registers the key object {@code ctl keygen} printed (admin token). */
    @Command(name = "add-key", mixinStandardHelpOptions = true,
            description = "Register a signer key (the JSON object ctl keygen prints) with POST /cluster/command-keys.")
    static final class AddKey implements Callable<Integer> {
        @ParentCommand CtlCommand ctl;

        @Parameters(index = "0", paramLabel = "FILE", description = "JSON file with {key_id, public_key, subject, roles, groups}.")
        Path file;

        @Override
        public Integer call() throws Exception {
            print(ctl.call("POST", "/cluster/command-keys", Files.readString(file), null));
            return 0;
        }
    }
}
