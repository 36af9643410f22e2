package org.autoglm.node.batch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.batch.BatchJob;
import org.autoglm.gossip.batch.BatchStatus;
import org.autoglm.gossip.batch.BatchStore;
import org.autoglm.gossip.batch.FileStore;
import org.autoglm.gossip.batch.LineError;
import org.autoglm.gossip.batch.LineResult;
import org.autoglm.gossip.batch.StoredFile;
import org.autoglm.gossip.grid.Daemons;
import org.autoglm.node.api.BatchLines;
import org.autoglm.node.api.JsonBody;
import org.autoglm.node.api.ServedModel;
import org.autoglm.node.engine.InferenceService;
import org.autoglm.node.plugins.Plugins;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One batch run by this node, from where the grid says it is: validate the input, stream its lines into the shared
 * queue as batch-class requests with a bounded window in flight, store each line's outcome once under (batch, line),
 * and write the output and error files. A node that takes over a batch skips the lines that have an outcome and
 * re-runs the rest, so each line ends in exactly one file exactly once.
 */
final class BatchRun {

    private static final Logger log = LoggerFactory.getLogger(BatchRun.class);
    /** Tries of a line the cluster could not run (full, no leader, a failed generation) before it counts as failed. */
    static final int MAX_ATTEMPTS = 5;
    /** Least time between two progress events of one batch while its counts move. */
    static final long PROGRESS_EVERY_MILLIS = 2_000;
    /** Errors listed in a failed batch's {@code errors.data}. */
    static final int MAX_LISTED_ERRORS = 1000;

    private final Cluster cluster;
    private final FileStore files;
    private final BatchStore store;
    private final ServedModel model;
    private final InferenceService engine;
    private final Plugins plugins;
    private final String id;
    private final BiConsumer<String, ObjectNode> events;
    private long lastProgressMillis;
    private int lastProgressLines = -1;
    private final Map<Integer, Attempt> inFlight = new ConcurrentHashMap<>();
    private final AtomicInteger succeeded = new AtomicInteger();
    private final AtomicInteger failed = new AtomicInteger();
    private final AtomicInteger outstanding = new AtomicInteger();
    private final ScheduledExecutorService timers;
    /** Grid writes happen here, not on the engine or grid threads that report a line's end. */
    private final ExecutorService results;
    private volatile Semaphore window = new Semaphore(1);
    /** Set when the batch must stop early: CANCELLED or EXPIRED. */
    private volatile BatchStatus stopReason;
    /** This node is closing: leave the batch for another node. */
    private volatile boolean stopped;
    /** The output files are being written: progress updates would only race the final counts. */
    private volatile boolean finishing;

    private static final class Attempt {
        volatile BatchLines.Execution execution;
    }

    BatchRun(Cluster cluster, ServedModel model, InferenceService engine, Plugins plugins, String id,
             BiConsumer<String, ObjectNode> events) {
        this.cluster = cluster;
        this.plugins = plugins;
        this.events = events;
        this.files = cluster.files();
        this.store = cluster.batches();
        this.model = model;
        this.engine = engine;
        this.id = id;
        this.timers = Daemons.scheduler("autoglm-" + id);
        this.results = Daemons.pool("autoglm-" + id + "-results", 1);
    }

    void stop() {
        stopped = true;
        cancelInFlight();
    }

