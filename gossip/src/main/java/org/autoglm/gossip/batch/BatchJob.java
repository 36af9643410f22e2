package org.autoglm.gossip.batch;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * One batch (OpenAI's batch object) as the grid keeps it: what to run, its status and timestamps, its counts, and
 * which node is running it now. Immutable; each change is a copy written in a transaction by {@link BatchStore}.
 */
public final class BatchJob implements Serializable {

    private static final long serialVersionUID = 1L;

    private String id;
    private String owner;
    private String endpoint;
    private String inputFileId;
    private String completionWindow;
    private LinkedHashMap<String, String> metadata;
    private BatchStatus status;
    /** Where a batch that stops early ends up: CANCELLED or EXPIRED; COMPLETED otherwise. */
    private BatchStatus ending;
    private long createdAt;
    private long expiresAt;
    private long inProgressAt;
    private long finalizingAt;
    private long completedAt;
    private long failedAt;
    private long expiredAt;
    private long cancellingAt;
    private long cancelledAt;
    private int total;
    private int completed;
    private int failed;
    private String outputFileId;
    private String errorFileId;
    private ArrayList<LineError> errors;
    private UUID runner;

    private BatchJob() {}

    /** A new batch, {@code validating}, expiring {@code windowSeconds} after now. */
    public static BatchJob create(String id, String owner, String endpoint, String inputFileId, String completionWindow,
                                  long windowSeconds, Map<String, String> metadata) {
        BatchJob b = new BatchJob();
        b.id = id;
        b.owner = owner;
        b.endpoint = endpoint;
        b.inputFileId = inputFileId;
        b.completionWindow = completionWindow;
        b.metadata = metadata == null ? null : new LinkedHashMap<>(metadata);
        b.status = BatchStatus.VALIDATING;
        b.ending = BatchStatus.COMPLETED;
        b.createdAt = now();
        b.expiresAt = b.createdAt + windowSeconds;
        b.errors = new ArrayList<>();
        return b;
    }

    private BatchJob copy() {
        BatchJob b = new BatchJob();
        b.id = id;
        b.owner = owner;
        b.endpoint = endpoint;
        b.inputFileId = inputFileId;
        b.completionWindow = completionWindow;
        b.metadata = metadata;
        b.status = status;
        b.ending = ending;
        b.createdAt = createdAt;
        b.expiresAt = expiresAt;
        b.inProgressAt = inProgressAt;
        b.finalizingAt = finalizingAt;
        b.completedAt = completedAt;
        b.failedAt = failedAt;
        b.expiredAt = expiredAt;
        b.cancellingAt = cancellingAt;
        b.cancelledAt = cancelledAt;
        b.total = total;
        b.completed = completed;
        b.failed = failed;
        b.outputFileId = outputFileId;
        b.errorFileId = errorFileId;
        b.errors = errors;
        b.runner = runner;
        return b;
    }

    private static long now() {
        return System.currentTimeMillis() / 1000;
    }

    /** The input checked out: {@code total} lines to run. */
    public BatchJob inProgress(int lines) {
        BatchJob b = copy();
        b.status = BatchStatus.IN_PROGRESS;
        b.inProgressAt = now();
        b.total = lines;
        return b;
    }

    /** The input is unusable: {@code failed} with the reasons, nothing runs. */
    public BatchJob invalid(List<LineError> reasons) {
        BatchJob b = copy();
        b.status = BatchStatus.FAILED;
        b.failedAt = now();
        b.errors = new ArrayList<>(reasons);
        return b;
    }

    public BatchJob counts(int completedLines, int failedLines) {
        BatchJob b = copy();
        b.completed = completedLines;
        b.failed = failedLines;
        return b;
    }

    /** A client asked to stop: lines in flight are abandoned, those done are still delivered. */
    public BatchJob cancelling() {
        BatchJob b = copy();
        b.status = BatchStatus.CANCELLING;
        b.cancellingAt = now();
        b.ending = BatchStatus.CANCELLED;
        return b;
    }

    /** Every line has its outcome (or the batch stops early): the output files are being written. */
    public BatchJob finalizing(BatchStatus end) {
        BatchJob b = copy();
        if (b.ending == BatchStatus.COMPLETED) {
            b.ending = end;
        }
        if (b.status != BatchStatus.CANCELLING) {
            b.status = BatchStatus.FINALIZING;
            b.finalizingAt = now();
        }
        return b;
    }

    /** The output files are written: the batch ends as {@link #ending()}. */
    public BatchJob finished(String outputFile, String errorFile) {
        BatchJob b = copy();
        b.outputFileId = outputFile;
        b.errorFileId = errorFile;
        b.status = ending;
        b.runner = null;
        switch (ending) {
            case CANCELLED -> b.cancelledAt = now();
            case EXPIRED -> b.expiredAt = now();
            default -> b.completedAt = now();
        }
        return b;
    }

    public BatchJob runBy(UUID node) {
        BatchJob b = copy();
        b.runner = node;
        return b;
    }

    public String id() { return id; }
    public String owner() { return owner; }
    public String endpoint() { return endpoint; }
    public String inputFileId() { return inputFileId; }
    public String completionWindow() { return completionWindow; }
    /** Null when the client sent none. */
    public Map<String, String> metadata() { return metadata; }
    public BatchStatus status() { return status; }
    public BatchStatus ending() { return ending; }
    public long createdAt() { return createdAt; }
    public long expiresAt() { return expiresAt; }
    public long inProgressAt() { return inProgressAt; }
    public long finalizingAt() { return finalizingAt; }
    public long completedAt() { return completedAt; }
    public long failedAt() { return failedAt; }
    public long expiredAt() { return expiredAt; }
    public long cancellingAt() { return cancellingAt; }
    public long cancelledAt() { return cancelledAt; }
    public int total() { return total; }
    public int completed() { return completed; }
    public int failed() { return failed; }
    public String outputFileId() { return outputFileId; }
    public String errorFileId() { return errorFileId; }
    public List<LineError> errors() { return errors; }
    /** The node running it now, or null. */
    public UUID runner() { return runner; }
}
