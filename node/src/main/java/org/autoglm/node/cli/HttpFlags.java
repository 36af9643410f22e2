package org.autoglm.node.cli;

import java.nio.file.Path;
import java.time.Duration;
import org.autoglm.node.api.ApiServer;
import picocli.CommandLine.Option;

/**
 * The HTTP server's {@code serve} flags, mixed into the command. Defaults come from {@link ApiServer.Config} (the
 * one place they are written); {@link #validate} runs before anything starts and {@link #configure} fills the config.
 */
final class HttpFlags {

    private static final ApiServer.Config DEFAULTS = new ApiServer.Config();

    @Option(names = "--host", description = "Address to bind (default: ${DEFAULT-VALUE}).")
    String host = DEFAULTS.host;

    @Option(names = "--port", description = "Port (default: ${DEFAULT-VALUE}; 0 = any free port).")
    int port = DEFAULTS.port;

    @Option(names = "--max-request-bytes",
            description = "Largest request body accepted; larger ones get 413 (default: ${DEFAULT-VALUE}).")
    long maxRequestBytes = DEFAULTS.maxRequestBytes;

    @Option(names = "--max-file-bytes", paramLabel = "BYTES",
            description = "Largest file POST /v1/files accepts; larger ones get 413 (default: ${DEFAULT-VALUE}, 200 MB).")
    long maxFileBytes = DEFAULTS.maxFileBytes;

    @Option(names = "--rate-limit-requests", paramLabel = "N",
            description = "Requests per minute one user (JWT subject) may make to the inference routes, counted over the"
                    + " whole cluster; beyond it 429 with Retry-After; 0 = no limit (default: ${DEFAULT-VALUE}).")
    long rateLimitRequests;

    @Option(names = "--rate-limit-tokens", paramLabel = "N",
            description = "Tokens (prompt + max_tokens) per minute one user may use, counted over the whole cluster;"
                    + " 0 = no limit (default: ${DEFAULT-VALUE}).")
    long rateLimitTokens;

    @Option(names = "--request-timeout", paramLabel = "SECONDS",
            description = "Give up on a request after this long (finish reason cancelled); 0 = never (default: ${DEFAULT-VALUE}).")
    long requestTimeoutSeconds = DEFAULTS.requestTimeout == null ? 0 : DEFAULTS.requestTimeout.toSeconds();

    @Option(names = "--default-max-tokens", paramLabel = "N",
            description = "Tokens generated for a request that sets no max_tokens; 0 = up to the end of the context,"
                    + " as OpenAI does (default: ${DEFAULT-VALUE}).")
    int defaultMaxTokens = DEFAULTS.defaultMaxTokens;

    @Option(names = "--session-ttl", paramLabel = "SECONDS",
            description = "Idle time after which a session expires, unless it sets ttl_seconds (default: ${DEFAULT-VALUE}).")
    long sessionTtlSeconds = DEFAULTS.sessionTtl.toSeconds();

    @Option(names = "--max-sessions-per-user", paramLabel = "N",
            description = "Live sessions one user (JWT subject) may hold; 0 for no limit (default: ${DEFAULT-VALUE}).")
    int maxSessionsPerUser = DEFAULTS.maxSessionsPerUser;

    @Option(names = "--idle-timeout", paramLabel = "SECONDS",
            description = "Close a connection idle (no request, no bytes) this long (default: ${DEFAULT-VALUE}).")
    long idleTimeoutSeconds = DEFAULTS.idleTimeout.toSeconds();

    @Option(names = "--io-timeout", paramLabel = "SECONDS",
            description = "A request body read or response write (SSE included) that makes no progress this long fails:"
                    + " 408 for a body, cancellation for a stream (default: ${DEFAULT-VALUE}).")
    long ioTimeoutSeconds = DEFAULTS.ioTimeout.toSeconds();

