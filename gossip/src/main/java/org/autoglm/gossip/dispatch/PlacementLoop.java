package org.autoglm.gossip.dispatch;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.autoglm.gossip.grid.Daemons;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.gossip.lease.LeadershipListener;
import org.autoglm.gossip.lease.StaleTermException;
import org.autoglm.gossip.placement.Placement;
import org.autoglm.gossip.placement.QueueOrder;
import org.autoglm.gossip.placement.RecentPlacements;
import org.autoglm.gossip.queue.QueuedRequest;
import org.autoglm.gossip.queue.RequestQueue;
import org.autoglm.gossip.queue.RequestState;
import org.autoglm.gossip.registry.NodeHealth;
import org.autoglm.gossip.registry.NodeRegistry;
import org.autoglm.gossip.registry.NodeView;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leader's work: place each PENDING request as it arrives (and, every sweep, those whose backoff ended), and
 * clean up after nodes that left: work of a dead node goes back to the queue if its client's node has not done
 * that already, work whose client's node is gone is dropped. Acts only between onLeaderStart and onLeaderStop (its
 * watch and sweep run on every node, idle on the others); every assignment carries the term, so work of a deposed
 * leader is refused by the queue.
 */
public final class PlacementLoop implements LeadershipListener, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PlacementLoop.class);

    private final GridNode grid;
    private final RequestQueue queue;
    private final NodeRegistry registry;
    private final Placement placement;
    /** True while this node's lease has not run out; checked before every assignment (see LeaderLease.holdsLease). */
    private final java.util.function.BooleanSupplier leaseHeld;
    /** Nodes an admin removed from the cluster: they get no work. */
    private final java.util.function.Predicate<NodeView> removed;
    private final ScheduledExecutorService loop;
    /** Tokens assigned per node since the last sweep: load its heartbeat does not show yet. */
    private final Map<UUID, Long> assignedTokens = new ConcurrentHashMap<>();
    /** Requests assigned per node since the last sweep: slots its heartbeat does not show as taken yet. */
    private final Map<UUID, Integer> assignedRequests = new ConcurrentHashMap<>();
    /** Prompt prefixes placed lately: the nodes' summaries show them only a heartbeat after their prefill. */
    private final RecentPlacements recentPrefixes = new RecentPlacements();
    /** Orphans seen in the last sweep: re-queued by the leader only if still orphaned one sweep later. */
    private final Map<String, Boolean> orphans = new HashMap<>();
    private final QueueOrder queueOrder = new QueueOrder();
    /**
     * PENDING requests this leader knows of and has not placed, by id: notices add to it, each sweep refreshes it
     * from the queue. It is drained in {@link QueueOrder}, best first, so an interactive request that arrives while
     * hundreds of batch lines wait is the next one placed. (Placing each notice as its own task, in arrival order,
     * put an interactive request behind every batch line noticed before it: seconds, at one transaction each.)
     */
    private final Map<String, QueuedRequest> waiting = new ConcurrentHashMap<>();
    /** Notices added to {@link #waiting} so far: a drain re-sorts when it moved. */
    private final java.util.concurrent.atomic.AtomicLong arrivals = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicBoolean drainScheduled = new java.util.concurrent.atomic.AtomicBoolean();
    /** Requests placed and not finished per user, as of the last sweep plus those placed since (fair share). */
    private final Map<String, Integer> active = new HashMap<>();
    private volatile long term = -1;
    private volatile AutoCloseable pendingWatch = () -> { };
    /** The PENDING watch is registered or being registered (touched on the loop thread only). */
    private boolean watching;
    /** Registers the PENDING watch off the loop thread: the registration may wait long on a joining peer. */
    private final java.util.concurrent.ExecutorService watchRegistration;

    public PlacementLoop(GridNode grid, RequestQueue queue, NodeRegistry registry, Placement placement,
                         java.util.function.BooleanSupplier leaseHeld,
                         java.util.function.Predicate<NodeView> removed) {
        this.grid = grid;
        this.queue = queue;
        this.registry = registry;
        this.placement = placement;
        this.leaseHeld = leaseHeld;
        this.removed = removed;
        this.loop = Daemons.scheduler("autoglm-placement-" + grid.name());
        this.watchRegistration = Daemons.pool("autoglm-placement-watch-" + grid.name(), 1);
    }

    /**
     * Sweeps the queue every sweep interval from now until {@link #close}; the sweep does nothing while this node
     * does not lead.
     */
    public PlacementLoop start() {
        long period = grid.config().failover.sweepInterval.toMillis();
        loop.scheduleWithFixedDelay(this::sweep, period, period, TimeUnit.MILLISECONDS);
        return this;
    }

    @Override
    public void onLeaderStart(long newTerm) {
        term = newTerm; // visible at once, as a step-down is
        loop.execute(() -> {
            orphans.clear();
            waiting.clear();
            assignedTokens.clear();
            assignedRequests.clear();
            recentPrefixes.clear();
            watchPending();
            sweep(); // what waited for a leader is placed now, not a sweep interval later
        });
    }

    /**
     * Watches the queue for new PENDING requests from the first term this node leads until {@link #close}; the watch
     * does nothing while it does not lead. Registering a watch is a round of the grid's discovery messages, which
     * waits for a peer that is still joining: after a kill -9 of the leader, the restarted node's join held the new
     * leader's first registration for many seconds on a loaded machine. So it is registered on its own thread, once,
     * and the loop's sweeps place meanwhile (arrivals wait at most a sweep interval until it is in place).
     */
    private void watchPending() {
        if (watching) {
            return;
        }
        watching = true;
        watchRegistration.execute(() -> {
            try {
                AutoCloseable watch = queue.listen(RequestState.PENDING, null, r -> {
                    if (term >= 0 && !loop.isShutdown()) {
                        try {
                            arrive(r);
                        } catch (java.util.concurrent.RejectedExecutionException closing) {
                            // closed meanwhile: nothing to place
                        }
                    }
                });
                pendingWatch = watch;
                if (watchRegistration.isShutdown()) {
                    watch.close();
                }
            } catch (Exception e) {
                log.warn("leader {} could not watch the queue (its sweeps still place): {}", grid.name(), e.toString());
                try {
                    loop.execute(() -> watching = false); // tried again in its next term
                } catch (java.util.concurrent.RejectedExecutionException closing) {
                    // closed meanwhile
                }
            }
        });
    }

    @Override
    public void onLeaderStop() {
        term = -1; // place() and sweep() check it before anything else
    }

    /** A PENDING request to place: it joins the waiting set and a drain runs soon, taking the best first. */
    private void arrive(QueuedRequest request) {
        waiting.put(request.id(), request);
        arrivals.incrementAndGet();
        if (drainScheduled.compareAndSet(false, true)) {
            try {
                loop.execute(() -> {
                    drainScheduled.set(false);
                    drain(candidates()); // read afresh: a drain must hold for the very next request
                });
            } catch (java.util.concurrent.RejectedExecutionException closing) {
                drainScheduled.set(false);
            }
        }
    }

    /** The registry's nodes less those an admin removed. */
    private List<NodeView> candidates() {
        return registry.nodes().stream().filter(node -> !removed.test(node)).toList();
    }

    /**
     * Places waiting requests in {@link QueueOrder} (class, priority, fair share between users, age) until each was
     * placed or found no room. Requests noticed meanwhile are sorted in before the next placement, so one that
     * outranks the rest waits for at most the assignment under way. Runs on the loop thread.
     */
    private void drain(List<NodeView> nodes) {
        java.util.Set<String> noRoom = new java.util.HashSet<>();
        List<QueuedRequest> order = List.of();
        int next = 0;
        long sorted = -1;
        while (term >= 0) {
            long seen = arrivals.get();
            if (seen != sorted) {
                sorted = seen;
                List<QueuedRequest> open = waiting.values().stream().filter(r -> !noRoom.contains(r.id())).toList();
                order = queueOrder.order(open, active);
                next = 0;
            }
            if (next >= order.size()) {
                return;
            }
            QueuedRequest request = order.get(next++);
            if (waiting.get(request.id()) != request) {
                continue; // placed meanwhile, or replaced by a fresher copy that the next sort holds
            }
            if (place(request, nodes)) {
                waiting.remove(request.id(), request);
            } else {
                noRoom.add(request.id()); // stays waiting: the next drain or sweep tries again
            }
        }
    }

    /** @return false when no node could take it now (it stays PENDING) */
    private boolean place(QueuedRequest request, List<NodeView> nodes) {
        long current = term;
        if (current < 0 || request == null || request.cancelled()) {
            return true; // not leading, or the request finished or left the queue meanwhile
        }
        if (!leaseHeld.getAsBoolean()) {
            return true; // woke from a pause with the lease run out: stepped down, places nothing
        }
        if (!grid.isAlive(request.origin())) {
            // Its client's node left the grid, and the client with it: nobody will read the output. Placed anyway (a
            // worker that could not deliver put it back), it ran again and again on the live nodes until its attempts
            // ran out, a stray entry growing the queue with dead clients' work.
            queue.remove(request.id());
            log.debug("{} dropped: its client's node {} left the grid", request.id(), request.origin());
            return true;
        }
        long wait = request.notBeforeMillis() - System.currentTimeMillis();
        if (wait > 0) { // backing off after a failure: come back when it may run
            loop.schedule(() -> {
                QueuedRequest now = queue.get(request.id());
                if (now != null && now.state() == RequestState.PENDING) {
                    arrive(now);
                }
            }, wait, TimeUnit.MILLISECONDS);
            return true;
        }
        Placement.Decision decision = placement.place(request, nodes, assignedTokens, assignedRequests,
                recentPrefixes);
        if (!decision.placed()) {
            log.debug("{} not placed: {}", request.id(), decision.reason());
            return false; // stays PENDING; the next sweep tries again, the client's node times it out
        }
        try {
            if (queue.assign(request.id(), current, decision.node()) != null) {
                assignedTokens.merge(decision.node(), request.expectedTokens(), Long::sum);
                assignedRequests.merge(decision.node(), 1, Integer::sum);
                recentPrefixes.placed(decision.node(), request.prefixHashes(), System.currentTimeMillis());
                active.merge(QueueOrder.userOf(request), 1, Integer::sum);
                log.debug("{} -> {} (term {}): {}", request.id(), decision.nodeName(), current, decision.reason());
            }
        } catch (StaleTermException e) {
            log.info("{}: assignment refused, {}", request.id(), e.getMessage());
        } catch (RuntimeException e) {
            log.debug("{}: assignment failed: {}", request.id(), e.toString());
        }
        return true;
    }

    private void sweep() {
        if (term < 0) {
            return;
        }
        try {
            List<NodeView> nodes = candidates();
            refreshWaiting();
            drain(nodes);
            assignedTokens.clear();
            assignedRequests.clear();
            reclaim(nodes);
        } catch (RuntimeException e) {
            log.debug("sweep on {} failed: {}", grid.name(), e.toString());
        }
    }

    /**
     * The queue is the truth: every placeable PENDING request joins the waiting set (a lost notice costs one sweep),
     * those placed or finished by others leave it, and each user's share in use is counted afresh.
     */
    private void refreshWaiting() {
        long now = System.currentTimeMillis();
        active.clear();
        for (QueuedRequest r : queue.unfinished()) {
            if (r.state() != RequestState.PENDING) {
                active.merge(QueueOrder.userOf(r), 1, Integer::sum);
                waiting.remove(r.id());
            } else if (r.cancelled()) {
                waiting.remove(r.id());
            } else if (r.notBeforeMillis() <= now) {
                waiting.put(r.id(), r);
                arrivals.incrementAndGet();
            }
        }
    }

    /**
     * Work whose client's node left is dropped; work on a dead or stalled node (its engine makes no progress) goes
     * back after one more sweep.
     */
    private void reclaim(List<NodeView> nodes) {
        Map<String, Boolean> seen = new HashMap<>();
        for (QueuedRequest request : queue.unfinished()) {
            if (!grid.isAlive(request.origin())) {
                queue.remove(request.id());
                continue;
            }
            UUID assignee = request.assignee();
            if (assignee == null || !(request.state() == RequestState.ASSIGNED || request.state() == RequestState.RUNNING)) {
                continue;
            }
            boolean dead = !grid.isAlive(assignee) || nodes.stream().anyMatch(n -> n.id().equals(assignee)
                    && (n.health() == NodeHealth.DEAD || n.health() == NodeHealth.STALLED));
            if (!dead) {
                continue;
            }
            if (orphans.containsKey(request.id())) {
                QueuedRequest after = queue.requeue(request.id(), assignee, null, "node " + assignee + " is dead");
                log.info("{} taken back from dead or stalled node {}: now {}", request.id(), assignee, after);
            } else {
                seen.put(request.id(), true);
            }
        }
        orphans.clear();
        orphans.putAll(seen);
    }

    @Override
    public void close() {
        term = -1;
        loop.shutdownNow();
        watchRegistration.shutdownNow();
        try {
            pendingWatch.close();
        } catch (Exception e) {
            log.debug("pending watch not closed: {}", e.toString());
        }
    }
}
