package org.autoglm.node.workflow;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A local HTTP server for http steps: it records each call (path, Idempotency-Key, body, time), fails the first
 * {@code failures} calls to {@code /retry...} with 503, and can hold calls until released.
 */
final class HookServer implements AutoCloseable {

    record Call(String path, String idempotencyKey, String body, long atMillis) {}

    final List<Call> calls = new CopyOnWriteArrayList<>();
    final AtomicInteger failures = new AtomicInteger();
    volatile CountDownLatch gate = new CountDownLatch(0);
    private final HttpServer server;

    HookServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        server.createContext("/", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            calls.add(new Call(exchange.getRequestURI().getPath(), exchange.getRequestHeaders().getFirst("Idempotency-Key"),
                    body, System.currentTimeMillis()));
            try {
                gate.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            boolean fail = exchange.getRequestURI().getPath().startsWith("/retry") && failures.getAndDecrement() > 0;
            byte[] answer = (fail ? "{\"error\":\"try later\"}" : "{\"ok\":true,\"echo\":" + (body.isEmpty() ? "null" : body)
                    + "}").getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(fail ? 503 : 200, answer.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(answer);
            }
        });
        server.start();
    }

    int port() {
        return server.getAddress().getPort();
    }

    String url(String path) {
        return "http://127.0.0.1:" + port() + path;
    }

    @Override
    public void close() {
        gate.countDown();
        server.stop(0);
    }
}
