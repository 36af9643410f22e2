package org.autoglm.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Server-sent events on a POST response: {@code data: {json}\n\n} per event, flushed at once, and
 * {@code data: [DONE]} at the end. A failed write means the client went away.
 */
final class SseWriter {

    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8);

    private final OutputStream out;

    SseWriter(Context ctx) throws IOException {
        ctx.status(200);
        ctx.res().setContentType("text/event-stream; charset=utf-8");
        ctx.res().setHeader("Cache-Control", "no-cache");
        ctx.res().setHeader("X-Accel-Buffering", "no"); // tell proxies not to buffer the stream
        this.out = ctx.res().getOutputStream();
    }

    void send(JsonNode event) throws IOException {
        out.write(("data: " + JsonBody.MAPPER.writeValueAsString(event) + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    void done() throws IOException {
        out.write(DONE);
        out.flush();
    }
}
