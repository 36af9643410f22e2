package org.autoglm.gossip.dispatch;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.autoglm.gossip.grid.Daemons;

/**
 * Carries executing requests' output to their clients' nodes off the engine's thread. Each destination node has its
 * own lane (one thread), so a slow or dead node stalls only the streams bound for it, and the engine thread only
 * appends to a request's outbox. Messages of one request leave in order; those that piled up while the lane was busy
 * leave together as one batch message.
 */
final class StreamSender implements AutoCloseable {

    /** The network: sends one message on a topic to one node, and may block or throw. */
    interface Transport {
        void send(UUID node, String topic, StreamMessage message);
    }

    private final String name;
    private final Transport transport;
    private final Map<UUID, ExecutorService> lanes = new ConcurrentHashMap<>();
    private volatile boolean closed;

    StreamSender(String name, Transport transport) {
        this.name = name;
        this.transport = transport;
    }

    /**
     * The outbox of one request's stream to {@code destination}.
     *
     * @param undeliverable called (on the lane) when a send fails: the client's node is gone
     */
    Outbox outbox(String requestId, UUID destination, java.util.function.Consumer<RuntimeException> undeliverable) {
        return new Outbox(StreamMessage.topic(requestId), destination, undeliverable);
    }

    /** The node left: its lane stops (a send blocked on it is interrupted) and what was queued for it is dropped. */
    void forget(UUID destination) {
        ExecutorService lane = lanes.remove(destination);
        if (lane != null) {
            lane.shutdownNow();
        }
    }

    private ExecutorService lane(UUID destination) {
        return lanes.computeIfAbsent(destination, id -> {
            ThreadPoolExecutor lane = (ThreadPoolExecutor) Daemons.pool(
                    "autoglm-stream-" + name + "-" + id.toString().substring(0, 8), 1);
            lane.setKeepAliveTime(30, TimeUnit.SECONDS); // an idle lane (or one to a node that left) frees its thread
            lane.allowCoreThreadTimeOut(true);
            return lane;
        });
    }

    @Override
    public void close() {
        closed = true;
        lanes.keySet().forEach(this::forget);
    }

    /** One request's messages waiting for its lane. Appending never blocks. */
    final class Outbox {
        private final String topic;
        private final UUID destination;
        private final java.util.function.Consumer<RuntimeException> undeliverable;
        private List<StreamMessage> pending = new ArrayList<>();
        private boolean flushScheduled;
        /** A send failed: nothing more leaves (touched on the lane only). */
        private boolean broken;

        private Outbox(String topic, UUID destination, java.util.function.Consumer<RuntimeException> undeliverable) {
            this.topic = topic;
            this.destination = destination;
            this.undeliverable = undeliverable;
        }

        void add(StreamMessage message) {
            synchronized (this) {
                pending.add(message);
                if (flushScheduled) {
                    return; // the scheduled flush takes it along
                }
                flushScheduled = true;
            }
            try {
                if (closed) {
                    throw new RejectedExecutionException("sender closed");
                }
                lane(destination).execute(this::flush);
            } catch (RejectedExecutionException e) { // the node left meanwhile
                undeliverable.accept(e);
            }
        }

        /** On the lane: everything pending, in order, as one message. */
        private void flush() {
            List<StreamMessage> batch;
            synchronized (this) {
                batch = pending;
                pending = new ArrayList<>();
                flushScheduled = false;
            }
            if (batch.isEmpty() || broken) {
                return; // after a lost message the rest would leave a hole in the client's output
            }
            try {
                transport.send(destination, topic, batch.size() == 1 ? batch.get(0) : StreamMessage.batch(batch));
            } catch (RuntimeException e) {
                broken = true;
                undeliverable.accept(e);
            }
        }
    }
}
