package org.autoglm.node.cli;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.autoglm.gossip.control.CommandKey;
import org.autoglm.node.control.CommandKeys;
import org.autoglm.node.control.ControlPlane;
import picocli.CommandLine.Option;

/** The group-control flags of {@code serve}, mixed into the command; {@link #settings()} checks them. */
final class ControlFlags {

    private static final ControlPlane.Settings DEFAULTS = new ControlPlane.Settings();

    @Option(names = "--command-keys", paramLabel = "FILE",
            description = "Signer keys for /cluster/commands: a JSON list of {key_id, public_key (PEM), subject, roles,"
                    + " groups}, registered cluster-wide at start.")
    Path commandKeys;

    @Option(names = "--webhook", paramLabel = "URL",
            description = "POST every cluster event as JSON to URL (repeatable), HMAC-signed in X-Signature.")
    List<URI> webhooks = new ArrayList<>();

    @Option(names = "--webhook-secret-file", paramLabel = "FILE",
            description = "The HMAC-SHA256 key for --webhook's X-Signature header (required with --webhook).")
    Path webhookSecretFile;

    @Option(names = "--anomaly-intervals", paramLabel = "N",
            description = "Intervals in a row beyond 3 sigma of its baselines before a node is flagged anomalous"
                    + " (default: ${DEFAULT-VALUE}).")
    int anomalyIntervals = DEFAULTS.anomalyIntervals;

    @Option(names = "--anomaly-interval", paramLabel = "MILLIS",
            description = "Length of one anomaly-detection interval (default: ${DEFAULT-VALUE}).")
    long anomalyIntervalMillis = DEFAULTS.anomalyInterval.toMillis();

    /** {@code --command-keys}, read and checked (the file and the bad key named). */
    List<CommandKey> keys() {
        return commandKeys == null ? List.of() : CommandKeys.load(commandKeys);
    }

    /** The checked settings; a bad flag throws with the flag named. */
    ControlPlane.Settings settings() {
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
}