    void run() {
        try {
            BatchJob job = store.get(id);
            if (job == null || job.status().terminal()) {
                return;
            }
            if (job.status() == BatchStatus.VALIDATING) {
                job = validate(job);
                if (job.status().terminal()) {
                    return;
                }
            }
            BatchStatus end = BatchStatus.COMPLETED;
            if (job.status() == BatchStatus.IN_PROGRESS) {
                end = execute(job);
            }
            if (!stopped) {
                finish(end);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            log.warn("batch {}: stopped on this node ({}); it is left for another try", id, e.toString());
            try {
                store.update(id, b -> cluster.grid().localId().equals(b.runner()) ? b.runBy(null) : b);
            } catch (RuntimeException ignored) {
                // the grid is going away: the runner's death frees the batch anyway
            }
        } finally {
            timers.shutdownNow();
            results.shutdown();
        }
    }

    private BatchJob validate(BatchJob job) throws IOException, InterruptedException {
        StoredFile file = files.get(job.inputFileId());
        List<LineError> errors = new ArrayList<>();
        int[] count = {0};
        if (file == null) {
            errors.add(new LineError("invalid_file", "The input file " + job.inputFileId() + " no longer exists.",
                    "input_file_id", 0));
        } else {
            Set<String> customIds = new HashSet<>();
            InputLines.forEach(files, file, (number, text) -> {
                if (++count[0] > BatchLines.MAX_LINES) {
                    errors.add(new LineError("too_many_lines", "The input file has more than " + BatchLines.MAX_LINES
                            + " lines; split it into several batches.", null, number));
                    return false;
                }
                try {
                    BatchLines.Line line = BatchLines.parse(text, number, job.endpoint(), model);
                    if (!customIds.add(line.customId())) {
                        add(errors, new LineError("duplicate_custom_id", "Line " + number + ": custom_id '"
                                + line.customId() + "' is used by an earlier line; each must be unique.", "custom_id", number));
                    }
                } catch (BatchLines.BadLine e) {
                    add(errors, new LineError(e.code(), e.getMessage(), e.param(), number));
                }
                return true;
            });
            if (count[0] == 0) {
                errors.add(new LineError("empty_file", "The input file has no lines.", null, 0));
            }
        }
        BatchJob after = store.update(id, b -> b.status() != BatchStatus.VALIDATING ? b
                : errors.isEmpty() ? b.inProgress(count[0]) : b.invalid(errors));
        progress(after);
        if (after.status() == BatchStatus.FAILED) {
            log.info("batch {} failed validation: {} problem(s), first: {}", id, errors.size(), errors.get(0).message());
        }
        return after;
    }

    private static void add(List<LineError> errors, LineError error) {
        if (errors.size() < MAX_LISTED_ERRORS) {
            errors.add(error);
        }
    }

    /** Runs every line without an outcome; returns how the batch ends (COMPLETED unless it stopped early). */
    private BatchStatus execute(BatchJob job) throws IOException, InterruptedException {
        int[] done = store.counts(id);
        succeeded.set(done[0]);
        failed.set(done[1]);
        window = new Semaphore(windowSize());
        progress(job.counts(done[0], done[1]));
        StoredFile file = files.get(job.inputFileId());
        if (file == null) {
            throw new IllegalStateException("input file " + job.inputFileId() + " is gone");
        }
        java.util.concurrent.ScheduledFuture<?> watching = timers.scheduleWithFixedDelay(this::watch, 0, 1, TimeUnit.SECONDS);
        InputLines.forEach(files, file, (number, text) -> {
            if (stopReason != null || stopped) {
                return false;
            }
            if (store.result(id, number) != null) {
                return true; // done before this node took over
            }
            BatchLines.Line line;
            try {
                line = BatchLines.parse(text, number, job.endpoint(), model);
            } catch (BatchLines.BadLine e) { // validated already; only a changed model could get here
                record(number, customId(text), "batch_req_" + uuid(), 400, JsonBody.MAPPER.createObjectNode()
                        .set("error", JsonBody.MAPPER.createObjectNode().put("message", e.getMessage())
                                .put("code", e.code())));
                return true;
            }
            while (!window.tryAcquire(200, TimeUnit.MILLISECONDS)) {
                if (stopReason != null || stopped) {
                    return false;
                }
            }
            outstanding.incrementAndGet();
            submit(job, line, 1);
            return true;
        });
        while (outstanding.get() > 0 && stopReason == null && !stopped) {
            Thread.sleep(50);
        }
        if (stopReason != null || stopped) {
            cancelInFlight();
        }
        watching.cancel(false); // finish() writes the final counts; a late progress update must not replace them
        watch();
        return stopReason == null ? BatchStatus.COMPLETED : stopReason;
    }

    /** Lines in flight: as many as the cluster runs at once (its nodes' batch limits), within [8, 256]. */
    private int windowSize() {
        int slots = cluster.registry().nodes().stream()
                .filter(n -> model.name().equals(n.info().model()))
                .mapToInt(n -> n.info().maxBatch()).sum();
        return Math.max(8, Math.min(256, slots));
    }

    private void submit(BatchJob job, BatchLines.Line line, int attempt) {
        if (stopReason != null || stopped) {
            lineSettled();
            return;
        }
        String requestId = "batch_req_" + uuid();
        Attempt current = new Attempt();
        inFlight.put(line.number(), current);
        current.execution = BatchLines.run(line, job.endpoint(), requestId, job.owner(), model, engine, plugins,
                outcome -> results.execute(() -> settle(job, line, attempt, requestId, current, outcome)));
    }

    private void settle(BatchJob job, BatchLines.Line line, int attempt, String requestId, Attempt current,
                        BatchLines.Outcome outcome) {
        inFlight.remove(line.number(), current);
        if (stopReason != null || stopped) {
            lineSettled();
            return;
        }
        try {
            if (outcome instanceof BatchLines.Answered answered) {
                record(line.number(), line.customId(), requestId, answered.statusCode(), answered.body());
            } else if (outcome instanceof BatchLines.Retry retry) {
                if (attempt < MAX_ATTEMPTS) {
                    log.debug("batch {} line {}: attempt {} not run ({}), retrying", id, line.number(), attempt,
                            retry.reason());
                    timers.schedule(() -> submit(job, line, attempt + 1), 500L * attempt, TimeUnit.MILLISECONDS);
                    return;
                }
                record(line.number(), line.customId(), requestId, 503, JsonBody.MAPPER.createObjectNode().set("error",
                        JsonBody.MAPPER.createObjectNode().put("message", "Not run after " + MAX_ATTEMPTS
                                + " tries: " + retry.reason()).put("type", "server_error").put("code", "unavailable")));
            }
        } catch (RuntimeException e) {
            log.warn("batch {} line {}: outcome not stored ({}); it runs again on the next take-over", id,
                    line.number(), e.toString());
        }
        lineSettled();
    }

    private void lineSettled() {
        outstanding.decrementAndGet();
        window.release();
    }

    /** Stores a line's outcome unless it has one already (a re-run after a take-over). */
    private void record(int number, String customId, String requestId, int status, ObjectNode body) {
        ObjectNode line = JsonBody.MAPPER.createObjectNode();
        line.put("id", requestId);
        line.put("custom_id", customId);
        ObjectNode response = line.putObject("response");
        response.put("status_code", status);
        response.put("request_id", requestId);
        response.set("body", body);
        line.putNull("error");
        if (store.record(id, number, new LineResult(status != 200, line.toString()))) {
            (status == 200 ? succeeded : failed).incrementAndGet();
        }
    }

    /** Every second: publish the counts, and notice a cancel or the end of the completion window. */
    private void watch() {
        if (finishing) {
            return;
        }
        try {
            BatchJob now = store.update(id, b -> b.completed() == succeeded.get() && b.failed() == failed.get() ? b
                    : b.counts(succeeded.get(), failed.get()));
            if (now != null && now.completed() + now.failed() != lastProgressLines
                    && System.currentTimeMillis() - lastProgressMillis >= PROGRESS_EVERY_MILLIS) {
                progress(now);
            }
            if (now == null || now.status() == BatchStatus.CANCELLING) {
                stopReason = BatchStatus.CANCELLED;
            } else if (System.currentTimeMillis() / 1000 >= now.expiresAt()) {
                stopReason = BatchStatus.EXPIRED;
            }
            if (stopReason != null) {
                cancelInFlight();
            }
        } catch (RuntimeException e) {
            log.debug("batch {}: progress not published: {}", id, e.toString());
        }
    }

    private void cancelInFlight() {
        for (Attempt a : inFlight.values()) {
            BatchLines.Execution e = a.execution;
            if (e != null) {
                e.cancel();
            }
        }
    }

    /** Writes the output and error files from the stored outcomes, in input order, and ends the batch. */
    private void finish(BatchStatus end) throws IOException, InterruptedException {
        finishing = true;
        BatchJob job = store.update(id, b -> b.status().terminal() ? b : b.finalizing(end));
        if (job == null || job.status().terminal()) {
            return;
        }
        StoredFile input = files.get(job.inputFileId());
        String suffix = id.startsWith("batch_") ? id.substring("batch_".length()) : id;
        FileStore.Writer output = files.create("file-" + suffix + "-output", job.owner(), id + "_output.jsonl",
                "batch_output");
        FileStore.Writer errors = files.create("file-" + suffix + "-errors", job.owner(), id + "_errors.jsonl",
                "batch_output");
        int[] written = new int[2];
        int last = input == null ? 0 : InputLines.forEach(files, input, (number, text) -> {
            LineResult result = store.result(id, number);
            String json = result != null ? result.json() : unfinished(customId(text), job.ending());
            boolean error = result == null || result.error();
            (error ? errors : output).write((json + "\n").getBytes(StandardCharsets.UTF_8));
            written[error ? 1 : 0]++;
            return true;
        });
        String outputId = written[0] > 0 ? output.finish().id() : abandon(output);
        String errorId = written[1] > 0 ? errors.finish().id() : abandon(errors);
        BatchJob ended = store.update(id, b -> b.status().terminal() ? b
                : b.counts(written[0], written[1]).finished(outputId, errorId));
        store.forgetLines(id, last + 1);
        if (ended != null) {
            progress(ended);
        }
        log.info("batch {} {}: {} line(s) answered, {} failed", id, ended == null ? "gone" : ended.status().wire(),
                written[0], written[1]);
    }

    /** A {@code batch_progress} event: the batch's status and counts, and the node running it. */
    private void progress(BatchJob job) {
        lastProgressMillis = System.currentTimeMillis();
        lastProgressLines = job.completed() + job.failed();
        ObjectNode data = JsonBody.MAPPER.createObjectNode().put("batch_id", id).put("status", job.status().wire())
                .put("node", cluster.grid().name()).put("total", job.total()).put("completed", job.completed())
                .put("failed", job.failed());
        try {
            events.accept("batch_progress", data);
        } catch (RuntimeException e) {
            log.debug("batch {}: progress event not sent: {}", id, e.toString());
        }
    }

    private static String abandon(FileStore.Writer writer) {
        writer.abandon();
        return null;
    }

    /** The error-file line of a line that never ran: the batch was cancelled or expired first. */
    private static String unfinished(String customId, BatchStatus ending) {
        ObjectNode line = JsonBody.MAPPER.createObjectNode();
        line.put("id", "batch_req_" + uuid());
        line.put("custom_id", customId);
        line.putNull("response");
        boolean expired = ending == BatchStatus.EXPIRED;
        line.putObject("error")
                .put("code", expired ? "batch_expired" : "batch_cancelled")
                .put("message", expired ? "This request could not be executed before the completion window expired."
                        : "The batch was cancelled before this request ran.");
        return line.toString();
    }

    private static String customId(String text) {
        try {
            return JsonBody.MAPPER.readTree(text).path("custom_id").asText(null);
        } catch (IOException e) {
            return null;
        }
    }

    private static String uuid() {
        return UUID.randomUUID().toString().replace("-", "");
    }
}
