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
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.batch.BatchJob;
import org.autoglm.gossip.batch.BatchStatus;
import org.autoglm.gossip.batch.BatchStore;
import org.autoglm.gossip.batch.FileStore;
import org.autoglm.gossip.batch.LineChunk;
import org.autoglm.gossip.batch.LineChunks;
import org.autoglm.gossip.batch.LineError;
import org.autoglm.gossip.batch.LineResult;
import org.autoglm.gossip.batch.StoredFile;
import org.autoglm.gossip.grid.Daemons;
import org.autoglm.node.api.BatchLines;
import org.autoglm.node.api.JsonBody;
import org.autoglm.node.api.ServedModel;
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
    /** Lines per chunk: a node claims them in one transaction. */
    static final int CHUNK_LINES = 16;
    /** Leading KV blocks of a line's prompt a chunk's prefix names (4,096 tokens with 16-token blocks). */
    private static final int MAX_PREFIX_BLOCKS = 256;
    /** How often the runner looks for chunks that are done. */
    private static final long REAP_MILLIS = 250;
    /** Least time between two progress events of one batch while its counts move. */
    static final long PROGRESS_EVERY_MILLIS = 2_000;
    /** Errors listed in a failed batch's {@code errors.data}. */
    static final int MAX_LISTED_ERRORS = 1000;
    /**
     * How long the runner waits with chunks open and none done before it says which, and who holds them (then again
     * as often): longer than a chunk of long lines takes on a slow CPU, so that a healthy batch does not warn.
     */
    static final long QUIET_MILLIS = 180_000;

    private final Cluster cluster;
    private final FileStore files;
    private final BatchStore store;
    private final ServedModel model;
    private final String id;
    private final BiConsumer<String, ObjectNode> events;
    /** Tokens per KV block of the engines (the prefix hashes of a chunk are over such blocks). */
    private final java.util.function.IntSupplier blockSize;
    private long lastProgressMillis;
    /** When an open chunk was last counted (or the first opened), and when a quiet batch was last reported. */
    private long lastReapMillis = System.currentTimeMillis();
    private long lastQuietReportMillis;
    private int lastProgressLines = -1;
    /** Chunks opened and not yet counted, by key (touched on the run's thread only). */
    private final Map<String, LineChunk> open = new java.util.LinkedHashMap<>();
    private final AtomicInteger succeeded = new AtomicInteger();
    private final AtomicInteger failed = new AtomicInteger();
    private final ScheduledExecutorService timers;
    /** The batch's owner (fair share between users when nodes pick chunks). */
    private volatile String owner;
    /** Set when the batch must stop early: CANCELLED or EXPIRED. */
    private volatile BatchStatus stopReason;
    /** This node is closing: leave the batch for another node. */
    private volatile boolean stopped;
    /** The output files are being written: progress updates would only race the final counts. */
    private volatile boolean finishing;

    BatchRun(Cluster cluster, ServedModel model, String id, BiConsumer<String, ObjectNode> events,
             java.util.function.IntSupplier blockSize) {
        this.cluster = cluster;
        this.blockSize = blockSize;
        this.events = events;
        this.files = cluster.files();
        this.store = cluster.batches();
        this.model = model;
        this.id = id;
        this.timers = Daemons.scheduler("autoglm-" + id);
    }

    void stop() {
        stopped = true;
    }

    void run() {
        try {
            BatchJob job = store.get(id);
            if (job == null || job.status().terminal()) {
                return;
            }
            owner = job.owner();
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
            log.warn("batch {}: stopped on this node ({}); it is left for another try", id, BatchPuller.brief(e));
            try {
                store.update(id, b -> cluster.grid().localId().equals(b.runner()) ? b.runBy(null) : b);
            } catch (RuntimeException ignored) {
                // the grid is going away: the runner's death frees the batch anyway
            }
        } finally {
            timers.shutdownNow();
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

    /**
     * Streams every line without an outcome into chunks that nodes with room claim and run ({@link BatchPuller}),
     * keeping a bounded number open, and counts the chunks as they are done; returns how the batch ends (COMPLETED
     * unless it stopped early). A runner that takes the batch over adopts the chunks its predecessor opened.
     */
    private BatchStatus execute(BatchJob job) throws IOException, InterruptedException {
        int[] done = store.counts(id);
        LineChunks chunks = store.chunks();
        Set<Integer> adopted = new HashSet<>();
        int nextIndex = 0;
        for (LineChunk chunk : chunks.of(id)) {
            nextIndex = Math.max(nextIndex, chunk.index() + 1);
            if (chunk.done()) { // its lines are in the counts already
                chunks.remove(List.of(chunk.key()));
                continue;
            }
            open.put(chunk.key(), chunk);
            int[] numbers = new int[chunk.size()];
            for (int i = 0; i < numbers.length; i++) {
                numbers[i] = chunk.number(i);
                adopted.add(numbers[i]);
            }
            for (LineResult counted : store.results(id, numbers).values()) { // counted again when the chunk is done
                done[counted.error() ? 1 : 0]--;
            }
        }
        succeeded.set(done[0]);
        failed.set(done[1]);
        progress(job.counts(done[0], done[1]));
        StoredFile file = files.get(job.inputFileId());
        if (file == null) {
            throw new IllegalStateException("input file " + job.inputFileId() + " is gone");
        }
        int maxOpen = maxOpenChunks();
        lastReapMillis = System.currentTimeMillis();
        java.util.concurrent.ScheduledFuture<?> watching = timers.scheduleWithFixedDelay(this::watch, 0, 1, TimeUnit.SECONDS);
        ChunkGrouping grouping = new ChunkGrouping(CHUNK_LINES);
        int[] index = {nextIndex};
        InputLines.forEach(files, file, (number, text) -> {
            if (adopted.contains(number)) {
                return true;
            }
            BatchLines.Placement where = placement(text, number, job.endpoint());
            ChunkGrouping.Group ready = grouping.add(number, text, where.priority(), where.prefix(),
                    where.requiredTags());
            return ready == null || openChunk(chunks, ready, index, maxOpen);
        });
        for (ChunkGrouping.Group rest : grouping.rest()) {
            if (!openChunk(chunks, rest, index, maxOpen)) {
                break;
            }
        }
        while (!open.isEmpty() && stopReason == null && !stopped) {
            reap(chunks);
            if (!open.isEmpty()) {
                Thread.sleep(REAP_MILLIS);
            }
        }
        if (stopReason != null) { // the nodes running them see them gone and stop their lines
            chunks.remove(open.keySet());
            open.clear();
        }
        watching.cancel(false); // finish() writes the final counts; a late progress update must not replace them
        watch();
        return stopReason == null ? BatchStatus.COMPLETED : stopReason;
    }

    /**
     * Opens a chunk of a group's lines (less those with an outcome, from before a take-over) once fewer than
     * {@code maxOpen} are open; false when the batch stops meanwhile.
     */
    private boolean openChunk(LineChunks chunks, ChunkGrouping.Group group, int[] index, int maxOpen)
            throws InterruptedException {
        int[] wanted = group.numbers().stream().mapToInt(Integer::intValue).toArray();
        Set<Integer> stored = store.results(id, wanted).keySet();
        List<Integer> keep = new ArrayList<>();
        for (int i = 0; i < wanted.length; i++) {
            if (!stored.contains(wanted[i])) {
                keep.add(i);
            }
        }
        while (open.size() >= maxOpen) {
            if (stopReason != null || stopped) {
                return false;
            }
            reap(chunks);
            if (open.size() >= maxOpen) {
                Thread.sleep(REAP_MILLIS);
            }
        }
        if (stopReason != null || stopped) {
            return false;
        }
        if (!keep.isEmpty()) {
            LineChunk chunk = new LineChunk(id, index[0]++, owner, keep.stream().mapToInt(i -> wanted[i]).toArray(),
                    keep.stream().map(group.texts()::get).toArray(String[]::new))
                    .ordered(group.priority(), group.prefix(), group.requiredTags());
            chunks.add(chunk);
            open.put(chunk.key(), chunk);
        }
        return true;
    }

    /** A line's priority and prompt prefix; a line that no longer parses (the model changed) gets neither. */
    private BatchLines.Placement placement(String text, int number, String endpoint) {
        try {
            return BatchLines.placement(BatchLines.parse(text, number, endpoint, model), endpoint, model,
                    blockSize.getAsInt(), MAX_PREFIX_BLOCKS);
        } catch (BatchLines.BadLine | RuntimeException e) {
            return new BatchLines.Placement(0, new long[0], List.of());
        }
    }

    /** Counts the open chunks that are done and removes them. */
    private void reap(LineChunks chunks) {
        Map<String, LineChunk> now = chunks.get(new HashSet<>(open.keySet()));
        List<String> finished = new ArrayList<>();
        for (String key : List.copyOf(open.keySet())) {
            LineChunk chunk = now.get(key);
            if (chunk == null || chunk.done()) {
                if (chunk != null) {
                    succeeded.addAndGet(chunk.succeeded());
                    failed.addAndGet(chunk.failed());
                    finished.add(key);
                }
                open.remove(key);
            }
        }
        if (!finished.isEmpty()) {
            chunks.remove(finished);
        }
        long nowMillis = System.currentTimeMillis();
        if (!finished.isEmpty() || open.isEmpty()) {
            lastReapMillis = nowMillis;
        } else if (nowMillis - lastReapMillis > QUIET_MILLIS && nowMillis - lastQuietReportMillis > QUIET_MILLIS) {
            lastQuietReportMillis = nowMillis;
            reportQuiet(now, nowMillis);
        }
    }

    /** Says at WARN which chunks the batch waits for, and who holds them: a stalled batch is never a silent one. */
    private void reportQuiet(Map<String, LineChunk> now, long nowMillis) {
        List<String> held = new ArrayList<>();
        for (LineChunk chunk : now.values()) {
            if (held.size() == 5) {
                held.add("...");
                break;
            }
            UUID owner = chunk.owner();
            held.add(chunk.key() + (owner == null ? " waiting for a node" : " on " + cluster.nameOf(owner)
                    + (cluster.grid().isAlive(owner) ? "" : " (gone)")));
        }
        log.warn("batch {}: no chunk of its lines done for {} s; {} open: {}", id, (nowMillis - lastReapMillis) / 1000,
                open.size(), String.join(", ", held));
    }

    /** Chunks open at once: twice what the cluster runs at once, so that a node finishing one finds the next. */
    private int maxOpenChunks() {
        long nodes = cluster.registry().nodes().stream().filter(n -> model.name().equals(n.info().model())).count();
        int lines = (int) Math.max(1, nodes) * BatchPuller.MAX_LINES_PER_NODE * 2;
        return Math.max(2, lines / CHUNK_LINES);
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
        } catch (RuntimeException e) {
            log.debug("batch {}: progress not published: {}", id, e.toString());
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
