package org.autoglm.gossip;

import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.autoglm.gossip.batch.BatchStore;
import org.autoglm.gossip.batch.FileStore;
import org.autoglm.gossip.dispatch.Dispatcher;
import org.autoglm.gossip.dispatch.PlacementLoop;
import org.autoglm.gossip.dispatch.RequestExecutor;
import org.autoglm.gossip.dispatch.Worker;
import org.autoglm.gossip.grid.Daemons;
import org.autoglm.gossip.grid.GridConfig;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.gossip.lease.LeaderLease;
import org.autoglm.gossip.members.Members;
import org.autoglm.gossip.placement.Placement;
import org.autoglm.gossip.queue.RequestQueue;
import org.autoglm.gossip.registry.NodeInfo;
import org.autoglm.gossip.registry.NodeLoad;
import org.autoglm.gossip.registry.NodeRegistry;
import org.autoglm.gossip.session.SessionCache;
import org.autoglm.gossip.workflow.WorkflowStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This process's membership in the cluster, assembled in dependency order: grid node, registry, queue and
 * sessions, the worker that runs what is placed here, the dispatcher for requests received here, and the leader
 * lease driving the placement loop. Closed in the reverse order, releasing the lease first so a peer takes over
 * at once.
 *
 * <p>A grid node that Ignite stops on its own (the cluster segmented it after a pause or a network cut, or a
 * critical grid failure) is not the end of this process: the membership is rebuilt on a fresh grid node with the
 * same settings, which joins the cluster again, and this node serves again with no human involved. Callers always
 * reach the current parts through the accessors; requests open at the moment of the loss end with an explicit error.
 */