    @Option(names = "--min-request-data-rate", paramLabel = "BYTES_PER_SECOND",
            description = "A request body slower than this on average gets 408; 0 = no minimum (default: ${DEFAULT-VALUE}).")
    long minRequestDataRate = DEFAULTS.minRequestDataRate;

    @Option(names = "--tls-keystore", paramLabel = "P12", description = "Serve HTTPS with this PKCS#12 keystore.")
    Path tlsKeystore;

    @Option(names = "--tls-keystore-password", paramLabel = "PASS", defaultValue = "${env:AUTOGLM_TLS_PASSWORD:-}",
            description = "Keystore password (default: $AUTOGLM_TLS_PASSWORD).")
    String tlsPassword;

    /** Every value in range, or {@link IllegalArgumentException} naming the flag. */
    void validate() {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--port must be 0 (any free port) to 65535, got " + port);
        }
        if (maxRequestBytes < 1) {
            throw new IllegalArgumentException("--max-request-bytes must be at least 1, got " + maxRequestBytes);
        }
        if (maxFileBytes < 1) {
            throw new IllegalArgumentException("--max-file-bytes must be at least 1, got " + maxFileBytes);
        }
        if (rateLimitRequests < 0 || rateLimitTokens < 0) {
            throw new IllegalArgumentException("--rate-limit-requests and --rate-limit-tokens must be 0 (no limit) or"
                    + " more per minute, got " + rateLimitRequests + " and " + rateLimitTokens);
        }
        if (requestTimeoutSeconds < 0) {
            throw new IllegalArgumentException("--request-timeout must be 0 (never) or more seconds, got "
                    + requestTimeoutSeconds);
        }
        if (defaultMaxTokens < 0) {
            throw new IllegalArgumentException("--default-max-tokens must be 0 (to the end of the context) or more, got "
                    + defaultMaxTokens);
        }
        if (sessionTtlSeconds < 1) {
            throw new IllegalArgumentException("--session-ttl must be at least 1 second, got " + sessionTtlSeconds);
        }
        if (maxSessionsPerUser < 0) {
            throw new IllegalArgumentException("--max-sessions-per-user must be 0 (no limit) or more, got "
                    + maxSessionsPerUser);
        }
        if (idleTimeoutSeconds < 1) {
            throw new IllegalArgumentException("--idle-timeout must be at least 1 second, got " + idleTimeoutSeconds);
        }
        if (ioTimeoutSeconds < 1) {
            throw new IllegalArgumentException("--io-timeout must be at least 1 second, got " + ioTimeoutSeconds);
        }
        if (minRequestDataRate < 0) {
            throw new IllegalArgumentException("--min-request-data-rate must be 0 (no minimum) or more bytes per second,"
                    + " got " + minRequestDataRate);
        }
        if (tlsKeystore != null && !java.nio.file.Files.isReadable(tlsKeystore)) {
            throw new IllegalArgumentException("--tls-keystore " + tlsKeystore + ": no such readable file");
        }
    }

    void configure(ApiServer.Config c) {
        c.host = host;
        c.port = port;
        c.tlsKeystore = tlsKeystore;
        c.tlsPassword = tlsPassword;
        c.maxRequestBytes = maxRequestBytes;
        c.maxFileBytes = maxFileBytes;
        c.requestTimeout = requestTimeoutSeconds > 0 ? Duration.ofSeconds(requestTimeoutSeconds) : null;
        c.defaultMaxTokens = defaultMaxTokens;
        c.sessionTtl = Duration.ofSeconds(sessionTtlSeconds);
        c.maxSessionsPerUser = maxSessionsPerUser;
        c.idleTimeout = Duration.ofSeconds(idleTimeoutSeconds);
        c.ioTimeout = Duration.ofSeconds(ioTimeoutSeconds);
        c.minRequestDataRate = minRequestDataRate;
    }

    String scheme() {
        return tlsKeystore != null ? "https" : "http";
    }
}
