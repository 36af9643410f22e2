package org.autoglm.node.control;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.autoglm.gossip.grid.Daemons;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --webhook URL}: every cluster event this node sees is POSTed as JSON to each URL, with
 * {@code X-Signature: sha256=<hex HMAC-SHA256 of the body>} under {@code --webhook-secret-file}'s secret. A failed
 * delivery is retried with exponential backoff (0.5 s, 1 s, 2 s, 4 s), at most 5 attempts in all. Deliveries run on
 * their own threads with a bounded backlog: a slow or dead receiver loses events past the backlog, never slows the node.
 */
public final class Webhooks implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Webhooks.class);
    static final int MAX_ATTEMPTS = 5;
    static final long FIRST_BACKOFF_MILLIS = 500;
    private static final int BACKLOG = 10_000;

    private final List<URI> targets;
    private final byte[] secret;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final ScheduledExecutorService retries = Daemons.scheduler("autoglm-webhook-retry");
    private final ThreadPoolExecutor senders;
    private final AtomicLong dropped = new AtomicLong();
    private final long firstBackoffMillis;

    public Webhooks(List<URI> targets, byte[] secret) {
        this(targets, secret, FIRST_BACKOFF_MILLIS);
    }

    /** @param firstBackoffMillis the pause before the second attempt; it doubles for each one after */
    Webhooks(List<URI> targets, byte[] secret, long firstBackoffMillis) {
        this.firstBackoffMillis = firstBackoffMillis;
        this.targets = List.copyOf(targets);
        this.secret = secret.clone();
        this.senders = new ThreadPoolExecutor(2, 2, 0, TimeUnit.MILLISECONDS,
                new java.util.concurrent.LinkedBlockingQueue<>(BACKLOG), r -> {
                    Thread t = new Thread(r, "autoglm-webhook");
                    t.setDaemon(true);
                    return t;
                }, (r, pool) -> dropped.incrementAndGet());
    }

    public boolean enabled() {
        return !targets.isEmpty();
    }

    /** Queues {@code json} for every URL; returns at once. */
    public void post(String json) {
        for (URI target : targets) {
            senders.execute(() -> attempt(target, json, 1));
        }
    }

    /** Events not delivered because the backlog was full. */
    public long dropped() {
        return dropped.get();
    }

    public static String signature(byte[] secret, String body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            return "sha256=" + HexFormat.of().formatHex(mac.doFinal(body.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private void attempt(URI target, String json, int attempt) {
        int status;
        try {
            HttpRequest request = HttpRequest.newBuilder(target).timeout(Duration.ofSeconds(10))
                    .header("Content-Type", "application/json").header("X-Signature", signature(secret, json))
                    .POST(HttpRequest.BodyPublishers.ofString(json)).build();
            status = http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (java.io.IOException e) {
            status = -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (status / 100 == 2) {
            return;
        }
        if (attempt >= MAX_ATTEMPTS) {
            log.warn("webhook {} gave up on an event after {} attempts (last status {})", target, attempt, status);
            return;
        }
        long backoff = firstBackoffMillis << (attempt - 1);
        retries.schedule(() -> senders.execute(() -> attempt(target, json, attempt + 1)), backoff, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        retries.shutdownNow();
        senders.shutdownNow();
    }
}
