package org.autoglm.node.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Webhook deliveries against a real HTTP receiver on loopback: the retry schedule, and a receiver that hangs. */
class WebhooksTest {

    private static final byte[] SECRET = "webhook-secret-0123456789".getBytes(StandardCharsets.UTF_8);

    @Test
    void aFailingReceiverGetsFiveAttemptsWithDoublingPausesAndNoMore() throws Exception {
        List<Long> arrivals = new CopyOnWriteArrayList<>();
        HttpServer server = receiver(exchange -> {
            arrivals.add(System.nanoTime());
            exchange.sendResponseHeaders(503, -1);
            exchange.close();
        });
        try (Webhooks hooks = new Webhooks(List.of(url(server)), SECRET, 100)) {
            hooks.post("{\"id\":1}");
            await().atMost(Duration.ofSeconds(30)).until(() -> arrivals.size() == Webhooks.MAX_ATTEMPTS);
            Thread.sleep(1_000); // a sixth attempt would come 1.6 s after the fifth, were there one
            assertThat(arrivals).hasSize(5);
            for (int i = 1; i < arrivals.size(); i++) { // pauses of at least 100, 200, 400, 800 ms
                long pause = TimeUnit.NANOSECONDS.toMillis(arrivals.get(i) - arrivals.get(i - 1));
                assertThat(pause).as("pause before attempt " + (i + 1)).isGreaterThanOrEqualTo(100L << (i - 1));
            }
        } finally {
            server.stop(0);
        }
    }

    @Test
    @Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aReceiverThatNeverAnswersDoesNotHoldUpThePoster() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch reached = new CountDownLatch(1);
        HttpServer server = receiver(exchange -> {
            reached.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        try (Webhooks hooks = new Webhooks(List.of(url(server)), SECRET, 100)) {
            hooks.post("{\"id\":0}");
            assertThat(reached.await(20, TimeUnit.SECONDS)).isTrue(); // the receiver now holds a delivery
            for (int i = 1; i <= 20_000; i++) { // more than the backlog: those past it are dropped, never waited for
                hooks.post("{\"id\":" + i + "}");
            }
            assertThat(hooks.dropped()).isPositive();
        } finally {
            release.countDown();
            server.stop(0);
        }
    }

    private static HttpServer receiver(com.sun.net.httpserver.HttpHandler handler) throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/hook", handler);
        server.setExecutor(Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "hook-receiver");
            t.setDaemon(true);
            return t;
        }));
        server.start();
        return server;
    }

    private static URI url(HttpServer server) {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/hook");
    }
}
