package org.autoglm.gossip.dispatch;

import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.autoglm.gossip.grid.Daemons;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.gossip.queue.QueuedRequest;
import org.autoglm.gossip.queue.RequestQueue;
import org.autoglm.gossip.queue.RequestState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The executing side: learns of requests assigned to this node, claims each one (refused if the assignment was
 * superseded meanwhile), runs it on the local executor and streams its output to the node that holds the client. A
 * request whose client node is gone, or that its client cancelled, is stopped.
 *
 * <p>Assignments arrive two ways: a continuous query's notice (fast), and a sweep of the queue every sweep interval
 * (sure). The notices alone are not enough: Ignite delivers them per partition in update-counter order, and after
 * a transaction's node dies mid-commit (the leader, killed while assigning) a partition's counter can skip an
 * update whose notice never comes; every later notice of that partition is then held back waiting for it. The
 * request in that partition was assigned again and again and never started ("did not start it within 10000 ms",
 * five times, then failed). The queue's state is the truth, so the worker also reads it.
 */
public final class Worker implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Worker.class);
    /** Tries of one claim; a grid node leaving mid-commit rolls a claim back, and the next try usually succeeds. */
    private static final int CLAIM_TRIES = 5;

    private final GridNode grid;
    private final RequestQueue queue;
    private final RequestExecutor executor;
    /**
     * One thread, claims best first: an interactive assignment is claimed before batch lines assigned earlier (each
     * claim is a transaction; in arrival order it waited behind every batch line this node was given).
     */
    private final ExecutorService claims;
    private final java.util.concurrent.atomic.AtomicLong claimOrder = new java.util.concurrent.atomic.AtomicLong();
    /** Running here: request id to the node holding its client. */
    private final Map<String, UUID> running = new ConcurrentHashMap<>();
    /** Assignments handed to the claim thread and not yet settled: a notice and a sweep must not both claim. */
    private final Set<String> claiming = ConcurrentHashMap.newKeySet();
    private final AutoCloseable watch;
    private final ScheduledExecutorService sweeper;
    /** Assignments (id to term/attempt) the last sweep found unclaimed; touched only by the sweep thread. */
    private Map<String, String> unclaimed = Map.of();
    /** Output leaves on per-destination lanes: the engine thread never waits on the network. */
    private final StreamSender sender;

    public Worker(GridNode grid, RequestQueue queue, RequestExecutor executor) {
        this(grid, queue, executor, true, null);
    }

    /** A worker that hears of no assignment by notice, only by its sweep (tests of the sweep). */
    static Worker sweepingOnly(GridNode grid, RequestQueue queue, RequestExecutor executor) {
        return new Worker(grid, queue, executor, false, null);
    }

    /** A worker whose output goes through {@code network} (tests of output that is lost on the way). */
    static Worker sendingThrough(GridNode grid, RequestQueue queue, RequestExecutor executor,
                                 java.util.function.UnaryOperator<StreamSender.Transport> network) {
        return new Worker(grid, queue, executor, true, network);
    }

    private Worker(GridNode grid, RequestQueue queue, RequestExecutor executor, boolean notices,
                   java.util.function.UnaryOperator<StreamSender.Transport> network) {
        this.grid = grid;
        this.queue = queue;
        this.executor = executor;
        this.claims = Daemons.prioritized("autoglm-worker-" + grid.name());
        StreamSender.Transport grids = (node, topic, message) ->
                grid.ignite().message(grid.ignite().cluster().forNodeId(node)).sendOrdered(topic, message, 0);
        this.sender = new StreamSender(grid.name(), network == null ? grids : network.apply(grids));
        grid.ignite().message().localListen(Dispatcher.CANCEL_TOPIC, (UUID sender, Object id) -> {
            stop((String) id);
            return true;
        });
        grid.onNodeGone(gone -> {
            sender.forget(gone);
            running.forEach((id, origin) -> {
                if (origin.equals(gone)) {
                    log.info("{}: its client's node left; stopping it and removing it from the queue", id);
                    stop(id);
                    forget(id);
                }
            });
        });
        this.watch = notices ? queue.listen(RequestState.ASSIGNED, grid.localId(), this::take) : () -> { };
        this.sweeper = Daemons.scheduler("autoglm-worker-sweep-" + grid.name());
        long period = grid.config().failover.sweepInterval.toMillis();
        sweeper.scheduleWithFixedDelay(this::sweep, period, period, TimeUnit.MILLISECONDS);
    }

    /** An assignment to this node, from a notice or a sweep: claimed once, on the claim thread. */
    private void take(QueuedRequest assigned) {
        if (running.containsKey(assigned.id()) || !claiming.add(assigned.id())) {
            return;
        }
        executor.arriving(assigned); // the engine may hold new batch work while the claim commits
        try {
            claims.execute(new Claim(assigned, claimOrder.incrementAndGet()));
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            claiming.remove(assigned.id());
        }
    }

    /**
     * Assignments to this node that no notice brought: the queue says they are ours, so they are claimed now. One
     * seen unclaimed in two sweeps in a row is taken (a notice normally beats the first sweep by far).
     */
    private void sweep() {
        try {
            Map<String, String> seen = new java.util.HashMap<>();
            for (QueuedRequest assigned : queue.assignedTo(grid.localId())) {
                String assignment = assigned.term() + "/" + assigned.attempts();
                if (running.containsKey(assigned.id()) || claiming.contains(assigned.id())) {
                    continue;
                }
                if (assignment.equals(unclaimed.get(assigned.id()))) {
                    log.info("{}: assigned here in term {} and no notice came; claiming it now", assigned.id(),
                            assigned.term());
                    take(assigned);
                } else {
                    seen.put(assigned.id(), assignment);
                }
            }
            unclaimed = seen;
        } catch (RuntimeException e) {
            log.debug("assignment sweep on {} failed: {}", grid.name(), e.toString());
        }
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
        sweeper.shutdownNow();
        claims.shutdownNow();
        running.keySet().forEach(this::stop);
        sender.close();
    }

    /** One assignment to claim and run; interactive before batch, then lower priority, then first come. */
    private final class Claim implements Runnable, Comparable<Claim> {
        private final QueuedRequest assigned;
        private final long order;

        Claim(QueuedRequest assigned, long order) {
            this.assigned = assigned;
            this.order = order;
        }

        @Override
        public void run() {
            try {
                Worker.this.run(assigned);
            } finally {
                claiming.remove(assigned.id());
            }
        }

        @Override
        public int compareTo(Claim other) {
            if (assigned.batch() != other.assigned.batch()) {
                return assigned.batch() ? 1 : -1;
            }
            int byPriority = Integer.compare(assigned.priority(), other.assigned.priority());
            return byPriority != 0 ? byPriority : Long.compare(order, other.order);
        }
    }

    /**
     * Output that did not reach the client's node (its connection broke, or the node was paused or cut off): the
     * attempt stops and sends nothing more, and the request goes back to the queue. Only stopping it left the queue
     * entry running here for ever: the client's node, once reachable again, saw a live node running it and waited
     * for output that never came (a stream open on a node woken from SIGSTOP never ended). Put back, the client's
     * node resumes it after the tokens its client has; if that node is gone, placement drops it.
     */
    private void abandon(QueuedRequest request, RuntimeException why) {
        log.info("{}: output not delivered to its client's node ({}); stopping it and putting it back in the queue",
                request.id(), why.toString());
        stop(request.id());
        boolean originAlive;
        try {
            originAlive = grid.isAlive(request.origin());
        } catch (RuntimeException stopping) {
            return; // this grid node is stopping: the client's node restarts the request elsewhere when it sees it gone
        }
        if (!originAlive) {
            forget(request.id()); // the client's node left the grid: nobody will ever read this output
            return;
        }
        try {
            sweeper.execute(() -> {
                try {
                    queue.requeue(request.id(), grid.localId(), null, "its output could not be delivered from node "
                            + grid.name() + " to the client's node");
                } catch (RuntimeException e) {
                    log.info("{}: not put back in the queue ({}); its client's node restarts it when it sees this"
                            + " node gone", request.id(), e.toString());
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // this worker is closing: its grid node leaves, and the client's node restarts the request elsewhere
        }
    }

    /**
     * Removes the queue entry of a request whose client's node left the grid (off the caller's thread): put back, it
     * would be placed and run again for nobody; left, it is a stray entry in the queue.
     */
    private void forget(String requestId) {
        try {
            sweeper.execute(() -> {
                try {
                    queue.remove(requestId);
                } catch (RuntimeException e) {
                    log.info("{}: not removed from the queue ({}); the leader drops it when it sees its client's node"
                            + " gone", requestId, e.toString());
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // this worker is closing: the leader drops the entry
        }
    }

    /** Streams one attempt's output, in order, to the client's node; called from the engine's thread, never blocks. */
    private final class Sink implements RequestExecutor.ExecutionSink {
        private final QueuedRequest request;
        private final StreamSender.Outbox toOrigin;
        private int offset;
        /** Set once output was lost: the rest of this attempt (its cancellation included) must not reach the client. */
        private volatile boolean abandoned;

        Sink(QueuedRequest request) {
            this.request = request;
            this.toOrigin = sender.outbox(request.id(), request.origin(), e -> {
                if (!abandoned) {
                    abandoned = true;
                    abandon(request, e);
                }
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
            if (!abandoned) {
                toOrigin.add(message);
            }
        }
    }
}
