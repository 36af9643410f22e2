package org.autoglm.node.batch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
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
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.batch.BatchJob;
import org.autoglm.gossip.batch.ChunkOrder;
import org.autoglm.gossip.batch.LineChunk;
import org.autoglm.gossip.batch.LineChunks;
import org.autoglm.gossip.batch.LineResult;
import org.autoglm.gossip.grid.Daemons;
import org.autoglm.gossip.placement.PrefixSummary;
import org.autoglm.gossip.registry.NodeView;
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

    private final Cluster cluster;
    private final ServedModel model;
    private final Supplier<InferenceService> engine;
    private final Plugins plugins;
    private final ChunkOrder order = new ChunkOrder();
    /** When (in claims made here) this node last took a chunk of each user: ties of fair share alternate users. */
    private final Map<String, Long> lastServed = new ConcurrentHashMap<>();
    private final AtomicLong claims = new AtomicLong();
    /** Where {@code request_failed_over} events go (the cluster's event stream). */
    private final BiConsumer<String, ObjectNode> events;
    private final ScheduledExecutorService ticks;
    /** Outcome writes happen here, not on the engine threads that report a line's end. */
    private final ExecutorService results;
    private final Map<String, Pulled> pulled = new ConcurrentHashMap<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private long nextLookMillis;
    private long nextCheckMillis;
    private volatile boolean closed;
    /** Some batch was in progress at the last look at the batches (every second): only then are chunks looked for. */
    private volatile boolean inProgress;

    /** A chunk this node runs: its lines' executions and how they ended. */
    private final class Pulled {
        final LineChunk chunk;
        final BatchJob job;
        final Map<Integer, BatchLines.Execution> running = new ConcurrentHashMap<>();
        /** Lines submitted and not yet settled or dropped: each holds one place of {@code inFlight}. */
        final Set<Integer> live = ConcurrentHashMap.newKeySet();
        final AtomicInteger outstanding = new AtomicInteger();
        final AtomicInteger succeeded = new AtomicInteger();
        final AtomicInteger failed = new AtomicInteger();
        volatile boolean dropped;

        Pulled(LineChunk chunk, BatchJob job) {
            this.chunk = chunk;
            this.job = job;
        }

        /**
         * Stops its lines here. A cancelled line reports nothing, so its place among the node's lines in flight is
         * given back now (whoever takes a line out of {@code live} gives it back, once).
         */
        void drop() {
            dropped = true;
            running.values().forEach(BatchLines.Execution::cancel);
            for (Integer number : List.copyOf(live)) {
                if (live.remove(number)) {
                    inFlight.decrementAndGet();
                }
            }
        }
    }

    BatchPuller(Cluster cluster, ServedModel model, Supplier<InferenceService> engine, Plugins plugins,
                BiConsumer<String, ObjectNode> events) {
        this.cluster = cluster;
        this.events = events;
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
            if (now >= nextCheckMillis && !pulled.isEmpty()) {
                nextCheckMillis = now + CHECK_MILLIS;
                dropRemoved();
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
            if (!claimOne()) {
                nextLookMillis = now + IDLE_LOOK_MILLIS;
            }
        } catch (RuntimeException e) {
            log.debug("batch line pull on {} failed: {}", cluster.grid().name(), e.toString());
            nextLookMillis = System.currentTimeMillis() + IDLE_LOOK_MILLIS;
        }
    }

    /**
     * Claims the best chunk nobody runs whose {@code required_tags} this node has, in the cluster's order between batches ({@link ChunkOrder}: priority, fair
     * share between users, the prefix this node holds, age). False when there was none.
     */
    private boolean claimOne() {
        LineChunks chunks = cluster.batches().chunks();
        Set<UUID> alive = new HashSet<>(cluster.grid().serverNodeIds());
        List<LineChunk> open = chunks.unfinished();
        Map<String, Integer> runningByUser = new HashMap<>();
        List<LineChunk> free = new ArrayList<>();
        List<String> tags = cluster.registry().self().tags();
        for (LineChunk c : open) {
            if (c.owner() != null && alive.contains(c.owner())) {
                runningByUser.merge(ChunkOrder.userOf(c), 1, Integer::sum);
            } else if (tags.containsAll(c.requiredTags())) { // the others wait for a node with their tags
                free.add(c);
            }
        }
        if (free.isEmpty()) {
            return false;
        }
        UUID self = cluster.grid().localId();
        for (LineChunk candidate : order.order(free, runningByUser, self, prefixSummaries(alive), lastServed,
                System.currentTimeMillis())) {
            LineChunk mine = chunks.claim(candidate.key(), self, alive);
            if (mine != null) {
                lastServed.put(ChunkOrder.userOf(mine), claims.incrementAndGet());
                if (candidate.owner() != null) {
                    failedOver(mine, candidate.owner());
                }
                start(mine);
                return true;
            }
        }
        return false;
    }

    /** The prefix summaries the live nodes published; none with {@code --no-cache-aware-placement} (load only). */
    private Map<UUID, PrefixSummary> prefixSummaries(Set<UUID> alive) {
        Map<UUID, PrefixSummary> summaries = new HashMap<>();
        if (cluster.grid().config().cacheAwarePlacement) {
            for (NodeView node : cluster.registry().nodes()) {
                if (alive.contains(node.id()) && node.load() != null && node.load().prefix() != null) {
                    summaries.put(node.id(), node.load().prefix());
                }
            }
        }
        return summaries;
    }

    /** A {@code request_failed_over} event: the chunk's lines move here from a node that died running them. */
    private void failedOver(LineChunk chunk, UUID from) {
        String name = cluster.nameOf(from);
        ObjectNode data = JsonBody.MAPPER.createObjectNode().put("request_id", chunk.key())
                .put("batch_id", chunk.batchId()).put("lines", chunk.size()).put("from", name)
                .put("reason", "node " + name + " left the cluster while running these batch lines");
        try {
            events.accept("request_failed_over", data);
        } catch (RuntimeException e) {
            log.debug("{}: failover event not sent: {}", chunk, e.toString());
        }
    }

    private void start(LineChunk chunk) {
        BatchJob job = cluster.batches().get(chunk.batchId());
        if (job == null || job.status().terminal()) {
            return; // its runner removes what is left of it
        }
        int[] numbers = new int[chunk.size()];
        for (int i = 0; i < numbers.length; i++) {
            numbers[i] = chunk.number(i);
        }
        Map<Integer, LineResult> stored = cluster.batches().results(chunk.batchId(), numbers);
        Pulled p = new Pulled(chunk, job);
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

    private void submit(Pulled p, int number, String text, int attempt) {
        if (p.dropped || closed) {
            inFlight.decrementAndGet();
            return;
        }
        BatchLines.Line line;
        try {
            line = BatchLines.parse(text, number, p.job.endpoint(), model);
        } catch (BatchLines.BadLine e) { // validated already; only a changed model could get here
            results.execute(() -> {
                record(p, number, customId(text), "batch_req_" + uuid(), 400, JsonBody.MAPPER.createObjectNode()
                        .set("error", JsonBody.MAPPER.createObjectNode().put("message", e.getMessage())
                                .put("code", e.code())));
                lineEnded(p);
            });
            return;
        }
        String requestId = "batch_req_" + uuid();
        InferenceService local = engine.get();
        p.live.add(number);
        p.running.put(number, BatchLines.run(line, p.job.endpoint(), requestId, p.job.owner(), model, local, plugins,
                outcome -> results.execute(() -> settle(p, line, text, attempt, requestId, outcome))));
    }

    private void settle(Pulled p, BatchLines.Line line, String text, int attempt, String requestId,
                        BatchLines.Outcome outcome) {
        p.running.remove(line.number());
        if (!p.live.remove(line.number())) {
            return; // dropped meanwhile: its place was given back then
        }
        if (p.dropped || closed) {
            inFlight.decrementAndGet();
            return;
        }
        try {
            if (outcome instanceof BatchLines.Answered answered) {
                record(p, line.number(), line.customId(), requestId, answered.statusCode(), answered.body());
            } else if (outcome instanceof BatchLines.Retry retry) {
                if (attempt < BatchRun.MAX_ATTEMPTS) {
                    log.debug("{} line {}: attempt {} not run ({}), retrying", p.chunk, line.number(), attempt,
                            retry.reason());
                    ticks.schedule(() -> submit(p, line.number(), text, attempt + 1), 500L * attempt,
                            TimeUnit.MILLISECONDS);
                    return;
                }
                record(p, line.number(), line.customId(), requestId, 503, JsonBody.MAPPER.createObjectNode().set("error",
                        JsonBody.MAPPER.createObjectNode().put("message", "Not run after " + BatchRun.MAX_ATTEMPTS
                                + " tries: " + retry.reason()).put("type", "server_error").put("code", "unavailable")));
            }
        } catch (RuntimeException e) {
            log.warn("{} line {}: outcome not stored ({}); the chunk is given back to run its lines without one",
                    p.chunk, line.number(), e.toString());
            giveBack(p);
        }
        lineEnded(p);
    }

    private void lineEnded(Pulled p) {
        inFlight.decrementAndGet();
        lineSettled(p);
    }

    /** One line of the chunk has its outcome: the last one marks the chunk done with its counts. */
    private void lineSettled(Pulled p) {
        if (p.outstanding.decrementAndGet() > 0 || p.dropped) {
            return;
        }
        pulled.remove(p.chunk.key(), p);
        results.execute(() -> {
            try {
                cluster.batches().chunks().finish(p.chunk.key(), cluster.grid().localId(), p.succeeded.get(),
                        p.failed.get());
                if (!closed) {
                    ticks.execute(() -> { // room for a chunk now: look at once rather than at the next tick
                        nextLookMillis = 0;
                        tick();
                    });
                }
            } catch (RuntimeException e) {
                log.warn("{}: not marked done ({}); its lines have their outcomes, so another node only counts them",
                        p.chunk, e.toString());
            }
        });
    }

    /** Stores a line's outcome unless it has one already, and counts the line by the outcome stored. */
    private void record(Pulled p, int number, String customId, String requestId, int status, ObjectNode body) {
        ObjectNode line = JsonBody.MAPPER.createObjectNode();
        line.put("id", requestId);
        line.put("custom_id", customId);
        ObjectNode response = line.putObject("response");
        response.put("status_code", status);
        response.put("request_id", requestId);
        response.set("body", body);
        line.putNull("error");
        String batchId = p.chunk.batchId();
        boolean error = status != 200;
        if (!cluster.batches().record(batchId, number, new LineResult(error, line.toString()))) {
            LineResult first = cluster.batches().result(batchId, number);
            error = first != null && first.error();
        } else {
            forgetIfEnded(batchId, number);
        }
        (error ? p.failed : p.succeeded).incrementAndGet();
    }

    /**
     * Removes an outcome stored after its batch ended (cancelled or expired while the line ran): the batch's files are
     * written and its line records dropped, so this one would stay in the grid for good. Read after the write: a batch
     * that ends later drops the record itself.
     */
    private void forgetIfEnded(String batchId, int number) {
        BatchJob now = cluster.batches().get(batchId);
        if (now == null || now.status().terminal()) {
            cluster.batches().forgetLine(batchId, number);
        }
    }

    /** Stops a chunk here and lets any node claim it again (its lines with an outcome are not run again). */
    private void giveBack(Pulled p) {
        pulled.remove(p.chunk.key(), p);
        p.drop();
        try {
            cluster.batches().chunks().release(p.chunk.key(), cluster.grid().localId());
        } catch (RuntimeException e) {
            log.debug("{} not given back: {}", p.chunk, e.toString());
        }
    }

    /** Chunks removed by their batch's runner (cancelled, expired) stop running here. */
    private void dropRemoved() {
        Map<String, LineChunk> present = cluster.batches().chunks().get(new HashSet<>(pulled.keySet()));
        for (Pulled p : pulled.values()) {
            LineChunk now = present.get(p.chunk.key());
            if (now == null || !cluster.grid().localId().equals(now.owner())) {
                log.info("{}: removed or taken over; its lines stop here", p.chunk);
                pulled.remove(p.chunk.key(), p);
                p.drop();
            }
        }
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
        pulled.values().forEach(this::giveBack);
        results.shutdownNow();
    }
}
