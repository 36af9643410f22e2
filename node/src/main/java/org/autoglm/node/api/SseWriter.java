package org.autoglm.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Server-sent events on a POST response: {@code data: {json}\n\n} per event, flushed at once, and
 * {@code data: [DONE]} at the end. A failed write means the client went away.
 */
final class SseWriter {

    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8);
    private static final byte[] KEEP_ALIVE = ": keep-alive\n\n".getBytes(StandardCharsets.UTF_8);

    private final OutputStream out;
    private long lastWriteNanos = System.nanoTime();

    SseWriter(Context ctx) throws IOException {
        ctx.status(200);
        ctx.res().setContentType("text/event-stream; charset=utf-8");
        ctx.res().setHeader("Cache-Control", "no-cache");
        ctx.res().setHeader("X-Accel-Buffering", "no"); // tell proxies not to buffer the stream
        this.out = ctx.res().getOutputStream();
    }

    void send(JsonNode event) throws IOException {
        write(("data: " + JsonBody.MAPPER.writeValueAsString(event) + "\n\n").getBytes(StandardCharsets.UTF_8));
    }

    void done() throws IOException {
        write(DONE);
    }

    /** An SSE comment: ignored by clients, fails if the client is gone. */
    void keepAlive() throws IOException {
        write(KEEP_ALIVE);
    }

    Duration idleFor() {
        return Duration.ofNanos(System.nanoTime() - lastWriteNanos);
    }

    private void write(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
        lastWriteNanos = System.nanoTime();
    }
}
