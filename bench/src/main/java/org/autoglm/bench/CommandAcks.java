package org.autoglm.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.autoglm.node.control.CommandSignature;

/**
 * Acknowledgement latency of signed group commands (issue 19's goal: acks from 3 loopback nodes at p99 &lt;= 1 s):
 * three {@code serve} processes of the node jar on loopback, one admin signer key, and sequential {@code set-log-level}
 * commands to {@code {"all": true}} posted to each node in turn. Each command's {@code ack_ms} per node (from its
 * acceptance to that node's ack, both written by the nodes) is collected until every node is done.
 */
public final class CommandAcks {

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: CommandAcks NODE_JAR MODEL_DIR [--commands 100] [--grid-port 47950]");
            System.exit(2);
        }
        Path jar = Path.of(args[0]);
        Path model = Path.of(args[1]);
        int commands = 100;
        int gridPort = 47950;
        for (int i = 2; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--commands" -> commands = Integer.parseInt(args[i + 1]);
                case "--grid-port" -> gridPort = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Path dir = Files.createTempDirectory("command-acks");
        KeyPair key = CommandSignature.generate();
        Files.writeString(dir.resolve("keys.json"), ServeNode.JSON.writeValueAsString(List.of(Map.of(
                "key_id", "bench", "public_key", CommandSignature.pem(key.getPublic()), "subject", "bench",
                "roles", List.of("admin"), "groups", List.of()))));
        List<ServeNode> nodes = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                nodes.add(new ServeNode("n" + i, jar, model, gridPort + i, gridPort, 3, Path.of("target", "command-acks"),
                        "--command-keys", dir.resolve("keys.json").toString(), "--num-kv-blocks", "64", "--block-size", "4")
                        .start());
            }
            ServeNode.awaitReady(nodes, 600); // a loaded machine is slow to form it
            for (int i = 0; i < 10; i++) { // warm-up, not counted
                settle(nodes.get(i % 3), key);
            }
            List<Double> acks = new ArrayList<>();
            for (int i = 0; i < commands; i++) {
                JsonNode settled = settle(nodes.get(i % 3), key);
                settled.get("nodes").forEach(n -> acks.add(n.get("ack_ms").asDouble()));
            }
            System.out.printf("command acks from 3 nodes: n=%d p50=%.0f ms p90=%.0f ms p99=%.0f ms max=%.0f ms"
                    + " (load average %.1f at the end)%n", acks.size(), ServeNode.percentile(acks, 50),
                    ServeNode.percentile(acks, 90), ServeNode.percentile(acks, 99), ServeNode.percentile(acks, 100),
                    java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        } finally {
            nodes.forEach(ServeNode::stop);
        }
    }

    /** Posts one signed command to every node through {@code via} and waits until each node is done. */
    private static JsonNode settle(ServeNode via, KeyPair key) throws Exception {
        String body = "{\"op\":\"set-log-level\",\"target\":{\"all\":true},\"args\":{\"level\":\"info\",\"logger\":"
                + "\"org.autoglm.bench\"},\"nonce\":\"" + UUID.randomUUID() + "\",\"expires_at\":"
                + (Instant.now().getEpochSecond() + 120) + ",\"key_id\":\"bench\"}";
        HttpResponse<String> posted = ServeNode.HTTP.send(HttpRequest.newBuilder(via.uri("/cluster/commands"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .header(CommandSignature.HEADER, CommandSignature.sign(key.getPrivate(), body))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        if (posted.statusCode() != 201) {
            throw new IllegalStateException("command refused: " + posted.statusCode() + " " + posted.body());
        }
        String id = ServeNode.JSON.readTree(posted.body()).get("id").asText();
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (true) {
            JsonNode c = via.getJson("/cluster/commands/" + id);
            if (c.at("/summary/done").asInt() == 3) {
                return c;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("command " + id + " not done on all 3 nodes within 30 s: " + c);
            }
            Thread.sleep(10); // polling a remote process: there is nothing to wait on
        }
    }
}
