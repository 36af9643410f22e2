package org.autoglm.gossip.dispatch;

import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.ignite.lang.IgniteBiPredicate;
import org.autoglm.gossip.grid.Daemons;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.gossip.queue.QueuedRequest;
import org.autoglm.gossip.queue.RequestQueue;
import org.autoglm.gossip.queue.RequestState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The receiving side of a request: puts it into the queue, listens on its stream topic, and hands the output to
 * the client's listener. It owns the request until the end: when the executing node dies it re-queues the request
 * with the tokens the client already has (the restart point), and it fails a request that no node could ever take.
 *
 * <p>A request is never failed because placement is slow (no leader for a while, leaders changing, every node busy
 * or suspect): it stays queued until a node takes it or its client goes. After the placement timeout it fails only
 * when no live node serves its model and tags at all, or when this node is cut off from the majority.
 */
public final class Dispatcher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Dispatcher.class);
    /**
     * Where a request's time to first token went, one line per request at its first token (off unless the logger
     * {@code autoglm.timeline} is at debug): see {@link Stream#timeline}.
     */
    private static final Logger timeline = LoggerFactory.getLogger("autoglm.timeline");
    static final String CANCEL_TOPIC = "autoglm.cancel";

    private final GridNode grid;
    private final RequestQueue queue;
    private final Map<String, Stream> streams = new ConcurrentHashMap<>();
    private final ExecutorService events;
    private final ScheduledExecutorService watchdog;
    /** Why no node could ever take a request (none serves its model and tags), or null when some node could. */
    private final java.util.function.Function<QueuedRequest, String> unservable;

    public Dispatcher(GridNode grid, RequestQueue queue, java.util.function.Function<QueuedRequest, String> unservable) {
        this.grid = grid;
        this.queue = queue;
        this.unservable = unservable;
        this.events = Daemons.pool("autoglm-dispatch-" + grid.name(), 1);
        this.watchdog = Daemons.scheduler("autoglm-watchdog-" + grid.name());
        grid.onNodeGone(gone -> onEventsThread(() -> nodeGone(gone)));
        long period = grid.config().failover.sweepInterval.toMillis();
        watchdog.scheduleWithFixedDelay(this::checkAll, period, period, TimeUnit.MILLISECONDS);
    }

    /**
     * Accepts a request: from now on {@code listener} gets its tokens and exactly one end.
     *
     * @throws IllegalStateException when the queue refuses it (duplicate id, or this node is in a minority)
     */
    public void submit(QueuedRequest request, StreamListener listener) {
        Stream stream = new Stream(request.id(), listener);
        if (streams.putIfAbsent(request.id(), stream) != null) {
            throw new IllegalStateException("request id " + request.id() + " is already being served here");
        }
        grid.ignite().message().localListen(StreamMessage.topic(request.id()), stream);
        try {
            queue.enqueue(request);
            stream.enqueuedAtMillis = System.currentTimeMillis();
            stream.enqueued = true;
        } catch (RuntimeException e) {
            close(stream);
            throw new IllegalStateException("the cluster queue did not accept " + request.id() + ": "
                    + e.getMessage(), e);
        }
    }

    /** Stops a request wherever it runs; the listener hears nothing more. False when unknown or finished. */
    public boolean cancel(String requestId) {
        Stream stream = streams.get(requestId);
        if (stream == null || !stream.end()) {
            return false;
        }
        close(stream);
        try {
            QueuedRequest entry = queue.cancel(requestId);
            if (entry != null && entry.assignee() != null && grid.isAlive(entry.assignee())) {
                grid.ignite().message(grid.ignite().cluster().forNodeId(entry.assignee()))
                        .send(CANCEL_TOPIC, requestId);
            }
            queue.done(requestId);
        } catch (RuntimeException e) {
            log.debug("cancel of {} not propagated: {}", requestId, e.toString());
        }
        return true;
    }

    /**
     * Stops a request whose client another node holds (a cancel command run where the request runs): marked
     * cancelled so that nobody places or claims it again; one running is stopped on its node, whose engine ends it as
     * cancelled to its client; one not running yet fails with {@code reason}, which its client's node passes on.
     * False when it is unknown, finished, or this node holds its client (cancel it through {@link #cancel}).
     */
    public boolean stopElsewhere(String requestId, String reason) {
        if (streams.containsKey(requestId)) {
            return false;
        }
        QueuedRequest entry = queue.cancel(requestId);
        if (entry == null) {
            return false;
        }
        if (entry.state() == RequestState.RUNNING && entry.assignee() != null && grid.isAlive(entry.assignee())) {
            grid.ignite().message(grid.ignite().cluster().forNodeId(entry.assignee())).send(CANCEL_TOPIC, requestId);
        } else {
            queue.fail(requestId, reason);
        }
        return true;
    }

    /** Requests this node is serving to its clients. */
    public int active() {
        return streams.size();
    }

    private void close(Stream stream) {
        streams.remove(stream.id, stream);
        try {
            grid.ignite().message().stopLocalListen(StreamMessage.topic(stream.id), stream);
        } catch (RuntimeException e) {
            // The grid node stopped under us (segmented: the node rejoins on a fresh one) and its listeners went with
            // it. This used to throw out of fail(), so the client was never told and its stream stayed open for ever.
            log.debug("listener of {} not removed: {}", stream.id, e.toString());
        }
    }

    /** Executing node died: give the request back to the queue with what the client already has. */
    private void nodeGone(UUID gone) {
        for (Stream stream : streams.values()) {
            try {
                QueuedRequest entry = queue.get(stream.id);
                if (entry != null && gone.equals(entry.assignee())
                        && (entry.state() == RequestState.ASSIGNED || entry.state() == RequestState.RUNNING)) {
                    restart(stream, entry, "node " + gone + " left the grid");
                }
            } catch (RuntimeException e) {
                log.warn("could not re-queue {} after node {} left: {}", stream.id, gone, e.toString());
            }
        }
    }

    private void restart(Stream stream, QueuedRequest entry, String reason) {
        int[] delivered = stream.fence(entry.attempts() + 1);
        QueuedRequest after = queue.requeue(stream.id, entry.assignee(), delivered, reason);
        if (after == null) {
            return;
        }
        if (after.state() == RequestState.FAILED) {
            fail(stream, after.error());
        } else {
            stream.restartPendingClock();
            log.info("{} re-queued after {} tokens: {}", stream.id, delivered.length, reason);
        }
    }

    /** Stops an attempt whose output did not fit the client's and puts the request back after what the client has. */
    private void resumeAfterMismatch(Stream stream, int attempt) {
        try {
            QueuedRequest entry = queue.get(stream.id);
            if (entry == null || entry.attempts() != attempt || entry.assignee() == null
                    || !(entry.state() == RequestState.ASSIGNED || entry.state() == RequestState.RUNNING)) {
                return; // moved on meanwhile
            }
            if (grid.isAlive(entry.assignee())) {
                grid.ignite().message(grid.ignite().cluster().forNodeId(entry.assignee())).send(CANCEL_TOPIC, stream.id);
            }
            restart(stream, entry, "attempt " + attempt + "'s output did not continue the client's");
        } catch (RuntimeException e) {
            log.warn("could not resume {} after mismatched output: {}", stream.id, e.toString());
        }
    }

    /** Once per sweep interval: catch what events missed, fail what waited too long. */
    private void checkAll() {
        long now = System.currentTimeMillis();
        long timeout = grid.config().failover.placementTimeout.toMillis();
        long claimTimeout = grid.config().failover.claimTimeout.toMillis();
        for (Stream stream : streams.values()) {
            if (!stream.enqueued) {
                continue; // submit() is still putting it in
            }
            try {
                QueuedRequest entry = queue.get(stream.id);
                if (entry == null) {
                    fail(stream, "request " + stream.id + " was lost from the cluster queue");
                } else if (entry.state() == RequestState.FAILED) {
                    fail(stream, entry.error());
                } else if (entry.state() == RequestState.PENDING) {
                    if (entry.attempts() >= stream.minAttempt()) { // the leader re-queued it: we hold the restart point
                        queue.updateResume(stream.id, stream.fence(entry.attempts() + 1));
                        stream.restartPendingClock();
                    }
                    if (now - stream.pendingSinceMillis(entry) > timeout) {
                        failUnplaceable(stream, entry, timeout);
                    }
                } else if (entry.assignee() != null && !grid.isAlive(entry.assignee())) {
                    restart(stream, entry, "node " + entry.assignee() + " is gone");
                } else if (entry.state() == RequestState.ASSIGNED && now - stream.assignedSinceMillis(entry, now) > claimTimeout) {
                    restart(stream, entry, "node " + entry.assignee() + " did not start it within " + claimTimeout + " ms");
                }
            } catch (RuntimeException e) {
                log.debug("check of {} failed: {}", stream.id, e.toString());
            }
        }
    }

    /**
     * A request waiting past the placement timeout fails only when it cannot be placed at all: this node lost the
     * majority (the queue takes no writes here), or no live node serves its model with its tags. Otherwise it waits.
     */
    private void failUnplaceable(Stream stream, QueuedRequest entry, long timeout) {
        if (!grid.hasQuorum()) {
            unavailable(stream, "node " + grid.name() + " is cut off from the majority of the cluster (it sees "
                    + grid.serverNodeIds().size() + " of " + grid.config().expectedNodes + " expected nodes) and"
                    + " could not place request " + stream.id + " within " + timeout / 1000 + " s; send it to another"
                    + " node, or again once the cluster is whole");
            return;
        }
        String why = unservable.apply(entry);
        if (why == null) {
            if (stream.noteSlowPlacement()) {
                log.info("{} still waits for placement after {} s (a node can take it: it stays queued)", stream.id,
                        timeout / 1000);
            }
            return;
        }
        String error = "no node could take request " + stream.id + " within " + timeout / 1000 + " s: " + why
                + "; check GET /cluster/nodes";
        if (queue.fail(stream.id, error)) {
            fail(stream, error);
        }
    }

    private void fail(Stream stream, String error) {
        if (stream.end()) {
            close(stream);
            stream.listener.onError(error);
        }
    }

    /** Ends a request that this node cannot finish now (it rejoins, stops, or lost the majority): send it again. */
    private void unavailable(Stream stream, String why) {
        if (stream.end()) {
            close(stream);
            stream.listener.onUnavailable(why);
        }
    }

    @Override
    public void close() {
        close("node " + grid.name() + " is shutting down; send the request again, to another node");
    }

    /**
     * Runs {@code task} on the events thread, unless this dispatcher is closed: the grid node outlives it during a
     * rejoin or a shutdown (its node-gone events and late stream messages still come), and the clients it served
     * have already been told how their requests ended, so what those would do is moot.
     */
    private void onEventsThread(Runnable task) {
        try {
            events.execute(task);
        } catch (java.util.concurrent.RejectedExecutionException closed) {
            log.debug("dispatcher of {} is closed; dropped a task after it", grid.name());
        }
    }

    /** Stops, ending every request this node still serves to its clients with {@code why}. */
    public void close(String why) {
        watchdog.shutdownNow();
        events.shutdownNow();
        for (Stream stream : streams.values()) {
            try {
                unavailable(stream, why);
            } catch (RuntimeException e) { // one client's failing listener must not leave the others waiting
                log.warn("could not end {}: {}", stream.id, e.toString());
            }
        }
    }

    /** One request's stream; messages arrive in order per sender, a lock keeps attempts apart. */
    private final class Stream implements IgniteBiPredicate<UUID, Object> {
        final String id;
        final StreamListener listener;
        private int[] delivered = new int[0];
        private int minAttempt = 1;
        private boolean ended;
        private long pendingSince = -1;
        private String assignment;
        private long assignedSince;
        private boolean slowPlacementNoted;
        volatile boolean enqueued;
        /** When the queue took it, when the engine first scheduled it, when its first token came (this node's clock). */
        volatile long enqueuedAtMillis;
        private long scheduledAtMillis;

        Stream(String id, StreamListener listener) {
            this.id = id;
            this.listener = listener;
        }

        @Override
        public boolean apply(UUID sender, Object raw) {
            synchronized (this) {
                receive((StreamMessage) raw);
                return !ended;
            }
        }

        private void receive(StreamMessage message) {
            if (message.kind == StreamMessage.Kind.BATCH) { // messages that piled up at the sender, in order
                message.parts.forEach(this::receive);
                return;
            }
            if (ended || message.attempt < minAttempt) {
                return; // a dead attempt's leftovers
            }
            minAttempt = message.attempt; // a newer attempt silences older ones
            pendingSince = -1;
            switch (message.kind) {
                case SCHEDULED -> {
                    if (scheduledAtMillis == 0) {
                        scheduledAtMillis = System.currentTimeMillis();
                    }
                    listener.onScheduled();
                }
                case TOKENS -> {
                    boolean first = delivered.length == 0;
                    accept(message);
                    if (first && delivered.length > 0 && timeline.isDebugEnabled()) {
                        long firstToken = System.currentTimeMillis();
                        long scheduled = scheduledAtMillis;
                        onEventsThread(() -> timeline(firstToken, scheduled));
                    }
                }
                case FINISH -> {
                    ended = true;
                    streams.remove(id, this); // returning false from apply stops this listener
                    listener.onFinish(message.payload);
                    later(() -> queue.done(id));
                }
                case ERROR -> {
                    ended = true;
                    streams.remove(id, this);
                    listener.onError(message.error);
                    later(() -> queue.fail(id, message.error));
                }
                case BATCH -> throw new IllegalStateException("batches are unpacked above");
            }
        }

        /**
         * Takes tokens that start exactly where the client's output ends. Tokens the client has already (an attempt
         * that resumed from an older restart point repeats them) are skipped. A message that overlaps the end (part
         * repeat, part new) or starts past it cannot be taken apart here (its text belongs to all its tokens), so that
         * attempt is silenced and the request resumes from exactly what the client has, on the events thread.
         */
        private void accept(StreamMessage message) {
            int have = delivered.length;
            if (message.offset + message.tokenIds.length <= have) {
                return; // a restarted attempt repeating tokens the client already has
            }
            if (message.offset != have) {
                int attempt = message.attempt;
                minAttempt = attempt + 1;
                log.warn("{}: attempt {} sent tokens {}..{} while the client has {}; resuming from there", id, attempt,
                        message.offset, message.offset + message.tokenIds.length, have);
                onEventsThread(() -> resumeAfterMismatch(this, attempt));
                return;
            }
            int[] next = Arrays.copyOf(delivered, have + message.tokenIds.length);
            System.arraycopy(message.tokenIds, 0, next, have, message.tokenIds.length);
            delivered = next;
            listener.onTokens(message.tokenIds, message.payload);
        }

        /**
         * One line: the stages of the time to the first token, in ms. Accepted (the request made) to queued (the queue
         * transaction done), queued to assigned (the leader noticed, placed and wrote it), assigned to claimed (the
         * executing node's claim transaction), claimed to admitted (the engine scheduled it), admitted to the first
         * token here. Stamps come from the nodes' wall clocks (one host in the benchmarks).
         */
        private void timeline(long firstToken, long scheduled) {
            try {
                QueuedRequest entry = queue.get(id);
                if (entry == null) {
                    return;
                }
                long accepted = entry.enqueuedAtMillis();
                timeline.debug("timeline {} batch={} attempt={} queued={} assigned={} claimed={} admitted={} first={}"
                                + " total={} at={}", id, entry.batch(), entry.attempts(), enqueuedAtMillis - accepted,
                        entry.assignedAtMillis() - enqueuedAtMillis, entry.claimedAtMillis() - entry.assignedAtMillis(),
                        scheduled == 0 ? -1 : scheduled - entry.claimedAtMillis(),
                        scheduled == 0 ? -1 : firstToken - scheduled, firstToken - accepted, firstToken);
            } catch (RuntimeException e) {
                timeline.debug("timeline {} not read: {}", id, e.toString());
            }
        }

        /** Queue writes leave the messaging thread: no transactions on Ignite's callback threads. */
        private void later(Runnable write) {
            onEventsThread(() -> {
                try {
                    write.run();
                } catch (RuntimeException e) {
                    log.debug("queue update for {} failed: {}", id, e.toString());
                }
            });
        }

        /** Ignores attempts before {@code attempt} from now on; returns the tokens the client has. */
        synchronized int[] fence(int attempt) {
            minAttempt = Math.max(minAttempt, attempt);
            return delivered.clone();
        }

        synchronized int minAttempt() {
            return minAttempt;
        }

        /** When this stream first saw {@code entry}'s current assignment (node, term and attempt). */
        synchronized long assignedSinceMillis(QueuedRequest entry, long now) {
            String key = entry.assignee() + "/" + entry.term() + "/" + entry.attempts();
            if (!key.equals(assignment)) {
                assignment = key;
                assignedSince = now;
            }
            return assignedSince;
        }

        /**
         * A request taken back from its node waits for placement afresh: the placement timeout is about no node
         * taking it, not about attempts that were placed and then lost (those count against maxAttempts).
         */
        synchronized void restartPendingClock() {
            pendingSince = -1;
        }

        /** When this node first saw the request waiting for placement (own clock; reset by any output). */
        synchronized long pendingSinceMillis(QueuedRequest entry) {
            if (pendingSince < 0) {
                pendingSince = entry.attempts() == 0 ? entry.enqueuedAtMillis() : System.currentTimeMillis();
            }
            return pendingSince;
        }

        /** True the first time only: a request waiting long is logged once. */
        synchronized boolean noteSlowPlacement() {
            boolean first = !slowPlacementNoted;
            slowPlacementNoted = true;
            return first;
        }

        /** Marks the end; true only for the first caller, so a request ends once. */
        synchronized boolean end() {
            if (ended) {
                return false;
            }
            ended = true;
            return true;
        }
    }
}
