package org.autoglm.gossip.batch;

import java.io.Serializable;
import java.util.UUID;

/**
 * A window of a batch's lines that one node runs: the batch's runner streams the input file into chunks, any node with
 * free capacity claims one (one transaction for all its lines) and runs them on its own engine, then marks it done with
 * its counts. A chunk whose node died is claimed again; lines that already have an outcome are not run again. Immutable;
 * a plain class because Ignite's binary marshaller cannot write records.
 */
public final class LineChunk implements Serializable {

    private static final long serialVersionUID = 1L;

    private String batchId;
    private int index;
    private String user;
    private int[] numbers;
    private String[] texts;
    private UUID owner;
    private boolean done;
    private int succeeded;
    private int failed;
    private int priority;
    private long[] prefix;
    private String[] requiredTags;
    private long openedAtMillis;

    private LineChunk() {}

    /**
     * A new unclaimed chunk.
     *
     * @param index   its place in the batch (0, 1, ...): chunks are claimed in that order within a batch
     * @param user    the batch's owner, for fair share between users
     * @param numbers the lines' 1-based numbers in the input file
     * @param texts   the lines as written in the input file
     */
    public LineChunk(String batchId, int index, String user, int[] numbers, String[] texts) {
        if (numbers.length != texts.length) {
            throw new IllegalArgumentException(numbers.length + " line numbers for " + texts.length + " lines");
        }
        this.batchId = batchId;
        this.index = index;
        this.user = user;
        this.numbers = numbers.clone();
        this.texts = texts.clone();
        this.prefix = new long[0];
        this.openedAtMillis = System.currentTimeMillis();
    }

    /**
     * The chunk with its place in the cluster's order, its prompts' shared prefix and the tags its node must have.
     *
     * @param priority     the best (lowest) {@code priority} of its lines: chunks of a lower number are run first
     * @param prefix       the chained block hashes of its first line's prompt (its lines share that prefix), for
     *                     cache-aware placement; empty when unknown
     * @param requiredTags the {@code required_tags} of every one of its lines: only a node with all of them claims it
     */
    public LineChunk ordered(int priority, long[] prefix, java.util.List<String> requiredTags) {
        LineChunk c = copy();
        c.priority = priority;
        c.prefix = prefix.clone();
        c.requiredTags = requiredTags.toArray(String[]::new);
        return c;
    }

    private LineChunk copy() {
        LineChunk c = new LineChunk();
        c.batchId = batchId;
        c.index = index;
        c.user = user;
        c.numbers = numbers;
        c.texts = texts;
        c.owner = owner;
        c.done = done;
        c.succeeded = succeeded;
        c.failed = failed;
        c.priority = priority;
        c.prefix = prefix;
        c.requiredTags = requiredTags;
        c.openedAtMillis = openedAtMillis;
        return c;
    }

    LineChunk ownedBy(UUID node) {
        LineChunk c = copy();
        c.owner = node;
        return c;
    }

    LineChunk finished(int succeededLines, int failedLines) {
        LineChunk c = copy();
        c.done = true;
        c.succeeded = succeededLines;
        c.failed = failedLines;
        return c;
    }

    /** The grid key: batch and index. */
    public String key() { return key(batchId, index); }
    public static String key(String batchId, int index) { return batchId + "#" + index; }
    public String batchId() { return batchId; }
    public int index() { return index; }
    public String user() { return user; }
    public int size() { return numbers.length; }
    public int number(int i) { return numbers[i]; }
    public String text(int i) { return texts[i]; }
    /** The node running it, or null while nobody claimed it. */
    public UUID owner() { return owner; }
    /** Every line has its outcome stored; {@link #succeeded} and {@link #failed} count them. */
    public boolean done() { return done; }
    public int succeeded() { return succeeded; }
    public int failed() { return failed; }
    /** Lower first, as a request's {@code priority}. */
    public int priority() { return priority; }
    /** The chained hashes of the leading KV blocks its lines share (empty when unknown). */
    public long[] prefix() { return prefix == null ? new long[0] : prefix.clone(); }
    /** The capability tags a node must have to run its lines (empty: any node). */
    public java.util.List<String> requiredTags() {
        return requiredTags == null ? java.util.List.of() : java.util.List.of(requiredTags);
    }
    /** When its runner opened it (wall clock). */
    public long openedAtMillis() { return openedAtMillis; }

    @Override
    public String toString() {
        return "chunk " + key() + " (" + numbers.length + " lines" + (owner == null ? "" : ", on " + owner)
                + (done ? ", done" : "") + ")";
    }
}
