package org.autoglm.gossip.dispatch;

import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import org.autoglm.gossip.grid.Daemons;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.gossip.queue.QueuedRequest;
import org.autoglm.gossip.queue.RequestQueue;
import org.autoglm.gossip.queue.RequestState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The executing side: watches the queue for requests assigned to this node, claims each one (refused if the
 * assignment was superseded meanwhile), runs it on the local executor and streams its output to the node that
 * holds the client. A request whose client node is gone, or that its client cancelled, is stopped.
 */
public final class Worker implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Worker.class);
    /** Tries of one claim; a grid node leaving mid-commit rolls a claim back, and the next try usually succeeds. */
    private static final int CLAIM_TRIES = 5;

    private final GridNode grid;
    private final RequestQueue queue;
    private final RequestExecutor executor;
    private final ExecutorService claims;
    /** Running here: request id to the node holding its client. */
    private final Map<String, UUID> running = new ConcurrentHashMap<>();
    private final AutoCloseable watch;
    /** Output leaves on per-destination lanes: the engine thread never waits on the network. */
    private final StreamSender sender;

    public Worker(GridNode grid, RequestQueue queue, RequestExecutor executor) {
        this.grid = grid;
        this.queue = queue;
        this.executor = executor;
        this.claims = Daemons.pool("autoglm-worker-" + grid.name(), 1);
        this.sender = new StreamSender(grid.name(), (node, topic, message) ->
                grid.ignite().message(grid.ignite().cluster().forNodeId(node)).sendOrdered(topic, message, 0));
        grid.ignite().message().localListen(Dispatcher.CANCEL_TOPIC, (UUID sender, Object id) -> {
            stop((String) id);
            return true;
        });
        grid.onNodeGone(gone -> {
            sender.forget(gone);
            running.forEach((id, origin) -> {
                if (origin.equals(gone)) {
                    log.info("{}: its client's node left; stopping it", id);
                    stop(id);
                }
            });
        });
        this.watch = queue.listen(RequestState.ASSIGNED, grid.localId(), request -> claims.execute(() -> run(request)));
    }

    /** Requests running on this node. */
    public int running() {
        return running.size();
    }

    private void run(QueuedRequest assigned) {
        QueuedRequest request = claim(assigned);
        if (request == null) {
            log.debug("{}: assignment of term {} superseded, not run", assigned.id(), assigned.term());
            return;
        }
        running.put(request.id(), request.origin());
        Sink sink = new Sink(request);
        try {
            executor.start(request, sink);
        } catch (NodeBusyException e) {
            running.remove(request.id());
            log.debug("{}: {} is full, back to the queue: {}", request.id(), grid.name(), e.getMessage());
            queue.refused(request.id(), grid.localId(), "node " + grid.name() + " was full: " + e.getMessage());
        } catch (Exception e) {
            running.remove(request.id());
            String reason = "node " + grid.name() + " could not run it: " + e.getMessage();
            log.info("{}: {}", request.id(), reason);
            QueuedRequest after = queue.requeue(request.id(), grid.localId(), null, reason);
            if (after != null && after.state() == RequestState.FAILED) {
                sink.send(StreamMessage.error(request.attempts(), after.error()));
            }
        }
    }

    /**
     * Claims an assignment, trying again after a failed transaction. Null when refused, or when every try failed:
     * the client's node then sees the assignment not started and puts it back in the queue (claimTimeout).
     */
    private QueuedRequest claim(QueuedRequest assigned) {
        for (int attempt = 1; ; attempt++) {
            try {
                return attempt == 1 ? queue.claim(assigned.id(), assigned.term(), grid.localId())
                        : queue.claimAgain(assigned.id(), assigned.term(), grid.localId());
            } catch (RuntimeException e) {
                if (attempt == CLAIM_TRIES) {
                    log.warn("claim of {} failed {} times, giving it up: {}", assigned.id(), attempt, e.toString());
                    return null;
                }
                log.info("claim of {} failed, trying again: {}", assigned.id(), e.toString());
                try {
                    Thread.sleep(100L * attempt);
                } catch (InterruptedException stopping) {
                    Thread.currentThread().interrupt();
                    return null;
                }
            }
        }
    }

    private void stop(String requestId) {
        if (running.remove(requestId) != null) {
            executor.cancel(requestId);
        }
    }

    @Override
    public void close() {
        try {
            watch.close();
        } catch (Exception e) {
            log.debug("assignment watch not closed: {}", e.toString());
        }
        claims.shutdownNow();
        running.keySet().forEach(this::stop);
        sender.close();
    }

    /** Streams one attempt's output, in order, to the client's node; called from the engine's thread, never blocks. */
    private final class Sink implements RequestExecutor.ExecutionSink {
        private final QueuedRequest request;
        private final StreamSender.Outbox toOrigin;
        private int offset;

        Sink(QueuedRequest request) {
            this.request = request;
            this.toOrigin = sender.outbox(request.id(), request.origin(), e -> {
                log.info("{}: output not delivered ({}); stopping it", request.id(), e.toString());
                stop(request.id());
            });
            this.offset = request.resumeIds().length;
        }

        @Override
        public void scheduled() {
            send(StreamMessage.scheduled(request.attempts()));
        }

        @Override
        public synchronized void tokens(int[] tokenIds, byte[] payload) {
            send(StreamMessage.tokens(request.attempts(), offset, tokenIds, payload));
            offset += tokenIds.length;
        }

        @Override
        public void finish(byte[] payload) {
            running.remove(request.id());
            send(StreamMessage.finish(request.attempts(), payload));
        }

        @Override
        public void fail(String error) {
            running.remove(request.id());
            send(StreamMessage.error(request.attempts(), error));
        }

        synchronized void send(StreamMessage message) {
            toOrigin.add(message);
        }
    }
}
