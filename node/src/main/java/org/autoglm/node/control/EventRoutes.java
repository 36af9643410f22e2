package org.autoglm.node.control;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.autoglm.gossip.control.ClusterEvent;
import org.autoglm.gossip.control.EventRing;
import org.autoglm.node.api.ApiError;

/**
 * {@code GET /cluster/events}: server-sent events from the cluster's ring, {@code id:} the cluster-wide event number,
 * {@code event:} its type, {@code data:} JSON. {@code Last-Event-ID} (header, or {@code last_event_id} query) resumes
 * after that event while it is still in the ring; without it the stream starts with what happens next
 * ({@code ?replay=N} sends the last N first). A comment line every few seconds finds clients that left.
 */
final class EventRoutes {

    private static final int MAX_BACKLOG = 10_000;
    private final EventRing ring;
    private final Duration keepAlive;

    EventRoutes(EventRing ring, Duration keepAlive) {
        this.ring = ring;
        this.keepAlive = keepAlive;
    }

    void stream(Context ctx) throws IOException {
        long after = startAfter(ctx);
        BlockingQueue<ClusterEvent> live = new LinkedBlockingQueue<>(MAX_BACKLOG);
        try (AutoCloseable subscription = ring.listen(e -> {
            if (!live.offer(e)) live.clear(); // a client this far behind reconnects with Last-Event-ID
        })) {
            ctx.status(200);
            ctx.res().setContentType("text/event-stream; charset=utf-8");
            ctx.res().setHeader("Cache-Control", "no-cache");
            ctx.res().setHeader("X-Accel-Buffering", "no");
            OutputStream out = ctx.res().getOutputStream();
            // Ids are taken before events are stored, so one may land after a higher one: sent ids, not the highest,
            // say what the client has.
            java.util.Set<Long> sent = new java.util.HashSet<>();
            for (ClusterEvent e : ring.after(after)) {
                write(out, e);
                sent.add(e.id());
            }
            write(out, ": connected\n\n");
            while (true) {
                ClusterEvent e = live.poll(keepAlive.toMillis(), TimeUnit.MILLISECONDS);
                if (e == null) {
                    write(out, ": keep-alive\n\n");
                } else if (e.id() > after && sent.add(e.id())) {
                    write(out, e);
                    if (sent.size() > 2 * EventRing.CAPACITY) sent.removeIf(id -> id < e.id() - EventRing.CAPACITY);
                }
            }
        } catch (IOException | InterruptedException e) {
            // the client went away
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private long startAfter(Context ctx) {
        String header = ctx.header("Last-Event-ID");
        String raw = header != null ? header : ctx.queryParam("last_event_id");
        try {
            if (raw != null) {
                return Long.parseLong(raw.trim());
            }
            String replay = ctx.queryParam("replay");
            long latest = ring.latestId();
            return replay == null ? latest : Math.max(0, latest - Integer.parseInt(replay));
        } catch (NumberFormatException e) {
            throw ApiError.invalid(header != null ? "Last-Event-ID" : "last_event_id",
                    "Last-Event-ID must be the number of an event (its id: line).");
        }
    }

    static ObjectNode json(ClusterEvent e) {
        ObjectNode n = CommandRequest.JSON.createObjectNode();
        n.put("id", e.id()).put("type", e.type()).put("node", e.node()).put("time", e.timeMillis() / 1000.0);
        try {
            n.set("data", CommandRequest.JSON.readTree(e.data()));
        } catch (IOException ex) {
            n.put("data", e.data());
        }
        return n;
    }

    private static void write(OutputStream out, ClusterEvent e) throws IOException {
        write(out, "id: " + e.id() + "\nevent: " + e.type() + "\ndata: " + json(e) + "\n\n");
    }

    private static void write(OutputStream out, String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