public final class Cluster implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Cluster.class);
    /** How often the grid node's state is checked, and the pause between tries to rejoin. */
    private static final long WATCH_MILLIS = 1_000;

    private final Consumer<GridConfig> configure;
    private final Supplier<NodeLoad> load;
    private volatile NodeInfo self;
    private volatile RequestExecutor executor;
    private volatile Membership current;
    private volatile boolean closed;
    /** The current grid node's failure handler is stopping it, and the log said so (once). */
    private boolean failingSeen;
    private boolean stuckSaid;
    private boolean interruptedWaiters;
    private final ScheduledExecutorService watch;
    private final java.util.List<Runnable> rejoinListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    /**
     * When this process last saw a majority in view, or last restarted its grid node without one (monotonic); -1 until
     * it first had a majority.
     */
    private volatile long quorumClockNanos = -1;
    /**
     * Until a first majority: since when this node has looked for its peers on the current grid node (monotonic), and
     * how long it looks before it starts a fresh one. Peers that start later join it by themselves, so the wait is
     * long and grows; but a peer that starts while this node is too busy to answer its handshake starts a cluster of
     * its own, the others join that one, and without a fresh try this node would stay alone for ever.
     */
    private volatile long lookingSinceNanos = System.nanoTime();
    private volatile long lookingWaitNanos = -1;
    private static final java.time.Duration LONGEST_LOOK = java.time.Duration.ofSeconds(60);

    /** The parts that live and die with one grid node. */
    private static final class Membership {
        final GridNode grid;
        final Members members;
        final NodeRegistry registry;
        final RequestQueue queue;
        final SessionCache sessions;
        final Dispatcher dispatcher;
        final PlacementLoop placementLoop;
        final LeaderLease lease;
        volatile Worker worker;
        private FileStore files;
        private BatchStore batches;
        private WorkflowStore workflows;

        /** @param termSeen the highest leader term this process saw on an earlier grid node (0: none) */
        Membership(GridNode grid, NodeInfo self, Supplier<NodeLoad> load, long termSeen) {
            this.grid = grid;
            this.members = new Members(grid);
            this.registry = new NodeRegistry(grid, self, load);
            this.queue = new RequestQueue(grid);
            this.sessions = new SessionCache(grid);
            this.dispatcher = new Dispatcher(grid, queue, request -> Placement.unservable(request, registry.nodes()
                    .stream().filter(node -> grid.isAlive(node.id()) && !members.isRemoved(node.name())).toList()));
            this.lease = new LeaderLease(grid).rememberTerm(termSeen);
            this.placementLoop = new PlacementLoop(grid, queue, registry,
                    new Placement(Placement.Options.DEFAULT, grid.config().cacheAwarePlacement), lease::holdsLease,
                    node -> members.isRemoved(node.name())).start();
            lease.addListener(placementLoop).start();
        }

        /** Files and batches: their caches are made on first use (a grid that never sees a batch never has them). */
        synchronized FileStore files() {
            if (files == null) {
                files = new FileStore(grid);
            }
            return files;
        }

        synchronized BatchStore batches() {
            if (batches == null) {
                batches = new BatchStore(grid);
            }
            return batches;
        }

        synchronized WorkflowStore workflows() {
            if (workflows == null) {
                workflows = new WorkflowStore(grid);
            }
            return workflows;
        }

        void serve(NodeInfo self, RequestExecutor executor) {
            worker = new Worker(grid, queue, executor);
            registry.update(self);
        }

        void close() {
            close("node " + grid.name() + " is shutting down; send the request again, to another node");
        }

        /** @param why what the requests this node still serves to its clients end with */
        void close(String why) {
            closeParts(why);
            stopGrid(grid);
        }

        /**
         * Stops what is built on the grid node, once: lease, placement loop, dispatcher, worker, registry, members. On
         * a grid node that is stopping under them a grid call may wait for ever (a segmented node never gets its own
         * discovery messages back), and Ignite's stop waits in turn for the threads inside its caches; so the steps
         * run on a thread of their own, and one that outlasts failure detection (at least 10 s) is logged with its
         * stack and interrupted, which ends a wait inside Ignite.
         */
        void closeParts(String why) {
            if (!partsClosed.compareAndSet(false, true)) {
                return;
            }
            Thread closer = new Thread(() -> {
                // Every step runs even if one fails (the grid may already be stopping under us).
                quietly(lease::close);
                quietly(placementLoop::close);
                quietly(() -> dispatcher.close(why));
                Worker running = worker;
                if (running != null) {
                    quietly(running::close);
                }
                quietly(registry::close);
                quietly(members::close);
            }, "autoglm-close-" + grid.name());
            closer.setDaemon(true);
            closer.start();
            long bound = Math.max(10_000, grid.config().failureDetection.toMillis());
            if (!joined(closer, bound)) {
                log.warn("grid node '{}': its parts did not stop within {} ms; interrupting them where they wait:\n{}",
                        grid.name(), bound, org.autoglm.gossip.grid.ThreadDump.of(closer));
                closer.interrupt();
                joined(closer, 5_000);
            }
        }

        boolean partsClosed() {
            return partsClosed.get();
        }

        private final java.util.concurrent.atomic.AtomicBoolean partsClosed =
                new java.util.concurrent.atomic.AtomicBoolean();
    }

    /**
     * Stops {@code grid} (waiting, when Ignite's failure handler stops it already, for that stop), on a thread of its
     * own and bounded: a grid node that does not stop within {@link #stopBound} keeps its Ignite instance name and
     * ports, so no fresh one can take its place, and this process halts ({@link #cannotStop}).
     */
    private static void stopGrid(GridNode grid) {
        Thread stopper = new Thread(grid::close, "autoglm-grid-stop-" + grid.name());
        stopper.setDaemon(true);
        stopper.start();
        if (!joined(stopper, stopBound(grid).toMillis())) {
            cannotStop(grid, stopper);
        }
    }

    /** How long a failure handler's stop may take before the threads it waits for are interrupted: a failure detection. */
    static java.time.Duration waitersBound(GridNode grid) {
        return grid.config().failureDetection;
    }

    /**
     * Ignite's stop takes its gateway's write lock, so it waits for every thread inside a grid call; on a segmented grid
     * node some never return by themselves (the long fault run's thread dumps: a request thread closing a session
     * transaction, {@code GridNearTxLocal.close}, waits for a finish that never comes, the failure handler's stop waits
     * for it, and the node never rejoined). Interrupting such a thread ends its wait (its call fails, the request answers
     * that the node is rejoining), and the stop goes on. Only threads of this process's own code waiting inside Ignite
     * are interrupted, never Ignite's threads, and each is named in the log.
     */
    private static void interruptGridWaiters(GridNode grid) {
        List<String> interrupted = new java.util.ArrayList<>();
        // Beside other grid nodes in one process (tests, tools) only this node's own named threads are its waiters: a
        // thread of another member parked in its own grid must not be interrupted for this one's stop.
        boolean shared = GridNode.sharesProcess();
        for (java.util.Map.Entry<Thread, StackTraceElement[]> entry : Thread.getAllStackTraces().entrySet()) {
            Thread thread = entry.getKey();
            if (thread == Thread.currentThread() || !waitsInsideGrid(thread, entry.getValue())
                    || shared && !thread.getName().contains(grid.name())) {
                continue;
            }
            interrupted.add(thread.getName() + " (" + firstGridFrame(entry.getValue()) + ")");
            thread.interrupt();
        }
        log.warn("grid node '{}' has been stopping for over {} ms: interrupted {} thread(s) waiting inside the grid so"
                + " that its stop can go on{}", grid.name(), waitersBound(grid).toMillis(), interrupted.size(),
                interrupted.isEmpty() ? "" : ": " + String.join(", ", interrupted));
    }

    /** A thread of ours (an org.autoglm frame below) parked inside an Ignite call (not just queued at its gateway). */
    static boolean waitsInsideGrid(Thread thread, StackTraceElement[] stack) {
        Thread.State state = thread.getState();
        if (state != Thread.State.WAITING && state != Thread.State.TIMED_WAITING) {
            return false;
        }
        boolean inIgnite = false;
        for (StackTraceElement frame : stack) {
            String type = frame.getClassName();
            if (type.equals("org.apache.ignite.internal.GridKernalGatewayImpl") && frame.getMethodName().equals("readLock")) {
                return false; // queued behind the stop: it holds nothing
            }
            if (type.startsWith("org.apache.ignite.")) {
                inIgnite = true;
            } else if (type.startsWith("org.autoglm.")) {
                return inIgnite;
            }
        }
        return false;
    }

    private static String firstGridFrame(StackTraceElement[] stack) {
        for (StackTraceElement frame : stack) {
            if (frame.getClassName().startsWith("org.apache.ignite.")) {
                return frame.getClassName().substring(frame.getClassName().lastIndexOf('.') + 1) + "."
                        + frame.getMethodName();
            }
        }
        return "?";
    }

    /** How long an old grid node may take to stop: 3 failure detections, at least 30 s. */
    static java.time.Duration stopBound(GridNode grid) {
        java.time.Duration three = grid.config().failureDetection.multipliedBy(3);
        return three.compareTo(java.time.Duration.ofSeconds(30)) > 0 ? three : java.time.Duration.ofSeconds(30);
    }

    /** Exit code of a process that halts because its old grid node never stopped, so that its supervisor restarts it. */
    public static final int EXIT_GRID_STUCK = 70;

    /**
     * The last resort: the old grid node did not stop within its bound. Its threads go to the log; a serve process
     * ({@code haltOnGridFailure}) then halts with {@link #EXIT_GRID_STUCK} and one line saying why, so that its
     * supervisor restarts it; elsewhere (tests, tools in one JVM) the rejoin fails and is tried again.
     */
    private static void cannotStop(GridNode grid, Thread stopper) {
        log.error("grid node '{}' did not stop within {} s; this process's threads:\n{}", grid.name(),
                stopBound(grid).toSeconds(), org.autoglm.gossip.grid.ThreadDump.all());
        String why = "grid node '" + grid.name() + "' did not stop within " + stopBound(grid).toSeconds()
                + " s (3 failure detections), so no fresh one can rejoin in its place";
        if (grid.config().haltOnGridFailure) {
            log.error("{}: halting (exit code {}) so that the supervisor restarts this node", why, EXIT_GRID_STUCK);
            Runtime.getRuntime().halt(EXIT_GRID_STUCK);
        }
        throw new IllegalStateException(why + " (" + stopper.getName() + " still waits)");
    }

    private static boolean joined(Thread thread, long millis) {
        try {
            thread.join(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return !thread.isAlive();
    }

    private Cluster(Consumer<GridConfig> configure, NodeInfo self, Supplier<NodeLoad> load, Membership first) {
        this.configure = configure;
        this.self = self;
        this.load = load;
        this.current = first;
        this.watch = Daemons.scheduler("autoglm-rejoin-" + first.grid.name());
        watch.scheduleWithFixedDelay(this::rejoinIfStopped, WATCH_MILLIS, WATCH_MILLIS, TimeUnit.MILLISECONDS);
    }

    /**
     * Starts the grid node and joins the cluster. The node takes part in the registry, the queue, sessions and
     * elections at once, and runs requests once {@link #serve} gives it an executor.
     *
     * @param self this node's attributes (its grid id is filled in); a null model means "nothing to serve yet"
     * @param load sampled for every heartbeat
     */
    public static Cluster start(Consumer<GridConfig> configure, NodeInfo self, Supplier<NodeLoad> load) {
        return new Cluster(configure, self, load, join(configure, self, load, 0));
    }

    /** Starts a grid member that runs requests on {@code executor} right away (tests, tools). */
    public static Cluster start(Consumer<GridConfig> configure, NodeInfo self, Supplier<NodeLoad> load,
                                RequestExecutor executor) {
        Cluster cluster = start(configure, self, load);
        cluster.serve(self, executor);
        return cluster;
    }

    private static Membership join(Consumer<GridConfig> configure, NodeInfo self, Supplier<NodeLoad> load,
                                   long termSeen) {
        // the membership's first cache operations can meet a passing refusal too (GridNode.refusedForNow)
        return GridNode.start(configure, grid -> new Membership(grid, self, load, termSeen));
    }

    /**
     * True when {@code grid} has never had a majority in view for {@link #lookingWait} (acted on once this node serves),
     * or has had none for
     * {@link #rejoinAfter} after having had one. By then its grid
     * has already dropped the peers it cannot reach (that takes failure detection): it is a cluster of its own, which
     * Ignite never merges back, so the only way back is a fresh grid node, and the sooner it tries after a heal the
     * sooner the cluster is whole again (the checker's bound is 10 s after the heal).
     */
    private boolean cutOffTooLong(GridNode grid) {
        long now = System.nanoTime();
        boolean quorum;
        try {
            quorum = grid.config().peers.isEmpty() || grid.hasQuorum();
        } catch (RuntimeException e) {
            return false; // stopping meanwhile: the next look handles it
        }
        if (quorum) {
            quorumClockNanos = now;
            return false;
        }
        if (quorumClockNanos < 0) {
            // Only once this node serves: until then its process is still building parts on this grid node (command
            // channel, console, batches), and a part built on a grid node stopped under it failed the whole start.
            return executor != null && now - lookingSinceNanos > lookingWait(grid);
        }
        return now - quorumClockNanos > rejoinAfter(grid).toNanos();
    }

    /** How long a node that never had a majority looks on one grid node: 3 failure detections, at least 5 s; doubles. */
    private long lookingWait(GridNode grid) {
        if (lookingWaitNanos < 0) {
            lookingWaitNanos = Math.max(java.time.Duration.ofSeconds(5).toNanos(),
                    3 * grid.config().failureDetection.toNanos());
        }
        return lookingWaitNanos;
    }

    /**
     * How long a node that had a majority waits without one before it restarts its grid node to rejoin: a third of
     * failure detection, at least a second: by then its grid has dropped the peers it cannot reach, and Ignite never
     * merges two clusters. After each restart the wait grows by a random part of failure detection, so that nodes
     * that restarted together spread out and find each other.
     */
    static java.time.Duration rejoinAfter(GridNode grid) {
        return java.time.Duration.ofMillis(Math.max(1_000, grid.config().failureDetection.toMillis() / 3));
    }

    /**
     * This node can run requests now (its model is loaded): publishes {@code self} (model, limits) and starts
     * taking the work the leader places here.
     */
    public synchronized void serve(NodeInfo self, RequestExecutor executor) {
        if (this.executor != null) {
            throw new IllegalStateException("this node already serves");
        }
        this.self = self;
        this.executor = executor;
        current.serve(self, executor);
    }

    /** New attributes of this node (a new model after load-model): published now, and again after a rejoin. */
    public synchronized void update(NodeInfo self) {
        this.self = self;
        current.registry.update(self);
    }

    /**
     * Once a second: a grid node stopped by Ignite itself (segmented, failed) is replaced by a fresh one, and so is one
     * cut off from the majority for longer than failure detection after having had it. Ignite does not merge the two
     * sides of a network partition: each drops the other and goes on as a cluster of its own, and after the heal they
     * stay apart for ever (the minority serving nothing). A fresh grid node joins whichever side its peers answer from,
     * so the minority retries every failure-detection time until it is back with the majority.
     */
    private void rejoinIfStopped() {
        Membership lost = current;
        if (closed || !lost.grid.config().rejoin) {
            return;
        }
        String why = "node " + lost.grid.name() + " was cut off from the cluster and is rejoining it on a fresh grid"
                + " node; the requests it was serving could not be finished: send them again";
        if (lost.grid.running() && lost.grid.failing()) {
            // Ignite's failure handler is stopping this grid node (segmented): Ignite still calls it STARTED, but a
            // second stop beside that one, and closing the parts (continuous queries, cache calls) on a grid node
            // half stopped, is how a rejoin once waited for ever. So wait for that stop, looked at each second; the
            // parts close and the rejoin follows once it is done (the branch below). Bounded: cannotStop.
            if (!failingSeen) {
                failingSeen = true;
                log.warn("grid node '{}' is being stopped by its failure handler; rejoining once it has stopped",
                        lost.grid.name());
            }
            if (!interruptedWaiters && lost.grid.failingFor().compareTo(waitersBound(lost.grid)) > 0) {
                interruptedWaiters = true;
                interruptGridWaiters(lost.grid);
            }
            if (!stuckSaid && lost.grid.failingFor().compareTo(stopBound(lost.grid)) > 0) {
                stuckSaid = true; // a serve process halts here; elsewhere the threads are logged once
                quietly(() -> cannotStop(lost.grid, Thread.currentThread()));
            }
            return;
        }
        failingSeen = false;
        stuckSaid = false;
        interruptedWaiters = false;
        if (lost.grid.running()) {
            if (!cutOffTooLong(lost.grid)) {
                return;
            }
            if (quorumClockNanos < 0) {
                log.warn("grid node '{}' has found no majority of its peers in {} s since it started: starting a fresh"
                        + " one to look for them again (a peer that missed this node may lead a cluster of its own)",
                        lost.grid.name(), TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - lookingSinceNanos));
                lookingWaitNanos = Math.min(2 * lookingWaitNanos, LONGEST_LOOK.toNanos());
            } else {
                log.warn("grid node '{}' has seen no majority for {} ms (it had one before): restarting it to rejoin"
                        + " the majority's cluster", lost.grid.name(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime()
                        - quorumClockNanos));
                quorumClockNanos = System.nanoTime();
            }
        } else {
            log.warn("grid node '{}' was stopped by the grid (segmented or failed); rejoining the cluster",
                    lost.grid.name());
        }
        // Its clients' requests run (or ran) elsewhere for a client node the cluster no longer has: their output went
        // nowhere from the moment the grid dropped this node, so they end now, with the reason, and can be sent again.
        try {
            lost.close(why);
        } catch (RuntimeException e) {
            log.warn("grid node '{}' could not rejoin yet, trying again: {}", lost.grid.name(), e.getMessage());
            return;
        }
        try {
            Membership fresh = join(configure, self, load, lost.lease.highestTermSeen());
            synchronized (this) {
                if (closed) {
                    fresh.close();
                    return;
                }
                if (executor != null) {
                    fresh.serve(self, executor);
                }
                current = fresh;
            }
            // The next try waits from now (starting a grid node takes a while), plus up to a failure detection drawn at
            // random: nodes that all lost their majority at once (a starved machine breaks the whole ring) and restarted
            // together would otherwise keep starting alone at the same moments, each missing the others.
            long jitter = java.util.concurrent.ThreadLocalRandom.current()
                    .nextLong(fresh.grid.config().failureDetection.toNanos());
            if (quorumClockNanos < 0) {
                lookingSinceNanos = System.nanoTime() + jitter;
            } else {
                quorumClockNanos = System.nanoTime() + jitter;
            }
            log.warn("grid node '{}' rejoined the cluster ({} node(s) visible)", fresh.grid.name(),
                    fresh.grid.serverNodeIds().size());
            for (Runnable listener : rejoinListeners) {
                try {
                    listener.run();
                } catch (RuntimeException e) {
                    log.warn("after rejoining, a part of this node could not move to the new grid node: {}", e.toString());
                }
            }
        } catch (RuntimeException e) {
            log.warn("grid node '{}' could not rejoin yet, trying again: {}", lost.grid.name(), e.getMessage());
        }
    }

    /**
     * Runs {@code listener} (on the rejoin thread) each time this node has rejoined the cluster on a fresh grid node,
     * once the accessors answer with the new parts: whatever was built on the old grid node (continuous queries,
     * listeners on its queue or registry) is built again there.
     */
    public void onRejoin(Runnable listener) {
        rejoinListeners.add(listener);
    }

    public GridNode grid() { return current.grid; }
    public NodeRegistry registry() { return current.registry; }

    /**
     * A node's name: from the grid while it is a member, else from its registry entry (a dead node's stays until it
     * expires), else its id.
     */
    public String nameOf(java.util.UUID nodeId) {
        String name = grid().nameOf(nodeId);
        if (name == null) {
            name = registry().find(nodeId.toString()).map(org.autoglm.gossip.registry.NodeView::name).orElse(null);
        }
        return name != null ? name : String.valueOf(nodeId);
    }
    /** The voting set and the nodes an admin removed. */
    public Members members() { return current.members; }
    public RequestQueue queue() { return current.queue; }
    public SessionCache sessions() { return current.sessions; }
    public Dispatcher dispatcher() { return current.dispatcher; }
    public LeaderLease lease() { return current.lease; }
    /** Files in the grid, of the current grid node (a rejoin makes a new one). */
    public FileStore files() { return current.files(); }
    /** Batches in the grid, of the current grid node. */
    public BatchStore batches() { return current.batches(); }
    /** Workflow templates and runs in the grid, of the current grid node. */
    public WorkflowStore workflows() { return current.workflows(); }
    /** The worker running requests placed here, or null before {@link #serve}. */
    public Worker worker() { return current.worker; }

    @Override
    public void close() {
        closed = true;
        watch.shutdownNow();
        try {
            watch.awaitTermination(30, TimeUnit.SECONDS); // a rejoin under way finishes (and sees closed) first
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            current.close();
        }
    }

    private static void quietly(Runnable step) {
        try {
            step.run();
        } catch (RuntimeException e) {
            log.debug("cluster shutdown step failed: {}", e.toString());
        }
    }
}
