package org.autoglm.node.batch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.batch.BatchJob;
import org.autoglm.gossip.batch.LineChunk;
import org.autoglm.gossip.batch.LineResult;
import org.autoglm.gossip.grid.Daemons;
import org.autoglm.node.api.BatchLines;
import org.autoglm.node.api.JsonBody;
import org.autoglm.node.api.ServedModel;
import org.autoglm.node.engine.InferenceService;
import org.autoglm.node.plugins.Plugins;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's share of the cluster's batch lines: while its engine has room, it claims a chunk of lines (one
 * transaction), runs them on its own engine as batch-class requests, stores each line's outcome once under (batch,
 * line), and marks the chunk done with its counts. The leader and the request queue never see batch lines, so
 * interactive requests never wait behind their grid transactions; in the engine, interactive work overtakes and
 * preempts them. A line runs where its outcome is stored: nothing streams between nodes.
 *
 * <p>Exactly once: an outcome is stored put-if-absent, and a chunk claimed again after its node died runs only the lines
 * that have none. A line whose node dies mid-answer has no outcome, so it runs again whole.
 */
final class BatchPuller implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(BatchPuller.class);
    /** Batch lines one node runs at once at most (fewer when its engine takes fewer sequences per step). */
    static final int MAX_LINES_PER_NODE = 64;
    /**
     * Batch lines a node keeps running whatever its step time: two chunks, so that one ending (its lines often end
     * together) leaves the other running while the next is claimed.
     */
    static final int MIN_LINES_PER_NODE = 2 * BatchRun.CHUNK_LINES;
    /**
     * Median engine step a node lets batch lines lengthen its steps to before it takes more of them. An interactive
     * request that arrives waits for the step in progress: batch steps of 64 lines on a CPU took 20-70 ms, and the
     * requests that arrived early in one made the tail of interactive time to first token.
     */
    static final double STEP_BUDGET_MILLIS = 10;
    /** How often a node with room looks for a chunk when the last look found none. */
    private static final long IDLE_LOOK_MILLIS = 500;
    /** How often a node checks that the chunks it runs still exist (a cancelled batch's runner removes them). */
    private static final long CHECK_MILLIS = 500;
    /**
     * How long a line's outcome may wait to be stored with the rest of its chunk's (lines of a chunk mostly end in
     * the same step, and then go in one write).
     */
    static final long STORE_WAIT_MILLIS = 250;
    /**
     * How often a node looks for chunks the grid says it runs while it does not: a claim or a "done" mark whose
     * transaction failed on its way (as partitions move after a node's death) leaves such a chunk, which no other node
     * takes (its owner is alive) and whose batch would wait for it for good.
     */
    static final long SWEEP_MILLIS = 5_000;
    /** How long a chunk may run here with none of its lines ending before it is given back to run again. */
    static final long STALLED_MILLIS = 120_000;
    /** Tries to mark a chunk done (its lines all have their outcomes) before it is given back instead. */
    static final int FINISH_TRIES = 5;

    private final Cluster cluster;
    private final ServedModel model;
    private final Supplier<InferenceService> engine;
    private final Plugins plugins;
    private final ChunkClaims claims;
    private final ScheduledExecutorService ticks;
    /** Outcome writes happen here, not on the engine threads that report a line's end. */
    private final ExecutorService results;
    private final Map<String, PulledChunk> pulled = new ConcurrentHashMap<>();
    /** Chunks whose lines all have an outcome, being marked done: they are this node's still, not orphans. */
    private final Set<String> finishing = ConcurrentHashMap.newKeySet();
    private final AtomicInteger inFlight = new AtomicInteger();
    private long nextLookMillis;
    private long nextCheckMillis;
    private long nextSweepMillis;
    private volatile boolean closed;
    private final LastingFailure tickFailures = new LastingFailure();
    /** Some batch was in progress at the last look at the batches (every second): only then are chunks looked for. */
    private volatile boolean inProgress;

    BatchPuller(Cluster cluster, ServedModel model, Supplier<InferenceService> engine, Plugins plugins,
                BiConsumer<String, ObjectNode> events) {
        this.cluster = cluster;
        this.claims = new ChunkClaims(cluster, events);
        this.model = model;
        this.engine = engine;
        this.plugins = plugins;
        String name = cluster.grid().name();
        this.ticks = Daemons.scheduler("autoglm-batch-lines-" + name);
        this.results = Daemons.pool("autoglm-batch-outcomes-" + name, 1);
        ticks.scheduleWithFixedDelay(this::tick, 300, 100, TimeUnit.MILLISECONDS);
    }

    /** Whether any batch of the cluster is in progress (its runner opens chunks), as the batch poll last saw. */
    void batchesInProgress(boolean any) {
        inProgress = any;
    }

    private void tick() {
        try {
            if (closed || !cluster.grid().hasQuorum()) {
                return;
            }
            long now = System.currentTimeMillis();
            if (!pulled.isEmpty()) {
                results.execute(() -> storeWaiting(System.currentTimeMillis() - STORE_WAIT_MILLIS));
            }
            if (now >= nextCheckMillis && !pulled.isEmpty()) {
                nextCheckMillis = now + CHECK_MILLIS;
                dropRemoved();
            }
            if (now >= nextSweepMillis && inProgress) {
                nextSweepMillis = now + SWEEP_MILLIS;
                giveBackStalled(now);
                giveBackOrphans();
            }
            InferenceService local = engine.get();
            if (!inProgress || local == null || local.isDraining() || now < nextLookMillis) {
                return;
            }
            int room = Math.min(MAX_LINES_PER_NODE, local.options().maxNumSeqs());
            int running = inFlight.get();
            if (running >= room || local.stats().waiting() > 0) {
                return; // full, or requests wait for admission: take no more batch work now
            }
            if (running >= MIN_LINES_PER_NODE && local.stats().p50StepMillis() > STEP_BUDGET_MILLIS) {
                return; // more lines would make every step, and so an interactive request's wait, longer still
            }
            LineChunk mine = claims.claimNext();
            if (mine == null) {
                nextLookMillis = now + IDLE_LOOK_MILLIS;
            } else {
                start(mine);
            }
            tickFailures.succeeded();
        } catch (RuntimeException e) {
            long now = System.currentTimeMillis();
            if (tickFailures.failedAndDue(now)) {
                log.warn("batch lines on {}: every look for work failed for {} s, the last with {}",
                        cluster.grid().name(), tickFailures.seconds(now), brief(e));
            } else {
                log.debug("batch line pull on {} failed: {}", cluster.grid().name(), e.toString());
            }
            nextLookMillis = now + IDLE_LOOK_MILLIS;
        }
    }

    private void start(LineChunk chunk) {
        BatchJob job = cluster.batches().get(chunk.batchId());
        if (job == null || job.status().terminal()) { // its output is written: what is left of it is of no use
            cluster.batches().chunks().remove(List.of(chunk.key()));
            return;
        }
        int[] numbers = new int[chunk.size()];
        for (int i = 0; i < numbers.length; i++) {
            numbers[i] = chunk.number(i);
        }
        Map<Integer, LineResult> stored = cluster.batches().results(chunk.batchId(), numbers);
        PulledChunk p = new PulledChunk(chunk, job, inFlight);
        pulled.put(chunk.key(), p);
        p.outstanding.set(chunk.size());
        if (!stored.isEmpty()) {
            log.info("{}: {} of its {} lines have their outcome already (its node died); running the rest", chunk,
                    stored.size(), chunk.size());
        }
        for (int i = 0; i < chunk.size(); i++) {
            LineResult before = stored.get(chunk.number(i));
            if (before != null) {
                (before.error() ? p.failed : p.succeeded).incrementAndGet();
                lineSettled(p);
            } else {
                inFlight.incrementAndGet();
                submit(p, chunk.number(i), chunk.text(i), 1);
            }
        }
    }

    private void submit(PulledChunk p, int number, String text, int attempt) {
        if (p.dropped || closed) {
            inFlight.decrementAndGet();
            return;
        }
        BatchLines.Line line;
        try {
            line = BatchLines.parse(text, number, p.job.endpoint(), model);
        } catch (BatchLines.BadLine e) { // validated already; only a changed model could get here
            results.execute(() -> {
                inFlight.decrementAndGet();
                record(p, number, customId(text), "batch_req_" + uuid(), 400, JsonBody.MAPPER.createObjectNode()
                        .set("error", JsonBody.MAPPER.createObjectNode().put("message", e.getMessage())
                                .put("code", e.code())));
            });
            return;
        }
        String requestId = "batch_req_" + uuid();
        InferenceService local = engine.get();
        p.live.add(number);
        p.movedAtMillis = System.currentTimeMillis();
        java.util.function.Consumer<BatchLines.Outcome> done =
                outcome -> results.execute(() -> settle(p, line, text, attempt, requestId, outcome));
        try {
            if (local == null) {
                throw new IllegalStateException("no engine loaded");
            }
            p.running.put(number, BatchLines.run(line, p.job.endpoint(), requestId, p.job.owner(), model, local,
                    plugins, done));
        } catch (RuntimeException e) { // not started: without an outcome the line would hold its place for good
            done.accept(new BatchLines.Retry(e.toString()));
        }
    }

    private void settle(PulledChunk p, BatchLines.Line line, String text, int attempt, String requestId,
                        BatchLines.Outcome outcome) {
        p.running.remove(line.number());
        p.movedAtMillis = System.currentTimeMillis();
        if (!p.live.remove(line.number())) {
            return; // dropped meanwhile: its place was given back then
        }
        if (p.dropped || closed) {
            inFlight.decrementAndGet();
            return;
        }
        if (outcome instanceof BatchLines.Retry retry && attempt < BatchRun.MAX_ATTEMPTS) {
            log.debug("{} line {}: attempt {} not run ({}), retrying", p.chunk, line.number(), attempt, retry.reason());
            ticks.schedule(() -> submit(p, line.number(), text, attempt + 1), 500L * attempt, TimeUnit.MILLISECONDS);
            return;
        }
        inFlight.decrementAndGet(); // the engine is done with it: room for more lines, while its outcome waits
        if (outcome instanceof BatchLines.Answered answered) {
            record(p, line.number(), line.customId(), requestId, answered.statusCode(), answered.body());
        } else if (outcome instanceof BatchLines.Retry retry) {
            record(p, line.number(), line.customId(), requestId, 503, JsonBody.MAPPER.createObjectNode().set("error",
                    JsonBody.MAPPER.createObjectNode().put("message", "Not run after " + BatchRun.MAX_ATTEMPTS
                            + " tries: " + retry.reason()).put("type", "server_error").put("code", "unavailable")));
        }
    }

    /** One line of the chunk has its outcome: the last one marks the chunk done with its counts. */
    private void lineSettled(PulledChunk p) {
        if (p.outstanding.decrementAndGet() > 0 || p.dropped) {
            return;
        }
        finishing.add(p.chunk.key()); // before it leaves pulled: the orphan sweep must never see it in neither
        pulled.remove(p.chunk.key(), p);
        results.execute(() -> markDone(p, 1));
    }

    /**
     * Marks a chunk done with its counts, trying again a few times if the transaction fails (it does while the
     * partitions of a node that died move); then gives it back, so that a node claims it, finds every line's outcome
     * and marks it done. Left as it was, it stayed claimed by this live node, and its batch waited for it for good.
     */
    private void markDone(PulledChunk p, int attempt) {
        if (closed) {
            finishing.remove(p.chunk.key());
            return;
        }
        try {
            cluster.batches().chunks().finish(p.chunk.key(), cluster.grid().localId(), p.succeeded.get(),
                    p.failed.get());
            finishing.remove(p.chunk.key());
            if (attempt > 1) {
                log.info("{}: marked done at try {}", p.chunk, attempt);
            }
            if (!closed) {
                ticks.execute(() -> { // room for a chunk now: look at once rather than at the next tick
                    nextLookMillis = 0;
                    tick();
                });
            }
        } catch (RuntimeException e) {
            if (attempt < FINISH_TRIES && !closed) {
                long delay = 500L << attempt;
                log.warn("{}: not marked done ({}); trying again in {} ms", p.chunk, brief(e), delay);
                ticks.schedule(() -> results.execute(() -> markDone(p, attempt + 1)), delay, TimeUnit.MILLISECONDS);
                return;
            }
            log.warn("{}: not marked done after {} tries ({}); given back, so that a node that claims it counts its"
                    + " lines (they have their outcomes)", p.chunk, attempt, brief(e));
            finishing.remove(p.chunk.key());
            release(p.chunk);
        }
    }

    /**
     * Keeps a line's outcome to store with its chunk's other lines: at once when every line of the chunk not yet
     * settled has one, else within {@link #STORE_WAIT_MILLIS}. On the outcome thread.
     */
    private void record(PulledChunk p, int number, String customId, String requestId, int status, ObjectNode body) {
        ObjectNode line = JsonBody.MAPPER.createObjectNode();
        line.put("id", requestId);
        line.put("custom_id", customId);
        ObjectNode response = line.putObject("response");
        response.put("status_code", status);
        response.put("request_id", requestId);
        response.set("body", body);
        line.putNull("error");
        if (p.unstored.isEmpty()) {
            p.unstoredSinceMillis = System.currentTimeMillis();
        }
        p.unstored.put(number, new LineResult(status != 200, line.toString()));
        if (p.unstored.size() >= p.outstanding.get()) {
            store(p);
        }
    }

    /** Stores the outcomes that waited since before {@code olderThanMillis}. On the outcome thread. */
    private void storeWaiting(long olderThanMillis) {
        for (PulledChunk p : pulled.values()) {
            if (!p.unstored.isEmpty() && p.unstoredSinceMillis <= olderThanMillis) {
                store(p);
            }
        }
    }

    /**
     * Stores a chunk's waiting outcomes where their lines have none yet (one write for them all) and counts each line by
     * the outcome it has. If they cannot be stored, the chunk is given back: its lines without an outcome run again.
     */
    private void store(PulledChunk p) {
        if (p.unstored.isEmpty() || p.dropped) {
            p.unstored.clear();
            return;
        }
        Map<Integer, LineResult> waiting = new HashMap<>(p.unstored);
        p.unstored.clear();
        String batchId = p.chunk.batchId();
        Map<Integer, Boolean> errors;
        try {
            errors = cluster.batches().recordAll(batchId, waiting);
            forgetIfEnded(batchId, waiting.keySet());
        } catch (RuntimeException e) {
            log.warn("{}: {} outcomes not stored ({}); the chunk is given back to run its lines without one", p.chunk,
                    waiting.size(), brief(e));
            giveBack(p);
            return;
        }
        for (Integer number : waiting.keySet()) {
            (errors.getOrDefault(number, waiting.get(number).error()) ? p.failed : p.succeeded).incrementAndGet();
            lineSettled(p);
        }
    }

    /**
     * Removes outcomes stored after their batch ended (cancelled or expired while the lines ran): the batch's files
     * are written and its line records dropped, so these would stay in the grid for good. Read after the write: a
     * batch that ends later drops the records itself.
     */
    private void forgetIfEnded(String batchId, java.util.Collection<Integer> numbers) {
        BatchJob now = cluster.batches().get(batchId);
        if (now == null || now.status().terminal()) {
            numbers.forEach(n -> cluster.batches().forgetLine(batchId, n));
        }
    }

    /** Stops a chunk here and lets any node claim it again (its lines with an outcome are not run again). */
    private void giveBack(PulledChunk p) {
        pulled.remove(p.chunk.key(), p);
        p.drop();
        release(p.chunk);
    }

    /** Lets any node claim a chunk this node holds; if that fails too, the orphan sweep gives it back later. */
    private void release(LineChunk chunk) {
        try {
            cluster.batches().chunks().release(chunk.key(), cluster.grid().localId());
        } catch (RuntimeException e) {
            log.info("{} not given back yet ({}); tried again within {} s", chunk, brief(e), SWEEP_MILLIS / 1000);
        }
    }

    /**
     * Chunks running here with no line started, ended or given a token for {@link #STALLED_MILLIS} (a line the engine
     * never reports on would otherwise hold its chunk, and its place here, for good): given back, said at WARN.
     */
    private void giveBackStalled(long now) {
        for (PulledChunk p : pulled.values()) {
            long moved = p.lastMovedMillis();
            if (now - moved > STALLED_MILLIS) {
                log.warn("{}: no line of it started, ended or had a token here for {} s ({} of its lines running, {}"
                        + " without an outcome); given back to run again", p.chunk, (now - moved) / 1000,
                        p.live.size(), p.outstanding.get());
                giveBack(p);
            }
        }
    }

    /**
     * Chunks the grid says this node runs while it does not (a claim whose transaction failed after it committed, a
     * chunk given back or marked done by a transaction that failed): given back, said at WARN. On the ticks thread,
     * where claims are made, so a chunk just claimed is in {@code pulled} already.
     */
    private void giveBackOrphans() {
        UUID self = cluster.grid().localId();
        for (LineChunk c : cluster.batches().chunks().unfinished()) {
            if (self.equals(c.owner()) && !pulled.containsKey(c.key()) && !finishing.contains(c.key())) {
                log.warn("{}: claimed by this node in the grid, which does not run it (a claim, give-back or done"
                        + " mark whose transaction failed); given back", c);
                release(c);
            }
        }
    }

    /** Chunks removed by their batch's runner (cancelled, expired) stop running here. */
    private void dropRemoved() {
        Map<String, LineChunk> present = cluster.batches().chunks().get(new HashSet<>(pulled.keySet()));
        for (PulledChunk p : pulled.values()) {
            LineChunk now = present.get(p.chunk.key());
            if (now == null || !cluster.grid().localId().equals(now.owner())) {
                log.info("{}: removed or taken over; its lines stop here", p.chunk);
                pulled.remove(p.chunk.key(), p);
                p.drop();
            }
        }
    }

    /** A grid failure in a line: the innermost cause's class and the start of its message (Ignite's dump a whole tx). */
    static String brief(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = String.valueOf(root.getMessage());
        return root.getClass().getSimpleName() + ": " + (message.length() > 120 ? message.substring(0, 120) + "..." : message);
    }

    private static String customId(String text) {
        try {
            return JsonBody.MAPPER.readTree(text).path("custom_id").asText(null);
        } catch (java.io.IOException e) {
            return null;
        }
    }

    private static String uuid() {
        return UUID.randomUUID().toString().replace("-", "");
    }

    /** Stops running lines here and gives unfinished chunks back, so that other nodes take them at once. */
    @Override
    public void close() {
        closed = true;
        ticks.shutdownNow();
        try { // the outcomes waiting to be stored with their chunk's: stored now, not run again elsewhere
            results.submit(() -> storeWaiting(Long.MAX_VALUE)).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.debug("waiting outcomes not stored at close: {}", e.toString());
        }
        pulled.values().forEach(this::giveBack);
        results.shutdownNow();
    }
}
